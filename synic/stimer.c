/*
 * stimer.c - the synthetic timers (TLFS 12.1.3-12.1.5, 12.2, 12.5): four
 * per VP and per VTL (TLFS 15.11.1.1), HV_X64_MSR_STIMER0-3_CONFIG/COUNT,
 * one-shot and periodic, lazy, auto-enable, direct mode (an APIC vector,
 * leaf 0x40000003 EDX bit 19) and message mode (HvMessageTimerExpired in
 * the timer's SINT slot, TLFS 13.3.1).
 *
 * Time is the partition's reference time (hv/time.c). An armed timer's
 * expiration becomes a host deadline (backend set_deadline, one per VP:
 * the earliest of its timers), whose HV_EXIT_DEADLINE comes here; the
 * expiration is never signalled early (TLFS 12.1.3). Where the backend's
 * deadline only exits at physical interrupts (SVM), the guest's idle local
 * APIC timer is borrowed to raise the expiration's vector at the deadline
 * (hv/apictimer.c), so a timer fires on time whatever the guest does.
 * docs/stimer.md has the design.
 *
 * Everything here runs on the VP's own processor: its MSR exits (under the
 * partition lock, hv/msr.c), its deadline exit, its EOM (synic/synic.c),
 * and HvSetVpRegisters through a cross-VP call (hv/vpregs.c).
 */
#include "stimer.h"
#include "synic.h"
#include "apictimer.h"
#include "backend.h"
#include "hw.h"
#include "log.h"
#include "module.h"
#include "pool.h"
#include "time.h"
#include "tlfs.h"
#include "vpregs.h"

/* HV_STATUS_INSUFFICIENT_BUFFERS: 0x0013 as Hyper-V and Linux have it (the
 * TLFS 6.0 table prints 0x0033 between 0x0012 and 0x0014); synic.h defines
 * it once the SynIC is merged. */
#ifndef HV_STATUS_INSUFFICIENT_BUFFERS
#define HV_STATUS_INSUFFICIENT_BUFFERS 0x0013
#endif

#define STIMER_MSR_FIRST HV_X64_MSR_STIMER0_CONFIG
#define STIMER_MSR_LAST HV_X64_MSR_STIMER3_COUNT

int stimer_config_check(u64 val)
{
	if (val & STIMER_CFG_RESERVED)
		return 1;
	if ((val & STIMER_CFG_DIRECT) && STIMER_CFG_VECTOR(val) < 16)
		return 1;
	return 0;
}

static u64 add_sat(u64 a, u64 b) { return a + b < a ? ~0ull : a + b; }

/* The period a periodic timer runs at: its COUNT, at least
 * STIMER_MIN_PERIOD (include/synic/stimer.h says why). */
u64 stimer_period(u64 count) { return count < STIMER_MIN_PERIOD ? STIMER_MIN_PERIOD : count; }

/*
 * TLFS 12.1.4. On time (or a few periods late) a periodic timer signals
 * each period in turn, its next expiration one period after the last one:
 * the missed periods come back to back until it has caught up ("period
 * modulation"). More than STIMER_CATCHUP_MAX periods late, it signals
 * once, for the latest period, and skips the others. A lazy timer never
 * catches up: it signals once, for the latest period, or not at all when
 * it is seen in the second half of that period ("shortly before the next
 * timer is due"), and goes on from the next period.
 */
struct stimer_step stimer_periodic_step(u64 exp, u64 period, u64 now, bool lazy)
{
	struct stimer_step s = { false, exp, exp, 0 };
	if (now < exp || !period)
		return s;
	u64 missed = (now - exp) / period;
	if (!lazy && missed <= STIMER_CATCHUP_MAX) {
		s.signal = true;
		s.next = add_sat(exp, period);
		return s;
	}
	u64 last = exp + missed * period;
	s.signal_exp = last;
	s.next = add_sat(last, period);
	s.skipped = missed;
	s.signal = !lazy || now - last < period / 2;
	if (!s.signal)
		s.skipped++;
	return s;
}

static struct stimer_vp *svp(const struct vp *vp)
{
	return vp->ctx[0].stimers ? vp->ctx[0].stimers->owner : NULL;
}

struct stimer *stimer_get(struct vp *vp, u8 vtl, u32 idx)
{
	struct stimer_set *s = vtl < HV_VTL_COUNT ? vp->ctx[vtl].stimers : NULL;
	return s && idx < STIMER_COUNT ? &s->t[idx] : NULL;
}

static u64 now_ref(const struct vp *vp) { return time_ref(vp->part, hw_rdtsc()); }

