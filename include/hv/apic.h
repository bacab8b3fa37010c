/*
 * apic.h - the local APIC MSRs (TLFS 10.2.3) and the VP assist page (TLFS
 * 7.8.7) (hv/apic.c, a module: its rows and hooks register themselves).
 */
#ifndef HV_APIC_H
#define HV_APIC_H

#include "vp.h"

/* The VP's assist page in `page` (the module's VP hook; public for host
 * tests). */
int apic_assist_setup(struct vp *vp, u8 *page);

#endif
