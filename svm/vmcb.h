/*
 * vmcb.h - the AMD Virtual Machine Control Block (APM vol. 2, appendix B).
 * Private to svm/: nothing outside this directory sees a VMCB.
 */
#ifndef SVM_VMCB_H
#define SVM_VMCB_H

#include "types.h"

struct PACKED vmcb_seg {
	u16 sel;
	u16 attrib; /* descriptor bits 47:40 in 7:0, bits 55:52 in 11:8 */
	u32 limit;
	u64 base;
};

struct PACKED vmcb_control {
	u32 intercept_cr;     /* 0x000 */
	u32 intercept_dr;     /* 0x004 */
	u32 intercept_exc;    /* 0x008 */
	u32 intercept_misc1;  /* 0x00c */
	u32 intercept_misc2;  /* 0x010 */
	u32 intercept_misc3;  /* 0x014 */
	u8 reserved0[0x3c - 0x18];
	u16 pause_filter_threshold; /* 0x03c */
	u16 pause_filter_count;     /* 0x03e */
	u64 iopm_base_pa;     /* 0x040 */
	u64 msrpm_base_pa;    /* 0x048 */
	u64 tsc_offset;       /* 0x050 */
	u32 guest_asid;       /* 0x058 */
	u8 tlb_control;       /* 0x05c */
	u8 reserved1[3];
	u64 vintr;            /* 0x060 */
	u64 interrupt_shadow; /* 0x068 */
	u64 exitcode;         /* 0x070 */
	u64 exitinfo1;        /* 0x078 */
	u64 exitinfo2;        /* 0x080 */
	u64 exitintinfo;      /* 0x088 */
	u64 np_enable;        /* 0x090 */
	u64 avic_apic_bar;    /* 0x098 */
	u64 ghcb_pa;          /* 0x0a0 */
	u64 eventinj;         /* 0x0a8 */
	u64 n_cr3;            /* 0x0b0 */
	u64 lbr_virt;         /* 0x0b8 */
	u32 clean;            /* 0x0c0 */
	u32 reserved2;
	u64 nrip;             /* 0x0c8 */
	u8 insn_len;          /* 0x0d0 */
	u8 insn_bytes[15];
	u8 reserved3[0x3e0 - 0x0e0];
	/* 0x3e0: software's own (APM: reserved for the hypervisor's use).
	 * An L1 on Hyper-V fills it for the L0 (Hyper-V's SVM enlightenments
	 * as Linux's KVM writes them: struct hv_vmcb_enlightenments,
	 * svm_onhyperv.h); hv.efi reads it from VMCB12 (docs/nested.md). */
	u32 hv_enl_control;   /* 0x3e0: HV_VMCB_ENL_* */
	u32 hv_vp_id;         /* 0x3e4 */
	u64 hv_vm_id;         /* 0x3e8 */
	u64 hv_partition_assist_page; /* 0x3f0 */
	u64 hv_reserved;      /* 0x3f8 */
};
#define HV_VMCB_ENL_NESTED_FLUSH_HYPERCALL BIT(0)
#define HV_VMCB_ENL_MSR_BITMAP BIT(1)
#define HV_VMCB_ENL_NPT_TLB BIT(2)
/* VMCB clean bit 31, software's: the Hyper-V area (and with
 * HV_VMCB_ENL_MSR_BITMAP the MSR permission map) is unchanged. */
#define HV_VMCB_CLEAN_NESTED_ENLIGHTENMENTS BIT(31)

struct PACKED vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x000 */
	u8 reserved0[0xcb - 0xa0];
	u8 cpl;               /* 0x0cb */
	u32 reserved1;
	u64 efer;             /* 0x0d0 */
	u8 reserved2[0x148 - 0xd8];
	u64 cr4;              /* 0x148 */
	u64 cr3;
	u64 cr0;
	u64 dr7;
	u64 dr6;
	u64 rflags;           /* 0x170 */
	u64 rip;              /* 0x178 */
	u8 reserved3[0x1d8 - 0x180];
	u64 rsp;              /* 0x1d8 */
	u64 s_cet, ssp, isst_addr;
	u64 rax;              /* 0x1f8 */
	u64 star, lstar, cstar, sfmask, kernel_gs_base;
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 cr2;              /* 0x240 */
	u8 reserved4[0x268 - 0x248];
	u64 g_pat;            /* 0x268 */
	u64 dbgctl;
	u64 br_from, br_to, lastexcpfrom, lastexcpto;
};

struct vmcb {
	struct vmcb_control ctl;
	struct vmcb_save save;
	u8 pad[4096 - 0x400 - sizeof(struct vmcb_save)];
};

