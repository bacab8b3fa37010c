/*
 * synic_fallback.c - weak stand-ins for the SynIC interface
 * (include/synic/synic.h) until synic/synic.c (another branch) is merged:
 * the real definitions replace these at link time. Direct-mode timers
 * need only synic_raise_vector, given here for real (a fixed self-IPI
 * through the guest's local APIC, as TLFS 12.2 asserts "an interrupt");
 * without a SynIC no SINT is ever enabled, so message-mode timers find
 * their SINT masked and post nothing. Delete this file with the merge.
 */
#include "synic.h"
#include "hw.h"
#include "tlfs.h"

#define WEAK __attribute__((weak))

WEAK void synic_raise_vector(struct vp *vp, u8 vector, bool auto_eoi)
{
	(void)vp;
	(void)auto_eoi;
	hw_apic_write_icr(vector | BIT(18)); /* fixed, shorthand self */
}

WEAK u64 synic_sint(const struct vp *vp, u8 vtl, u32 sint) { return BIT(16); /* masked */ }

WEAK bool synic_simp_enabled(const struct vp *vp, u8 vtl) { return false; }

WEAK u16 synic_post_message(struct vp *vp, u8 vtl, u32 sint, const struct hv_message *msg)
{
	return 0x0018; /* HV_STATUS_INVALID_SYNIC_STATE (TLFS appendix B) */
}

WEAK int synic_add_eom_handler(synic_eom_fn fn) { return 0; }
