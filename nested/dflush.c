/*
 * dflush.c - direct virtual flush (leaf 0x4000000A EAX bit 17, TLFS
 * 2.4.11 "HvFlushVirtualAddress* calls from L2 handled directly"; the
 * nested enlightenments of docs/nested.md). As Linux's KVM (6.1+) uses it
 * on Hyper-V (svm_onhyperv.h: svm_hv_enable_l2_tlb_flush) and implements
 * it as L0 (svm/hyperv.c, hyperv.c: nested_svm_l2_tlb_flush_enabled,
 * kvm_hv_is_tlb_flush_hcall, HV_SVM_EXITCODE_ENL):
 *
 *   L1 sets features.directhypercall in its VP assist page's nested
 *   control (offset 0x20) and nested_flush_hypercall in the Hyper-V area
 *   of the VMCB it runs L2 with (control area 0x3E0), with L2's VP id
 *   (0x3E4), VM id (0x3E8) and its partition assist page (0x3F0, an L1
 *   GPA: u32 tlb_lock_count at offset 0).
 *
 * Then L2's HvFlushVirtualAddressSpace/List(/Ex) (TLFS 9.4.2-9.4.5) are
 * answered here, without an exit to L1 even when L1 intercepts VMMCALL:
 * the targets are the VPs whose L2 has the caller's VM id and a VP id in
 * the call's set (L2's own numbering, as L1 gave it: KVM's
 * hv_vcpu->nested.vp_id); each flushes its L2 ASID on its own processor
 * (xcall) before the call returns, or, when that VP is in L1 at that
 * moment, at its next VMRUN (L1 may run another L2 there meanwhile: a
 * flush more is harmless). A list flushes the whole ASID (a TLB may
 * always be flushed more). The shadow of L1's nested tables stays: GVA
 * flushes are about L2's own page tables.
 * When tlb_lock_count is non-zero after the flush, L2 leaves for L1 with
 * exit code HV_SVM_EXITCODE_ENL (0xF0000000) and EXITINFO1
 * HV_SVM_ENL_EXITCODE_TRAP_AFTER_FLUSH (1), RIP past the call, its status
 * in RAX. Every other VMMCALL of L2 goes where it went before: to L1 when
 * it intercepts VMMCALL, else #UD.
 *
 * Statuses (TLFS 3.12 ordering): reserved bits of the input value, a rep
 * count on a simple call, none (or start >= count) on a rep call, a
 * variable header on a non-Ex call: INVALID_HYPERCALL_INPUT; a slow input
 * not 8-byte aligned or crossing a page: INVALID_ALIGNMENT; an input GPA
 * L1's nested tables do not map: INVALID_HYPERCALL_INPUT (as KVM's
 * translate_nested_gpa); one that maps to no ordinary L1 RAM:
 * INVALID_PARAMETER; fast input beyond RDX/R8 without XMM input
 * advertised: #UD; reserved flags, an address space beyond the physical
 * address width, an empty processor set, a bad HV_VP_SET format:
 * INVALID_PARAMETER; a bank count that is not the variable header's:
 * INVALID_HYPERCALL_INPUT. At CPL > 0 or outside protected mode: #UD in L2.
 */
#include "nested.h"
#include "backend.h"
#include "gmem.h"
#include "hw.h"
#include "hypercall.h"
#include "tlfs.h"
#include "walk.h"
#include "x86.h"
#include "xcall.h"

#define HV_SVM_EXITCODE_ENL 0xF0000000ull
#define HV_SVM_ENL_EXITCODE_TRAP_AFTER_FLUSH 1ull
/* VMX (the eVMCS's NestedFlushVirtualHypercall): TLFS 16.8.3. */
#define HV_VMX_SYNTHETIC_EXIT_REASON_TRAP_AFTER_FLUSH 0x10000031ull
/* struct hv_vp_assist_page: nested_control.features at 0x20, bit 0
 * directhypercall (TLFS 7.8.7; Linux's hyperv-tlfs.h). */
#define ASSIST_NESTED_FEATURES 0x20
#define ASSIST_DIRECT_HYPERCALL BIT(0)
#define FAST_BLOCK 112 /* RDX, R8, XMM0-XMM5 (TLFS 3.7.2.2) */

bool nested_dflush_code(u16 code)
{
	return code == HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE || code == HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST ||
	       code == HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX ||
	       code == HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX;
}

static bool is_ex(u16 code)
{
	return code == HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX ||
	       code == HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX;
}

static bool is_list(u16 code)
{
	return code == HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST || code == HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX;
}

static u32 popcount64(u64 v)
{
	u32 n = 0;
	for (; v; v &= v - 1)
		n++;
	return n;
}

/* TLFS 9.4.2-9.4.5: AddressSpace, Flags, then ProcessorMask (u64) or an
 * HV_VP_SET (format, valid bank mask; the banks in the variable header,
 * TLFS 7.8.7.4). L2's VP ids are L1's numbering: not checked against
 * this partition's VPs (an id no VP has names nobody). */
