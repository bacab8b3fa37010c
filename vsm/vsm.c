/*
 * vsm.c - Virtual Secure Mode (TLFS 15): VTL 1 next to VTL 0, its
 * discovery registers, its enablement and the switches between the two.
 *
 * Context model (docs/vsm.md): each VTL of a VP is a context (struct
 * vp_ctx: the backend's control structure, the VP assist page); the
 * partition keeps per VTL what TLFS 15.11.1.1 makes private but is
 * partition-wide (struct partition_vtl: guest OS ID, hypercall MSR and
 * page, reference TSC MSR and page). The GPRs but RSP are shared (vp->gpr);
 * the backends' ctx_switch keeps CR2 and DR6 across a VTL switch and the
 * FPU/SSE/AVX state, XCR0 and DR0-DR3 never leave the CPU (TLFS 15.11.2.2);
 * it swaps TSC_AUX, which neither control structure holds (15.11.1).
 *
 * Switches happen on the VP's own processor: a VTL call or return
 * completes first in the VTL that made it (RIP past the VMCALL, TLFS
 * 15.7.1), then the other context is made current; an interrupt for VTL 1
 * switches before the VP's next entry (a module entry hook).
 *
 * Interrupts for VTL 1 (HvCallSendSyntheticClusterIpi with a target VTL,
 * and VTL 1's SynIC: its SINTs and direct-mode timers, synic/deliver.c;
 * TLFS 15.12.2) are injected into VTL 1's context, switching to it first.
 *
 * VTL 1's own second-level tables are made here (vsm_view_create); the
 * memory protections and secure intercepts are vsm/prot.c and
 * vsm/regicpt.c. Not here yet: a local APIC per VTL (15.12: the guest owns
 * the physical APIC, shared by both VTLs: its TPR, and interrupts through
 * it reach whichever VTL runs), TlbLocked (15.5.2.2), VINA,
 * DenyLowerVtlStartup.
 */
#include "vsm.h"
#include "backend.h"
#include "cpu_state.h"
#include "gmem.h"
#include "hw.h"
#include "hypercall.h"
#include "kick.h"
#include "log.h"
#include "module.h"
#include "overlay.h"
#include "pool.h"
#include "synic.h"
#include "tlfs.h"
#include "vpregs.h"
#include "x86.h"
#include "xcall.h"

#define HV_MAX_VPS 64

/* Per VP: the VTL it runs, its pending VTL 1 interrupts, VTL 1's
 * HvRegisterVsmVpSecureConfigVtl0. */
struct vsm_vp {
	u64 irq[4];  /* VTL 1 interrupt vectors pending (TLFS 15.12.2) */
	volatile u32 irq_any; /* irq[] may be non-zero */
	u8 active;   /* the VTL running */
	u64 secure_cfg; /* TLFS 15.5.2: MbecEnabled (bit 0) for VTL 0 */
	u64 switches;
};

static struct vsm_vp vsm_vps[HV_MAX_VPS];
static struct pool *vsm_pool;
static const struct hv_module hv_module_vsm;

static struct vsm_vp *vv(const struct vp *vp) { return &vsm_vps[vp->index % HV_MAX_VPS]; }

u8 vsm_active_vtl(const struct vp *vp) { return vv(vp)->active; }

bool vsm_vp_mbec(const struct vp *vp)
{
	return vp->part->vtl[1].mbec && (vv(vp)->secure_cfg & HV_VSM_VP_SECURE_MBEC);
}

static bool vsm_offered(const struct partition *p) { return p->privileges & HV_ACCESS_VSM; }

/* The VTL control area of ctx's VP assist page (TLFS 15.8.2), or NULL
 * when the page is not enabled. */
static void vsm_deliver(struct vp *vp);

static u8 *vtl_control(const struct vp_ctx *c)
{
	return (c->assist_msr & 1) && c->assist_page.hpa ? (u8 *)(uintptr_t)c->assist_page.hpa
							  : NULL;
}

