/*
 * overlay.h - GPA overlay pages (TLFS 5.2.1) and hypercall parameter
 * memory (TLFS 3.6) (hv/overlay.c).
 */
#ifndef HV_OVERLAY_H
#define HV_OVERLAY_H

#include "vp.h"

int overlay_register(struct partition *p, struct overlay *o);
int overlay_enable(struct vp *vp, struct overlay *o, u64 gpa);
int overlay_disable(struct vp *vp, struct overlay *o);
int overlay_msr_write(struct vp *vp, struct overlay *o, u64 val, bool beyond_gp);
struct overlay *overlay_at(const struct partition *p, u64 gpa);
u16 gmem_check_param(struct partition *p, u64 gpa, u64 len);

#endif
