/* test_slat.c - the page-table builder (arch/x86_64/slat.c): identity maps
 * with the largest pages, holes for hypervisor memory, formats. */
#include "htest.h"
#include "slat.h"
#include <stdlib.h>
#include <string.h>

static int pages_allocated, alloc_limit = 1 << 30;
static void *alloc(void *ctx)
{
	if (pages_allocated >= alloc_limit)
		return NULL;
	pages_allocated++;
	void *p = aligned_alloc(4096, 4096);
	memset(p, 0, 4096);
	return p;
}

/* Tables are leaked on purpose (tiny), which LeakSanitizer would flag. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0"; }

TEST(slat_identity_large_pages)
{
	struct slat s;
	pages_allocated = 0;
	CHECK_EQ(slat_init(&s, &slat_fmt_npt, alloc, NULL), 0);
	CHECK_EQ(slat_map(&s, 0, 0, 4ull << 30, ~0ull), 0);
	/* PML4 + PDPT + 4 PDs: 2 MiB pages throughout, no 4K tables. */
	CHECK_EQ(pages_allocated, 6);
	u64 pa, sz;
	CHECK_EQ(slat_lookup(&s, 0x12345678, &pa, &sz), 0);
	CHECK_EQ(pa, 0x12345678);
	CHECK_EQ(sz, PAGE_2M);
	CHECK(slat_lookup(&s, 4ull << 30, &pa, &sz) != 0);
	/* NPT entries are user entries (APM 15.25.5). */
	u64 pml4e = ((u64 *)(uintptr_t)s.root)[0];
	CHECK((pml4e & 7) == 7);
}

TEST(slat_1g_pages)
{
	struct slat s;
	pages_allocated = 0;
	slat_init(&s, &slat_fmt_npt_1g, alloc, NULL);
	CHECK_EQ(slat_map(&s, 0, 0, 8ull << 30, ~0ull), 0);
	CHECK_EQ(pages_allocated, 2); /* PML4 + PDPT */
	u64 pa, sz;
	CHECK_EQ(slat_lookup(&s, (5ull << 30) + 77, &pa, &sz), 0);
	CHECK_EQ(pa, (5ull << 30) + 77);
	CHECK_EQ(sz, PAGE_1G);
}

TEST(slat_hole_is_unmapped_rest_identity)
{
	struct slat s;
	slat_init(&s, &slat_fmt_npt_1g, alloc, NULL);
	u64 hole = 0x1db58000, hole_end = 0x1de60000;
	CHECK_EQ(slat_identity_with_hole(&s, 0, 4ull << 30, hole, hole_end), 0);
	u64 pa, sz;
	CHECK(slat_lookup(&s, hole, &pa, &sz) != 0);
	CHECK(slat_lookup(&s, hole_end - 8, &pa, &sz) != 0);
	CHECK(slat_lookup(&s, hole + 0x100000, &pa, &sz) != 0);
	CHECK_EQ(slat_lookup(&s, hole - 1, &pa, &sz), 0);
	CHECK_EQ(pa, hole - 1);
	CHECK_EQ(sz, PAGE_SIZE); /* split around the hole */
	CHECK_EQ(slat_lookup(&s, hole_end, &pa, &sz), 0);
	CHECK_EQ(pa, hole_end);
	CHECK_EQ(slat_lookup(&s, 0x40000000, &pa, &sz), 0);
	CHECK_EQ(sz, PAGE_1G); /* far from the hole: largest page */
	CHECK_EQ(slat_lookup(&s, 0x1c000000, &pa, &sz), 0);
	CHECK_EQ(sz, PAGE_2M);
	/* Every page of the address range: mapped iff outside the hole. */
	for (u64 a = 0x1d000000; a < 0x1e200000; a += PAGE_SIZE)
		if ((slat_lookup(&s, a, &pa, &sz) == 0) != (a < hole || a >= hole_end) ||
		    ((a < hole || a >= hole_end) && pa != a)) {
			CHECK(!"hole boundary");
			break;
		}
}

