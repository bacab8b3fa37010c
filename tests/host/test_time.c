/* test_time.c - reference time (hv/time.c, TLFS 12.4, 12.7). */
#include "htest.h"
#include "fakes.h"
#include "tlfs.h"
#include <string.h>

static struct partition part;
static struct vp vp;
static struct fake_be_state bes;
static u8 page[4096] __attribute__((aligned(4096)));

static void setup(u64 tsc_hz, u64 apic_hz, bool inv)
{
	partition_init(&part, &fake_backend, 36, 0x200000, 0x100000);
	part.tsc_hz = tsc_hz;
	part.apic_hz = apic_hz;
	part.invariant_tsc = inv;
	fake_vp_init(&vp, &part, &bes);
	partition_add_vp(&part, &vp);
	fake_tsc = 5000000000ull; /* launch at a non-zero TSC */
	fake_tsc_step = 0;
	time_setup(&part, page);
}

TEST(time_scale_math)
{
	CHECK_EQ(time_scale(1000000000), 184467440737095516ull); /* 2^64 / 100 */
	CHECK_EQ(time_scale(10000000), 0); /* too slow to scale: no time */
	u64 s = time_scale(2611646000ull);
	/* One second of TSC is 10^7 units, to within one unit. */
	struct partition p = { .tsc_scale = s, .tsc_offset = 0 };
	u64 t = time_ref(&p, 2611646000ull);
	CHECK(t >= 9999999 && t <= 10000000);
	/* No overflow at large TSC values (years of uptime). */
	t = time_ref(&p, 2611646000ull * 86400 * 365);
	CHECK(t >= 315359999000000ull && t <= 315360000000000ull);
}

TEST(time_ref_counter_and_page)
{
	setup(1000000000, 1000000000, true);
	u64 v;
	CHECK_EQ(msr_synth_read(&vp, HV_X64_MSR_TIME_REF_COUNT, &v), 0);
	CHECK_EQ(v, 0); /* zero at launch (TLFS 12.4.1) */
	fake_tsc += 1000000000; /* one second */
	msr_synth_read(&vp, HV_X64_MSR_TIME_REF_COUNT, &v);
	CHECK(v >= 9999999 && v <= 10000000);
	const struct hv_ref_tsc_page *pg = (const void *)page;
	CHECK_EQ(pg->tsc_sequence, 1);
	CHECK_EQ(pg->tsc_scale, part.tsc_scale);
	/* The page's formula gives exactly the MSR's value. */
	u64 a = fake_tsc;
	struct partition q = { .tsc_scale = pg->tsc_scale, .tsc_offset = pg->tsc_offset };
	CHECK_EQ(time_ref(&q, a), v);
	/* Frequencies. */
	CHECK_EQ(msr_synth_read(&vp, HV_X64_MSR_TSC_FREQUENCY, &v), 0);
	CHECK_EQ(v, 1000000000);
	msr_synth_read(&vp, HV_X64_MSR_APIC_FREQUENCY, &v);
	CHECK_EQ(v, 1000000000);
	CHECK(part.features_edx & HV_FEATURE_FREQUENCY_MSRS);
}

TEST(time_not_invariant_or_not_measured)
{
	setup(1000000000, 0, false);
	const struct hv_ref_tsc_page *pg = (const void *)page;
	CHECK_EQ(pg->tsc_sequence, 0); /* TLFS 12.3: fall back to the MSR */
	CHECK(!(part.privileges & HV_ACCESS_FREQUENCY_REGS)); /* APIC not measured */
	CHECK(!(part.features_edx & HV_FEATURE_FREQUENCY_MSRS));
	CHECK(part.privileges & HV_ACCESS_PARTITION_REFERENCE_COUNTER);
	setup(0, 1000000000, true);
	CHECK(!(part.privileges & (HV_ACCESS_PARTITION_REFERENCE_COUNTER |
				   HV_ACCESS_PARTITION_REFERENCE_TSC | HV_ACCESS_FREQUENCY_REGS)));
}

TEST(time_reference_tsc_msr)
{
	setup(1000000000, 1000000000, true);
	u64 v;
	msr_synth_read(&vp, HV_X64_MSR_REFERENCE_TSC, &v);
	CHECK_EQ(v, 0);
	CHECK_EQ(msr_synth_write(&vp, HV_X64_MSR_REFERENCE_TSC, 0x105000 | 0xffe | 1), 0);
	msr_synth_read(&vp, HV_X64_MSR_REFERENCE_TSC, &v);
	CHECK_EQ(v, 0x105fff); /* RsvdP kept as written */
	CHECK_EQ(bes.last_set_gpa, 0x105000);
	CHECK_EQ(bes.last_set_hpa, (u64)(uintptr_t)page);
	CHECK_EQ(bes.last_set_acc, SLAT_RX);
	/* Beyond the GPA space: accepted, not visible (TLFS 12.7.1). */
	CHECK_EQ(msr_synth_write(&vp, HV_X64_MSR_REFERENCE_TSC, (1ull << 36) | 1), 0);
	CHECK(overlay_at(&part, 1ull << 36) == NULL);
	CHECK_EQ(bes.last_set_gpa, 0x105000); /* the old page was uncovered */
	CHECK_EQ(bes.last_set_acc, SLAT_RWX);
	msr_synth_read(&vp, HV_X64_MSR_REFERENCE_TSC, &v);
	CHECK_EQ(v, (1ull << 36) | 1);
}
