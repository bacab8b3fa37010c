/*
 * vmcs.h - Intel VMX architectural constants: VMCS field encodings (SDM
 * vol. 3 appendix B), VM-execution/exit/entry control bits (SDM 25.6-25.8),
 * basic exit reasons (appendix C), the exit qualifications the backend
 * decodes (SDM 28.2.1), capability MSRs (appendix A) and the VMCS accessors.
 * Only vmx/ includes this: nothing in hv/ may see a VMCS.
 */
#ifndef VMX_VMCS_H
#define VMX_VMCS_H

#include "types.h"

/* ---- capability and control MSRs (SDM appendix A) ---------------------- */
#define MSR_IA32_VMX_BASIC 0x480u
#define MSR_IA32_VMX_PINBASED_CTLS 0x481u
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482u
#define MSR_IA32_VMX_EXIT_CTLS 0x483u
#define MSR_IA32_VMX_ENTRY_CTLS 0x484u
#define MSR_IA32_VMX_MISC 0x485u
#define MSR_IA32_VMX_CR0_FIXED0 0x486u
#define MSR_IA32_VMX_CR0_FIXED1 0x487u
#define MSR_IA32_VMX_CR4_FIXED0 0x488u
#define MSR_IA32_VMX_CR4_FIXED1 0x489u
#define MSR_IA32_VMX_VMCS_ENUM 0x48au
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48bu
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48cu
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48du
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48eu
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48fu
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490u
#define MSR_IA32_VMX_VMFUNC 0x491u
#define MSR_IA32_VMX_PROCBASED_CTLS3 0x492u
#define MSR_IA32_VMX_EXIT_CTLS2 0x493u
/* The range hidden from the guest: through the tertiary/secondary-exit
 * control MSRs of newer CPUs, which would tell of VMX just the same. */
#define MSR_IA32_VMX_FIRST MSR_IA32_VMX_BASIC
#define MSR_IA32_VMX_LAST MSR_IA32_VMX_EXIT_CTLS2

/* IA32_VMX_BASIC (A.1) */
#define VMX_BASIC_REVISION_MASK 0x7fffffffull
#define VMX_BASIC_TRUE_CTLS BIT(55)

/* CR4.VMXE (SDM 2.5): owned by the hypervisor, hidden from the guest. */

/* IA32_FEATURE_CONTROL (SDM 24.7) */
#define FEATURE_CONTROL_LOCK BIT(0)
#define FEATURE_CONTROL_VMXON_IN_SMX BIT(1)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX BIT(2)

/* IA32_VMX_EPT_VPID_CAP (A.10) */
#define EPT_CAP_WALK_4 BIT(6)
#define EPT_CAP_WB BIT(14)
#define EPT_CAP_2M BIT(16)
#define EPT_CAP_1G BIT(17)
#define EPT_CAP_INVEPT BIT(20)
#define EPT_CAP_INVEPT_SINGLE BIT(25)
#define EPT_CAP_INVEPT_ALL BIT(26)
#define VPID_CAP_INVVPID BIT(32)
#define VPID_CAP_INVVPID_ADDR BIT(40)
#define VPID_CAP_INVVPID_SINGLE BIT(41)
#define VPID_CAP_INVVPID_ALL BIT(42)
#define VPID_CAP_INVVPID_SINGLE_GLOBALS BIT(43)

/* EPTP (SDM 25.6.11): memory type WB, 4-level walk (length - 1 = 3). */
#define EPTP_WB 6ull
#define EPTP_WALK_4 (3ull << 3)

/* ---- control bits (SDM 25.6.1, 25.6.2, 25.7.1, 25.8.1) ----------------- */
#define PIN_EXT_INTR_EXITING BIT(0)
#define PIN_NMI_EXITING BIT(3)
#define PIN_PREEMPT_TIMER BIT(6)

#define PROC_INTR_WINDOW_EXITING BIT(2)
#define PROC_HLT_EXITING BIT(7)
#define PROC_CR3_LOAD_EXITING BIT(15)
#define PROC_CR3_STORE_EXITING BIT(16)
#define PROC_USE_IO_BITMAPS BIT(25)
#define PROC_MONITOR_TRAP_FLAG BIT(27)
#define PROC_USE_MSR_BITMAPS BIT(28)
#define PROC_ACTIVATE_SECONDARY BIT(31)

