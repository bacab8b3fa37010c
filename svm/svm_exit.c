/*
 * svm_exit.c - turning a #VMEXIT into the neutral exit record, and the
 * per-exit services the dispatcher asks for: advancing RIP (nRIP when the
 * CPU saves it, APM 15.7.1; the known instruction length otherwise),
 * injecting exceptions and interrupts (EVENTINJ, APM 15.20; V_IRQ for the
 * interrupt window, 15.21.4), the host deadline, the guest registers, the
 * MSRs the SVM backend intercepts for itself, and the state dump.
 */
#include "svm.h"
#include "backend.h"
#include "log.h"
#include "x86.h"

void svm_decode_exit(struct vp *vp, struct hv_exit *e)
{
	struct svm_ctx *s = svm_of(vp);
	struct vmcb_control *c = &s->vmcb->ctl;
	u32 code = (u32)c->exitcode;

	*e = (struct hv_exit){ 0 };
	e->raw = c->exitcode;
	e->qual[0] = c->exitinfo1;
	e->qual[1] = c->exitinfo2;
	switch (code) {
	case SVM_EXIT_CPUID:
		e->reason = HV_EXIT_CPUID;
		e->insn_len = 2;
		break;
	case SVM_EXIT_MSR:
		e->reason = c->exitinfo1 ? HV_EXIT_MSR_WRITE : HV_EXIT_MSR_READ;
		e->insn_len = 2;
		e->u.msr.index = (u32)vp->gpr[GPR_RCX];
		e->u.msr.value = (vp->gpr[GPR_RDX] << 32) | (u32)vp->gpr[GPR_RAX];
		break;
	case SVM_EXIT_IOIO: /* APM 15.10.2: EXITINFO2 is the next RIP */
		e->reason = HV_EXIT_IO;
		e->insn_len = (u32)(c->exitinfo2 - s->vmcb->save.rip);
		e->u.io.in = c->exitinfo1 & BIT(0);
		e->u.io.string = c->exitinfo1 & BIT(2);
		e->u.io.rep = c->exitinfo1 & BIT(3);
		e->u.io.size = (c->exitinfo1 & BIT(4)) ? 1 : (c->exitinfo1 & BIT(5)) ? 2 : 4;
		e->u.io.port = (u16)(c->exitinfo1 >> 16);
		break;
	case SVM_EXIT_NPF: /* APM 15.25.6: EXITINFO1 is a #PF-style error code */
		e->reason = HV_EXIT_NPF;
		e->u.npf.gpa = c->exitinfo2;
		e->u.npf.present = c->exitinfo1 & BIT(0);
		e->u.npf.write = c->exitinfo1 & BIT(1);
		e->u.npf.exec = c->exitinfo1 & BIT(4);
		e->u.npf.read = !e->u.npf.write && !e->u.npf.exec;
		break;
	case SVM_EXIT_VMMCALL:
		e->reason = HV_EXIT_HYPERCALL;
		e->insn_len = 3;
		break;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
		e->reason = HV_EXIT_VIRT_INSN;
		e->insn_len = 3;
		break;
	case SVM_EXIT_SHUTDOWN:
		e->reason = HV_EXIT_SHUTDOWN;
		break;
	case SVM_EXIT_WRITE_CR0: /* hv/cr.c checks and emulates them */
	case SVM_EXIT_WRITE_CR4:
		e->reason = HV_EXIT_CR_WRITE;
		e->u.cr.cr = code == SVM_EXIT_WRITE_CR4 ? 4 : 0;
		break;
	case SVM_EXIT_NMI:
		e->reason = HV_EXIT_NMI;
		break;
	case SVM_EXIT_INVALID:
		e->reason = HV_EXIT_ENTRY_FAIL;
		break;
	case SVM_EXIT_EXCP_BASE + 1: /* #DB, #BP: intercepted for the debugger only */
	case SVM_EXIT_EXCP_BASE + 3:
		e->reason = HV_EXIT_EXCEPTION;
		e->u.exc.vector = (u8)(code - SVM_EXIT_EXCP_BASE);
		break;
	case SVM_EXIT_SWINT:
		/* INT n, and under QEMU TCG INT3 as well (its INT3 never
		 * meets the #BP exception intercept): RIP at the instruction,
		 * which the debugger reads (debug/gdbstub.c). */
		e->reason = HV_EXIT_EXCEPTION;
		e->u.exc.vector = 3;
		break;
	case SVM_EXIT_INTR:
	case SVM_EXIT_IRET:
	case SVM_EXIT_VINTR:
		/* In L2, svm_decode_l2 decides whose they are first. */
		e->reason = s->is_l2 ? HV_EXIT_UNKNOWN : svm_event_exit(s, code);
		break;
	default:
		e->reason = HV_EXIT_UNKNOWN;
		break;
	}
	/* The one question the exit path asks about nesting, last, so that
	 * L1's exits pay one compare (docs/nested.md). */
	if (__builtin_expect(s->is_l2, 0))
		svm_decode_l2(vp, e);
}

