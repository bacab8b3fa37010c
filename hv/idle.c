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
#include "hv.h"
#include "tlfs.h"

#define APIC_IRR 0x200 /* 8 registers, 0x10 apart (SDM 11.8.4) */

static bool irr_pending(void)
{
	for (u32 i = 0; i < 8; i++)
		if (hv_apic_read(APIC_IRR + 0x10 * i))
			return true;
	return false;
}

int hv_msr_guest_idle_read(struct vp *vp, u32 msr, u64 *val)
{
	u64 t0 = hv_rdtsc();
	while (!irr_pending())
		hv_cpu_relax();
	vp->idle_ticks += hv_rdtsc() - t0;
	vp->idle_count++;
	*val = 0;
	return 0;
}

int hv_msr_vp_runtime_read(struct vp *vp, u32 msr, u64 *val)
{
	u64 ran = hv_rdtsc() - vp->start_tsc - vp->idle_ticks;
	*val = hv_ref_time(&(struct partition){ .tsc_scale = vp->part->tsc_scale }, ran);
	return 0;
}
