/*
 * vmx_nested_check.c - nested VMX, the pure part (docs/nested.md, "Nested
 * VMX"): the capability MSRs L1 reads (SDM vol. 3 appendix A: exactly
 * what vmx_nested.c emulates, vmx_nested.h) and the VM-entry checks of
 * VMLAUNCH/VMRESUME on L1's VMCS (SDM 26.2 controls and host state:
 * VMfailValid 7 and 8; 26.3.1 guest state: a VM-entry failure, exit
 * reason 33 with bit 31). The checks cover the fields offered; they run
 * before hv.efi builds the VMCS it really enters (vmcs02), whose own
 * failures the CPU reports (vmx_nested.c reflects them the same way).
 * No VMCS access: compiled into the host unit tests.
 */
#include "vmx_nested.h"
#include "x86.h"

static bool canonical(u64 a) { return (u64)((s64)(a << 16) >> 16) == a; }

static u64 ctl_msr(u32 default1, u32 offer) { return ((u64)offer << 32) | default1; }

int vmx_nested_msr(const struct vmx_caps *host, u32 msr, u64 *val)
{
	switch (msr) {
	case MSR_IA32_VMX_BASIC:
		/* A.1: revision, 4 KiB region, WB structures (type 6, bits
		 * 53:50), TRUE controls (55); no INS/OUTS info (54), no dual
		 * monitor (49), 64-bit addresses (48 clear). */
		*val = VMCS12_REVISION | (4096ull << 32) | (6ull << 50) | VMX_BASIC_TRUE_CTLS;
		return 0;
	case MSR_IA32_VMX_PINBASED_CTLS:
	case MSR_IA32_VMX_TRUE_PINBASED_CTLS:
		*val = ctl_msr(NVMX_PIN_DEFAULT1, NVMX_PIN_OFFER);
		return 0;
	case MSR_IA32_VMX_PROCBASED_CTLS:
		*val = ctl_msr(NVMX_PROC_DEFAULT1, NVMX_PROC_OFFER);
		return 0;
	case MSR_IA32_VMX_TRUE_PROCBASED_CTLS:
		*val = ctl_msr(NVMX_PROC_RESERVED1, NVMX_PROC_OFFER);
		return 0;
	case MSR_IA32_VMX_EXIT_CTLS:
		*val = ctl_msr(NVMX_EXIT_DEFAULT1, NVMX_EXIT_OFFER);
		return 0;
	case MSR_IA32_VMX_TRUE_EXIT_CTLS:
		*val = ctl_msr(NVMX_EXIT_RESERVED1, NVMX_EXIT_OFFER);
		return 0;
	case MSR_IA32_VMX_ENTRY_CTLS:
		*val = ctl_msr(NVMX_ENTRY_DEFAULT1, NVMX_ENTRY_OFFER);
		return 0;
	case MSR_IA32_VMX_TRUE_ENTRY_CTLS:
		*val = ctl_msr(NVMX_ENTRY_RESERVED1, NVMX_ENTRY_OFFER);
		return 0;
	case MSR_IA32_VMX_MISC:
		/* A.6: bit 5 (EFER.LMA stored in the IA-32e entry control at
		 * exits), no preemption timer (4:0 unused), activity state
		 * active only (8:6 clear), 4 CR3 targets (24:16), 512 MSRs
		 * recommended (27:25 = 0; the lists themselves are not
		 * emulated: counts must be 0), MSEG revision 0. */
		*val = BIT(5) | (4ull << 16);
		return 0;
	case MSR_IA32_VMX_CR0_FIXED0:
		*val = NVMX_CR0_FIXED0;
		return 0;
	case MSR_IA32_VMX_CR0_FIXED1:
		*val = host->cr0_fixed1;
		return 0;
	case MSR_IA32_VMX_CR4_FIXED0:
		*val = NVMX_CR4_FIXED0;
		return 0;
	case MSR_IA32_VMX_CR4_FIXED1:
		*val = host->cr4_fixed1;
		return 0;
	case MSR_IA32_VMX_VMCS_ENUM: /* A.9: the highest index, bits 9:1 */
		*val = (u64)vmcs12_max_index() << 1;
		return 0;
	case MSR_IA32_VMX_PROCBASED_CTLS2:
		*val = ctl_msr(0, NVMX_PROC2_OFFER);
		return 0;
	case MSR_IA32_VMX_EPT_VPID_CAP:
		*val = NVMX_EPT_VPID_OFFER;
		return 0;
	default:
		/* VMFUNC (needs proc2 bit 13), the tertiary and secondary-exit
		 * controls: not offered, so the MSRs do not exist (A.11). */
		return -1;
	}
}

/* One control word against the TRUE allowed settings (A.3-A.5). */
static bool ctl_ok(u32 v, u32 must1, u32 may1) { return (v & must1) == must1 && !(v & ~may1); }

