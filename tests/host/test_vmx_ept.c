/*
 * test_vmx_ept.c - the EPT entry formats (arch/x86_64/slat.c slat_fmt_ept,
 * slat_fmt_ept_1g) as the VMX backend uses them: identity map with the
 * hypervisor hole, entry bits per SDM vol. 3 29.3.2 (R/W/X in bits 2:0,
 * memory type in 5:3 of leaves only, bit 7 for 2M/1G leaves, bits 7:3 of
 * non-leaf entries reserved), and 4K splits for overlay pages.
 */
#include "htest.h"
#include "slat.h"
#include <stdlib.h>
#include <string.h>

static void *ept_alloc(void *ctx)
{
	void *p = aligned_alloc(4096, 4096);
	memset(p, 0, 4096);
	return p;
}

static u64 entry(u64 table, u64 va, int level)
{
	return ((u64 *)(uintptr_t)table)[(va >> (12 + 9 * level)) & 511];
}

/* memory type 6 << 3 | R | W | X, and bit 10 user-mode execute (MBEC,
 * SDM 29.3.3: ignored without the control, needed in every entry with it) */
#define EPT_WB_RWX 0x437ull

TEST(vmx_ept_identity_1g_with_hole)
{
	struct slat s;
	/* Bochs: 4 GiB identity map, 3 MiB of hypervisor memory below 1 GiB. */
	const u64 hole = 0x3deb5000, hole_end = 0x3e1c2000;
	CHECK_EQ(slat_init(&s, &slat_fmt_ept_1g, ept_alloc, NULL), 0);
	CHECK_EQ(slat_identity_with_hole(&s, 0, 4ull << 30, hole, hole_end), 0);

	u64 pml4e = entry(s.root, 0, 3);
	CHECK_EQ(pml4e & 0xfff, 0x407); /* table entry: RWX, UX, bits 7:3 reserved */
	u64 pdpt = pml4e & SLAT_ADDR_MASK;
	/* 1..3 GiB: 1 GiB leaves, write-back, large. */
	for (u64 g = 1; g < 4; g++) {
		u64 e = entry(pdpt, g << 30, 2);
		CHECK_EQ(e & 0xfff, EPT_WB_RWX | 0x80);
		CHECK_EQ(e & SLAT_ADDR_MASK, g << 30);
	}
	/* The first GiB holds the hole: a table below it. */
	CHECK_EQ(entry(pdpt, 0, 2) & 0xff, 7);

	u64 pa, sz;
	CHECK(slat_lookup(&s, hole, &pa, &sz) != 0);
	CHECK(slat_lookup(&s, hole_end - 8, &pa, &sz) != 0);
	CHECK_EQ(slat_lookup(&s, hole - 1, &pa, &sz), 0);
	CHECK_EQ(pa, hole - 1);
	CHECK_EQ(slat_lookup(&s, hole_end, &pa, &sz), 0);
	CHECK_EQ(pa, hole_end);
	CHECK_EQ(slat_lookup(&s, 0x100000, &pa, &sz), 0);
	CHECK_EQ(sz, PAGE_2M);
	CHECK_EQ(slat_lookup(&s, 0xc0000000, &pa, &sz), 0);
	CHECK_EQ(sz, PAGE_1G);
}

TEST(vmx_ept_2m_format)
{
	struct slat s;
	CHECK_EQ(slat_init(&s, &slat_fmt_ept, ept_alloc, NULL), 0);
	CHECK_EQ(slat_map(&s, 0, 0, 2ull << 30, ~0ull), 0);
	u64 pa, sz;
	CHECK_EQ(slat_lookup(&s, 0x7fe00000, &pa, &sz), 0);
	CHECK_EQ(sz, PAGE_2M); /* no 1 GiB leaves in this format */
	u64 pdpt = entry(s.root, 0, 3) & SLAT_ADDR_MASK;
	u64 pd = entry(pdpt, 0x40000000, 2) & SLAT_ADDR_MASK;
	CHECK_EQ(entry(pdpt, 0x40000000, 2) & 0xff, 7);
	CHECK_EQ(entry(pd, 0x40200000, 1) & 0xfff, EPT_WB_RWX | 0x80);
}

/* Overlay pages: a 4K read/execute page inside a 1 GiB leaf splits it into
 * valid EPT entries (no bit 7 at 4K, memory type kept). */
TEST(vmx_ept_split_for_overlay)
{
	struct slat s;
	const struct slat_fmt *f = &slat_fmt_ept_1g;
	CHECK_EQ(slat_init(&s, f, ept_alloc, NULL), 0);
	CHECK_EQ(slat_map(&s, 0, 0, 4ull << 30, ~0ull), 0);
	const u64 gpa = 0x80123000, hpa = 0x3e000000;
	CHECK_EQ(slat_set_4k(&s, gpa, hpa, f->leaf_flags & ~f->write_flag), 0);

	u64 pdpt = entry(s.root, 0, 3) & SLAT_ADDR_MASK;
	u64 pde_table = entry(pdpt, gpa, 2);
	CHECK_EQ(pde_table & 0xff, 7);
	u64 pde = entry(pde_table & SLAT_ADDR_MASK, gpa, 1);
	CHECK_EQ(pde & 0xfff, 0x407);
	u64 pte = entry(pde & SLAT_ADDR_MASK, gpa, 0);
	CHECK_EQ(pte & 0xfff, 0x435); /* WB, R and X (both modes), not W, no bit 7 */
	CHECK_EQ(pte & SLAT_ADDR_MASK, hpa);
	u64 next = entry(pde & SLAT_ADDR_MASK, gpa + PAGE_SIZE, 0);
	CHECK_EQ(next & 0xfff, EPT_WB_RWX);
	CHECK_EQ(next & SLAT_ADDR_MASK, gpa + PAGE_SIZE);
	/* The neighbouring 2 MiB ranges of the old 1 GiB leaf stay large. */
	u64 pa, sz;
	CHECK_EQ(slat_lookup(&s, gpa + PAGE_2M, &pa, &sz), 0);
	CHECK_EQ(sz, PAGE_2M);
	CHECK_EQ(pa, gpa + PAGE_2M);
	/* Unmapping it leaves a not-present entry (an EPT violation). */
	CHECK_EQ(slat_set_4k(&s, gpa, 0, 0), 0);
	CHECK(slat_lookup(&s, gpa, &pa, &sz) != 0);
}
