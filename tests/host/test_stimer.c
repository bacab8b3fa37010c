/* test_stimer.c - the synthetic timers (synic/stimer.c, TLFS 12.1.4,
 * 12.2, 12.5), the lent APIC timer (hv/apictimer.c) and the TSC invariant
 * control (hv/time.c, hv/cpuid.c). */
#include "htest.h"
#include "fakes.h"
#include "stimer.h"
#include "apictimer.h"
#include "tlfs.h"
#include <string.h>

#define CFG_EN STIMER_CFG_ENABLE
#define DIRECT(v) (STIMER_CFG_DIRECT | ((u64)(v) << 4))

static struct partition part;
static struct vp vp;
static struct fake_be_state bes;
static u8 tsc_page[4096] __attribute__((aligned(4096)));
static u8 timers_page[4096] __attribute__((aligned(4096)));

/* 1 GHz TSC: 100 TSC ticks per reference unit. */
static void setup(enum be_deadline kind)
{
	partition_init(&part, &fake_backend, 36, 0x200000, 0x100000);
	part.tsc_hz = 1000000000;
	part.apic_hz = 100000000;
	part.invariant_tsc = true;
	fake_vp_init(&vp, &part, &bes);
	partition_add_vp(&part, &vp);
	fake_tsc = 7000000000ull;
	fake_tsc_step = 0;
	time_setup(&part, tsc_page);
	stimer_partition_setup(&part);
	memset(timers_page, 0, sizeof(timers_page));
	stimer_vp_setup(&vp, timers_page);
	fake_deadline_kind = kind;
	fake_cpuid_reset();
	memset(fake_apic, 0, sizeof(fake_apic));
	fake_icr_count = 0;
	fake_relax_hook = NULL;
}

static u64 ref_now(void) { return time_ref(&part, fake_tsc); }
static int wr(u32 msr, u64 v) { return msr_synth_write(&vp, msr, v); }
static u64 rd(u32 msr)
{
	u64 v = ~0ull;
	CHECK_EQ(msr_synth_read(&vp, msr, &v), 0);
	return v;
}
#define CFG(t) (HV_X64_MSR_STIMER0_CONFIG + 2 * (t))
#define CNT(t) (HV_X64_MSR_STIMER0_CONFIG + 2 * (t) + 1)

/* Run the deadline exit at TSC tsc; returns the self-IPIs it sent. */
static int deadline_at(u64 tsc)
{
	int before = fake_icr_count;
	fake_tsc = tsc;
	struct hv_exit e = { .reason = HV_EXIT_DEADLINE };
	CHECK_EQ(stimer_exit_deadline(&vp, &e), HV_ACT_RESUME);
	return fake_icr_count - before;
}

TEST(stimer_periodic_step)
{
	/* Not due. */
	struct stimer_step s = stimer_periodic_step(1000, 100, 999, false);
	CHECK(!s.signal && s.next == 1000);
	/* On time: signal, one period on. */
	s = stimer_periodic_step(1000, 100, 1005, false);
	CHECK(s.signal && s.signal_exp == 1000 && s.next == 1100 && !s.skipped);
	/* Three periods late: catch up one period at a time (modulation). */
	s = stimer_periodic_step(1000, 100, 1350, false);
	CHECK(s.signal && s.signal_exp == 1000 && s.next == 1100);
	/* Far behind: the latest period, the others skipped. */
	s = stimer_periodic_step(1000, 100, 1000 + 100 * (STIMER_CATCHUP_MAX + 3) + 10, false);
	CHECK(s.signal && s.signal_exp == 1000 + 100 * (STIMER_CATCHUP_MAX + 3));
	CHECK_EQ(s.next, 1000 + 100 * (STIMER_CATCHUP_MAX + 4));
	CHECK_EQ(s.skipped, STIMER_CATCHUP_MAX + 3);
	/* Lazy: on time signals; late in the first half of a period signals
	 * the latest once; in the second half (shortly before the next) none. */
	s = stimer_periodic_step(1000, 100, 1000, true);
	CHECK(s.signal && s.next == 1100 && !s.skipped);
	s = stimer_periodic_step(1000, 100, 1230, true);
	CHECK(s.signal && s.signal_exp == 1200 && s.next == 1300 && s.skipped == 2);
	s = stimer_periodic_step(1000, 100, 1270, true);
	CHECK(!s.signal && s.next == 1300 && s.skipped == 3);
	s = stimer_periodic_step(1000, 100, 1060, true);
	CHECK(!s.signal && s.next == 1100 && s.skipped == 1);
	/* Saturation instead of a wrap. */
	s = stimer_periodic_step(~0ull - 10, 100, ~0ull - 5, false);
	CHECK(s.signal && s.next == ~0ull);
}

