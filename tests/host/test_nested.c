/*
 * test_nested.c - nested virtualization (docs/nested.md): the VMRUN
 * consistency checks on L1's VMCB (svm/svm_vmcb_check.c, AMD APM vol. 2
 * 15.5.1), one test per check, and the shadow of L1's nested page tables
 * (nested/shadow.c): the composition of L1's tables with hv.efi's view of
 * L1's memory, the NPF codes reflected to L1 (APM 15.25.6), A/D bits in
 * L1's entries, overlays, hypervisor memory, running out of pages.
 */
#include "htest.h"
#include "fakes.h"
#include "boot_info.h"
#include "gmem.h"
#include "nested.h"
#include "tlfs.h"
#include "pool.h"
#include "x86.h"
#include "../../svm/svm.h"
#include <stdlib.h>
#include <string.h>

/* ---- VMCB checks ---------------------------------------------------------- */

static struct vmcb good;

static void good_vmcb(void)
{
	memset(&good, 0, sizeof(good));
	good.ctl.intercept_misc1 = SVM_INTERCEPT_MSR | SVM_INTERCEPT_IOIO;
	good.ctl.intercept_misc2 = SVM_INTERCEPT_VMRUN;
	good.ctl.msrpm_base_pa = 0x100000;
	good.ctl.iopm_base_pa = 0x200000;
	good.ctl.guest_asid = 1;
	good.save.efer = EFER_SVME | EFER_LME | EFER_LMA;
	good.save.cr0 = CR0_PE | CR0_PG | CR0_ET;
	good.save.cr4 = CR4_PAE;
	good.save.cr3 = 0x1000;
	good.save.cs.attrib = 0xa9b; /* L */
	good.save.dr6 = 0xffff0ff0;
	good.save.dr7 = 0x400;
}

#define EFER_OK (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | EFER_SVME)
#define CR4_OK 0x3fffffull & ~(u64)(CR4_LA57 | CR4_VMXE | CR4_SMXE | BIT(15) | BIT(19))

static const char *chk(void) { return svm_vmcb_check(&good, 40, EFER_OK, CR4_OK); }

TEST(nested_vmcb_good)
{
	good_vmcb();
	CHECK(chk() == NULL);
	good.save.efer = EFER_SVME; /* 32-bit, paging off */
	good.save.cr0 = CR0_PE;
	good.save.cr4 = 0;
	good.save.cs.attrib = 0xc9b;
	CHECK(chk() == NULL);
	good.ctl.intercept_misc1 = 0; /* maps not used: not checked */
	good.ctl.msrpm_base_pa = ~0ull;
	CHECK(chk() == NULL);
}

#define BAD(what, mutate, want)                                                \
	do {                                                                   \
		good_vmcb();                                                   \
		mutate;                                                        \
		const char *w_ = chk();                                        \
		CHECK(w_ != NULL && strstr(w_, want));                         \
		(void)what;                                                    \
	} while (0)

TEST(nested_vmcb_each_check)
{
	BAD("svme", good.save.efer &= ~EFER_SVME, "SVME");
	BAD("nw", good.save.cr0 |= CR0_NW, "NW");
	BAD("cr0hi", good.save.cr0 |= 1ull << 32, "CR0[63:32]");
	BAD("cr3", good.save.cr3 |= 1ull << 45, "CR3");
	BAD("cr3_legacy", (good.save.efer &= ~(EFER_LME | EFER_LMA), good.save.cr0 = CR0_PE,
			   good.save.cs.attrib = 0xc9b, good.save.cr3 = 1ull << 33), "CR3");
	BAD("cr4", good.save.cr4 |= CR4_VMXE, "CR4");
	BAD("dr6", good.save.dr6 |= 1ull << 32, "DR6");
	BAD("dr7", good.save.dr7 |= 1ull << 63, "DR6/DR7");
	BAD("efer", good.save.efer |= BIT(2), "EFER reserved");
	BAD("pae", good.save.cr4 &= ~CR4_PAE, "PAE");
	BAD("pe", good.save.cr0 &= ~CR0_PE, "PE");
	BAD("csld", good.save.cs.attrib |= BIT(10), "CS.L");
	BAD("vmrun", good.ctl.intercept_misc2 = 0, "VMRUN");
	BAD("msrpm", good.ctl.msrpm_base_pa = (1ull << 40) - 0x1000, "MSR");
	BAD("iopm", good.ctl.iopm_base_pa = (1ull << 40) - 0x2000, "I/O");
	BAD("evt_type", good.ctl.eventinj = SVM_EVTINJ_VALID | (1ull << 8), "reserved type");
	BAD("evt_type5", good.ctl.eventinj = SVM_EVTINJ_VALID | (5ull << 8), "reserved type");
	BAD("evt_nmi", good.ctl.eventinj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXC | 2, "vector 2");
	BAD("evt_vec", good.ctl.eventinj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXC | 32, "vector 2");
	BAD("asid", good.ctl.guest_asid = 0, "ASID");
	/* Legal injections pass. */
	good_vmcb();
	good.ctl.eventinj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXC | SVM_EVTINJ_EV | 13;
	CHECK(chk() == NULL);
	good.ctl.eventinj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_NMI | 2;
	CHECK(chk() == NULL);
	good.ctl.eventinj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_INTR | 0x40;
	CHECK(chk() == NULL);
}