u16 nested_dflush_header(const struct partition *p, u16 code, const u8 *in, u16 var_hdr)
{
	u64 space = hc_rd64(in), flags = hc_rd64(in + 8);
	u64 ok = HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES |
		 (is_list(code) ? 0 : HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY);
	if (flags & ~ok)
		return HV_STATUS_INVALID_PARAMETER;
	/* An address space is a CR3 value of L2 (TLFS 9.3.1). */
	if (!(flags & HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES) && p->phys_addr_bits < 64 &&
	    (space >> p->phys_addr_bits))
		return HV_STATUS_INVALID_PARAMETER;
	if (!is_ex(code))
		return (flags & HV_FLUSH_ALL_PROCESSORS) || hc_rd64(in + 16) ? HV_STATUS_SUCCESS
									 : HV_STATUS_INVALID_PARAMETER;
	u64 format = hc_rd64(in + 16), valid = hc_rd64(in + 24);
	if (format != HV_GENERIC_SET_SPARSE_4K && format != HV_GENERIC_SET_ALL)
		return HV_STATUS_INVALID_PARAMETER;
	if (popcount64(valid) != var_hdr)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	return HV_STATUS_SUCCESS;
}

bool nested_dflush_targets(u16 code, const u8 *in, u16 var_hdr, u32 id)
{
	if (hc_rd64(in + 8) & HV_FLUSH_ALL_PROCESSORS)
		return true;
	if (!is_ex(code))
		return id < 64 && ((hc_rd64(in + 16) >> id) & 1);
	if (hc_rd64(in + 16) == HV_GENERIC_SET_ALL)
		return true;
	u64 valid = hc_rd64(in + 24);
	u32 bank = id / 64, w = 0;
	if (bank >= 64 || !((valid >> bank) & 1))
		return false;
	for (u32 b = 0; b < bank; b++)
		w += (valid >> b) & 1;
	(void)var_hdr; /* w < var_hdr: the header check counted the banks */
	return (hc_rd64(in + 32 + 8ull * w) >> (id % 64)) & 1;
}

/* On each target's own processor: L2's ASID now, or at the next VMRUN. */
static void flush_on(struct vp *t, void *arg)
{
	struct nested_vp *n = t->nested;
	n->dflush_targets++;
	if (t->cur->l2)
		t->part->be->tlb_flush(t, TLB_FLUSH_ALL, 0);
	else
		n->l2_tlb_stale = true;
}

/* L2 GPA -> L1 GPA through L1's nested tables (read access), as the
 * shadow walks them. */
static bool l1_gpa(const struct partition *p, const struct nested_vp *n, u64 gpa, u64 *out)
{
	if (!n->np) {
		*out = gpa;
		return true;
	}
	if (n->sh.l1_ept) /* VMX: L1's EPT */
		return shadow_ept_translate(p, &n->sh, gpa, out);
	struct xlate_state st = {
		.cr0 = CR0_PE | CR0_PG | CR0_WP,
		.cr3 = n->sh.l1_root,
		.cr4 = CR4_PAE,
		.efer = EFER_LME | EFER_LMA | EFER_NXE,
		.cpl = 3, /* nested walks are user accesses (APM 15.25.5) */
		.gbpages = n->sh.gbpages,
	};
	struct xlate_out o = { 0 };
	if (walk_gva(p, &st, gpa >> 12, HV_TRANSLATE_GVA_VALIDATE_READ, &o) != HV_TRANSLATE_GVA_SUCCESS)
		return false;
	*out = (o.gpa_page << 12) | (gpa & 0xfff);
	return true;
}

/* L1 asked for direct flushes on this VP (its assist page, now). */
static bool enabled(const struct vp *vp)
{
	const struct overlay *o = &vp->ctx[0].assist_page;
	if (!o->active || !o->hpa)
		return false;
	return *(const u32 *)((const u8 *)(uintptr_t)o->hpa + ASSIST_NESTED_FEATURES) &
	       ASSIST_DIRECT_HYPERCALL;
}

