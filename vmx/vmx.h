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

struct vmx_nested;
struct nested_run;

/* Per physical processor: VMX operation itself, whichever context runs. */
struct vmx_cpu {
	u8 *vmxon_region;        /* 4 KiB, identity address = physical */
	struct vmx_ctx *loaded;  /* the context whose VMCS is current here */
	bool vmx_on;             /* in VMX operation */
};

/* The registers of a context the VMCS does not switch: the host never
 * uses them, so the current context's live in the CPU and a switch
 * swaps them (vmx_ctx_switch). */
struct vmx_cpu_regs {
	u64 star, lstar, cstar, sfmask, kernel_gs_base, cr2;
};

/* Per context: its VMCS (the registers private to a VTL), its pending
 * events, its VPID, EPTP and intercept bitmaps. */
struct vmx_ctx {
	u8 *vmcs;         /* 4 KiB */
	u32 reinject;     /* IDT-vectoring info of the last exit, to deliver again */
	u32 reinject_err;
	u32 reinject_len;
	bool injected;    /* a handler queued an event for the next entry */
	bool ia32e;       /* the IA-32e mode guest entry control is set */
	bool launched;    /* VMLAUNCH succeeded: VMRESUME from now on */
	u16 vpid;         /* 0: VPID off */
	u64 deadline;     /* set_deadline's TSC value, 0: none */
	bool dbg_step;    /* the debugger's step is armed (vmx_debug_ctl) */
	bool dbg_tf;      /* the guest's own RFLAGS.TF meanwhile */
	u64 eptp;
	struct slat *slat; /* its EPT (vp_ctx.slat) */
	u8 *msr_bitmap;   /* 4 KiB */
	u8 *io_bitmap;    /* 8 KiB: A (0-0x7FFF) then B */
	struct vmx_cpu_regs regs; /* while not current */
	u64 cr0_guard, cr4_guard; /* bits whose change goes to hv (cr_guard) */
	struct vmx_nested *nst; /* the L2 context's: nested VMX (vmx_nested.h) */
	u32 maps_gen;     /* bumped when the bitmaps change (an L2's merge is stale) */
};

struct vmx_global {
	struct vmx_caps caps;
	struct vmx_controls ctl;
	u64 cr0_mask;      /* CR0 bits the hypervisor owns (NE) */
	u64 cr4_mask;      /* CR4 bits the hypervisor owns (VMXE) */
	bool preempt_timer; /* the CPU has the VMX-preemption timer */
	bool intr_window;  /* ... and interrupt-window exiting */
	u32 next_vpid;
};

extern struct vmx_global vmx;

/* vmx_run.asm: 0 after a VM exit, 1 on VMfailInvalid, 2 on VMfailValid. */
int vmx_run_asm(u64 *gpr, u64 launched);
void vmx_exit_entry(void); /* HOST_RIP */

/* vmx.c: flush the context's VPID-tagged translations (SDM 29.4.3.3). */
void vmx_flush_vpid(const struct vmx_ctx *s);

/* vmx.c: the registers the VMCS does not switch, from the CPU. */
void vmx_cpu_regs_save(struct vmx_cpu_regs *r);
void vmx_ctx_switch(struct vp *vp, struct vp_ctx *c);

/* vmx_nested.c (docs/nested.md, "Nested VMX") */
u32 vmx_nested_features(void);
int vmx_nested_insn(struct vp *vp, struct hv_exit *e, enum hv_action *act, struct nested_run *run);
void vmx_nested_enter(struct vp *vp, struct vp_ctx *l2, bool flush);
void vmx_nested_exit(struct vp *vp, u64 code, u64 info1, u64 info2);
void vmx_decode_l2(struct vp *vp, struct hv_exit *e);
bool vmx_nested_exception(struct vp *vp, u8 vector, bool has_error, u32 error);
bool vmx_nested_nmi(struct vp *vp);
int vmx_nested_irq(struct vp *vp, u8 vector);
void vmx_nested_entry_failed(struct vp *vp, u32 reason);
bool vmx_nested_vmxon(struct vp *vp);
void vmx_nested_init(struct vp *vp);
enum be_msr_result vmx_nested_msr_read(struct vp *vp, u32 msr, u64 *val);

/* vmx_exit.c */
void vmx_decode_exit(struct vp *vp, struct hv_exit *e);
bool vmx_handle_internal(struct vp *vp, struct hv_exit *e);
const char *vmx_insn_error_name(u32 err);
void vmx_dump(struct vp *vp);
int vmx_advance_rip(struct vp *vp, const struct hv_exit *e);
void vmx_debug_ctl(struct vp *vp, u32 flags);
int vmx_inject_irq(struct vp *vp, u8 vector);
void vmx_set_deadline(struct vp *vp, u64 tsc);
void vmx_set_deadline_ctx(struct vmx_ctx *s, u64 tsc);
void vmx_inject_nmi(struct vp *vp);
void vmx_inject_exception(struct vp *vp, u8 vector, bool has_error, u32 error);
u64 vmx_read_reg(struct vp *vp, enum guest_reg r);
enum be_msr_result vmx_msr_read(struct vp *vp, u32 msr, u64 *val);
enum be_msr_result vmx_msr_write(struct vp *vp, u32 msr, u64 val);

static inline struct vmx_ctx *vmx_of(struct vp *vp) { return (struct vmx_ctx *)vp->be; }

#endif
