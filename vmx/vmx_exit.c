/*
 * vmx_exit.c - turning a VM exit into the neutral exit record (SDM vol. 3
 * 28.2: exit reason, qualification, instruction length), the exits the VMX
 * backend handles itself (MOV CR4 to hide VMXE, XSETBV, INVD: they have no
 * neutral counterpart), and the per-exit services the dispatcher asks for:
 * advancing RIP (28.2.5 instruction length; 25.4.2 interruptibility),
 * injecting exceptions and interrupts (26.6 event injection; 25.6.2
 * interrupt-window exiting), the guest registers, the MSRs that hide VMX,
 * the VM-instruction error names (31.4) and the state dump for entry
 * failures.
 */
#include "vmx.h"
#include "vmx_nested.h"
#include "arch.h"
#include "boot_info.h"
#include "log.h"
#include "x86.h"


/* SDM 31.4, table 31-1. */
static const char *const insn_errors[] = {
	[1] = "VMCALL executed in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
	[13] = "VMWRITE to read-only VMCS component",
	[15] = "VMXON executed in VMX root operation",
	[16] = "VM entry with invalid executive-VMCS pointer",
	[17] = "VM entry with non-launched executive VMCS",
	[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
	[19] = "VMCALL with non-clear VMCS",
	[20] = "VMCALL with invalid VM-exit control fields",
	[22] = "VMCALL with incorrect MSEG revision identifier",
	[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
	[24] = "VMCALL with invalid SMM-monitor features",
	[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "Invalid operand to INVEPT/INVVPID",
};

const char *vmx_insn_error_name(u32 err)
{
	return err < ARRAY_SIZE(insn_errors) && insn_errors[err] ? insn_errors[err]
								 : "unknown VM-instruction error";
}

/* Exit reasons with bit 31 set: the VM entry failed (SDM 27.8). */
static const char *entry_fail_name(u32 basic)
{
	switch (basic) {
	case VMX_EXIT_ENTRY_INVALID_GUEST: return "invalid guest state";
	case VMX_EXIT_ENTRY_MSR_LOAD: return "MSR loading";
	case VMX_EXIT_ENTRY_MACHINE_CHECK: return "machine-check event";
	default: return "unknown reason";
	}
}

void vmx_decode_exit(struct vp *vp, struct hv_exit *e)
{
	u32 reason = (u32)vmread(VMCS_EXIT_REASON);
	u64 q = vmread(VMCS_EXIT_QUAL);
	u32 len = (u32)vmread(VMCS_EXIT_INSN_LEN);

	*e = (struct hv_exit){ 0 };
	e->raw = reason;
	e->qual[0] = q;
	if (reason & VMX_EXIT_REASON_ENTRY_FAIL) {
		/* Qualification for invalid guest state (27.8): 0 default,
		 * 2 PDPTE loading, 3 NMI injection, 4 VMCS link pointer. */
		if (!vp->cur->l2) /* an L2's is L1's to see (vmx_nested.c) */
			LOGE("vmx: VM entry failed: %s (exit reason %x, qualification %lx)",
			     entry_fail_name(VMX_EXIT_REASON_BASIC(reason)), reason, (unsigned long)q);
		e->reason = HV_EXIT_ENTRY_FAIL;
		return;
	}
	switch (VMX_EXIT_REASON_BASIC(reason)) {
	case VMX_EXIT_CPUID:
		e->reason = HV_EXIT_CPUID;
		e->insn_len = len;
		break;
	case VMX_EXIT_RDMSR:
	case VMX_EXIT_WRMSR:
		e->reason = VMX_EXIT_REASON_BASIC(reason) == VMX_EXIT_WRMSR ? HV_EXIT_MSR_WRITE
									    : HV_EXIT_MSR_READ;
		e->insn_len = len;
		e->u.msr.index = (u32)vp->gpr[GPR_RCX];
		e->u.msr.value = (vp->gpr[GPR_RDX] << 32) | (u32)vp->gpr[GPR_RAX];
		break;
	case VMX_EXIT_IO: /* table 28-5 */
		e->reason = HV_EXIT_IO;
		e->insn_len = len;
		e->u.io.size = (u8)((q & VMX_IO_SIZE_MASK) + 1);
		e->u.io.in = q & VMX_IO_IN;
		e->u.io.string = q & VMX_IO_STRING;
		e->u.io.rep = q & VMX_IO_REP;
		e->u.io.port = (u16)(q >> VMX_IO_PORT_SHIFT);
		break;
	case VMX_EXIT_EPT_VIOLATION: /* table 28-7 */
		e->reason = HV_EXIT_NPF;
		e->u.npf.gpa = vmread(VMCS_GUEST_PHYS_ADDR);
		e->qual[1] = e->u.npf.gpa;
		e->u.npf.read = q & VMX_EPT_READ;
		e->u.npf.write = q & VMX_EPT_WRITE;
		e->u.npf.exec = q & VMX_EPT_FETCH;
		e->u.npf.present = (q & VMX_EPT_PERMS_MASK) != 0;
		break;
	case VMX_EXIT_VMCALL:
		e->reason = HV_EXIT_HYPERCALL;
		e->insn_len = len;
		break;
	case VMX_EXIT_VMCLEAR:
	case VMX_EXIT_VMLAUNCH:
	case VMX_EXIT_VMPTRLD:
	case VMX_EXIT_VMPTRST:
	case VMX_EXIT_VMREAD:
	case VMX_EXIT_VMRESUME:
	case VMX_EXIT_VMWRITE:
	case VMX_EXIT_VMXOFF:
	case VMX_EXIT_VMXON:
	case VMX_EXIT_INVEPT:
	case VMX_EXIT_INVVPID:
	case VMX_EXIT_VMFUNC:
		e->reason = HV_EXIT_VIRT_INSN;
		e->insn_len = len;
		break;
	case VMX_EXIT_TRIPLE_FAULT:
		e->reason = HV_EXIT_SHUTDOWN;
		break;
	case VMX_EXIT_INIT:
		e->reason = HV_EXIT_INIT;
		break;
	case VMX_EXIT_SIPI:
		e->reason = HV_EXIT_SIPI;
		break;
	case VMX_EXIT_HLT:
		e->reason = HV_EXIT_HLT;
		e->insn_len = len;
		break;
	case VMX_EXIT_MTF: /* a monitor trap flag step (not armed today: vmx_debug_ctl) */
		e->reason = HV_EXIT_EXCEPTION;
		e->u.exc.vector = 1;
		break;
	case VMX_EXIT_INTR_WINDOW: /* one-shot: inject_irq asks again */
		vmwrite(VMCS_PROC_CTLS, vmread(VMCS_PROC_CTLS) & ~(u64)PROC_INTR_WINDOW_EXITING);
		e->reason = HV_EXIT_INTR_WINDOW;
		break;
	case VMX_EXIT_EXCEPTION_NMI: {
		u32 info = (u32)vmread(VMCS_EXIT_INTR_INFO);
		bool nmi = ((info & VMX_INTR_TYPE_MASK) >> VMX_INTR_TYPE_SHIFT) == VMX_INTR_TYPE_NMI;
		/* After a VM exit caused by an NMI, NMIs stay blocked until the
		 * host executes IRET (SDM vol. 3, "VM exits caused by NMIs"; KVM
		 * runs its NMI handler there for the same reason): an
		 * IRET to the next instruction, or the next kick is lost. */
		if (nmi)
			__asm__ volatile("mov %%rsp, %%rcx\n\t"
					 "pushq %[ss]\n\t"
					 "pushq %%rcx\n\t"
					 "pushfq\n\t"
					 "pushq %[cs]\n\t"
					 "leaq 1f(%%rip), %%rcx\n\t"
					 "pushq %%rcx\n\t"
					 "iretq\n"
					 "1:"
					 :
					 : [ss] "i"(HOST_DS), [cs] "i"(HOST_CS)
					 : "rcx", "memory");
		/* An NMI that exits arrived while the guest's NMIs were not
		 * blocked: blocking by NMI is saved as 0 (SDM 27.3.4). Bochs
		 * masks the NMI before the exit and saves 1; with NMI exiting
		 * a guest IRET never clears it (SDM 25.3), so the next kick
		 * would stay pending forever. */
		if (nmi)
			vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
				vmread(VMCS_GUEST_INTERRUPTIBILITY) & ~(u64)VMX_INTR_BLOCK_NMI);
		e->reason = nmi ? HV_EXIT_NMI : HV_EXIT_EXCEPTION;
		e->u.exc.vector = (u8)info;
		break;
	}
	default:
		/* CR access, XSETBV, INVD, the preemption timer:
		 * vmx_handle_internal; the rest (EPT misconfiguration, task
		 * switch, ...) is fatal. */
		e->reason = HV_EXIT_UNKNOWN;
		e->insn_len = len;
		break;
	}
	if (vp->cur->l2)
		vmx_decode_l2(vp, e);
}

int vmx_advance_rip(struct vp *vp, const struct hv_exit *e)
{
	if (!e->insn_len)
		return -1;
	vmwrite(VMCS_GUEST_RIP, vmread(VMCS_GUEST_RIP) + e->insn_len);
	/* The emulated instruction retired: an STI or MOV SS shadow before
	 * it is over (SDM 25.4.2). */
	u64 intr = vmread(VMCS_GUEST_INTERRUPTIBILITY);
	if (intr & (VMX_INTR_BLOCK_STI | VMX_INTR_BLOCK_MOV_SS))
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
			intr & ~(u64)(VMX_INTR_BLOCK_STI | VMX_INTR_BLOCK_MOV_SS));
	return 0;
}

void vmx_inject_nmi(struct vp *vp)
{
	if (vp->cur->l2 && vmx_nested_nmi(vp))
		return;
	vmwrite(VMCS_ENTRY_INTR_INFO,
		2 | (VMX_INTR_TYPE_NMI << VMX_INTR_TYPE_SHIFT) | VMX_INTR_INFO_VALID);
	vmx_of(vp)->injected = true;
}

void vmx_inject_exception(struct vp *vp, u8 vector, bool has_error, u32 error)
{
	if (vp->cur->l2 && vmx_nested_exception(vp, vector, has_error, error))
		return;
	u32 info = vector | (VMX_INTR_TYPE_HW_EXC << VMX_INTR_TYPE_SHIFT) | VMX_INTR_INFO_VALID;
	/* SDM 27.2.1.3: no error code is delivered in real mode (unrestricted
	 * guest with CR0.PE = 0). */
	if (has_error && (vmread(VMCS_GUEST_CR0) & CR0_PE)) {
		info |= VMX_INTR_INFO_ERROR;
		vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, error);
	}
	vmwrite(VMCS_ENTRY_INTR_INFO, info);
	vmx_of(vp)->injected = true;
}

