/*
 * svm_nested.c - SVM for the guest (docs/nested.md): the VMCB side of
 * nested virtualization. L1 (the guest) runs its own guest L2 with VMRUN
 * on a VMCB of its own (VMCB12); hv.efi runs L2 on the L2 context's VMCB
 * (VMCB02), built from VMCB12 with the backend's own intercepts added,
 * and gives L1 the exits it intercepts as a #VMEXIT into VMCB12. The
 * Hv#1-neutral part (the L2 context, the shadow of L1's nested page
 * tables, the exit handlers) is nested/; this file is what needs a VMCB.
 *
 * Emulated for L1 (AMD APM vol. 2, chapter 15):
 *  - VMRUN (15.5): the instruction checks (EFER.SVME else #UD, CPL 0
 *    else #GP, a page-aligned VMCB in guest RAM else #GP), the VMCB
 *    consistency checks (svm_vmcb_check.c: VMEXIT_INVALID), then L2.
 *  - #VMEXIT (15.6): the VMRUN-loaded state of L2 back into VMCB12 with
 *    exit code, EXITINFO1/2, EXITINTINFO, nRIP (when offered), the
 *    interrupt shadow and V_TPR/V_IRQ; L1 continues after its VMRUN
 *    with its own RAX and RSP; GIF becomes 0.
 *  - VMLOAD/VMSAVE (15.5.2): FS, GS, TR, LDTR with their hidden parts,
 *    KernelGsBase, STAR/LSTAR/CSTAR/SFMASK, SYSENTER_CS/ESP/EIP between
 *    the guest's VMCB page and L1's state (which lives in L1's VMCB).
 *  - STGI/CLGI (15.17): a virtual GIF (svm_vgif). GIF = 0 holds physical
 *    interrupts pending: L1 runs with V_INTR_MASKING (15.21.1: the host's
 *    RFLAGS.IF, 0 in hv.efi, then masks them) and, because Bochs 2.7
 *    lets them through anyway when L1's RFLAGS.IF is set, with the local
 *    APIC's TPR raised to 15; L1's own TPR is kept in V_TPR meanwhile
 *    (where its CR8 accesses go under V_INTR_MASKING) and put back when
 *    GIF is 1 again: STGI, VMRUN (L2 runs with GIF = 1), INIT.
 *  - INVLPGA (15.16.3): on the L2 context's ASID for any nonzero ASID of
 *    L1 (all of L1's ASIDs share one), on L1's own for ASID 0.
 *  - SKINIT: not offered (#UD).
 */
#include "svm.h"
#include "backend.h"
#include "boot_info.h"
#include "log.h"
#include "hw.h"
#include "x86.h"

#define PAGE_MASK_LOW (PAGE_SIZE - 1)


static inline void *l1_ptr(u64 gpa) { return (void *)(uintptr_t)gpa; }

#define APIC_TPR 0x80

/* L1's GIF (s: L1's context), see the top of the file. */
void svm_vgif(struct svm_ctx *s, bool set)
{
	struct vmcb_control *c = &s->vmcb->ctl;
	if (set == !s->vgif_clear)
		return;
	s->vgif_clear = !set;
	if (!set) {
		s->l1_tpr = hw_apic_read(APIC_TPR);
		hw_apic_write(APIC_TPR, 0xf0);
		c->vintr = (c->vintr & ~(u64)SVM_VINTR_V_TPR) | ((s->l1_tpr >> 4) & 0xf) |
			   SVM_VINTR_MASKING;
		return;
	}
	/* A CR8 write while GIF was 0 changed V_TPR: that is L1's TPR now. */
	u32 tpr = (c->vintr & 0xf) == ((s->l1_tpr >> 4) & 0xf) ? s->l1_tpr : (u32)(c->vintr & 0xf) << 4;
	c->vintr &= ~(u64)(SVM_VINTR_MASKING | SVM_VINTR_V_TPR);
	hw_apic_write(APIC_TPR, tpr);
	if (s->want_window) /* an interrupt of hv.efi waited for GIF (svm_inject_irq) */
		svm_open_window(s);
}