/* The switch itself, inlined into the VTL call and return (their round
 * trip is two exits: docs/performance.md). */
static inline __attribute__((always_inline)) void switch_to(struct vp *vp, struct vsm_vp *v,
							     u8 from, u8 to, u32 reason,
							     bool fast)
{
	if (to < from && !fast) {
		const u8 *ctl = vtl_control(vp->cur);
		if (ctl) { /* TLFS 15.7.1.1: the lower VTL's RAX, RCX */
			vp->gpr[GPR_RAX] = *(const u64 *)(ctl + VSM_CTL_RETURN_RAX);
			vp->gpr[GPR_RCX] = *(const u64 *)(ctl + VSM_CTL_RETURN_RCX);
		}
	}
	vp->part->be->ctx_switch(vp, &vp->ctx[to]);
	if (to > from) {
		u8 *ctl = vtl_control(vp->cur);
		if (ctl)
			*(volatile u32 *)(ctl + VSM_CTL_ENTRY_REASON) = reason;
	}
	v->active = to;
	v->switches++;
}

void vsm_switch(struct vp *vp, u8 to, u32 reason, bool fast)
{
	u8 from = vp->cur->vtl;
	if (to != from)
		switch_to(vp, vv(vp), from, to, reason, fast);
}

/* ---- interrupts for VTL 1 (TLFS 15.12.2) ------------------------------- */

static int irq_highest(const struct vsm_vp *v)
{
	for (int w = 3; w >= 0; w--) {
		u64 m = __atomic_load_n(&v->irq[w], __ATOMIC_SEQ_CST);
		if (m)
			return w * 64 + 63 - __builtin_clzll(m);
	}
	return -1;
}

/* partition.vtl_irq: `vector` for VTL 1 of t. t switches to VTL 1 before
 * its next entry, whatever VTL 0's RFLAGS.IF (15.12.2.1); VTL 1 takes the
 * interrupt when its own RFLAGS.IF allows. A VP without VTL 1 drops it. */
static void vsm_post_irq(struct vp *src, struct vp *t, u8 vtl, u8 vector)
{
	if (vtl != 1 || !t->ctx[1].live)
		return;
	struct vsm_vp *v = vv(t);
	__atomic_or_fetch(&v->irq[vector / 64], 1ull << (vector % 64), __ATOMIC_SEQ_CST);
	__atomic_store_n(&v->irq_any, 1, __ATOMIC_SEQ_CST);
	registry_request_entry(t, &hv_module_vsm);
	if (t != src)
		kick_send(src, t);
}

/* Before an entry with a VTL 1 interrupt pending: VTL 1 runs (entered
 * with reason Interrupt if it did not), and the vector is injected once
 * VTL 1 can take it (the backend's interrupt window meanwhile; this hook
 * stays requested until then). A VTL return with one pending comes
 * straight back (15.12.2.1). */
static void vsm_deliver(struct vp *vp)
{
	struct vsm_vp *v = vv(vp);
	int vec = irq_highest(v);
	if (vec < 0) {
		__atomic_store_n(&v->irq_any, 0, __ATOMIC_SEQ_CST);
		if (irq_highest(v) >= 0) /* posted meanwhile */
			__atomic_store_n(&v->irq_any, 1, __ATOMIC_SEQ_CST);
		return;
	}
	if (vp->cur->vtl < 1)
		vsm_switch(vp, 1, VSM_ENTRY_INTERRUPT, false);
	if (vp->part->be->inject_irq(vp, (u8)vec) == 0)
		__atomic_and_fetch(&v->irq[vec / 64], ~(1ull << (vec % 64)), __ATOMIC_SEQ_CST);
	if (irq_highest(v) >= 0)
		registry_request_entry(vp, &hv_module_vsm);
}

static void vsm_on_entry(struct vp *vp) { vsm_deliver(vp); }

/* ---- HvVtlCall, HvVtlReturn (TLFS 15.6, 15.7, 15.15.5-6) --------------- */