/* An external interrupt now if the guest can take it (RFLAGS.IF, no STI or
 * MOV SS blocking, no event queued or to be delivered again: SDM 26.3.1.4
 * does not let an entry inject into a blocked guest), else an
 * interrupt-window exit (SDM 25.6.2, 27.2). Without that control, the
 * window is whenever the guest next exits: 1 either way. */
int vmx_inject_irq(struct vp *vp, u8 vector)
{
	/* In L2, hv.efi's interrupts for L1 (the SynIC's) exit to L1 first
	 * when L1 set external-interrupt exiting (vmx_nested_irq); with its
	 * acknowledge-on-exit that exit delivers the vector. */
	if (__builtin_expect(vp->cur->l2, 0) && vmx_nested_irq(vp, vector) == 0)
		return 0;
	struct vmx_ctx *s = vmx_of(vp);
	if ((vmread(VMCS_GUEST_RFLAGS) & RFLAGS_IF) && !s->injected && !s->reinject &&
	    !(vmread(VMCS_GUEST_INTERRUPTIBILITY) & (VMX_INTR_BLOCK_STI | VMX_INTR_BLOCK_MOV_SS))) {
		vmwrite(VMCS_ENTRY_INTR_INFO,
			vector | (VMX_INTR_TYPE_EXT_INTR << VMX_INTR_TYPE_SHIFT) | VMX_INTR_INFO_VALID);
		s->injected = true;
		return 0;
	}
	if (vmx.intr_window)
		vmwrite(VMCS_PROC_CTLS, vmread(VMCS_PROC_CTLS) | PROC_INTR_WINDOW_EXITING);
	return 1;
}

