/* test_vsm_prot.c - VTL memory protections and secure memory intercepts
 * (vsm/prot.c, TLFS 15.5.1, 15.9, 15.13, 15.15.2) on the fake backend with
 * real second-level tables (arch/x86_64/slat.c in host memory): VTL 1's
 * view copied from VTL 0's, HvRegisterVsmPartitionConfig, every status of
 * HvModifyVtlProtectionMask, the per-view leaves (VTL 0 restricted, VTL 1
 * full, the hypervisor's memory unmapped in both), every VP flushed, and a
 * VTL 0 fault on a protected page becoming the GPA intercept message in
 * VTL 1's SINT0 slot with the switch to VTL 1. */
#include "htest.h"
#include "fakes.h"
#include "pool.h"
#include "module.h"
#include "msr.h"
#include "npf.h"
#include "overlay.h"
#include "gmem.h"
#include "synic_ctx.h"
#include "synic.h"
#include "vsm.h"
#include "walk.h"
#include "tlfs.h"
#include "x86.h"
#include <string.h>

#define NVP 2
static struct partition part;
static struct vp vps[NVP];
static struct fake_be_state bes[NVP];
static u8 pool_mem[256 * 4096] __attribute__((aligned(4096)));
static struct pool pool;
static struct backend be;
static u8 tables[64][4096] __attribute__((aligned(4096)));
static int tables_used, views_set, flushes;
static const struct mem_range ranges[] = {
	{ FAKE_RAM_BASE, FAKE_RAM_SIZE, MEM_RAM, 0 },
	{ 0x200000, 0x100000, MEM_HV, 0 },
};
#define IN_GPA (FAKE_RAM_BASE)
#define OUT_GPA (FAKE_RAM_BASE + 0x1000)
#define IN ((u8 *)fake_ram)
#define OUT ((u64 *)(fake_ram + 0x1000))
#define PAGE_GPA (FAKE_RAM_BASE + 0x8000)
#define PROT_GPA (FAKE_RAM_BASE + 0x5000)
#define CFG_ENABLE_ALL (1ull | (0xfull << 1))

static void *alloc(void *ctx)
{
	if (tables_used == 64)
		return NULL;
	memset(tables[tables_used], 0, 4096);
	return tables[tables_used++];
}
static int view_set(struct vp *v, struct slat *s, u64 gpa, u64 hpa, enum slat_access acc)
{
	views_set++;
	return slat_set_access(s, gpa, hpa, acc);
}
static int set_page(struct vp *v, u64 gpa, u64 hpa, enum slat_access acc)
{
	return slat_set_access(v->cur->slat, gpa, hpa, acc);
}
static void flush(struct vp *v) { flushes++; }

static u64 call_on(struct vp *vp, u64 input)
{
	vp->gpr[GPR_RCX] = input;
	vp->gpr[GPR_RDX] = IN_GPA;
	vp->gpr[GPR_R8] = OUT_GPA;
	((struct fake_be_state *)vp->be)->injected_vector = -1;
	hv_handle_hypercall(vp, NULL);
	return vp->gpr[GPR_RAX];
}
static u16 st(u64 r) { return (u16)r; }

static u64 set_reg(struct vp *vp, u32 name, u64 v)
{
	memset(IN, 0, 48);
	*(u64 *)IN = HV_PARTITION_ID_SELF;
	*(u32 *)(IN + 8) = HV_VP_INDEX_SELF;
	*(u32 *)(IN + 16) = name;
	*(u64 *)(IN + 32) = v;
	return call_on(vp, HVCALL_SET_VP_REGISTERS | (1ull << 32));
}

static u64 modify(struct vp *vp, u32 flags, u8 vtl, const u64 *pages, u32 n)
{
	memset(IN, 0, 16);
	*(u64 *)IN = HV_PARTITION_ID_SELF;
	*(u32 *)(IN + 8) = flags;
	IN[12] = vtl;
	for (u32 i = 0; i < n; i++)
		*(u64 *)(IN + 16 + 8 * i) = pages[i];
	return call_on(vp, HVCALL_MODIFY_VTL_PROTECTION_MASK | ((u64)n << 32));
}

/* The leaf flags of gpa's 4K page in view v (0: unmapped). */
static u64 leaf(int v, u64 gpa)
{
	u64 t = part.slat[v].root;
	for (int l = 3; l >= 0; l--) {
		u64 e = ((u64 *)(uintptr_t)t)[(gpa >> (12 + 9 * l)) & 511];
		if (!(e & 1))
			return 0;
		if (l == 0 || (e & (1ull << 7)))
			return e & ~SLAT_ADDR_MASK;
		t = e & SLAT_ADDR_MASK;
	}
	return 0;
}

static bool with_mbec; /* the backend has MBEC, VTL 1 enabled with EnableMbec, EPT views */
static bool mbec_yes(void) { return true; }

