/*
 * svm.c - AMD SVM backend: enabling SVM, the partition's nested page tables,
 * contexts (a VMCB built from an initial state, with its ASID and
 * permission maps), and the run loop step (APM vol. 2, chapter 15).
 *
 * What is intercepted, and why (everything else runs natively):
 *  - CPUID: the Hv#1 leaves, hiding SVM (TLFS 2.2-2.4).
 *  - MSRs outside the permission map (the 0x40000000 range, always) and
 *    EFER, VM_CR, VM_HSAVE_PA (hide SVM: the guest runs with EFER.SVME=1);
 *    more as hv/ requests them (msr_intercept: the x2APIC ICR, hv/smp.c).
 *  - VMRUN (required by VMRUN itself), VMMCALL, VMLOAD, VMSAVE, STGI, CLGI,
 *    SKINIT, INVLPGA: SVM instructions are #UD for the guest.
 *  - Port I/O only on the ports hv/ requests (io_intercept: hv/io.c).
 *  - SHUTDOWN: a guest triple fault must not reset the host silently.
 *  - NMI: other VPs kick this one with an NMI (INIT/SIPI, hv/smp.c); the
 *    guest's own NMIs are handed back to it.
 *  - Through the NPT, xAPIC page writes (hv/smp.c).
 *  - While a host deadline is armed, physical interrupts (INTR) and the
 *    interrupt window after one (VINTR); VINTR also when inject_irq waits
 *    for the guest to take an interrupt (docs/architecture.md).
 */
#include "svm.h"
#include "arch.h"
#include "backend.h"
#include "boot_info.h"
#include "hv_abi.h"
#include "log.h"
#include "pool.h"
#include "tlfs.h"
#include "x86.h"

struct svm_global svm;

static int svm_probe(void)
{
	u32 a, b, c, d;
	cpuid_count(0x80000000, 0, &a, &b, &c, &d);
	if (a < 0x8000000a)
		return -1;
	cpuid_count(0x80000001, 0, &a, &b, &c, &d);
	if (!(c & BIT(2)))
		return -1;
	if (rdmsr(MSR_AMD_VM_CR) & VM_CR_SVMDIS)
		return -1; /* disabled by firmware */
	cpuid_count(0x8000000a, 0, &a, &b, &c, &d);
	if (!(d & SVM_FEAT_NPT))
		return -1;
	svm.nrips = d & SVM_FEAT_NRIPS;
	svm.flush_by_asid = d & SVM_FEAT_FLUSH_BY_ASID;
	svm.asid_limit = b;
	svm.features = d;
	return 0;
}

/* The intercept bit of msr for access (BE_INTERCEPT_*) in the context's
 * map (svm_msrpm_bit); -1 outside the map's blocks: it always exits. */
static int msrpm_set(struct svm_ctx *s, u32 msr, u32 access, bool on)
{
	int bit = svm_msrpm_bit(msr);
	if (bit < 0)
		return on ? 0 : -1;
	for (u32 i = 0; i < 2; i++, bit++) {
		if (!(access & (i ? BE_INTERCEPT_WRITE : BE_INTERCEPT_READ)))
			continue;
		u8 m = (u8)(1u << (bit % 8));
		s->msrpm[bit / 8] = on ? s->msrpm[bit / 8] | m : s->msrpm[bit / 8] & (u8)~m;
	}
	s->maps_gen++; /* an L2 context's merged maps are stale */
	return 0;
}

/* The MSRs the backend keeps intercepted for itself (svm_msr_read). */
static bool own_msr(u32 msr)
{
	return msr == MSR_EFER || msr == MSR_AMD_VM_CR || msr == MSR_AMD_VM_HSAVE_PA ||
	       msr == MSR_IA32_PAT;
}

static int svm_msr_intercept(struct vp *vp, u32 msr, u32 access, bool on)
{
	if (!on && own_msr(msr))
		return -1;
	return msrpm_set(svm_of(vp), msr, access, on);
}

/* I/O permission map (APM 15.10.1): one bit per port. */
static int svm_io_intercept(struct vp *vp, u16 port, bool on)
{
	u8 *b = &svm_of(vp)->iopm[port / 8], m = (u8)(1u << (port % 8));
	*b = on ? *b | m : *b & (u8)~m;
	svm_of(vp)->maps_gen++;
	return 0;
}