int svm_advance_rip(struct vp *vp, const struct hv_exit *e)
{
	struct vmcb *v = svm_of(vp)->vmcb;
	/* nRIP is saved for instruction intercepts only (APM 15.7.1); for I/O
	 * and emulated memory accesses the length is known. */
	if (svm.nrips && v->ctl.nrip && e->reason != HV_EXIT_IO && e->reason != HV_EXIT_NPF)
		v->save.rip = v->ctl.nrip;
	else if (e->insn_len)
		v->save.rip += e->insn_len;
	else
		return -1;
	v->ctl.interrupt_shadow &= ~1ull; /* the emulated instruction retired */
	return 0;
}

void svm_inject_exception(struct vp *vp, u8 vector, bool has_error, u32 error)
{
	struct svm_ctx *s = svm_of(vp);
	/* Into L2, an exception L1 intercepts is an exit to L1 (injected
	 * events bypass the intercept checks, APM 15.20). */
	if (__builtin_expect(s->is_l2, 0) && vector < 32 && ((s->l1_exc >> vector) & 1)) {
		svm_nested_exit(vp, SVM_EXIT_EXCP_BASE + vector, has_error ? error : 0,
				vector == 14 ? s->vmcb->save.cr2 : 0);
		return;
	}
	u64 ev = vector | SVM_EVTINJ_TYPE_EXC | SVM_EVTINJ_VALID;
	if (has_error)
		ev |= SVM_EVTINJ_EV | ((u64)error << 32);
	s->vmcb->ctl.eventinj = ev;
}

void svm_inject_nmi(struct vp *vp)
{
	struct svm_ctx *s = svm_of(vp);
	if (__builtin_expect(s->is_l2, 0) && (s->l1_misc1 & SVM_INTERCEPT_NMI)) {
		svm_nested_exit(vp, SVM_EXIT_NMI, 0, 0);
		return;
	}
	svm_of(vp)->vmcb->ctl.eventinj = 2 | SVM_EVTINJ_TYPE_NMI | SVM_EVTINJ_VALID;
}

/* Drop intercepts hv.efi set for itself (window, deadline, IRET), but
 * not those L1 asked for in an L2 context: VMCB02 carries L1's intercepts
 * too (svm_nested_enter), and a physical interrupt L1 intercepts must
 * exit to L1, not be taken by L2 (APM 15.21.1). */
static inline void misc1_clear(struct svm_ctx *s, u32 bits)
{
	if (__builtin_expect(s->is_l2, 0))
		bits &= ~s->l1_misc1;
	s->vmcb->ctl.intercept_misc1 &= ~bits;
}

/* The interrupt window (APM 15.21.4): a virtual interrupt (V_IRQ, TPR
 * ignored) that the guest "takes" when its RFLAGS.IF and interrupt
 * shadow allow, intercepted (VINTR) before it is delivered. It serves
 * inject_irq. */