TEST(stimer_config_rules)
{
	CHECK_EQ(stimer_config_check(0), 0);
	CHECK_EQ(stimer_config_check(BIT(20)), 1);
	CHECK_EQ(stimer_config_check(BIT(63)), 1);
	CHECK_EQ(stimer_config_check(BIT(13)), 1);
	CHECK_EQ(stimer_config_check(BIT(15)), 1);
	CHECK_EQ(stimer_config_check(DIRECT(15)), 1);
	CHECK_EQ(stimer_config_check(DIRECT(16)), 0);
	CHECK_EQ(stimer_config_check(0xfull << 16 | 0xf), 0);
	setup(BE_DEADLINE_EXACT);
	CHECK(part.privileges & HV_ACCESS_SYNTHETIC_TIMER_REGS);
	CHECK(part.features_edx & HV_FEATURE_DIRECT_SYNTHETIC_TIMERS);
	for (int t = 0; t < 4; t++)
		CHECK(rd(CFG(t)) == 0 && rd(CNT(t)) == 0); /* TLFS 12.5.1 reset */
	CHECK_EQ(wr(CFG(1), BIT(40)), 1);
	CHECK_EQ(rd(CFG(1)), 0);
	/* Message mode, SINT 0, enabled: Enable cleared at once. */
	CHECK_EQ(wr(CFG(1), CFG_EN), 0);
	CHECK_EQ(rd(CFG(1)), 0);
	/* AutoEnable by COUNT, COUNT 0 disables. */
	CHECK_EQ(wr(CFG(2), DIRECT(0x40) | STIMER_CFG_AUTO_ENABLE), 0);
	CHECK_EQ(wr(CNT(2), ref_now() + 1000), 0);
	CHECK(rd(CFG(2)) & CFG_EN);
	CHECK(bes.deadline != 0);
	CHECK_EQ(wr(CNT(2), 0), 0);
	CHECK(!(rd(CFG(2)) & CFG_EN));
	CHECK_EQ(bes.deadline, 0);
	/* Without a measured TSC there is no reference time: no timers. */
	struct partition q;
	partition_init(&q, &fake_backend, 36, 0, 0);
	q.tsc_hz = 0;
	stimer_partition_setup(&q);
	CHECK(!(q.privileges & HV_ACCESS_SYNTHETIC_TIMER_REGS));
	CHECK(!(q.features_edx & HV_FEATURE_DIRECT_SYNTHETIC_TIMERS));
}

TEST(stimer_oneshot_direct)
{
	setup(BE_DEADLINE_EXACT);
	u64 exp = ref_now() + 1000;
	CHECK_EQ(wr(CFG(0), DIRECT(0xED) | CFG_EN), 0);
	CHECK_EQ(wr(CNT(0), exp), 0);
	/* The deadline is the first TSC at which reference time reaches exp. */
	CHECK(bes.deadline > fake_tsc);
	CHECK(time_ref(&part, bes.deadline) >= exp);
	CHECK(time_ref(&part, bes.deadline - 200) < exp);
	/* An early deadline exit signals nothing (TLFS 12.1.3). */
	CHECK_EQ(deadline_at(bes.deadline - 300), 0);
	CHECK(rd(CFG(0)) & CFG_EN);
	/* Due: one fixed self-IPI at the vector; one-shot disables. */
	CHECK_EQ(deadline_at(bes.deadline), 1);
	/* A fixed IPI to the VP's APIC ID (synic_raise_vector, synic/deliver.c). */
	CHECK_EQ(fake_icr_writes[0], (u64)0xED);
	CHECK(!(rd(CFG(0)) & CFG_EN));
	CHECK_EQ(bes.deadline, 0);
	CHECK_EQ(deadline_at(fake_tsc + 100000), 0); /* once */
	/* An expiration in the past: due at once (the deadline exit before
	 * the next entry). */
	CHECK_EQ(wr(CFG(0), DIRECT(0xED) | CFG_EN), 0);
	CHECK_EQ(wr(CNT(0), ref_now() - 50), 0);
	CHECK(bes.deadline != 0 && bes.deadline <= fake_tsc);
	CHECK_EQ(deadline_at(fake_tsc), 1);
}

