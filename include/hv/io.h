/*
 * io.h - port I/O exits (hv/io.c): the power-off and reset ports.
 */
#ifndef HV_IO_H
#define HV_IO_H

#include "vp.h"

/* The I/O ports the backends intercept (their I/O bitmaps). */
#define IO_INTERCEPTS_MAX 5
u32 io_intercepts(const struct partition *p, u16 ports[IO_INTERCEPTS_MAX]);
/* Request them from the backend (io_intercept), once per VP after its
 * vp_init. */
int io_request_intercepts(struct vp *vp);
enum hv_action hv_handle_io(struct vp *vp, struct hv_exit *e);

#endif