/* Through the code sequences (vsm_fill_page), RAX holds the caller's
 * control input and RCX the call code. Everything wrong is #UD (TLFS
 * 15.6.1.1, 15.7.2): CPL > 0 or real mode (the dispatcher's), a control
 * input with reserved bits, no higher VTL enabled on the VP (call), VTL 0
 * running (return). A status other than success here means #UD. The
 * checks only: the switch is the row's completion. */
static u16 hc_vtl_call(struct hc_ctx *c)
{
	const struct vp *vp = c->vp;
	u8 to = (u8)(vp->cur->vtl + 1);
	if (vp->gpr[GPR_RAX] != 0 || to > VSM_MAX_VTL || !vp->ctx[to].live)
		return HV_STATUS_INVALID_VP_STATE;
	return HV_STATUS_SUCCESS;
}

static u16 hc_vtl_return(struct hc_ctx *c)
{
	const struct vp *vp = c->vp;
	if (vp->cur->vtl == 0 || (vp->gpr[GPR_RAX] & ~1ull))
		return HV_STATUS_INVALID_VP_STATE;
	return HV_STATUS_SUCCESS;
}

/* The call completes in the VTL that made it: RIP past the VMCALL (TLFS
 * 15.7.1), no status written (RAX/RCX are the sequence's); then the other
 * context becomes current, and the VP enters it (HV_ACT_RESUME). A VTL 1
 * interrupt still pending on a return calls VTL 1 back (15.12.2.1). */
static inline __attribute__((always_inline)) enum hv_action
vtl_switch_complete(struct hc_ctx *c, u16 status, bool up)
{
	struct vp *vp = c->vp;
	if (status != HV_STATUS_SUCCESS) {
		vp_inject_ud(vp);
		return HV_ACT_INJECTED;
	}
	/* An unknown instruction length: the dispatcher's ADVANCE fails the
	 * same way and stops with its report. */
	if (vp->part->be->advance_rip(vp, c->exit))
		return HV_ACT_ADVANCE;
	struct vsm_vp *v = vv(vp);
	u8 from = vp->cur->vtl;
	if (up)
		switch_to(vp, v, from, (u8)(from + 1), VSM_ENTRY_VTL_CALL, false);
	else /* fast return: control input bit 0 (15.7.1.1) */
		switch_to(vp, v, from, (u8)(from - 1), 0, vp->gpr[GPR_RAX] & 1);
	if (v->irq_any)
		vsm_deliver(vp);
	return HV_ACT_RESUME;
}

static enum hv_action vtl_call_complete(struct hc_ctx *c, u16 status, u32 done)
{
	return vtl_switch_complete(c, status, true);
}

static enum hv_action vtl_return_complete(struct hc_ctx *c, u16 status, u32 done)
{
	return vtl_switch_complete(c, status, false);
}

/* ---- HvEnablePartitionVtl (TLFS 15.4.1, 15.15.3) ------------------------ */

/* At HvEnablePartitionVtl(1), under the partition lock: VTL 1's view, a
 * copy of VTL 0's tables (its overlays, the xAPIC page, MMIO mapped so
 * far), from the allocator of VTL 0's tables. */
static int vsm_view_create(struct vp *vp, u8 vtl)
{
	struct partition *p = vp->part;
	struct slat *s = &p->slat[vtl];
	if (s->root)
		return 0;
	if (!p->be->slat_view_set_page || !p->be->slat_flush)
		return 0; /* one view: VTL 1 runs on VTL 0's (no protections) */
	struct slat n;
	if (slat_init(&n, p->slat[0].fmt, p->slat[0].alloc_page, p->slat[0].alloc_ctx) ||
	    slat_clone(&n, &p->slat[0]))
		return -1; /* the pages taken stay in the pool: rare, at set-up */
	*s = n;
	/* The copy shows VTL 0's overlays: each VTL sees only its own (TLFS
	 * 15.11, gmem_show_page), so every overlaid page is shown again. */
	for (u32 i = 0; i < p->overlay_count; i++)
		if (p->overlays[i]->active && gmem_show_page(vp, p->overlays[i]->gpa))
			return -1;
	return 0;
}