TEST(stimer_periodic_and_two_timers)
{
	setup(BE_DEADLINE_EXACT);
	u64 t0 = ref_now();
	CHECK_EQ(wr(CNT(1), 1000), 0); /* period: 100 us (STIMER_MIN_PERIOD) */
	CHECK_EQ(wr(CFG(1), DIRECT(0x41) | STIMER_CFG_PERIODIC | CFG_EN), 0);
	CHECK_EQ(wr(CFG(3), DIRECT(0x43) | CFG_EN), 0);
	CHECK_EQ(wr(CNT(3), t0 + 2500), 0);
	/* The earliest of the two is the deadline. */
	CHECK(time_ref(&part, bes.deadline) >= t0 + 1000 && time_ref(&part, bes.deadline) < t0 + 1002);
	CHECK_EQ(deadline_at(bes.deadline), 1);
	CHECK_EQ(deadline_at(bes.deadline), 1); /* second period */
	CHECK(time_ref(&part, bes.deadline) >= t0 + 2500); /* then timer 3 */
	CHECK_EQ(deadline_at(bes.deadline), 1);
	CHECK_EQ(fake_icr_writes[(fake_icr_count - 1) % 8], (u64)0x43);
	/* Late by 2.5 periods: the timer catches up one period per exit, each
	 * not before its time. */
	u64 next = time_ref(&part, bes.deadline);
	CHECK_EQ(deadline_at(fake_tsc + 250000), 1);
	CHECK_EQ(time_ref(&part, bes.deadline) - next >= 1000, 1);
	CHECK(rd(CFG(1)) & CFG_EN); /* periodic stays enabled */
	CHECK_EQ(wr(CFG(1), 0), 0);
	CHECK_EQ(bes.deadline, 0);
	struct stimer *t = stimer_get(&vp, 0, 1);
	CHECK(t && !t->armed && t->signals == 3);
}

/* A period below STIMER_MIN_PERIOD runs at the floor: each deadline is
 * at least 100 us after the last, so the guest always runs between two
 * expirations (the guest fuzzer's 200 ns period livelocked the VP). */
TEST(stimer_min_period)
{
	setup(BE_DEADLINE_EXACT);
	CHECK_EQ(stimer_period(0), STIMER_MIN_PERIOD);
	CHECK_EQ(stimer_period(1), STIMER_MIN_PERIOD);
	CHECK_EQ(stimer_period(STIMER_MIN_PERIOD + 1), STIMER_MIN_PERIOD + 1);
	u64 t0 = ref_now();
	CHECK_EQ(wr(CNT(0), 2), 0); /* 200 ns */
	CHECK_EQ(wr(CFG(0), DIRECT(0x40) | STIMER_CFG_PERIODIC | CFG_EN), 0);
	CHECK_EQ(rd(CNT(0)), 2); /* the guest's value reads back */
	u64 d = time_ref(&part, bes.deadline);
	CHECK(d >= t0 + STIMER_MIN_PERIOD && d < t0 + STIMER_MIN_PERIOD + 2);
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(deadline_at(bes.deadline), 1);
		u64 n = time_ref(&part, bes.deadline);
		CHECK(n >= d + STIMER_MIN_PERIOD);
		d = n;
	}
	/* Far behind (lazy or not), the next expiration is still a floor
	 * period after the last signalled one: never in the past. */
	CHECK_EQ(deadline_at(fake_tsc + 100000000ull), 1);
	CHECK(time_ref(&part, bes.deadline) > ref_now());
	CHECK_EQ(wr(CFG(0), 0), 0);
}