#define PROC2_ENABLE_EPT BIT(1)
#define PROC2_ENABLE_RDTSCP BIT(3)
#define PROC2_ENABLE_VPID BIT(5)
#define PROC2_UNRESTRICTED_GUEST BIT(7)
#define PROC2_ENABLE_INVPCID BIT(12)
#define PROC2_ENABLE_XSAVES BIT(20)
#define PROC2_MBEC BIT(22) /* mode-based execute control for EPT (SDM 25.6.2) */
#define PROC2_ENABLE_USER_WAIT_PAUSE BIT(26)

#define EXIT_SAVE_DEBUG_CONTROLS BIT(2)
#define EXIT_HOST_ADDR_SPACE_SIZE BIT(9)
#define EXIT_SAVE_IA32_PAT BIT(18)
#define EXIT_LOAD_IA32_PAT BIT(19)
#define EXIT_SAVE_IA32_EFER BIT(20)
#define EXIT_LOAD_IA32_EFER BIT(21)

#define ENTRY_LOAD_DEBUG_CONTROLS BIT(2)
#define ENTRY_IA32E_MODE_GUEST BIT(9)
#define ENTRY_LOAD_IA32_PAT BIT(14)
#define ENTRY_LOAD_IA32_EFER BIT(15)

/* ---- VMCS field encodings (appendix B) ---------------------------------- */
enum vmcs_field {
	/* 16-bit */
	VMCS_VPID = 0x0000,
	VMCS_GUEST_ES_SEL = 0x0800,
	VMCS_GUEST_CS_SEL = 0x0802,
	VMCS_GUEST_SS_SEL = 0x0804,
	VMCS_GUEST_DS_SEL = 0x0806,
	VMCS_GUEST_FS_SEL = 0x0808,
	VMCS_GUEST_GS_SEL = 0x080a,
	VMCS_GUEST_LDTR_SEL = 0x080c,
	VMCS_GUEST_TR_SEL = 0x080e,
	VMCS_HOST_ES_SEL = 0x0c00,
	VMCS_HOST_CS_SEL = 0x0c02,
	VMCS_HOST_SS_SEL = 0x0c04,
	VMCS_HOST_DS_SEL = 0x0c06,
	VMCS_HOST_FS_SEL = 0x0c08,
	VMCS_HOST_GS_SEL = 0x0c0a,
	VMCS_HOST_TR_SEL = 0x0c0c,
	/* 64-bit control */
	VMCS_IO_BITMAP_A = 0x2000,
	VMCS_IO_BITMAP_B = 0x2002,
	VMCS_MSR_BITMAP = 0x2004,
	VMCS_EPT_POINTER = 0x201a,
	VMCS_XSS_EXIT_BITMAP = 0x202c,
	/* 64-bit read-only */
	VMCS_GUEST_PHYS_ADDR = 0x2400,
	/* 64-bit guest */
	VMCS_LINK_POINTER = 0x2800,
	VMCS_GUEST_DEBUGCTL = 0x2802,
	VMCS_GUEST_PAT = 0x2804,
	VMCS_GUEST_EFER = 0x2806,
	/* 64-bit host */
	VMCS_HOST_PAT = 0x2c00,
	VMCS_HOST_EFER = 0x2c02,
	/* 32-bit control */
	VMCS_PIN_CTLS = 0x4000,
	VMCS_PROC_CTLS = 0x4002,
	VMCS_EXCEPTION_BITMAP = 0x4004,
	VMCS_PF_ERROR_MASK = 0x4006,
	VMCS_PF_ERROR_MATCH = 0x4008,
	VMCS_CR3_TARGET_COUNT = 0x400a,
	VMCS_EXIT_CTLS = 0x400c,
	VMCS_EXIT_MSR_STORE_COUNT = 0x400e,
	VMCS_EXIT_MSR_LOAD_COUNT = 0x4010,
	VMCS_ENTRY_CTLS = 0x4012,
	VMCS_ENTRY_MSR_LOAD_COUNT = 0x4014,
	VMCS_ENTRY_INTR_INFO = 0x4016,
	VMCS_ENTRY_EXCEPTION_ERROR = 0x4018,
	VMCS_ENTRY_INSN_LEN = 0x401a,
	VMCS_PROC2_CTLS = 0x401e,
	/* 32-bit read-only */
	VMCS_INSN_ERROR = 0x4400,
	VMCS_EXIT_REASON = 0x4402,
	VMCS_EXIT_INTR_INFO = 0x4404,
	VMCS_EXIT_INTR_ERROR = 0x4406,
	VMCS_IDT_VECTORING_INFO = 0x4408,
	VMCS_IDT_VECTORING_ERROR = 0x440a,
	VMCS_EXIT_INSN_LEN = 0x440c,
	VMCS_EXIT_INSN_INFO = 0x440e,
	/* 32-bit guest */
	VMCS_GUEST_ES_LIMIT = 0x4800,
	VMCS_GUEST_CS_LIMIT = 0x4802,
	VMCS_GUEST_SS_LIMIT = 0x4804,
	VMCS_GUEST_DS_LIMIT = 0x4806,
	VMCS_GUEST_FS_LIMIT = 0x4808,
	VMCS_GUEST_GS_LIMIT = 0x480a,
	VMCS_GUEST_LDTR_LIMIT = 0x480c,
	VMCS_GUEST_TR_LIMIT = 0x480e,
	VMCS_GUEST_GDTR_LIMIT = 0x4810,
	VMCS_GUEST_IDTR_LIMIT = 0x4812,
	VMCS_GUEST_ES_AR = 0x4814,
	VMCS_GUEST_CS_AR = 0x4816,
	VMCS_GUEST_SS_AR = 0x4818,
	VMCS_GUEST_DS_AR = 0x481a,
	VMCS_GUEST_FS_AR = 0x481c,
	VMCS_GUEST_GS_AR = 0x481e,
	VMCS_GUEST_LDTR_AR = 0x4820,
	VMCS_GUEST_TR_AR = 0x4822,
	VMCS_GUEST_INTERRUPTIBILITY = 0x4824,
	VMCS_GUEST_ACTIVITY = 0x4826,
	VMCS_GUEST_SYSENTER_CS = 0x482a,
	VMCS_PREEMPT_TIMER = 0x482e,
	/* 32-bit host */
	VMCS_HOST_SYSENTER_CS = 0x4c00,
	/* natural-width control */
	VMCS_CR0_MASK = 0x6000,
	VMCS_CR4_MASK = 0x6002,
	VMCS_CR0_SHADOW = 0x6004,
	VMCS_CR4_SHADOW = 0x6006,
	/* natural-width read-only */
	VMCS_EXIT_QUAL = 0x6400,
	VMCS_GUEST_LINEAR_ADDR = 0x640a,
	/* natural-width guest */
	VMCS_GUEST_CR0 = 0x6800,
	VMCS_GUEST_CR3 = 0x6802,
	VMCS_GUEST_CR4 = 0x6804,
	VMCS_GUEST_ES_BASE = 0x6806,
	VMCS_GUEST_CS_BASE = 0x6808,
	VMCS_GUEST_SS_BASE = 0x680a,
	VMCS_GUEST_DS_BASE = 0x680c,
	VMCS_GUEST_FS_BASE = 0x680e,
	VMCS_GUEST_GS_BASE = 0x6810,
	VMCS_GUEST_LDTR_BASE = 0x6812,
	VMCS_GUEST_TR_BASE = 0x6814,
	VMCS_GUEST_GDTR_BASE = 0x6816,
	VMCS_GUEST_IDTR_BASE = 0x6818,
	VMCS_GUEST_DR7 = 0x681a,
	VMCS_GUEST_RSP = 0x681c,
	VMCS_GUEST_RIP = 0x681e,
	VMCS_GUEST_RFLAGS = 0x6820,
	VMCS_GUEST_PENDING_DBG = 0x6822,
	VMCS_GUEST_SYSENTER_ESP = 0x6824,
	VMCS_GUEST_SYSENTER_EIP = 0x6826,
	/* natural-width host */
	VMCS_HOST_CR0 = 0x6c00,
	VMCS_HOST_CR3 = 0x6c02,
	VMCS_HOST_CR4 = 0x6c04,
	VMCS_HOST_FS_BASE = 0x6c06,
	VMCS_HOST_GS_BASE = 0x6c08,
	VMCS_HOST_TR_BASE = 0x6c0a,
	VMCS_HOST_GDTR_BASE = 0x6c0c,
	VMCS_HOST_IDTR_BASE = 0x6c0e,
	VMCS_HOST_SYSENTER_ESP = 0x6c10,
	VMCS_HOST_SYSENTER_EIP = 0x6c12,
	VMCS_HOST_RSP = 0x6c14,
	VMCS_HOST_RIP = 0x6c16,
};