/* Input: TargetPartitionId 8, TargetVtl 1, Flags 1 (bit 0 EnableMbec),
 * RsvdZ 6. */
static u16 hc_enable_partition_vtl(struct hc_ctx *c)
{
	const u8 *in = c->in;
	struct partition *p = c->vp->part;
	u8 target = in[8], flags = in[9];
	u16 st = hc_target_partition(hc_rd64(in));
	if (st)
		return st;
	if (in[10] || in[11] || hc_rd32(in + 12))
		return HV_STATUS_INVALID_PARAMETER;
	/* EnableMbec only where MBEC works (HvRegisterVsmCapabilities
	 * MbecVtlMask, TLFS 15.3.2, 15.10.2); the other flag bits are reserved. */
	if ((flags & ~1u) || ((flags & 1) && !vsm_mbec_offered(p)) || target > VSM_MAX_VTL)
		return HV_STATUS_INVALID_PARAMETER;
	/* TLFS 15.15.3: a lower target, or the next one up from the highest
	 * enabled VTL, which with VTL 1 the highest means: VTL 1, once. */
	spin_lock(&p->lock);
	st = p->vtl[target].enabled || target == 0 ? HV_STATUS_INVALID_VTL_STATE : HV_STATUS_SUCCESS;
	/* Its own view of memory (TLFS 15.9), before any VP runs it. */
	if (!st && vsm_view_create(c->vp, target))
		st = HV_STATUS_INSUFFICIENT_MEMORY;
	if (!st) {
		p->vtl[target].enabled = true;
		p->vtl[target].mbec = flags & 1;
	}
	spin_unlock(&p->lock);
	if (!st)
		LOGI("VTL %u enabled for the partition (by VP %u in VTL %u)", target, c->vp->index,
		     c->vp->cur->vtl);
	return st;
}

/* ---- HvEnableVpVtl (TLFS 15.4.2, 15.15.4) -------------------------------- */

struct enable_op {
	struct guest_boot_state g;
	u8 vtl;
	u16 status;
};

/* On the target's processor, in its host context: the context (its
 * control structure, ASID/VPID and bitmaps from the backend) and its VP
 * assist page. It runs on its VTL's view (partition.slat[vtl]). */
static void enable_fn(struct vp *t, void *arg)
{
	struct enable_op *op = arg;
	struct partition *p = t->part;
	struct vp_ctx *c = &t->ctx[op->vtl];
	op->status = HV_STATUS_INSUFFICIENT_MEMORY;
	spin_lock(&p->lock);
	if (c->live) {
		spin_unlock(&p->lock);
		op->status = HV_STATUS_INVALID_VTL_STATE;
		return;
	}
	/* What an earlier attempt that ran out of memory already set up
	 * (registered overlays) is kept, not registered twice. */
	int r = 0;
	c->vtl = op->vtl;
	c->slat = p->slat[op->vtl].root ? &p->slat[op->vtl] : &p->slat[0]; /* its view */
	c->assist_msr = 0;
	vv(t)->secure_cfg = 0; /* HvRegisterVsmVpSecureConfigVtl0 starts clear */
	if (!c->assist_page.hpa) {
		u8 *assist = pool_alloc_pages(vsm_pool, 1);
		c->assist_page = (struct overlay){ 0, (u64)(uintptr_t)assist, SLAT_RWX, false,
						   "VP assist VTL1", (u8)(1u << op->vtl) };
		r = assist ? overlay_register(p, &c->assist_page) : -1;
		if (r)
			c->assist_page.hpa = 0;
	}
	if (!r && !c->synic)
		r = synic_vtl_create(t, op->vtl, vsm_pool); /* its own SynIC (15.11.1.1) */
	spin_unlock(&p->lock);
	if (r || p->be->ctx_create(t, c, &op->g, vsm_pool)) {
		c->live = false;
		return;
	}
	op->status = HV_STATUS_SUCCESS;
}