static const struct slat_fmt *npt_format(void)
{
	u32 a, b, c, d;
	cpuid_count(0x80000001, 0, &a, &b, &c, &d);
	return (d & BIT(26)) ? &slat_fmt_npt_1g : &slat_fmt_npt;
}

static int svm_partition_create(struct partition *p, const struct boot_info *bi, struct pool *pool)
{
	/* Nested page tables for VTL 0: identity map of everything below
	 * phys_top in the largest pages the CPU offers, with the hypervisor's
	 * memory left out. */
	struct slat *npt = &p->slat[0];
	if (slat_init(npt, npt_format(), pool_alloc_page, pool) ||
	    slat_identity_with_hole(npt, 0, bi->phys_top, bi->resident_base,
				    bi->resident_base + bi->resident_size))
		return -1;
	LOGI("svm: features %x, nested paging (%s pages) to %lx, hypervisor %lx-%lx hidden, nRIP %s",
	     svm.features,
	     npt->fmt->has_1g ? "1G" : "2M", (unsigned long)bi->phys_top,
	     (unsigned long)bi->resident_base, (unsigned long)(bi->resident_base + bi->resident_size),
	     svm.nrips ? "yes" : "no");
	return 0;
}

static void set_seg(struct vmcb_seg *v, const struct seg_state *s)
{
	v->sel = s->sel;
	v->attrib = (u16)((s->attr & 0xff) | ((s->attr >> 4) & 0xf00));
	v->limit = s->limit;
	v->base = s->base;
}

/* A context's CPU state from *g (at creation, and for INIT/SIPI). */
static void load_state(struct svm_ctx *s, const struct guest_boot_state *g)
{
	struct vmcb_control *c = &s->vmcb->ctl;
	struct vmcb_save *v = &s->vmcb->save;
	s->guest_svme = g->efer & EFER_SVME;
	set_seg(&v->es, &g->seg[SEG_ES]);
	set_seg(&v->cs, &g->seg[SEG_CS]);
	set_seg(&v->ss, &g->seg[SEG_SS]);
	set_seg(&v->ds, &g->seg[SEG_DS]);
	set_seg(&v->fs, &g->seg[SEG_FS]);
	set_seg(&v->gs, &g->seg[SEG_GS]);
	set_seg(&v->ldtr, &g->seg[SEG_LDTR]);
	set_seg(&v->tr, &g->seg[SEG_TR]);
	v->gdtr.base = g->gdtr.base;
	v->gdtr.limit = g->gdtr.limit;
	v->idtr.base = g->idtr.base;
	v->idtr.limit = g->idtr.limit;
	v->cpl = (u8)((g->seg[SEG_SS].attr >> 5) & 3);
	v->efer = g->efer | EFER_SVME; /* VMRUN requires it (APM 15.5.1) */
	v->cr0 = g->cr0;
	v->cr2 = g->cr2;
	v->cr3 = g->cr3;
	v->cr4 = g->cr4;
	v->dr6 = g->dr6;
	v->dr7 = g->dr7;
	v->rflags = g->rflags;
	v->rip = g->rip;
	/* RAX and RSP live in the VMCB; svm_run copies them from gpr[] of
	 * the current context. */
	v->rsp = g->rsp;
	v->g_pat = g->pat;
	v->dbgctl = g->debugctl;
	v->star = g->star;
	v->lstar = g->lstar;
	v->cstar = g->cstar;
	v->sfmask = g->sfmask;
	v->kernel_gs_base = g->kernel_gs_base;
	v->sysenter_cs = g->sysenter_cs;
	v->sysenter_esp = g->sysenter_esp;
	v->sysenter_eip = g->sysenter_eip;
	c->eventinj = 0;
	c->interrupt_shadow = 0;
	c->tlb_control = 1; /* a new address space */
	s->reinject = 0;
}

static void svm_load_state(struct vp *vp, const struct guest_boot_state *g)
{
	load_state(svm_of(vp), g);
	vp->gpr[GPR_RSP] = g->rsp;
}

