/*
 * vmx.h - the VMX backend's private state (SDM vol. 3 chapters 24-31).
 * Only vmx/ includes this.
 */
#ifndef VMX_VMX_H
#define VMX_VMX_H

#include "types.h"
#include "exit.h"
#include "backend.h"
#include "slat.h"
#include "vp.h"
#include "vmcs.h"
#include "vmx_caps.h"

/* TLFS 2.4.7 (leaf 0x40000006 EAX bit 17): unrestricted guest in use. */
#define VMX_HV_HW_UNRESTRICTED_GUEST BIT(17)

#define VMX_VPID 1 /* the root partition's VP 0; 0 is the host's */

struct vmx_vp {
	u8 *vmxon_region; /* 4 KiB, identity address = physical */
	u8 *vmcs;         /* 4 KiB */
	u64 cr4_shadow;   /* CR4 as the guest sees it (no VMXE) */
	u32 reinject;     /* IDT-vectoring info of the last exit, to deliver again */
	u32 reinject_err;
	u32 reinject_len;
	u32 exit_insn_len;
	bool injected;    /* a handler queued an event for the next entry */
	bool ia32e;       /* the IA-32e mode guest entry control is set */
	bool launched;    /* VMLAUNCH succeeded: VMRESUME from now on */
	bool vmx_on;      /* in VMX operation with this VMCS current */
};

struct vmx_global {
	struct vmx_caps caps;
	struct vmx_controls ctl;
	u64 cr4_mask;      /* CR4 bits the hypervisor owns (VMXE) */
	u8 *msr_bitmap;    /* 4 KiB */
	u8 *io_bitmap;     /* 8 KiB: A (0-0x7FFF) then B */
	struct slat ept;
	u64 eptp;
};

extern struct vmx_global vmx;

/* vmx_run.asm: 0 after a VM exit, 1 on VMfailInvalid, 2 on VMfailValid. */
int vmx_run_asm(u64 *gpr, u64 launched);
void vmx_exit_entry(void); /* HOST_RIP */

/* vmx.c: flush the guest's VPID-tagged translations (SDM 29.4.3.3). */
void vmx_flush_vpid(void);

/* vmx_exit.c */
void vmx_decode_exit(struct vp *vp, struct hv_exit *e);
bool vmx_handle_internal(struct vp *vp, struct hv_exit *e);
const char *vmx_insn_error_name(u32 err);
void vmx_dump(struct vp *vp);
void vmx_advance_rip(struct vp *vp, const struct hv_exit *e);
void vmx_inject_nmi(struct vp *vp);
void vmx_inject_exception(struct vp *vp, u8 vector, bool has_error, u32 error);
u64 vmx_read_reg(struct vp *vp, enum guest_reg r);
enum be_msr_result vmx_msr_read(struct vp *vp, u32 msr, u64 *val);
enum be_msr_result vmx_msr_write(struct vp *vp, u32 msr, u64 val);

static inline struct vmx_vp *vmx_of(struct vp *vp) { return (struct vmx_vp *)vp->be; }

#endif
