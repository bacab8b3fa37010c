/*
 * overlay.h - GPA overlay pages (TLFS 5.2.1) (hv/overlay.c). Which
 * overlay a GPA shows: gmem_overlay_at (include/hv/gmem.h).
 */
#ifndef HV_OVERLAY_H
#define HV_OVERLAY_H

#include "vp.h"

int overlay_register(struct partition *p, struct overlay *o);
int overlay_enable(struct vp *vp, struct overlay *o, u64 gpa);
int overlay_disable(struct vp *vp, struct overlay *o);
int overlay_msr_write(struct vp *vp, struct overlay *o, u64 val, bool beyond_gp);

#endif
