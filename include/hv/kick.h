/*
 * kick.h - physical IPIs between the processors of VPs (hv/kick.c): the
 * NMI that makes a VP exit soon, and fixed interrupts.
 */
#ifndef HV_KICK_H
#define HV_KICK_H

#include "vp.h"

/* Send the ICR low word `lo` to physical APIC ID dest (no shorthand,
 * physical mode), restoring the guest's xAPIC ICR high half after. */
void kick_send_physical(const struct vp *vp, bool x2, u32 dest, u32 lo);
/* Make target exit soon: an NMI, counted so it is not taken for the
 * guest's own. */
void kick_send(struct vp *self, struct vp *target);
/* Consume one kick if any is pending; true if the NMI was a kick. */
bool kick_take(struct vp *vp);
/* A fixed interrupt with `vector` to target's processor (edge, physical
 * destination): the synthetic cluster IPI (TLFS 10.5.2). */
void kick_fixed_ipi(struct vp *self, struct vp *target, u8 vector);

#endif
