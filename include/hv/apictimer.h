/*
 * apictimer.h - a hard host deadline on a backend whose deadline exits only
 * at physical interrupts (BE_DEADLINE_ON_INTR, SVM): the guest's own local
 * APIC timer, lent to the hypervisor while the guest does not use it,
 * raises at the deadline the very vector the deadline's work will deliver
 * (hv/apictimer.c; docs/stimer.md "The deadline").
 */
#ifndef HV_APICTIMER_H
#define HV_APICTIMER_H

#include "vp.h"

/* Local APIC timer registers (SDM 10.5.4) and the TSC-deadline MSR. */
#define APIC_LVT_TIMER 0x320
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR 0x3e0
#define MSR_IA32_TSC_DEADLINE 0x6e0

/* Make the local APIC raise `vector` (a fixed interrupt, >= 16) at TSC
 * `tsc` on this processor, if the guest's timer is idle (or already lent)
 * and the backend needs it (BE_DEADLINE_ON_INTR). true if lent. */
bool apictimer_arm(struct vp *vp, u64 tsc, u8 vector);
/* Stop the lent timer and give the guest back its registers. true if it
 * had fired: its vector is then pending in the APIC (or already taken),
 * and the caller must not raise it again. false if not lent. */
bool apictimer_disarm(struct vp *vp);
/* Lent, and its vector is pending in the APIC already (it ran out). */
bool apictimer_pending(struct vp *vp);
/* From the first timer a module arms on a VP: watch the guest's writes to
 * its timer in x2APIC mode (MSR intercepts; the xAPIC page's stores are
 * emulated anyway, hv/smp.c). Once per VP. */
void apictimer_watch(struct vp *vp);
/* The guest writes one of its timer registers (xAPIC offset, or
 * MSR_IA32_TSC_DEADLINE): a lent timer goes back first. Cheap when not lent. */
void apictimer_give_back(struct vp *vp);
static inline void apictimer_guest_write(struct vp *vp, u32 reg)
{
	if (vp->apic_timer.lent && (reg == APIC_LVT_TIMER || reg == APIC_TMICT ||
				    reg == APIC_TDCR || reg == MSR_IA32_TSC_DEADLINE))
		apictimer_give_back(vp);
}
/* The intercepted x2APIC timer MSRs (0x832, 0x838, 0x839, 0x83E) and
 * IA32_TSC_DEADLINE: is msr one; read it as the guest's; write it. */
bool apictimer_is_msr(u32 msr);
int apictimer_msr_read(struct vp *vp, u32 msr, u64 *val);
int apictimer_msr_write(struct vp *vp, u32 msr, u64 val);

#endif
