/*
 * time.c - partition reference time (TLFS 12.3-12.4, 12.7) and the
 * frequency MSRs (appendix C): the reference counter MSR, the reference TSC
 * page overlay, HV_X64_MSR_TSC_FREQUENCY / APIC_FREQUENCY.
 *
 * Reference time is ((TSC * TscScale) >> 64) + TscOffset in 100 ns units,
 * zero at launch. The MSR and the page use the same scale and offset, so
 * they agree exactly. The page's TscSequence is non-zero only when the TSC
 * is invariant (TLFS 12.3: CPUID 0x80000007 EDX[8], or invariant_tsc=yes
 * in hv.cfg); with 0 the guest falls back to the MSR (TLFS 12.7.3.2).
 *
 * A module (include/hv/module.h): its MSR rows and its partition set-up
 * are registered here, not in a central table.
 */
#include "time.h"
#include "backend.h"
#include "hw.h"
#include "module.h"
#include "vpregs.h"
#include "msr.h"
#include "overlay.h"
#include "pool.h"
#include "tlfs.h"
#include "muldiv.h"

u64 time_scale(u64 tsc_hz)
{
	/* 10^7 ticks of 100 ns per second, as a 64.64 fraction per TSC tick. */
	return tsc_hz > 10000000 ? div128_64(10000000, 0, tsc_hz) : 0;
}

u64 time_ref(const struct partition *p, u64 tsc)
{
	return mul_hi64(tsc, p->tsc_scale) + (u64)p->tsc_offset;
}

u64 time_ticks_to_ref(const struct partition *p, u64 ticks) { return mul_hi64(ticks, p->tsc_scale); }

/* TSC = (ref - TscOffset) * tsc_hz / 10^7, with tsc_hz / 10^7 as a 64.64
 * number computed at set-up (a synthetic timer arms on every COUNT write:
 * a multiplication, not a 64-step division), then a step of one unit's
 * worth of ticks until time_ref agrees: both scales are truncated, so the
 * inverse may land a tick or two early; a deadline must never be (TLFS
 * 12.1.3). */
u64 time_ref_to_tsc(const struct partition *p, u64 ref)
{
	if (!p->tsc_scale)
		return 0;
	u64 x = ref - (u64)p->tsc_offset;
	if (p->tsc_offset > 0 && x > ref)
		return 1; /* before the TSC's zero: long past */
	if ((p->tsc_offset < 0 && x < ref) || (p->ref_tsc_int && x > ~0ull / (p->ref_tsc_int + 1)))
		return ~0ull; /* beyond the TSC's range: never */
	u64 tsc = x * p->ref_tsc_int + mul_hi64(x, p->ref_tsc_frac);
	u64 step = p->ref_tsc_int + 1;
	for (int i = 0; i < 8 && time_ref(p, tsc) < ref; i++)
		tsc += step;
	return tsc;
}

/* At partition set-up, with the clocks measured (p->tsc_hz, apic_hz,
 * invariant_tsc) and tsc_page the reference TSC page's memory:
 * reference time needs a measured TSC (TLFS 12.4, 12.7), and the
 * frequency MSRs report what was measured, never a guess. */
int time_setup(struct partition *p, u8 *tsc_page)
{
	if (!time_scale(p->tsc_hz))
		p->privileges &= ~(HV_ACCESS_PARTITION_REFERENCE_COUNTER |
				   HV_ACCESS_PARTITION_REFERENCE_TSC | HV_ACCESS_FREQUENCY_REGS);
	if (!p->apic_hz || !p->tsc_hz) {
		p->privileges &= ~HV_ACCESS_FREQUENCY_REGS;
		p->features_edx &= ~HV_FEATURE_FREQUENCY_MSRS;
	}
	/* AccessTscInvariantControls only where the TSC is invariant (or
	 * declared so in hv.cfg): the guest may then rely on it. */
	if (!p->invariant_tsc || !time_scale(p->tsc_hz))
		p->privileges &= ~HV_ACCESS_TSC_INVARIANT_CONTROLS;
	p->tsc_invariant_ctl = 0;
	p->tsc_scale = time_scale(p->tsc_hz);
	p->ref_tsc_int = p->tsc_hz / 10000000;
	p->ref_tsc_frac = div128_64(p->tsc_hz % 10000000, 0, 10000000);
	p->tsc_offset = -(s64)mul_hi64(hw_rdtsc(), p->tsc_scale); /* zero now */
	for (u64 i = 0; i < PAGE_SIZE; i++)
		tsc_page[i] = 0;
	struct hv_ref_tsc_page *pg = (struct hv_ref_tsc_page *)tsc_page;
	pg->tsc_scale = p->tsc_scale;
	pg->tsc_offset = p->tsc_offset;
	pg->tsc_sequence = p->invariant_tsc && p->tsc_scale ? 1 : 0;
	struct overlay *o = &p->vtl[0].ref_tsc_page;
	*o = (struct overlay){ 0, (u64)(uintptr_t)tsc_page, SLAT_RX, false, "reference TSC", 1 };
	return overlay_register(p, o);
}