u32 svm_nested_features(void)
{
	/* NPT always (the shadow, nested/); nRIP save where the CPU saves it
	 * for VMCB02 (Bochs ryzen, not QEMU TCG). FlushByAsid, clean bits,
	 * decode assists, pause filter, vGIF: not emulated, not offered. */
	return SVM_FEAT_NPT | (svm.nrips ? SVM_FEAT_NRIPS : 0);
}

/* CR4 bits an AMD CPU may implement (APM 3.1.3); the rest MBZ. LA57 only
 * with CPUID 7.ECX[16]. */
static u64 cr4_valid_mask(void)
{
	u32 a, b, c, d;
	cpuid_count(7, 0, &a, &b, &c, &d);
	u64 m = 0x3fffff & ~(u64)(CR4_LA57 | CR4_VMXE | CR4_SMXE | BIT(15) | BIT(19));
	if (c & BIT(16))
		m |= CR4_LA57;
	return m | BIT(23); /* CET */
}

/* VMLOAD/VMSAVE's state (APM 15.5.2, table 15-?: "VMSAVE and VMLOAD"). */
static void copy_vmload_state(struct vmcb_save *to, const struct vmcb_save *from)
{
	to->fs = from->fs;
	to->gs = from->gs;
	to->tr = from->tr;
	to->ldtr = from->ldtr;
	to->kernel_gs_base = from->kernel_gs_base;
	to->star = from->star;
	to->lstar = from->lstar;
	to->cstar = from->cstar;
	to->sfmask = from->sfmask;
	to->sysenter_cs = from->sysenter_cs;
	to->sysenter_esp = from->sysenter_esp;
	to->sysenter_eip = from->sysenter_eip;
}

/* The state VMRUN loads from the VMCB and #VMEXIT saves into it (APM
 * 15.5.1, 15.6): segments ES CS SS DS, GDTR, IDTR, CPL, EFER, CR0/2/3/4,
 * DR6/7, RFLAGS, RIP (RSP and RAX apart: they live in vp->gpr). */
static void copy_vmrun_state(struct vmcb_save *to, const struct vmcb_save *from)
{
	to->es = from->es;
	to->cs = from->cs;
	to->ss = from->ss;
	to->ds = from->ds;
	to->gdtr = from->gdtr;
	to->idtr = from->idtr;
	to->cpl = from->cpl;
	to->efer = from->efer;
	to->cr0 = from->cr0;
	to->cr2 = from->cr2;
	to->cr3 = from->cr3;
	to->cr4 = from->cr4;
	to->dr6 = from->dr6;
	to->dr7 = from->dr7;
	to->rflags = from->rflags;
	to->rip = from->rip;
}

static enum hv_action inject(struct vp *vp, u8 vec)
{
	/* #GP(0) or #UD into L1, the current context. */
	svm_inject_exception(vp, vec, vec == 13, 0);
	return HV_ACT_INJECTED;
}