/* Two VPs, VTL 1 enabled for the partition and on VP 0, which runs it. */
static void setup(void)
{
	static const struct seg_state cs64 = { 0x38, 0xa09b, 0xffffffff, 0 };
	static const struct seg_state ds64 = { 0x30, 0xc093, 0xffffffff, 0 };
	fake_smp_partition(&part, vps, bes, NVP);
	be = fake_backend;
	be.slat_view_set_page = view_set;
	be.slat_set_page = set_page;
	be.slat_flush = flush;
	if (with_mbec)
		be.mbec = mbec_yes;
	part.be = &be;
	part.ranges = ranges;
	part.range_count = 2;
	part.privileges |= HV_ACCESS_SYNIC_REGS;
	tables_used = views_set = flushes = 0;
	fake_ctx_created = 0;
	fake_ctx_fail = 0;
	for (int i = 0; i < NVP; i++) {
		bes[i].regs[GREG_EFER] = EFER_LMA | EFER_LME;
		bes[i].regs[GREG_CR0] = CR0_PE | CR0_PG;
		bes[i].regs[GREG_CR4] = CR4_PAE;
	}
	CHECK_EQ(slat_init(&part.slat[0], with_mbec ? &slat_fmt_ept : &slat_fmt_npt, alloc, NULL), 0);
	CHECK_EQ(slat_identity_with_hole(&part.slat[0], 0, 0x400000, 0x200000, 0x300000), 0);
	pool_init(&pool, (u64)(uintptr_t)pool_mem, sizeof(pool_mem), 0);
	CHECK_EQ(registry_partition_init(&part, &pool), 0);
	for (int v = 0; v < 2; v++) {
		part.vtl[v].guest_os_id = 0x8100000000000000ull;
		part.vtl[v].hypercall_msr = PAGE_GPA | HV_HYPERCALL_ENABLE;
	}
	memset(fake_ram, 0, sizeof(fake_ram));
	/* HvEnablePartitionVtl, HvEnableVpVtl (VP 0, 64-bit context). */
	*(u64 *)IN = HV_PARTITION_ID_SELF;
	IN[8] = 1;
	IN[9] = with_mbec; /* EnableMbec */
	CHECK_EQ(st(call_on(&vps[0], HVCALL_ENABLE_PARTITION_VTL)), 0);
	u8 *x = IN + 16;
	memset(IN, 0, 240);
	*(u64 *)IN = HV_PARTITION_ID_SELF;
	IN[12] = 1;
	*(u64 *)(x + 0) = 0x5000;
	*(u64 *)(x + 16) = 2;
	for (int i = 0; i < 8; i++) {
		struct seg_state s = i == 0 ? cs64 : i >= 6 ? (struct seg_state){ 0, 0, 0, 0 } : ds64;
		*(u32 *)(x + 32 + 16 * i) = s.limit;
		*(u16 *)(x + 36 + 16 * i) = s.sel;
		*(u16 *)(x + 38 + 16 * i) = s.attr;
	}
	*(u64 *)(x + 184) = EFER_LMA | EFER_LME;
	*(u64 *)(x + 192) = CR0_PE | CR0_PG;
	*(u64 *)(x + 208) = CR4_PAE;
	*(u64 *)(x + 216) = 0x0007040600070406ull;
	CHECK_EQ(st(call_on(&vps[0], HVCALL_ENABLE_VP_VTL)), 0);
}

TEST(vsm_prot_views)
{
	setup();
	/* VTL 1's own tables, a copy: the same leaves, its own pages. */
	CHECK(part.slat[1].root && part.slat[1].root != part.slat[0].root);
	CHECK(vps[0].ctx[1].slat == &part.slat[1]);
	CHECK(vps[0].ctx[0].slat == &part.slat[0]);
	CHECK_EQ(leaf(1, PROT_GPA), leaf(0, PROT_GPA));
	CHECK_EQ(leaf(1, 0x200000), 0); /* the hypervisor: in neither */
	CHECK_EQ(leaf(0, 0x200000), 0);
}

/* TLFS 15.11: overlays are per VTL. VTL 1's page shows in VTL 1's view
 * only, VTL 0's in VTL 0's; each sees its RAM under the other's. */
static u8 ov_pages[2][4096] __attribute__((aligned(4096)));
static u64 leaf_pa(int v, u64 gpa)
{
	u64 t = part.slat[v].root;
	for (int l = 3; l >= 0; l--) {
		u64 e = ((u64 *)(uintptr_t)t)[(gpa >> (12 + 9 * l)) & 511];
		if (!(e & 1))
			return 0;
		if (l == 0 || (e & (1ull << 7)))
			return (e & SLAT_ADDR_MASK) + (l ? (gpa & ((1ull << (12 + 9 * l)) - 1) & ~0xfffull) : 0);
		t = e & SLAT_ADDR_MASK;
	}
	return 0;
}
TEST(vsm_overlays_per_vtl)
{
	setup();
	struct vp *vp = &vps[0];
	static struct overlay o1, o0;
	o1 = (struct overlay){ 0, (u64)(uintptr_t)ov_pages[1], SLAT_RWX, false, "v1", 2 };
	o0 = (struct overlay){ 0, (u64)(uintptr_t)ov_pages[0], SLAT_RX, false, "v0", 1 };
	CHECK_EQ(overlay_register(&part, &o1), 0);
	CHECK_EQ(overlay_register(&part, &o0), 0);
	CHECK_EQ(overlay_enable(vp, &o1, PAGE_GPA), 0);
	CHECK_EQ(leaf_pa(1, PAGE_GPA), (u64)(uintptr_t)ov_pages[1]);
	CHECK_EQ(leaf_pa(0, PAGE_GPA), PAGE_GPA); /* VTL 0: its RAM */
	CHECK(leaf(0, PAGE_GPA) & 2);
	CHECK(gmem_overlay_vtl(&part, PAGE_GPA, 1) == &o1);
	CHECK(gmem_overlay_vtl(&part, PAGE_GPA, 0) == NULL);
	/* VTL 0's on the same page: each view its own. */
	CHECK_EQ(overlay_enable(vp, &o0, PAGE_GPA), 0);
	CHECK_EQ(leaf_pa(0, PAGE_GPA), (u64)(uintptr_t)ov_pages[0]);
	CHECK(!(leaf(0, PAGE_GPA) & 2));
	CHECK_EQ(leaf_pa(1, PAGE_GPA), (u64)(uintptr_t)ov_pages[1]);
	/* Off again: RAM in both. */
	CHECK_EQ(overlay_disable(vp, &o1), 0);
	CHECK_EQ(overlay_disable(vp, &o0), 0);
	CHECK_EQ(leaf_pa(1, PAGE_GPA), PAGE_GPA);
	CHECK_EQ(leaf_pa(0, PAGE_GPA), PAGE_GPA);
	part.overlay_count -= 2;
}