/* The vector an expiration of t in VTL vtl will raise, if the lent APIC
 * timer may raise it: direct mode's, or an unmasked SINT's that needs an
 * EOI (an AutoEOI SINT is injected: an APIC interrupt would stay in
 * service). 0: none (the deadline stays the backend's own). */
static u8 expiry_vector(const struct vp *vp, u8 vtl, const struct stimer *t)
{
	if (t->config & STIMER_CFG_DIRECT)
		return STIMER_CFG_VECTOR(t->config);
	u64 sint = synic_sint(vp, vtl, STIMER_CFG_SINT(t->config));
	if ((sint & (BIT(16) | BIT(17))) || (u8)sint < 16)
		return 0;
	return (u8)sint;
}

/* Stop a lent APIC timer; if it fired, note the expiration it raised the
 * vector for (signal then does not raise it again). */
static void took_fired(struct vp *vp, struct stimer_vp *sv)
{
	if (apictimer_disarm(vp) && sv->loan_timer) {
		sv->fired_timer = sv->loan_timer;
		sv->fired_exp = sv->loan_exp;
	}
	sv->loan_timer = NULL;
}

/* Program the VP's host deadline for its earliest armed timer (none: no
 * deadline, and the APIC timer goes back to the guest). */
static void reschedule(struct vp *vp)
{
	struct stimer_vp *sv = svp(vp);
	const struct partition *p = vp->part;
	const struct stimer *best = NULL;
	u8 best_vtl = 0;
	for (u8 v = 0; v < HV_VTL_COUNT; v++)
		for (u32 i = 0; i < STIMER_COUNT; i++) {
			const struct stimer *t = &sv->set[v].t[i];
			if (t->armed && !t->msg_pending && (!best || t->exp < best->exp)) {
				best = t;
				best_vtl = v;
			}
		}
	/* A lent timer that fired already raised the vector of the
	 * expiration it was armed for: the deadline exit must know it, and
	 * comes before the next entry. */
	took_fired(vp, sv);
	sv->loan_timer = NULL;
	if (!best) {
		sv->deadline_tsc = 0;
		p->be->set_deadline(vp, sv->fired_timer ? 1 : 0);
		return;
	}
	u64 tsc = time_ref_to_tsc(p, best->exp);
	if (sv->fired_timer || !tsc)
		tsc = 1; /* due now */
	sv->deadline_tsc = tsc;
	p->be->set_deadline(vp, tsc);
	/* A higher VTL's expiry is an interrupt for that VTL (synic_raise),
	 * never the shared APIC's timer: none is lent for it. */
	u8 vec = best_vtl == 0 ? expiry_vector(vp, best_vtl, best) : 0;
	if (vec && tsc > 1 && apictimer_arm(vp, tsc, vec)) {
		sv->loan_timer = (struct stimer *)best;
		sv->loan_exp = best->exp;
	}
}

/* One signal (TLFS 12.1.3): the direct-mode vector, or the message. The
 * vector the lent APIC timer raised for this very expiration is not
 * raised again. */
static void signal(struct vp *vp, u8 vtl, u32 idx, struct stimer *t, u64 exp)
{
	struct stimer_vp *sv = svp(vp);
	bool raised = sv->fired_timer == t && sv->fired_exp == exp;
	if (raised)
		sv->fired_timer = NULL;
	t->signals++;
	if (t->config & STIMER_CFG_DIRECT) {
		if (!raised)
			synic_raise(vp, vtl, STIMER_CFG_VECTOR(t->config), false);
		return;
	}
	/* TLFS 13.3.1: TimerIndex, ExpirationTime, DeliveryTime. The SINT is
	 * raised by the post; a copy the lent timer raised merges with it
	 * (one vector pending once). */
	struct hv_message m = { 0 };
	m.h.type = HVMSG_TIMER_EXPIRED;
	m.h.payload_size = 24;
	m.payload[0] = idx;
	m.payload[1] = exp;
	m.payload[2] = now_ref(vp);
	u16 st = synic_post_message(vp, vtl, STIMER_CFG_SINT(t->config), &m);
	if (st == HV_STATUS_INSUFFICIENT_BUFFERS) {
		t->msg_pending = true; /* its MessagePending is set: EOM retries */
		t->msg_exp = exp;
	}
	/* INVALID_SYNIC_STATE (SCONTROL or the SIMP off): there is no slot;
	 * the expiration is dropped. A masked SINT gets the message without
	 * an interrupt (TLFS 11.4; stimer.msg.masked.*). */
}