TEST(stimer_message_mode_without_synic)
{
	setup(BE_DEADLINE_EXACT);
	/* SINT 2, message mode: without an enabled SINT nothing is posted,
	 * nothing raised, and the hypervisor carries on. */
	CHECK_EQ(wr(CFG(0), (2ull << 16) | CFG_EN), 0);
	CHECK_EQ(wr(CNT(0), ref_now() + 10), 0);
	CHECK_EQ(deadline_at(bes.deadline), 0);
	CHECK(!(rd(CFG(0)) & CFG_EN));
	CHECK(!stimer_get(&vp, 0, 0)->msg_pending);
}

TEST(apictimer_lend_and_give_back)
{
	setup(BE_DEADLINE_ON_INTR);
	/* The guest's timer: masked one-shot, run out (current count 0). */
	fake_apic[APIC_LVT_TIMER / 4] = BIT(16) | 0x30;
	fake_apic[APIC_TDCR / 4] = 0x3;
	fake_apic[APIC_TMICT / 4] = 5555;
	u64 exp = ref_now() + 10000; /* 1 ms */
	CHECK_EQ(wr(CFG(0), DIRECT(0xED) | CFG_EN), 0);
	CHECK_EQ(wr(CNT(0), exp), 0);
	/* x2APIC timer MSRs and IA32_TSC_DEADLINE watched from now on. */
	CHECK(bes.msr_icpt_count >= 5);
	CHECK(vp.apic_timer.lent);
	/* Count mode (no TSC-deadline in CPUID): the vector, unmasked
	 * one-shot, divide by 1, a count that errs late: 1 ms at 100 MHz. */
	CHECK_EQ(fake_apic[APIC_LVT_TIMER / 4], 0xED);
	CHECK_EQ(fake_apic[APIC_TDCR / 4], 0xb);
	CHECK(fake_apic[APIC_TMICT / 4] > 100000 && fake_apic[APIC_TMICT / 4] < 103000);
	/* x2APIC reads of the lent timer show the guest's own. */
	u64 v;
	fake_msr_set(MSR_IA32_APIC_BASE, BIT(10) | BIT(11));
	CHECK_EQ(apictimer_msr_read(&vp, 0x832, &v), 0);
	CHECK_EQ(v, BIT(16) | 0x30);
	CHECK_EQ(apictimer_msr_read(&vp, 0x838, &v), 0);
	CHECK_EQ(v, 5555);
	fake_msr_reset();
	/* An early deadline exit (another interrupt) while the lent timer
	 * runs: nothing changes. */
	fake_apic[APIC_TMCCT / 4] = 5;
	u64 dl0 = bes.deadline;
	CHECK_EQ(deadline_at(dl0 - 1000), 0);
	CHECK(vp.apic_timer.lent);
	CHECK_EQ(bes.deadline, dl0);
	CHECK_EQ(stimer_get(&vp, 0, 0)->signals, 0);
	/* The timer ran out and its vector is pending: the deadline exit
	 * does not raise it again, and the guest's registers come back. */
	fake_apic[APIC_TMCCT / 4] = 0;
	fake_apic[(0x200 + 0x10 * (0xED / 32)) / 4] |= BIT(0xED % 32);
	/* ... a little before the deadline (count mode errs): the exit waits
	 * for the deadline before it signals. */
	fake_tsc_step = 1;
	CHECK_EQ(deadline_at(dl0 - 500), 0);
	fake_tsc_step = 0;
	CHECK(fake_tsc >= dl0);
	CHECK_EQ(stimer_get(&vp, 0, 0)->signals, 1);
	CHECK(!vp.apic_timer.lent);
	CHECK_EQ(fake_apic[APIC_LVT_TIMER / 4], BIT(16) | 0x30);
	CHECK_EQ(fake_apic[APIC_TDCR / 4], 0x3);
	CHECK_EQ(vp.apic_timer.fired, 1);
	fake_apic[(0x200 + 0x10 * (0xED / 32)) / 4] = 0;

	/* Lent again; the guest programs its own timer: given back first. */
	CHECK_EQ(wr(CFG(0), DIRECT(0xED) | CFG_EN), 0);
	CHECK_EQ(wr(CNT(0), ref_now() + 10000), 0);
	CHECK(vp.apic_timer.lent);
	fake_apic[APIC_TMCCT / 4] = 777; /* not run out */
	apictimer_guest_write(&vp, APIC_TMICT);
	CHECK(!vp.apic_timer.lent);
	CHECK_EQ(fake_apic[APIC_LVT_TIMER / 4], BIT(16) | 0x30);
	CHECK_EQ(vp.apic_timer.given_back, 1);
	/* The guest's timer counts, unmasked: not lent, the deadline stays
	 * soft, and the expiration is raised by the hypervisor. */
	fake_apic[APIC_LVT_TIMER / 4] = 0x30;
	CHECK_EQ(wr(CNT(0), ref_now() + 20000), 0);
	CHECK(!vp.apic_timer.lent);
	CHECK(vp.apic_timer.refused >= 1);
	CHECK_EQ(deadline_at(bes.deadline), 1);
	/* A masked periodic timer that counts (OVMF's tick as Linux finds
	 * it) is idle: lent, and restarted when given back. */
	fake_apic[APIC_LVT_TIMER / 4] = BIT(16) | BIT(17) | 0x20;
	fake_apic[APIC_TMICT / 4] = 10000000;
	fake_apic[APIC_TMCCT / 4] = 4321;
	CHECK_EQ(wr(CFG(0), DIRECT(0xED) | CFG_EN), 0);
	CHECK_EQ(wr(CNT(0), ref_now() + 20000), 0);
	CHECK(vp.apic_timer.lent);
	apictimer_guest_write(&vp, APIC_LVT_TIMER);
	CHECK(!vp.apic_timer.lent);
	CHECK_EQ(fake_apic[APIC_LVT_TIMER / 4], BIT(16) | BIT(17) | 0x20);
	CHECK_EQ(fake_apic[APIC_TMICT / 4], 10000000);
	/* A deadline backend with a hard bound never lends. */
	setup(BE_DEADLINE_EXACT);
	CHECK_EQ(wr(CFG(0), DIRECT(0xED) | CFG_EN), 0);
	CHECK_EQ(wr(CNT(0), ref_now() + 10000), 0);
	CHECK(!vp.apic_timer.lent);
	CHECK_EQ(bes.msr_icpt_count, 0);
}