static void window(struct svm_ctx *s, bool on)
{
	struct vmcb_control *c = &s->vmcb->ctl;
	if (on) {
		c->vintr |= SVM_VINTR_V_IRQ | SVM_VINTR_V_IGN_TPR;
		c->intercept_misc1 |= SVM_INTERCEPT_VINTR;
	} else {
		c->vintr &= ~(u64)(SVM_VINTR_V_IRQ | SVM_VINTR_V_IGN_TPR);
		misc1_clear(s, SVM_INTERCEPT_VINTR);
	}
}

/* Open the window inject_irq asked for (want_window). */
void svm_open_window(struct svm_ctx *s)
{
	window(s, true);
	/* While V_IRQ waits, a physical interrupt exits instead of being
	 * taken under it: QEMU 7.2's TCG asserts when the guest writes CR8
	 * with V_IRQ pending (helper_write_crN calls cpu_interrupt without
	 * the iothread lock), and OVMF's interrupt stubs restore CR8. At
	 * that exit the guest can take an interrupt: the window is open. */
	s->vmcb->ctl.intercept_misc1 |= SVM_INTERCEPT_INTR;
}

int svm_inject_irq(struct vp *vp, u8 vector)
{
	struct svm_ctx *s = svm_of(vp);
	/* The interrupts hv.efi injects (the SynIC's auto-EOI vectors) are
	 * L1's. In L2, one L1 intercepts (INTR, APM 15.21.1) is a #VMEXIT
	 * to L1 first, which takes it after its STGI; Linux's KVM depends
	 * on that (else L1's interrupt lands in L2, and KVM re-injects it
	 * there from EXITINTINFO). Not intercepted: L2 takes it, as a
	 * physical interrupt would be. */
	if (__builtin_expect(s->is_l2, 0) && (s->l1_misc1 & SVM_INTERCEPT_INTR)) {
		svm_nested_exit(vp, SVM_EXIT_INTR, 0, 0);
		s = svm_of(vp);
	}
	struct vmcb *v = s->vmcb;
	/* While L1's GIF is 0 it waits (no window: a V_IRQ would be taken
	 * at L1's RFLAGS.IF alone); svm_vgif opens the window at STGI. */
	if (!s->vgif_clear && (v->save.rflags & RFLAGS_IF) && !(v->ctl.interrupt_shadow & 1) &&
	    !(v->ctl.eventinj & SVM_EVTINJ_VALID) && !s->reinject) {
		v->ctl.eventinj = vector | SVM_EVTINJ_TYPE_INTR | SVM_EVTINJ_VALID;
		return 0;
	}
	s->want_window = true;
	if (!s->vgif_clear)
		svm_open_window(s);
	return 1;
}

/* The host deadline (docs/architecture.md, "Host deadline and interrupt window"): SVM
 * has no preemption timer. While one is armed, physical interrupts exit
 * (INTR intercept) and every entry and such exit checks the TSC. */
static void rearm_off(struct svm_ctx *s)
{
	misc1_clear(s, SVM_INTERCEPT_IRET);
	s->intr_rearm = false;
}

void svm_set_deadline(struct vp *vp, u64 tsc)
{
	struct svm_ctx *s = svm_of(vp);
	s->deadline = tsc;
	if (tsc && !s->intr_rearm)
		s->vmcb->ctl.intercept_misc1 |= SVM_INTERCEPT_INTR;
	if (!tsc) {
		if (!s->want_window) /* the window keeps it (svm_inject_irq) */
			misc1_clear(s, SVM_INTERCEPT_INTR);
		rearm_off(s);
	}
}

/* svm_set_deadline(0) on old, then svm_set_deadline(d) on s, in one
 * call: a VTL switch with a deadline armed does this twice per round
 * trip (docs/performance.md). */
void svm_move_deadline(struct svm_ctx *old, struct svm_ctx *s)
{
	u64 d = old->deadline;
	old->deadline = 0;
	if (!old->want_window)
		misc1_clear(old, SVM_INTERCEPT_INTR);
	rearm_off(old);
	s->deadline = d;
	if (!s->intr_rearm)
		s->vmcb->ctl.intercept_misc1 |= SVM_INTERCEPT_INTR;
}