u64 vmx_read_reg(struct vp *vp, enum guest_reg r)
{
	switch (r) {
	case GREG_RIP: return vmread(VMCS_GUEST_RIP);
	case GREG_RFLAGS: return vmread(VMCS_GUEST_RFLAGS);
	case GREG_CR0: /* as the guest reads it: owned bits from the shadow */
		return vmx_cr_view(vmread(VMCS_GUEST_CR0), vmread(VMCS_CR0_SHADOW), vmx.cr0_mask);
	case GREG_CR2: return read_cr2(); /* not switched: the guest's */
	case GREG_CR3: return vmread(VMCS_GUEST_CR3);
	case GREG_CR4: /* as the guest reads it: owned bits from the shadow */
		return vmx_cr_view(vmread(VMCS_GUEST_CR4), vmread(VMCS_CR4_SHADOW), vmx.cr4_mask);
	case GREG_EFER: return vmread(VMCS_GUEST_EFER);
	case GREG_CPL: return (vmread(VMCS_GUEST_SS_AR) >> 5) & 3;
	case GREG_CS_L: return (vmread(VMCS_GUEST_CS_AR) & VMX_AR_L) ? 1 : 0;
	case GREG_CS_BASE: return vmread(VMCS_GUEST_CS_BASE);
	case GREG_MODE:
		return ((vmread(VMCS_GUEST_SS_AR) >> 5) & GMODE_CPL) |
		       ((vmread(VMCS_GUEST_CR0) & CR0_PE) ? GMODE_PE : 0) |
		       ((vmread(VMCS_GUEST_RFLAGS) & RFLAGS_VM) ? GMODE_VM : 0) |
		       ((vmread(VMCS_GUEST_EFER) & EFER_LMA) ? GMODE_LMA : 0) |
		       ((vmread(VMCS_GUEST_CS_AR) & VMX_AR_L) ? GMODE_CS_L : 0);
	default: return 0;
	}
}