TEST(slat_rejects_bad_input)
{
	struct slat s;
	slat_init(&s, &slat_fmt_host, alloc, NULL);
	CHECK(slat_map(&s, 0x1001, 0x1001, 4096, ~0ull) != 0); /* unaligned */
	CHECK_EQ(slat_map(&s, 0, 0, PAGE_2M, ~0ull), 0);
	CHECK(slat_map(&s, 0x1000, 0x1000, 4096, ~0ull) != 0); /* inside a large leaf */
	CHECK(slat_map(&s, 0, 0, PAGE_2M, ~0ull) != 0);        /* already mapped */
	/* max_page forces small pages (the core's own mapping). */
	pages_allocated = 0;
	CHECK_EQ(slat_map(&s, 0xffffffff80000000ull, 0x200000, 0x3000, PAGE_SIZE), 0);
	u64 pa, sz;
	CHECK_EQ(slat_lookup(&s, 0xffffffff80002010ull, &pa, &sz), 0);
	CHECK_EQ(pa, 0x202010);
	CHECK_EQ(sz, PAGE_SIZE);
	/* Host tables carry no user bit. */
	CHECK((((u64 *)(uintptr_t)s.root)[0] & 4) == 0);
}

TEST(slat_out_of_memory)
{
	struct slat s;
	pages_allocated = 0;
	alloc_limit = 3;
	CHECK_EQ(slat_init(&s, &slat_fmt_npt, alloc, NULL), 0);
	CHECK(slat_map(&s, 0, 0, 4ull << 30, ~0ull) != 0);
	alloc_limit = 1 << 30;
}

TEST(slat_set_4k_splits_and_restores)
{
	struct slat s;
	slat_init(&s, &slat_fmt_npt_1g, alloc, NULL);
	CHECK_EQ(slat_map(&s, 0, 0, 4ull << 30, ~0ull), 0);
	u64 pa, sz, ro = slat_fmt_npt.leaf_flags & ~slat_fmt_npt.write_flag;
	/* An overlay in the middle of a 1G leaf: 1G -> 2M -> 4K. */
	CHECK_EQ(slat_set_4k(&s, 0x40123000, 0x7777000, ro), 0);
	CHECK_EQ(slat_lookup(&s, 0x40123abc, &pa, &sz), 0);
	CHECK_EQ(pa, 0x7777abc);
	CHECK_EQ(sz, PAGE_SIZE);
	/* Neighbours keep the identity mapping and writability. */
	CHECK_EQ(slat_lookup(&s, 0x40122fff, &pa, &sz), 0);
	CHECK_EQ(pa, 0x40122fff);
	CHECK_EQ(slat_lookup(&s, 0x40124000, &pa, &sz), 0);
	CHECK_EQ(pa, 0x40124000);
	CHECK_EQ(slat_lookup(&s, 0x40400000, &pa, &sz), 0);
	CHECK_EQ(sz, PAGE_2M); /* only the containing 2M was split */
	CHECK_EQ(slat_lookup(&s, 0x80000000, &pa, &sz), 0);
	CHECK_EQ(sz, PAGE_1G);
	/* Restore identity, then unmap one page. */
	CHECK_EQ(slat_set_4k(&s, 0x40123000, 0x40123000, slat_fmt_npt.leaf_flags), 0);
	CHECK_EQ(slat_lookup(&s, 0x40123008, &pa, &sz), 0);
	CHECK_EQ(pa, 0x40123008);
	CHECK_EQ(slat_set_4k(&s, 0x40123000, 0, 0), 0);
	CHECK(slat_lookup(&s, 0x40123000, &pa, &sz) != 0);
	CHECK_EQ(slat_lookup(&s, 0x40124000, &pa, &sz), 0);
	/* Unmapping where nothing is mapped allocates nothing. */
	int before = pages_allocated;
	CHECK_EQ(slat_set_4k(&s, 0x900000000ull, 0, 0), 0);
	CHECK_EQ(pages_allocated, before);
	CHECK(slat_set_4k(&s, 0x123, 0, 0) != 0);
}
