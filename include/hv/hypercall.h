/*
 * hypercall.h - what a hypercall handler sees (hv/hypercall.c dispatches;
 * the handlers live with their subsystem and register their rows there:
 * hv/tlb.c, hv/vpregs.c, hv/translate.c, ...). The dispatcher has already
 * validated the input value, the privilege, the parameter GPAs and sizes
 * (TLFS 3.12 ordering) before a handler runs; a handler checks its own
 * fields.
 */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H

#include "vp.h"
#include "module.h"

enum {
	HC_REP = BIT(0),     /* rep call */
	HC_SLOW = BIT(1),    /* memory-based form accepted */
	HC_FAST = BIT(2),    /* register-based form accepted */
	HC_VARHDR = BIT(3),  /* variable-sized header accepted */
	/* No parameters, a `complete` of its own (the VTL call and return,
	 * TLFS 15.6-15.7): when a 64-bit caller's input value is the bare
	 * code and the partition has the privilege, the dispatcher goes
	 * straight to `simple` and `complete` (every check of the input
	 * value and of the parameter memory passes by construction), with
	 * a ctx in which only vp and exit are set. */
	HC_BARE = BIT(4),
};

/* How a call completes (hv/hypercall.c: decode -> validate -> execute ->
 * complete). Usually the dispatcher does it: the status and the rep
 * elements completed go to RAX (EDX:EAX for a 32-bit caller), fast XMM
 * output to the registers on success, and RIP moves past the call; a rep
 * call whose round ran out of budget gets its continuation instead (TLFS
 * 3.3: the new start index in the input value, RIP on the call). A row
 * whose calls complete otherwise (a VTL switch writes no status and
 * enters another context; a nested flush finishes in L1) sets `complete`:
 * once its handler ran (simple, or check/rep/round_end with no
 * continuation pending) the dispatcher calls it instead, with the status
 * and the rep elements done, and returns its hv_action from the exit
 * (HV_ACT_RESUME: enter again at the same RIP, registers as the callback
 * left them; HV_ACT_ADVANCE: past the call). A call refused before its
 * handler ran (code, privilege, input value, parameter GPAs: TLFS 3.12)
 * completes the usual way even for such a row. */
struct hc_ctx;
typedef enum hv_action (*hc_complete_fn)(struct hc_ctx *c, u16 status, u32 done);

struct hc_ctx {
	struct vp *vp;
	const u8 *in;   /* input block (guest memory or the register block) */
	u8 *out;        /* output block */
	u16 var_hdr;    /* 8-byte units */
	u32 rep_count;
	u32 rep_start;  /* first element of this round (continuation) */
	u64 scratch[2]; /* state a rep call keeps from check to round_end */
	struct vp *target; /* the VP a rep call's header named (check) */
	const struct hv_exit *exit; /* the hypercall's exit (a `complete` that
				     * moves RIP itself: be->advance_rip) */
};

struct hc_call {
	u16 code;
	u16 flags;
	u64 privilege; /* HV_* partition privilege needed, 0 = none */
	u16 in_hdr, in_elem, out_hdr, out_elem;
	u16 (*simple)(struct hc_ctx *c);
	u16 (*check)(struct hc_ctx *c);     /* rep: header checks */
	u16 (*rep)(struct hc_ctx *c, u32 i); /* rep: one element */
	const char *name;
	/* rep: after the elements of one round (on completion, continuation
	 * or a failing element), with the elements [rep_start, done) that
	 * succeeded; its status replaces a success. */
	u16 (*round_end)(struct hc_ctx *c, u32 done);
	hc_complete_fn complete; /* NULL: the usual completion (above) */
};

static inline u64 hc_rd64(const u8 *p) { return *(const u64 *)p; }
static inline u32 hc_rd32(const u8 *p) { return *(const u32 *)p; }

/* A call's target: PartitionId must be self or the root (the only
 * partition), the HV_INPUT_VTL byte must name VTL 0 (the only VTL), and
 * the VP index must exist or be HV_VP_INDEX_SELF (the caller). Returns the
 * TLFS status; *vp on success. */
u16 hc_target_partition(u64 partition_id);
u16 hc_target_vtl(u8 input_vtl);
/* The HV_INPUT_VTL of a call that may name a lower VTL (TLFS 15.15.1;
 * HvGet/SetVpRegisters, HvTranslateVirtualAddress): without UseTargetVtl
 * the caller's current VTL; with it, a VTL at or below the caller's that
 * is enabled for the partition. HV_STATUS_INVALID_PARAMETER otherwise
 * (reserved bits, a higher or a disabled VTL). *vtl on success. */
u16 hc_input_vtl(const struct vp *caller, u8 input_vtl, u8 *vtl);
u16 hc_target_vp(struct vp *caller, u32 vp_index, struct vp **vp);

/* A module's hypercalls: HV_HCALL_ROWS(name) = { { code, flags, privilege,
 * in_hdr, in_elem, out_hdr, out_elem, simple, check, rep, "Name",
 * round_end[, complete] }, ... }; hv/hypercall.c collects them at start (no duplicate
 * codes; simple calls 0x0001-0x00FF, extended 0x8001-0x80FF). */
_Static_assert(sizeof(struct hc_call) % 8 == 0, "rows pack in their section");
#define HV_HCALL_ROWS(id) static const struct hc_call id[] HV_SECTION("hv_hcall_rows")

/* hypercall.c */
int hc_table_init(void);
u32 hc_row_count(void);
u64 hc_privileges(void);
u32 hc_features_edx(void);
/* The hypercall interface with `page` as the hypercall page: the page
 * filled and registered as the partition's overlay, the rep-call time
 * budget from the measured TSC (the module's partition hook; public for
 * host tests). */
int hc_setup(struct partition *p, u8 *page);
enum hv_action hv_handle_hypercall(struct vp *vp, struct hv_exit *e);

#endif
