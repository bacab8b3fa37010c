/*
 * stimer.h - the synthetic timers (synic/stimer.c, TLFS 12.1.3-12.1.4,
 * 12.2, 12.5): STIMER0-3 CONFIG and COUNT per VP and VTL. The pure parts
 * are public for the host tests.
 */
#ifndef SYNIC_STIMER_H
#define SYNIC_STIMER_H

#include "vp.h"

#define STIMER_COUNT 4

/* TLFS 12.5.1: HV_X64_MSR_STIMERx_CONFIG. */
#define STIMER_CFG_ENABLE BIT(0)
#define STIMER_CFG_PERIODIC BIT(1)
#define STIMER_CFG_LAZY BIT(2)
#define STIMER_CFG_AUTO_ENABLE BIT(3)
#define STIMER_CFG_VECTOR(c) ((u8)((c) >> 4))
#define STIMER_CFG_DIRECT BIT(12)
#define STIMER_CFG_SINT(c) ((u32)((c) >> 16) & 0xf)
/* RsvdZ: 63:20 and 15:13. */
#define STIMER_CFG_RESERVED (~0xfffffull | (7ull << 13))

/* TLFS 13.3.1 (message type 0x80000010, HvMessageTimerExpired). */
#define HVMSG_TIMER_EXPIRED 0x80000010u

/* A periodic timer that missed more periods than this catches up by
 * skipping instead of by period modulation (TLFS 12.1.4). */
#define STIMER_CATCHUP_MAX 4

/* The shortest period a periodic timer runs at: 100 us (1000 units of
 * 100 ns). A shorter COUNT is kept as the guest wrote it and read back,
 * but the timer signals at most every 100 us (TLFS 12.1.3 only promises
 * "never before the expiration"; 12.1.4 lets expirations be skipped).
 * Without a floor, a period shorter than the deadline exit itself (the
 * guest fuzzer's seed 0x0981d7b8 chose 200 ns) has the next expiration
 * due before the guest runs one instruction: the VP livelocks in
 * deadline exits and the guest can never write the timer off again.
 * KVM has the same kind of floor for the periodic APIC timer. */
#define STIMER_MIN_PERIOD 1000ull

struct stimer {
	u64 config, count; /* the MSRs as the guest sees them */
	u64 exp;           /* the next expiration (reference time) while armed */
	u64 msg_exp;       /* the expiration whose message waits for its slot */
	bool armed;
	bool msg_pending;  /* the slot was busy: retried on EOM (TLFS 11.9.3) */
	u64 signals, skipped;
};

/* The timers of one VTL of a VP (struct vp_ctx.stimers). */
struct stimer_set {
	struct stimer t[STIMER_COUNT];
	struct stimer_vp *owner;
};

/* Per VP: the timers of every VTL and the host deadline they share. */
struct stimer_vp {
	struct stimer_set set[HV_VTL_COUNT];
	u64 deadline_tsc;  /* programmed (0: none) */
	/* The expiration the lent APIC timer is armed for, and, once it
	 * fired, the one whose vector it raised already (NULL: none). */
	struct stimer *loan_timer, *fired_timer;
	u64 loan_exp, fired_exp;
	u64 deadline_exits;
};

/* 0 if the CONFIG value may be written, 1 for #GP: reserved bits, or a
 * direct-mode vector below 16 (not a valid fixed interrupt). */
int stimer_config_check(u64 val);

/* What a due periodic timer does at `now` (TLFS 12.1.4): whether it
 * signals, the expiration it signals for, and its next expiration. */
struct stimer_step {
	bool signal;
	u64 signal_exp;
	u64 next;
	u64 skipped; /* periods dropped */
};
u64 stimer_period(u64 count);
struct stimer_step stimer_periodic_step(u64 exp, u64 period, u64 now, bool lazy);

/* The VP's timers of VTL vtl (host tests). */
struct stimer *stimer_get(struct vp *vp, u8 vtl, u32 idx);
/* Set up a VP's timers in `page` (the VP hook; host tests). */
int stimer_vp_setup(struct vp *vp, void *page);
/* The partition hook: direct mode offered with the timers (host tests). */
int stimer_partition_setup(struct partition *p);
/* The HV_EXIT_DEADLINE handler (host tests call it). */
enum hv_action stimer_exit_deadline(struct vp *vp, struct hv_exit *e);
/* The EOM handler: messages that found their slot busy (host tests). */
void stimer_eom(struct vp *vp, u8 vtl);

#endif