TEST(vsm_prot_config_and_statuses)
{
	struct vp *vp = &vps[0];
	u64 pg = PROT_GPA >> 12;
	setup();
	CHECK_EQ(st(modify(vp, 1, 0x10, &pg, 1)), HV_STATUS_ACCESS_DENIED); /* from VTL 0 */
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_PARTITION_CONFIG, CFG_ENABLE_ALL)),
		 HV_STATUS_INVALID_PARAMETER); /* VTL 0 has none */
	vsm_switch(vp, 1, VSM_ENTRY_VTL_CALL, false);
	CHECK_EQ(st(modify(vp, 1, 0x10, &pg, 1)), HV_STATUS_INVALID_VTL_STATE); /* not enabled */
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_PARTITION_CONFIG, 1 | (1ull << 1))),
		 HV_STATUS_INVALID_PARAMETER); /* a restrictive default */
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_PARTITION_CONFIG, CFG_ENABLE_ALL | (1ull << 7))),
		 HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_PARTITION_CONFIG, CFG_ENABLE_ALL)), 0);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_PARTITION_CONFIG, 0)), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(st(modify(vp, 1 | 0x100, 0x10, &pg, 1)), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(st(modify(vp, 2, 0x10, &pg, 1)), HV_STATUS_INVALID_PARAMETER); /* W without R */
	CHECK_EQ(st(modify(vp, 1, 0x11, &pg, 1)), HV_STATUS_INVALID_PARAMETER); /* itself */
	CHECK_EQ(st(modify(vp, 1, 0x00, &pg, 1)), HV_STATUS_INVALID_PARAMETER);
	u64 bad[3] = { pg, 1ull << 40, 0x200 }; /* beyond 36 bits; the hypervisor's memory */
	u64 r = modify(vp, 1, 0x10, bad, 2);
	CHECK_EQ(st(r), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ((r >> 32) & 0xfff, 1); /* the first took effect */
	CHECK_EQ(st(modify(vp, 1, 0x10, &bad[2], 1)), HV_STATUS_INVALID_PARAMETER);
	u64 mmio = 0x380; /* above the RAM range: not RAM */
	CHECK_EQ(st(modify(vp, 1, 0x10, &mmio, 1)), HV_STATUS_INVALID_PARAMETER);
	/* The first element of the failed call: read-only for VTL 0. */
	CHECK(leaf(0, PROT_GPA) & 1);
	CHECK(!(leaf(0, PROT_GPA) & 2));
	CHECK(leaf(1, PROT_GPA) & 2);
}

static u32 view_flushes;
static void count_view_flush(struct vp *t) { view_flushes++; }

TEST(vsm_prot_leaves_and_flush)
{
	struct vp *vp = &vps[0];
	u64 pg = PROT_GPA >> 12;
	setup();
	vsm_switch(vp, 1, VSM_ENTRY_VTL_CALL, false);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_PARTITION_CONFIG, CFG_ENABLE_ALL)), 0);
	flushes = 0;
	view_flushes = 0;
	vp->part->view_flush = count_view_flush; /* nested/'s shadow drop */
	u32 gen = vp->part->slat_gen;
	CHECK_EQ(st(modify(vp, 1 | 2, 0x10, &pg, 1)), 0); /* RW, no execute */
	CHECK_EQ(flushes, 1);                           /* VP 1, through its mailbox */
	CHECK(vp->part->slat_gen != gen);               /* shadows built before are stale */
	CHECK_EQ(view_flushes, 2);                      /* the caller's and VP 1's, before return */
	vp->part->view_flush = NULL;
	CHECK_EQ(leaf(0, PROT_GPA) & (3 | (1ull << 63)), 3 | (1ull << 63)); /* NX */
	CHECK_EQ(leaf(1, PROT_GPA) & (1ull << 63), 0);
	CHECK_EQ(st(modify(vp, 0, 0x10, &pg, 1)), 0); /* no access */
	CHECK_EQ(leaf(0, PROT_GPA), 0);
	CHECK(leaf(1, PROT_GPA) & 2);
	CHECK_EQ(st(modify(vp, 15, 0x10, &pg, 1)), 0); /* back to full */
	CHECK_EQ(leaf(0, PROT_GPA), leaf(1, PROT_GPA));
	/* EPT: execute-only has a leaf (X, no R/W); NPT has none. */
	CHECK_EQ(slat_leaf_flags(&slat_fmt_ept, SLAT_X) & 7, 4);
	CHECK_EQ(slat_leaf_flags(&slat_fmt_npt, SLAT_X), 0);
	CHECK_EQ(slat_leaf_flags(&slat_fmt_ept, SLAT_R) & 7, 1);
	CHECK_EQ(slat_acc_min(SLAT_RX, SLAT_RW), SLAT_R);
}