static enum hv_action vmrun(struct vp *vp, struct hv_exit *e, u64 pa, struct nested_run *run,
			    int *enter)
{
	struct svm_ctx *s2 = vp->l2.be;
	if (!s2)
		return inject(vp, 6);
	/* hv.efi writes VMCB12 at the #VMEXIT: the VTL must be allowed to
	 * write it as well as read it (TLFS 15.9). */
	if ((pa & PAGE_MASK_LOW) || !vp_l1_ram(vp, pa, PAGE_SIZE) || !vp_vtl_allows(vp, pa, PAGE_SIZE, SLAT_ACC_W))
		return inject(vp, 13);
	struct vmcb *v12 = l1_ptr(pa);
	/* L1 continues after VMRUN at the #VMEXIT (15.6), or at once when
	 * the VMCB is rejected. */
	if (svm_advance_rip(vp, e))
		return HV_ACT_FATAL;
	const char *why = svm_vmcb_check(v12, vp->part->phys_addr_bits, svm_efer_valid_mask(),
					 cr4_valid_mask());
	const struct vmcb_control *c = &v12->ctl;
	if (!why && (c->intercept_misc1 & SVM_INTERCEPT_MSR) && !vp_l1_ram(vp, c->msrpm_base_pa & ~PAGE_MASK_LOW, 0x2000))
		why = "MSR permission map not in guest RAM";
	if (!why && (c->intercept_misc1 & SVM_INTERCEPT_IOIO) && !vp_l1_ram(vp, c->iopm_base_pa & ~PAGE_MASK_LOW, 0x3000))
		why = "I/O permission map not in guest RAM";
	if (why) {
		LOGD("nested: VMRUN of VMCB %lx: VMEXIT_INVALID (%s)", (unsigned long)pa, why);
		v12->ctl.exitcode = ~0ull;
		v12->ctl.exitinfo1 = 0;
		v12->ctl.exitinfo2 = 0;
		v12->ctl.exitintinfo = 0;
		run->invalid = true;
		return HV_ACT_RESUME;
	}
	s2->vmcb12_pa = pa;
	s2->l1_cr = c->intercept_cr;
	s2->l1_dr = c->intercept_dr;
	s2->l1_exc = c->intercept_exc;
	s2->l1_misc1 = c->intercept_misc1;
	s2->l1_misc2 = c->intercept_misc2;
	s2->l1_misc3 = c->intercept_misc3;
	s2->l1_msrpm_pa = c->msrpm_base_pa & ~PAGE_MASK_LOW;
	s2->l1_iopm_pa = c->iopm_base_pa & ~PAGE_MASK_LOW;
	run->np = c->np_enable & 1;
	run->l1_root = c->n_cr3;
	run->flush = c->tlb_control != 0;
	/* L1 flushes L2's TLB by giving it a new ASID too (KVM without
	 * FlushByAsid); all of L1's ASIDs share the L2 context's one. */
	run->asid_changed = c->guest_asid != s2->l1_asid;
	s2->l1_asid = c->guest_asid;
	run->enl_npt_tlb = (c->hv_enl_control & HV_VMCB_ENL_NPT_TLB) != 0;
	/* The enlightened MSR bitmap (leaf 0x4000000A bit 19, as Linux's
	 * KVM uses it: svm_hv_vmcb_dirty_nested_enlightenments): with its
	 * flag, clean bit 31 says L1's MSR map did not change since its last
	 * VMRUN. Our merge of it may then be reused (merge_maps). */
	s2->l1_msrpm_clean = (vp->part->nested_enl & BIT(19)) &&
			     (c->hv_enl_control & HV_VMCB_ENL_MSR_BITMAP) &&
			     (c->clean & HV_VMCB_CLEAN_NESTED_ENLIGHTENMENTS);
	/* Direct virtual flush (bit 17, Linux's svm_hv_enable_l2_tlb_flush):
	 * L2's VMMCALLs then go to nested/dflush.c first. */
	s2->l1_direct_flush = (vp->part->nested_enl & BIT(17)) &&
			      (c->hv_enl_control & HV_VMCB_ENL_NESTED_FLUSH_HYPERCALL);
	run->direct_flush = s2->l1_direct_flush;
	run->l2_vp_id = c->hv_vp_id;
	run->l2_vm_id = c->hv_vm_id;
	run->assist_pa = c->hv_partition_assist_page;
	*enter = 1;
	return HV_ACT_RESUME;
}

int svm_nested_insn(struct vp *vp, struct hv_exit *e, enum hv_action *act,
			   struct nested_run *run)
{
	struct svm_ctx *s = svm_of(vp);
	struct vmcb_save *v = &s->vmcb->save;
	u32 code = (u32)e->raw;
	int enter = 0;

