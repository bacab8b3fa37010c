/*
 * xcall.h - run a function on another VP's processor, in its host
 * context, before it next runs guest code; return when it has run
 * (hv/xcall.c).
 */
#ifndef HV_XCALL_H
#define HV_XCALL_H

#include "vp.h"

typedef void (*xcall_fn)(struct vp *target, void *arg);
struct xcall {
	xcall_fn fn;
	void *arg;
	volatile u32 done;
};
void xcall_run(struct vp *self, struct vp *target, xcall_fn fn, void *arg);
/* On every VP whose index is set in mask (VP indexes < 64), self included. */
void xcall_mask(struct vp *self, u64 mask, xcall_fn fn, void *arg);
/* Run a request posted to vp, if any (before entry, in host waits). */
void xcall_service(struct vp *vp);

#endif