/* Segment registers are laid out in the VMCS with a stride of 2 in each
 * group (selector, limit, AR, base) in the order ES CS SS DS FS GS LDTR TR,
 * the same order as enum seg_index (boot_info.h). */
#define VMCS_SEG_SEL(i) ((u32)VMCS_GUEST_ES_SEL + 2u * (u32)(i))
#define VMCS_SEG_LIMIT(i) ((u32)VMCS_GUEST_ES_LIMIT + 2u * (u32)(i))
#define VMCS_SEG_AR(i) ((u32)VMCS_GUEST_ES_AR + 2u * (u32)(i))
#define VMCS_SEG_BASE(i) ((u32)VMCS_GUEST_ES_BASE + 2u * (u32)(i))
_Static_assert(VMCS_GUEST_TR_SEL == VMCS_GUEST_ES_SEL + 2 * 7, "segment selector stride");
_Static_assert(VMCS_GUEST_TR_AR == VMCS_GUEST_ES_AR + 2 * 7, "segment AR stride");
_Static_assert(VMCS_GUEST_TR_BASE == VMCS_GUEST_ES_BASE + 2 * 7, "segment base stride");
_Static_assert(VMCS_GUEST_TR_LIMIT == VMCS_GUEST_ES_LIMIT + 2 * 7, "segment limit stride");