static bool pa_ok(u64 pa, u32 maxphy, u64 align) { return !(pa & (align - 1)) && !(pa >> maxphy); }

static bool pat_ok(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 t = (u8)(pat >> (i * 8));
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

/* SDM 26.2.1.3: event injection. */
static const char *check_injection(const struct vmcs12 *v)
{
	u32 info = v->vm_entry_intr_info_field;
	if (!(info & BIT(31)))
		return NULL;
	u32 type = (info >> 8) & 7, vec = info & 0xff;
	if (info & 0x7ffff000u)
		return "event injection: reserved bits 30:12";
	if (type == 1 || type == 7)
		return "event injection: type not supported";
	if (type == 2 && vec != 2)
		return "event injection: NMI with a vector other than 2";
	if (type == 3 && vec > 31)
		return "event injection: hardware exception vector above 31";
	bool pe = v->guest_cr0 & CR0_PE;
	bool ug = (v->cpu_based_vm_exec_control & PROC_ACTIVATE_SECONDARY) &&
		  (v->secondary_vm_exec_control & PROC2_UNRESTRICTED_GUEST);
	bool has_err = type == 3 && (vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21);
	bool deliver = info & BIT(11);
	if (deliver && ug && !pe)
		return "event injection: error code in real mode";
	if (deliver != (has_err && (pe || !ug)))
		return "event injection: deliver-error-code does not match the vector";
	if (deliver && (v->vm_entry_exception_error_code & 0xffff8000u))
		return "event injection: error code bits 31:15";
	if ((type == 4 || type == 5 || type == 6) &&
	    (v->vm_entry_instruction_len < 1 || v->vm_entry_instruction_len > 15))
		return "event injection: instruction length";
	return NULL;
}

u32 vmx_nested_check_controls(const struct vmcs12 *v, u32 maxphy, const char **why)
{
	u32 proc = v->cpu_based_vm_exec_control;
	u32 proc2 = (proc & PROC_ACTIVATE_SECONDARY) ? v->secondary_vm_exec_control : 0;
	u32 pin = v->pin_based_vm_exec_control;
	*why = NULL;
	if (!ctl_ok(pin, NVMX_PIN_DEFAULT1, NVMX_PIN_OFFER))
		*why = "pin-based controls";
	else if (!ctl_ok(proc, NVMX_PROC_RESERVED1, NVMX_PROC_OFFER))
		*why = "processor-based controls";
	else if (!ctl_ok(proc2, 0, NVMX_PROC2_OFFER))
		*why = "secondary processor-based controls";
	else if (!ctl_ok(v->vm_exit_controls, NVMX_EXIT_RESERVED1, NVMX_EXIT_OFFER))
		*why = "VM-exit controls";
	else if (!ctl_ok(v->vm_entry_controls, NVMX_ENTRY_RESERVED1, NVMX_ENTRY_OFFER))
		*why = "VM-entry controls";
	else if (v->cr3_target_count > 4)
		*why = "CR3-target count above 4";
	else if ((proc & PROC_USE_IO_BITMAPS) &&
		 (!pa_ok(v->io_bitmap_a, maxphy, 4096) || !pa_ok(v->io_bitmap_b, maxphy, 4096)))
		*why = "I/O bitmap address";
	else if ((proc & PROC_USE_MSR_BITMAPS) && !pa_ok(v->msr_bitmap, maxphy, 4096))
		*why = "MSR bitmap address";
	else if (!(pin & PIN_NMI_EXITING) && (pin & NVMX_PIN_VIRTUAL_NMIS))
		*why = "virtual NMIs without NMI exiting";
	else if (!(pin & NVMX_PIN_VIRTUAL_NMIS) && (proc & NVMX_PROC_NMI_WINDOW))
		*why = "NMI-window exiting without virtual NMIs";
	else if ((proc2 & PROC2_ENABLE_VPID) && v->virtual_processor_id == 0)
		*why = "VPID 0";
	else if ((proc2 & PROC2_UNRESTRICTED_GUEST) && !(proc2 & PROC2_ENABLE_EPT))
		*why = "unrestricted guest without EPT";
	else if ((proc2 & PROC2_ENABLE_EPT) &&
		 ((v->ept_pointer & 7) != EPTP_WB || ((v->ept_pointer >> 3) & 7) != 3 ||
		  (v->ept_pointer & 0xfc0) || (v->ept_pointer >> maxphy)))
		*why = "EPT pointer (WB, 4-level, no A/D offered)";
	else if (v->vm_exit_msr_store_count || v->vm_exit_msr_load_count || v->vm_entry_msr_load_count)
		*why = "MSR load/store lists (not emulated: counts must be 0)";
	else
		*why = check_injection(v);
	return *why ? 7 : 0;
}

u32 vmx_nested_check_host(const struct vmcs12 *v, u32 maxphy, u64 cr4_fixed1, bool l1_lma,
			  const char **why)
{
	bool as64 = v->vm_exit_controls & EXIT_HOST_ADDR_SPACE_SIZE;
	const u16 sel[] = { v->host_es_selector, v->host_cs_selector, v->host_ss_selector,
			    v->host_ds_selector, v->host_fs_selector, v->host_gs_selector,
			    v->host_tr_selector };
	*why = NULL;
	if ((v->host_cr0 & NVMX_CR0_FIXED0) != NVMX_CR0_FIXED0 || (v->host_cr0 >> 32))
		*why = "host CR0 fixed bits";
	else if ((v->host_cr4 & NVMX_CR4_FIXED0) != NVMX_CR4_FIXED0 || (v->host_cr4 & ~cr4_fixed1))
		*why = "host CR4 fixed bits";
	else if (v->host_cr3 >> maxphy)
		*why = "host CR3 beyond MAXPHYADDR";
	else if (!canonical(v->host_ia32_sysenter_esp) || !canonical(v->host_ia32_sysenter_eip))
		*why = "host SYSENTER ESP/EIP not canonical";
	else if ((v->vm_exit_controls & EXIT_LOAD_IA32_PAT) && !pat_ok(v->host_ia32_pat))
		*why = "host PAT";
	else if ((v->vm_exit_controls & EXIT_LOAD_IA32_EFER) &&
		 ((v->host_ia32_efer & ~(u64)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) ||
		  !!(v->host_ia32_efer & EFER_LMA) != as64 || !!(v->host_ia32_efer & EFER_LME) != as64))
		*why = "host EFER";
	else if (l1_lma != as64)
		*why = "host address-space size differs from IA-32e mode";
	else if (as64 && !(v->host_cr4 & CR4_PAE))
		*why = "64-bit host without CR4.PAE";
	else if (as64 && !canonical(v->host_rip))
		*why = "host RIP not canonical";
	else if (!as64 && ((v->vm_entry_controls & ENTRY_IA32E_MODE_GUEST) || (v->host_rip >> 32)))
		*why = "32-bit host: IA-32e guest or RIP above 4 GiB";
	else if (!v->host_cs_selector || !v->host_tr_selector || (!as64 && !v->host_ss_selector))
		*why = "host CS/TR (or SS) selector null";
	else if (!canonical(v->host_fs_base) || !canonical(v->host_gs_base) ||
		 !canonical(v->host_tr_base) || !canonical(v->host_gdtr_base) ||
		 !canonical(v->host_idtr_base))
		*why = "host base not canonical";
	for (u32 i = 0; !*why && i < sizeof(sel) / sizeof(sel[0]); i++)
		if (sel[i] & 7)
			*why = "host selector RPL/TI not 0";
	return *why ? 8 : 0;
}

#define AR_TYPE(ar) ((ar) & 0xfu)
#define AR_S BIT(4)
#define AR_DPL(ar) (((ar) >> 5) & 3u)
#define AR_P BIT(7)
#define AR_L BIT(13)
#define AR_DB BIT(14)
#define AR_UNUSABLE BIT(16)

const char *vmx_nested_check_guest(const struct vmcs12 *v, u32 maxphy, u64 cr4_fixed1)
{
	u32 proc2 = (v->cpu_based_vm_exec_control & PROC_ACTIVATE_SECONDARY) ? v->secondary_vm_exec_control : 0;
	bool ug = proc2 & PROC2_UNRESTRICTED_GUEST;
	bool ia32e = v->vm_entry_controls & ENTRY_IA32E_MODE_GUEST;
	u64 cr0 = v->guest_cr0, cr4 = v->guest_cr4;
	u64 fixed0 = ug ? NVMX_CR0_FIXED0 & ~(u64)(CR0_PE | CR0_PG) : NVMX_CR0_FIXED0;

	/* 26.3.1.1: control registers, debug registers, MSRs. */
	if ((cr0 & fixed0) != fixed0 || (cr0 >> 32))
		return "guest CR0 fixed bits";
	if ((cr0 & CR0_PG) && !(cr0 & CR0_PE))
		return "guest CR0.PG without PE";
	if ((cr4 & NVMX_CR4_FIXED0) != NVMX_CR4_FIXED0 || (cr4 & ~cr4_fixed1))
		return "guest CR4 fixed bits";
	if (ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)))
		return "IA-32e guest without CR0.PG and CR4.PAE";
	if (!ia32e && (cr4 & CR4_PCIDE))
		return "CR4.PCIDE outside IA-32e mode";
	if (v->guest_cr3 >> maxphy)
		return "guest CR3 beyond MAXPHYADDR";
	if ((v->vm_entry_controls & ENTRY_LOAD_DEBUG_CONTROLS) && (v->guest_dr7 >> 32))
		return "guest DR7 bits 63:32";
	if (!canonical(v->guest_sysenter_esp) || !canonical(v->guest_sysenter_eip))
		return "guest SYSENTER ESP/EIP not canonical";
	if ((v->vm_entry_controls & ENTRY_LOAD_IA32_PAT) && !pat_ok(v->guest_ia32_pat))
		return "guest PAT";
	if (v->vm_entry_controls & ENTRY_LOAD_IA32_EFER) {
		u64 e = v->guest_ia32_efer;
		if (e & ~(u64)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
			return "guest EFER reserved bits";
		if (!!(e & EFER_LMA) != ia32e || ((cr0 & CR0_PG) && !!(e & EFER_LME) != ia32e))
			return "guest EFER.LMA/LME vs IA-32e mode guest";
	}

	/* 26.3.1.2: segments (the checks that matter for a usable guest). */
	u32 tr = v->guest_tr_ar_bytes, cs = v->guest_cs_ar_bytes, ldtr = v->guest_ldtr_ar_bytes;
	if ((tr & AR_UNUSABLE) || (v->guest_tr_selector & 4) || (tr & AR_S) || !(tr & AR_P) ||
	    (ia32e ? AR_TYPE(tr) != 11 : (AR_TYPE(tr) != 3 && AR_TYPE(tr) != 11)))
		return "guest TR";
	if (!(ldtr & AR_UNUSABLE) &&
	    ((v->guest_ldtr_selector & 4) || AR_TYPE(ldtr) != 2 || (ldtr & AR_S) || !(ldtr & AR_P)))
		return "guest LDTR";
	if (!(v->guest_rflags & RFLAGS_VM)) {
		if (cs & AR_UNUSABLE || !(cs & AR_S) || !(cs & AR_P) ||
		    !((AR_TYPE(cs) & 9) == 9 || (ug && AR_TYPE(cs) == 3)))
			return "guest CS access rights";
		if (ia32e && (cs & AR_L) && (cs & AR_DB))
			return "guest CS.L and CS.D";
		const u32 data[] = { v->guest_ss_ar_bytes, v->guest_ds_ar_bytes, v->guest_es_ar_bytes,
				     v->guest_fs_ar_bytes, v->guest_gs_ar_bytes };
		for (u32 i = 0; i < 5; i++)
			if (!(data[i] & AR_UNUSABLE) &&
			    (!(data[i] & AR_S) || !(data[i] & AR_P) || !(data[i] & 1)))
				return "guest data segment access rights";
	}
	/* 26.3.1.3: descriptor tables. */
	if (!canonical(v->guest_gdtr_base) || !canonical(v->guest_idtr_base) ||
	    (v->guest_gdtr_limit >> 16) || (v->guest_idtr_limit >> 16))
		return "guest GDTR/IDTR";
	/* 26.3.1.4: RIP and RFLAGS. */
	u64 rf = v->guest_rflags;
	if (!(rf & BIT(1)) || (rf & (~0ull << 22 | BIT(15) | BIT(5) | BIT(3))))
		return "guest RFLAGS reserved bits";
	if ((rf & RFLAGS_VM) && (ia32e || !(cr0 & CR0_PE)))
		return "guest RFLAGS.VM in IA-32e mode or real mode";
	if (!(ia32e && (cs & AR_L)) && (v->guest_rip >> 32))
		return "guest RIP bits 63:32 outside 64-bit mode";
	u32 info = v->vm_entry_intr_info_field;
	if ((info & BIT(31)) && ((info >> 8) & 7) == 0 && !(rf & RFLAGS_IF))
		return "external interrupt injected with RFLAGS.IF clear";
	/* 26.3.1.5: non-register state. Only the active state is offered
	 * (IA32_VMX_MISC[8:6] clear). */
	u32 intr = v->guest_interruptibility_info;
	if (v->guest_activity_state != 0)
		return "guest activity state (only active offered)";
	if ((intr & ~0x1fu) || (intr & 3) == 3)
		return "guest interruptibility state";
	if ((intr & 1) && !(rf & RFLAGS_IF))
		return "blocking by STI with RFLAGS.IF clear";
	if ((info & BIT(31)) && ((info >> 8) & 7) <= 2 && ((info >> 8) & 7) != 1 && (intr & 3))
		return "event injected in an STI/MOV SS shadow";
	if (v->guest_pending_dbg_exceptions & ~(u64)(0xfull | BIT(12) | BIT(14) | BIT(16)))
		return "guest pending debug exceptions";
	/* No VMCS shadowing offered: the link pointer must be all ones
	 * (hv.efi's simplification; qualification 4 in vmx_nested.c). */
	if (v->vmcs_link_pointer != ~0ull)
		return "VMCS link pointer";
	return NULL;
}