static int time_msr_time_ref_count_read(struct vp *vp, u32 msr, u64 *val)
{
	*val = time_ref(vp->part, hw_rdtsc());
	return 0;
}

static int time_msr_reference_tsc_read(struct vp *vp, u32 msr, u64 *val)
{
	*val = vp_pvtl(vp)->ref_tsc_msr;
	return 0;
}

/* TLFS 12.7.1: bit 0 enable, 11:1 RsvdP (kept as written), 63:12 GPA. A
 * page beyond the GPA space is simply not visible (no #GP). */
static int time_msr_reference_tsc_write(struct vp *vp, u32 msr, u64 val)
{
	struct partition_vtl *v = vp_pvtl(vp);
	if (overlay_msr_write(vp, &v->ref_tsc_page, val, false))
		return 1;
	v->ref_tsc_msr = val;
	return 0;
}

/* Appendix C: the frequencies the hypervisor measured at start, in Hz. */
static int time_msr_frequency_read(struct vp *vp, u32 msr, u64 *val)
{
	*val = msr == HV_X64_MSR_TSC_FREQUENCY ? vp->part->tsc_hz : vp->part->apic_hz;
	return 0;
}

/* HV_X64_MSR_TSC_INVARIANT_CONTROL (Hyper-V; not in TLFS 6.0, which lists
 * neither the MSR nor leaf 0x40000003 EAX bit 15): bit 0 makes CPUID
 * 0x80000007 EDX[8] (invariant TSC) visible to the guest; until then it is
 * hidden (hv/cpuid.c), as on Hyper-V, where the guest opts in. Linux 6.1
 * (ms_hyperv_init_platform) writes 1 when it sees the privilege and then
 * treats the TSC as reliable instead of marking it unstable. Other bits
 * are reserved: #GP. Partition-wide (one CPUID for all VPs). */
static int time_msr_tsc_invariant_read(struct vp *vp, u32 msr, u64 *val)
{
	*val = vp->part->tsc_invariant_ctl;
	return 0;
}

static int time_msr_tsc_invariant_write(struct vp *vp, u32 msr, u64 val)
{
	if (val & ~1ull)
		return 1;
	vp->part->tsc_invariant_ctl = val;
	return 0;
}

HV_MSR_ROWS(time_msrs) = {
	{ HV_X64_MSR_TIME_REF_COUNT, HV_X64_MSR_TIME_REF_COUNT, HV_ACCESS_PARTITION_REFERENCE_COUNTER, 0,
	  time_msr_time_ref_count_read, msr_read_only, "TIME_REF_COUNT" },
	{ HV_X64_MSR_REFERENCE_TSC, HV_X64_MSR_REFERENCE_TSC, HV_ACCESS_PARTITION_REFERENCE_TSC, 0,
	  time_msr_reference_tsc_read, time_msr_reference_tsc_write, "REFERENCE_TSC" },
	{ HV_X64_MSR_TSC_FREQUENCY, HV_X64_MSR_APIC_FREQUENCY, HV_ACCESS_FREQUENCY_REGS,
	  HV_FEATURE_FREQUENCY_MSRS, time_msr_frequency_read, msr_read_only, "TSC/APIC_FREQUENCY" },
	{ HV_X64_MSR_TSC_INVARIANT_CONTROL, HV_X64_MSR_TSC_INVARIANT_CONTROL,
	  HV_ACCESS_TSC_INVARIANT_CONTROLS, 0, time_msr_tsc_invariant_read,
	  time_msr_tsc_invariant_write, "TSC_INVARIANT_CONTROL" },
};

static int time_partition_init(struct partition *p, struct pool *pool)
{
	u8 *page = pool_alloc_pages(pool, 1);
	return page ? time_setup(p, page) : -1;
}

HV_MODULE(time, .on_partition = time_partition_init);

HV_VPREG_ROWS(time_vpregs) = {
	{ 0x00000240, HV_X64_MSR_TSC_FREQUENCY, true, "ProcessorClockFrequency" },
	{ 0x00000241, HV_X64_MSR_APIC_FREQUENCY, true, "InterruptClockFrequency" },
	{ 0x00090004, HV_X64_MSR_TIME_REF_COUNT, true, "TimeRefCount" },
	{ 0x00090017, HV_X64_MSR_REFERENCE_TSC, false, "ReferenceTsc" },
};