/* The guest sees a CPU without VMX: IA32_FEATURE_CONTROL locked with VMX
 * disabled (as firmware leaves it when VMX is off, SDM 24.7) and the
 * capability MSRs absent (#GP, as on a CPU without CPUID.1:ECX.VMX). */
enum be_msr_result vmx_msr_read(struct vp *vp, u32 msr, u64 *val)
{
	if (vp->part->nested && (msr == MSR_IA32_FEATURE_CONTROL ||
				 (msr >= MSR_IA32_VMX_FIRST && msr <= MSR_IA32_VMX_LAST)))
		return vmx_nested_msr_read(vp, msr, val);
	if (msr == MSR_IA32_FEATURE_CONTROL) {
		*val = FEATURE_CONTROL_LOCK;
		return BE_MSR_OK;
	}
	if (msr >= MSR_IA32_VMX_FIRST && msr <= MSR_IA32_VMX_LAST)
		return BE_MSR_GP;
	return BE_MSR_NOT_MINE;
}

enum be_msr_result vmx_msr_write(struct vp *vp, u32 msr, u64 val)
{
	/* Locked: any write is #GP. */
	if (msr == MSR_IA32_FEATURE_CONTROL)
		return BE_MSR_GP;
	if (msr >= MSR_IA32_VMX_FIRST && msr <= MSR_IA32_VMX_LAST)
		return BE_MSR_GP;
	return BE_MSR_NOT_MINE;
}

