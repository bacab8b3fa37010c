/*
 * vmx_nested_route.c - which exits of L2 are L1's (docs/nested.md, "Nested
 * VMX", exit routing): the exits L1's controls in vmcs12 ask for (SDM
 * vol. 3 26.1-26.2, 25.6) and the unconditional ones. vmx_decode_l2
 * (vmx_nested.c) asks once per exit of an L2 context; everything L1 does
 * not want is hv.efi's own, handled in L2's context.
 */
#include "vmx.h"
#include "vmx_nested.h"
#include "x86.h"

/* The NMI-window exit's basic reason (SDM appendix C). */
#define EXTRA_NMI_WINDOW 8u

/* One bit of an L1 bitmap (checked to be in RAM at the entry). */
static bool l1_bit(u64 pa, u32 bit) { return (((const u8 *)vmx_l1_ptr(pa))[bit / 8] >> (bit % 8)) & 1; }

/* Does L1 want L2's exit (SDM 26.1-26.2: the exits its controls cause,
 * and the unconditional ones)? */
bool vmx_l1_wants(struct vp *vp, const struct vmcs12 *v, u32 basic, u64 q)
{
	u32 proc = v->cpu_based_vm_exec_control;
	switch (basic) {
	case VMX_EXIT_EXCEPTION_NMI: {
		u32 info = (u32)vmread(VMCS_EXIT_INTR_INFO);
		if (((info & VMX_INTR_TYPE_MASK) >> VMX_INTR_TYPE_SHIFT) == VMX_INTR_TYPE_NMI)
			return false; /* hv.efi's first (kicks): vmx_inject_nmi */
		u32 vec = info & 0xff;
		bool bit = (v->exception_bitmap >> vec) & 1;
		if (vec == X86_EXC_PF) { /* 25.6.3 */
			u32 err = (u32)vmread(VMCS_EXIT_INTR_ERROR);
			bool match = (err & v->page_fault_error_code_mask) == v->page_fault_error_code_match;
			return bit == match;
		}
		return bit;
	}
	case VMX_EXIT_EXTERNAL_INTR:
		return v->pin_based_vm_exec_control & PIN_EXT_INTR_EXITING;
	case VMX_EXIT_INTR_WINDOW:
		return proc & PROC_INTR_WINDOW_EXITING;
	case EXTRA_NMI_WINDOW:
		return proc & NVMX_PROC_NMI_WINDOW;
	case VMX_EXIT_HLT:
		return proc & PROC_HLT_EXITING;
	case VMX_EXIT_CR_ACCESS: {
		unsigned type = VMX_CR_TYPE(q), cr = VMX_CR_NUM(q);
		u64 src = type == VMX_CR_TYPE_LMSW ? VMX_CR_LMSW_SRC(q) : vp->gpr[VMX_CR_GPR(q)];
		if (cr == 0 && type != VMX_CR_TYPE_MOV_FROM)
			return (vmx_cr0_new_value(v->cr0_read_shadow, type, src) ^ v->cr0_read_shadow) &
			       v->cr0_guest_host_mask;
		if (cr == 4 && type == VMX_CR_TYPE_MOV_TO)
			return (src ^ v->cr4_read_shadow) & v->cr4_guest_host_mask;
		if (cr == 3 && type == VMX_CR_TYPE_MOV_FROM)
			return proc & PROC_CR3_STORE_EXITING;
		if (cr == 3 && type == VMX_CR_TYPE_MOV_TO) {
			if (!(proc & PROC_CR3_LOAD_EXITING))
				return false;
			const u64 *t = &v->cr3_target_value0;
			for (u32 i = 0; i < v->cr3_target_count && i < 4; i++)
				if (t[i] == src)
					return false;
			return true;
		}
		if (cr == 8) /* only L1 sets CR8 exiting in vmcs02 */
			return proc & (type == VMX_CR_TYPE_MOV_TO ? NVMX_PROC_CR8_LOAD : NVMX_PROC_CR8_STORE);
		return false;
	}
	case VMX_EXIT_IO: {
		if (!(proc & PROC_USE_IO_BITMAPS))
			return proc & NVMX_PROC_UNCOND_IO;
		u32 port = (u32)(q >> VMX_IO_PORT_SHIFT) & 0xffff, size = (u32)(q & VMX_IO_SIZE_MASK) + 1;
		for (u32 i = 0; i < size; i++) {
			u32 pt = (port + i) & 0xffff;
			if (l1_bit(pt < 0x8000 ? v->io_bitmap_a : v->io_bitmap_b, pt & 0x7fff))
				return true;
		}
		return false;
	}
	case VMX_EXIT_RDMSR:
	case VMX_EXIT_WRMSR: {
		if (!(proc & PROC_USE_MSR_BITMAPS))
			return true;
		int bit = vmx_msr_bitmap_bit((u32)vp->gpr[GPR_RCX]);
		return bit < 0 || l1_bit(v->msr_bitmap, (u32)bit + (basic == VMX_EXIT_WRMSR ? 2048 * 8 : 0));
	}
	case VMX_EXIT_INIT:
	case VMX_EXIT_SIPI:
	case VMX_EXIT_EPT_VIOLATION:
	case VMX_EXIT_EPT_MISCONFIG:
	case VMX_EXIT_PREEMPT_TIMER:
	case VMX_EXIT_MTF:
		return false;
	default:
		/* Unconditional in VMX non-root operation (26.1.2): triple
		 * fault, task switch, CPUID, GETSEC, INVD, XSETBV, VMCALL and
		 * the VMX instructions; and what only L1's controls cause in
		 * vmcs02 (INVLPG, MWAIT, RDPMC, RDTSC, MOV DR, MONITOR, PAUSE:
		 * NVMX_PROC_PASS). */
		return true;
	}
}
