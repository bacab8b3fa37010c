/*
 * nested.c - nested virtualization, the Hv#1-neutral part (docs/nested.md).
 * With hv.cfg nested=on and a backend that emulates it (SVM), each VP gets
 * an L2 context (vp->l2: its own control structure and ASID, created here
 * with the VP) and the shadow of L1's nested page tables (shadow.c). The
 * exit handlers:
 *   HV_EXIT_VIRT_INSN   L1's SVM instructions: emulated by the backend
 *                       (nested_insn); a VMRUN it accepts enters L2 on
 *                       the shadow (or, without L1's nested paging, on
 *                       L1's own tables). From L2, or with nested=off:
 *                       #UD (no SVM for L2; APM 15.4 with SVM hidden).
 *   HV_EXIT_NESTED      an L2 exit L1 intercepts (the backend decided):
 *                       #VMEXIT to L1 (nested_exit).
 *   HV_EXIT_NESTED_NPF  an L2 fault on the shadow: map, reflect an NPF
 *                       to L1, or refuse (#GP into L2, which goes to L1 if
 *                       it intercepts #GP).
 * Every other L2 exit is one hv.efi needs alone (CPUID, the MSRs and ports
 * hv/ intercepts, NMIs, ...): the ordinary handlers run in L2's context.
 */
#include "nested.h"
#include "backend.h"
#include "boot_info.h"
#include "hw.h"
#include "log.h"
#include "module.h"
#include "pool.h"
#include "tlfs.h"

/* Shadow pages per VP: 4 tables reach 2 MiB of L2 GPA; 64 pages cover a
 * small guest's working set before a reset. */
#define SHADOW_PAGES 64

static int nested_partition(struct partition *p, struct pool *pool)
{
	if (!p->nested)
		return 0;
	if (!p->be->nested_insn) {
		LOGW("nested=on: the %s backend does not emulate it; the guest gets no SVM/VMX",
		     p->be->name);
		p->nested = false;
		return 0;
	}
	p->nested_svm_edx = p->be->nested_features();
	if (p->be->nested_vmx)
		LOGI("nested: VMX offered to the guest (CPUID.1:ECX[5], the VMX capability MSRs)");
	else
		LOGI("nested: SVM offered to the guest, CPUID 8000000A EDX %x", p->nested_svm_edx);
	p->nested_enl = nested_optimizations(p);
	p->view_flush = nested_view_flush;
	LOGI("nested: enlightenments: CPUID 4000000A EAX 0x%x", p->nested_enl);
	/* TLFS 16.4.1: an eVMCS version offered is recommended (leaf
	 * 0x40000004 EAX bit 14; Linux's KVM uses the eVMCS only then). */
	if (p->nested_enl & HV_NESTED_EVMCS_VERSIONS)
		p->recommendations |= HV_RECOMMEND_NESTED_EVMCS;
	return 0;
}

/* Leaf 0x4000000A EAX (TLFS 2.4.11), only what is implemented and
 * tested (docs/nested.md, "Enlightenments"), as the backend reports its
 * half (backend.nested_enl). On SVM: the nested flush hypercalls (bit 18,
 * flush.c) and the enlightened NPT TLB that uses them (bit 22: L1
 * promises to call them after changing its nested page tables, so an
 * ASID change of L1 need not drop the shadow); the enlightened MSR bitmap
 * (bit 19: L1 clears clean bit 31 of its VMCB when it changes its MSR
 * permission map, so the merge may skip it, svm/svm_nested.c); direct
 * virtual flush (bit 17: L2's HvFlushVirtualAddress* calls answered by
 * hv.efi, dflush.c); no enlightened VMCS version (AMD has none). On VMX:
 * the eVMCS version range (bits 15:0) and what works with it, once a
 * guest check proves it. No virtualization exceptions (20) anywhere. */
u32 nested_optimizations(const struct partition *p)
{
	return p->nested ? p->be->nested_enl : 0;
}

static void nested_cpuid(const struct partition *p, u32 leaf, u32 r[4])
{
	if (leaf == HV_CPUID_NESTED_OPTIMIZATIONS)
		r[0] = nested_optimizations(p);
}

/* The pool the VP hooks allocate from (the core's one pool): on_vp_ready,
 * where the backend's per-processor state exists, has no pool argument. */
static struct pool *vp_pool;