/* A CR0 write that changes an owned bit (NE: MOV to CR0; CLTS and LMSW
 * only if TS or PE/MP/EM/TS were owned, 26.1.3). The owned bits take the
 * guest's new values in the shadow, and in the real CR0 as VMX forces
 * them (NE stays 1); RIP is not advanced, so the guest executes the
 * instruction again: its owned bits now match the shadow, it does not
 * exit, and the CPU itself loads the other bits with everything that
 * goes with them (PE/PG transitions, IA-32e activation, PDPTE loads, its
 * own #GP checks; SDM 25.3 "MOV to CR0"). A write that would fault is
 * refused here first so that the shadow keeps the old value. */
static bool handle_cr0_write(struct vp *vp, u64 q)
{
	u64 real = vmread(VMCS_GUEST_CR0);
	u64 cur = vmx_cr_view(real, vmread(VMCS_CR0_SHADOW), vmx.cr0_mask);
	unsigned type = VMX_CR_TYPE(q);
	u64 src = type == VMX_CR_TYPE_LMSW ? VMX_CR_LMSW_SRC(q) : vp->gpr[VMX_CR_GPR(q)];
	u64 v = vmx_cr0_new_value(cur, type, src);

	if (type == VMX_CR_TYPE_MOV_TO &&
	    vmx_cr0_write_gp(cur, v, vmx_read_reg(vp, GREG_CR4), vmread(VMCS_GUEST_EFER),
			     vmread(VMCS_GUEST_CS_AR) & VMX_AR_L)) {
		vmx_inject_exception(vp, X86_EXC_GP, true, 0);
		return true;
	}
	u64 forced = vmx_fixed_cr(v, vmx.cr0_mask, vmx.caps.cr0_fixed1);
	vmwrite(VMCS_CR0_SHADOW, v);
	vmwrite(VMCS_GUEST_CR0, vmx_cr_view(real, forced, vmx.cr0_mask));
	return true;
}

/* MOV to/from CR (SDM 28.2.1 table 28-3). Only CR0/CR4 writes (and CLTS,
 * LMSW) that touch the owned bits exit (26.1.3), and CR3 accesses on a
 * CPU that cannot turn CR3 exiting off. Returns false if the access is
 * not one of those. */
