/*
 * translate.c - HvTranslateVirtualAddress (TLFS 9.3.4, 9.4.6): a guest
 * page walk with the target VP's paging state, run on the target VP's
 * processor. The walk itself (SDM 4.3-4.6, APM 5; its result codes,
 * SET_PAGE_TABLE_BITS, CacheType, what is not modelled) is hv/walk.c's,
 * shared with the xAPIC store emulation; this file adds the OverlayPage
 * bit and the hypercall.
 */
#include "hypercall.h"
#include "translate.h"
#include "backend.h"
#include "hw.h"
#include "gmem.h"
#include "xcall.h"
#include "boot_info.h"
#include "tlfs.h"
#include "x86.h"

#define F_READ HV_TRANSLATE_GVA_VALIDATE_READ
#define F_WRITE HV_TRANSLATE_GVA_VALIDATE_WRITE
#define F_EXEC HV_TRANSLATE_GVA_VALIDATE_EXECUTE

/* The walk, and whether the page it reached is an overlay page (the
 * OverlayPage bit of the result). */
u32 translate_gva(const struct partition *p, const struct xlate_state *s, u64 gva_page,
		  u64 flags, struct xlate_out *out)
{
	u32 code = walk_gva(p, s, gva_page, flags, out);
	if (code == HV_TRANSLATE_GVA_SUCCESS)
		out->overlay = gmem_overlay_at(p, out->gpa_page << 12) != NULL;
	return code;
}

/* ---- the hypercall ------------------------------------------------------ */

struct xlate_req {
	u64 flags, gva_page;
	u32 code;
	struct xlate_out out;
	u8 vtl; /* whose paging state (TLFS 15.15.1 input VTL) */
	u8 caller_vtl; /* whose protections the table reads honour (15.9) */
};

/* On the target VP's processor, in its host context: the VP's state as
 * it stopped, and the walk (no guest code of the target runs meanwhile). */
static void xlate_on_vp(struct vp *vp, void *arg)
{
	struct xlate_req *rq = arg;
	const struct backend *be = vp->part->be;
	struct xlate_state s;
	u32 r[4];

	/* A lower VTL's paging state: its context current for the reads. */
	struct vp_ctx *run = vp->cur;
	if (rq->vtl != run->vtl)
		be->ctx_switch(vp, &vp->ctx[rq->vtl]);
	struct guest_boot_state gs;
	be->vp_get_state(vp, &gs);
	s = (struct xlate_state){ gs.cr0, gs.cr3, gs.cr4, gs.efer, gs.pat, gs.rflags, 0, false,
				  (u8)(rq->caller_vtl + 1) };
	s.cpl = (u8)be->read_reg(vp, GREG_CPL);
	if (rq->vtl != run->vtl)
		be->ctx_switch(vp, run);
	hw_cpuid(0x80000000u, 0, r);
	if (r[0] >= 0x80000001u) {
		hw_cpuid(0x80000001u, 0, r);
		s.gbpages = r[3] & BIT(26);
	}
	rq->code = translate_gva(vp->part, &s, rq->gva_page, rq->flags, &rq->out);
}

/* TLFS 9.4.6. Input {PartitionId, VpIndex, pad, ControlFlags, GvaPage},
 * output {TranslationResult, GpaPage}. VpIndex may be HV_VP_INDEX_SELF
 * (TLFS 7.8.1). Statuses: INVALID_PARTITION_ID, INVALID_VP_INDEX, then INVALID_PARAMETER for the control flags: none of
 * read/write/execute, reserved bits 55:6, an input VTL above the caller's
 * or not enabled (hc_input_vtl; a VTL the target VP has not enabled:
 * INVALID_VTL_STATE),
 * and TLB_FLUSH_INHIBIT: it asks for the TlbFlushInhibit flag of
 * HvRegisterInterceptSuspend (TLFS 9.1.4), which this hypervisor does not
 * implement, so the call is refused rather than the flag ignored. */
static u16 hc_translate_va(struct hc_ctx *c)
{
	struct vp *target;
	u16 st = hc_target_partition(hc_rd64(c->in));
	if (st)
		return st;
	u32 index = hc_rd32(c->in + 8);
	st = hc_target_vp(c->vp, index, &target);
	if (st)
		return st;
	u64 flags = hc_rd64(c->in + 16);
	u64 ctl = flags & ~(0xffull << HV_TRANSLATE_GVA_INPUT_VTL_SHIFT);
	if (!(ctl & (F_READ | F_WRITE | F_EXEC)) || (ctl & ~HV_TRANSLATE_GVA_CONTROL_MASK) ||
	    (ctl & HV_TRANSLATE_GVA_TLB_FLUSH_INHIBIT))
		return HV_STATUS_INVALID_PARAMETER;
	u8 vtl = 0;
	st = hc_input_vtl(c->vp, (u8)(flags >> HV_TRANSLATE_GVA_INPUT_VTL_SHIFT), &vtl);
	if (st)
		return st;
	if (!target->ctx[vtl].live)
		return HV_STATUS_INVALID_VTL_STATE;

	struct xlate_req rq = { ctl, hc_rd64(c->in + 24), 0, { 0, 0, false }, vtl, c->vp->cur->vtl };
	xcall_run(c->vp, target, xlate_on_vp, &rq);
	*(u64 *)c->out = rq.code | ((u64)rq.out.cache_type << 32) |
			 ((u64)rq.out.overlay << 40);
	*(u64 *)(c->out + 8) = rq.out.gpa_page;
	return HV_STATUS_SUCCESS;
}

/* TLFS 9.4.6 */
HV_HCALL_ROWS(translate_hcalls) = {
	{ HVCALL_TRANSLATE_VIRTUAL_ADDRESS, HC_SLOW | HC_FAST, 0, 32, 0, 16, 0, hc_translate_va,
	  NULL, NULL, "HvTranslateVirtualAddress", NULL, NULL },
};