/* Due: disarmed (one-shot), true. */
bool svm_deadline_due(struct svm_ctx *s)
{
	if (rdtsc() < s->deadline)
		return false;
	s->deadline = 0;
	if (!s->want_window)
		misc1_clear(s, SVM_INTERCEPT_INTR);
	rearm_off(s);
	return true;
}

/*
 * An INTR, IRET or VINTR exit: the neutral reason, or HV_EXIT_NONE when
 * the backend re-enters at once. A physical interrupt stays pending (the
 * host runs with GIF=0). Due or not, it is HV_EXIT_DEADLINE (early when
 * not due: the deadline stays armed). The guest takes it at the next VMRUN
 * without the INTR intercept, and the guest's IRET at the
 * end of its handler (intercepted, before it executes) turns the
 * intercept back on. Not a virtual-interrupt window (V_IRQ, as inject_irq
 * uses): QEMU 7.2 aborts (tcg_handle_interrupt: BQL not held) when the
 * guest writes CR8 while a V_IRQ is pending, which OVMF does in its timer
 * handler; an IRET intercept has no such side. docs/stimer.md.
 */
enum hv_exit_reason svm_event_exit(struct svm_ctx *s, u32 code)
{
	struct vmcb_control *c = &s->vmcb->ctl;
	if (code == SVM_EXIT_INTR) {
		if (!s->deadline) { /* cancelled meanwhile: the guest takes it */
			misc1_clear(s, SVM_INTERCEPT_INTR);
			if (s->want_window) { /* see svm_inject_irq */
				s->want_window = false;
				window(s, false);
				return HV_EXIT_INTR_WINDOW;
			}
			return HV_EXIT_NONE;
		}
		if (svm_deadline_due(s))
			return HV_EXIT_DEADLINE;
		misc1_clear(s, SVM_INTERCEPT_INTR);
		c->intercept_misc1 |= SVM_INTERCEPT_IRET;
		s->intr_rearm = true;
		if (s->want_window) { /* see svm_inject_irq: no V_IRQ pending */
			s->want_window = false; /* while the guest takes it */
			window(s, false);
			return HV_EXIT_INTR_WINDOW;
		}
		/* Early, and said so (backend.h): the caller may re-decide,
		 * e.g. borrow a local APIC timer the guest just let go. */
		return HV_EXIT_DEADLINE;
	}
	if (code == SVM_EXIT_IRET) { /* the guest's handler returns */
		rearm_off(s);
		if (s->deadline)
			c->intercept_misc1 |= SVM_INTERCEPT_INTR;
		return HV_EXIT_NONE;
	}
	/* VINTR: the window inject_irq asked for is open. */
	window(s, false);
	if (!s->want_window)
		return HV_EXIT_NONE;
	s->want_window = false;
	if (!s->deadline)
		misc1_clear(s, SVM_INTERCEPT_INTR);
	return HV_EXIT_INTR_WINDOW;
}

u64 svm_read_reg(struct vp *vp, enum guest_reg r)
{
	struct svm_ctx *s = svm_of(vp);
	const struct vmcb_save *v = &s->vmcb->save;
	switch (r) {
	case GREG_RIP: return v->rip;
	case GREG_RFLAGS: return v->rflags;
	case GREG_CR0: return v->cr0;
	case GREG_CR2: return v->cr2;
	case GREG_CR3: return v->cr3;
	case GREG_CR4: return v->cr4;
	case GREG_EFER: return svm_guest_efer(v, s->guest_svme);
	case GREG_CPL: return v->cpl;
	case GREG_CS_L: return (v->cs.attrib >> 9) & 1;
	case GREG_CS_BASE: return v->cs.base;
	case GREG_MODE:
		return (v->cpl & GMODE_CPL) | ((v->cr0 & CR0_PE) ? GMODE_PE : 0) |
		       ((v->rflags & RFLAGS_VM) ? GMODE_VM : 0) | ((svm_guest_efer(v, 0) & EFER_LMA) ? GMODE_LMA : 0) |
		       (((v->cs.attrib >> 9) & 1) ? GMODE_CS_L : 0);
	default: return 0;
	}
}

