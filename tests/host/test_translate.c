/* test_translate.c - HvTranslateVirtualAddress (TLFS 9.3.4, 9.4.6): the
 * guest page walk of hv/translate.c in every paging mode, every result
 * code, A/D setting, large pages, cache types, random entries against an
 * independent reference walk, and the hypercall (statuses, output layout,
 * fast form, another VP). */
#include "htest.h"
#include "fakes.h"
#include "boot_info.h"
#include "hypercall.h"
#include "tlfs.h"
#include "x86.h"
#include <stdlib.h>
#include <string.h>

#define RAM FAKE_RAM_BASE
#define HIDDEN 0x200000ull
#define MMIO 0xfec00000ull
#define PG(n) (RAM + 0x1000ull * (n)) /* the n-th page of fake RAM */
#define R HV_TRANSLATE_GVA_VALIDATE_READ
#define W HV_TRANSLATE_GVA_VALIDATE_WRITE
#define X HV_TRANSLATE_GVA_VALIDATE_EXECUTE
#define EXEMPT HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT
#define SETBITS HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS
#define P 1ull
#define RW 2ull
#define US 4ull
#define PWT 8ull
#define PCD 0x10ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define XD (1ull << 63)
#define PAT_DEFAULT 0x0007040600070406ull
#define RFLAGS_AC_BIT (1ull << 18)
#define ADDR_MASK_T 0x000ffffffffff000ull

static struct partition part;
static const struct mem_range ranges[] = {
	{ RAM, FAKE_RAM_SIZE, MEM_RAM, 0 },
	{ HIDDEN, 0x100000, MEM_HV, 0 },
	{ MMIO, 0x1000, MEM_MMIO, 0 },
};
static struct xlate_state st;
static struct xlate_out out;

static u64 *tbl(int n) { return (u64 *)(fake_ram + 0x1000 * n); }
static u32 *tbl32(int n) { return (u32 *)(fake_ram + 0x1000 * n); }

static void setup(void)
{
	partition_init(&part, &fake_backend, 36, HIDDEN, 0x100000);
	part.ranges = ranges;
	part.range_count = 3;
	memset(fake_ram, 0, sizeof(fake_ram));
	/* 4-level long mode, CPL 0, WP, NXE, 1G pages. */
	st = (struct xlate_state){ CR0_PG | CR0_PE | CR0_WP, PG(0), CR4_PAE,
				   EFER_LMA | EFER_LME | EFER_NXE, PAT_DEFAULT, 2, 0, true, 0 };
}

static u32 xl(u64 gva, u64 flags) { return translate_gva(&part, &st, gva >> 12, flags, &out); }

/* 4-level chain for gva 0x40201000: PML4 page 0 [0] -> PDPT page 1 [1]
 * -> PD page 2 [1] -> PT page 3 [1] -> page 5. */
#define GVA4 0x40201000ull
static void chain4(u64 flags)
{
	tbl(0)[0] = PG(1) | flags;
	tbl(1)[1] = PG(2) | flags;
	tbl(2)[1] = PG(3) | flags;
	tbl(3)[1] = PG(5) | flags;
}