	/* APM 15.5: with EFER.SVME clear, or outside protected mode, SVM
	 * instructions are #UD; SKINIT is not offered. Above CPL 0: #GP. */
	if (!s->guest_svme || !(v->cr0 & CR0_PE) || (v->rflags & RFLAGS_VM) ||
	    code == SVM_EXIT_SKINIT || code == SVM_EXIT_VMMCALL) {
		*act = inject(vp, 6);
		return 0;
	}
	if (v->cpl) {
		*act = inject(vp, 13);
		return 0;
	}
	/* rAX: the address size of the instruction (64-bit code: RAX). */
	u64 rax = vp->gpr[GPR_RAX];
	if (!((v->efer & EFER_LMA) && (v->cs.attrib & BIT(9))))
		rax = (u32)rax;
	switch (code) {
	case SVM_EXIT_VMRUN:
		*act = vmrun(vp, e, rax, run, &enter);
		return enter;
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
		if ((rax & PAGE_MASK_LOW) || !vp_l1_ram(vp, rax, PAGE_SIZE) ||
		    (code == SVM_EXIT_VMSAVE && !vp_vtl_allows(vp, rax, PAGE_SIZE, SLAT_ACC_W))) {
			*act = inject(vp, 13);
			return 0;
		}
		if (code == SVM_EXIT_VMLOAD)
			copy_vmload_state(v, &((struct vmcb *)l1_ptr(rax))->save);
		else
			copy_vmload_state(&((struct vmcb *)l1_ptr(rax))->save, v);
		break;
	case SVM_EXIT_STGI:
		svm_vgif(s, true);
		break;
	case SVM_EXIT_CLGI:
		svm_vgif(s, false);
		break;
	case SVM_EXIT_INVLPGA: {
		u32 asid = (u32)vp->gpr[GPR_RCX];
		struct svm_ctx *s2 = vp->l2.be;
		u32 hw = asid == 0 || !s2 ? s->vmcb->ctl.guest_asid : s2->vmcb->ctl.guest_asid;
		__asm__ volatile("invlpga %%rax, %%ecx" : : "a"(rax), "c"(hw) : "memory");
		break;
	}
	default:
		*act = inject(vp, 6);
		return 0;
	}
	*act = HV_ACT_ADVANCE;
	return 0;
}

/* The parts of the maps the CPU reads (APM 15.10.1, 15.11): MSRPM three
 * 2 KiB vectors, IOPM 64 Ki bits and the bits of a 4-byte access at the
 * top (the rest of the 8 and 12 KiB is reserved). In qwords. */
#define MSRPM_QWORDS (0x1800 / 8)
#define IOPM_QWORDS (0x2008 / 8)

