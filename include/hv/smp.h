/*
 * smp.h - INIT/SIPI between VPs, the intercepted ICR, xAPIC write
 * emulation (hv/smp.c, docs/smp.md).
 */
#ifndef HV_SMP_H
#define HV_SMP_H

#include "vp.h"

void smp_icr_write(struct vp *vp, u64 icr, bool x2apic);
int smp_x2apic_icr_write(struct vp *vp, u64 val);
/* Request x2APIC ICR write exits from the backend, once per VP after its
 * vp_init. */
int smp_request_intercepts(struct vp *vp);
/* Before an entry, when the VP's mailbox has something (see
 * vp_entry_pending): INIT, SIPI, cross-VP calls, NMIs. */
void smp_before_entry(struct vp *vp);
enum hv_action hv_handle_nmi(struct vp *vp, struct hv_exit *e);
enum hv_action smp_apic_mmio_write(struct vp *vp, struct hv_exit *e);

#endif
