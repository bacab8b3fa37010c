/*
 * deliver.c - how a SINT reaches the guest (TLFS 11.4, 11.5.1, 11.8.5;
 * docs/synic.md gives the reasons), and the EOM handlers (TLFS 11.8.6).
 *
 * The guest owns its local APIC (hv.efi passes it through), so a SINT
 * without AutoEOI is sent as a fixed interrupt to the target VP's APIC
 * from the processor that raises it (kick_fixed_ipi, hv/kick.c): the APIC
 * then gives exactly the hardware semantics the TLFS asks for ("as with
 * any fixed-priority interrupt ... not acknowledged until the PPR is less
 * than the vector and RFLAGS.IF is set"), wakes a halted VP, and its EOI
 * clears the ISR bit.
 *
 * An AutoEOI SINT must not set an ISR bit no EOI will ever clear (TLFS
 * 11.8.5: the hypervisor performs the EOI; the guest must not). It is
 * therefore injected as an external interrupt by the backend on the
 * target's own processor: the vector waits in a bitmap, the target is
 * asked (registry_request_entry, plus an NMI kick from elsewhere) to
 * inject before its next entry. inject_irq honours RFLAGS.IF and the
 * interrupt shadow (an interrupt window when they block). The APIC
 * priority is honoured by comparing the vector's class with the APIC's
 * PPR before injecting: while the PPR blocks it, the vector waits, and the
 * guest's writes that can lower the PPR exit (xAPIC: every store to the
 * APIC page exits already; x2APIC: the EOI and TPR MSR writes are
 * intercepted while a vector waits), so it is injected right after.
 * Deviation: a MOV to CR8 that lowers the TPR does not exit; the vector
 * is then injected at the VP's next exit of any kind.
 *
 * VTL 1's SynIC (TLFS 15.11.1: private per VTL) does not use the APIC,
 * which both VTLs share here (docs/vsm.md): its SINTs and direct-mode
 * timers are interrupts for VTL 1 (TLFS 15.12.2, partition.vtl_irq): the
 * VP switches to VTL 1 before its next entry if it ran VTL 0, whatever VTL
 * 0's RFLAGS.IF (15.12.2.1: "interrupts targeted at a higher VTL ...
 * preempt"), with entry reason Interrupt in VTL 1's VTL control area
 * (15.8.2), and the vector is injected when VTL 1's RFLAGS.IF allows
 * (pending for VTL 1 meanwhile, never into VTL 0). Injected, it sets no
 * ISR bit: VTL 1 treats every SINT as AutoEOI (its APIC EOI, if it writes
 * one, reaches the shared APIC as for the IPIs to VTL 1).
 */
#include "synic_ctx.h"
#include "backend.h"
#include "hw.h"
#include "kick.h"
#include "module.h"

#define APIC_PPR 0x0a0
#define X2APIC_MSR_TPR 0x808u
#define X2APIC_MSR_EOI 0x80bu

static synic_eom_fn eom_handlers[SYNIC_EOM_HANDLERS];
static u32 eom_count;

/* Idempotent: a module's on_partition may run again (host tests). */
int synic_add_eom_handler(synic_eom_fn fn)
{
	if (!fn)
		return -1;
	for (u32 i = 0; i < eom_count; i++)
		if (eom_handlers[i] == fn)
			return 0;
	if (eom_count == SYNIC_EOM_HANDLERS)
		return -1;
	eom_handlers[eom_count++] = fn;
	return 0;
}

static void deliver_entry(struct vp *vp);
HV_MODULE(synic_deliver, .on_entry = deliver_entry);

void synic_eom_request(struct vp *vp, u8 vtl)
{
	struct synic_ctx *s = vp->ctx[vtl].synic;
	__atomic_or_fetch(&vp->ctx[0].synic->eom_pending, 1u << vtl, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&s->eoms, 1, __ATOMIC_RELAXED);
	registry_request_entry(vp, &hv_module_synic_deliver);
}

static int highest_pending(const struct synic_ctx *s)
{
	for (int w = 3; w >= 0; w--) {
		u64 m = s->aeoi_pending[w];
		if (m)
			return w * 64 + 63 - __builtin_clzll(m);
	}
	return -1;
}

static void aeoi_intercepts(struct vp *vp, struct synic_ctx *s, bool on)
{
	if (s->aeoi_icpt == on)
		return;
	const struct backend *be = vp->part->be;
	be->msr_intercept(vp, X2APIC_MSR_EOI, BE_INTERCEPT_WRITE, on);
	be->msr_intercept(vp, X2APIC_MSR_TPR, BE_INTERCEPT_WRITE, on);
	s->aeoi_icpt = on;
}

