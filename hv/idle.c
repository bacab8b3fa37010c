/*
 * idle.c - the guest idle MSR (TLFS 7.5) and the VP runtime MSR (TLFS
 * 7.9.1).
 *
 * A read of HV_X64_MSR_GUEST_IDLE idles the VP until an interrupt arrives,
 * even one the guest has masked. The host runs with interrupts held (GIF=0
 * on SVM, no external-interrupt exiting on VMX), so an arriving interrupt
 * stays latched in the local APIC's IRR: the host waits for any IRR bit,
 * then resumes the guest, which takes the interrupt when it unmasks it.
 *
 * VP runtime is the time the VP's logical processor spent on the guest:
 * in guest mode and in exits on its behalf, less the time idled through
 * the guest idle MSR. A HLT executed by the guest is not intercepted (it
 * would cost an exit per idle period), so time halted by HLT counts as
 * run time.
 */
#include "vp.h"
#include "hw.h"
#include "module.h"
#include "vpregs.h"
#include "msr.h"
#include "time.h"
#include "tlfs.h"

#define APIC_IRR 0x200 /* 8 registers, 0x10 apart (SDM 11.8.4) */

static bool irr_pending(void)
{
	for (u32 i = 0; i < 8; i++)
		if (hw_apic_read(APIC_IRR + 0x10 * i))
			return true;
	return false;
}

static int idle_msr_guest_idle_read(struct vp *vp, u32 msr, u64 *val)
{
	u64 t0 = hw_rdtsc();
	while (!irr_pending())
		hw_cpu_relax();
	vp->idle_ticks += hw_rdtsc() - t0;
	vp->idle_count++;
	*val = 0;
	return 0;
}

static int idle_msr_vp_runtime_read(struct vp *vp, u32 msr, u64 *val)
{
	u64 ran = hw_rdtsc() - vp->start_tsc - vp->idle_ticks;
	*val = time_ticks_to_ref(vp->part, ran);
	return 0;
}

HV_MSR_ROWS(idle_msrs) = {
	{ HV_X64_MSR_VP_RUNTIME, HV_X64_MSR_VP_RUNTIME, HV_ACCESS_VP_RUNTIME, 0,
	  idle_msr_vp_runtime_read, msr_read_only, "VP_RUNTIME" },
	{ HV_X64_MSR_GUEST_IDLE, HV_X64_MSR_GUEST_IDLE, HV_ACCESS_GUEST_IDLE_REG,
	  HV_FEATURE_GUEST_IDLE_STATE, idle_msr_guest_idle_read, msr_read_only, "GUEST_IDLE" },
};

HV_VPREG_ROWS(idle_vpregs) = {
	{ 0x00090000, HV_X64_MSR_VP_RUNTIME, true, "VpRuntime" },
};