/* The lent timer's vector stands for the expiration it was armed for
 * only: a guest that took that interrupt and programmed the next one
 * (Linux, from its handler) gets the next one raised. */
TEST(apictimer_fired_is_per_expiration)
{
	setup(BE_DEADLINE_ON_INTR);
	fake_apic[APIC_LVT_TIMER / 4] = BIT(16);
	u32 irr = (0x200 + 0x10 * (0xED / 32)) / 4, bit = BIT(0xED % 32);
	CHECK_EQ(wr(CFG(0), DIRECT(0xED) | CFG_EN | STIMER_CFG_AUTO_ENABLE), 0);
	CHECK_EQ(wr(CNT(0), ref_now() + 1000), 0);
	CHECK(vp.apic_timer.lent);
	/* It ran out and raised the vector; the guest re-programs the timer
	 * to an expiration already due before the deadline exit saw it. */
	fake_apic[APIC_TMCCT / 4] = 0;
	fake_apic[irr] |= bit;
	fake_tsc += 200000;
	CHECK_EQ(wr(CNT(0), ref_now() - 1), 0);
	CHECK_EQ(bes.deadline, 1); /* the exit comes at once */
	fake_apic[irr] &= ~bit; /* the guest took the first one */
	CHECK_EQ(deadline_at(fake_tsc), 1); /* the second is raised */
	/* An expiration the lent timer did raise is not raised twice. */
	CHECK_EQ(wr(CNT(0), ref_now() + 1000), 0);
	CHECK(vp.apic_timer.lent);
	u64 dl = bes.deadline;
	fake_apic[APIC_TMCCT / 4] = 0;
	fake_apic[irr] |= bit;
	CHECK_EQ(deadline_at(dl), 0);
	CHECK_EQ(stimer_get(&vp, 0, 0)->signals, 2); /* the first was replaced unprocessed */
}