TEST(vsm_prot_intercept)
{
	struct vp *vp = &vps[0];
	u64 pg = PROT_GPA >> 12;
	setup();
	vsm_switch(vp, 1, VSM_ENTRY_VTL_CALL, false);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_PARTITION_CONFIG, CFG_ENABLE_ALL)), 0);
	CHECK_EQ(st(modify(vp, 1, 0x10, &pg, 1)), 0); /* read-only */
	/* VTL 1's SynIC on, its SIMP page enabled (its MSR writes). */
	struct hv_exit m = { .reason = HV_EXIT_MSR_WRITE };
	m.u.msr.index = 0x40000083u;
	m.u.msr.value = (FAKE_RAM_BASE + 0x9000) | 1;
	CHECK_EQ(hv_handle_msr_write(vp, &m), HV_ACT_ADVANCE);
	m.u.msr.index = 0x40000080u;
	m.u.msr.value = 1;
	CHECK_EQ(hv_handle_msr_write(vp, &m), HV_ACT_ADVANCE);
	vsm_switch(vp, 0, 0, true);
	struct fake_be_state *b0 = vp->cur->be;
	b0->regs[GREG_RIP] = 0x401234;
	struct hv_exit e = { .reason = HV_EXIT_NPF };
	e.u.npf.gpa = PROT_GPA + 0x18;
	e.u.npf.read = true;
	/* A page without a protection: not an intercept (npf.c's to take). */
	bool (*fault)(struct vp *, struct hv_exit *, enum hv_action *) = part.vtl_fault;
	enum hv_action a = HV_ACT_FATAL;
	e.u.npf.gpa = PROT_GPA + 0x1018;
	CHECK(!fault(vp, &e, &a));
	/* ... but a present fault there: a protection relaxed meanwhile (by
	 * another VP): the instruction runs again. */
	e.u.npf.present = true;
	e.u.npf.write = true;
	CHECK(fault(vp, &e, &a));
	CHECK_EQ(a, HV_ACT_RESUME);
	CHECK(vp->cur == &vp->ctx[0]);
	e.u.npf.present = false;
	e.u.npf.write = false;
	e.u.npf.gpa = PROT_GPA + 0x18;
	/* A write: VTL 1 entered with reason Intercept, VTL 0 not advanced. */
	e.u.npf.read = false;
	e.u.npf.write = true;
	e.u.npf.present = true;
	struct synic_ctx *s1 = vp->ctx[1].synic;
	CHECK(s1 != NULL);
	int adv = b0->advanced;
	CHECK(fault(vp, &e, &a));
	CHECK_EQ(a, HV_ACT_RESUME);
	CHECK(vp->cur == &vp->ctx[1]);
	CHECK_EQ(vsm_active_vtl(vp), 1);
	CHECK_EQ(b0->advanced, adv);
	/* The message in SINT0's slot (TLFS 11.10.2, 13.2): type, size, the
	 * access type (write), the GPA, the RIP; VTL 0's own SynIC has none. */
	const volatile u8 *slot = (const volatile u8 *)s1->msg;
	CHECK(slot != NULL);
	CHECK_EQ(*(const volatile u32 *)slot, HV_MESSAGE_GPA_INTERCEPT);
	CHECK_EQ(slot[4], VSM_GPA_INTERCEPT_BYTES);
	CHECK_EQ(slot[16 + 5], 1);
	CHECK_EQ(*(const volatile u64 *)(slot + 16 + 56), PROT_GPA + 0x18);
	CHECK_EQ(*(const volatile u64 *)(slot + 16 + 24), 0x401234);
	CHECK_EQ(*(const volatile u16 *)(slot + 16 + 6) & 0x14, 0x14); /* PE, LMA */
	/* From VTL 1 the same fault is not VTL 0's: no intercept. */
	CHECK(!fault(vp, &e, &a));
	/* TLFS 11.10.3: VTL 1 returns without reading it, VTL 0 faults again
	 * (another address): the slot is busy, so the old message stays with
	 * MessagePending, VTL 1 is entered, and the new one is delivered
	 * only when the slot is free and EOM written, once. */
	if (!vp->ctx[0].synic) /* VTL 0's SynIC holds the VP's EOM requests */
		CHECK_EQ(synic_vtl_create(vp, 0, &pool), 0);
	vsm_switch(vp, 0, 0, true);
	e.u.npf.gpa = PROT_GPA + 0x20;
	CHECK(fault(vp, &e, &a));
	CHECK(vp->cur == &vp->ctx[1]);
	CHECK_EQ(*(const volatile u64 *)(slot + 16 + 56), PROT_GPA + 0x18);
	CHECK_EQ(slot[5], HV_MESSAGE_FLAG_PENDING);
	m.u.msr.index = HV_X64_MSR_EOM;
	m.u.msr.value = 0;
	CHECK_EQ(hv_handle_msr_write(vp, &m), HV_ACT_ADVANCE); /* EOM, slot still full */
	registry_entry_work(vp);
	CHECK_EQ(*(const volatile u64 *)(slot + 16 + 56), PROT_GPA + 0x18);
	CHECK_EQ(slot[5], HV_MESSAGE_FLAG_PENDING);
	*(volatile u32 *)slot = 0; /* freed, no EOM yet: nothing */
	registry_entry_work(vp);
	CHECK_EQ(*(const volatile u32 *)slot, 0);
	CHECK_EQ(hv_handle_msr_write(vp, &m), HV_ACT_ADVANCE);
	registry_entry_work(vp);
	CHECK_EQ(*(const volatile u32 *)slot, HV_MESSAGE_GPA_INTERCEPT);
	CHECK_EQ(*(const volatile u64 *)(slot + 16 + 56), PROT_GPA + 0x20);
	CHECK_EQ(slot[5], 0);
	*(volatile u32 *)slot = 0; /* delivered once */
	CHECK_EQ(hv_handle_msr_write(vp, &m), HV_ACT_ADVANCE);
	registry_entry_work(vp);
	CHECK_EQ(*(const volatile u32 *)slot, 0);
	/* A VP without VTL 1: #GP instead. */
	vps[1].gpr[GPR_RAX] = 0;
	struct fake_be_state *b1 = vps[1].cur->be;
	b1->injected_vector = -1;
	CHECK(fault(&vps[1], &e, &a));
	CHECK_EQ(a, HV_ACT_INJECTED);
	CHECK_EQ(b1->injected_vector, 13);
}

/* TLFS 9.4.6, 15.9: the hypervisor's page walk for a VTL (HvTranslate-
 * VirtualAddress) reads and sets A/D bits in table pages only as that VTL
 * may: GpaNoReadAccess, GpaNoWriteAccess with the table page; VTL 1 and
 * the hypervisor's own walks are not restricted. */