/* Input: TargetPartitionId 8, VpIndex 4, TargetVtl 1, RsvdZ 3, then the
 * HV_INITIAL_VP_CONTEXT (224 bytes). TLFS 15.15.4: once a VP has the
 * VTL, further enables of it come from that VTL or above (ACCESS_DENIED);
 * the first may come from the VTL below (the way in). */
static u16 hc_enable_vp_vtl(struct hc_ctx *c)
{
	const u8 *in = c->in;
	struct vp *self = c->vp, *t = NULL;
	struct partition *p = self->part;
	u8 target = in[12];
	u16 st = hc_target_partition(hc_rd64(in));
	if (st)
		return st;
	if (in[13] || in[14] || in[15] || target > VSM_MAX_VTL)
		return HV_STATUS_INVALID_PARAMETER;
	if ((st = hc_target_vp(self, hc_rd32(in + 8), &t)) != HV_STATUS_SUCCESS)
		return st;
	if (target == 0 || !p->vtl[target].enabled)
		return HV_STATUS_INVALID_VTL_STATE;
	bool any = false;
	for (u32 i = 0; i < p->vp_count; i++)
		any |= p->vps[i] && p->vps[i]->ctx[target].live;
	if (self->cur->vtl < target && (any || self->cur->vtl + 1 != target))
		return HV_STATUS_ACCESS_DENIED;
	if (t->ctx[target].live)
		return HV_STATUS_INVALID_VTL_STATE;

	struct enable_op op = { .vtl = target, .status = HV_STATUS_INVALID_VP_STATE };
	struct guest_boot_state *g = &op.g;
	cpu_state_parse_initial_context(in + 16, g);
	g->dr6 = 0xffff0ff0;
	g->dr7 = 0x400;
	/* TLFS 15.11.3: no real mode above VTL 0 (cpu_state_check wants
	 * protected or long mode). */
	st = cpu_state_check(p, g, p->be->read_reg(self, GREG_CR4));
	if (st)
		return st;
	xcall_run(self, t, enable_fn, &op);
	if (!op.status)
		LOGI("VTL %u enabled on VP %u at %lx", target, t->index, (unsigned long)g->rip);
	return op.status;
}

/* ---- registers (TLFS 15.3.2, 15.3.3, 15.8) ------------------------------ */

static u16 reg_code_page_offsets(struct vp *t, u64 v[2])
{
	if (!vsm_offered(t->part))
		return HV_STATUS_INVALID_PARAMETER;
	v[0] = VSM_CALL_OFFSET | ((u64)VSM_RETURN_OFFSET << 12);
	return HV_STATUS_SUCCESS;
}

/* ActiveVtl 3:0, ActiveMbecEnabled 4, EnabledVtlSet 31:16. */
static u16 reg_vp_status(struct vp *t, u64 v[2])
{
	if (!vsm_offered(t->part))
		return HV_STATUS_INVALID_PARAMETER;
	u64 set = 0;
	for (u32 i = 0; i < HV_VTL_COUNT; i++)
		set |= (u64)t->ctx[i].live << i;
	u8 active = vsm_active_vtl(t);
	v[0] = active | (set << 16);
	if (active == 0 && vsm_vp_mbec(t))
		v[0] |= BIT(4); /* ActiveMbecEnabled */
	return HV_STATUS_SUCCESS;
}

/* HvRegisterVsmVpSecureConfigVtl0 (TLFS 15.5.2): VTL 1's, per VP, for
 * VTL 0 (VTL 0 has none; no VTL has one for VTL 1: MaximumVtl is 1).
 * MbecEnabled (15.5.2.1, 15.10.2) only where VTL 1 was enabled for the
 * partition with EnableMbec; it turns MBEC on for the VP's VTL 0 context.
 * TlbLocked (15.5.2.2) is not offered (blocking the lower VTL's flush
 * hypercalls until the lock is lifted is not done): INVALID_PARAMETER, as
 * for the reserved bits. */