_Static_assert(offsetof(struct vmcb_control, iopm_base_pa) == 0x40, "APM B-1");
_Static_assert(offsetof(struct vmcb_control, exitcode) == 0x70, "APM B-1");
_Static_assert(offsetof(struct vmcb_control, eventinj) == 0xa8, "APM B-1");
_Static_assert(offsetof(struct vmcb_control, nrip) == 0xc8, "APM B-1");
_Static_assert(sizeof(struct vmcb_control) == 0x400, "APM B-1");
_Static_assert(offsetof(struct vmcb_save, cpl) == 0xcb, "APM B-2");
_Static_assert(offsetof(struct vmcb_save, efer) == 0xd0, "APM B-2");
_Static_assert(offsetof(struct vmcb_save, cr4) == 0x148, "APM B-2");
_Static_assert(offsetof(struct vmcb_save, rip) == 0x178, "APM B-2");
_Static_assert(offsetof(struct vmcb_save, rsp) == 0x1d8, "APM B-2");
_Static_assert(offsetof(struct vmcb_save, rax) == 0x1f8, "APM B-2");
_Static_assert(offsetof(struct vmcb_save, cr2) == 0x240, "APM B-2");
_Static_assert(offsetof(struct vmcb_save, g_pat) == 0x268, "APM B-2");
_Static_assert(sizeof(struct vmcb) == 4096, "VMCB is one page");

/* Intercept vector 3 (misc1) and 4 (misc2) bits, APM 15.9-15.13. */
#define SVM_INTERCEPT_INTR BIT(0)
#define SVM_INTERCEPT_NMI BIT(1)
#define SVM_INTERCEPT_VINTR BIT(4)
#define SVM_INTERCEPT_CR_WRITE(n) BIT(16 + (n)) /* intercept_cr: MOV to CRn */
#define SVM_INTERCEPT_INIT BIT(3)
#define SVM_INTERCEPT_CPUID BIT(18)
#define SVM_INTERCEPT_IRET BIT(20)
#define SVM_INTERCEPT_INTN BIT(21) /* misc1: INT n (QEMU TCG: INT3 too) */
#define SVM_INTERCEPT_INVLPGA BIT(26)
#define SVM_INTERCEPT_IOIO BIT(27)
#define SVM_INTERCEPT_MSR BIT(28)
#define SVM_INTERCEPT_SHUTDOWN BIT(31)
#define SVM_INTERCEPT_VMRUN BIT(0)
#define SVM_INTERCEPT_VMMCALL BIT(1)
#define SVM_INTERCEPT_VMLOAD BIT(2)
#define SVM_INTERCEPT_VMSAVE BIT(3)
#define SVM_INTERCEPT_STGI BIT(4)
#define SVM_INTERCEPT_CLGI BIT(5)
#define SVM_INTERCEPT_SKINIT BIT(6)

/* Exit codes (APM appendix C). */
#define SVM_EXIT_WRITE_CR0 0x10
#define SVM_EXIT_WRITE_CR4 0x14
#define SVM_EXIT_EXCP_BASE 0x40
#define SVM_EXIT_INTR 0x60
#define SVM_EXIT_NMI 0x61
#define SVM_EXIT_INIT 0x63
#define SVM_EXIT_VINTR 0x64
#define SVM_EXIT_CPUID 0x72
#define SVM_EXIT_IRET 0x74
#define SVM_EXIT_SWINT 0x75
#define SVM_EXIT_HLT 0x78
#define SVM_EXIT_INVLPGA 0x7a
#define SVM_EXIT_IOIO 0x7b
#define SVM_EXIT_MSR 0x7c
#define SVM_EXIT_SHUTDOWN 0x7f
#define SVM_EXIT_VMRUN 0x80
#define SVM_EXIT_VMMCALL 0x81
#define SVM_EXIT_VMLOAD 0x82
#define SVM_EXIT_VMSAVE 0x83
#define SVM_EXIT_STGI 0x84
#define SVM_EXIT_CLGI 0x85
#define SVM_EXIT_SKINIT 0x86
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID 0xffffffffu /* low 32 bits of -1 */

/* EVENTINJ (APM 15.20). */
#define SVM_EVTINJ_VALID BIT(31)
#define SVM_EVTINJ_EV BIT(11)
#define SVM_EVTINJ_TYPE_INTR (0ull << 8)
#define SVM_EVTINJ_TYPE_NMI (2ull << 8)
#define SVM_EVTINJ_TYPE_EXC (3ull << 8)

/* VMCB V_INTR fields (APM 15.21.4, B-1 offset 0x60). */
#define SVM_VINTR_V_TPR 0xffull
#define SVM_VINTR_V_IRQ BIT(8)
#define SVM_VINTR_V_PRIO (0xfull << 16)
#define SVM_VINTR_V_IGN_TPR BIT(20)
#define SVM_VINTR_MASKING BIT(24)
#define SVM_VINTR_VECTOR (0xffull << 32)
#define SVM_INTERCEPT_VMRUN_BIT 0 /* misc2 */
#define SVM_INTERCEPT_HLT BIT(24)
#define SVM_EXIT_CR0_READ 0x00
#define SVM_EXIT_DR0_READ 0x20
#define SVM_EXIT_INVLPG 0x79

/* CPUID 0x8000000A EDX (APM E.4.9). */
#define SVM_FEAT_NPT BIT(0)
#define SVM_FEAT_NRIPS BIT(3)
#define SVM_FEAT_FLUSH_BY_ASID BIT(6)
#define SVM_EVTINJ_TYPE_MASK (7ull << 8)
/* TLB_CONTROL (APM 15.16.1) */
#define SVM_TLB_FLUSH_ALL 1      /* every ASID: the only value without FlushByAsid */
#define SVM_TLB_FLUSH_ASID 3
#define SVM_TLB_FLUSH_ASID_NONGLOBAL 7

#define VM_CR_LOCK BIT(3)
#define VM_CR_SVMDIS BIT(4)

#endif
