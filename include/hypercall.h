/*
 * hypercall.h - what a hypercall handler sees (hv/hypercall.c dispatches;
 * the handlers live with their subsystem: hv/tlb.c, hv/vpregs.c,
 * hv/translate.c, ...). The dispatcher has already validated the input
 * value, the privilege, the parameter GPAs and sizes (TLFS 3.12 ordering)
 * before a handler runs; a handler checks its own fields.
 */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H

#include "hv.h"

enum {
	HC_REP = BIT(0),     /* rep call */
	HC_SLOW = BIT(1),    /* memory-based form accepted */
	HC_FAST = BIT(2),    /* register-based form accepted */
	HC_VARHDR = BIT(3),  /* variable-sized header accepted */
};

struct hc_ctx {
	struct vp *vp;
	const u8 *in;   /* input block (guest memory or the register block) */
	u8 *out;        /* output block */
	u16 var_hdr;    /* 8-byte units */
	u32 rep_count;
	u32 rep_start;  /* first element of this round (continuation) */
	u64 scratch[2]; /* state a rep call keeps from check to round_end */
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
};

static inline u64 hc_rd64(const u8 *p) { return *(const u64 *)p; }
static inline u32 hc_rd32(const u8 *p) { return *(const u32 *)p; }

/* A call's target: PartitionId must be self or the root (the only
 * partition), the HV_INPUT_VTL byte must name VTL 0 (the only VTL), and
 * the VP index must exist or be HV_VP_INDEX_SELF (the caller). Returns the
 * TLFS status; *vp on success. */
u16 hc_target_partition(u64 partition_id);
u16 hc_target_vtl(u8 input_vtl);
u16 hc_target_vp(struct vp *caller, u32 vp_index, struct vp **vp);

/* Handlers in other files. */
/* hv/tlb.c: TLFS 9.4.1-9.4.5, 10.5.2-10.5.3 */
u16 hc_switch_address_space(struct hc_ctx *c);
u16 hc_flush_space(struct hc_ctx *c);
u16 hc_flush_space_ex(struct hc_ctx *c);
u16 hc_flush_list_check(struct hc_ctx *c);
u16 hc_flush_list_ex_check(struct hc_ctx *c);
u16 hc_flush_list_elem(struct hc_ctx *c, u32 i);
u16 hc_flush_list_round(struct hc_ctx *c, u32 done);
u16 hc_send_ipi(struct hc_ctx *c);
u16 hc_send_ipi_ex(struct hc_ctx *c);
/* hv/vpregs.c: TLFS 7.10.1-7.10.3 */
u16 hc_vp_regs_check(struct hc_ctx *c);
u16 hc_get_vp_regs_elem(struct hc_ctx *c, u32 i);
u16 hc_set_vp_regs_elem(struct hc_ctx *c, u32 i);
u16 hc_start_vp(struct hc_ctx *c);
/* hv/translate.c: TLFS 9.4.6 */
u16 hc_translate_va(struct hc_ctx *c);

#endif