/* ---- the shadow ------------------------------------------------------------ */

#define RAM FAKE_RAM_BASE
#define HIDDEN 0x200000ull
#define PG(n) (RAM + 0x1000ull * (n))
static u64 *tbl(int n) { return (u64 *)(fake_ram + 0x1000 * n); }

static struct partition part;
static const struct mem_range ranges[] = {
	{ RAM, FAKE_RAM_SIZE, MEM_RAM, 0 },
	{ HIDDEN, 0x100000, MEM_HV, 0 },
};
static struct pool pool;
static struct shadow sh;
static void *pool_mem;

/* L1's tables: PML4 page 0 -> PDPT 1 -> PD 2 -> PT 3, L2 GPA n*0x1000 in
 * PT[n]. */
static void setup_shadow(u32 npages)
{
	partition_init(&part, &fake_backend, 36, HIDDEN, 0x100000);
	part.ranges = ranges;
	part.range_count = 2;
	memset(fake_ram, 0, sizeof(fake_ram));
	tbl(0)[0] = PG(1) | 7;
	tbl(1)[0] = PG(2) | 7;
	tbl(2)[0] = PG(3) | 7;
	tbl(3)[1] = PG(5) | 7;          /* RW */
	tbl(3)[2] = PG(6) | 5;          /* read-only */
	tbl(3)[3] = HIDDEN | 7;         /* hypervisor memory */
	tbl(3)[4] = 0;                  /* not present */
	tbl(3)[5] = PG(7) | 3;          /* supervisor: nested walks are user */
	tbl(3)[6] = PG(8) | 7 | (1ull << 40); /* reserved: above MAXPHYADDR 36 */
	tbl(3)[7] = PG(9) | 7;          /* an overlay's GPA */
	tbl(3)[8] = PG(10) | 7 | (1ull << 63); /* NX */
	free(pool_mem);
	pool_mem = aligned_alloc(4096, 64 * 4096);
	pool_init(&pool, (u64)(uintptr_t)pool_mem, 64 * 4096, 0);
	memset(&sh, 0, sizeof(sh));
	CHECK_EQ(shadow_init(&sh, &pool, npages, &slat_fmt_npt, false), 0);
	shadow_reset(&sh, PG(0), part.slat_gen);
}

/* The shadow's 4K leaf for gpa (0: none). */
static u64 leaf(u64 gpa)
{
	u64 t = sh.slat.root;
	for (int l = 3; l > 0; l--) {
		u64 e = ((u64 *)(uintptr_t)t)[(gpa >> (12 + 9 * l)) & 511];
		if (!(e & 1))
			return 0;
		t = e & SLAT_ADDR_MASK;
	}
	return ((u64 *)(uintptr_t)t)[(gpa >> 12) & 511];
}

static enum shadow_result fault(u64 gpa, bool w, bool x, u64 *info1)
{
	return shadow_fault(&part, &sh, gpa, w, x, 1ull << 32, info1);
}

