/*
 * apictimer.c - a hard host deadline where the backend's deadline exits
 * only at physical interrupts (BE_DEADLINE_ON_INTR: SVM, which has no
 * preemption timer). The guest owns its local APIC; while the guest's own
 * timer is idle, the hypervisor borrows it and programs it to raise, at
 * the deadline, the very vector the deadline's work will deliver (a
 * synthetic timer's direct-mode vector, or its SINT's). The backend's INTR
 * intercept (armed with the deadline) brings the processor back before
 * the guest takes that interrupt, whether the guest spins without exits or
 * sits in HLT; the caller then does its work without raising the vector
 * again (it is pending already), and the next entry, without the
 * intercept, delivers it. docs/stimer.md "The deadline" has the
 * reasons and the limits.
 *
 * The guest's use of its timer comes first: a guest write to its LVT
 * timer, initial count, divide configuration or IA32_TSC_DEADLINE while
 * the timer is lent gives it back (the guest's LVT and divide values
 * restored) before the write is done; the caller's deadline then falls
 * back to the backend's own (soft) bound until the timer is idle again.
 * xAPIC stores are emulated anyway (hv/smp.c calls apictimer_guest_write);
 * x2APIC accesses and IA32_TSC_DEADLINE exit through MSR intercepts that
 * are requested only once a module arms something (apictimer_watch), so a
 * guest without synthetic timers pays nothing.
 *
 * Idle means: in TSC-deadline mode IA32_TSC_DEADLINE is 0; otherwise the
 * current count is 0 (a one-shot that ran out, or never started) or the
 * timer is masked (guest_timer_idle).
 */
#include "apictimer.h"
#include "backend.h"
#include "hw.h"
#include "log.h"
#include "module.h"
#include "muldiv.h"

#define LVT_MASKED BIT(16)
#define LVT_MODE(l) (((l) >> 17) & 3)
#define LVT_MODE_TSC_DEADLINE 2u
#define TDCR_DIV1 0xbu
#define TDCR_DIV128 0xau

/* CPUID.1:ECX[24]: the APIC timer has TSC-deadline mode (SDM 10.5.4.1). */
static bool has_tsc_deadline(void)
{
	u32 r[4];
	hw_cpuid(1, 0, r);
	return (r[2] >> 24) & 1;
}

/* Idle: nothing the guest would see. In TSC-deadline mode no deadline is
 * set; otherwise the count ran out, or the timer is masked (OVMF leaves
 * its periodic tick counting masked when it hands over to the OS; a
 * masked periodic timer is restarted when it is given back: only its
 * phase changes, and it delivers nothing). */
static bool guest_timer_idle(void)
{
	u32 lvt = hw_apic_read(APIC_LVT_TIMER);
	if (LVT_MODE(lvt) == LVT_MODE_TSC_DEADLINE) {
		u64 d = 1;
		return !hw_rdmsr(MSR_IA32_TSC_DEADLINE, &d) && d == 0;
	}
	return (lvt & LVT_MASKED) || hw_apic_read(APIC_TMCCT) == 0;
}

/* Has the lent timer fired (it disarms itself when it does)? */
static bool lent_fired(const struct apic_timer_loan *a)
{
	if (a->tsc_mode) {
		u64 d = 1;
		return !hw_rdmsr(MSR_IA32_TSC_DEADLINE, &d) && d == 0;
	}
	return hw_apic_read(APIC_TMCCT) == 0;
}

/* Count mode: the APIC timer runs at partition.apic_hz (divide by 1),
 * measured against the same clock as the TSC but not exactly in step with
 * it. An interrupt that came before the deadline would reach the guest
 * before the work is done (the backend lets the guest take interrupts
 * that are not due), so the count errs late: 1/64 of the interval plus
 * 2 us. With a larger divider for long intervals; none fits: false. */
static bool program_count(const struct partition *p, u64 tsc, u8 vector)
{
	if (!p->apic_hz || !p->tsc_hz)
		return false;
	u64 now = hw_rdtsc(), dt = tsc > now ? tsc - now : 1;
	dt += dt / 64 + p->tsc_hz / 500000;
	u64 hi = mul_hi64(dt, p->apic_hz), lo = dt * p->apic_hz;
	if (hi >= p->tsc_hz)
		return false;
	u64 count = div128_64(hi, lo, p->tsc_hz) + 1;
	u32 tdcr = TDCR_DIV1;
	if (count > 0xffffffffull) {
		count = (count + 127) / 128 + 1;
		tdcr = TDCR_DIV128;
		if (count > 0xffffffffull)
			return false;
	}
	hw_apic_write(APIC_LVT_TIMER, vector); /* one-shot, unmasked */
	hw_apic_write(APIC_TDCR, tdcr);
	hw_apic_write(APIC_TMICT, (u32)count);
	return true;
}

bool apictimer_arm(struct vp *vp, u64 tsc, u8 vector)
{
	struct apic_timer_loan *a = &vp->apic_timer;
	const struct partition *p = vp->part;
	if (!p->be->deadline_kind || p->be->deadline_kind() != BE_DEADLINE_ON_INTR || vector < 16 ||
	    !tsc)
		return false;
	if (!a->lent) {
		if (!guest_timer_idle()) {
			a->refused++;
			return false;
		}
		a->lvt = hw_apic_read(APIC_LVT_TIMER);
		a->tdcr = hw_apic_read(APIC_TDCR);
		a->tmict = hw_apic_read(APIC_TMICT);
		a->lent = true;
		a->loans++;
	} else if (a->tsc_mode) {
		hw_wrmsr(MSR_IA32_TSC_DEADLINE, 0); /* re-armed below */
	}
	a->vector = vector;
	if (has_tsc_deadline()) {
		a->tsc_mode = true;
		hw_apic_write(APIC_LVT_TIMER, vector | (LVT_MODE_TSC_DEADLINE << 17));
		/* SDM 10.5.4.1: the mode switch before the deadline write. */
		__asm__ volatile("mfence" ::: "memory");
		hw_wrmsr(MSR_IA32_TSC_DEADLINE, tsc);
		return true;
	}
	a->tsc_mode = false;
	if (program_count(p, tsc, vector))
		return true;
	apictimer_give_back(vp);
	return false;
}

