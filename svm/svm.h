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
	u64 guest_svme;      /* EFER.SVME as the guest last wrote it */
	u64 guest_hsave;     /* VM_HSAVE_PA as the guest last wrote it */
	u8 *msrpm;           /* 8 KiB */
	u8 *iopm;            /* 12 KiB */
	struct slat *slat;   /* its nested page tables (vp_ctx.slat) */
	bool want_window;    /* inject_irq asked for an interrupt window */
	bool intr_rearm;     /* a deadline's INTR intercept waits for the window */
};

struct svm_global {
	bool nrips;
	bool flush_by_asid;
	u32 asid_limit;      /* CPUID 0x8000000A EBX: number of ASIDs */
};

extern struct svm_global svm;

void svm_run_asm(u64 *gpr, u64 vmcb_pa, u64 host_save_pa);
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
