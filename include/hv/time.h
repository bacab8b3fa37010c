/*
 * time.h - reference time (hv/time.c, TLFS 12.4, 12.7).
 */
#ifndef HV_TIME_H
#define HV_TIME_H

#include "vp.h"

/* The 64.64 fixed-point scale from TSC to 100 ns units, 0 if unknown. */
u64 time_scale(u64 tsc_hz);
/* Reference time (100 ns units since boot) at TSC value tsc. */
u64 time_ref(const struct partition *p, u64 tsc);
/* Reference time for the partition from its measured clocks, with
 * tsc_page as the reference TSC page (the module's partition hook; public
 * for host tests). */
int time_setup(struct partition *p, u8 *tsc_page);
/* A TSC interval in reference time units (100 ns). */
u64 time_ticks_to_ref(const struct partition *p, u64 ticks);
/* The first TSC value (give or take a few hundred nanoseconds later) at
 * which reference time is at least ref: a host deadline that is never
 * early. 0 if the partition has no reference time. */
u64 time_ref_to_tsc(const struct partition *p, u64 ref);

#endif