TEST(vsm_prot_walk)
{
	struct vp *vp = &vps[0];
	setup();
	const u64 t0 = FAKE_RAM_BASE + 0xA000; /* PML4, PDPT, PD, PT, data page */
	for (int i = 0; i < 4; i++)
		*(u64 *)(fake_ram + 0xA000 + 0x1000 * i) = (t0 + 0x1000 * (i + 1)) | 7; /* P, RW, US; A clear */
	struct xlate_state xs = { CR0_PG | CR0_PE, t0, CR4_PAE, EFER_LMA | EFER_LME, 0, 2, 0, true, 1 };
	struct xlate_out o;
	CHECK_EQ(walk_gva(&part, &xs, 0, HV_TRANSLATE_GVA_VALIDATE_READ, &o), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(o.gpa_page, (t0 + 0x4000) >> 12);
	vsm_switch(vp, 1, VSM_ENTRY_VTL_CALL, false);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_PARTITION_CONFIG, CFG_ENABLE_ALL)), 0);
	u64 pt = (t0 + 0x3000) >> 12;
	CHECK_EQ(st(modify(vp, 0, 0x10, &pt, 1)), 0); /* the PT page: no access for VTL 0 */
	CHECK_EQ(walk_gva(&part, &xs, 0, HV_TRANSLATE_GVA_VALIDATE_READ, &o),
		 HV_TRANSLATE_GVA_GPA_NO_READ_ACCESS);
	CHECK_EQ(o.gpa_page, pt);
	xs.prot_vtl1 = 2; /* VTL 1 may read it */
	CHECK_EQ(walk_gva(&part, &xs, 0, HV_TRANSLATE_GVA_VALIDATE_READ, &o), HV_TRANSLATE_GVA_SUCCESS);
	xs.prot_vtl1 = 0; /* the hypervisor's own walk */
	CHECK_EQ(walk_gva(&part, &xs, 0, HV_TRANSLATE_GVA_VALIDATE_READ, &o), HV_TRANSLATE_GVA_SUCCESS);
	xs.prot_vtl1 = 1;
	CHECK_EQ(st(modify(vp, 1 | 4, 0x10, &pt, 1)), 0); /* read-only */
	CHECK_EQ(walk_gva(&part, &xs, 0, HV_TRANSLATE_GVA_VALIDATE_READ, &o), HV_TRANSLATE_GVA_SUCCESS);
	/* A/D bits: the levels above are writable and get A; the PT's entry not. */
	CHECK_EQ(walk_gva(&part, &xs, 0, HV_TRANSLATE_GVA_VALIDATE_READ | HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS, &o),
		 HV_TRANSLATE_GVA_GPA_NO_WRITE_ACCESS);
	CHECK_EQ(o.gpa_page, pt);
	CHECK_EQ(*(u64 *)(fake_ram + 0xC000) & 0x20, 0x20); /* PD entry: A set */
	CHECK_EQ(*(u64 *)(fake_ram + 0xD000) & 0x20, 0);    /* PT entry untouched */
	CHECK_EQ(st(modify(vp, 15, 0x10, &pt, 1)), 0);
	CHECK_EQ(walk_gva(&part, &xs, 0, HV_TRANSLATE_GVA_VALIDATE_READ | HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS, &o),
		 HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(*(u64 *)(fake_ram + 0xD000) & 0x20, 0x20);
}

/* TLFS 15.13.4: HvX64RegisterCrInterceptControl (VTL 1's) asks for the
 * MSR write exits in VTL 0's context; an intercepted write of VTL 0 goes
 * to VTL 1 as the MSR or register intercept message; the rest completes. */
static void cr_write_stub(struct vp *v, int cr, u64 val) {}
static u64 guards[2];
static void cr_guard_rec(struct vp *v, int cr, u64 mask) { guards[cr ? 1 : 0] = mask; }

TEST(vsm_register_intercepts)
{
	struct vp *vp = &vps[0];
	setup();
	be.cr_write = cr_write_stub;
	be.cr_guard = cr_guard_rec;
	CHECK_EQ(st(set_reg(vp, 0xE0000u, 1ull << 6)), HV_STATUS_INVALID_PARAMETER); /* VTL 0 */
	vsm_switch(vp, 1, VSM_ENTRY_VTL_CALL, false);
	struct hv_exit m = { .reason = HV_EXIT_MSR_WRITE };
	m.u.msr.index = 0x40000083u;
	m.u.msr.value = (FAKE_RAM_BASE + 0x9000) | 1;
	CHECK_EQ(hv_handle_msr_write(vp, &m), HV_ACT_ADVANCE);
	m.u.msr.index = 0x40000080u;
	m.u.msr.value = 1;
	CHECK_EQ(hv_handle_msr_write(vp, &m), HV_ACT_ADVANCE);
	CHECK_EQ(st(set_reg(vp, 0xE0000u, 1ull << 3)), HV_STATUS_INVALID_PARAMETER); /* not offered */
	bes[0].msr_icpt_count = 0;
	CHECK_EQ(st(set_reg(vp, 0xE0001u, CR0_AM)), 0);
	CHECK_EQ(st(set_reg(vp, 0xE0000u, 1 | (1ull << 6))), 0); /* Cr0Write, MsrLstarWrite */
	CHECK(vp->cur == &vp->ctx[1]);
	/* VTL 0's context got the LSTAR write exit, and the CR0 guard. */
	CHECK_EQ(bes[0].msr_icpt_count, 1);
	CHECK_EQ(bes[0].msr_icpt[0].index, 0xc0000082u);
	CHECK(bes[0].msr_icpt[0].on);
	CHECK_EQ(guards[0], CR0_AM);
	CHECK_EQ(guards[1], 0);
	vsm_switch(vp, 0, 0, true);
	struct synic_ctx *s1 = vp->ctx[1].synic;
	const volatile u8 *slot = (const volatile u8 *)s1->msg;
	/* LSTAR written by VTL 0: VTL 1 entered, the message in the slot. */
	m.u.msr.index = 0xc0000082u;
	m.u.msr.value = 0x1234567800000abcull;
	CHECK_EQ(hv_handle_msr_write(vp, &m), HV_ACT_RESUME);
	CHECK(vp->cur == &vp->ctx[1]);
	CHECK_EQ(*(const volatile u32 *)slot, 0x80010001u);
	CHECK_EQ(*(const volatile u32 *)(slot + 16 + 40), 0xc0000082u);
	CHECK_EQ(*(const volatile u64 *)(slot + 16 + 48), 0x12345678);
	CHECK_EQ(*(const volatile u64 *)(slot + 16 + 56), 0xabc);
	CHECK_EQ(slot[16 + 4] & 0xf, 2);
	*(volatile u32 *)slot = 0; /* VTL 1 frees the slot */
	vsm_switch(vp, 0, 0, true);
	/* CR0: a change of AM is intercepted, one of TS is not. */
	enum hv_action a = HV_ACT_FATAL;
	CHECK(!part.vtl_write_icpt(vp, 0, 0, CR0_PE | CR0_PG, CR0_PE | CR0_PG | CR0_TS, 3, &a));
	CHECK(part.vtl_write_icpt(vp, 0, 0, CR0_PE | CR0_PG, CR0_PE | CR0_PG | CR0_AM, 3, &a));
	CHECK_EQ(a, HV_ACT_RESUME);
	CHECK(vp->cur == &vp->ctx[1]);
	CHECK_EQ(*(const volatile u32 *)slot, 0x80010006u);
	CHECK_EQ(*(const volatile u32 *)(slot + 16 + 44), 0x40000u);
	CHECK_EQ(*(const volatile u64 *)(slot + 16 + 48), CR0_PE | CR0_PG | CR0_AM);
	/* CR4 is not asked for; from VTL 1 nothing is intercepted. */
	CHECK(!part.vtl_write_icpt(vp, 0, 0, 0, CR0_AM, 3, &a));
	vsm_switch(vp, 0, 0, true);
	CHECK(!part.vtl_write_icpt(vp, 0, 4, 0, 4, 3, &a));
	/* Off again: the exit dropped. */
	vsm_switch(vp, 1, VSM_ENTRY_VTL_CALL, false);
	CHECK_EQ(st(set_reg(vp, 0xE0000u, 0)), 0);
	CHECK(!bes[0].msr_icpt[bes[0].msr_icpt_count - 1].on);
	CHECK_EQ(guards[0], 0);
}