/* The expirations due at `now` of one timer. */
static void expire(struct vp *vp, u8 vtl, u32 idx, struct stimer *t, u64 now)
{
	if (!t->armed || t->msg_pending || now < t->exp)
		return;
	if (!(t->config & STIMER_CFG_PERIODIC)) {
		/* TLFS 12.5.1: a one-shot timer is disabled when it expires. */
		t->armed = false;
		t->config &= ~STIMER_CFG_ENABLE;
		signal(vp, vtl, idx, t, t->exp);
		return;
	}
	struct stimer_step s = stimer_periodic_step(t->exp, stimer_period(t->count), now, t->config & STIMER_CFG_LAZY);
	t->exp = s.next;
	t->skipped += s.skipped;
	if (s.signal)
		signal(vp, vtl, idx, t, s.signal_exp);
}

enum hv_action stimer_exit_deadline(struct vp *vp, struct hv_exit *e)
{
	struct stimer_vp *sv = svp(vp);
	if (!sv)
		return HV_ACT_RESUME;
	sv->deadline_exits++;
	/* Early (a physical interrupt before the deadline, BE_DEADLINE_ON_INTR):
	 * with the APIC timer lent and not run out, nothing changes; the
	 * backend keeps the deadline. If the lent timer ran out first (count
	 * mode errs by the measured clock ratio), its vector is pending: wait
	 * out the rest, at most a millisecond, so that it is not taken before
	 * its expiration (TLFS 12.1.3). */
	u64 tsc = hw_rdtsc();
	if (sv->deadline_tsc > 1 && tsc < sv->deadline_tsc && vp->apic_timer.lent) {
		if (!apictimer_pending(vp))
			return HV_ACT_RESUME;
		if (sv->deadline_tsc - tsc < vp->part->tsc_hz / 1000)
			while (hw_rdtsc() < sv->deadline_tsc)
				hw_cpu_relax();
	}
	took_fired(vp, sv);
	u64 now = now_ref(vp);
	for (u8 v = 0; v < HV_VTL_COUNT; v++)
		for (u32 i = 0; i < STIMER_COUNT; i++)
			expire(vp, v, i, &sv->set[v].t[i], now);
	/* A vector the lent timer raised for an expiration the guest
	 * replaced meanwhile stays with the guest: it came at or after that
	 * expiration. */
	sv->fired_timer = NULL;
	reschedule(vp);
	return HV_ACT_RESUME;
}
HV_EXIT_HANDLER(exit_deadline, HV_EXIT_DEADLINE, stimer_exit_deadline);

/* Arm t from now (TLFS 12.5.2): a periodic timer's first period begins
 * when it is enabled; a one-shot's count is its absolute expiration (in
 * the past: it expires at once, at the deadline exit before the next
 * entry). Count 0: stopped. */
static void start(struct vp *vp, struct stimer *t)
{
	t->armed = (t->config & STIMER_CFG_ENABLE) && t->count;
	if (!t->armed)
		return;
	t->exp = (t->config & STIMER_CFG_PERIODIC) ? add_sat(now_ref(vp), stimer_period(t->count)) : t->count;
	apictimer_watch(vp);
}

static int stimer_msr_read(struct vp *vp, u32 msr, u64 *val)
{
	struct stimer *t = stimer_get(vp, vp->cur->vtl, (msr - STIMER_MSR_FIRST) / 2);
	if (!t)
		return 1;
	*val = (msr & 1) ? t->count : t->config;
	return 0;
}

static int stimer_msr_write(struct vp *vp, u32 msr, u64 val)
{
	struct stimer *t = stimer_get(vp, vp->cur->vtl, (msr - STIMER_MSR_FIRST) / 2);
	if (!t)
		return 1;
	if (!(msr & 1)) { /* CONFIG (TLFS 12.5.1) */
		if (stimer_config_check(val))
			return 1;
		t->config = val;
		/* A new configuration drops a message still waiting for its
		 * slot (an expiration of the old one). */
		t->msg_pending = false;
	} else { /* COUNT (TLFS 12.5.2): 0 stops; AutoEnable enables */
		t->count = val;
		if (!val)
			t->config &= ~STIMER_CFG_ENABLE;
		else if (t->config & STIMER_CFG_AUTO_ENABLE)
			t->config |= STIMER_CFG_ENABLE;
	}
	/* TLFS 12.5.1: SINTx 0 is not permitted for an enabled (message
	 * mode) timer: Enable is cleared at once. */
	if (!(t->config & STIMER_CFG_DIRECT) && !STIMER_CFG_SINT(t->config))
		t->config &= ~STIMER_CFG_ENABLE;
	start(vp, t);
	reschedule(vp);
	return 0;
}