static u16 reg_secure_cfg_get(struct vp *t, u64 v[2])
{
	if (!vsm_offered(t->part) || t->cur->vtl != 1)
		return HV_STATUS_INVALID_PARAMETER;
	v[0] = vv(t)->secure_cfg;
	return HV_STATUS_SUCCESS;
}

static u16 reg_secure_cfg_set(struct vp *t, const u64 v[2])
{
	const struct partition *p = t->part;
	if (!vsm_offered(p) || t->cur->vtl != 1 || (v[0] & ~HV_VSM_VP_SECURE_MBEC) ||
	    ((v[0] & HV_VSM_VP_SECURE_MBEC) && !p->vtl[1].mbec))
		return HV_STATUS_INVALID_PARAMETER;
	struct vsm_vp *w = vv(t);
	bool was = vsm_vp_mbec(t);
	w->secure_cfg = v[0];
	bool on = vsm_vp_mbec(t);
	if (was != on && p->be->mbec_ctl) { /* in VTL 0's context (on t's processor) */
		struct vp_ctx *cur = t->cur;
		p->be->ctx_switch(t, &t->ctx[0]);
		p->be->mbec_ctl(t, on);
		p->be->ctx_switch(t, cur);
	}
	return HV_STATUS_SUCCESS;
}

/* EnabledVtlSet 15:0, MaximumVtl 19:16, MbecEnabledVtlSet 35:20. */
static u16 reg_partition_status(struct vp *t, u64 v[2])
{
	const struct partition *p = t->part;
	if (!vsm_offered(p))
		return HV_STATUS_INVALID_PARAMETER;
	u64 set = 0, mbec = 0;
	for (u32 i = 0; i < HV_VTL_COUNT; i++) {
		set |= (u64)(i == 0 || p->vtl[i].enabled) << i;
		mbec |= (u64)(p->vtl[i].enabled && p->vtl[i].mbec) << i;
	}
	v[0] = set | ((u64)VSM_MAX_VTL << 16) | (mbec << 20);
	return HV_STATUS_SUCCESS;
}

/* Dr6Shared (both backends keep DR6 across a VTL switch); MbecVtlMask:
 * the VTLs HvEnablePartitionVtl may enable with EnableMbec (VTL 1, where
 * the backend has MBEC; 0 on SVM); no DenyLowerVtlStartup. */
static u16 reg_capabilities(struct vp *t, u64 v[2])
{
	if (!vsm_offered(t->part))
		return HV_STATUS_INVALID_PARAMETER;
	v[0] = HV_VSM_CAP_DR6_SHARED;
	if (vsm_mbec_offered(t->part))
		v[0] |= (u64)BIT(1) << HV_VSM_CAP_MBEC_SHIFT;
	return HV_STATUS_SUCCESS;
}

HV_VPREG_FN_ROWS(vsm_vpregs) = {
	{ HV_REGISTER_VSM_CODE_PAGE_OFFSETS, "VsmCodePageOffsets", reg_code_page_offsets, NULL },
	{ HV_REGISTER_VSM_VP_STATUS, "VsmVpStatus", reg_vp_status, NULL },
	{ HV_REGISTER_VSM_PARTITION_STATUS, "VsmPartitionStatus", reg_partition_status, NULL },
	{ HV_REGISTER_VSM_CAPABILITIES, "VsmCapabilities", reg_capabilities, NULL },
	{ HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0, "VsmVpSecureConfigVtl0", reg_secure_cfg_get,
	  reg_secure_cfg_set },
};

