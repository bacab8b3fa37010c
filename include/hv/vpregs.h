/*
 * vpregs.h - HvGetVpRegisters / HvSetVpRegisters / HvStartVirtualProcessor
 * (hv/vpregs.c, TLFS 7.10). The architectural registers are hv/vpregs.c's
 * own table; a module names its synthetic registers (TLFS 7.8.2) that
 * alias a synthetic MSR with rows of its own:
 *
 *   HV_VPREG_ROWS(name) = { { register name, MSR, read_only, "Label" }, ... };
 *
 * The MSR's row (include/hv/module.h) then gates and performs the access,
 * so a register is available exactly when its MSR is.
 */
#ifndef HV_VPREGS_H
#define HV_VPREGS_H

#include "module.h"

struct hv_vpreg_row {
	u32 name;       /* TLFS 7.8.2 register name */
	u32 msr;        /* the synthetic MSR it aliases */
	bool read_only; /* HvSetVpRegisters: INVALID_PARAMETER */
	const char *label;
};
_Static_assert(sizeof(struct hv_vpreg_row) % 8 == 0, "rows pack in their section");
#define HV_VPREG_ROWS(id) static const struct hv_vpreg_row id[] HV_SECTION("hv_vpreg_rows")

/* A register that is no MSR (the VSM registers, TLFS 15): the module
 * reads and writes it itself, on the target's processor with the named
 * VTL's context current; set NULL: read-only. Return an HV_STATUS
 * (INVALID_PARAMETER: not available to this partition).
 *
 *   HV_VPREG_FN_ROWS(name) = { { register name, "Label", get, set }, ... };
 */
struct vp;
struct hv_vpreg_fn_row {
	u32 name;
	const char *label;
	u16 (*get)(struct vp *t, u64 v[2]);
	u16 (*set)(struct vp *t, const u64 v[2]);
};
_Static_assert(sizeof(struct hv_vpreg_fn_row) % 8 == 0, "rows pack in their section");
#define HV_VPREG_FN_ROWS(id) static const struct hv_vpreg_fn_row id[] HV_SECTION("hv_vpreg_fn_rows")

/* Check the registered rows at start; nonzero: a name registered twice. */
int vpregs_table_init(void);

#endif
