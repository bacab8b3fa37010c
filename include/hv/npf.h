/*
 * npf.h - second-level (NPT/EPT) faults (hv/npf.c).
 */
#ifndef HV_NPF_H
#define HV_NPF_H

#include "vp.h"

enum hv_action hv_handle_npf(struct vp *vp, struct hv_exit *e);

#endif
