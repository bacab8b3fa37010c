/*
 * vmx_caps.c - VMX capability arithmetic (see vmx_caps.h). SDM vol. 3
 * appendix A: for each control word, bit X of the low 32 bits of the
 * capability MSR set means the control must be 1 (allowed 0-setting is 0);
 * bit X of the high 32 bits clear means it must be 0. When IA32_VMX_BASIC
 * bit 55 is set, the TRUE_* MSRs report the real allowed-0 settings of the
 * pin/primary/exit/entry controls, which can clear "default1" bits (e.g.
 * CR3-load/store exiting) that the legacy MSRs force on (A.2).
 */
#include "vmx_caps.h"
#include "x86.h"
#include "vmcs.h"

/* What the VMX backend needs from the controls (SDM 25.6-25.8), required
 * and optional. Unrestricted guest lets the firmware run in any mode it
 * likes (real mode included) without emulation; it requires EPT. RDTSCP,
 * INVPCID, XSAVES and TPAUSE/UMWAIT raise #UD in the guest unless enabled,
 * so they are enabled where the CPU has them. VPID is optional: without it
 * every VM entry and exit flushes the TLB. IA-32e mode guest is required
 * to be possible and then set per guest state. Nothing exits on external
 * interrupts, NMIs, HLT or CR3 accesses. */
const struct vmx_ctl_want vmx_ctl_wanted[5] = {
	/* NMI exiting: other VPs kick this one with NMIs (INIT/SIPI, hv/smp.c). */
	[VMX_CTL_PIN] = { PIN_NMI_EXITING, 0 },
	[VMX_CTL_PROC] = { PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY, 0 },
	[VMX_CTL_PROC2] = { PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST,
			    PROC2_ENABLE_VPID | PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID |
				    PROC2_ENABLE_XSAVES | PROC2_ENABLE_USER_WAIT_PAUSE | PROC2_MBEC },
	[VMX_CTL_EXIT] = { EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT |
				   EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER,
			   EXIT_SAVE_DEBUG_CONTROLS },
	[VMX_CTL_ENTRY] = { ENTRY_LOAD_IA32_PAT | ENTRY_LOAD_IA32_EFER | ENTRY_IA32E_MODE_GUEST,
			    ENTRY_LOAD_DEBUG_CONTROLS },
};

int vmx_adjust_ctl(u64 cap, struct vmx_ctl_want want, u32 *out, u32 *missing)
{
	u32 must1 = (u32)cap;
	u32 may1 = (u32)(cap >> 32);
	u32 lack = want.required & ~may1;
	/* A CPU that forces a bit it does not allow is broken; report it as
	 * missing rather than produce an unenterable value. */
	lack |= must1 & ~may1;
	*missing = lack;
	*out = (must1 | want.required | (want.optional & may1)) & may1;
	return lack ? -1 : 0;
}

int vmx_compute_controls(const struct vmx_caps *c, const struct vmx_ctl_want want[5],
			 struct vmx_controls *out, const char **why, u32 *missing)
{
	bool true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;
	static const char *const names[5] = { "pin-based", "primary processor-based",
					      "secondary processor-based", "VM-exit",
					      "VM-entry" };
	u64 caps[5] = {
		true_ctls ? c->true_pin : c->pin,
		true_ctls ? c->true_proc : c->proc,
		c->proc2,
		true_ctls ? c->true_exit : c->exit,
		true_ctls ? c->true_entry : c->entry,
	};
	u32 *dst[5] = { &out->pin, &out->proc, &out->proc2, &out->exit, &out->entry };

