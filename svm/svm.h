/*
 * svm.h - the SVM backend's private state: one struct svm_cpu per physical
 * processor (vp->be_cpu) and one struct svm_ctx per context (vp_ctx.be,
 * cached in vp->be for the current one).
 */
#ifndef SVM_SVM_H
#define SVM_SVM_H

#include "types.h"
#include "vmcb.h"
#include "x86.h"
#include "slat.h"
#include "exit.h"

#include "vp.h"

struct nested_run;

/* Per physical processor: what VMRUN and the host need whichever context
 * runs. */
struct svm_cpu {
	u64 host_save_pa;    /* VMLOAD/VMSAVE area for the host's FS/GS/TR/... */
	u64 hsave_pa;        /* VM_HSAVE_PA: the CPU's own host save area */
	u32 next_asid;       /* ASIDs tag this processor's TLB: allocated here */
};

/* Per context: its VMCB (the registers private to a VTL), its pending
 * events, its ASID and intercept bitmaps. */
struct svm_ctx {
	struct vmcb *vmcb;   /* identity address = physical */
	u64 host_save_pa;    /* the processor's (struct svm_cpu), read by every run */
	u64 reinject;        /* EXITINTINFO of the last exit, to deliver again */
	u64 deadline;        /* set_deadline's TSC value, 0: none */
	u64 tsc_aux;         /* its TSC_AUX while not current (a VTL's, TLFS 15.11.1) */
	u64 guest_svme;      /* EFER.SVME as the guest last wrote it */
	u64 guest_hsave;     /* VM_HSAVE_PA as the guest last wrote it */
	u8 *msrpm;           /* 8 KiB */
	u8 *iopm;            /* 12 KiB */
	struct slat *slat;   /* its nested page tables (vp_ctx.slat) */
	bool want_window;    /* inject_irq asked for an interrupt window */
	bool intr_rearm;     /* a deadline's INTR intercept waits for the guest's IRET */
	u8 dbg;              /* debug_ctl flags (BE_DBG_*) */
	bool dbg_tf;         /* the guest's own RFLAGS.TF while we step it */
	/* Nested (svm_nested.c, docs/nested.md). In L1's context: */
	bool vgif_clear;     /* L1's virtual GIF is 0 (CLGI, #VMEXIT) */
	u32 l1_tpr;          /* L1's local APIC TPR while its GIF is 0 */
	u32 base_cr, base_misc1, base_misc2; /* the backend's own intercepts (ctx_create) */
	u32 maps_gen;        /* bumped when its MSR/IO maps change */
	/* In an L2 context (is_l2): L1's VMCB (VMCB12) and its intercepts as
	 * VMRUN read them. */
	bool is_l2;
	bool host_if;        /* L2 with V_INTR_MASKING, L1's IF set at VMRUN */
	bool l2_shadow;      /* runs on the shadow of L1's nested page tables */
	struct vp_ctx *l1;
	u64 vmcb12_pa;
	u64 l1_rax;          /* L1's RAX at VMRUN (the VMCB12 address) */
	u32 l1_cr, l1_dr, l1_exc, l1_misc1, l1_misc2, l1_misc3;
	u32 l1_asid;         /* L1's ASID for L2 at its last VMRUN */
	bool l1_msrpm_clean; /* L1's MSR map unchanged (enlightened MSR bitmap) */
	bool l1_direct_flush; /* L1 set nested_flush_hypercall (direct virtual flush) */
	u64 l1_msrpm_pa, l1_iopm_pa;
	/* The merged maps (svm_nested.c merge_maps): what they were built
	 * from, and where the L1 context's own map has bits (qword indexes). */
	u64 merged_msrpm_src, merged_iopm_src; /* L1's map, or 1: ours alone */
	u32 merged_gen;
	struct svm_ctx *merged_for;
	u16 own_msr[16], own_io[16];
	u8 n_own_msr, n_own_io;
	bool own_many;       /* more than 16 each: OR every qword */
	u64 reflected, handled; /* L2 exits given to L1 / kept (counters) */
};