/* EFER bits this CPU implements (APM 3.1.7); a write of any other is #GP. */
u64 svm_efer_valid_mask(void)
{
	static u64 mask;
	if (!mask) {
		u32 a, b, c, d;
		cpuid_count(0x80000001, 0, &a, &b, &c, &d);
		mask = EFER_SCE | EFER_LME | EFER_LMA | EFER_SVME;
		mask |= (d & BIT(20)) ? EFER_NXE : 0;
		mask |= (d & BIT(25)) ? BIT(14) : 0; /* FFXSR */
		mask |= (c & BIT(17)) ? BIT(15) : 0; /* TCE */
	}
	return mask;
}

enum be_msr_result svm_msr_read(struct vp *vp, u32 msr, u64 *val)
{
	struct svm_ctx *s = svm_of(vp);
	switch (msr) {
	case MSR_EFER: /* SVME reads as the guest last wrote it */
		*val = svm_read_reg(vp, GREG_EFER);
		return BE_MSR_OK;
	case MSR_AMD_VM_CR:
		/* nested=off: SVM disabled and locked, as firmware leaves it;
		 * nested=on: enabled and locked (APM 15.30.1). */
		*val = VM_CR_LOCK | (vp->part->nested ? 0 : VM_CR_SVMDIS);
		return BE_MSR_OK;
	case MSR_AMD_VM_HSAVE_PA: /* the real one is hypervisor memory */
		*val = s->guest_hsave;
		return BE_MSR_OK;
	case MSR_IA32_PAT: /* the context's own (svm_ctx_create) */
		*val = s->vmcb->save.g_pat;
		return BE_MSR_OK;
	default:
		return BE_MSR_NOT_MINE;
	}
}

/* SDM 11.12.2 / APM 7.8.1: every PAT entry a defined memory type (0, 1,
 * 4-7), else #GP. */
