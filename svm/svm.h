/*
 * svm.h - the SVM backend's private state.
 */
#ifndef SVM_SVM_H
#define SVM_SVM_H

#include "types.h"
#include "vmcb.h"
#include "slat.h"
#include "exit.h"

#include "vp.h"

struct svm_vp {
	struct vmcb *vmcb;   /* identity address = physical */
	u64 host_save_pa;    /* VMLOAD/VMSAVE area for the host's FS/GS/TR/... */
	u64 hsave_pa;        /* VM_HSAVE_PA: the CPU's own host save area */
	u64 guest_svme;      /* EFER.SVME as the guest last wrote it */
	u64 guest_hsave;     /* VM_HSAVE_PA as the guest last wrote it */
	u64 reinject;        /* EXITINTINFO of the last exit, to deliver again */
	bool launched;
};

struct svm_global {
	bool nrips;
	bool flush_by_asid;
	u8 *msrpm;  /* 8 KiB */
	u8 *iopm;   /* 12 KiB */
	struct slat npt;
};

extern struct svm_global svm;

void svm_run_asm(u64 *gpr, u64 vmcb_pa, u64 host_save_pa);
void svm_decode_exit(struct vp *vp, struct hv_exit *e);

static inline struct svm_vp *svm_of(struct vp *vp) { return (struct svm_vp *)vp->be; }

#endif
