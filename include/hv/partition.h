/*
 * partition.h - the partition's set-up (hv/partition.c, TLFS 4.2).
 */
#ifndef HV_PARTITION_H
#define HV_PARTITION_H

#include "vp.h"

struct backend;
struct pool;

/* Collect the modules' rows (include/hv/module.h) and derive the
 * partition's privileges and features from them. Nonzero: a bad row. */
int partition_init(struct partition *p, const struct backend *be, u32 phys_bits,
		   u64 hidden_base, u64 hidden_size);
/* After the measured clocks are in p (tsc_hz, apic_hz, invariant_tsc):
 * the modules' partition hooks. */
int partition_setup_modules(struct partition *p, struct pool *pool);
int partition_add_vp(struct partition *p, struct vp *vp);

#endif