/* On vp's processor before its next entry: inject the highest waiting
 * AutoEOI vector the APIC's priority lets through. */
static void aeoi_inject(struct vp *vp, struct synic_ctx *s)
{
	int v = highest_pending(s);
	if (v < 0) {
		aeoi_intercepts(vp, s, false);
		return;
	}
	/* SDM 10.8.3.1: the vector is taken when its priority class is
	 * above the PPR's. */
	if (((u32)v & 0xf0) <= (hw_apic_read(APIC_PPR) & 0xf0)) {
		s->aeoi_blocked++;
		if (hw_x2apic_mode())
			aeoi_intercepts(vp, s, true);
		/* Look again before the next entry (after the EOI or TPR
		 * write that exits, or any other exit). */
		registry_request_entry(vp, &hv_module_synic_deliver);
		return;
	}
	/* 0: queued for this entry; 1: an interrupt window is requested and
	 * HV_EXIT_INTR_WINDOW brings us back here. */
	if (vp->part->be->inject_irq(vp, (u8)v) == 0) {
		__atomic_and_fetch(&s->aeoi_pending[v / 64], ~(1ull << (v % 64)), __ATOMIC_SEQ_CST);
		if (highest_pending(s) >= 0) /* the next one waits for a window */
			vp->part->be->inject_irq(vp, (u8)highest_pending(s));
		else
			aeoi_intercepts(vp, s, false);
	}
}

static void deliver_entry(struct vp *vp)
{
	struct synic_ctx *s0 = vp->ctx[0].synic;
	if (!s0)
		return;
	u32 eom = __atomic_exchange_n(&s0->eom_pending, 0, __ATOMIC_SEQ_CST);
	for (u8 vtl = 0; eom; vtl++, eom >>= 1)
		if (eom & 1)
			for (u32 i = 0; i < eom_count; i++)
				eom_handlers[i](vp, vtl);
	aeoi_inject(vp, s0);
}

/* The window inject_irq asked for is open: inject what waits. */
static enum hv_action deliver_intr_window(struct vp *vp, struct hv_exit *e)
{
	registry_request_entry(vp, &hv_module_synic_deliver);
	return HV_ACT_RESUME;
}
HV_EXIT_HANDLER(exit_synic_intr_window, HV_EXIT_INTR_WINDOW, deliver_intr_window);

void synic_raise_vector(struct vp *vp, u8 vector, bool auto_eoi)
{
	struct synic_ctx *s = vp->ctx[0].synic;
	struct vp *self = vp_current();
	if (!self)
		self = vp; /* host tests: no processor-to-VP map */
	if (!auto_eoi || !s) {
		if (s)
			__atomic_add_fetch(&s->raised, 1, __ATOMIC_RELAXED);
		kick_fixed_ipi(self, vp, vector);
		return;
	}
	__atomic_add_fetch(&s->raised_aeoi, 1, __ATOMIC_RELAXED);
	__atomic_or_fetch(&s->aeoi_pending[vector / 64], 1ull << (vector % 64), __ATOMIC_SEQ_CST);
	registry_request_entry(vp, &hv_module_synic_deliver);
	/* Another processor's VP may be running guest code or halted: the
	 * NMI kick brings it to its before-entry work. */
	if (self != vp)
		kick_send(self, vp);
}

enum synic_route synic_raise(struct vp *vp, u8 vtl, u8 vector, bool auto_eoi)
{
	if (vtl == 0) {
		bool aeoi = auto_eoi && vp->ctx[0].synic;
		synic_raise_vector(vp, vector, auto_eoi);
		return aeoi ? SYNIC_ROUTE_AEOI : SYNIC_ROUTE_APIC;
	}
	/* A higher VTL's SynIC exists only with the VSM module, which sets
	 * vtl_irq; without it (or that VTL gone) there is nobody to take it. */
	if (vtl >= HV_VTL_COUNT || !vp->part->vtl_irq || !vp->ctx[vtl].live)
		return SYNIC_ROUTE_DROPPED;
	struct vp *self = vp_current();
	if (!self)
		self = vp; /* host tests */
	struct synic_ctx *s = vp->ctx[vtl].synic;
	if (s)
		__atomic_add_fetch(&s->raised, 1, __ATOMIC_RELAXED);
	vp->part->vtl_irq(self, vp, vtl, vector);
	return SYNIC_ROUTE_VTL;
}