TEST(nested_shadow_compose)
{
	u64 i1 = 0;
	setup_shadow(16);
	/* A read maps the page read-only; L1's entries get A, not D. */
	CHECK_EQ(fault(0x1000, false, false, &i1), SHADOW_MAPPED);
	CHECK_EQ(leaf(0x1000) & SLAT_ADDR_MASK, PG(5));
	CHECK(!(leaf(0x1000) & 2));
	CHECK(tbl(3)[1] & 0x20);
	CHECK(!(tbl(3)[1] & 0x40));
	/* A write: writable, D set in L1's entry. */
	CHECK_EQ(fault(0x1234, true, false, &i1), SHADOW_MAPPED);
	CHECK(leaf(0x1000) & 2);
	CHECK(tbl(3)[1] & 0x40);
	/* Read-only in L1's tables: a read maps, a write is L1's NPF. */
	CHECK_EQ(fault(0x2000, false, false, &i1), SHADOW_MAPPED);
	CHECK(!(leaf(0x2000) & 2));
	CHECK_EQ(fault(0x2000, true, false, &i1), SHADOW_REFLECT);
	CHECK_EQ(i1, (1ull << 32) | 7); /* P W U, final translation */
	/* Not present. */
	CHECK_EQ(fault(0x4000, false, false, &i1), SHADOW_REFLECT);
	CHECK_EQ(i1, (1ull << 32) | 4);
	CHECK_EQ(leaf(0x4000), 0);
	CHECK_EQ(fault(0x4000, false, true, &i1), SHADOW_REFLECT);
	CHECK_EQ(i1, (1ull << 32) | 0x14);
	/* A supervisor entry: a permission fault for the user-mode walk. */
	CHECK_EQ(fault(0x5000, false, false, &i1), SHADOW_REFLECT);
	CHECK_EQ(i1 & 0xf, 5);
	/* A reserved bit: P and RSV. */
	CHECK_EQ(fault(0x6000, false, false, &i1), SHADOW_REFLECT);
	CHECK_EQ(i1 & 0xf, 0xd);
	/* NX: fetch is L1's fault, read maps. */
	CHECK_EQ(fault(0x8000, false, true, &i1), SHADOW_REFLECT);
	CHECK_EQ(i1 & 0x1f, 0x15);
	CHECK_EQ(fault(0x8000, false, false, &i1), SHADOW_MAPPED);
	/* Beyond L2's first 2 MiB: L1's PD has nothing there. */
	CHECK_EQ(fault(0x40000000, false, false, &i1), SHADOW_REFLECT);
	CHECK_EQ(sh.reflected, 7);
}

TEST(nested_shadow_hv_memory)
{
	u64 i1 = 0;
	setup_shadow(16);
	/* L1 maps hypervisor memory: never in the shadow. */
	CHECK_EQ(fault(0x3000, false, false, &i1), SHADOW_DENIED);
	CHECK_EQ(fault(0x3000, true, false, &i1), SHADOW_DENIED);
	CHECK_EQ(leaf(0x3000), 0);
	/* L1's tables themselves in hypervisor memory: L1's NPF (not present). */
	tbl(2)[0] = HIDDEN | 7;
	CHECK_EQ(fault(0x1000, false, false, &i1), SHADOW_REFLECT);
	CHECK_EQ(i1 & 1, 0);
	/* A root in hypervisor memory too. */
	shadow_reset(&sh, HIDDEN, part.slat_gen);
	CHECK_EQ(fault(0x1000, false, false, &i1), SHADOW_REFLECT);
	CHECK_EQ(leaf(0x1000), 0);
}

TEST(nested_shadow_overlay_and_protected)
{
	u64 i1 = 0;
	setup_shadow(16);
	/* An active read-only overlay at PG(9): the shadow maps the overlay's
	 * page, a write is refused. */
	struct overlay o = { .gpa = PG(9), .hpa = 0xabc000, .acc = SLAT_RX, .active = true };
	part.overlays[0] = &o;
	part.overlay_count = 1;
	u32 gen = part.slat_gen;
	gmem_overlays_changed(&part);
	CHECK(part.slat_gen != gen); /* shadows built before are stale */
	CHECK_EQ(fault(0x7000, false, false, &i1), SHADOW_MAPPED);
	CHECK_EQ(leaf(0x7000) & SLAT_ADDR_MASK, 0xabc000);
	CHECK_EQ(fault(0x7000, true, false, &i1), SHADOW_DENIED);
	/* A protected page (the xAPIC page, read-only for the guest). */
	part.protected_pages[0].gpa = PG(5);
	part.protected_pages[0].acc = SLAT_RX;
	part.protected_count = 1;
	CHECK_EQ(fault(0x1000, false, false, &i1), SHADOW_MAPPED);
	CHECK(!(leaf(0x1000) & 2));
	CHECK_EQ(fault(0x1000, true, false, &i1), SHADOW_DENIED);
}