/* Segment access rights (SDM 25.4.1, table 25-2). */
#define VMX_AR_TYPE_ACCESSED BIT(0)
#define VMX_AR_S BIT(4)
#define VMX_AR_P BIT(7)
#define VMX_AR_L BIT(13)
#define VMX_AR_UNUSABLE BIT(16)
#define VMX_AR_TSS64_BUSY 0x8bu /* P, type 11: busy 64-bit TSS */

/* Guest interruptibility state (SDM 25.4.2, table 25-3). */
#define VMX_INTR_BLOCK_STI BIT(0)
#define VMX_INTR_BLOCK_MOV_SS BIT(1)
#define VMX_INTR_BLOCK_NMI BIT(3)

/* VM-entry/exit interruption information (SDM 25.8.3, 25.9.2). */
#define VMX_INTR_INFO_VALID BIT(31)
#define VMX_INTR_INFO_ERROR BIT(11)
#define VMX_INTR_TYPE_SHIFT 8
#define VMX_INTR_TYPE_MASK (7u << VMX_INTR_TYPE_SHIFT)
#define VMX_INTR_TYPE_EXT_INTR 0u
#define VMX_INTR_TYPE_NMI 2u
#define VMX_INTR_TYPE_HW_EXC 3u
#define VMX_INTR_TYPE_SW_INT 4u
#define VMX_INTR_TYPE_PRIV_SW_EXC 5u
#define VMX_INTR_TYPE_SW_EXC 6u

/* ---- basic exit reasons (appendix C) ------------------------------------ */
enum vmx_exit_reason {
	VMX_EXIT_EXCEPTION_NMI = 0,
	VMX_EXIT_EXTERNAL_INTR = 1,
	VMX_EXIT_TRIPLE_FAULT = 2,
	VMX_EXIT_INIT = 3,
	VMX_EXIT_SIPI = 4,
	VMX_EXIT_INTR_WINDOW = 7,
	VMX_EXIT_TASK_SWITCH = 9,
	VMX_EXIT_CPUID = 10,
	VMX_EXIT_GETSEC = 11,
	VMX_EXIT_HLT = 12,
	VMX_EXIT_INVD = 13,
	VMX_EXIT_VMCALL = 18,
	VMX_EXIT_VMCLEAR = 19,
	VMX_EXIT_VMLAUNCH = 20,
	VMX_EXIT_VMPTRLD = 21,
	VMX_EXIT_VMPTRST = 22,
	VMX_EXIT_VMREAD = 23,
	VMX_EXIT_VMRESUME = 24,
	VMX_EXIT_VMWRITE = 25,
	VMX_EXIT_VMXOFF = 26,
	VMX_EXIT_VMXON = 27,
	VMX_EXIT_CR_ACCESS = 28,
	VMX_EXIT_IO = 30,
	VMX_EXIT_MTF = 37,
	VMX_EXIT_RDMSR = 31,
	VMX_EXIT_WRMSR = 32,
	VMX_EXIT_ENTRY_INVALID_GUEST = 33,
	VMX_EXIT_ENTRY_MSR_LOAD = 34,
	VMX_EXIT_ENTRY_MACHINE_CHECK = 41,
	VMX_EXIT_EPT_VIOLATION = 48,
	VMX_EXIT_EPT_MISCONFIG = 49,
	VMX_EXIT_INVEPT = 50,
	VMX_EXIT_PREEMPT_TIMER = 52,
	VMX_EXIT_INVVPID = 53,
	VMX_EXIT_XSETBV = 55,
	VMX_EXIT_VMFUNC = 59,
};
#define VMX_EXIT_REASON_BASIC(r) ((r) & 0xffffu)
#define VMX_EXIT_REASON_ENTRY_FAIL BIT(31)