/* INIT (hv/smp.c): a VP in L2 leaves it first (an INIT resets the
 * processor, guest mode included; L1's INIT intercept is not emulated,
 * docs/nested.md), and GIF is 1 again. */
static void svm_init_state(struct vp *vp, const struct guest_boot_state *g)
{
	struct svm_ctx *s = svm_of(vp);
	if (s->is_l2) {
		s->reinject = 0;
		s->vmcb->ctl.eventinj = 0;
		svm_ctx_switch(vp, s->l1);
		s = svm_of(vp);
	}
	svm_vgif(s, true);
	svm_load_state(vp, g);
}

static void get_seg(struct seg_state *s, const struct vmcb_seg *v)
{
	s->sel = v->sel;
	s->attr = (u16)((v->attrib & 0xff) | ((v->attrib & 0xf00) << 4));
	s->limit = v->limit;
	s->base = v->base;
}

/* The inverse of svm_load_state (HvGetVpRegisters, TLFS 7.10.2). The VMCB
 * save area holds all of it, the VMSAVE'd syscall MSRs and CR2 included;
 * EFER.SVME is the guest's own. RAX/RSP are in vp->gpr. */
static void svm_get_state(struct vp *vp, struct guest_boot_state *g)
{
	struct svm_ctx *s = svm_of(vp);
	const struct vmcb_save *v = &s->vmcb->save;
	get_seg(&g->seg[SEG_ES], &v->es);
	get_seg(&g->seg[SEG_CS], &v->cs);
	get_seg(&g->seg[SEG_SS], &v->ss);
	get_seg(&g->seg[SEG_DS], &v->ds);
	get_seg(&g->seg[SEG_FS], &v->fs);
	get_seg(&g->seg[SEG_GS], &v->gs);
	get_seg(&g->seg[SEG_LDTR], &v->ldtr);
	get_seg(&g->seg[SEG_TR], &v->tr);
	g->gdtr = (struct dtr_state){ .limit = (u16)v->gdtr.limit, .base = v->gdtr.base };
	g->idtr = (struct dtr_state){ .limit = (u16)v->idtr.limit, .base = v->idtr.base };
	g->efer = svm_guest_efer(v, s->guest_svme);
	g->cr0 = v->cr0;
	g->cr2 = v->cr2;
	g->cr3 = v->cr3;
	g->cr4 = v->cr4;
	g->dr6 = v->dr6;
	g->dr7 = v->dr7;
	g->rflags = v->rflags;
	g->rip = v->rip;
	g->rsp = vp->gpr[GPR_RSP];
	g->pat = v->g_pat;
	g->debugctl = v->dbgctl;
	g->star = v->star;
	g->lstar = v->lstar;
	g->cstar = v->cstar;
	g->sfmask = v->sfmask;
	g->kernel_gs_base = v->kernel_gs_base;
	g->sysenter_cs = v->sysenter_cs;
	g->sysenter_esp = v->sysenter_esp;
	g->sysenter_eip = v->sysenter_eip;
}

/* HvSetVpRegisters (TLFS 7.10.1): the registers of svm_load_state, but
 * pending events, the interrupt shadow and the TLB stay as they are. */
static void svm_set_state(struct vp *vp, const struct guest_boot_state *g)
{
	struct svm_ctx *s = svm_of(vp);
	struct vmcb_control *c = &s->vmcb->ctl;
	u64 eventinj = c->eventinj, shadow = c->interrupt_shadow, reinject = s->reinject;
	u8 tlb = c->tlb_control;
	svm_load_state(vp, g);
	c->eventinj = eventinj;
	c->interrupt_shadow = shadow;
	c->tlb_control = tlb;
	s->reinject = reinject;
}

/* A context: its VMCB, an ASID of this processor, its own permission
 * maps with the backend's intercepts, its nested page tables. */
