/*
 * apic.c - the local APIC MSRs (TLFS 10.2.3: EOI, ICR, TPR) acting on the
 * VP's local APIC, and the VP assist page (TLFS 7.8.7), an overlay page per
 * VP. The local APIC is the guest's own (passed through): the registers are
 * reached through the hv_apic_* seam, in the mode (xAPIC or x2APIC) the
 * guest chose.
 */
#include "hv.h"
#include "tlfs.h"

/* Local APIC register offsets (SDM 11.4.1, table 11-1). */
#define APIC_TPR 0x080
#define APIC_EOI 0x0b0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310

int hv_msr_apic_read(struct vp *vp, u32 msr, u64 *val)
{
	switch (msr) {
	case HV_X64_MSR_EOI:
		return 1; /* write-only (TLFS 10.2.3.1) */
	case HV_X64_MSR_ICR:
		*val = hv_apic_read_icr();
		return 0;
	case HV_X64_MSR_TPR:
		*val = hv_apic_read(APIC_TPR) & 0xff;
		return 0;
	default:
		return 1;
	}
}

int hv_msr_apic_write(struct vp *vp, u32 msr, u64 val)
{
	switch (msr) {
	case HV_X64_MSR_EOI:
		if (val >> 32)
			return 1; /* RsvdZ */
		hv_apic_write(APIC_EOI, (u32)val);
		return 0;
	case HV_X64_MSR_ICR: { /* through the same INIT/SIPI path as the APIC's */
		u64 base = 0;
		hv_native_rdmsr(0x1b, &base);
		hv_icr_write(vp, val, base & BIT(10));
		return 0;
	}
	case HV_X64_MSR_TPR:
		if (val >> 8)
			return 1; /* RsvdZ */
		hv_apic_write(APIC_TPR, (u32)val);
		return 0;
	default:
		return 1;
	}
}

/* TLFS 7.8.7: bit 0 enable, 11:1 reserved (kept), 63:12 GPA page. */
int hv_msr_vp_assist_read(struct vp *vp, u32 msr, u64 *val)
{
	*val = vp->assist_msr;
	return 0;
}

int hv_msr_vp_assist_write(struct vp *vp, u32 msr, u64 val)
{
	if (!vp->assist_page.hpa || overlay_msr_write(vp, &vp->assist_page, val, true))
		return 1;
	vp->assist_msr = val;
	return 0;
}

int hv_vp_assist_init(struct vp *vp, u8 *page)
{
	for (u64 i = 0; i < PAGE_SIZE; i++)
		page[i] = 0;
	vp->assist_page = (struct overlay){ 0, (u64)(uintptr_t)page, SLAT_RWX, false, "VP assist" };
	return overlay_register(vp->part, &vp->assist_page);
}