/* The call itself: its status, *reps the list elements done. */
static u16 call(struct vp *vp, bool mode64, u64 input, u32 *reps, bool *ud)
{
	struct partition *p = vp->part;
	struct nested_vp *n = vp->nested;
	const u64 *r = vp->gpr;
	u16 code = (u16)(input & HV_HC_CODE_MASK);
	bool fast = input & HV_HC_FAST;
	u32 count = (u32)((input >> HV_HC_REP_COUNT_SHIFT) & HV_HC_REP_MASK);
	u32 start = (u32)((input >> HV_HC_REP_START_SHIFT) & HV_HC_REP_MASK);
	u16 var_hdr = (u16)((input & HV_HC_VARHDR_MASK) >> HV_HC_VARHDR_SHIFT);

	if (input & HV_HC_RSVD_MASK)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (is_list(code) ? (count == 0 || start >= count) : (count || start))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (var_hdr && !is_ex(code))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	u64 in_len = (is_ex(code) ? 32 : 24) + 8ull * var_hdr + (is_list(code) ? 8ull * count : 0);
	u8 blk[FAST_BLOCK] __attribute__((aligned(16)));
	const u8 *in;
	if (fast) {
		if (!(p->features_edx & HV_FEATURE_XMM_HYPERCALL_INPUT)) {
			*ud = true; /* as the dispatcher: XMM input not offered */
			return 0;
		}
		if (in_len > FAST_BLOCK)
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		*(u64 *)blk = mode64 ? r[GPR_RDX] : ((r[GPR_RBX] & 0xffffffff) << 32) | (u32)r[GPR_RCX];
		*(u64 *)(blk + 8) = mode64 ? r[GPR_R8] : ((r[GPR_RDI] & 0xffffffff) << 32) | (u32)r[GPR_RSI];
		hw_xmm_read(blk + 16);
		in = blk;
	} else {
		u64 gpa = mode64 ? r[GPR_RDX] : ((r[GPR_RBX] & 0xffffffff) << 32) | (u32)r[GPR_RCX], l1;
		if ((gpa & 7) || (gpa & 0xfff) + in_len > PAGE_SIZE)
			return HV_STATUS_INVALID_ALIGNMENT;
		if (!l1_gpa(p, n, gpa, &l1))
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		if (gmem_check_param(p, l1, in_len))
			return HV_STATUS_INVALID_PARAMETER;
		in = hw_gpa_ptr(l1);
	}
	u16 st = nested_dflush_header(p, code, in, var_hdr);
	if (st)
		return st;
	u64 mask = 0;
	for (u32 i = 0; i < p->vp_count && i < 64; i++) {
		struct vp *t = p->vps[i];
		struct nested_vp *tn = t ? t->nested : NULL;
		if (tn && tn->dflush && tn->l2_vm_id == n->l2_vm_id &&
		    nested_dflush_targets(code, in, var_hdr, tn->l2_vp_id))
			mask |= BIT(i);
	}
	if (mask)
		xcall_mask(vp, mask, flush_on, NULL);
	*reps = is_list(code) ? count : 0;
	return HV_STATUS_SUCCESS;
}

static enum hv_action nested_hcall(struct vp *vp, struct hv_exit *e)
{
	struct partition *p = vp->part;
	struct nested_vp *n = vp->nested;
	u64 mode = p->be->read_reg(vp, GREG_MODE);
	bool mode64 = (mode & GMODE_LMA) && (mode & GMODE_CS_L);
	const u64 *r = vp->gpr;
	u64 input = mode64 ? r[GPR_RCX] : ((r[GPR_RDX] & 0xffffffff) << 32) | (u32)r[GPR_RAX];

	if (!n || !n->dflush || !enabled(vp) || !nested_dflush_code((u16)input)) {
		if (e->qual[1] && n) { /* L1 intercepts VMMCALL: as before */
			n->reflected_exits++;
			p->be->nested_exit(vp, 0, 0, 0);
			return HV_ACT_RESUME;
		}
		vp_inject_ud(vp);
		return HV_ACT_INJECTED;
	}
	/* TLFS 3.5: only CPL 0 in protected mode (KVM: #UD into L2). */
	if ((mode & GMODE_CPL) || !(mode & GMODE_PE) || (mode & GMODE_VM)) {
		vp_inject_ud(vp);
		return HV_ACT_INJECTED;
	}
	u32 reps = 0;
	bool ud = false;
	u16 st = call(vp, mode64, input, &reps, &ud);
	if (ud) {
		vp_inject_ud(vp);
		return HV_ACT_INJECTED;
	}
	n->dflush_calls++;
	u64 result = st | ((u64)reps << HV_HC_RESULT_REPS_SHIFT);
	if (mode64) {
		vp->gpr[GPR_RAX] = result;
	} else {
		vp->gpr[GPR_RDX] = result >> 32;
		vp->gpr[GPR_RAX] = result & 0xffffffff;
	}
	if (p->be->advance_rip(vp, e))
		return HV_ACT_FATAL;
	/* Trap after flush: L1 holds its TLB lock (Linux's KVM checks the
	 * partition assist page after a flush it did not see). */
	u32 lock = 0;
	if (st == HV_STATUS_SUCCESS && n->assist_pa && !gmem_check_param(p, n->assist_pa & ~7ull, 4) &&
	    gmem_read(p, n->assist_pa & ~7ull, &lock, 4) && lock) {
		n->dflush_traps++;
		n->reflected_exits++;
		if (p->be->nested_vmx)
			p->be->nested_exit(vp, HV_VMX_SYNTHETIC_EXIT_REASON_TRAP_AFTER_FLUSH, 0, 0);
		else
			p->be->nested_exit(vp, HV_SVM_EXITCODE_ENL, HV_SVM_ENL_EXITCODE_TRAP_AFTER_FLUSH, 0);
	}
	return HV_ACT_RESUME;
}
HV_EXIT_HANDLER(exit_nested_hcall, HV_EXIT_NESTED_HCALL, nested_hcall);