/* Before the backend built the VP: the nested state and shadow pages. */
static int nested_vp(struct vp *vp, struct pool *pool)
{
	struct partition *p = vp->part;
	if (!p->nested)
		return 0;
	struct nested_vp *n = pool_alloc_pages(pool, 1);
	u32 r[4];
	hw_cpuid(0x80000001u, 0, r);
	if (!n || shadow_init(&n->sh, pool, SHADOW_PAGES, p->slat[0].fmt, r[3] & BIT(26)))
		return -1;
	/* L1's tables are EPT on VMX (shadow.c walks them as such). */
	n->sh.l1_ept = p->be->nested_vmx;
	n->sh.maxphy = p->phys_addr_bits;
	vp_pool = pool;
	vp->nested = n;
	return 0;
}

/* After: the L2 context (its VMCB and maps, an ASID of this processor). */
static int nested_vp_ready(struct vp *vp)
{
	struct partition *p = vp->part;
	if (!p->nested)
		return 0;
	static const struct guest_boot_state none;
	vp->l2.vtl = 0;
	vp->l2.l2 = true;
	vp->l2.slat = &p->slat[0];
	return p->be->ctx_create(vp, &vp->l2, &none, vp_pool);
}

static void nested_dump(const struct vp *vp)
{
	const struct nested_vp *n = vp->nested;
	if (!n)
		return;
	log_raw("  nested vp%u: vmrun %lu invalid %lu reflected %lu denied %lu shadow faults %lu "
		"reflected %lu resets %lu flush hypercalls %lu direct flushes %lu (traps %lu) "
		"eVMCS entries %lu (all groups read %lu)\r\n",
		vp->index, (unsigned long)n->vmruns, (unsigned long)n->invalid,
		(unsigned long)n->reflected_exits, (unsigned long)n->denied,
		(unsigned long)n->sh.faults, (unsigned long)n->sh.reflected,
		(unsigned long)n->sh.resets, (unsigned long)n->hv_flushes,
		(unsigned long)n->dflush_calls, (unsigned long)n->dflush_traps,
		(unsigned long)n->evmcs_entries, (unsigned long)n->evmcs_full);
}

HV_MODULE(nested, .on_partition = nested_partition, .on_vp = nested_vp,
	  .on_vp_ready = nested_vp_ready, .on_dump = nested_dump, .on_cpuid = nested_cpuid,
	  .cpuid_leaves = BIT(HV_CPUID_NESTED_OPTIMIZATIONS - 0x40000000u));

/* partition.view_flush, on t's processor: the views changed (a VTL
 * protection, TLFS 15.9), so the shadow built on them is a stale TLB:
 * dropped now, and L2's TLB flushed if t runs L2, before the change's
 * hypercall returns (vsm/prot.c). In L1, enter_l2 rebuilds it. */
void nested_view_flush(struct vp *t)
{
	struct nested_vp *n = t->nested;
	if (!n || !n->sh.used)
		return;
	shadow_reset(&n->sh, n->sh.l1_root, t->part->slat_gen);
	if (t->cur->l2)
		t->part->be->tlb_flush(t, TLB_FLUSH_ALL, 0);
}

/* L1's VMRUN accepted: what L2 runs on, then enter it. */
static void enter_l2(struct vp *vp, struct nested_run *run)
{
	struct partition *p = vp->part;
	struct nested_vp *n = vp->nested;
	/* A TLB flush of L1 (TLB_CONTROL, a new ASID) flushes L2's TLB and
	 * drops the shadow of L1's tables, unless L1 uses the enlightened
	 * NPT TLB (it then calls the flush hypercalls, flush.c, after
	 * changing its tables: the shadow stays). */
	bool flush = run->flush || run->asid_changed;
	bool drop = flush && !(run->enl_npt_tlb && (p->nested_enl & HV_NESTED_ENLIGHTENED_NPT_TLB));
	if (run->np) {
		struct shadow *sh = &n->sh;
		/* The shadow composes the view of L1's VTL (shadow.c): built
		 * for another VTL, or before the views changed, it is stale. */
		if (sh->used == 0 || sh->l1_root != run->l1_root || drop || sh->gen != p->slat_gen ||
		    sh->vtl != vp->cur->vtl) {
			shadow_reset(sh, run->l1_root, p->slat_gen);
			sh->vtl = vp->cur->vtl;
			flush = true;
		}
		vp->l2.slat = &sh->slat;
	} else {
		vp->l2.slat = &p->slat[0];
	}
	/* Direct virtual flush (dflush.c): L2's VM/VP ids as L1 gave them;
	 * a flush L2 asked for while this VP was in L1 happens now. */
	if (run->direct_flush && !n->dflush && !n->dflush_calls && !n->dflush_logged) {
		n->dflush_logged = true;
		LOGI("nested: vp%u: L1 turned on direct virtual flush for L2 (VM id %lx, VP id %u)",
		     vp->index, (unsigned long)run->l2_vm_id, run->l2_vp_id);
	}
	n->dflush = run->direct_flush;
	n->np = run->np;
	n->l2_vp_id = run->l2_vp_id;
	n->l2_vm_id = run->l2_vm_id;
	n->assist_pa = run->assist_pa;
	flush |= n->l2_tlb_stale;
	n->l2_tlb_stale = false;
	n->vmruns++;
	n->evmcs_entries += run->evmcs;
	n->evmcs_full += run->evmcs_full;
	p->be->nested_enter(vp, &vp->l2, flush);
}