struct svm_global {
	bool nrips;
	bool flush_by_asid;
	u32 asid_limit;      /* CPUID 0x8000000A EBX: number of ASIDs */
	u32 features;        /* CPUID 0x8000000A EDX */
};

extern struct svm_global svm;

void svm_run_asm(u64 *gpr, u64 vmcb_pa, u64 host_save_pa);
void svm_run_asm_if(u64 *gpr, u64 vmcb_pa, u64 host_save_pa); /* host IF=1 across VMRUN */
void svm_ctx_switch(struct vp *vp, struct vp_ctx *c);
u64 svm_efer_valid_mask(void);
/* svm_nested.c: does L1 intercept this exit of L2 (APM 15.9-15.13)? */
bool svm_l1_wants(const struct svm_ctx *s, u32 code, const u64 *gpr, u64 info1);
void svm_nested_exit(struct vp *vp, u64 code, u64 info1, u64 info2);
void svm_decode_l2(struct vp *vp, struct hv_exit *e);
u32 svm_nested_features(void);
void svm_vgif(struct svm_ctx *s, bool set);
void svm_open_window(struct svm_ctx *s); /* svm_exit.c */
int svm_nested_insn(struct vp *vp, struct hv_exit *e, enum hv_action *act, struct nested_run *run);
void svm_nested_enter(struct vp *vp, struct vp_ctx *l2, bool flush);
/* svm_exit.c */
int svm_advance_rip(struct vp *vp, const struct hv_exit *e);
void svm_debug_ctl(struct vp *vp, u32 flags);
void svm_inject_exception(struct vp *vp, u8 vector, bool has_error, u32 error);
void svm_set_deadline(struct vp *vp, u64 tsc);
/* The VP's armed deadline from context old to s (a context switch). */
void svm_move_deadline(struct svm_ctx *old, struct svm_ctx *s);
/* svm_vmcb_check.c: APM 15.5.1's VMRUN consistency checks on a VMCB,
 * pure (host tests): 0 if it may run, else what fails (a name for logs). */
const char *svm_vmcb_check(const struct vmcb *v, u32 phys_bits, u64 efer_valid, u64 cr4_valid);
void svm_decode_exit(struct vp *vp, struct hv_exit *e);
/* svm_exit.c: the deadline and interrupt-window exits (APM 15.21). */
enum hv_exit_reason svm_event_exit(struct svm_ctx *s, u32 code);
bool svm_deadline_due(struct svm_ctx *s);

static inline struct svm_ctx *svm_of(struct vp *vp) { return (struct svm_ctx *)vp->be; }

/* The guest's EFER: SVME as it last wrote it, LMA as the processor
 * defines it (LME and CR0.PG, APM 14.6.1): Bochs ryzen can leave the
 * VMCB's LMA clear in compatibility mode, and the page walks of the
 * emulations (hv/emulate.c) choose 4-level paging by it. */
static inline u64 svm_guest_efer(const struct vmcb_save *v, u64 guest_svme)
{
	u64 lma = ((v->efer & EFER_LME) && (v->cr0 & CR0_PG)) ? EFER_LMA : 0;
	return (v->efer & ~(u64)(EFER_SVME | EFER_LMA)) | guest_svme | lma;
}

/* MSR permission map (APM 15.11): 2 bits per MSR (read, then write) in
 * three 2 KiB blocks for 0-0x1FFF, 0xC0000000-0xC0001FFF and
 * 0xC0010000-0xC0011FFF. The read bit's index, or -1 outside the blocks
 * (such an MSR always exits). */
static inline int svm_msrpm_bit(u32 msr)
{
	u32 block;
	if (msr <= 0x1fff)
		block = 0;
	else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		block = 1;
	else if (msr >= 0xc0010000 && msr <= 0xc0011fff)
		block = 2;
	else
		return -1;
	return (int)((block * 0x800 * 8) + (msr & 0x1fff) * 2);
}

#endif