static bool pat_valid(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 t = (u8)(pat >> (8 * i));
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

enum be_msr_result svm_msr_write(struct vp *vp, u32 msr, u64 val)
{
	struct svm_ctx *s = svm_of(vp);
	struct vmcb_save *v = &s->vmcb->save;
	switch (msr) {
	case MSR_EFER:
		if (val & ~svm_efer_valid_mask())
			return BE_MSR_GP;
		/* APM 14.6.1: LME may not change while paging is on. */
		if ((v->cr0 & CR0_PG) && ((val ^ v->efer) & EFER_LME))
			return BE_MSR_GP;
		s->guest_svme = val & EFER_SVME;
		/* LMA is the CPU's; SVME stays set for VMRUN. */
		v->efer = (val & ~EFER_LMA) | (v->efer & EFER_LMA) | EFER_SVME;
		return BE_MSR_OK;
	case MSR_AMD_VM_CR: /* locked: writes to LOCK and SVMDIS are ignored */
		return BE_MSR_OK;
	case MSR_AMD_VM_HSAVE_PA: /* APM 15.30.4: page-aligned, a legal address */
		if ((val & (PAGE_SIZE - 1)) || (val >> vp->part->phys_addr_bits))
			return BE_MSR_GP;
		s->guest_hsave = val;
		return BE_MSR_OK;
	case MSR_IA32_PAT:
		if (!pat_valid(val))
			return BE_MSR_GP;
		v->g_pat = val;
		return BE_MSR_OK;
	default:
		return BE_MSR_NOT_MINE;
	}
}

static void dump_seg(const char *n, const struct vmcb_seg *g)
{
	log_raw("  %-4s sel %04x attr %03x limit %08x base %016lx\r\n", n, g->sel, g->attrib,
		g->limit, (unsigned long)g->base);
}

void svm_dump(struct vp *vp)
{
	struct svm_ctx *s = svm_of(vp);
	const struct vmcb_control *c = &s->vmcb->ctl;
	const struct vmcb_save *v = &s->vmcb->save;
	const u64 *r = vp->gpr;

	log_raw("  control: exitcode %lx info1 %lx info2 %lx intinfo %lx eventinj %lx\r\n",
		(unsigned long)c->exitcode, (unsigned long)c->exitinfo1, (unsigned long)c->exitinfo2,
		(unsigned long)c->exitintinfo, (unsigned long)c->eventinj);
	log_raw("  control: intercepts cr %x dr %x exc %x misc %x %x asid %u np %lx ncr3 %lx nrip %lx\r\n",
		c->intercept_cr, c->intercept_dr, c->intercept_exc, c->intercept_misc1,
		c->intercept_misc2, c->guest_asid, (unsigned long)c->np_enable,
		(unsigned long)c->n_cr3, (unsigned long)c->nrip);
	log_raw("  guest: rip %016lx rsp %016lx rflags %lx cpl %u\r\n", (unsigned long)v->rip,
		(unsigned long)v->rsp, (unsigned long)v->rflags, v->cpl);
	log_raw("  guest: cr0 %lx cr2 %lx cr3 %lx cr4 %lx efer %lx pat %lx\r\n",
		(unsigned long)v->cr0, (unsigned long)v->cr2, (unsigned long)v->cr3,
		(unsigned long)v->cr4, (unsigned long)v->efer, (unsigned long)v->g_pat);
	log_raw("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\r\n", (unsigned long)v->rax,
		(unsigned long)r[GPR_RBX], (unsigned long)r[GPR_RCX], (unsigned long)r[GPR_RDX]);
	log_raw("  rsi %016lx rdi %016lx rbp %016lx r8  %016lx\r\n", (unsigned long)r[GPR_RSI],
		(unsigned long)r[GPR_RDI], (unsigned long)r[GPR_RBP], (unsigned long)r[GPR_R8]);
	dump_seg("cs", &v->cs);
	dump_seg("ss", &v->ss);
	dump_seg("ds", &v->ds);
	dump_seg("tr", &v->tr);
	log_raw("  gdtr %lx/%x idtr %lx/%x\r\n", (unsigned long)v->gdtr.base, v->gdtr.limit,
		(unsigned long)v->idtr.base, v->idtr.limit);
}

/* The guest debugger (docs/debugging.md). #BP: the exception intercept
 * (APM 15.12), RIP at the INT3. A step: RFLAGS.TF and the #DB intercept;
 * the #DB trap exits after one instruction (RIP past it). TF is the
 * guest's register, so its own value is kept and put back when the step
 * ends; DR6 likewise (the trap sets DR6.BS). What the guest could still
 * see during the one stepped instruction (a PUSHF, an interrupt frame) is
 * in docs/debugging.md. */
void svm_debug_ctl(struct vp *vp, u32 flags)
{
	struct svm_ctx *s = svm_of(vp);
	struct vmcb *v = s->vmcb;
	bool step = flags & BE_DBG_STEP, was = s->dbg & BE_DBG_STEP;

	if (step && !was) {
		s->dbg_tf = v->save.rflags & RFLAGS_TF;
		v->save.rflags |= RFLAGS_TF;
	} else if (!step && was) {
		if (!s->dbg_tf)
			v->save.rflags &= ~(u64)RFLAGS_TF;
		v->save.dr6 &= ~(u64)BIT(14); /* DR6.BS of our trap */
	}
	v->ctl.intercept_exc &= ~(u32)(BIT(1) | BIT(3));
	v->ctl.intercept_misc1 &= ~(u32)SVM_INTERCEPT_INTN;
	if (step)
		v->ctl.intercept_exc |= BIT(1);
	/* #BP, and INT n: QEMU TCG delivers INT3 as a software interrupt
	 * that only the INTn intercept sees (its raise_interrupt2 checks the
	 * exception intercepts for is_int == 0 only); real CPUs raise #BP. */
	if (flags & BE_DBG_BP) {
		v->ctl.intercept_exc |= BIT(3);
		v->ctl.intercept_misc1 |= SVM_INTERCEPT_INTN;
	}
	s->dbg = (u8)flags;
}