TEST(apictimer_tsc_deadline_mode)
{
	setup(BE_DEADLINE_ON_INTR);
	fake_cpuid_set(1, 0, 0, 0, BIT(24), 0);
	fake_msr_set(MSR_IA32_TSC_DEADLINE, 0);
	fake_apic[APIC_LVT_TIMER / 4] = BIT(16);
	CHECK_EQ(wr(CFG(0), DIRECT(0xE5) | CFG_EN), 0);
	CHECK_EQ(wr(CNT(0), ref_now() + 10000), 0);
	CHECK(vp.apic_timer.lent && vp.apic_timer.tsc_mode);
	CHECK_EQ(fake_apic[APIC_LVT_TIMER / 4], 0xE5 | (2u << 17));
	CHECK_EQ(fake_msr_get(MSR_IA32_TSC_DEADLINE), bes.deadline);
	/* Not run out at the exit (IA32_TSC_DEADLINE still set): the
	 * hypervisor raises the vector and stops the timer. */
	CHECK_EQ(deadline_at(bes.deadline), 1);
	CHECK_EQ(fake_msr_get(MSR_IA32_TSC_DEADLINE), 0);
	CHECK_EQ(fake_apic[APIC_LVT_TIMER / 4], BIT(16));
	fake_cpuid_reset();
	fake_msr_reset();
}

TEST(tsc_invariant_control)
{
	setup(BE_DEADLINE_EXACT);
	CHECK(part.privileges & HV_ACCESS_TSC_INVARIANT_CONTROLS);
	u32 r[4] = { 0, 0, 0, BIT(8) };
	cpuid_adjust(&part, 0x80000007, 0, 0, r);
	CHECK_EQ(r[3] & BIT(8), 0); /* hidden until enabled */
	CHECK_EQ(rd(HV_X64_MSR_TSC_INVARIANT_CONTROL), 0);
	CHECK_EQ(wr(HV_X64_MSR_TSC_INVARIANT_CONTROL, 2), 1);
	CHECK_EQ(wr(HV_X64_MSR_TSC_INVARIANT_CONTROL, 1), 0);
	CHECK_EQ(rd(HV_X64_MSR_TSC_INVARIANT_CONTROL), 1);
	u32 q[4] = { 0, 0, 0, 0 }; /* declared in hv.cfg only: shown too */
	cpuid_adjust(&part, 0x80000007, 0, 0, q);
	CHECK_EQ(q[3] & BIT(8), BIT(8));
	/* Not invariant: not offered (#GP), CPUID untouched. */
	partition_init(&part, &fake_backend, 36, 0, 0);
	part.tsc_hz = 1000000000;
	part.invariant_tsc = false;
	time_setup(&part, tsc_page);
	CHECK(!(part.privileges & HV_ACCESS_TSC_INVARIANT_CONTROLS));
	CHECK_EQ(wr(HV_X64_MSR_TSC_INVARIANT_CONTROL, 1), 1);
	u32 n[4] = { 0, 0, 0, BIT(8) };
	cpuid_adjust(&part, 0x80000007, 0, 0, n);
	CHECK_EQ(n[3] & BIT(8), BIT(8));
}

/* The inverse of reference time: never early, at most a unit late, over
 * the clock rates the loader measures and years of uptime. */
TEST(time_ref_to_tsc_inverse)
{
	static const u64 rates[] = { 1000000000ull, 2095753107ull, 2611646000ull, 120000000ull,
				     3999999999ull };
	for (unsigned r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		partition_init(&part, &fake_backend, 36, 0, 0);
		part.tsc_hz = rates[r];
		fake_tsc = 123456789ull * (r + 1);
		fake_tsc_step = 0;
		time_setup(&part, tsc_page);
		for (u64 ref = 1; ref < 400000000000000ull; ref = ref * 7 + 13) {
			u64 tsc = time_ref_to_tsc(&part, ref);
			CHECK(time_ref(&part, tsc) >= ref);
			CHECK(tsc < part.ref_tsc_int + 1 || time_ref(&part, tsc - part.ref_tsc_int - 1) < ref);
		}
	}
	CHECK_EQ(time_ref_to_tsc(&part, ~0ull - 5), ~0ull);
}
