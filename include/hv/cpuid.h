/*
 * cpuid.h - what the guest sees from CPUID (hv/cpuid.c, TLFS 2.2-2.4).
 */
#ifndef HV_CPUID_H
#define HV_CPUID_H

#include "vp.h"

/* The guest-visible CPUID for (leaf, subleaf), given the native values in
 * r[] (EAX, EBX, ECX, EDX) and the guest's CR4. */
void cpuid_adjust(const struct partition *p, u32 leaf, u32 sub, u64 guest_cr4, u32 r[4]);
enum hv_action hv_handle_cpuid(struct vp *vp, struct hv_exit *e);

#endif