static enum hv_action nested_virt_insn(struct vp *vp, struct hv_exit *e)
{
	struct partition *p = vp->part;
	if (!p->nested || vp->cur->l2) {
		vp_inject_ud(vp);
		return HV_ACT_INJECTED;
	}
	struct nested_run run = { 0 };
	enum hv_action act = HV_ACT_FATAL;
	if (p->be->nested_insn(vp, e, &act, &run))
		enter_l2(vp, &run);
	else if (run.invalid)
		((struct nested_vp *)vp->nested)->invalid++;
	return act;
}
HV_EXIT_HANDLER(exit_virt_insn, HV_EXIT_VIRT_INSN, nested_virt_insn);

static enum hv_action nested_reflect(struct vp *vp, struct hv_exit *e)
{
	struct nested_vp *n = vp->nested;
	n->reflected_exits++;
	vp->part->be->nested_exit(vp, 0, 0, 0);
	return HV_ACT_RESUME;
}
HV_EXIT_HANDLER(exit_nested, HV_EXIT_NESTED, nested_reflect);

#define DENIED_LOG_LIMIT 8

static enum hv_action nested_npf(struct vp *vp, struct hv_exit *e)
{
	struct partition *p = vp->part;
	struct nested_vp *n = vp->nested;
	struct shadow *sh = &n->sh;
	u64 info1 = 0;
	switch (shadow_fault(p, sh, e->u.npf.gpa, e->u.npf.write, e->u.npf.exec, e->qual[0], &info1)) {
	case SHADOW_MAPPED:
		return HV_ACT_RESUME;
	case SHADOW_REFLECT: /* APM 15.25.6: EXITINFO2 is L2's GPA; SDM 28.2.1
			      * table 28-7 the EPT violation's qualification */
		n->reflected_exits++;
		p->be->nested_exit(vp, p->be->nested_npf_code ? p->be->nested_npf_code : 0x400, info1,
				   e->u.npf.gpa);
		return HV_ACT_RESUME;
	case SHADOW_MISCONFIG: /* SDM 29.3.3.1: an EPT misconfiguration of L1's */
		n->reflected_exits++;
		p->be->nested_exit(vp, p->be->nested_misconfig_code, 0, e->u.npf.gpa);
		return HV_ACT_RESUME;
	case SHADOW_FULL:
		shadow_reset(sh, sh->l1_root, p->slat_gen);
		p->be->tlb_flush(vp, TLB_FLUSH_ALL, 0);
		return HV_ACT_RESUME;
	case SHADOW_DENIED:
	default:
		if (n->denied++ < DENIED_LOG_LIMIT)
			LOGW("nested: L2 %s of L2 GPA %lx: L1 maps it to memory the guest may not reach "
			     "(VTL protections refused %lu); #GP injected",
			     e->u.npf.write ? "write" : e->u.npf.exec ? "fetch" : "read",
			     (unsigned long)e->u.npf.gpa, (unsigned long)sh->vtl_denied);
		vp_inject_gp(vp);
		return HV_ACT_INJECTED;
	}
}
HV_EXIT_HANDLER(exit_nested_npf, HV_EXIT_NESTED_NPF, nested_npf);
