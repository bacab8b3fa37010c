/*
 * exit.h - the neutral VM-exit record. A backend (svm/, vmx/) decodes its
 * raw exit into this; hv/dispatch.c routes it through a table of handlers.
 * Nothing here depends on the VMCB or VMCS layout.
 */
#ifndef HV_EXIT_H
#define HV_EXIT_H

#include "types.h"

enum hv_exit_reason {
	HV_EXIT_NONE = 0,
	HV_EXIT_CPUID,
	HV_EXIT_MSR_READ,
	HV_EXIT_MSR_WRITE,
	HV_EXIT_IO,
	HV_EXIT_NPF,        /* second-level (NPT/EPT) fault */
	HV_EXIT_HYPERCALL,  /* VMMCALL / VMCALL */
	HV_EXIT_VIRT_INSN,  /* an SVM/VMX instruction the guest may not use */
	HV_EXIT_SHUTDOWN,   /* guest triple fault */
	HV_EXIT_INIT,
	HV_EXIT_SIPI,
	HV_EXIT_EXCEPTION,
	HV_EXIT_HLT,
	HV_EXIT_ENTRY_FAIL, /* VMRUN/VMLAUNCH rejected the guest state */
	HV_EXIT_NMI,        /* a physical NMI: a kick from another VP, or the guest's */
	HV_EXIT_INTR_WINDOW, /* the guest can take the interrupt inject_irq held back */
	HV_EXIT_DEADLINE,   /* the TSC reached set_deadline's value */
	HV_EXIT_NESTED,     /* an L2 exit that L1 intercepts: reflected to L1 (nested/) */
	HV_EXIT_NESTED_NPF, /* an L2 second-level fault on the shadow tables (nested/) */
	HV_EXIT_NESTED_HCALL, /* L2's VMMCALL with L1's direct virtual flush on
			       * (nested/dflush.c; qual[1]: L1 intercepts it) */
	HV_EXIT_CR_WRITE,   /* a write to CR0/CR4 to check and emulate (hv/cr.c) */
	HV_EXIT_UNKNOWN,    /* a raw exit the backend cannot classify; last (the
			     * dispatcher clamps to it) */
	HV_EXIT__COUNT
};

/* What a handler asks the dispatcher to do next. */
enum hv_action {
	HV_ACT_ADVANCE,  /* emulated: skip the instruction, resume */
	HV_ACT_RESUME,   /* resume at the same RIP (e.g. retry after NPT fix) */
	HV_ACT_INJECTED, /* an exception is queued; RIP stays */
	HV_ACT_FATAL,    /* dump state and park this CPU */
};

struct hv_exit {
	enum hv_exit_reason reason;
	u32 insn_len; /* length of the exiting instruction, 0 if unknown */
	u64 raw;      /* backend's own exit code, for logs */
	u64 qual[2];  /* backend's raw qualification, for logs */
	union {
		struct {
			u32 index;
			u64 value; /* write value */
		} msr;
		struct {
			u16 port;
			u8 size; /* 1, 2 or 4 */
			bool in, string, rep;
		} io;
		struct {
			u64 gpa;
			bool read, write, exec, present;
		} npf;
		struct {
			u8 vector;
		} exc;
		struct {
			u8 cr; /* 0 or 4 */
		} cr;
	} u;
};

/* The reason's name in logs and dumps (hv/vp.c). */
const char *vp_exit_name(enum hv_exit_reason r);

#endif