static u64 get_reg(struct vp *vp, u32 name)
{
	memset(IN, 0, 32);
	*(u64 *)IN = HV_PARTITION_ID_SELF;
	*(u32 *)(IN + 8) = HV_VP_INDEX_SELF;
	*(u32 *)(IN + 16) = name;
	OUT[0] = 0xdead;
	CHECK_EQ(st(call_on(vp, HVCALL_GET_VP_REGISTERS | (1ull << 32))), 0);
	return OUT[0];
}

static u16 get_reg_st(struct vp *vp, u32 name)
{
	memset(IN, 0, 32);
	*(u64 *)IN = HV_PARTITION_ID_SELF;
	*(u32 *)(IN + 8) = HV_VP_INDEX_SELF;
	*(u32 *)(IN + 16) = name;
	return st(call_on(vp, HVCALL_GET_VP_REGISTERS | (1ull << 32)));
}

/* The backend's per-context MBEC switch (HvRegisterVsmVpSecureConfigVtl0). */
static int mbec_calls, mbec_on, mbec_vtl;
static void mbec_ctl_rec(struct vp *v, bool on)
{
	mbec_calls++;
	mbec_on = on;
	mbec_vtl = v->cur->vtl;
}

/* A fetch fault of VTL 0 at gpa with CPL cpl: intercepted? The access
 * type and CPL of the message in *type and *state. */
static bool exec_fault(struct vp *vp, u64 gpa, u64 cpl, u8 *type, u16 *state)
{
	struct fake_be_state *b0 = vp->ctx[0].be;
	b0->regs[GREG_CPL] = cpl;
	struct hv_exit e = { .reason = HV_EXIT_NPF };
	e.u.npf.gpa = gpa;
	e.u.npf.exec = true;
	e.u.npf.present = true;
	enum hv_action a = HV_ACT_FATAL;
	const volatile u8 *slot = (const volatile u8 *)vp->ctx[1].synic->msg;
	*(volatile u32 *)slot = 0;
	bool r = part.vtl_fault(vp, &e, &a);
	*type = slot[16 + 5];
	*state = *(const volatile u16 *)(slot + 16 + 6);
	if (r) {
		CHECK_EQ(a, HV_ACT_RESUME);
		CHECK(vp->cur == &vp->ctx[1]);
		CHECK_EQ(*(const volatile u32 *)slot, HV_MESSAGE_GPA_INTERCEPT);
		vsm_switch(vp, 0, 0, true);
	}
	return r;
}

static void synic1_on(struct vp *vp)
{
	struct hv_exit m = { .reason = HV_EXIT_MSR_WRITE };
	m.u.msr.index = 0x40000083u;
	m.u.msr.value = (FAKE_RAM_BASE + 0x9000) | 1;
	CHECK_EQ(hv_handle_msr_write(vp, &m), HV_ACT_ADVANCE);
	m.u.msr.index = 0x40000080u;
	m.u.msr.value = 1;
	CHECK_EQ(hv_handle_msr_write(vp, &m), HV_ACT_ADVANCE);
}

/* TLFS 15.10: without MBEC UserExecutable is ignored (kernel execute
 * governs both); MbecVtlMask 0, EnableMbec refused. */