static bool handle_cr_access(struct vp *vp, struct hv_exit *e)
{
	struct vmx_ctx *s = vmx_of(vp);
	u64 q = e->qual[0];
	u64 *reg = &vp->gpr[VMX_CR_GPR(q)];

	/* A write that changes a guarded bit (cr_guard): hv/cr.c's. */
	unsigned type = VMX_CR_TYPE(q);
	if (VMX_CR_NUM(q) == 0 && type != VMX_CR_TYPE_MOV_FROM && s->cr0_guard) {
		u64 cur = vmx_cr_view(vmread(VMCS_GUEST_CR0), vmread(VMCS_CR0_SHADOW), vmx.cr0_mask);
		u64 src = type == VMX_CR_TYPE_LMSW ? VMX_CR_LMSW_SRC(q) : *reg;
		if ((vmx_cr0_new_value(cur, type, src) ^ cur) & s->cr0_guard) {
			e->reason = HV_EXIT_CR_WRITE;
			e->u.cr.cr = 0;
			return false;
		}
	}
	if (VMX_CR_NUM(q) == 4 && type == VMX_CR_TYPE_MOV_TO && s->cr4_guard) {
		u64 cur = vmx_cr_view(vmread(VMCS_GUEST_CR4), vmread(VMCS_CR4_SHADOW), vmx.cr4_mask);
		if ((*reg ^ cur) & s->cr4_guard) {
			e->reason = HV_EXIT_CR_WRITE;
			e->u.cr.cr = 4;
			return false;
		}
	}

	if (VMX_CR_NUM(q) == 0 && VMX_CR_TYPE(q) != VMX_CR_TYPE_MOV_FROM) {
		return handle_cr0_write(vp, q);
	} else if (VMX_CR_TYPE(q) == VMX_CR_TYPE_MOV_TO && VMX_CR_NUM(q) == 4) {
		u64 v = *reg;
		/* VMXE on a CPU "without VMX" is a reserved bit: #GP, as is
		 * any bit VMX operation cannot hold (SDM 2.5, 24.8). With
		 * nested=on L1 may set it (the read shadow keeps it) and may
		 * not clear it in VMX operation (24.8). */
		bool nvmx = vp->part->nested;
		if (vmx_cr4_write_gp(&vmx.caps, nvmx ? v & ~(u64)CR4_VMXE : v) ||
		    (nvmx && !(v & CR4_VMXE) && !vp->cur->l2 && vmx_nested_vmxon(vp))) {
			vmx_inject_exception(vp, X86_EXC_GP, true, 0);
			return true;
		}
		vmwrite(VMCS_GUEST_CR4, vmx_fixed_cr(v, vmx.caps.cr4_fixed0, vmx.caps.cr4_fixed1));
		vmwrite(VMCS_CR4_SHADOW, v);
		/* PGE/PCIDE/SMEP... changes flush as MOV CR4 would. */
		vmx_flush_vpid(s);
	} else if (VMX_CR_NUM(q) == 3 && VMX_CR_TYPE(q) == VMX_CR_TYPE_MOV_TO) {
		vmwrite(VMCS_GUEST_CR3, *reg & ~BIT(63));
		vmx_flush_vpid(s);
	} else if (VMX_CR_NUM(q) == 3 && VMX_CR_TYPE(q) == VMX_CR_TYPE_MOV_FROM) {
		*reg = vmread(VMCS_GUEST_CR3);
	} else {
		return false;
	}
	return vmx_advance_rip(vp, e) == 0;
}

/* XSETBV exits unconditionally (26.1.2). The host never uses extended
 * state, so the guest's XCR0 is loaded as is after the checks the CPU
 * would make (SDM vol. 1 13.3, XSETBV reference). */
static bool handle_xsetbv(struct vp *vp, struct hv_exit *e)
{
	u32 idx = (u32)vp->gpr[GPR_RCX];
	u64 v = (vp->gpr[GPR_RDX] << 32) | (u32)vp->gpr[GPR_RAX];
	u32 a, b, c, d;
	cpuid_count(0xd, 0, &a, &b, &c, &d);
	u64 supported = ((u64)d << 32) | a;
	u64 avx512 = 0xe0;
	if (idx != 0 || vmx_read_reg(vp, GREG_CPL) != 0 || !(v & 1) || (v & ~supported) ||
	    ((v & 4) && !(v & 2)) || ((v & avx512) && (v & avx512) != avx512) ||
	    ((v & avx512) && !(v & 4)) || ((v & BIT(17)) != ((v & BIT(18)) >> 1))) {
		vmx_inject_exception(vp, X86_EXC_GP, true, 0);
		return true;
	}
	__asm__ volatile("xsetbv" : : "c"(idx), "a"((u32)v), "d"((u32)(v >> 32)));
	return vmx_advance_rip(vp, e) == 0;
}