TEST(nested_shadow_full_and_reset)
{
	u64 i1 = 0;
	/* Root + PDPT + PD + PT = 4 pages for the first 2 MiB; a GPA in
	 * another 1 GiB needs 2 more. */
	setup_shadow(8);
	CHECK_EQ(fault(0x1000, false, false, &i1), SHADOW_MAPPED);
	CHECK_EQ(sh.used, 4);
	/* Map L2 GPA 1 GiB + 4K..: L1 maps it through its PDPT[1]. */
	tbl(1)[1] = PG(11) | 7;
	tbl(11)[0] = PG(12) | 7;
	tbl(12)[1] = PG(5) | 7;
	tbl(1)[2] = PG(13) | 7;
	tbl(13)[0] = PG(14) | 7;
	tbl(14)[1] = PG(5) | 7;
	CHECK_EQ(fault(0x40001000, false, false, &i1), SHADOW_MAPPED);
	CHECK_EQ(sh.used, 6);
	CHECK_EQ(fault(0x80001000, false, false, &i1), SHADOW_MAPPED);
	CHECK_EQ(sh.used, 8);
	tbl(1)[3] = PG(13) | 7;
	CHECK_EQ(fault(0xc0001000, false, false, &i1), SHADOW_FULL);
	shadow_reset(&sh, sh.l1_root, part.slat_gen);
	CHECK_EQ(leaf(0x1000), 0);
	CHECK_EQ(sh.used, 1);
	CHECK_EQ(fault(0xc0001000, false, false, &i1), SHADOW_MAPPED);
	CHECK_EQ(sh.resets, 2);
	free(pool_mem);
	pool_mem = NULL;
}

/* ---- the nested flush hypercalls' checks (nested/flush.c, TLFS 16.13) ---- */

