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
 */
#include "hv.h"
#include "tlfs.h"

/* 128-bit helpers in plain C (no libgcc in the core). */
static u64 mul_hi64(u64 a, u64 b)
{
	u64 a_lo = (u32)a, a_hi = a >> 32, b_lo = (u32)b, b_hi = b >> 32;
	u64 lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
	u64 cross = (lo_lo >> 32) + (u32)hi_lo + lo_hi;
	return hi_hi + (hi_lo >> 32) + (cross >> 32);
}

/* (hi:lo) / d, for hi < d (the quotient fits in 64 bits). */
static u64 div128_64(u64 hi, u64 lo, u64 d)
{
	u64 q = 0;
	for (int i = 0; i < 64; i++) {
		bool carry = hi >> 63;
		hi = (hi << 1) | (lo >> 63);
		lo <<= 1;
		q <<= 1;
		if (carry || hi >= d) {
			hi -= d;
			q |= 1;
		}
	}
	return q;
}

u64 hv_time_scale(u64 tsc_hz)
{
	/* 10^7 ticks of 100 ns per second, as a 64.64 fraction per TSC tick. */
	return tsc_hz > 10000000 ? div128_64(10000000, 0, tsc_hz) : 0;
}

u64 hv_ref_time(const struct partition *p, u64 tsc)
{
	return mul_hi64(tsc, p->tsc_scale) + (u64)p->tsc_offset;
}

void hv_time_partition_init(struct partition *p, u8 *tsc_page, u64 apic_hz, bool invariant)
{
	partition_set_apic_hz(p, apic_hz);
	p->tsc_scale = hv_time_scale(p->tsc_hz);
	p->tsc_offset = -(s64)mul_hi64(hv_rdtsc(), p->tsc_scale); /* zero now */
	for (u64 i = 0; i < PAGE_SIZE; i++)
		tsc_page[i] = 0;
	struct hv_ref_tsc_page *pg = (struct hv_ref_tsc_page *)tsc_page;
	pg->tsc_scale = p->tsc_scale;
	pg->tsc_offset = p->tsc_offset;
	pg->tsc_sequence = invariant && p->tsc_scale ? 1 : 0;
	p->ref_tsc_page = (struct overlay){ 0, (u64)(uintptr_t)tsc_page, SLAT_RX, false, "reference TSC" };
	overlay_register(p, &p->ref_tsc_page);
}

int hv_msr_time_ref_count_read(struct vp *vp, u32 msr, u64 *val)
{
	*val = hv_ref_time(vp->part, hv_rdtsc());
	return 0;
}

int hv_msr_reference_tsc_read(struct vp *vp, u32 msr, u64 *val)
{
	*val = vp->part->ref_tsc_msr;
	return 0;
}

/* TLFS 12.7.1: bit 0 enable, 11:1 RsvdP (kept as written), 63:12 GPA. A
 * page beyond the GPA space is simply not visible (no #GP). */
int hv_msr_reference_tsc_write(struct vp *vp, u32 msr, u64 val)
{
	struct partition *p = vp->part;
	if (overlay_msr_write(vp, &p->ref_tsc_page, val, false))
		return 1;
	p->ref_tsc_msr = val;
	return 0;
}

/* Appendix C: the frequencies the hypervisor measured at start, in Hz. */
int hv_msr_frequency_read(struct vp *vp, u32 msr, u64 *val)
{
	*val = msr == HV_X64_MSR_TSC_FREQUENCY ? vp->part->tsc_hz : vp->part->apic_hz;
	return 0;
}