static int svm_ctx_create(struct vp *vp, struct vp_ctx *c, const struct guest_boot_state *g,
			  struct pool *pool)
{
	struct svm_cpu *cpu = vp->be_cpu;
	struct svm_ctx *s = pool_alloc_pages(pool, 1);
	u8 *pages = pool_alloc_pages(pool, 6); /* VMCB, MSRPM (2), IOPM (3) */
	u32 asid = be_tag_alloc(&cpu->next_asid, svm.asid_limit);
	if (!s || !pages || !asid)
		return -1;
	s->vmcb = (struct vmcb *)pages;
	s->msrpm = pages + PAGE_SIZE;
	s->iopm = pages + 3 * PAGE_SIZE;
	s->host_save_pa = cpu->host_save_pa;
	s->slat = c->slat;
	msrpm_set(s, MSR_EFER, BE_INTERCEPT_READ | BE_INTERCEPT_WRITE, true);
	msrpm_set(s, MSR_AMD_VM_CR, BE_INTERCEPT_READ | BE_INTERCEPT_WRITE, true);
	msrpm_set(s, MSR_AMD_VM_HSAVE_PA, BE_INTERCEPT_READ | BE_INTERCEPT_WRITE, true);
	/* The guest's PAT is the VMCB's G_PAT (APM 15.25.8), private per
	 * context (per VTL, TLFS 15.11.1.1). QEMU's TCG SVM ignores G_PAT and
	 * lets a guest WRMSR change the one PAT it has, which another context
	 * would then see: accesses go through the VMCB here (rare: an OS sets
	 * its PAT once). */
	msrpm_set(s, MSR_IA32_PAT, BE_INTERCEPT_READ | BE_INTERCEPT_WRITE, true);

	struct vmcb_control *ctl = &s->vmcb->ctl;
	ctl->intercept_misc1 = SVM_INTERCEPT_CPUID | SVM_INTERCEPT_MSR | SVM_INTERCEPT_IOIO |
			       SVM_INTERCEPT_INVLPGA | SVM_INTERCEPT_SHUTDOWN | SVM_INTERCEPT_NMI;
	/* Every CR0 write (MOV, LMSW, CLTS) and CR4 write is checked as the
	 * processor would (hv/cr.c): an emulator may accept invalid values
	 * and then fail the next VMRUN, or drop bits 63:32 where the
	 * processor raises #GP (docs/svm.md "CR0 and CR4 writes"). */
	ctl->intercept_cr = SVM_INTERCEPT_CR_WRITE(0) | SVM_INTERCEPT_CR_WRITE(4);
	ctl->intercept_misc2 = SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL | SVM_INTERCEPT_VMLOAD |
			       SVM_INTERCEPT_VMSAVE | SVM_INTERCEPT_STGI | SVM_INTERCEPT_CLGI |
			       SVM_INTERCEPT_SKINIT;
	s->base_cr = ctl->intercept_cr;
	s->base_misc1 = ctl->intercept_misc1;
	s->base_misc2 = ctl->intercept_misc2;
	s->is_l2 = c->l2;
	ctl->iopm_base_pa = (u64)(uintptr_t)s->iopm;
	ctl->msrpm_base_pa = (u64)(uintptr_t)s->msrpm;
	ctl->guest_asid = asid;
	ctl->np_enable = 1;
	ctl->n_cr3 = s->slat->root;
	load_state(s, g); /* TLB_CONTROL 1: flush on the first VMRUN */
	c->be = s;
	c->live = true;
	return 0;
}

/* The CPU has TSC_AUX (RDTSCP): a VTL switch swaps it (svm_vp_init). */
static bool svm_have_tsc_aux;

/* Contexts share the GPRs (vp->gpr) except RSP, which the VMCB holds.
 * Between two VTLs of the VP, CR2 and DR6 are shared too (TLFS 15.11.2.2;
 * DR6 as HvRegisterVsmCapabilities.Dr6Shared says): the VMCB holds them,
 * so they move to the incoming one; TSC_AUX is private (15.11.1) and in no
 * VMCB: the CPU holds the current context's, written only when the two
 * differ (a WRMSR is costly). DR0-DR3, XCR0 and the FPU/SSE/AVX state are
 * not in the VMCB and the host never touches them: shared. */