TEST(xlate_paging_off)
{
	setup();
	st.cr0 = CR0_PE;
	st.efer = 0;
	CHECK_EQ(xl(0x12345000, R | W | X), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, 0x12345);
	CHECK_EQ(out.cache_type, HV_CACHE_TYPE_WRITE_BACK);
	CHECK_EQ(xl(0x512345000ull, R), HV_TRANSLATE_GVA_SUCCESS); /* 32-bit linear */
	CHECK_EQ(out.gpa_page, 0x12345);
	CHECK_EQ(xl(HIDDEN, W), HV_TRANSLATE_GVA_SUCCESS); /* no page tables read */
	CHECK_EQ(out.gpa_page, HIDDEN >> 12);
	st.cr0 |= CR0_CD;
	CHECK_EQ(xl(0x1000, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.cache_type, HV_CACHE_TYPE_UNCACHED);
	CHECK_EQ(translate_gva(&part, &st, 1ull << 52, R, &out),
		 HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
}

TEST(xlate_long4_pages)
{
	setup();
	chain4(P | RW);
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, PG(5) >> 12);
	CHECK_EQ(out.cache_type, HV_CACHE_TYPE_WRITE_BACK);
	CHECK(!out.overlay);
	/* 2M page: PD[2]; GpaPage is the 4K page inside it. */
	tbl(2)[2] = 0x40600000ull | P | PS;
	CHECK_EQ(xl(0x40400000ull + 0x13000, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, (0x40600000ull + 0x13000) >> 12);
	/* 1G page: PDPT[2], only with 1G pages. */
	tbl(1)[2] = 0xc0000000ull | P | PS;
	CHECK_EQ(xl(0x80000000ull + 0x12345000, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, (0xc0000000ull + 0x12345000) >> 12);
	st.gbpages = false;
	CHECK_EQ(xl(0x80000000ull, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
	st.gbpages = true;
	/* Canonical high half: PML4[511]. */
	tbl(0)[511] = PG(1) | P;
	tbl(1)[511] = 0x40000000ull | P | PS;
	CHECK_EQ(xl(0xffffffffc0005000ull, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, 0x40005);
	/* Non-canonical. */
	CHECK_EQ(xl(0x0000800000000000ull, R), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	CHECK_EQ(xl(0xffff000000000000ull, R), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	/* CR3's PCID bits and bits above MAXPHYADDR are not the address. */
	st.cr3 = PG(0) | 0x5;
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_SUCCESS);
}

TEST(xlate_long5)
{
	setup();
	st.cr4 |= CR4_LA57;
	/* PML5 page 4 [1] -> PML4 page 0 [0] ...: gva bits 56:48 = 1. */
	chain4(P | RW);
	tbl(4)[1] = PG(0) | P | RW;
	st.cr3 = PG(4);
	u64 gva = (1ull << 48) | GVA4;
	CHECK_EQ(xl(gva, R | W), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, PG(5) >> 12);
	/* 57-bit canonical: 0x0100000000000000 is not; 0x00ff... is a hole. */
	CHECK_EQ(xl(1ull << 56, R), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	CHECK_EQ(xl(0xff00000000000000ull, R), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT); /* PML5[256] empty */
	tbl(4)[1] |= PS; /* PS in a PML5E is reserved */
	CHECK_EQ(xl(gva, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
	/* Without LA57 the same address is not canonical. */
	st.cr4 &= ~CR4_LA57;
	CHECK_EQ(xl(gva, R), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
}

TEST(xlate_pae)
{
	setup();
	st.efer = EFER_NXE;
	/* PDPT (4 entries) at page 6 + 0x20; PDPTE[1] -> PD page 2 -> PT 3. */
	st.cr3 = PG(6) + 0x20;
	u64 *pdpt = (u64 *)(fake_ram + 0x6020);
	pdpt[1] = PG(2) | P;
	tbl(2)[1] = PG(3) | P | RW;
	tbl(3)[1] = PG(5) | P | RW;
	CHECK_EQ(xl(0x40201000, R | W), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, PG(5) >> 12);
	/* 2M page, with an address above 4G (PAE reaches MAXPHYADDR). */
	tbl(2)[2] = 0x840600000ull | P | PS;
	CHECK_EQ(xl(0x40400000 + 0x3000, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, 0x840603);
	/* PDPTE reserved bits: RW (bit 1), bits 8:5, 63. */
	pdpt[1] |= RW;
	CHECK_EQ(xl(0x40201000, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
	pdpt[1] = PG(2) | P | A;
	CHECK_EQ(xl(0x40201000, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
	pdpt[1] = PG(2) | P | XD;
	CHECK_EQ(xl(0x40201000, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
	pdpt[1] = PG(2) | P | PWT | PCD;
	CHECK_EQ(xl(0x40201000, R), HV_TRANSLATE_GVA_SUCCESS);
	/* PAE PDE/PTE: bits 62:52 are reserved (ignored in long mode). */
	tbl(3)[1] |= 1ull << 60;
	CHECK_EQ(xl(0x40201000, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
	st.efer = EFER_LMA | EFER_LME | EFER_NXE;
	st.cr3 = PG(0);
	chain4(P | RW);
	tbl(3)[1] |= 1ull << 60;
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_SUCCESS);
	/* PAE: no page for a GVA above 4G; PDPTE not present. */
	st.efer = 0;
	st.cr3 = PG(6) + 0x20;
	CHECK_EQ(xl(0x100000000ull, R), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	CHECK_EQ(xl(0xc0000000ull, R), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	/* SET_PAGE_TABLE_BITS: no A in a PAE PDPTE (bit 5 is reserved). */
	pdpt[1] = PG(2) | P;
	tbl(3)[1] = PG(5) | P | RW;
	CHECK_EQ(xl(0x40201000, W | SETBITS), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(pdpt[1], PG(2) | P);
	CHECK_EQ(tbl(2)[1], PG(3) | P | RW | A);
	CHECK_EQ(tbl(3)[1], PG(5) | P | RW | A | D);
	/* Without NXE, XD is reserved in PDE/PTE. */
	tbl(3)[1] |= XD;
	CHECK_EQ(xl(0x40201000, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
}

TEST(xlate_32bit)
{
	setup();
	st.efer = 0;
	st.cr4 = 0;
	st.cr3 = PG(0) | 0x18; /* PWT/PCD bits of CR3 are not the address */
	u32 *pd = tbl32(0), *pt = tbl32(1);
	pd[0x101] = (u32)PG(1) | P | RW | US;   /* gva 0x40400000 */
	pt[0x2] = (u32)PG(5) | P | RW | US;
	CHECK_EQ(xl(0x40402000, R | W | X), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, PG(5) >> 12);
	/* 4M page only with CR4.PSE; PSE-36 bits 20:13 -> 39:32. */
	pd[0x102] = 0x40c00000u | (3u << 13) | P | PS;
	CHECK_EQ(xl(0x40800000 + 0x5000, R), HV_TRANSLATE_GVA_GPA_UNMAPPED); /* read as a table */
	CHECK_EQ(out.gpa_page, (0x40c00000ull | (3u << 13)) >> 12);
	st.cr4 = CR4_PSE;
	CHECK_EQ(xl(0x40800000 + 0x5000, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, (0x340c00000ull + 0x5000) >> 12);
	/* Bit 21 reserved; with MAXPHYADDR 36, bits 20:17 too. */
	pd[0x102] |= 1u << 21;
	CHECK_EQ(xl(0x40800000, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
	pd[0x102] = 0x40c00000u | (1u << 17) | P | PS;
	CHECK_EQ(xl(0x40800000, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
	part.phys_addr_bits = 40;
	CHECK_EQ(xl(0x40800000, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, 0x1040c00ull);
	part.phys_addr_bits = 36;
	/* Not present: PDE, PTE; GVA above 4G. */
	CHECK_EQ(xl(0x00400000, R), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	CHECK_EQ(xl(0x40403000, R), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	CHECK_EQ(xl(0x140402000ull, R), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	/* Permissions: a read-only PTE, CPL 3 and WP. */
	pt[0x2] &= ~(u32)RW;
	CHECK_EQ(xl(0x40402000, W), HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION);
	st.cr0 &= ~CR0_WP;
	CHECK_EQ(xl(0x40402000, W), HV_TRANSLATE_GVA_SUCCESS);
	st.cpl = 3;
	CHECK_EQ(xl(0x40402000, W), HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION);
	CHECK_EQ(xl(0x40402000, R | X), HV_TRANSLATE_GVA_SUCCESS); /* no NX here */
	pd[0x101] &= ~(u32)US;
	CHECK_EQ(xl(0x40402000, R), HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION);
	CHECK_EQ(xl(0x40402000, R | EXEMPT), HV_TRANSLATE_GVA_SUCCESS);
	/* A/D in 4-byte entries. */
	st.cpl = 0;
	pd[0x101] |= RW;
	pt[0x2] |= RW;
	CHECK_EQ(xl(0x40402000, W | SETBITS), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(pd[0x101], (u32)PG(1) | P | RW | A);
	CHECK_EQ(pt[0x2], (u32)PG(5) | P | RW | US | A | D);
	/* Cache type from a 4M page's PAT (bit 12), PCD, PWT: index 7. */
	pd[0x102] = 0x40c00000u | (1u << 12) | PCD | PWT | P | PS;
	st.pat = 0x0101040506070406ull; /* PAT7 = WC */
	CHECK_EQ(xl(0x40800000, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.cache_type, HV_CACHE_TYPE_WRITE_COMBINING);
	CHECK_EQ(out.gpa_page, 0x40c00);
}

TEST(xlate_not_present_each_level)
{
	setup();
	chain4(P | RW);
	for (int l = 0; l < 4; l++) {
		u64 *e = l == 0 ? &tbl(0)[0] : l == 1 ? &tbl(1)[1] : l == 2 ? &tbl(2)[1] : &tbl(3)[1];
		*e &= ~P;
		CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
		*e |= 0xfff0000000000000ull; /* reserved bits do not matter when not present */
		CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
		*e = (*e & ~0xfff0000000000000ull) | P;
		CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_SUCCESS);
	}
}

TEST(xlate_reserved_bits)
{
	setup();
	chain4(P | RW);
	u64 *e[4] = { &tbl(0)[0], &tbl(1)[1], &tbl(2)[1], &tbl(3)[1] };
	/* An address bit at MAXPHYADDR (36) at every level; bit 51. */
	for (int l = 0; l < 4; l++) {
		u64 v = *e[l];
		*e[l] = v | (1ull << 36);
		CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
		*e[l] = v | (1ull << 51);
		CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
		*e[l] = v | (1ull << 52) | (1ull << 62); /* ignored in long mode */
		CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_SUCCESS);
		*e[l] = v | XD; /* reserved only without NXE */
		CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_SUCCESS);
		st.efer &= ~EFER_NXE;
		CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
		st.efer |= EFER_NXE;
		*e[l] = v;
	}
	part.phys_addr_bits = 40;
	*e[3] |= 1ull << 36;
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, (PG(5) | (1ull << 36)) >> 12);
	part.phys_addr_bits = 36;
	*e[3] &= ~(1ull << 36);
	/* PS in a PML4E. */
	*e[0] |= PS;
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
	*e[0] &= ~PS;
	/* Large pages: bits between the PAT bit and the page size. */
	tbl(2)[2] = 0x40600000ull | (1ull << 13) | P | PS;
	CHECK_EQ(xl(0x40400000, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
	tbl(2)[2] = 0x40600000ull | (1ull << 20) | P | PS;
	CHECK_EQ(xl(0x40400000, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
	tbl(2)[2] = 0x40600000ull | (1ull << 12) | P | PS; /* PAT: fine */
	CHECK_EQ(xl(0x40400000, R), HV_TRANSLATE_GVA_SUCCESS);
	tbl(1)[2] = 0xc0000000ull | (1ull << 29) | P | PS;
	CHECK_EQ(xl(0x80000000, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
	tbl(1)[2] = 0xc0000000ull | (1ull << 13) | P | PS;
	CHECK_EQ(xl(0x80000000, R), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
	tbl(1)[2] = 0xc0000000ull | (1ull << 12) | P | PS;
	CHECK_EQ(xl(0x80000000, R), HV_TRANSLATE_GVA_SUCCESS);
	/* A reserved bit beats a permission problem found later. */
	tbl(3)[1] = PG(5) | P | (1ull << 40); /* read-only too */
	CHECK_EQ(xl(GVA4, W), HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS);
}

TEST(xlate_permissions)
{
	setup();
	chain4(P | RW | US);
	/* Write to a read-only mapping at any level: with WP, or at CPL 3. */
	for (int l = 0; l < 4; l++) {
		u64 *e = l == 0 ? &tbl(0)[0] : l == 1 ? &tbl(1)[1] : l == 2 ? &tbl(2)[1] : &tbl(3)[1];
		*e &= ~RW;
		CHECK_EQ(xl(GVA4, R | X), HV_TRANSLATE_GVA_SUCCESS);
		CHECK_EQ(xl(GVA4, W), HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION);
		st.cr0 &= ~CR0_WP;
		CHECK_EQ(xl(GVA4, W), HV_TRANSLATE_GVA_SUCCESS);
		st.cpl = 3;
		CHECK_EQ(xl(GVA4, W), HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION);
		CHECK_EQ(xl(GVA4, W | EXEMPT), HV_TRANSLATE_GVA_SUCCESS);
		st.cpl = 0;
		st.cr0 |= CR0_WP;
		*e |= RW;
	}
	/* User access to a supervisor page (any level); EXEMPT = CPL 0. */
	for (int l = 0; l < 4; l++) {
		u64 *e = l == 0 ? &tbl(0)[0] : l == 1 ? &tbl(1)[1] : l == 2 ? &tbl(2)[1] : &tbl(3)[1];
		*e &= ~US;
		st.cpl = 3;
		CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION);
		CHECK_EQ(xl(GVA4, X), HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION);
		CHECK_EQ(xl(GVA4, R | W | X | EXEMPT), HV_TRANSLATE_GVA_SUCCESS);
		st.cpl = 0;
		CHECK_EQ(xl(GVA4, R | W | X), HV_TRANSLATE_GVA_SUCCESS);
		*e |= US;
	}
	/* NX at any level, only with NXE (else XD is reserved). */
	for (int l = 0; l < 4; l++) {
		u64 *e = l == 0 ? &tbl(0)[0] : l == 1 ? &tbl(1)[1] : l == 2 ? &tbl(2)[1] : &tbl(3)[1];
		*e |= XD;
		CHECK_EQ(xl(GVA4, R | W), HV_TRANSLATE_GVA_SUCCESS);
		CHECK_EQ(xl(GVA4, X), HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION);
		CHECK_EQ(xl(GVA4, X | EXEMPT), HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION);
		*e &= ~XD;
	}
	/* SMEP: supervisor execute of a user page; SMAP: supervisor data
	 * access to a user page unless RFLAGS.AC. */
	st.cr4 |= CR4_SMEP;
	CHECK_EQ(xl(GVA4, X), HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION);
	CHECK_EQ(xl(GVA4, R | W), HV_TRANSLATE_GVA_SUCCESS);
	st.cpl = 3;
	CHECK_EQ(xl(GVA4, X), HV_TRANSLATE_GVA_SUCCESS);
	st.cpl = 0;
	tbl(3)[1] &= ~US; /* a supervisor page: SMEP does not apply */
	CHECK_EQ(xl(GVA4, X), HV_TRANSLATE_GVA_SUCCESS);
	tbl(3)[1] |= US;
	st.cr4 = CR4_PAE | CR4_SMAP;
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION);
	CHECK_EQ(xl(GVA4, X), HV_TRANSLATE_GVA_SUCCESS);
	st.rflags = RFLAGS_AC_BIT;
	CHECK_EQ(xl(GVA4, R | W), HV_TRANSLATE_GVA_SUCCESS);
}

TEST(xlate_set_ad_bits)
{
	setup();
	chain4(P | RW);
	tbl(2)[2] = 0x40600000ull | P | RW | PS;
	/* Without SET_PAGE_TABLE_BITS nothing changes. */
	CHECK_EQ(xl(GVA4, R | W), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(tbl(0)[0] & (A | D), 0);
	CHECK_EQ(tbl(3)[1] & (A | D), 0);
	/* Read: A at every level, no D. */
	CHECK_EQ(xl(GVA4, R | SETBITS), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(tbl(0)[0], PG(1) | P | RW | A);
	CHECK_EQ(tbl(1)[1], PG(2) | P | RW | A);
	CHECK_EQ(tbl(2)[1], PG(3) | P | RW | A);
	CHECK_EQ(tbl(3)[1], PG(5) | P | RW | A);
	/* Write: D on the final entry only. */
	CHECK_EQ(xl(GVA4, W | SETBITS), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(tbl(2)[1], PG(3) | P | RW | A);
	CHECK_EQ(tbl(3)[1], PG(5) | P | RW | A | D);
	/* A 2M page gets D in its PDE. */
	CHECK_EQ(xl(0x40400000, W | SETBITS), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(tbl(2)[2], 0x40600000ull | P | RW | PS | A | D);
	/* An aborted walk keeps the A bits already set, sets nothing at the
	 * failing entry (a permission failure: not in the final entry). */
	chain4(P);
	CHECK_EQ(xl(GVA4, W | SETBITS), HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION);
	CHECK_EQ(tbl(0)[0], PG(1) | P | A);
	CHECK_EQ(tbl(2)[1], PG(3) | P | A);
	CHECK_EQ(tbl(3)[1], PG(5) | P);
	chain4(P | RW);
	tbl(2)[1] &= ~P;
	CHECK_EQ(xl(GVA4, R | SETBITS), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	CHECK_EQ(tbl(1)[1], PG(2) | P | RW | A);
	CHECK_EQ(tbl(2)[1], PG(3) | RW);
}

TEST(xlate_gpa_unmapped_and_overlay)
{
	setup();
	chain4(P | RW);
	/* A table in hypervisor memory, in MMIO, in a hole, beyond the GPA
	 * space: GpaUnmapped with GpaPage = that table page. */
	static const u64 bad[] = { HIDDEN + 0x3000, MMIO, 0x80000000ull, 1ull << 36 };
	for (unsigned int i = 0; i < 4; i++) {
		tbl(2)[1] = (bad[i] & ((1ull << 40) - 1)) | P | RW;
		part.phys_addr_bits = i == 3 ? 37 : 36; /* the last: a valid address, no memory */
		CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_GPA_UNMAPPED);
		CHECK_EQ(out.gpa_page, bad[i] >> 12);
	}
	part.phys_addr_bits = 36;
	st.cr3 = HIDDEN;
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_GPA_UNMAPPED);
	CHECK_EQ(out.gpa_page, HIDDEN >> 12);
	st.cr3 = PG(0);
	/* The final page may be anywhere: no access to it. */
	tbl(2)[1] = PG(3) | P | RW;
	tbl(3)[1] = HIDDEN | P | RW;
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, HIDDEN >> 12);
	CHECK(!out.overlay);
	/* An overlay at the final page: OverlayPage. */
	static u8 ov_page[4096] __attribute__((aligned(4096)));
	static struct overlay ov;
	ov = (struct overlay){ PG(5), (u64)(uintptr_t)ov_page, SLAT_RX, true, "test", 0 };
	overlay_register(&part, &ov);
	tbl(3)[1] = PG(5) | P | RW;
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK(out.overlay);
	CHECK_EQ(out.gpa_page, PG(5) >> 12);
	/* A page table under an overlay is read from the overlay; A/D
	 * cannot be written into a read-only overlay. */
	memset(ov_page, 0, sizeof(ov_page));
	((u64 *)ov_page)[1] = PG(7) | P | RW;
	tbl(2)[1] = PG(5) | P | RW;
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, PG(7) >> 12);
	CHECK(!out.overlay);
	CHECK_EQ(xl(GVA4, R | SETBITS), HV_TRANSLATE_GVA_GPA_ILLEGAL_OVERLAY_ACCESS);
	CHECK_EQ(out.gpa_page, PG(5) >> 12);
	ov.acc = SLAT_RWX;
	CHECK_EQ(xl(GVA4, R | SETBITS), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(((u64 *)ov_page)[1], PG(7) | P | RW | A);
	ov.active = false;
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT); /* RAM page 5 is zero */
	/* Firmware-reserved memory holds page tables too. */
	static const struct mem_range r2[] = {
		{ RAM, 0x8000, MEM_RAM, 0 }, { RAM + 0x8000, 0x8000, MEM_RESERVED, 0 },
	};
	part.ranges = r2;
	part.range_count = 2;
	tbl(2)[1] = PG(9) | P | RW;
	tbl(9)[1] = PG(5) | P;
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, PG(5) >> 12);
}

TEST(xlate_cache_types)
{
	setup();
	chain4(P | RW);
	/* PAT: entries 0..7 = WB WT UC UC- WC WP UC WB */
	st.pat = 0x0600050107000406ull;
	static const u8 want[8] = { HV_CACHE_TYPE_WRITE_BACK, HV_CACHE_TYPE_WRITE_THROUGH,
				    HV_CACHE_TYPE_UNCACHED, HV_CACHE_TYPE_UNCACHED,
				    HV_CACHE_TYPE_WRITE_COMBINING, HV_CACHE_TYPE_WRITE_PROTECTED,
				    HV_CACHE_TYPE_UNCACHED, HV_CACHE_TYPE_WRITE_BACK };
	for (unsigned int i = 0; i < 8; i++) {
		u64 bits = ((i & 4) ? 0x80 : 0) | ((i & 2) ? PCD : 0) | ((i & 1) ? PWT : 0);
		tbl(3)[1] = PG(5) | P | bits;
		CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_SUCCESS);
		CHECK_EQ(out.cache_type, want[i]);
		/* 2M and 1G pages: PAT is bit 12. */
		tbl(2)[2] = 0x40600000ull | P | PS | ((i & 4) ? 0x1000 : 0) | (bits & 0x18);
		CHECK_EQ(xl(0x40400000, R), HV_TRANSLATE_GVA_SUCCESS);
		CHECK_EQ(out.cache_type, want[i]);
		tbl(1)[2] = 0xc0000000ull | P | PS | ((i & 4) ? 0x1000 : 0) | (bits & 0x18);
		CHECK_EQ(xl(0x80000000, R), HV_TRANSLATE_GVA_SUCCESS);
		CHECK_EQ(out.cache_type, want[i]);
	}
	/* PCD/PWT of the tables above do not matter; CR0.CD is uncached. */
	tbl(3)[1] = PG(5) | P;
	tbl(2)[1] |= PCD | PWT;
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.cache_type, HV_CACHE_TYPE_WRITE_BACK);
	st.cr0 |= CR0_CD;
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.cache_type, HV_CACHE_TYPE_UNCACHED);
	/* Failures report no cache type and no page. */
	tbl(3)[1] = 0;
	CHECK_EQ(xl(GVA4, R), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	CHECK_EQ(out.cache_type, 0);
	CHECK_EQ(out.gpa_page, 0);
}

/* ---- random entries against a reference walk ------------------------- */

static u64 rnd_state = 0x9e3779b97f4a7c15ull;
static u64 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* The reference: SDM 4.3-4.6 written out per mode as tables of
 * (entry width, index shift, reserved bits, may be a leaf), checked in
 * the SDM's order: P, reserved bits, then access rights after the walk. */
struct ref_level {
	int width, shift;
	u64 rsvd;      /* when not a leaf */
	u64 leaf_rsvd; /* when PS = 1 */
	bool leaf_ok, has_a;
};

static u32 ref_walk(const struct xlate_state *s, u64 gva, u64 fl, u64 *gpa_page, u8 *ct,
		    u64 maxphy_bits)
{
	bool lm = s->efer & EFER_LMA, pae = s->cr4 & CR4_PAE, nxe = s->efer & EFER_NXE;
	u64 ab = ((1ull << 52) - 1) & ~((1ull << maxphy_bits) - 1); /* 51:M */
	u64 x = nxe ? 0 : XD;
	struct ref_level lv[5];
	int n = 0;
	u64 table;
	if (!(s->cr0 & CR0_PG)) {
		*gpa_page = (gva & 0xffffffff) >> 12;
		*ct = 6;
		return 0;
	}
	if (lm) {
		if ((s64)(gva << 16) >> 16 != (s64)gva)
			return 1;
		lv[n++] = (struct ref_level){ 8, 39, ab | x | PS, 0, false, true };
		lv[n++] = (struct ref_level){ 8, 30, ab | x | (s->gbpages ? 0 : PS),
					      ab | x | 0x3fffe000ull, s->gbpages, true };
		lv[n++] = (struct ref_level){ 8, 21, ab | x, ab | x | 0x1fe000ull, true, true };
		lv[n++] = (struct ref_level){ 8, 12, ab | x, 0, true, true };
		table = s->cr3 & ADDR_MASK_T & ~ab;
	} else if (pae) {
		if (gva >> 32)
			return 1;
		u64 hi = 0x7ff0000000000000ull;
		lv[n++] = (struct ref_level){ 8, 30, ab | hi | XD | 0x1e6, 0, false, false };
		lv[n++] = (struct ref_level){ 8, 21, ab | hi | x, ab | hi | x | 0x1fe000ull, true, true };
		lv[n++] = (struct ref_level){ 8, 12, ab | hi | x, 0, true, true };
		table = s->cr3 & 0xffffffe0ull;
	} else {
		if (gva >> 32)
			return 1;
		u64 pse = ((1ull << 21) - 1) & ~((1ull << (13 + maxphy_bits - 32)) - 1);
		lv[n++] = (struct ref_level){ 4, 22, 0, BIT(21) | pse, (s->cr4 & CR4_PSE) != 0, true };
		lv[n++] = (struct ref_level){ 4, 12, 0, 0, true, true };
		table = s->cr3 & 0xfffff000ull;
	}
	bool rw = true, us = true, xd = false;
	for (int i = 0; i < n; i++) {
		struct ref_level *L = &lv[i];
		u64 mask = L->width == 8 ? 511 : 1023;
		if (i == 0 && pae && !lm)
			mask = 3;
		u64 ea = (i == 0 && pae && !lm) ? table + ((gva >> 30) & 3) * 8
						 : table + ((gva >> L->shift) & mask) * L->width;
		if (ea < RAM || ea >= RAM + FAKE_RAM_SIZE) {
			*gpa_page = ea >> 12;
			return 4;
		}
		u8 *ptr = fake_ram + (ea - RAM);
		u64 e = L->width == 8 ? *(u64 *)ptr : *(u32 *)ptr;
		if (!(e & P))
			return 1;
		bool last = i == n - 1;
		bool leaf = last || (L->leaf_ok && (e & PS) && !(i == 0 && pae && !lm));
		if (e & (leaf && !last ? L->leaf_rsvd : L->rsvd))
			return 3;
		if (L->has_a || (i == 0 && !pae)) {
			rw = rw && (e & RW);
			us = us && (e & US);
		}
		if (L->width == 8 && nxe && (e & XD))
			xd = true;
		if (!leaf) {
			if ((fl & SETBITS) && L->has_a) {
				if (L->width == 8)
					*(u64 *)ptr |= A;
				else
					*(u32 *)ptr |= (u32)A;
			}
			table = L->width == 8 ? e & ADDR_MASK_T : e & 0xfffff000ull;
			continue;
		}
		/* access rights */
		bool user = s->cpl == 3 && !(fl & EXEMPT);
		bool ok = true;
		if (user && !us)
			ok = false;
		if ((fl & W) && !rw && (user || (s->cr0 & CR0_WP)))
			ok = false;
		if ((fl & X) && xd)
			ok = false;
		if (!user && (fl & X) && us && (s->cr4 & CR4_SMEP))
			ok = false;
		if (!user && (fl & (R | W)) && us && (s->cr4 & CR4_SMAP) && !(s->rflags & RFLAGS_AC_BIT))
			ok = false;
		if (!ok)
			return 2;
		if (fl & SETBITS) {
			u64 b = A | ((fl & W) ? D : 0);
			if (L->width == 8)
				*(u64 *)ptr |= b;
			else
				*(u32 *)ptr |= (u32)b;
		}
		u64 size = 1ull << L->shift;
		u64 base;
		if (L->width == 4 && !last)
			base = (e & 0xffc00000ull) | (((e >> 13) & 0xff) << 32);
		else
			base = (L->width == 8 ? e & ADDR_MASK_T : e & 0xfffff000ull) & ~(size - 1);
		*gpa_page = (base | (gva & (size - 1))) >> 12;
		unsigned int idx = ((last ? (e >> 7) : (e >> 12)) & 1) * 4 + ((e >> 3) & 3);
		u8 t = (u8)((s->pat >> (8 * idx)) & 7);
		*ct = (s->cr0 & CR0_CD) || t == 0 || t == 2 || t == 3 || t == 7 ? 0 : t;
		return 0;
	}
	return 1;
}

/* An entry for one level: usually present and pointing at a table page of
 * fake RAM, sometimes outside it, with random flag and reserved bits. */
static u64 rnd_entry(int width, u64 next)
{
	static const u64 bits64[] = { RW, US, PWT, PCD, A, D, PS, 1ull << 12, 1ull << 13,
				      1ull << 20, 1ull << 29, 1ull << 36, 1ull << 51, 1ull << 52,
				      1ull << 62, XD };
	static const u64 bits32[] = { RW, US, PWT, PCD, A, D, PS, 1ull << 12, 1ull << 13,
				      1ull << 17, 1ull << 21 };
	u64 e = next;
	unsigned int r = (unsigned int)(rnd() % 100);
	if (r < 4)
		e = HIDDEN;
	else if (r < 6)
		e = MMIO;
	if (rnd() % 16)
		e |= P;
	const u64 *b = width == 8 ? bits64 : bits32;
	unsigned int nb = width == 8 ? 16 : 11;
	for (unsigned int i = 0; i < nb; i++) {
		unsigned int odds = b[i] == RW || b[i] == US ? 2 : b[i] >= (1ull << 12) ? 12 : 4;
		if (b[i] == XD || b[i] == PS)
			odds = 5;
		if (rnd() % odds == 0)
			e |= b[i];
	}
	return width == 8 ? e : (u32)e;
}

static u8 ram_ref[FAKE_RAM_SIZE];

TEST(xlate_random_vs_reference)
{
	int mismatches = 0;
	unsigned int seen[3][5] = { { 0 } };
	for (int iter = 0; iter < 20000 && mismatches < 5; iter++) {
		setup();
		int mode = (int)(rnd() % 3); /* 0 long, 1 PAE, 2 32-bit */
		u64 r = rnd();
		st.cr0 = CR0_PG | CR0_PE | ((r & 1) ? CR0_WP : 0) | ((r & 0x100) && !(r & 0x200) ? CR0_CD : 0);
		st.cr4 = ((r & 2) ? CR4_SMEP : 0) | ((r & 4) ? CR4_SMAP : 0) | ((r & 8) ? CR4_PSE : 0);
		st.efer = (r & 0x10) ? EFER_NXE : 0;
		st.cpl = (r & 0x20) ? 3 : (u8)((r >> 12) & 1);
		st.rflags = (r & 0x40) ? RFLAGS_AC_BIT : 0;
		st.gbpages = r & 0x80;
		st.pat = rnd() & 0x0707070707070707ull;
		u64 fl = (rnd() & 0x1f);
		if (!(fl & 7))
			fl |= R;
		u64 gva;
		if (mode == 0) {
			st.cr4 |= CR4_PAE;
			st.efer |= EFER_LMA | EFER_LME;
			st.cr3 = PG(0);
			/* indices 1,2,3,4 (or a non-canonical address) */
			gva = (1ull << 39) | (2ull << 30) | (3ull << 21) | (4ull << 12);
			if (rnd() % 32 == 0)
				gva |= 1ull << 47;
			tbl(0)[1] = rnd_entry(8, PG(1));
			tbl(1)[2] = rnd_entry(8, PG(2));
			tbl(2)[3] = rnd_entry(8, PG(3));
			tbl(3)[4] = rnd_entry(8, PG(4) + 0x7000);
		} else if (mode == 1) {
			st.cr4 |= CR4_PAE;
			st.cr3 = PG(0) + 0x40;
			gva = (2ull << 30) | (3ull << 21) | (4ull << 12);
			((u64 *)(fake_ram + 0x40))[2] = rnd_entry(8, PG(2));
			tbl(2)[3] = rnd_entry(8, PG(3));
			tbl(3)[4] = rnd_entry(8, PG(4) + 0x7000);
		} else {
			st.cr3 = PG(0);
			gva = (0x123ull << 22) | (0x45ull << 12);
			tbl32(0)[0x123] = (u32)rnd_entry(4, PG(3));
			tbl32(3)[0x45] = (u32)rnd_entry(4, PG(4) + 0x7000);
		}
		memcpy(ram_ref, fake_ram, sizeof(fake_ram));
		u64 ref_page = 0;
		u8 ref_ct = 0;
		u32 ref = ref_walk(&st, gva, fl, &ref_page, &ref_ct, 36);
		u8 after_ref[FAKE_RAM_SIZE];
		memcpy(after_ref, fake_ram, sizeof(fake_ram));
		memcpy(fake_ram, ram_ref, sizeof(fake_ram));
		u32 got = xl(gva, fl);
		if (got < 5)
			seen[mode][got]++;
		bool same = got == ref && !memcmp(after_ref, fake_ram, sizeof(fake_ram));
		if (same && (ref == 0 || ref == 4))
			same = out.gpa_page == ref_page;
		if (same && ref == 0)
			same = out.cache_type == ref_ct;
		if (!same) {
			mismatches++;
			htest_fail(__FILE__, __LINE__,
				   "iter %d mode %d cr0 %llx cr4 %llx efer %llx cpl %u flags %llx: "
				   "got %u page %llx ct %u, reference %u page %llx ct %u",
				   iter, mode, (unsigned long long)st.cr0, (unsigned long long)st.cr4,
				   (unsigned long long)st.efer, st.cpl, (unsigned long long)fl, got,
				   (unsigned long long)out.gpa_page, out.cache_type, ref,
				   (unsigned long long)ref_page, ref_ct);
		}
	}
	/* Every mode produced every result code many times. */
	for (int m = 0; m < 3; m++)
		for (int c = 0; c < 5; c++)
			if (seen[m][c] < 20)
				htest_fail(__FILE__, __LINE__, "mode %d: result %d seen %u times", m, c,
					   seen[m][c]);
}

/* ---- the hypercall ------------------------------------------------------ */

static struct vp vps[2];
static struct fake_be_state bes[2];
static u8 hc_page[4096] __attribute__((aligned(4096)));
#define IN_GPA (RAM + 0xe000)
#define OUT_GPA (RAM + 0xf000)

static void serve_vp1(void) { xcall_service(&vps[1]); }

static void hc_test_setup(void)
{
	setup();
	part.tsc_hz = 1000000000;
	for (int i = 0; i < 2; i++) {
		fake_vp_init(&vps[i], &part, &bes[i]);
		partition_add_vp(&part, &vps[i]);
		vps[i].apic_id = (u32)i;
		bes[i].regs[GREG_EFER] = EFER_LMA | EFER_LME | EFER_NXE;
		bes[i].regs[GREG_CS_L] = 1;
		bes[i].regs[GREG_CR0] = CR0_PE | CR0_PG | CR0_WP;
		bes[i].regs[GREG_CR4] = CR4_PAE;
		bes[i].state.pat = PAT_DEFAULT;
	}
	hc_setup(&part, hc_page);
	struct hv_exit e = { .reason = HV_EXIT_MSR_WRITE };
	e.u.msr.index = HV_X64_MSR_GUEST_OS_ID;
	e.u.msr.value = 0x8100000000000000ull;
	hv_handle_msr_write(&vps[0], &e);
	e.u.msr.index = HV_X64_MSR_HYPERCALL;
	e.u.msr.value = PG(12) | 1;
	hv_handle_msr_write(&vps[0], &e);
	fake_relax_hook = serve_vp1;
}

static u16 tcall(u64 pid, u32 vpi, u64 flags, u64 gva_page)
{
	u64 *in = (u64 *)(fake_ram + (IN_GPA - RAM));
	in[0] = pid;
	in[1] = vpi | 0xabcd000000000000ull; /* the padding is ignored */
	in[2] = flags;
	in[3] = gva_page;
	u64 *o = (u64 *)(fake_ram + (OUT_GPA - RAM));
	o[0] = o[1] = 0x5555555555555555ull;
	vps[0].gpr[GPR_RCX] = HVCALL_TRANSLATE_VIRTUAL_ADDRESS;
	vps[0].gpr[GPR_RDX] = IN_GPA;
	vps[0].gpr[GPR_R8] = OUT_GPA;
	CHECK_EQ(hv_handle_hypercall(&vps[0], NULL), HV_ACT_ADVANCE);
	return (u16)vps[0].gpr[GPR_RAX];
}

static u64 out0(void) { return ((u64 *)(fake_ram + (OUT_GPA - RAM)))[0]; }
static u64 out1(void) { return ((u64 *)(fake_ram + (OUT_GPA - RAM)))[1]; }

TEST(xlate_hypercall)
{
	hc_test_setup();
	chain4(P | RW);
	bes[0].regs[GREG_CR3] = PG(0);
	bes[1].regs[GREG_CR3] = PG(0);
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0, R | W, GVA4 >> 12), HV_STATUS_SUCCESS);
	CHECK_EQ(out0(), (u64)HV_CACHE_TYPE_WRITE_BACK << 32);
	CHECK_EQ(out1(), PG(5) >> 12);
	/* The target's own state: VP 1 at CPL 3 on a supervisor page; the
	 * request runs on VP 1's processor (served from its mailbox). */
	bes[1].regs[GREG_CPL] = 3;
	u64 served = vps[1].xcalls_served;
	CHECK_EQ(tcall(HV_PARTITION_ID_ROOT, 1, R, GVA4 >> 12), HV_STATUS_SUCCESS);
	CHECK_EQ(out0(), HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION);
	CHECK_EQ(vps[1].xcalls_served, served + 1);
	CHECK_EQ(tcall(HV_PARTITION_ID_ROOT, 1, R | EXEMPT, GVA4 >> 12), HV_STATUS_SUCCESS);
	CHECK_EQ(out0(), (u64)HV_CACHE_TYPE_WRITE_BACK << 32);
	/* The target's PAT, paging off. */
	bes[1].state.pat = 0x0101010101010101ull;
	bes[1].regs[GREG_CR0] = CR0_PE;
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 1, X, 0x77), HV_STATUS_SUCCESS);
	CHECK_EQ(out0(), (u64)HV_CACHE_TYPE_WRITE_BACK << 32);
	CHECK_EQ(out1(), 0x77);
	bes[1].regs[GREG_CR0] = CR0_PE | CR0_PG;
	tbl(3)[1] |= US;
	tbl(2)[1] |= US;
	tbl(1)[1] |= US;
	tbl(0)[0] |= US;
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 1, R, GVA4 >> 12), HV_STATUS_SUCCESS);
	CHECK_EQ(out0(), (u64)HV_CACHE_TYPE_WRITE_COMBINING << 32);
	/* An overlay page as the result: bit 40. The hypercall page. */
	tbl(3)[1] = PG(12) | P;
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0, X, GVA4 >> 12), HV_STATUS_SUCCESS);
	CHECK_EQ(out0(), ((u64)HV_CACHE_TYPE_WRITE_BACK << 32) | (1ull << 40));
	CHECK_EQ(out1(), PG(12) >> 12);
	/* GpaUnmapped reports the table page. */
	tbl(2)[1] = HIDDEN | P;
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0, R, GVA4 >> 12), HV_STATUS_SUCCESS);
	CHECK_EQ(out0(), HV_TRANSLATE_GVA_GPA_UNMAPPED);
	CHECK_EQ(out1(), HIDDEN >> 12);
	/* SET_PAGE_TABLE_BITS through the call. */
	chain4(P | RW);
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0, W | SETBITS, GVA4 >> 12), HV_STATUS_SUCCESS);
	CHECK_EQ(out0(), (u64)HV_CACHE_TYPE_WRITE_BACK << 32);
	CHECK_EQ(tbl(3)[1], PG(5) | P | RW | A | D);
	fake_relax_hook = NULL;
}

TEST(xlate_hypercall_errors)
{
	hc_test_setup();
	chain4(P | RW);
	bes[0].regs[GREG_CR3] = PG(0);
	CHECK_EQ(tcall(2, 0, R, 0), HV_STATUS_INVALID_PARTITION_ID);
	CHECK_EQ(out0(), 0x5555555555555555ull);
	CHECK_EQ(tcall(0, 0, R, 0), HV_STATUS_INVALID_PARTITION_ID);
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 2, R, 0), HV_STATUS_INVALID_VP_INDEX);
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0xffffffffu, R, 0), HV_STATUS_INVALID_VP_INDEX);
	/* HV_VP_INDEX_SELF (TLFS 7.8.1): the caller, VP 0. */
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0xfffffffeu, R, GVA4 >> 12), HV_STATUS_SUCCESS);
	CHECK_EQ(out1(), PG(5) >> 12);
	/* Partition before VP index before flags. */
	CHECK_EQ(tcall(7, 9, 0, 0), HV_STATUS_INVALID_PARTITION_ID);
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 9, 0, 0), HV_STATUS_INVALID_VP_INDEX);
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0, 0, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0, EXEMPT | SETBITS, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0, R | BIT(6), 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0, R | BIT(55), 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0, R | HV_TRANSLATE_GVA_TLB_FLUSH_INHIBIT, 0),
		 HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(out0(), 0x5555555555555555ull);
	/* Input VTL: VTL 0 explicitly is fine, VTL 1 or reserved bits not. */
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0, R | (0x10ull << 56), GVA4 >> 12),
		 HV_STATUS_SUCCESS);
	CHECK_EQ(out1(), PG(5) >> 12);
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0, R | (0x11ull << 56), 0),
		 HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0, R | (0x20ull << 56), 0),
		 HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0, R | (0x01ull << 56), GVA4 >> 12),
		 HV_STATUS_SUCCESS); /* VTL bits without "use": ignored */
	/* Fast form: input in RDX, R8, XMM0-1; output in XMM2-3. */
	memset(fake_xmm, 0, sizeof(fake_xmm));
	vps[0].gpr[GPR_RCX] = HVCALL_TRANSLATE_VIRTUAL_ADDRESS | (1ull << 16);
	vps[0].gpr[GPR_RDX] = HV_PARTITION_ID_SELF;
	vps[0].gpr[GPR_R8] = 0;
	u64 x[2] = { R, GVA4 >> 12 };
	memcpy(fake_xmm, x, 16);
	CHECK_EQ(hv_handle_hypercall(&vps[0], NULL), HV_ACT_ADVANCE);
	CHECK_EQ((u16)vps[0].gpr[GPR_RAX], HV_STATUS_SUCCESS);
	u64 o[2];
	memcpy(o, fake_xmm + 16, 16); /* output at block offset 32: XMM1 */
	CHECK_EQ(o[0], (u64)HV_CACHE_TYPE_WRITE_BACK << 32);
	CHECK_EQ(o[1], PG(5) >> 12);
	/* No privilege needed (TLFS appendix A). */
	part.privileges = 0;
	CHECK_EQ(tcall(HV_PARTITION_ID_SELF, 0, R, GVA4 >> 12), HV_STATUS_SUCCESS);
	fake_relax_hook = NULL;
}