/* Exit qualification for I/O (SDM 28.2.1, table 28-5). */
#define VMX_IO_SIZE_MASK 7u
#define VMX_IO_IN BIT(3)
#define VMX_IO_STRING BIT(4)
#define VMX_IO_REP BIT(5)
#define VMX_IO_PORT_SHIFT 16

/* Exit qualification for EPT violations (table 28-7). */
#define VMX_EPT_READ BIT(0)
#define VMX_EPT_WRITE BIT(1)
#define VMX_EPT_FETCH BIT(2)
#define VMX_EPT_PERMS_MASK (15ull << 3) /* readable/writable/executable, user-executable (MBEC) */

/* Exit qualification for control-register accesses (table 28-3). */
#define VMX_CR_NUM(q) ((unsigned)((q) & 0xf))
#define VMX_CR_TYPE(q) ((unsigned)(((q) >> 4) & 3))
#define VMX_CR_GPR(q) ((unsigned)(((q) >> 8) & 0xf))
#define VMX_CR_TYPE_MOV_TO 0u
#define VMX_CR_TYPE_MOV_FROM 1u
#define VMX_CR_TYPE_CLTS 2u
#define VMX_CR_TYPE_LMSW 3u
#define VMX_CR_LMSW_SRC(q) (((q) >> 16) & 0xffffu)

/* ---- VMX instructions ---------------------------------------------------
 * Each returns 0 on VMsucceed, 1 on VMfailInvalid (CF), 2 on VMfailValid
 * (ZF: the reason is in VMCS_INSN_ERROR). SDM 31.2. */
#ifndef HV_HOST_TEST
static inline int vmx_status(u8 cf, u8 zf) { return cf ? 1 : zf ? 2 : 0; }

static inline int vmxon(u64 pa)
{
	u8 cf, zf;
	__asm__ volatile("vmxon %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "m"(pa) : "cc", "memory");
	return vmx_status(cf, zf);
}

static inline int vmxoff(void)
{
	u8 cf, zf;
	__asm__ volatile("vmxoff; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : : "cc", "memory");
	return vmx_status(cf, zf);
}

static inline int vmclear(u64 pa)
{
	u8 cf, zf;
	__asm__ volatile("vmclear %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "m"(pa) : "cc", "memory");
	return vmx_status(cf, zf);
}

static inline int vmptrld(u64 pa)
{
	u8 cf, zf;
	__asm__ volatile("vmptrld %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "m"(pa) : "cc", "memory");
	return vmx_status(cf, zf);
}

static inline u64 vmread(u32 field)
{
	u64 v;
	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"((u64)field) : "cc");
	return v;
}

static inline int vmwrite(u32 field, u64 v)
{
	u8 cf, zf;
	__asm__ volatile("vmwrite %3, %2; setc %0; setz %1"
			 : "=qm"(cf), "=qm"(zf)
			 : "r"((u64)field), "rm"(v)
			 : "cc");
	return vmx_status(cf, zf);
}

/* INVEPT/INVVPID descriptors (SDM 31.3). */
struct vmx_inv_desc {
	u64 lo, hi;
};
_Static_assert(sizeof(struct vmx_inv_desc) == 16, "INVEPT/INVVPID descriptor");

#define INV_INDIVIDUAL_ADDR 0ull
#define INV_SINGLE_CONTEXT 1ull
#define INV_ALL_CONTEXT 2ull
#define INV_SINGLE_CONTEXT_GLOBALS 3ull

static inline void invept(u64 type, u64 eptp)
{
	struct vmx_inv_desc d = { eptp, 0 };
	__asm__ volatile("invept %0, %1" : : "m"(d), "r"(type) : "cc", "memory");
}

static inline void invvpid(u64 type, u16 vpid, u64 la)
{
	struct vmx_inv_desc d = { vpid, la };
	__asm__ volatile("invvpid %0, %1" : : "m"(d), "r"(type) : "cc", "memory");
}
#endif

#endif