void svm_ctx_switch(struct vp *vp, struct vp_ctx *c)
{
	struct svm_ctx *old = svm_of(vp), *s = c->be;
	if (old && old != s) {
		old->vmcb->save.rsp = vp->gpr[GPR_RSP];
		vp->gpr[GPR_RSP] = s->vmcb->save.rsp;
		if (vp->cur && vp->cur->vtl != c->vtl) {
			s->vmcb->save.cr2 = old->vmcb->save.cr2;
			s->vmcb->save.dr6 = old->vmcb->save.dr6;
			if (svm_have_tsc_aux) {
				old->tsc_aux = rdmsr(MSR_TSC_AUX);
				if (s->tsc_aux != old->tsc_aux)
					wrmsr(MSR_TSC_AUX, s->tsc_aux);
			}
		}
		/* The host deadline is the VP's, not a context's: it moves
		 * with the switch (L1 <-> L2, docs/nested.md; VTLs). */
		if (old->deadline)
			svm_move_deadline(old, s);
	}
	vp->cur = c;
	vp->be = s;
}

static int svm_vp_init(struct vp *vp, const struct guest_boot_state *g, struct pool *pool)
{
	struct svm_cpu *cpu = pool_alloc_pages(pool, 1);
	u8 *pages = pool_alloc_pages(pool, 2);
	if (!cpu || !pages)
		return -1;
	vp->be_cpu = cpu;
	cpu->host_save_pa = (u64)(uintptr_t)pages;
	cpu->hsave_pa = (u64)(uintptr_t)(pages + PAGE_SIZE);
	cpu->next_asid = 1;

	/* EFER.NXE: the NX bit of the nested page tables (the VTL
	 * protections' no-execute pages, TLFS 15.9) is reserved without it
	 * (APM 15.25.5). The host's own tables set no NX bit. */
	u32 a, b, c2, d;
	cpuid_count(0x80000001, 0, &a, &b, &c2, &d);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME | ((d & BIT(20)) ? EFER_NXE : 0));
	svm_have_tsc_aux = d & BIT(27);
	wrmsr(MSR_AMD_VM_HSAVE_PA, cpu->hsave_pa);
	/* From here the host runs with GIF=0 (APM 15.17): physical NMIs and
	 * interrupts stay pending and are taken by the guest after VMRUN. */
	__asm__ volatile("clgi");
	/* The host's FS/GS/TR/LDTR/syscall MSRs, restored after each exit. */
	__asm__ volatile("vmsave %%rax" ::"a"(cpu->host_save_pa) : "memory");

	struct vp_ctx *c = &vp->ctx[0];
	c->vtl = 0;
	c->slat = &vp->part->slat[0];
	if (svm_ctx_create(vp, c, g, pool))
		return -1;
	svm_ctx_switch(vp, c);
	vp->gpr[GPR_RSP] = g->rsp;
	vp->gpr[GPR_RAX] = 0; /* hv_launch returns 0 in the guest */
	return 0;
}

/* One VMRUN and its exit, decoded. */
static inline __attribute__((always_inline)) void run_once(struct vp *vp, struct svm_ctx *s,
							   struct hv_exit *e)
{
	struct vmcb *vmcb = s->vmcb;

	/* An event whose delivery was cut short by the last exit is delivered
	 * again, unless a handler queued an exception in its place. */
	if (s->reinject && !(vmcb->ctl.eventinj & SVM_EVTINJ_VALID))
		vmcb->ctl.eventinj = s->reinject;
	vmcb->save.rax = vp->gpr[GPR_RAX];
	vmcb->save.rsp = vp->gpr[GPR_RSP];
	if (__builtin_expect(s->host_if, 0))
		svm_run_asm_if(vp->gpr, (u64)(uintptr_t)vmcb, s->host_save_pa);
	else
		svm_run_asm(vp->gpr, (u64)(uintptr_t)vmcb, s->host_save_pa);
	vp->gpr[GPR_RAX] = vmcb->save.rax;
	vp->gpr[GPR_RSP] = vmcb->save.rsp;
	/* An intercepted NMI stays pending until GIF is set (APM 15.17): take
	 * it in the host now (arch/x86_64/trap.c notes it for hv/smp.c), or
	 * the next VMRUN would exit on it again. */
	if ((u32)vmcb->ctl.exitcode == SVM_EXIT_NMI)
		__asm__ volatile("stgi; clgi" ::: "memory");
	vmcb->ctl.tlb_control = 0;
	vmcb->ctl.eventinj = 0;
	s->reinject = (vmcb->ctl.exitintinfo & SVM_EVTINJ_VALID) ? vmcb->ctl.exitintinfo : 0;
	svm_decode_exit(vp, e);
}

