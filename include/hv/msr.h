/*
 * msr.h - MSR exits and the synthetic MSRs (hv/msr.c, TLFS appendix C):
 * the rows are the modules' HV_MSR_ROWS (include/hv/module.h).
 */
#ifndef HV_MSR_H
#define HV_MSR_H

#include "vp.h"

/* Collect and check the rows, build the index; nonzero: a bad row. */
int msr_table_init(void);
/* The same over any rows (host tests of the checks). */
struct hv_msr_row;
int msr_rows_index(const struct hv_msr_row *rows, u32 n);
/* Privileges and features of the implemented rows (TLFS 4.2.2, 2.4.4). */
u64 msr_privileges(void);
u32 msr_features_edx(void);
/* The synthetic MSRs as VP registers (HvGet/SetVpRegisters, TLFS 7.10):
 * the same rows and gates as RDMSR/WRMSR. Nonzero: not available to the
 * partition, or the access faulted. */
bool msr_synth_available(const struct partition *p, u32 msr);
int msr_synth_read(struct vp *vp, u32 msr, u64 *val);
int msr_synth_write(struct vp *vp, u32 msr, u64 val);
/* The handler of read-only rows' writes: #GP. */
int msr_read_only(struct vp *vp, u32 msr, u64 val);

enum hv_action hv_handle_msr_read(struct vp *vp, struct hv_exit *e);
enum hv_action hv_handle_msr_write(struct vp *vp, struct hv_exit *e);

#endif