	*why = NULL;
	*missing = 0;
	for (int i = 0; i < 5; i++) {
		struct vmx_ctl_want w = want[i];
		/* Secondary controls exist only if the primary word can
		 * activate them (A.3.3): otherwise they are all 0. */
		if (i == VMX_CTL_PROC2 && !(out->proc & PROC_ACTIVATE_SECONDARY)) {
			if (w.required) {
				*why = "primary processor-based (activate secondary controls)";
				*missing = (u32)PROC_ACTIVATE_SECONDARY;
				return -1;
			}
			*dst[i] = 0;
			continue;
		}
		if (vmx_adjust_ctl(caps[i], w, dst[i], missing)) {
			*why = names[i];
			return -1;
		}
	}
	return 0;
}

u64 vmx_fixed_cr(u64 v, u64 fixed0, u64 fixed1) { return (v | fixed0) & fixed1; }

u64 vmx_guest_cr0_fixed0(const struct vmx_caps *c, bool unrestricted)
{
	u64 f = c->cr0_fixed0;
	if (unrestricted)
		f &= ~(BIT(0) | BIT(31)); /* PE, PG */
	return f;
}

u64 vmx_cr0_mask(const struct vmx_caps *c, bool unrestricted)
{
	return vmx_guest_cr0_fixed0(c, unrestricted);
}

u64 vmx_cr4_mask(const struct vmx_caps *c) { return c->cr4_fixed0 | CR4_VMXE; }

u64 vmx_cr0_new_value(u64 cur, unsigned type, u64 src)
{
	switch (type) {
	case 2: /* CLTS */
		return cur & ~CR0_TS;
	case 3: /* LMSW: bits 3:0; PE can be set, not cleared */
		return (cur & ~(u64)(CR0_MP | CR0_EM | CR0_TS)) |
		       (src & (CR0_PE | CR0_MP | CR0_EM | CR0_TS));
	default: /* MOV to CR0 */
		return src;
	}
}

#define VMX_CR4_CET BIT(23)

bool vmx_cr0_write_gp(u64 cur, u64 v, u64 cr4, u64 efer, bool cs_l)
{
	if (v >> 32)
		return true;
	if ((v & CR0_PG) && !(v & CR0_PE))
		return true;
	if ((v & CR0_NW) && !(v & CR0_CD))
		return true;
	if (!(cur & CR0_PG) && (v & CR0_PG) && (efer & EFER_LME) && (!(cr4 & CR4_PAE) || cs_l))
		return true;
	if ((cur & CR0_PG) && !(v & CR0_PG) && (((efer & EFER_LMA) && cs_l) || (cr4 & CR4_PCIDE)))
		return true;
	if (!(v & CR0_WP) && (cr4 & VMX_CR4_CET))
		return true;
	return false;
}

bool vmx_cr4_write_gp(const struct vmx_caps *c, u64 v)
{
	return (v & CR4_VMXE) || (v & ~c->cr4_fixed1);
}

u32 vmx_allowed1(const struct vmx_caps *c, int ctl)
{
	bool tru = c->basic & BIT(55);
	switch (ctl) {
	case VMX_CTL_PIN: return (u32)((tru ? c->true_pin : c->pin) >> 32);
	case VMX_CTL_PROC: return (u32)((tru ? c->true_proc : c->proc) >> 32);
	case VMX_CTL_PROC2: return (u32)(c->proc2 >> 32);
	case VMX_CTL_EXIT: return (u32)((tru ? c->true_exit : c->exit) >> 32);
	case VMX_CTL_ENTRY: return (u32)((tru ? c->true_entry : c->entry) >> 32);
	default: return 0;
	}
}

u32 vmx_preempt_ticks(u64 deadline, u64 now, u64 misc)
{
	if (now >= deadline)
		return 0;
	u64 d = deadline - now, r = misc & 0x1f;
	u64 t = (d >> r) + ((d & ((1ull << r) - 1)) != 0); /* rounded up: never early */
	return t > 0xffffffffull ? 0xffffffffu : (u32)t;
}

int vmx_msr_bitmap_bit(u32 msr)
{
	if (msr <= 0x1fff)
		return (int)msr;
	if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		return (int)(1024 * 8 + (msr & 0x1fff));
	return -1;
}
