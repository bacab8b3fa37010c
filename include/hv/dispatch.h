/*
 * dispatch.h - the exit router (hv/dispatch.c): a table indexed by the
 * neutral exit reason, built at start from the HV_EXIT_HANDLER rows of the
 * modules (include/hv/module.h); RIP is advanced in one place.
 */
#ifndef HV_DISPATCH_H
#define HV_DISPATCH_H

#include "vp.h"

void dispatch_exit(struct vp *vp, struct hv_exit *e);
/* Collect the exit handlers; nonzero if two claim one reason. */
int dispatch_table_init(void);

/* Handlers the core itself owns (dispatch.c). */
enum hv_action hv_handle_shutdown(struct vp *vp, struct hv_exit *e);
enum hv_action hv_handle_resume(struct vp *vp, struct hv_exit *e);

#endif
