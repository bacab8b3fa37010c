/*
 * xcall.c - synchronous cross-VP calls: a VP's hypercall needs work done
 * on another VP's processor (flush its TLB, read or write its registers,
 * start it). The caller posts a request in the target's mailbox, kicks it
 * with an NMI (hv/smp.c) and waits; the target runs the request in its
 * host context before its next guest entry (smp_before_entry), so when
 * the caller returns the target has done the work and no guest code ran
 * on the target in between (TLFS 9.4.2: "by the time control returns back
 * to the caller, the observable effects of all flushes on the specified
 * virtual processors have occurred").
 *
 * Deadlock freedom: every host-side wait (this file's, wait-for-SIPI)
 * serves its own mailbox, so two VPs calling each other both progress.
 * A parked VP (vp_fatal) never answers: it is skipped with a warning. A
 * wait of over a second is logged with both VPs' indexes (docs/smp.md).
 */
#include "xcall.h"
#include "hw.h"
#include "kick.h"
#include "log.h"
#include "hv_abi.h"

void xcall_service(struct vp *vp)
{
	struct xcall *x = __atomic_exchange_n(&vp->xcall, NULL, __ATOMIC_ACQUIRE);
	if (!x)
		return;
	x->fn(vp, x->arg);
	vp->xcalls_served++;
	__atomic_store_n(&x->done, 1, __ATOMIC_RELEASE);
}

/* Post x to target (waiting while its mailbox is busy). false: parked. */
static bool post(struct vp *self, struct vp *target, struct xcall *x)
{
	x->done = 0;
	for (;;) {
		if (target->parked) {
			LOGW("xcall to VP %u: it is parked (vp_fatal): skipped", target->index);
			return false;
		}
		struct xcall *none = NULL;
		if (__atomic_compare_exchange_n(&target->xcall, &none, x, false, __ATOMIC_RELEASE,
						__ATOMIC_RELAXED))
			break;
		xcall_service(self);
		hw_cpu_relax();
	}
	kick_send(self, target);
	return true;
}

/* An NMI that reaches a VMX target in the host just after it checked its
 * mailbox is taken by the host, and the guest then runs until its next
 * exit, which an idle guest in HLT may not make for a long time. So a
 * request not served in time is kicked again: after 1 ms, then after each
 * doubling up to 64 ms. Targets are slow to answer for ordinary reasons
 * too (under an emulator a vCPU thread is often descheduled for
 * milliseconds), and every re-kick is one more NMI and exit for them. */
static void wait_done(struct vp *self, struct vp *target, struct xcall *x)
{
	u64 ms = self->part->tsc_hz ? self->part->tsc_hz / 1000 : 1000000;
	u64 period = ms, waited = 0;
	u64 t0 = hw_rdtsc();
	while (!__atomic_load_n(&x->done, __ATOMIC_ACQUIRE)) {
		if (target->parked)
			return;
		xcall_service(self);
		hw_cpu_relax();
		u64 now = hw_rdtsc();
		if (now - t0 > period) {
			waited += now - t0;
			self->xcall_rekicks++;
			if (waited / ms >= 1000 && (waited - (now - t0)) / ms < 1000)
				LOGW("xcall: VP %u has waited a second for VP %u (its exits %lu, kicks "
				     "pending %u, mailbox %s)", self->index, target->index,
				     (unsigned long)target->exits, target->kicks_pending,
				     target->xcall ? "full" : "empty");
			kick_send(self, target);
			t0 = now;
			if (period < 64 * ms)
				period *= 2;
		}
	}
}

void xcall_run(struct vp *self, struct vp *target, xcall_fn fn, void *arg)
{
	if (target == self) {
		fn(self, arg);
		return;
	}
	struct xcall x = { fn, arg, 0 };
	if (post(self, target, &x))
		wait_done(self, target, &x);
}

void xcall_mask(struct vp *self, u64 mask, xcall_fn fn, void *arg)
{
	struct partition *p = self->part;
	struct xcall x[HV_MAX_VPS];
	u64 others = mask & ~BIT(self->index), posted = 0;

	/* Post to all first, so the targets work in parallel. */
	for (u64 m = others; m; m &= m - 1) {
		u32 i = (u32)__builtin_ctzll(m);
		struct vp *t = i < p->vp_count ? p->vps[i] : NULL;
		if (!t)
			continue;
		x[i] = (struct xcall){ fn, arg, 0 };
		if (post(self, t, &x[i]))
			posted |= BIT(i);
	}
	if (mask & BIT(self->index))
		fn(self, arg);
	for (u64 m = posted; m; m &= m - 1) {
		u32 i = (u32)__builtin_ctzll(m);
		wait_done(self, p->vps[i], &x[i]);
	}
}