void stimer_eom(struct vp *vp, u8 vtl)
{
	struct stimer_vp *sv = svp(vp);
	if (!sv || vtl >= HV_VTL_COUNT)
		return;
	bool any = false;
	for (u32 i = 0; i < STIMER_COUNT; i++) {
		struct stimer *t = &sv->set[vtl].t[i];
		if (!t->msg_pending)
			continue;
		t->msg_pending = false;
		signal(vp, vtl, i, t, t->msg_exp);
		any = true;
	}
	if (any)
		reschedule(vp);
}

int stimer_vp_setup(struct vp *vp, void *page)
{
	struct stimer_vp *sv = page;
	_Static_assert(sizeof(struct stimer_vp) <= PAGE_SIZE, "one page per VP");
	*sv = (struct stimer_vp){ 0 };
	for (u8 v = 0; v < HV_VTL_COUNT; v++) {
		sv->set[v].owner = sv;
		vp->ctx[v].stimers = &sv->set[v];
	}
	return 0;
}

static int stimer_vp_init(struct vp *vp, struct pool *pool)
{
	void *page = pool_alloc_pages(pool, 1);
	return page ? stimer_vp_setup(vp, page) : -1;
}

/* The timers count reference time: without it (an unmeasured TSC) they
 * are not offered. Direct mode (TLFS 12.2) comes with them. */
int stimer_partition_setup(struct partition *p)
{
	if (!time_scale(p->tsc_hz))
		p->privileges &= ~HV_ACCESS_SYNTHETIC_TIMER_REGS;
	if (p->privileges & HV_ACCESS_SYNTHETIC_TIMER_REGS)
		p->features_edx |= HV_FEATURE_DIRECT_SYNTHETIC_TIMERS;
	else
		p->features_edx &= ~HV_FEATURE_DIRECT_SYNTHETIC_TIMERS;
	return synic_add_eom_handler(stimer_eom);
}

static int stimer_partition_init(struct partition *p, struct pool *pool)
{
	return stimer_partition_setup(p);
}

static void stimer_dump(const struct vp *vp)
{
	struct stimer_vp *sv = svp(vp);
	if (!sv || !sv->deadline_exits)
		return;
	const struct stimer *t = sv->set[0].t;
	LOGI("  stimer deadline exits %lu; signals %lu %lu %lu %lu, skipped %lu %lu %lu %lu",
	     (unsigned long)sv->deadline_exits, (unsigned long)t[0].signals,
	     (unsigned long)t[1].signals, (unsigned long)t[2].signals, (unsigned long)t[3].signals,
	     (unsigned long)t[0].skipped, (unsigned long)t[1].skipped, (unsigned long)t[2].skipped,
	     (unsigned long)t[3].skipped);
}

HV_MODULE(stimer, .on_partition = stimer_partition_init, .on_vp = stimer_vp_init,
	  .on_dump = stimer_dump);

HV_MSR_ROWS(stimer_msrs) = {
	{ STIMER_MSR_FIRST, STIMER_MSR_LAST, HV_ACCESS_SYNTHETIC_TIMER_REGS, 0, stimer_msr_read,
	  stimer_msr_write, "STIMER0-3" },
};

/* TLFS 7.8.2: the timers as VP registers (HvRegisterStimer0Config...). */
HV_VPREG_ROWS(stimer_vpregs) = {
	{ 0x000B0000, HV_X64_MSR_STIMER0_CONFIG, false, "Stimer0Config" },
	{ 0x000B0001, HV_X64_MSR_STIMER0_CONFIG + 1, false, "Stimer0Count" },
	{ 0x000B0002, HV_X64_MSR_STIMER0_CONFIG + 2, false, "Stimer1Config" },
	{ 0x000B0003, HV_X64_MSR_STIMER0_CONFIG + 3, false, "Stimer1Count" },
	{ 0x000B0004, HV_X64_MSR_STIMER0_CONFIG + 4, false, "Stimer2Config" },
	{ 0x000B0005, HV_X64_MSR_STIMER0_CONFIG + 5, false, "Stimer2Count" },
	{ 0x000B0006, HV_X64_MSR_STIMER0_CONFIG + 6, false, "Stimer3Config" },
	{ 0x000B0007, HV_X64_MSR_STIMER0_CONFIG + 7, false, "Stimer3Count" },
};