TEST(vsm_mbec_absent)
{
	struct vp *vp = &vps[0];
	u64 pg = PROT_GPA >> 12;
	with_mbec = false;
	setup();
	CHECK_EQ(get_reg(vp, HV_REGISTER_VSM_CAPABILITIES) >> 47 & 0xffff, 0);
	CHECK_EQ(get_reg(vp, HV_REGISTER_VSM_PARTITION_STATUS) >> 20 & 0xffff, 0);
	vsm_switch(vp, 1, VSM_ENTRY_VTL_CALL, false);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_PARTITION_CONFIG, CFG_ENABLE_ALL)), 0);
	CHECK_EQ(st(modify(vp, 1 | 2 | 4, 0x10, &pg, 1)), 0); /* KX only: executable */
	CHECK_EQ(leaf(0, PROT_GPA) & (1ull << 63), 0);
	CHECK_EQ(st(modify(vp, 1 | 2 | 8, 0x10, &pg, 1)), 0); /* UX only: ignored, no execute */
	CHECK(leaf(0, PROT_GPA) & (1ull << 63));
	/* HvRegisterVsmVpSecureConfigVtl0 (TLFS 15.5.2): no MbecEnabled
	 * without MBEC for the partition; TlbLocked and reserved bits not
	 * taken; 0 is. */
	CHECK_EQ(get_reg(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0), 0);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0, 1)), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0, 2)), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0, 1ull << 40)),
		 HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0, 0)), 0);
	CHECK_EQ(get_reg(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0), 0);
	CHECK_EQ(get_reg_st(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0 + 1), HV_STATUS_INVALID_PARAMETER);
	synic1_on(vp);
	vsm_switch(vp, 0, 0, true);
	u8 type = 0xff;
	u16 state = 0;
	CHECK(exec_fault(vp, PROT_GPA, 3, &type, &state));
	CHECK_EQ(type, 2);
	CHECK_EQ(state & 3, 3);
}

/* TLFS 15.10 with MBEC (VMX's mode-based execute control, EPT bit 2
 * supervisor, bit 10 user execute): the rights apart in VTL 0's view; a
 * fetch the CPL's right denies is an execute intercept. */
TEST(vsm_mbec_split)
{
	struct vp *vp = &vps[0];
	u64 pg = PROT_GPA >> 12, pg2 = pg + 1;
	with_mbec = true;
	setup();
	with_mbec = false;
	CHECK_EQ(get_reg(vp, HV_REGISTER_VSM_CAPABILITIES) >> 47 & 0xffff, 2); /* VTL 1 */
	CHECK_EQ(get_reg(vp, HV_REGISTER_VSM_PARTITION_STATUS) >> 20 & 0xffff, 2);
	vsm_switch(vp, 1, VSM_ENTRY_VTL_CALL, false);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_PARTITION_CONFIG, CFG_ENABLE_ALL)), 0);
	CHECK_EQ(leaf(0, PROT_GPA) & 0x407, 0x407);
	CHECK_EQ(st(modify(vp, 1 | 2 | 4, 0x10, &pg, 1)), 0);  /* KMX only */
	CHECK_EQ(leaf(0, PROT_GPA) & 0x407, 0x007);
	CHECK_EQ(st(modify(vp, 1 | 2 | 8, 0x10, &pg2, 1)), 0); /* UMX only */
	CHECK_EQ(leaf(0, PROT_GPA + 0x1000) & 0x407, 0x403);
	CHECK_EQ(leaf(1, PROT_GPA) & 0x407, 0x407); /* VTL 1's view untouched */
	/* Every table entry on the way keeps bit 10 (SDM 29.3.3). */
	u64 t = part.slat[0].root;
	for (int l = 3; l > 0; l--) {
		u64 e = ((u64 *)(uintptr_t)t)[(PROT_GPA >> (12 + 9 * l)) & 511];
		CHECK(e & (1ull << 10));
		t = e & SLAT_ADDR_MASK;
	}
	synic1_on(vp);
	/* MBEC for this VP's VTL 0 (TLFS 15.10.2's second level): off by
	 * default, on through VTL 1's HvRegisterVsmVpSecureConfigVtl0, in
	 * VTL 0's context; TlbLocked and reserved bits refused. */
	be.mbec_ctl = mbec_ctl_rec;
	mbec_calls = 0;
	CHECK_EQ(get_reg(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0), 0);
	CHECK(!vsm_vp_mbec(vp));
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0, 3)), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0, 1ull << 2)),
		 HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(mbec_calls, 0);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0, 1)), 0);
	CHECK_EQ(mbec_calls, 1);
	CHECK_EQ(mbec_on, 1);
	CHECK_EQ(mbec_vtl, 0);
	CHECK(vp->cur == &vp->ctx[1]); /* VTL 1's context current again */
	CHECK_EQ(get_reg(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0), 1);
	CHECK_EQ(get_reg(vp, HV_REGISTER_VSM_VP_STATUS) & 0x1f, 1); /* VTL 1 active: no ActiveMbec */
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0, 1)), 0);
	CHECK_EQ(mbec_calls, 1); /* unchanged: no switch */
	CHECK(!vsm_vp_mbec(&vps[1])); /* per VP */
	vsm_switch(vp, 0, 0, true);
	CHECK(vsm_vp_mbec(vp));
	CHECK_EQ(get_reg(vp, HV_REGISTER_VSM_VP_STATUS) & 0x1f, 0x10); /* ActiveMbecEnabled */
	CHECK_EQ(get_reg_st(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0), HV_STATUS_INVALID_PARAMETER);
	u8 type = 0xff;
	u16 state = 0;
	CHECK(exec_fault(vp, PROT_GPA, 3, &type, &state)); /* user fetch, KMX page */
	CHECK_EQ(type, 2);
	CHECK_EQ(state & 3, 3);
	CHECK(exec_fault(vp, PROT_GPA + 0x1000, 0, &type, &state)); /* kernel fetch, UMX page */
	CHECK_EQ(type, 2);
	CHECK_EQ(state & 3, 0);
	/* Back to full access: both bits again. */
	vsm_switch(vp, 1, VSM_ENTRY_VTL_CALL, false);
	CHECK_EQ(st(modify(vp, 15, 0x10, &pg, 1)), 0);
	CHECK_EQ(leaf(0, PROT_GPA) & 0x407, 0x407);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0, 0)), 0);
	CHECK_EQ(mbec_calls, 2);
	CHECK_EQ(mbec_on, 0);
	CHECK(!vsm_vp_mbec(vp));
	be.mbec_ctl = NULL;
}

