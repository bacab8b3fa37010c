/* test_gmem.c - guest memory (hv/gmem.c): the classification of a GPA,
 * map/read/write, the overlay filter, the GPA-width and hidden-range
 * checks; the canonical-address check (include/hv/walk.h) and the
 * HV_INITIAL_VP_CONTEXT parse (hv/cpu_state.c). */
#include "htest.h"
#include "fakes.h"
#include "boot_info.h"
#include "tlfs.h"
#include "x86.h"
#include <string.h>

static struct partition part;
static struct vp vp;
static struct fake_be_state bes;
static const struct mem_range ranges[] = {
	{ FAKE_RAM_BASE, 0x8000, MEM_RAM, 0 },
	{ FAKE_RAM_BASE + 0x8000, 0x8000, MEM_RESERVED, 0 },
	{ 0x200000, 0x100000, MEM_HV, 0 },
	{ 0xfec00000, 0x1000, MEM_MMIO, 0 },
};
#define HIDDEN 0x300000ull /* the hidden range: not in the memory map */

static void setup(void)
{
	partition_init(&part, &fake_backend, 36, HIDDEN, 0x10000);
	part.ranges = ranges;
	part.range_count = ARRAY_SIZE(ranges);
	fake_vp_init(&vp, &part, &bes);
	partition_add_vp(&part, &vp);
	memset(fake_ram, 0, sizeof(fake_ram));
}

TEST(gmem_width_and_hidden)
{
	setup();
	CHECK(gmem_in_space(&part, 0));
	CHECK(gmem_in_space(&part, (1ull << 36) - 1));
	CHECK(!gmem_in_space(&part, 1ull << 36));
	CHECK(!gmem_in_space(&part, ~0ull));
	part.phys_addr_bits = 64;
	CHECK(gmem_in_space(&part, ~0ull));
	part.phys_addr_bits = 52;
	CHECK(!gmem_in_space(&part, 1ull << 52));
	part.phys_addr_bits = 36;
	CHECK(!gmem_hidden(&part, HIDDEN - 1));
	CHECK(gmem_hidden(&part, HIDDEN));
	CHECK(gmem_hidden(&part, HIDDEN + 0xffff));
	CHECK(!gmem_hidden(&part, HIDDEN + 0x10000));
}

TEST(gmem_classify_kinds)
{
	setup();
	CHECK_EQ(gmem_classify(&part, FAKE_RAM_BASE, 8), GMEM_RAM);
	CHECK_EQ(gmem_classify(&part, FAKE_RAM_BASE + 0x7ff8, 8), GMEM_RAM);
	/* Straddling two ranges: no one range holds it. */
	CHECK_EQ(gmem_classify(&part, FAKE_RAM_BASE + 0x7ff8, 16), GMEM_MMIO);
	CHECK_EQ(gmem_classify(&part, FAKE_RAM_BASE + 0x8000, 8), GMEM_FIRMWARE);
	CHECK_EQ(gmem_classify(&part, 0x200000, 1), GMEM_HV);    /* MEM_HV in the map */
	CHECK_EQ(gmem_classify(&part, HIDDEN + 0x10, 1), GMEM_HV); /* the hidden range */
	CHECK_EQ(gmem_classify(&part, 0xfec00000, 4), GMEM_MMIO);
	CHECK_EQ(gmem_classify(&part, 0x80000000, 4), GMEM_MMIO); /* a hole */
	CHECK_EQ(gmem_classify(&part, 1ull << 36, 1), GMEM_OUTSIDE);
	/* The hint follows the last match (the MMIO range; a hole matches
	 * none); a stale one costs only the scan. */
	CHECK_EQ(part.range_hint, 3);
	part.range_hint = 99;
	CHECK_EQ(gmem_classify(&part, FAKE_RAM_BASE + 0x9000, 8), GMEM_FIRMWARE);
	CHECK_EQ(part.range_hint, 1);
}