TEST(nested_flush_check_statuses)
{
	partition_init(&part, &fake_backend, 36, HIDDEN, 0x100000);
	/* nested=off: "nested virtualization is not enabled" */
	part.nested = false;
	CHECK_EQ(nested_flush_check(&part, EFER_SVME, 0x1000, 0), HV_STATUS_INVALID_VP_STATE);
	CHECK_EQ(nested_optimizations(&part), 0);
	part.nested = true;
	/* Exactly the backend's half (SVM's value; the fake backend has none). */
	CHECK_EQ(nested_optimizations(&part), 0);
	struct backend svm_like = fake_backend;
	svm_like.nested_enl = BIT(17) | BIT(18) | BIT(19) | BIT(22);
	part.be = &svm_like;
	CHECK_EQ(nested_optimizations(&part), BIT(17) | BIT(18) | BIT(19) | BIT(22));
	part.be = &fake_backend;
	/* "not in nested hypervisor mode": EFER.SVME clear, before any other */
	CHECK_EQ(nested_flush_check(&part, 0, 0x1000, 1), HV_STATUS_INVALID_VP_STATE);
	CHECK_EQ(nested_flush_check(&part, EFER_SVME, 0x1000, 0), HV_STATUS_SUCCESS);
	CHECK_EQ(nested_flush_check(&part, EFER_SVME, 0x1018, 0), HV_STATUS_SUCCESS); /* PWT PCD */
	CHECK_EQ(nested_flush_check(&part, EFER_SVME, 0x1000, 1), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(nested_flush_check(&part, EFER_SVME, 0x1000, 1ull << 63), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(nested_flush_check(&part, EFER_SVME, 0x1001, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(nested_flush_check(&part, EFER_SVME, 0x1020, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(nested_flush_check(&part, EFER_SVME, 1ull << 36, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(nested_flush_check(&part, EFER_SVME, (1ull << 36) - 0x1000, 0), HV_STATUS_SUCCESS);
	CHECK_EQ(nested_flush_check(&part, EFER_SVME, ~0ull & ~0xfffull, 0), HV_STATUS_INVALID_PARAMETER);

	/* VMX: CR4.VMXE is "nested hypervisor mode"; the space an EPT root
	 * (bare, or an EPTP with WB/UC and a 4-level walk, SDM 25.6.11). */
	struct backend vmx_like = fake_backend;
	vmx_like.nested_vmx = true;
	part.be = &vmx_like;
	CHECK_EQ(nested_flush_check(&part, EFER_SVME, 0x1000, 0), HV_STATUS_INVALID_VP_STATE);
	CHECK_EQ(nested_flush_check(&part, CR4_VMXE, 0x1000, 0), HV_STATUS_SUCCESS);
	CHECK_EQ(nested_flush_check(&part, CR4_VMXE, 0x101e, 0), HV_STATUS_SUCCESS); /* WB, 4-level */
	CHECK_EQ(nested_flush_check(&part, CR4_VMXE, 0x105e, 0), HV_STATUS_SUCCESS); /* + A/D */
	CHECK_EQ(nested_flush_check(&part, CR4_VMXE, 0x1018, 0), HV_STATUS_SUCCESS); /* UC */
	CHECK_EQ(nested_flush_check(&part, CR4_VMXE, 0x101e, 1), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(nested_flush_check(&part, CR4_VMXE, 0x101a, 0), HV_STATUS_INVALID_PARAMETER); /* type 2 */
	CHECK_EQ(nested_flush_check(&part, CR4_VMXE, 0x1026, 0), HV_STATUS_INVALID_PARAMETER); /* 5-level */
	CHECK_EQ(nested_flush_check(&part, CR4_VMXE, 0x109e, 0), HV_STATUS_INVALID_PARAMETER); /* bit 7 */
	CHECK_EQ(nested_flush_check(&part, CR4_VMXE, 0x1018, 0), HV_STATUS_SUCCESS);
	CHECK_EQ(nested_flush_check(&part, CR4_VMXE, (1ull << 36) | 0x1e, 0), HV_STATUS_INVALID_PARAMETER);
	part.be = &fake_backend;
}

TEST(nested_flush_gpa_ranges)
{
	partition_init(&part, &fake_backend, 36, HIDDEN, 0x100000);
	u64 top = 1ull << 36;
	CHECK(nested_gpa_range_ok(&part, 0));
	CHECK(nested_gpa_range_ok(&part, 0x5000 | 0x7ff));         /* 2048 pages */
	CHECK(nested_gpa_range_ok(&part, top - 0x1000));           /* the last page */
	CHECK(!nested_gpa_range_ok(&part, (top - 0x1000) | 1));    /* one beyond */
	CHECK(!nested_gpa_range_ok(&part, top));
	CHECK(!nested_gpa_range_ok(&part, ~0ull));                 /* wraps */
	CHECK(nested_gpa_range_ok(&part, 0x200000 | BIT(11)));     /* a 2 MiB page */
	CHECK(!nested_gpa_range_ok(&part, 0x201000 | BIT(11)));    /* misaligned */
	CHECK(nested_gpa_range_ok(&part, (top - 0x200000) | BIT(11)));
	CHECK(!nested_gpa_range_ok(&part, (top - 0x200000) | BIT(11) | 1));
}

/* ---- direct virtual flush: L2's flush calls (nested/dflush.c, TLFS 9.4) ---- */

TEST(nested_dflush_header_and_targets)
{
	partition_init(&part, &fake_backend, 36, HIDDEN, 0x100000);
	u64 in[8] = { 0x1000, 0, 0x5, 0, 0, 0, 0, 0 }; /* space, flags, mask: ids 0, 2 */
	const u8 *b = (const u8 *)in;
	CHECK(nested_dflush_code(0x0002) && nested_dflush_code(0x0003) && nested_dflush_code(0x0013) &&
	      nested_dflush_code(0x0014));
	CHECK(!nested_dflush_code(0x0001) && !nested_dflush_code(0x00AF) && !nested_dflush_code(0x0008));
	CHECK_EQ(nested_dflush_header(&part, 0x0002, b, 0), HV_STATUS_SUCCESS);
	CHECK(nested_dflush_targets(0x0002, b, 0, 0));
	CHECK(!nested_dflush_targets(0x0002, b, 0, 1));
	CHECK(nested_dflush_targets(0x0002, b, 0, 2));
	CHECK(!nested_dflush_targets(0x0002, b, 0, 64)); /* beyond the mask */
	in[1] = HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY;      /* a space call may */
	CHECK_EQ(nested_dflush_header(&part, 0x0002, b, 0), HV_STATUS_SUCCESS);
	CHECK_EQ(nested_dflush_header(&part, 0x0003, b, 0), HV_STATUS_INVALID_PARAMETER); /* a list not */
	in[1] = BIT(3);
	CHECK_EQ(nested_dflush_header(&part, 0x0002, b, 0), HV_STATUS_INVALID_PARAMETER);
	in[1] = 0;
	in[0] = 1ull << 36; /* beyond the physical address width */
	CHECK_EQ(nested_dflush_header(&part, 0x0002, b, 0), HV_STATUS_INVALID_PARAMETER);
	in[1] = HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES; /* then the space is ignored */
	CHECK_EQ(nested_dflush_header(&part, 0x0002, b, 0), HV_STATUS_SUCCESS);
	in[0] = 0x1000;
	in[1] = 0;
	in[2] = 0; /* empty set */
	CHECK_EQ(nested_dflush_header(&part, 0x0002, b, 0), HV_STATUS_INVALID_PARAMETER);
	in[1] = HV_FLUSH_ALL_PROCESSORS; /* all: mask ignored */
	CHECK_EQ(nested_dflush_header(&part, 0x0003, b, 0), HV_STATUS_SUCCESS);
	CHECK(nested_dflush_targets(0x0003, b, 0, 77));

	/* Ex: format, valid banks, banks in the variable header. */
	in[1] = 0;
	in[2] = HV_GENERIC_SET_SPARSE_4K;
	in[3] = BIT(0) | BIT(2); /* banks 0 and 2 */
	in[4] = BIT(1);          /* id 1 */
	in[5] = BIT(3);          /* id 131 */
	CHECK_EQ(nested_dflush_header(&part, 0x0013, b, 2), HV_STATUS_SUCCESS);
	CHECK_EQ(nested_dflush_header(&part, 0x0013, b, 1), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(nested_dflush_header(&part, 0x0014, b, 3), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK(nested_dflush_targets(0x0013, b, 2, 1));
	CHECK(!nested_dflush_targets(0x0013, b, 2, 0));
	CHECK(nested_dflush_targets(0x0013, b, 2, 131));
	CHECK(!nested_dflush_targets(0x0013, b, 2, 65)); /* bank 1 not valid */
	CHECK(!nested_dflush_targets(0x0013, b, 2, 4096));
	in[2] = 7; /* no such format */
	CHECK_EQ(nested_dflush_header(&part, 0x0013, b, 2), HV_STATUS_INVALID_PARAMETER);
	in[2] = HV_GENERIC_SET_ALL;
	in[3] = 0;
	CHECK_EQ(nested_dflush_header(&part, 0x0014, b, 0), HV_STATUS_SUCCESS);
	CHECK(nested_dflush_targets(0x0014, b, 0, 999));
}

/* ---- the shadow of L1's EPT (nested VMX, docs/nested.md) ------------------- */

/* L1's EPT (SDM 29.3.2): PML4 page 0 -> PDPT 1 -> PD 2 -> PT 3; the shadow
 * in EPT format. */
static void setup_ept_shadow(void)
{
	setup_shadow(16);
	memset(fake_ram, 0, 0x4000);
	tbl(0)[0] = PG(1) | 7;
	tbl(1)[0] = PG(2) | 7;
	tbl(2)[0] = PG(3) | 7;
	tbl(2)[1] = 0x40000000ull | 0xb7; /* a 2 MiB page (bit 7), WB: L2 0x200000 */
	tbl(2)[2] = 0x40001000ull | 0xb7; /* not 2 MiB aligned: misconfigured */
	tbl(3)[1] = PG(5) | 0x37;       /* RWX, WB */
	tbl(3)[2] = PG(6) | 0x35;       /* R-X */
	tbl(3)[3] = HIDDEN | 0x37;      /* hypervisor memory */
	tbl(3)[4] = 0;                  /* not present */
	tbl(3)[5] = PG(7) | 0x32;       /* W without R: misconfigured */
	tbl(3)[6] = PG(8) | 0x34;       /* execute-only: not offered, misconfigured */
	tbl(3)[7] = PG(9) | 0x17;       /* memory type 2: misconfigured */
	tbl(3)[8] = PG(10) | 0x33;      /* RW, no X */
	tbl(3)[9] = PG(11) | 0x37 | (1ull << 40); /* above MAXPHYADDR 36 */
	memset(&sh, 0, sizeof(sh));
	CHECK_EQ(shadow_init(&sh, &pool, 16, &slat_fmt_ept, false), 0);
	sh.l1_ept = true;
	sh.maxphy = 36;
	shadow_reset(&sh, PG(0) | 0x1e, part.slat_gen);
}

static u64 ept_leaf(u64 gpa)
{
	u64 t = sh.slat.root;
	for (int l = 3; l > 0; l--) {
		u64 e = ((u64 *)(uintptr_t)t)[(gpa >> (12 + 9 * l)) & 511];
		if (!(e & 7))
			return 0;
		t = e & SLAT_ADDR_MASK;
	}
	return ((u64 *)(uintptr_t)t)[(gpa >> 12) & 511];
}

/* The read walk nested/dflush.c uses for an L2 hypercall's input on VMX
 * (shadow_ept_translate): L1 GPA with the page offset kept; not present
 * or misconfigured: no translation; a 2 MiB page of L1's. */
TEST(nested_shadow_ept_translate)
{
	u64 l1 = 0;
	setup_ept_shadow();
	CHECK(shadow_ept_translate(&part, &sh, 0x1a08, &l1));
	CHECK_EQ(l1, PG(5) + 0xa08);
	CHECK(!shadow_ept_translate(&part, &sh, 0x4000, &l1)); /* not present */
	CHECK(!shadow_ept_translate(&part, &sh, 0x5000, &l1)); /* misconfigured */
	CHECK(shadow_ept_translate(&part, &sh, 0x203010, &l1));
	CHECK_EQ(l1, 0x40003010);
}

TEST(nested_shadow_ept_walk)
{
	u64 q = 0;
	setup_ept_shadow();
	/* A read maps read-only; a write writable (SDM 28.2.1 table 28-7 on
	 * the refusals: the access in 2:0, what L1 allows in 5:3). */
	CHECK_EQ(shadow_fault(&part, &sh, 0x1000, false, false, 0x181, &q), SHADOW_MAPPED);
	CHECK_EQ(ept_leaf(0x1000) & SLAT_ADDR_MASK, PG(5));
	CHECK(!(ept_leaf(0x1000) & 2));
	CHECK_EQ(shadow_fault(&part, &sh, 0x1008, true, false, 0x182, &q), SHADOW_MAPPED);
	CHECK(ept_leaf(0x1000) & 2);
	CHECK_EQ(shadow_fault(&part, &sh, 0x2000, true, false, 0x182, &q), SHADOW_REFLECT);
	CHECK_EQ(q, 0x182 | 0x28); /* write; readable and executable; bits 7, 8 from the CPU */
	CHECK_EQ(shadow_fault(&part, &sh, 0x2000, false, true, 0x184, &q), SHADOW_MAPPED);
	CHECK_EQ(shadow_fault(&part, &sh, 0x4000, false, false, 0x181, &q), SHADOW_REFLECT);
	CHECK_EQ(q, 0x181); /* not present: nothing allowed */
	CHECK_EQ(shadow_fault(&part, &sh, 0x8000, false, true, 0x184, &q), SHADOW_REFLECT);
	CHECK_EQ(q & 0x3f, 0x1c); /* fetch; readable, writable */
	CHECK_EQ(shadow_fault(&part, &sh, 0x3000, false, false, 0, &q), SHADOW_DENIED);
	/* Misconfigurations (29.3.3.1). */
	CHECK_EQ(shadow_fault(&part, &sh, 0x5000, false, false, 0, &q), SHADOW_MISCONFIG);
	CHECK_EQ(shadow_fault(&part, &sh, 0x6000, false, true, 0, &q), SHADOW_MISCONFIG);
	CHECK_EQ(shadow_fault(&part, &sh, 0x7000, false, false, 0, &q), SHADOW_MISCONFIG);
	CHECK_EQ(shadow_fault(&part, &sh, 0x9000, false, false, 0, &q), SHADOW_MISCONFIG);
	CHECK_EQ(shadow_fault(&part, &sh, 0x400000, false, false, 0, &q), SHADOW_MISCONFIG);
	/* A 2 MiB page of L1: the 4K page inside it (L1 GPA 0x40003000). */
	CHECK_EQ(shadow_fault(&part, &sh, 0x203000, false, false, 0, &q), SHADOW_MAPPED);
	CHECK_EQ(ept_leaf(0x203000) & SLAT_ADDR_MASK, 0x40003000);
	/* A 1 GiB page (bit 7 in a PDPTE): not offered, misconfigured. */
	tbl(1)[1] = PG(0) | 0xb7;
	CHECK_EQ(shadow_fault(&part, &sh, 0x40000000, false, false, 0, &q), SHADOW_MISCONFIG);
}

/* ---- VSM: the shadow composes the view of L1's VTL (TLFS 15.9) ---------- */

static enum slat_access fake_vtl_prot(const struct partition *p, u8 vtl, u64 gpa)
{
	if (vtl != 0)
		return SLAT_RWX;
	gpa &= ~0xfffull;
	return gpa == PG(5) ? SLAT_NONE : gpa == PG(6) ? SLAT_R : gpa == PG(10) ? SLAT_RW : SLAT_RWX;
}

TEST(nested_shadow_vtl_view)
{
	u64 i1 = 0;
	setup_shadow(16);
	part.vtl_prot = fake_vtl_prot;
	sh.vtl = 0;
	/* No access for VTL 0: L2 (VTL 0's guest) can neither read nor write
	 * it, though L1's tables map it RW. */
	CHECK_EQ(fault(0x1000, false, false, &i1), SHADOW_DENIED);
	CHECK_EQ(fault(0x1000, true, false, &i1), SHADOW_DENIED);
	CHECK_EQ(fault(0x1000, false, true, &i1), SHADOW_DENIED);
	CHECK_EQ(leaf(0x1000), 0);
	/* Read-only, no execute: a read maps read-only and NX (bit 63), a
	 * write or a fetch is refused. */
	CHECK_EQ(fault(0x2000, false, false, &i1), SHADOW_MAPPED);
	CHECK_EQ(leaf(0x2000) & SLAT_ADDR_MASK, PG(6));
	CHECK(!(leaf(0x2000) & 2));
	CHECK(leaf(0x2000) & (1ull << 63));
	CHECK_EQ(fault(0x2000, true, false, &i1), SHADOW_REFLECT); /* L1's own R/O first */
	CHECK_EQ(fault(0x2000, false, true, &i1), SHADOW_DENIED);
	/* RW without execute: a write maps writable and NX. */
	CHECK_EQ(fault(0x8000, true, false, &i1), SHADOW_MAPPED);
	CHECK(leaf(0x8000) & 2);
	CHECK(leaf(0x8000) & (1ull << 63));
	/* An unrestricted page is as before: a read maps read-only, executable. */
	CHECK_EQ(fault(0x7000, false, false, &i1), SHADOW_MAPPED);
	CHECK(!(leaf(0x7000) & 2));
	CHECK(!(leaf(0x7000) & (1ull << 63)));
	CHECK_EQ(sh.vtl_denied, 4);
	/* VTL 1's L1 has the full view. */
	shadow_reset(&sh, PG(0), part.slat_gen);
	sh.vtl = 1;
	CHECK_EQ(fault(0x1000, true, false, &i1), SHADOW_MAPPED);
	CHECK(leaf(0x1000) & 2);
	part.vtl_prot = NULL;
}

TEST(nested_shadow_vtl_view_ept)
{
	u64 q = 0;
	setup_ept_shadow();
	part.vtl_prot = fake_vtl_prot;
	sh.vtl = 0;
	/* L2 GPA 0x1000 -> PG(5): no access for VTL 0. */
	CHECK_EQ(shadow_fault(&part, &sh, 0x1000, false, false, 0x181, &q), SHADOW_DENIED);
	CHECK_EQ(shadow_fault(&part, &sh, 0x1000, true, false, 0x182, &q), SHADOW_DENIED);
	CHECK_EQ(ept_leaf(0x1000), 0);
	/* 0x2000 -> PG(6), read-only for VTL 0: read maps R only (no X). */
	CHECK_EQ(shadow_fault(&part, &sh, 0x2000, false, false, 0x181, &q), SHADOW_MAPPED);
	CHECK_EQ(ept_leaf(0x2000) & 7, 1);
	CHECK_EQ(shadow_fault(&part, &sh, 0x2000, false, true, 0x184, &q), SHADOW_DENIED);
	part.vtl_prot = NULL;
	free(pool_mem);
	pool_mem = NULL;
}

/* TLFS 15.11: an overlay of VTL 1 is not in VTL 0's view, so not in the
 * shadow of a VTL 0 L1's tables either: L2 reaches L1's RAM there. */
TEST(nested_shadow_overlay_per_vtl)
{
	u64 i1 = 0;
	setup_shadow(16);
	struct overlay o = { .gpa = PG(9), .hpa = 0xabc000, .acc = SLAT_RX, .active = true, .vtls = 2 };
	part.overlays[0] = &o;
	part.overlay_count = 1;
	gmem_overlays_changed(&part);
	sh.vtl = 0;
	CHECK_EQ(fault(0x7000, true, false, &i1), SHADOW_MAPPED);
	CHECK_EQ(leaf(0x7000) & SLAT_ADDR_MASK, PG(9));
	shadow_reset(&sh, PG(0), part.slat_gen);
	sh.vtl = 1;
	CHECK_EQ(fault(0x7000, false, false, &i1), SHADOW_MAPPED);
	CHECK_EQ(leaf(0x7000) & SLAT_ADDR_MASK, 0xabc000);
	part.overlay_count = 0;
	gmem_overlays_changed(&part);
	free(pool_mem);
	pool_mem = NULL;
}