static void copy_qwords(u64 *d, const u64 *s, u64 n)
{
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

/* The qwords where a map of ours has bits (they are few: EFER, VM_CR,
 * VM_HSAVE_PA, the x2APIC ICR; the PM1 and reset ports). */
static u8 own_qwords(const u64 *m, u32 n, u16 *idx, bool *many)
{
	u8 k = 0;
	for (u32 i = 0; i < n; i++) {
		if (!m[i])
			continue;
		if (k == 16) {
			*many = true;
			return k;
		}
		idx[k++] = (u16)i;
	}
	return k;
}

/* dst = L1's map | ours (L1's context's map, which holds what hv/
 * requested). With L1's map: copied (L1 may have changed it since the
 * last VMRUN: no clean bits are offered), then our few qwords ORed in.
 * Without: ours alone, rebuilt only when ours changed. */
static inline __attribute__((always_inline)) void
merge_map(u64 *dst, const u64 *ours, u64 l1_pa, u32 n, const u16 *idx, u8 k, bool many, u64 *src,
	  bool stale, bool l1_clean)
{
	if (l1_pa && l1_clean && !stale && *src == l1_pa)
		return; /* L1's map and ours as at the last merge */
	if (l1_pa) {
		copy_qwords(dst, l1_ptr(l1_pa), n);
		if (many)
			for (u32 i = 0; i < n; i++)
				dst[i] |= ours[i];
		else
			for (u8 i = 0; i < k; i++)
				dst[idx[i]] |= ours[idx[i]];
		*src = l1_pa;
	} else if (stale || *src != 1) {
		copy_qwords(dst, ours, n);
		*src = 1;
	}
}

static void merge_maps(struct svm_ctx *s1, struct svm_ctx *s2)
{
	bool stale = s2->merged_for != s1 || s2->merged_gen != s1->maps_gen;
	if (stale) {
		s2->own_many = false;
		s2->n_own_msr = own_qwords((const u64 *)s1->msrpm, MSRPM_QWORDS, s2->own_msr, &s2->own_many);
		s2->n_own_io = own_qwords((const u64 *)s1->iopm, IOPM_QWORDS, s2->own_io, &s2->own_many);
		s2->merged_for = s1;
		s2->merged_gen = s1->maps_gen;
	}
	merge_map((u64 *)s2->msrpm, (const u64 *)s1->msrpm,
		  (s2->l1_misc1 & SVM_INTERCEPT_MSR) ? s2->l1_msrpm_pa : 0, MSRPM_QWORDS, s2->own_msr,
		  s2->n_own_msr, s2->own_many, &s2->merged_msrpm_src, stale, s2->l1_msrpm_clean);
	merge_map((u64 *)s2->iopm, (const u64 *)s1->iopm,
		  (s2->l1_misc1 & SVM_INTERCEPT_IOIO) ? s2->l1_iopm_pa : 0, IOPM_QWORDS, s2->own_io,
		  s2->n_own_io, s2->own_many, &s2->merged_iopm_src, stale, false);
}

void svm_nested_enter(struct vp *vp, struct vp_ctx *l2, bool flush)
{
	struct svm_ctx *s1 = svm_of(vp), *s2 = l2->be;
	struct vmcb *v1 = s1->vmcb, *v2 = s2->vmcb, *v12 = l1_ptr(s2->vmcb12_pa);
	struct vmcb_control *c2 = &v2->ctl;
	const struct vmcb_control *c12 = &v12->ctl;

	/* Intercepts: L1's and ours (15.9-15.13); what only we asked for is
	 * handled here, the rest reflected (svm_l1_wants). */
	c2->intercept_cr = c12->intercept_cr | s2->base_cr;
	c2->intercept_dr = c12->intercept_dr;
	c2->intercept_exc = c12->intercept_exc;
	c2->intercept_misc1 = c12->intercept_misc1 | s2->base_misc1;
	c2->intercept_misc2 = c12->intercept_misc2 | s2->base_misc2;
	c2->intercept_misc3 = c12->intercept_misc3;
	c2->pause_filter_count = 0;
	c2->pause_filter_threshold = 0;
	merge_maps(s1, s2);
	c2->tsc_offset = v1->ctl.tsc_offset + c12->tsc_offset;
	c2->vintr = c12->vintr & (SVM_VINTR_V_TPR | SVM_VINTR_V_IRQ | SVM_VINTR_V_PRIO |
				  SVM_VINTR_V_IGN_TPR | SVM_VINTR_MASKING | SVM_VINTR_VECTOR);
	c2->interrupt_shadow = c12->interrupt_shadow & 1;
	/* With V_INTR_MASKING, physical interrupts in L2 are masked by the
	 * host's RFLAGS.IF (15.21.1): L1's at its VMRUN (KVM runs STI; VMRUN). */
	s2->host_if = (c12->vintr & SVM_VINTR_MASKING) && (v1->save.rflags & RFLAGS_IF);
	/* Event injection into L2 (15.20): delivered by this VMRUN. */
	c2->eventinj = (c12->eventinj & SVM_EVTINJ_VALID) ? c12->eventinj : 0;
	s2->reinject = 0;
	s2->want_window = false;
	s2->intr_rearm = false;
	s2->deadline = 0;
	c2->np_enable = 1;
	c2->n_cr3 = l2->slat->root;
	s2->slat = l2->slat;
	s2->l2_shadow = l2->slat != &vp->part->slat[0];
	if (flush)
		c2->tlb_control = svm.flush_by_asid ? SVM_TLB_FLUSH_ASID : SVM_TLB_FLUSH_ALL;

	copy_vmrun_state(&v2->save, &v12->save);
	/* Without L1's nested paging L2 uses the processor's PAT: L1's. */
	v2->save.g_pat = (c12->np_enable & 1) ? v12->save.g_pat : v1->save.g_pat;
	v2->save.rsp = v12->save.rsp;
	copy_vmload_state(&v2->save, &v1->save); /* what L1 VMLOADed */
	s2->guest_svme = EFER_SVME;
	s2->guest_hsave = s1->guest_hsave;

	/* The GPRs are the processor's: only RAX and RSP come from VMCB12. */
	svm_vgif(s1, true); /* VMRUN sets GIF (15.5.1) */
	s2->l1_rax = vp->gpr[GPR_RAX];
	s2->l1 = vp->cur;
	svm_ctx_switch(vp, l2);
	vp->gpr[GPR_RAX] = v12->save.rax;
	/* An interrupt of hv.efi for L1 waits (svm_inject_irq): with L1's
	 * INTR intercept, L2 exits at once, as for a pending physical
	 * interrupt (APM 15.21.1); L1 takes it after its STGI. */
	if (s1->want_window && (c12->intercept_misc1 & SVM_INTERCEPT_INTR)) {
		/* An event L1 injects is not lost: it goes back to L1 as the
		 * event whose delivery the exit interrupted (15.7.2), which L1
		 * injects again (KVM does, from EXITINTINFO). */
		c2->exitintinfo = (c2->eventinj & SVM_EVTINJ_VALID) ? c2->eventinj : 0;
		c2->nrip = 0;
		svm_nested_exit(vp, SVM_EXIT_INTR, 0, 0);
	}
}

void svm_nested_exit(struct vp *vp, u64 code, u64 info1, u64 info2)
{
	struct svm_ctx *s2 = svm_of(vp), *s1 = s2->l1->be;
	struct vmcb *v1 = s1->vmcb, *v2 = s2->vmcb, *v12 = l1_ptr(s2->vmcb12_pa);
	struct vmcb_control *c12 = &v12->ctl;
	const struct vmcb_control *c2 = &v2->ctl;

	if (!code) {
		code = c2->exitcode;
		info1 = c2->exitinfo1;
		info2 = c2->exitinfo2;
	}
	/* After VMEXIT_INVALID of VMCB02 the CPU may have written host state
	 * into its save area (QEMU does): L2's state is VMCB12's still. */
	if ((u32)code != SVM_EXIT_INVALID) {
		copy_vmrun_state(&v12->save, &v2->save);
		v12->save.efer = (v2->save.efer & ~EFER_SVME) | s2->guest_svme;
		if (c12->np_enable & 1)
			v12->save.g_pat = v2->save.g_pat;
		v12->save.rsp = vp->gpr[GPR_RSP];
		v12->save.rax = vp->gpr[GPR_RAX];
		copy_vmload_state(&v1->save, &v2->save);
	}
	c12->exitcode = code;
	c12->exitinfo1 = info1;
	c12->exitinfo2 = info2;
	c12->exitintinfo = (c2->exitintinfo & SVM_EVTINJ_VALID) ? c2->exitintinfo : 0;
	c12->nrip = svm.nrips ? c2->nrip : 0;
	c12->interrupt_shadow = c2->interrupt_shadow & 1;
	c12->vintr = (c12->vintr & ~(u64)(SVM_VINTR_V_TPR | SVM_VINTR_V_IRQ)) |
		     (c2->vintr & (SVM_VINTR_V_TPR | SVM_VINTR_V_IRQ));
	c12->eventinj = 0;
	s2->reinject = 0;
	s2->vmcb->ctl.eventinj = 0;
	s2->reflected++;

	/* Back to L1 after its VMRUN, RAX as it was, GIF = 0 (15.6). */
	svm_ctx_switch(vp, s2->l1);
	vp->gpr[GPR_RAX] = s2->l1_rax;
	svm_vgif(s1, false);
}

/* An exit of L2, decoded as if it were L1's: an exit L1 intercepts goes
 * to L1 as it is (HV_EXIT_NESTED). NMIs stay hv.efi's first (kicks,
 * hv/smp.c; svm_inject_nmi reflects the guest's own). Otherwise: a fault
 * on the shadow is nested/'s, VMMCALL is no hypercall from L2 (#UD), and
 * INTR/VINTR are hv.efi's deadline and window. */
void svm_decode_l2(struct vp *vp, struct hv_exit *e)
{
	struct svm_ctx *s = svm_of(vp);
	u32 code = (u32)e->raw;
	/* Direct virtual flush: nested/ decides (an L2 TLB flush hypercall
	 * is hv.efi's, anything else goes where it would have gone: L1 when
	 * it intercepts VMMCALL, qual[1], else #UD). */
	if (code == SVM_EXIT_VMMCALL && s->l1_direct_flush) {
		e->reason = HV_EXIT_NESTED_HCALL;
		e->qual[1] = svm_l1_wants(s, code, vp->gpr, e->qual[0]);
		return;
	}
	if (code != SVM_EXIT_NMI && svm_l1_wants(s, code, vp->gpr, e->qual[0])) {
		e->reason = HV_EXIT_NESTED;
		return;
	}
	if (code == SVM_EXIT_NPF && s->l2_shadow)
		e->reason = HV_EXIT_NESTED_NPF;
	else if (code == SVM_EXIT_VMMCALL)
		e->reason = HV_EXIT_VIRT_INSN;
	else if (code == SVM_EXIT_INTR || code == SVM_EXIT_VINTR)
		e->reason = svm_event_exit(s, code);
}

/* One bit of a permission map in L1's memory (checked at VMRUN). */
static bool l1_bit(u64 map_pa, u32 bit)
{
	const u8 *m = l1_ptr(map_pa);
	return (m[bit / 8] >> (bit % 8)) & 1;
}

/* Does L1 intercept the exit `code` of its L2 (APM 15.9-15.13, the
 * intercept vectors as VMRUN read them)? MSR and I/O exits look up
 * L1's permission maps. */
bool svm_l1_wants(const struct svm_ctx *s, u32 code, const u64 *gpr, u64 info1)
{
	if (code < 0x20) /* CR reads 0-15, writes 16-31 */
		return (s->l1_cr >> code) & 1;
	if (code < 0x40)
		return (s->l1_dr >> (code - 0x20)) & 1;
	if (code < 0x60)
		return (s->l1_exc >> (code - 0x40)) & 1;
	if (code < 0x80) {
		if (!((s->l1_misc1 >> (code - 0x60)) & 1))
			return false;
		if (code == SVM_EXIT_MSR) {
			int bit = svm_msrpm_bit((u32)gpr[GPR_RCX]);
			return bit < 0 || l1_bit(s->l1_msrpm_pa, (u32)bit + (info1 ? 1 : 0));
		}
		if (code == SVM_EXIT_IOIO) { /* every byte of the access (15.10.1) */
			u32 port = (u32)(info1 >> 16), n = (info1 & BIT(4)) ? 1 : (info1 & BIT(5)) ? 2 : 4;
			for (u32 i = 0; i < n; i++)
				if (l1_bit(s->l1_iopm_pa, port + i))
					return true;
			return false;
		}
		return true;
	}
	if (code < 0xa0)
		return (s->l1_misc2 >> (code - 0x80)) & 1;
	if (code < 0xc0)
		return (s->l1_misc3 >> (code - 0xa0)) & 1;
	if (code == SVM_EXIT_NPF)
		return false; /* the shadow's business (nested/) */
	return true;       /* VMEXIT_INVALID, and what only L1 can have asked for */
}
