/*
 * kick.c - physical IPIs between the processors that run VPs: the NMI
 * that makes another VP exit soon (a "kick", counted so that its NMI is
 * not taken for the guest's own), and fixed interrupts (the synthetic
 * cluster IPI, TLFS 10.5.2). The guest owns its local APIC, so these go
 * through it in the mode the guest chose. docs/smp.md.
 */
#include "kick.h"
#include "hw.h"

#define ICR_MODE_NMI 4
#define ICR_LOGICAL BIT(11)

/* Send `lo` to the physical APIC ID `dest` (no shorthand, physical mode). */
void kick_send_physical(const struct vp *vp, bool x2, u32 dest, u32 lo)
{
	lo &= ~((3u << 18) | ICR_LOGICAL);
	hw_apic_write_icr(x2 ? ((u64)dest << 32) | lo : ((u64)(dest << 24) << 32) | lo);
	/* xAPIC: put back the guest's ICR high half (its next send may rely
	 * on it). */
	if (!x2)
		hw_apic_write(0x310, vp->icr_hi);
}


/* A fixed interrupt with `vector` to target's processor (edge, physical
 * destination): the synthetic cluster IPI (TLFS 10.5.2). */
void kick_fixed_ipi(struct vp *self, struct vp *target, u8 vector)
{
	kick_send_physical(self, hw_x2apic_mode(), target->apic_id, vector);
}

void kick_send(struct vp *self, struct vp *target)
{
	__atomic_add_fetch(&target->kicks_pending, 1, __ATOMIC_SEQ_CST);
	kick_send_physical(self, hw_x2apic_mode(), target->apic_id, ICR_MODE_NMI << 8);
}

/* Consume one kick if any is pending; true if the NMI was a kick. */
bool kick_take(struct vp *vp)
{
	u32 k = __atomic_load_n(&vp->kicks_pending, __ATOMIC_SEQ_CST);
	while (k) {
		if (__atomic_compare_exchange_n(&vp->kicks_pending, &k, k - 1, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return true;
	}
	return false;
}

