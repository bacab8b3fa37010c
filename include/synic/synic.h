/*
 * synic.h - the synthetic interrupt controller (TLFS 11) as the other
 * modules use it: the synthetic timers (synic/stimer.c, TLFS 12), the
 * ports and connections (synic/port.c, TLFS 11.x), and later VSM's
 * intercept messages (TLFS 15).
 *
 * SynIC state is per VP and per VTL context (TLFS 15.11.1.1: the SynIC
 * MSRs are private per VTL). Functions taking (vp, vtl) may be called from
 * any processor unless they say otherwise: message slots and event flags
 * live in guest-visible overlay pages and are updated atomically (TLFS
 * 11.9: the hypervisor writes a slot only when its MessageType is
 * HvMessageTypeNone).
 */
#ifndef SYNIC_SYNIC_H
#define SYNIC_SYNIC_H

#include "vp.h"

#define HV_SINT_COUNT 16
#define HV_MESSAGE_PAYLOAD_BYTES 240 /* TLFS 11.10.3 */

/* TLFS 11.10.3: HV_MESSAGE, 256 bytes: a 16-byte header and the payload. */
struct hv_message_header {
	u32 type;         /* HV_MESSAGE_TYPE; 0 = HvMessageTypeNone (slot free) */
	u8 payload_size;  /* bytes, at most 240 */
	u8 flags;         /* bit 0: MessagePending */
	u16 reserved;
	u64 origin;       /* HV_PARTITION_ID sender or HV_PORT_ID */
};
struct hv_message {
	struct hv_message_header h;
	u64 payload[HV_MESSAGE_PAYLOAD_BYTES / 8];
};
_Static_assert(sizeof(struct hv_message) == 256, "TLFS 11.10.3");

#define HV_MESSAGE_FLAG_PENDING 0x1

/* The message types the hypervisor reserves (TLFS 11.10.2): the high bit.
 * Guests cannot post them (HvPostMessage: INVALID_PARAMETER). */
#define HV_MESSAGE_TYPE_HYPERVISOR_MASK 0x80000000u
#define HV_MESSAGE_TIMER_EXPIRED 0x80000010u

/* Appendix B: the statuses of the SynIC and its calls. */
#define HV_STATUS_INSUFFICIENT_MEMORY 0x000b
#define HV_STATUS_INVALID_PORT_ID 0x0011
#define HV_STATUS_INVALID_CONNECTION_ID 0x0012
#define HV_STATUS_INVALID_SYNIC_STATE 0x0018
/* 0x13: the TLFS 6.0 status table prints 0x0033 between 0x0012 and 0x0014
 * (a typo); Hyper-V and Linux (hyperv-tlfs.h) use 19. */
#define HV_STATUS_INSUFFICIENT_BUFFERS 0x0013

/* TLFS 11.8.5: HV_SYNIC_SINT. */
#define HV_SINT_VECTOR_MASK 0xffull
#define HV_SINT_MASKED BIT(16)
#define HV_SINT_AUTO_EOI BIT(17)
#define HV_SINT_POLLING BIT(18)

/* Put *msg into SINT sint's message slot of vp's SIMP for VTL vtl and
 * raise the SINT. Returns an HV_STATUS:
 *   SUCCESS                the message is in the slot, the SINT raised;
 *   INSUFFICIENT_BUFFERS   the slot is busy (its MessagePending flag is now
 *                          set, TLFS 11.9.3); the caller keeps the message
 *                          and retries from its EOM handler;
 *   INVALID_SYNIC_STATE    SCONTROL or the SIMP is not enabled (nothing
 *                          written).
 * A masked SINT still gets the message, without an interrupt (TLFS 11.4:
 * "If the APIC is software disabled or the SINTx is masked, the interrupt
 * is lost"; the guest may drain a masked SINT, 11.8.6); so does a polling
 * one. msg->h.type must be non-zero and msg->h.payload_size <= 240. */
u16 synic_post_message(struct vp *vp, u8 vtl, u32 sint, const struct hv_message *msg);

/* Set event flag `flag` of SINT sint in vp's SIEFP for VTL vtl and raise
 * the SINT if the flag was clear (TLFS 11.8). *was_set (may be NULL) says
 * whether it already was. Returns SUCCESS or INVALID_SYNIC_STATE (SIEFP
 * or SINT disabled, SINT masked). */
u16 synic_signal_event(struct vp *vp, u8 vtl, u32 sint, u32 flag, bool *was_set);

/* Raise an interrupt at `vector` on vp as a SINT would (TLFS 11.6):
 * through the VP's local APIC as a fixed interrupt, or, with auto_eoi, by
 * injection that needs no EOI. Used for SINTs and for the synthetic
 * timers' direct mode (TLFS 12.1.3). Any processor. */
void synic_raise_vector(struct vp *vp, u8 vector, bool auto_eoi);

/* The same for VTL vtl's SynIC of vp (its SINTs, its direct-mode timers):
 * VTL 0's goes through synic_raise_vector; a higher VTL's is an interrupt
 * for that VTL (TLFS 15.12.2: partition.vtl_irq, which switches the VP to
 * it, entry reason Interrupt, and injects when its RFLAGS.IF allows), never
 * through the local APIC the VTLs share (it would reach whichever VTL
 * runs). Any processor. Returns the route taken (host tests). */
enum synic_route { SYNIC_ROUTE_APIC, SYNIC_ROUTE_AEOI, SYNIC_ROUTE_VTL, SYNIC_ROUTE_DROPPED };
enum synic_route synic_raise(struct vp *vp, u8 vtl, u8 vector, bool auto_eoi);

/* The SINT register (TLFS 11.10.4) of vp's VTL vtl, to check before
 * arming something that will post to it: enabled SIMP, unmasked, its
 * vector and flags. */
u64 synic_sint(const struct vp *vp, u8 vtl, u32 sint);
bool synic_simp_enabled(const struct vp *vp, u8 vtl);

/* Called on vp's processor after the guest wrote HV_X64_MSR_EOM in VTL
 * vtl (TLFS 11.8.6), before its next entry, outside any lock: a source of hypervisor messages that found a slot busy
 * retries then. A sint's slot may still be busy; the handler then calls
 * synic_post_message again, which sets MessagePending again. At most
 * SYNIC_EOM_HANDLERS handlers, registered from a module's on_partition. */
/* The SynIC of VTL vtl of vp, from pool (TLFS 15.11.1.1: the SynIC MSRs
 * are private per VTL): VTL 0's at VP set-up, a higher VTL's when VSM
 * enables it (vsm/vsm.c). Under the partition lock (the overlay list). */
struct pool;
int synic_vtl_create(struct vp *vp, u8 vtl, struct pool *pool);

#define SYNIC_EOM_HANDLERS 6
typedef void (*synic_eom_fn)(struct vp *vp, u8 vtl);
int synic_add_eom_handler(synic_eom_fn fn);

#endif