bool vmx_handle_internal(struct vp *vp, struct hv_exit *e)
{
	if (e->reason != HV_EXIT_UNKNOWN)
		return false;
	switch (VMX_EXIT_REASON_BASIC((u32)e->raw)) {
	case VMX_EXIT_CR_ACCESS:
		return handle_cr_access(vp, e);
	case VMX_EXIT_XSETBV:
		return handle_xsetbv(vp, e);
	case VMX_EXIT_INVD:
		/* Dropping the caches without writing them back could lose
		 * the host's data: write back instead (WBINVD). */
		__asm__ volatile("wbinvd" ::: "memory");
		return vmx_advance_rip(vp, e) == 0;
	case VMX_EXIT_PREEMPT_TIMER:
		/* The next entry decides: the deadline's exit if it is due,
		 * else the timer armed again (it saturated). */
		return true;
	default:
		return false;
	}
}

static const char *const seg_names[SEG__COUNT] = { "es", "cs", "ss", "ds",
						   "fs", "gs", "ldtr", "tr" };

void vmx_dump(struct vp *vp)
{
	const struct vmx_cpu *cpu = vp->be_cpu;
	const u64 *r = vp->gpr;

	if (!cpu || !cpu->vmx_on) {
		log_raw("  vmx: not in VMX operation (state dumped before VMXOFF, if any)\r\n");
		return;
	}
	u32 err = (u32)vmread(VMCS_INSN_ERROR);
	log_raw("  exit: reason %lx qual %lx insn len %lu, idt-vectoring %lx, entry intr %lx, "
		"insn error %u (%s)\r\n",
		(unsigned long)vmread(VMCS_EXIT_REASON), (unsigned long)vmread(VMCS_EXIT_QUAL),
		(unsigned long)vmread(VMCS_EXIT_INSN_LEN),
		(unsigned long)vmread(VMCS_IDT_VECTORING_INFO),
		(unsigned long)vmread(VMCS_ENTRY_INTR_INFO), err,
		err ? vmx_insn_error_name(err) : "none");
	log_raw("  controls: pin %lx proc %lx proc2 %lx exit %lx entry %lx exc %lx eptp %lx\r\n",
		(unsigned long)vmread(VMCS_PIN_CTLS), (unsigned long)vmread(VMCS_PROC_CTLS),
		(unsigned long)vmread(VMCS_PROC2_CTLS), (unsigned long)vmread(VMCS_EXIT_CTLS),
		(unsigned long)vmread(VMCS_ENTRY_CTLS), (unsigned long)vmread(VMCS_EXCEPTION_BITMAP),
		(unsigned long)vmread(VMCS_EPT_POINTER));
	log_raw("  cr4 mask %lx shadow %lx\r\n", (unsigned long)vmread(VMCS_CR4_MASK),
		(unsigned long)vmread(VMCS_CR4_SHADOW));
	log_raw("  guest: rip %016lx rsp %016lx rflags %lx intr %lx activity %lx\r\n",
		(unsigned long)vmread(VMCS_GUEST_RIP), (unsigned long)vmread(VMCS_GUEST_RSP),
		(unsigned long)vmread(VMCS_GUEST_RFLAGS),
		(unsigned long)vmread(VMCS_GUEST_INTERRUPTIBILITY),
		(unsigned long)vmread(VMCS_GUEST_ACTIVITY));
	log_raw("  guest: cr0 %lx cr3 %lx cr4 %lx efer %lx pat %lx dr7 %lx debugctl %lx\r\n",
		(unsigned long)vmread(VMCS_GUEST_CR0), (unsigned long)vmread(VMCS_GUEST_CR3),
		(unsigned long)vmread(VMCS_GUEST_CR4), (unsigned long)vmread(VMCS_GUEST_EFER),
		(unsigned long)vmread(VMCS_GUEST_PAT), (unsigned long)vmread(VMCS_GUEST_DR7),
		(unsigned long)vmread(VMCS_GUEST_DEBUGCTL));
	log_raw("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\r\n", (unsigned long)r[GPR_RAX],
		(unsigned long)r[GPR_RBX], (unsigned long)r[GPR_RCX], (unsigned long)r[GPR_RDX]);
	log_raw("  rsi %016lx rdi %016lx rbp %016lx r8  %016lx\r\n", (unsigned long)r[GPR_RSI],
		(unsigned long)r[GPR_RDI], (unsigned long)r[GPR_RBP], (unsigned long)r[GPR_R8]);
	for (int i = 0; i < SEG__COUNT; i++)
		log_raw("  %-4s sel %04lx ar %05lx limit %08lx base %016lx\r\n", seg_names[i],
			(unsigned long)vmread(VMCS_SEG_SEL(i)), (unsigned long)vmread(VMCS_SEG_AR(i)),
			(unsigned long)vmread(VMCS_SEG_LIMIT(i)),
			(unsigned long)vmread(VMCS_SEG_BASE(i)));
	log_raw("  gdtr %lx/%lx idtr %lx/%lx\r\n", (unsigned long)vmread(VMCS_GUEST_GDTR_BASE),
		(unsigned long)vmread(VMCS_GUEST_GDTR_LIMIT),
		(unsigned long)vmread(VMCS_GUEST_IDTR_BASE),
		(unsigned long)vmread(VMCS_GUEST_IDTR_LIMIT));
	log_raw("  host: cr0 %lx cr3 %lx cr4 %lx rip %lx rsp %lx tr %lx/%lx gs %lx\r\n",
		(unsigned long)vmread(VMCS_HOST_CR0), (unsigned long)vmread(VMCS_HOST_CR3),
		(unsigned long)vmread(VMCS_HOST_CR4), (unsigned long)vmread(VMCS_HOST_RIP),
		(unsigned long)vmread(VMCS_HOST_RSP), (unsigned long)vmread(VMCS_HOST_TR_SEL),
		(unsigned long)vmread(VMCS_HOST_TR_BASE), (unsigned long)vmread(VMCS_HOST_GS_BASE));
}