/* Is the vector pending in the local APIC (IRR)? Not the ISR: the guest
 * may be in the handler of an earlier interrupt at the same vector. */
static bool vector_raised(u8 v)
{
	return hw_apic_read(0x200 + 0x10 * (v / 32)) & BIT(v % 32);
}

/*
 * Stop the lent timer, restore the guest's registers; true if its
 * interrupt was raised. A timer that ran out has raised it on hardware and
 * Bochs; QEMU's APIC raises it from a host timer callback a moment later,
 * and stopping the timer cancels that callback. So the vector itself is
 * the proof: pending in the IRR (waited for a few microseconds when the
 * timer ran out). Not pending: the caller raises it; if the guest had
 * taken it already (possible only while the backend let interrupts
 * through), it sees one more, never one less.
 */
static bool stop(const struct partition *p, struct apic_timer_loan *a)
{
	bool fired = lent_fired(a) && vector_raised(a->vector);
	if (!fired && lent_fired(a)) {
		u64 t0 = hw_rdtsc(), lim = p->tsc_hz / 20000 + 1000; /* 50 us */
		for (int i = 0; i < 20000 && !(fired = vector_raised(a->vector)) &&
				hw_rdtsc() - t0 < lim; i++)
			hw_cpu_relax();
	}
	if (a->tsc_mode)
		hw_wrmsr(MSR_IA32_TSC_DEADLINE, 0);
	else
		hw_apic_write(APIC_TMICT, 0);
	hw_apic_write(APIC_TDCR, a->tdcr);
	hw_apic_write(APIC_LVT_TIMER, a->lvt);
	if ((a->lvt & LVT_MASKED) && LVT_MODE(a->lvt) == 1 && a->tmict)
		hw_apic_write(APIC_TMICT, a->tmict); /* a masked periodic tick */
	a->lent = false;
	if (fired)
		a->fired++;
	return fired;
}

bool apictimer_pending(struct vp *vp)
{
	const struct apic_timer_loan *a = &vp->apic_timer;
	return a->lent && lent_fired(a) && vector_raised(a->vector);
}

bool apictimer_disarm(struct vp *vp)
{
	struct apic_timer_loan *a = &vp->apic_timer;
	bool fired = a->fired_back;
	a->fired_back = false;
	if (a->lent)
		fired |= stop(vp->part, a);
	return fired;
}

/* The guest wants its timer: give it back now. If ours had fired, the
 * vector is pending: the next apictimer_disarm says so. */
void apictimer_give_back(struct vp *vp)
{
	struct apic_timer_loan *a = &vp->apic_timer;
	if (!a->lent)
		return;
	a->fired_back |= stop(vp->part, a);
	a->given_back++;
}

static const u32 timer_msrs[] = { 0x832, 0x838, 0x839, 0x83e, MSR_IA32_TSC_DEADLINE };

void apictimer_watch(struct vp *vp)
{
	struct apic_timer_loan *a = &vp->apic_timer;
	const struct partition *p = vp->part;
	if (a->watching || !p->be->deadline_kind || p->be->deadline_kind() != BE_DEADLINE_ON_INTR)
		return;
	a->watching = true;
	for (u32 i = 0; i < ARRAY_SIZE(timer_msrs); i++)
		p->be->msr_intercept(vp, timer_msrs[i], BE_INTERCEPT_READ | BE_INTERCEPT_WRITE, true);
}

bool apictimer_is_msr(u32 msr)
{
	return msr == 0x832 || msr == 0x838 || msr == 0x839 || msr == 0x83e ||
	       msr == MSR_IA32_TSC_DEADLINE;
}

static u32 reg_of(u32 msr) { return msr == MSR_IA32_TSC_DEADLINE ? msr : (msr - 0x800) * 16; }

/* While lent, the guest reads its own (idle) timer: its LVT, divide and
 * initial count, a current count and deadline of 0. */
int apictimer_msr_read(struct vp *vp, u32 msr, u64 *val)
{
	const struct apic_timer_loan *a = &vp->apic_timer;
	if (!a->lent || (msr != MSR_IA32_TSC_DEADLINE && !hw_x2apic_mode()))
		return hw_rdmsr(msr, val);
	switch (reg_of(msr)) {
	case APIC_LVT_TIMER: *val = a->lvt; break;
	case APIC_TDCR: *val = a->tdcr; break;
	case APIC_TMICT: *val = a->tmict; break;
	default: *val = 0; break; /* current count, TSC deadline */
	}
	return 0;
}

int apictimer_msr_write(struct vp *vp, u32 msr, u64 val)
{
	if (msr == MSR_IA32_TSC_DEADLINE || hw_x2apic_mode())
		apictimer_guest_write(vp, reg_of(msr));
	return hw_wrmsr(msr, val);
}

static void apictimer_dump(const struct vp *vp)
{
	const struct apic_timer_loan *a = &vp->apic_timer;
	if (a->loans || a->refused)
		LOGI("  apic timer loans %lu (fired %lu, given back to the guest %lu), refused (guest's "
		     "timer in use) %lu", (unsigned long)a->loans, (unsigned long)a->fired,
		     (unsigned long)a->given_back, (unsigned long)a->refused);
}

HV_MODULE(apictimer, .on_dump = apictimer_dump);