/* TLFS 15.9: VTL 0 cannot have the hypervisor read or write what VTL 1
 * denies it: a parameter page it may not read (input) or write (output)
 * is ACCESS_DENIED; VTL 1 itself is not restricted. */
static u64 get_vp_status_at(struct vp *vp, u64 in_gpa, u64 out_gpa)
{
	u8 *in = fake_ram + (in_gpa - FAKE_RAM_BASE);
	memset(in, 0, 32);
	*(u64 *)in = HV_PARTITION_ID_SELF;
	*(u32 *)(in + 8) = HV_VP_INDEX_SELF;
	*(u32 *)(in + 16) = HV_REGISTER_VSM_VP_STATUS;
	vp->gpr[GPR_RCX] = HVCALL_GET_VP_REGISTERS | (1ull << 32);
	vp->gpr[GPR_RDX] = in_gpa;
	vp->gpr[GPR_R8] = out_gpa;
	((struct fake_be_state *)vp->be)->injected_vector = -1;
	hv_handle_hypercall(vp, NULL);
	return vp->gpr[GPR_RAX];
}

TEST(vsm_prot_hypercall_params)
{
	struct vp *vp = &vps[0];
	u64 pg = PROT_GPA >> 12;
	with_mbec = false;
	setup();
	vsm_switch(vp, 1, VSM_ENTRY_VTL_CALL, false);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_PARTITION_CONFIG, CFG_ENABLE_ALL)), 0);
	CHECK_EQ(st(modify(vp, 1 | 4, 0x10, &pg, 1)), 0); /* read-only for VTL 0 */
	CHECK_EQ(st(get_vp_status_at(vp, IN_GPA, PROT_GPA)), 0); /* VTL 1: not restricted */
	vsm_switch(vp, 0, 0, true);
	*(volatile u64 *)(fake_ram + (PROT_GPA - FAKE_RAM_BASE)) = 0x1234;
	CHECK_EQ(st(get_vp_status_at(vp, IN_GPA, PROT_GPA)), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(*(volatile u64 *)(fake_ram + (PROT_GPA - FAKE_RAM_BASE)), 0x1234); /* not written */
	CHECK_EQ(st(get_vp_status_at(vp, PROT_GPA + 0x100, OUT_GPA)), 0); /* readable input */
	/* Bad alignment still comes first (TLFS 3.12.2 ordering as before). */
	CHECK_EQ(st(get_vp_status_at(vp, IN_GPA, PROT_GPA + 4)), HV_STATUS_INVALID_ALIGNMENT);
	vsm_switch(vp, 1, VSM_ENTRY_VTL_CALL, false);
	CHECK_EQ(st(modify(vp, 0, 0x10, &pg, 1)), 0); /* no access */
	vsm_switch(vp, 0, 0, true);
	CHECK_EQ(st(get_vp_status_at(vp, PROT_GPA + 0x100, OUT_GPA)), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(st(get_vp_status_at(vp, IN_GPA, OUT_GPA)), 0); /* other pages unaffected */
}

/* TLFS 15.13 with 15.12.2: a secure intercept while VTL 1's SINT0 is
 * unmasked. The switch comes first (VTL 1 entered for the intercept);
 * the SINT's vector is an interrupt for VTL 1 (synic/deliver.c), injected
 * into VTL 1 before its entry, never a fixed IPI through the shared APIC
 * into VTL 0. */
TEST(vsm_prot_intercept_sint_unmasked)
{
	struct vp *vp = &vps[0];
	u64 pg = PROT_GPA >> 12;
	setup();
	vsm_switch(vp, 1, VSM_ENTRY_VTL_CALL, false);
	CHECK_EQ(st(set_reg(vp, HV_REGISTER_VSM_PARTITION_CONFIG, CFG_ENABLE_ALL)), 0);
	CHECK_EQ(st(modify(vp, 1, 0x10, &pg, 1)), 0); /* read-only */
	struct hv_exit m = { .reason = HV_EXIT_MSR_WRITE };
	m.u.msr.index = 0x40000083u; /* SIMP */
	m.u.msr.value = (FAKE_RAM_BASE + 0x9000) | 1;
	CHECK_EQ(hv_handle_msr_write(vp, &m), HV_ACT_ADVANCE);
	m.u.msr.index = 0x40000080u; /* SCONTROL */
	m.u.msr.value = 1;
	CHECK_EQ(hv_handle_msr_write(vp, &m), HV_ACT_ADVANCE);
	m.u.msr.index = 0x40000090u; /* SINT0: vector 0xE3, unmasked */
	m.u.msr.value = 0xe3;
	CHECK_EQ(hv_handle_msr_write(vp, &m), HV_ACT_ADVANCE);
	vsm_switch(vp, 0, 0, true);
	struct fake_be_state *b1 = vp->ctx[1].be;
	b1->irq_window = false;
	b1->irq_vector = 0;
	fake_icr_count = 0;
	vp->entry_work = 0;
	struct hv_exit e = { .reason = HV_EXIT_NPF };
	e.u.npf.gpa = PROT_GPA + 0x18;
	e.u.npf.write = true;
	e.u.npf.present = true;
	enum hv_action a = HV_ACT_FATAL;
	CHECK(part.vtl_fault(vp, &e, &a));
	CHECK_EQ(a, HV_ACT_RESUME);
	CHECK(vp->cur == &vp->ctx[1]);
	CHECK_EQ(fake_icr_count, 0);
	CHECK(vp->entry_work != 0);
	registry_entry_work(vp);
	CHECK(vp->cur == &vp->ctx[1]);
	CHECK_EQ(b1->irq_vector, 0xe3);
	CHECK_EQ(fake_icr_count, 0);
}