/* The guest debugger (docs/debugging.md): #BP in the exception bitmap
 * (SDM 25.2; the exit's RIP is the INT3's). A step: RFLAGS.TF with #DB in
 * the exception bitmap, as on SVM; a #DB exit leaves DR6 alone (SDM
 * 27.1: the exit qualification carries its bits). TF is the guest's
 * register: its own value is kept and put back when the step ends. In
 * an STI or MOV SS shadow the entry requires the pending BS debug
 * exception with TF set (SDM 26.3.1.5). The monitor trap flag (SDM
 * 25.5.2) would leave RFLAGS alone, but Bochs 2.7 (the VMX test
 * platform) never delivered its exit: docs/debugging.md. */
void vmx_debug_ctl(struct vp *vp, u32 flags)
{
	struct vmx_ctx *s = vmx_of(vp);
	bool step = flags & BE_DBG_STEP;
	u64 rf = vmread(VMCS_GUEST_RFLAGS);
	if (step && !s->dbg_step) {
		s->dbg_tf = rf & RFLAGS_TF;
		vmwrite(VMCS_GUEST_RFLAGS, rf | RFLAGS_TF);
		if (vmread(VMCS_GUEST_INTERRUPTIBILITY) & (VMX_INTR_BLOCK_STI | VMX_INTR_BLOCK_MOV_SS))
			vmwrite(VMCS_GUEST_PENDING_DBG, vmread(VMCS_GUEST_PENDING_DBG) | BIT(14));
	} else if (!step && s->dbg_step && !s->dbg_tf) {
		vmwrite(VMCS_GUEST_RFLAGS, rf & ~(u64)RFLAGS_TF);
	}
	s->dbg_step = step;
	u64 bm = vmread(VMCS_EXCEPTION_BITMAP) & ~(u64)(BIT(1) | BIT(3));
	vmwrite(VMCS_EXCEPTION_BITMAP, bm | (step ? BIT(1) : 0) | ((flags & BE_DBG_BP) ? BIT(3) : 0));
}