/* With a deadline armed: due before the entry, it is the exit; physical
 * interrupts before it are the guest's, and the backend enters again
 * (svm_event_exit). Only here can an exit be internal (HV_EXIT_NONE). */
static __attribute__((noinline)) void run_armed(struct vp *vp, struct svm_ctx *s, struct hv_exit *e)
{
	do {
		if (s->deadline && svm_deadline_due(s)) {
			*e = (struct hv_exit){ .reason = HV_EXIT_DEADLINE };
			return;
		}
		run_once(vp, s, e);
	} while (e->reason == HV_EXIT_NONE);
}

static void svm_run(struct vp *vp, struct hv_exit *e)
{
	struct svm_ctx *s = svm_of(vp);
	if (s->deadline)
		run_armed(vp, s, e);
	else
		run_once(vp, s, e);
}

/* Guest TLB flushes (TLFS 9.4) on this VP's processor: a page at once
 * with INVLPGA on the guest's ASID (APM 15.16.3); the whole ASID with
 * TLB_CONTROL at the next VMRUN, which is before the guest runs again.
 * Without FlushByAsid (QEMU) TLB_CONTROL can only flush every ASID. A
 * broader flush already pending is kept. */
static void svm_tlb_flush(struct vp *vp, enum tlb_flush kind, u64 gva)
{
	struct vmcb_control *c = &svm_of(vp)->vmcb->ctl;
	if (kind == TLB_FLUSH_ADDR) {
		__asm__ volatile("invlpga %%rax, %%ecx" : : "a"(gva), "c"(c->guest_asid) : "memory");
		return;
	}
	u8 want = !svm.flush_by_asid ? SVM_TLB_FLUSH_ALL
		  : kind == TLB_FLUSH_NONGLOBAL ? SVM_TLB_FLUSH_ASID_NONGLOBAL : SVM_TLB_FLUSH_ASID;
	if (c->tlb_control == SVM_TLB_FLUSH_ALL ||
	    (c->tlb_control == SVM_TLB_FLUSH_ASID && want == SVM_TLB_FLUSH_ASID_NONGLOBAL))
		return;
	c->tlb_control = want;
}

static u32 svm_hw_features(void) { return HV_HW_MSR_BITMAPS | HV_HW_SLAT; }

/* Lazy MMIO above the memory map: map the large page around gpa. */
static int svm_slat_map_identity(struct vp *vp, u64 gpa)
{
	u64 base, sz;
	if (slat_map_identity_large(svm_of(vp)->slat, gpa, &base, &sz))
		return -1;
	LOGD("npt: mapped %lx-%lx on demand", (unsigned long)base, (unsigned long)(base + sz));
	return 0;
}

/* Overlay pages (TLFS 5.2.1): one 4K NPT entry; the change takes effect
 * with a TLB flush on the next VMRUN (TLB_CONTROL 1: QEMU's SVM has no
 * flush-by-ASID). */
static int svm_slat_set_page(struct vp *vp, u64 gpa, u64 hpa, enum slat_access acc)
{
	struct svm_ctx *s = svm_of(vp);
	if (slat_set_access(s->slat, gpa, hpa, acc))
		return -1;
	s->vmcb->ctl.tlb_control = 1;
	return 0;
}

/* TLB_CONTROL 1 flushes every ASID of this processor (APM 15.16.1), so
 * one flush covers whichever view s is. */
static int svm_slat_view_set_page(struct vp *vp, struct slat *t, u64 gpa, u64 hpa,
				  enum slat_access acc)
{
	if (slat_set_access(t, gpa, hpa, acc))
		return -1;
	svm_of(vp)->vmcb->ctl.tlb_control = 1;
	return 0;
}

static void svm_slat_flush(struct vp *vp) { svm_of(vp)->vmcb->ctl.tlb_control = 1; }

/* No preemption timer: the deadline exits at physical interrupts (INTR
 * intercept while armed, svm_set_deadline). */