TEST(gmem_overlays)
{
	setup();
	static u8 page[4096] __attribute__((aligned(4096)));
	static struct overlay ro = { 0, 0, SLAT_RX, false, "ro", 0 };
	static struct overlay rw = { 0, 0, SLAT_RWX, false, "rw", 0 };
	ro.hpa = (u64)(uintptr_t)page;
	rw.hpa = (u64)(uintptr_t)page;
	CHECK_EQ(overlay_register(&part, &ro), 0);
	CHECK_EQ(overlay_register(&part, &rw), 0);
	u64 at = FAKE_RAM_BASE + 0x2000;
	CHECK(gmem_overlay_at(&part, at) == NULL);
	CHECK_EQ(overlay_enable(&vp, &ro, at), 0);
	CHECK_EQ(gmem_classify(&part, at + 8, 8), GMEM_OVERLAY);
	CHECK(gmem_overlay_at(&part, at + 0xfff) == &ro);
	/* Another page with the same filter bit is not an overlay. */
	CHECK(gmem_overlay_at(&part, at + (64ull << 12)) == NULL);
	/* Mapped from the overlay's own page, read-only. */
	bool r;
	page[0x10] = 0x5a;
	u8 *q = gmem_map(&part, at + 0x10, 1, &r);
	CHECK(q == page + 0x10 && r);
	u8 b = 0;
	CHECK(gmem_read(&part, at + 0x10, &b, 1) && b == 0x5a);
	CHECK(!gmem_write(&part, at + 0x10, &b, 1));
	/* Stacked: the later one shows, and it is writable. */
	CHECK_EQ(overlay_enable(&vp, &rw, at), 0);
	CHECK(gmem_overlay_at(&part, at) == &rw);
	b = 0xa5;
	CHECK(gmem_write(&part, at + 0x10, &b, 1) && page[0x10] == 0xa5);
	/* Both off: RAM again (the filter forgets them). */
	CHECK_EQ(overlay_disable(&vp, &rw), 0);
	CHECK_EQ(overlay_disable(&vp, &ro), 0);
	CHECK_EQ(part.overlay_filter, 0);
	CHECK_EQ(gmem_classify(&part, at, 8), GMEM_RAM);
	/* An overlay is never a parameter page. */
	CHECK_EQ(overlay_enable(&vp, &ro, at), 0);
	CHECK_EQ(gmem_check_param(&part, at, 8), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(overlay_disable(&vp, &ro), 0);
	CHECK_EQ(gmem_check_param(&part, at, 8), HV_STATUS_SUCCESS);
}

TEST(gmem_map_read_write)
{
	setup();
	bool r;
	fake_ram[0x123] = 0x77;
	u8 *q = gmem_map(&part, FAKE_RAM_BASE + 0x123, 1, &r);
	CHECK(q == fake_ram + 0x123 && !r);
	/* Firmware memory is readable guest memory too. */
	CHECK(gmem_map(&part, FAKE_RAM_BASE + 0x8000, 8, &r) != NULL);
	/* Not guest memory, or crossing a page: no pointer. */
	CHECK(gmem_map(&part, HIDDEN, 8, &r) == NULL);
	CHECK(gmem_map(&part, 0xfec00000, 4, &r) == NULL);
	CHECK(gmem_map(&part, 1ull << 36, 1, &r) == NULL);
	CHECK(gmem_map(&part, FAKE_RAM_BASE + 0xffc, 8, &r) == NULL);
	u64 v = 0x1122334455667788ull, w = 0;
	CHECK(gmem_write(&part, FAKE_RAM_BASE + 0x200, &v, 8));
	CHECK(gmem_read(&part, FAKE_RAM_BASE + 0x200, &w, 8) && w == v);
	CHECK(!gmem_read(&part, 0xfec00000, &w, 4));
	/* Parameters: alignment, page, width first; then ordinary RAM only. */
	CHECK_EQ(gmem_check_param(&part, FAKE_RAM_BASE, 0), HV_STATUS_SUCCESS);
	CHECK_EQ(gmem_check_param(&part, FAKE_RAM_BASE + 4, 8), HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(gmem_check_param(&part, FAKE_RAM_BASE + 0xff8, 16), HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(gmem_check_param(&part, 1ull << 36, 8), HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(gmem_check_param(&part, FAKE_RAM_BASE + 0x8000, 8), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(gmem_check_param(&part, HIDDEN, 8), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(gmem_check_param(&part, 0x80000000, 8), HV_STATUS_INVALID_PARAMETER);
}

TEST(walk_canonical_addresses)
{
	CHECK(walk_canonical(0, false));
	CHECK(walk_canonical(0x00007fffffffffffull, false));
	CHECK(!walk_canonical(0x0000800000000000ull, false));
	CHECK(walk_canonical(0xffff800000000000ull, false));
	CHECK(!walk_canonical(0xfffe800000000000ull, false));
	CHECK(walk_canonical(0x0000800000000000ull, true));
	CHECK(walk_canonical(0x00ffffffffffffffull, true));
	CHECK(!walk_canonical(0x0100000000000000ull, true));
	CHECK(walk_canonical(0xff00000000000000ull, true));
	CHECK(!walk_canonical(0xfeffffffffffffffull, true));
}

TEST(cpu_state_initial_context)
{
	setup();
	u8 x[224];
	memset(x, 0, sizeof(x));
	u64 v;
	v = 0x1000; memcpy(x + 0, &v, 8);     /* Rip */
	v = 0x8000; memcpy(x + 8, &v, 8);     /* Rsp */
	v = 2; memcpy(x + 16, &v, 8);         /* Rflags */
	/* Cs: base 0, limit 0xfffff, selector 8, attributes 0xa09b (L, G). */
	u32 lim = 0xfffff, sa = 8 | (0xa09bu << 16);
	memcpy(x + 24 + 8, &lim, 4);
	memcpy(x + 24 + 12, &sa, 4);
	/* Ss (6th): selector 0x10, attributes 0xc093. */
	sa = 0x10 | (0xc093u << 16);
	memcpy(x + 24 + 16 * 5 + 8, &lim, 4);
	memcpy(x + 24 + 16 * 5 + 12, &sa, 4);
	v = 0x0fffull << 48; memcpy(x + 168, &v, 8); /* Gdtr limit */
	v = 0x5000; memcpy(x + 176, &v, 8);          /* Gdtr base */
	v = EFER_LME | EFER_LMA; memcpy(x + 184, &v, 8);
	v = CR0_PE | CR0_PG | CR0_ET; memcpy(x + 192, &v, 8);
	v = FAKE_RAM_BASE; memcpy(x + 200, &v, 8);
	v = CR4_PAE; memcpy(x + 208, &v, 8);
	v = 0x0007040600070406ull; memcpy(x + 216, &v, 8);
	struct guest_boot_state g;
	memset(&g, 0, sizeof(g));
	g.dr7 = 0x400; /* not in the context: kept */
	cpu_state_parse_initial_context(x, &g);
	CHECK_EQ(g.rip, 0x1000);
	CHECK_EQ(g.rsp, 0x8000);
	CHECK_EQ(g.seg[SEG_CS].sel, 8);
	CHECK_EQ(g.seg[SEG_CS].attr, 0xa09b);
	CHECK_EQ(g.seg[SEG_CS].limit, 0xfffff);
	CHECK_EQ(g.seg[SEG_SS].sel, 0x10);
	CHECK_EQ(g.gdtr.base, 0x5000);
	CHECK_EQ(g.gdtr.limit, 0x0fff);
	CHECK_EQ(g.cr3, FAKE_RAM_BASE);
	CHECK_EQ(g.dr7, 0x400);
	CHECK_EQ(cpu_state_check(&part, &g, 0), HV_STATUS_SUCCESS);
	g.rip = 0x0000800000000000ull; /* non-canonical in 64-bit code */
	CHECK_EQ(cpu_state_check(&part, &g, 0), HV_STATUS_INVALID_REGISTER_VALUE);
	g.rip = 0x1000;
	g.cr3 = 1ull << 36; /* beyond the GPA space */
	CHECK_EQ(cpu_state_check(&part, &g, 0), HV_STATUS_INVALID_REGISTER_VALUE);
	CHECK(!cpu_state_cr3_ok(&part, 1ull << 36, true));
	CHECK(cpu_state_cr3_ok(&part, FAKE_RAM_BASE, false));
	CHECK(!cpu_state_cr3_ok(&part, 1ull << 32, false));
}

/* Instruction bytes (gmem_read_code, the emulators' fetch): RAM and
 * firmware memory as gmem_read; MMIO above 1 MiB and hypervisor memory
 * never (the legacy area below 1 MiB is outside the fake RAM). */
TEST(gmem_read_code_rules)
{
	setup();
	u8 b[4] = { 0 };
	fake_ram[0x10] = 0x0f;
	CHECK(gmem_read_code(&part, FAKE_RAM_BASE + 0x10, b, 1) && b[0] == 0x0f);
	CHECK(gmem_read_code(&part, FAKE_RAM_BASE + 0x8000, b, 4));  /* firmware */
	CHECK(!gmem_read_code(&part, 0xfec00000, b, 4));             /* MMIO */
	CHECK(!gmem_read_code(&part, 0x200000, b, 4));               /* hypervisor */
	CHECK(!gmem_read_code(&part, HIDDEN, b, 4));
	CHECK(!gmem_read_code(&part, FAKE_RAM_BASE + 0xffe, b, 4));  /* crosses a page */
}