/* TLFS 15.15 */
HV_HCALL_ROWS(vsm_hcalls) = {
	{ HVCALL_ENABLE_PARTITION_VTL, HC_SLOW | HC_FAST, HV_ACCESS_VSM, 16, 0, 0, 0,
	  hc_enable_partition_vtl, NULL, NULL, "HvEnablePartitionVtl", NULL, NULL },
	{ HVCALL_ENABLE_VP_VTL, HC_SLOW, HV_ACCESS_VSM, 240, 0, 0, 0, hc_enable_vp_vtl, NULL, NULL,
	  "HvEnableVpVtl", NULL, NULL },
	{ HVCALL_VTL_CALL, HC_SLOW | HC_FAST | HC_BARE, HV_ACCESS_VSM, 0, 0, 0, 0, hc_vtl_call, NULL,
	  NULL, "HvVtlCall", NULL, vtl_call_complete },
	{ HVCALL_VTL_RETURN, HC_SLOW | HC_FAST | HC_BARE, HV_ACCESS_VSM, 0, 0, 0, 0, hc_vtl_return,
	  NULL, NULL, "HvVtlReturn", NULL, vtl_return_complete },
};

/* ---- set-up ------------------------------------------------------------- */

/* TLFS 15.8: the VTL call and return sequences in the hypercall page,
 * Hyper-V's shape: the control input moves to RAX (RCX is the input
 * value of a hypercall), the call code goes to RCX:
 *   mov rax, rcx; mov ecx, code; vmcall/vmmcall; ret */
static void vsm_fill_page(u8 *page, u32 off, u32 code, const u8 *insn)
{
	static const u8 seq[] = { 0x48, 0x89, 0xc8, 0xb9 };
	u8 *q = page + off;
	for (u32 i = 0; i < sizeof(seq); i++)
		*q++ = seq[i];
	for (u32 i = 0; i < 4; i++)
		*q++ = (u8)(code >> (8 * i));
	for (u32 i = 0; i < 3; i++)
		*q++ = insn[i];
	*q = 0xc3;
}

/* TLFS 15.3.1: VSM needs AccessVsm, AccessVpRegisters and AccessSynicRegs
 * together: AccessVsm is offered only with the other two. VTL 1's
 * partition-wide overlays show the same pages as VTL 0's (the hypercall
 * page with the VTL sequences; the reference TSC page), under its own MSRs. */
static int vsm_partition_init(struct partition *p, struct pool *pool)
{
	vsm_pool = pool;
	p->vtl[0].enabled = true;
	p->vtl_irq = vsm_post_irq;
	const u64 need = HV_ACCESS_VP_REGISTERS | HV_ACCESS_SYNIC_REGS | HV_ACCESS_HYPERCALL_MSRS;
	if ((p->privileges & need) != need || !p->vtl[0].hypercall_page.hpa)
		p->privileges &= ~HV_ACCESS_VSM;
	if (!vsm_offered(p))
		return 0;
	u8 *page = (u8 *)(uintptr_t)p->vtl[0].hypercall_page.hpa;
	vsm_fill_page(page, VSM_CALL_OFFSET, HVCALL_VTL_CALL, p->be->hypercall_insn);
	vsm_fill_page(page, VSM_RETURN_OFFSET, HVCALL_VTL_RETURN, p->be->hypercall_insn);
	struct partition_vtl *v1 = &p->vtl[1];
	v1->hypercall_page = (struct overlay){ 0, p->vtl[0].hypercall_page.hpa, SLAT_RX, false,
					       "hypercall VTL1", 2 };
	if (overlay_register(p, &v1->hypercall_page))
		return -1;
	if (p->vtl[0].ref_tsc_page.hpa) {
		v1->ref_tsc_page = (struct overlay){ 0, p->vtl[0].ref_tsc_page.hpa, SLAT_RX, false,
						     "reference TSC VTL1", 2 };
		if (overlay_register(p, &v1->ref_tsc_page))
			return -1;
	}
	return 0;
}

static void vsm_dump(const struct vp *vp)
{
	const struct vsm_vp *v = vv(vp);
	if (v->switches)
		LOGI("vp%u: VTL %u, %lu VTL switches", vp->index, v->active, (unsigned long)v->switches);
}

HV_MODULE(vsm, .on_partition = vsm_partition_init, .on_entry = vsm_on_entry, .on_dump = vsm_dump);