static enum be_deadline svm_deadline_kind(void) { return BE_DEADLINE_ON_INTR; }

static const u8 vmmcall_insn[3] = { 0x0f, 0x01, 0xd9 };

/* Defined in svm_exit.c. */
int svm_inject_irq(struct vp *vp, u8 vector);
void svm_set_deadline(struct vp *vp, u64 tsc);
/* A checked CR0/CR4 write (hv/cr.c), with what the MOV itself does:
 * EFER.LMA follows CR0.PG when EFER.LME is set (APM 14.6.1; the VMCB
 * holds the guest's EFER as VMRUN will load it), and a change of a bit
 * that shapes translations flushes this ASID's (the MOV did not execute,
 * so the processor flushed nothing; APM 5.5.3). */
static void svm_cr_write(struct vp *vp, int cr, u64 v)
{
	struct vmcb_save *s = &svm_of(vp)->vmcb->save;
	u64 old, flush;
	if (cr == 0) {
		old = s->cr0;
		s->cr0 = v;
		s->efer = (v & CR0_PG) && (s->efer & EFER_LME) ? s->efer | EFER_LMA
							      : s->efer & ~(u64)EFER_LMA;
		flush = (old ^ v) & (CR0_PG | CR0_WP | CR0_PE | CR0_CD | CR0_NW);
	} else {
		old = s->cr4;
		s->cr4 = v;
		flush = (old ^ v) & (CR4_PGE | CR4_PAE | CR4_PSE | CR4_PCIDE | CR4_SMEP | CR4_SMAP |
				     CR4_PKE | CR4_LA57);
	}
	if (flush)
		svm_tlb_flush(vp, TLB_FLUSH_ALL, 0);
}

void svm_inject_exception(struct vp *vp, u8 vector, bool has_error, u32 error);
void svm_inject_nmi(struct vp *vp);
u64 svm_read_reg(struct vp *vp, enum guest_reg r);
enum be_msr_result svm_msr_read(struct vp *vp, u32 msr, u64 *val);
enum be_msr_result svm_msr_write(struct vp *vp, u32 msr, u64 val);
void svm_dump(struct vp *vp);

const struct backend svm_backend = {
	.name = "svm",
	.probe = svm_probe,
	.partition_create = svm_partition_create,
	.vp_init = svm_vp_init,
	.ctx_create = svm_ctx_create,
	.ctx_switch = svm_ctx_switch,
	.run = svm_run,
	.advance_rip = svm_advance_rip,
	.inject_exception = svm_inject_exception,
	.inject_nmi = svm_inject_nmi,
	.inject_irq = svm_inject_irq,
	.set_deadline = svm_set_deadline,
	.deadline_kind = svm_deadline_kind,
	.msr_intercept = svm_msr_intercept,
	.io_intercept = svm_io_intercept,
	.vp_load_state = svm_init_state,
	.vp_get_state = svm_get_state,
	.vp_set_state = svm_set_state,
	.tlb_flush = svm_tlb_flush,
	.cr_write = svm_cr_write,
	.read_reg = svm_read_reg,
	.msr_read = svm_msr_read,
	.msr_write = svm_msr_write,
	.slat_map_identity = svm_slat_map_identity,
	.slat_set_page = svm_slat_set_page,
	.slat_view_set_page = svm_slat_view_set_page,
	.slat_flush = svm_slat_flush,
	.hypercall_insn = vmmcall_insn,
	.dump = svm_dump,
	.hw_features = svm_hw_features,
	.debug_ctl = svm_debug_ctl,
	.nested_features = svm_nested_features,
	/* Leaf 0x4000000A: direct virtual flush (17), the GPA-space flushes
	 * (18), the enlightened MSR bitmap (19), the enlightened NPT TLB (22);
	 * no eVMCS (docs/nested.md, "Enlightenments"). */
	.nested_enl = HV_NESTED_DIRECT_FLUSH | HV_NESTED_GUEST_MAPPING_FLUSH | HV_NESTED_MSR_BITMAP |
		      HV_NESTED_ENLIGHTENED_NPT_TLB,
	.nested_insn = svm_nested_insn,
	.nested_enter = svm_nested_enter,
	.nested_exit = svm_nested_exit,
};
