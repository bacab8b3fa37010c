/*
 * apic.c - the local APIC MSRs (TLFS 10.2.3: EOI, ICR, TPR) acting on the
 * VP's local APIC, and the VP assist page (TLFS 7.8.7), an overlay page per
 * VP. The local APIC is the guest's own (passed through): the registers are
 * reached through the hw_apic_* seam, in the mode (xAPIC or x2APIC) the
 * guest chose.
 */
#include "vp.h"
#include "backend.h"
#include "hw.h"
#include "module.h"
#include "vpregs.h"
#include "overlay.h"
#include "pool.h"
#include "smp.h"
#include "apic.h"
#include "tlfs.h"

/* Local APIC register offsets (SDM 11.4.1, table 11-1). */
#define APIC_TPR 0x080
#define APIC_EOI 0x0b0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310

static int apic_msr_apic_read(struct vp *vp, u32 msr, u64 *val)
{
	switch (msr) {
	case HV_X64_MSR_EOI:
		return 1; /* write-only (TLFS 10.2.3.1) */
	case HV_X64_MSR_ICR:
		*val = hw_apic_read_icr();
		return 0;
	case HV_X64_MSR_TPR:
		*val = hw_apic_read(APIC_TPR) & 0xff;
		return 0;
	default:
		return 1;
	}
}

static int apic_msr_apic_write(struct vp *vp, u32 msr, u64 val)
{
	switch (msr) {
	case HV_X64_MSR_EOI:
		if (val >> 32)
			return 1; /* RsvdZ */
		hw_apic_write(APIC_EOI, (u32)val);
		return 0;
	case HV_X64_MSR_ICR: { /* through the same INIT/SIPI path as the APIC's */
		smp_icr_write(vp, val, hw_x2apic_mode());
		return 0;
	}
	case HV_X64_MSR_TPR:
		if (val >> 8)
			return 1; /* RsvdZ */
		hw_apic_write(APIC_TPR, (u32)val);
		return 0;
	default:
		return 1;
	}
}

/* TLFS 7.8.7: bit 0 enable, 11:1 reserved (kept), 63:12 GPA page. */
static int apic_msr_vp_assist_read(struct vp *vp, u32 msr, u64 *val)
{
	*val = vp->cur->assist_msr;
	return 0;
}

static int apic_msr_vp_assist_write(struct vp *vp, u32 msr, u64 val)
{
	struct vp_ctx *c = vp->cur;
	if (!c->assist_page.hpa || overlay_msr_write(vp, &c->assist_page, val, true))
		return 1;
	c->assist_msr = val;
	return 0;
}

int apic_assist_setup(struct vp *vp, u8 *page)
{
	for (u64 i = 0; i < PAGE_SIZE; i++)
		page[i] = 0;
	/* VTL 0's context: the one a VP starts in (the backend builds it
	 * after the modules' VP hooks ran). */
	struct vp_ctx *c = &vp->ctx[0];
	c->assist_page = (struct overlay){ 0, (u64)(uintptr_t)page, SLAT_RWX, false, "VP assist", 1 };
	return overlay_register(vp->part, &c->assist_page);
}

HV_MSR_ROWS(apic_msrs) = {
	{ HV_X64_MSR_EOI, HV_X64_MSR_TPR, HV_ACCESS_INTR_CTRL_REGS, 0,
	  apic_msr_apic_read, apic_msr_apic_write, "EOI/ICR/TPR" },
	{ HV_X64_MSR_VP_ASSIST_PAGE, HV_X64_MSR_VP_ASSIST_PAGE, HV_ACCESS_INTR_CTRL_REGS, 0,
	  apic_msr_vp_assist_read, apic_msr_vp_assist_write, "VP_ASSIST_PAGE" },
};

static int apic_vp_init(struct vp *vp, struct pool *pool)
{
	u8 *page = pool_alloc_pages(pool, 1);
	return page ? apic_assist_setup(vp, page) : -1;
}

HV_MODULE(apic, .on_vp = apic_vp_init);

HV_VPREG_ROWS(apic_vpregs) = {
	{ 0x00090013, HV_X64_MSR_VP_ASSIST_PAGE, false, "VpAssistPage" },
};
