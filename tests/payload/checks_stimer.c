/*
 * checks_stimer.c - the synthetic timers (TLFS 12.1.3-12.1.4, 12.2, 12.5)
 * and the invariant TSC control from the guest: every MSR's reset value,
 * read/write and #GP rules, one-shot and periodic timers in direct mode,
 * AutoEnable, COUNT 0, an expiration in the past, and that a timer fires on
 * time whatever the guest does: spinning with interrupts enabled and no
 * exits, halted, and with interrupts masked (delivered at STI). Message
 * mode needs the SynIC (leaf 0x40000003 EAX bit 2): checked when offered.
 *
 * Each timer interrupt is taken by pstimer.asm, which reads the reference
 * counter (TLFS 12.4) as it enters: a timer must never signal before its
 * expiration (TLFS 12.1.3), so that reading must be at or after it, and
 * within 1 ms on Bochs (TSC and APIC timer follow emulated instructions).
 * QEMU TCG gets 100 ms plus any stall the guest saw while it waited: its
 * vCPU is a host thread and its APIC timer a host timer on a 2-core
 * machine that several emulators share (at a load average of 28-36 the
 * vCPU was seen late by 30-80 ms beyond what it could observe); a timer
 * that waited for anything else (the next firmware tick, an exit) would
 * miss the 200 ms spin with the legacy PIC and the firmware's APIC timer
 * stopped, which is what fails without a hard deadline.
 */
#include "hcall.h"
#include "px86.h"

#define MSR_STIMER0_CONFIG 0x400000B0u
#define MSR_TIME_REF_COUNT 0x40000020u
#define MSR_TSC_FREQUENCY 0x40000022u
#define MSR_TSC_INV_CTL 0x40000118u
#define MSR_APIC_BASE 0x1bu
#define PRIV_SYNIC (1ull << 2)
#define PRIV_STIMER (1ull << 3)
#define PRIV_INTR_CTRL (1ull << 4)
#define PRIV_TSC_INV (1ull << 15)
#define FEAT_DIRECT (1u << 19)
#define CALL_GET_REGS 0x0050u
#define CALL_SET_REGS 0x0051u

#define CFG_ENABLE 1ull
#define CFG_PERIODIC 2ull
#define CFG_LAZY 4ull
#define CFG_AUTO 8ull
#define CFG_DIRECT (1ull << 12)
#define CFG_VEC(v) ((uint64_t)(v) << 4)
#define CFG_SINT(s) ((uint64_t)(s) << 16)

/* Two vectors in the highest priority class, above anything the firmware
 * uses (and above checks_ipi.c's 0xE3). */
static const uint8_t g_vec[2] = { 0xE5, 0xE6 };

extern volatile uint64_t pstimer_count[2];
extern volatile uint64_t pstimer_ref[64];
void pstimer_isr0(void);
void pstimer_isr1(void);


static uint64_t g_tsc_hz, g_bound; /* the lateness allowed, 100 ns units */
static uint64_t g_stall; /* the longest gap between two TSC reads of the last spin (TSC ticks) */
static int g_qemu;

static uint64_t rd(uint32_t m)
{
	uint64_t v = 0;
	trap_rdmsr(m, &v);
	return v;
}

/* A plain WRMSR/RDMSR, once a trap_ probe showed they do not fault: the
 * trap window costs ~30k instructions under Bochs. */
static void wr_raw(uint32_t m, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(m), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static uint64_t rd_raw(uint32_t m)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(m));
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t now_ref(void) { return rd_raw(MSR_TIME_REF_COUNT); }
static uint32_t cfg_msr(int t) { return MSR_STIMER0_CONFIG + 2u * (uint32_t)t; }
static uint32_t cnt_msr(int t) { return MSR_STIMER0_CONFIG + 2u * (uint32_t)t + 1; }

static void clear_counts(void)
{
	pstimer_count[0] = pstimer_count[1] = 0;
	for (int i = 0; i < 64; i++)
		pstimer_ref[i] = 0;
}

static uint64_t ms_ticks(uint64_t ms) { return g_tsc_hz / 1000 * ms; }

/* Spin with interrupts as they are, without exits, until slot n counted
 * `want` or ms milliseconds passed. */
static void spin_until(int n, uint64_t want, uint64_t ms)
{
	uint64_t t0 = rdtsc(), lim = ms_ticks(ms), last = t0;
	g_stall = 0;
	while (pstimer_count[n] < want) {
		uint64_t t = rdtsc();
		if (t - last > g_stall)
			g_stall = t - last;
		last = t;
		if (t - t0 >= lim)
			break;
		__asm__ volatile("pause");
	}
}

/* On QEMU the TSC is the host's clock and the vCPU a host thread: a stall
 * the guest saw while it waited (the host descheduled it) is added to the
 * bound. On Bochs time is emulated instructions: no stalls. */
static uint64_t bound(void)
{
	return g_bound + (g_qemu && g_tsc_hz ? g_stall * 10000000 / g_tsc_hz : 0);
}

static void disable_all(void)
{
	for (int t = 0; t < 4; t++) {
		wr_raw(cfg_msr(t), 0);
		wr_raw(cnt_msr(t), 0);
	}
}

/* Arm timer t: one-shot, direct, vector vec, at exp. COUNT 0 first: an
 * Enable written over an old (past) COUNT would expire at once (TLFS
 * 12.5.1), as checks_delivery's "past" case shows. */
static void arm_oneshot(int t, uint8_t vec, uint64_t exp)
{
	wr_raw(cnt_msr(t), 0);
	wr_raw(cfg_msr(t), CFG_DIRECT | CFG_ENABLE | CFG_VEC(vec));
	wr_raw(cnt_msr(t), exp);
}

/* A one-shot direct timer fired once, not before exp, within the bound. */
static void check_fired(const char *name, int n, uint64_t exp)
{
	char nm[96];
	uint64_t got = pstimer_ref[32 * n];
	fmt_name(nm, sizeof(nm), "%s.fired_once", name);
	check_eq(nm, pstimer_count[n], 1);
	fmt_name(nm, sizeof(nm), "%s.not_early", name);
	check(nm, pstimer_count[n] && got >= exp, "taken at %lu, expiration %lu (%ld units early)",
	      (unsigned long)got, (unsigned long)exp, (long)(exp - got));
	fmt_name(nm, sizeof(nm), "%s.on_time", name);
	check(nm, pstimer_count[n] && got >= exp && got - exp <= bound(),
	      "taken %ld units (100 ns) after its expiration, bound %lu", (long)(got - exp),
	      (unsigned long)bound());
}

static void checks_msrs(void)
{
	uint64_t v = 1;
	int bad = 0;
	for (int t = 0; t < 4; t++) {
		char nm[64];
		fmt_name(nm, sizeof(nm), "stimer.reset.config%d", t);
		bad |= check_vec(nm, trap_rdmsr(cfg_msr(t), &v), VEC_NONE) && !check_eq(nm, v, 0);
		fmt_name(nm, sizeof(nm), "stimer.reset.count%d", t);
		v = 1;
		bad |= check_vec(nm, trap_rdmsr(cnt_msr(t), &v), VEC_NONE) && !check_eq(nm, v, 0);
	}
	(void)bad;
	/* Read/write: every field of CONFIG (disabled) and COUNT. */
	uint64_t c = CFG_PERIODIC | CFG_LAZY | CFG_AUTO | CFG_VEC(0xAB) | CFG_DIRECT | CFG_SINT(0xF);
	check_vec("stimer.config.write", trap_wrmsr(cfg_msr(3), c), VEC_NONE);
	check_eq("stimer.config.readback", rd(cfg_msr(3)), c);
	check_vec("stimer.count.write", trap_wrmsr(cnt_msr(2), 0x123456789ull), VEC_NONE);
	check_eq("stimer.count.readback", rd(cnt_msr(2)), 0x123456789ull);
	/* #GP: RsvdZ bits 63:20 and 15:13; a direct-mode vector below 16. */
	check_vec("stimer.config.rsvd20_gp", trap_wrmsr(cfg_msr(1), 1ull << 20), VEC_GP);
	check_vec("stimer.config.rsvd63_gp", trap_wrmsr(cfg_msr(1), 1ull << 63), VEC_GP);
	check_vec("stimer.config.rsvd13_gp", trap_wrmsr(cfg_msr(1), 1ull << 13), VEC_GP);
	check_vec("stimer.config.rsvd15_gp", trap_wrmsr(cfg_msr(1), 1ull << 15), VEC_GP);
	check_vec("stimer.config.direct_vector15_gp",
		  trap_wrmsr(cfg_msr(1), CFG_DIRECT | CFG_VEC(15)), VEC_GP);
	check_eq("stimer.config.gp_keeps_value", rd(cfg_msr(1)), 0);
	/* Message mode with SINT 0 cannot be enabled (TLFS 12.5.1). */
	check_vec("stimer.config.sint0_write", trap_wrmsr(cfg_msr(1), CFG_ENABLE | CFG_SINT(0)),
		  VEC_NONE);
	check_eq("stimer.config.sint0_not_enabled", rd(cfg_msr(1)) & CFG_ENABLE, 0);
	/* MSRs next to the timers are not theirs. */
	check_vec("stimer.msr_after_gp", trap_rdmsr(MSR_STIMER0_CONFIG + 8, &v), VEC_GP);
	/* AutoEnable: a non-zero COUNT sets Enable; COUNT 0 clears it. */
	uint64_t far = now_ref() + 100000000ull; /* 10 s */
	wr_raw(cfg_msr(2), CFG_AUTO | CFG_DIRECT | CFG_VEC(g_vec[0]));
	check_eq("stimer.auto_enable.not_yet", rd(cfg_msr(2)) & CFG_ENABLE, 0);
	wr_raw(cnt_msr(2), far);
	check_eq("stimer.auto_enable.enabled", rd(cfg_msr(2)) & CFG_ENABLE, CFG_ENABLE);
	wr_raw(cnt_msr(2), 0);
	check_eq("stimer.count0.disables", rd(cfg_msr(2)) & CFG_ENABLE, 0);
	/* Without AutoEnable a COUNT write does not enable. */
	wr_raw(cfg_msr(2), CFG_DIRECT | CFG_VEC(g_vec[0]));
	wr_raw(cnt_msr(2), far);
	check_eq("stimer.no_auto_enable", rd(cfg_msr(2)) & CFG_ENABLE, 0);
	disable_all();
}

/* TLFS 7.8.2: the timers as VP registers (HvRegisterStimer0Config...). */
static void stimer_vpregs(void)
{
	if (!g_hc.page_ok || !(g_hc.priv & (1ull << 49))) {
		ser_printf("  info: no hypercall page or AccessVpRegisters: VP register aliases skipped\n");
		return;
	}
	struct hc_regs r;
	wr_raw(cnt_msr(1), 0x5555);
	for (int i = 0; i < 16; i++)
		P_IN[i] = 0;
	*(uint64_t *)P_IN = PARTITION_SELF;
	*(uint32_t *)(P_IN + 16) = 0x000B0003; /* Stimer1Count */
	fill64(P_OUT, PREFILL, 16, 0);
	int vec = call_slow(&r, CALL_GET_REGS | HC_REPS(1), pa(P_IN), pa(P_OUT));
	check("stimer.vpreg.get", vec == VEC_NONE && (r.rax & 0xffff) == ST_OK &&
	      *(uint64_t *)P_OUT == 0x5555, "vector %d status 0x%lx value 0x%lx", vec,
	      (unsigned long)(r.rax & 0xffff), (unsigned long)*(uint64_t *)P_OUT);
	for (int i = 16; i < 48; i++)
		P_IN[i] = 0;
	*(uint32_t *)(P_IN + 16) = 0x000B0006; /* Stimer3Config */
	*(uint64_t *)(P_IN + 32) = CFG_DIRECT | CFG_VEC(0x77);
	vec = call_slow(&r, CALL_SET_REGS | HC_REPS(1), pa(P_IN), 0);
	check("stimer.vpreg.set", vec == VEC_NONE && (r.rax & 0xffff) == ST_OK &&
	      rd(cfg_msr(3)) == (CFG_DIRECT | CFG_VEC(0x77)), "vector %d status 0x%lx config 0x%lx",
	      vec, (unsigned long)(r.rax & 0xffff), (unsigned long)rd(cfg_msr(3)));
	/* A reserved bit through the register: the MSR's #GP is an invalid
	 * register value. */
	*(uint64_t *)(P_IN + 32) = 1ull << 40;
	vec = call_slow(&r, CALL_SET_REGS | HC_REPS(1), pa(P_IN), 0);
	check("stimer.vpreg.set_reserved", vec == VEC_NONE && (r.rax & 0xffff) == 0x50,
	      "vector %d status 0x%lx (expected INVALID_REGISTER_VALUE)", vec,
	      (unsigned long)(r.rax & 0xffff));
	disable_all();
}

/* The timer deliveries, with our gates in the IDT, the legacy PIC masked
 * (nothing else interrupts: a timer that waits for another interrupt or
 * an exit never fires) and the local APIC timer as the firmware left it. */
static void checks_delivery(void)
{
	struct idtr idtr;
	__asm__ volatile("sidt %0" : "=m"(idtr));
	struct idt_gate *g = (struct idt_gate *)(uintptr_t)idtr.base;
	struct idt_gate saved[2] = { g[g_vec[0]], g[g_vec[1]] };
	void (*const isr[2])(void) = { pstimer_isr0, pstimer_isr1 };
	uint64_t flags = irq_save();
	for (int i = 0; i < 2; i++)
		g[g_vec[i]] = idt_gate_for(isr[i]);
	uint8_t pic1, pic2;
	__asm__ volatile("inb $0x21, %0" : "=a"(pic1));
	__asm__ volatile("inb $0xa1, %0" : "=a"(pic2));
	__asm__ volatile("outb %0, $0x21" : : "a"((uint8_t)0xff));
	__asm__ volatile("outb %0, $0xa1" : : "a"((uint8_t)0xff));
	uint64_t d = CFG_DIRECT | CFG_ENABLE, exp;
	/* The firmware's own local APIC timer (OVMF ticks with it under
	 * QEMU) stopped too: the hypervisor may then borrow it (SVM), and a
	 * tick cannot stand in for the timer's own deadline. */
	int xapic = !(rd(MSR_APIC_BASE) & (1u << 10));
	volatile uint32_t *apic = (volatile uint32_t *)(uintptr_t)(rd(MSR_APIC_BASE) & ~0xfffull);
	uint32_t fw_lvt = 0, fw_tdcr = 0, fw_tmict = 0;
	if (xapic) {
		fw_lvt = apic[0x320 / 4];
		fw_tdcr = apic[0x3e0 / 4];
		fw_tmict = apic[0x380 / 4];
		apic[0x320 / 4] = fw_lvt | (1u << 16);
		apic[0x380 / 4] = 0;
	}

	/* 1. One-shot, spinning with IF=1 and no exits. */
	clear_counts();
	exp = now_ref() + 20000; /* 2 ms */
	__asm__ volatile("sti");
	arm_oneshot(0, g_vec[0], exp);
	spin_until(0, 1, 400);
	spin_until(0, 2, 5); /* and no second one */
	__asm__ volatile("cli");
	check_fired("stimer.oneshot.spin", 0, exp);
	check_eq("stimer.oneshot.disabled_after", rd_raw(cfg_msr(0)) & CFG_ENABLE, 0);

	/* 2. In HLT: the timer wakes the processor. */
	clear_counts();
	exp = now_ref() + 20000;
	arm_oneshot(0, g_vec[0], exp);
	/* A stall in HLT cannot be told from the wait itself: on QEMU the
	 * whole wait counts as one (the check proves the halted VP woke, not
	 * early; the 1 ms bound is Bochs's). */
	uint64_t h0 = rdtsc();
	for (uint64_t t0 = rdtsc(); !pstimer_count[0] && rdtsc() - t0 < ms_ticks(400);)
		__asm__ volatile("sti; hlt; cli");
	g_stall = rdtsc() - h0;
	check_fired("stimer.oneshot.hlt", 0, exp);

	/* 3. With IF=0: not taken while masked, taken at STI. */
	clear_counts();
	exp = now_ref() + 10000; /* 1 ms */
	arm_oneshot(0, g_vec[0], exp);
	uint64_t t0 = rdtsc();
	while (rdtsc() - t0 < ms_ticks(4))
		__asm__ volatile("pause");
	uint64_t masked = pstimer_count[0], before_sti = now_ref();
	__asm__ volatile("sti; nop; nop; cli");
	spin_until(0, 1, 1); /* IF=0 again: only what STI let in */
	check_eq("stimer.masked.not_while_masked", masked, 0);
	check_eq("stimer.masked.taken_at_sti", pstimer_count[0], 1);
	check("stimer.masked.not_early", pstimer_ref[0] >= exp && pstimer_ref[0] >= before_sti,
	      "taken at %lu, expiration %lu", (unsigned long)pstimer_ref[0], (unsigned long)exp);

	/* 4. An expiration in the past fires at once (TLFS 12.5.1). */
	clear_counts();
	__asm__ volatile("sti");
	uint64_t now = now_ref();
	arm_oneshot(0, g_vec[0], now - 5000);
	spin_until(0, 1, 50);
	__asm__ volatile("cli");
	check_eq("stimer.past.fired_once", pstimer_count[0], 1);
	check("stimer.past.at_once", pstimer_count[0] && pstimer_ref[0] - now <= bound(),
	      "taken %lu units after the write", (unsigned long)(pstimer_ref[0] - now));

	/* 5. Two timers, two vectors, the later one armed first. */
	clear_counts();
	uint64_t base = now_ref();
	disable_all();
	wr_raw(cfg_msr(1), CFG_DIRECT | CFG_VEC(g_vec[1]) | CFG_AUTO);
	wr_raw(cfg_msr(0), CFG_DIRECT | CFG_VEC(g_vec[0]) | CFG_AUTO);
	__asm__ volatile("sti");
	wr_raw(cnt_msr(1), base + 40000);
	wr_raw(cnt_msr(0), base + 20000);
	spin_until(0, 1, 400);
	check_fired("stimer.two.first", 0, base + 20000);
	spin_until(1, 1, 400);
	__asm__ volatile("cli");
	check_fired("stimer.two.second", 1, base + 40000);
	/* No order between them is checked: TLFS 12.1.5 promises none (two
	 * vectors pending at once are taken highest first). */

	/* 6. Periodic, 1 ms: ten periods in 10.5 ms, each at or after its
	 * time, then disabled: no more. */
	clear_counts();
	disable_all();
	wr_raw(cnt_msr(0), 10000);
	uint64_t start = now_ref();
	__asm__ volatile("sti");
	wr_raw(cfg_msr(0), d | CFG_PERIODIC | CFG_VEC(g_vec[0]));
	uint64_t enabled = now_ref();
	while (now_ref() - start < 105000)
		__asm__ volatile("pause");
	uint64_t cfg_running = rd_raw(cfg_msr(0));
	wr_raw(cfg_msr(0), 0);
	uint64_t n = pstimer_count[0];
	t0 = rdtsc();
	while (rdtsc() - t0 < ms_ticks(5))
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	/* Bochs: every period. QEMU: a late signal merges with the next in
	 * the APIC (one vector pending once) and a loaded host stalls QEMU's
	 * vCPU for whole periods (the loop's reference time reads exit), so
	 * only that it signals; the period is proven on Bochs. */
	uint64_t lo = g_qemu ? 1 : 9;
	ser_printf("  info: periodic: enabled at +%lu, signals at", (unsigned long)(enabled - start));
	for (uint64_t k = 0; k < n && k < 32; k++)
		ser_printf(" +%lu", (unsigned long)(pstimer_ref[k] - start));
	ser_printf("\n");
	check("stimer.periodic.count", n >= lo && n <= 11, "%lu signals in 10.5 ms (expected %lu-11)",
	      (unsigned long)n, (unsigned long)lo);
	int early = -1;
	for (uint64_t k = 0; k < n && k < 32; k++)
		if (pstimer_ref[k] < start + (k + 1) * 10000)
			early = (int)k;
	check("stimer.periodic.not_early", early < 0, "signal %d came before %lu", early,
	      (unsigned long)(enabled + (uint64_t)(early + 1) * 10000));
	check_eq("stimer.periodic.stops_when_disabled", pstimer_count[0], n);
	check_eq("stimer.periodic.enable_stays", cfg_running & CFG_ENABLE, CFG_ENABLE);

	/* 6b. A 100 ns period (COUNT 1) runs at the hypervisor's 100 us floor
	 * (STIMER_MIN_PERIOD): n signals take at least n * 100 us of
	 * reference time from the enable (measured, not assumed: a loaded
	 * QEMU host stalls the vCPU for whole milliseconds), and with IF=0
	 * the guest still runs and can write the timer off. Without the
	 * floor each expiration is due before the guest runs again: the spin
	 * below never ends (guest fuzzer seed 0x0981d7b8). */
	clear_counts();
	disable_all();
	wr_raw(cnt_msr(0), 1);
	__asm__ volatile("sti");
	start = now_ref();
	wr_raw(cfg_msr(0), d | CFG_PERIODIC | CFG_VEC(g_vec[0]));
	spin_until(0, 20, 400);
	__asm__ volatile("cli");
	uint64_t span = now_ref() - start;
	n = pstimer_count[0];
	t0 = rdtsc();
	while (rdtsc() - t0 < ms_ticks(2)) /* IF=0: signals pend */
		__asm__ volatile("pause");
	wr_raw(cfg_msr(0), 0);
	check("stimer.periodic.min_period", n >= 1 && n <= span / 1000 + 2,
	      "%lu signals in %lu units from a 100 ns period (expected 1-%lu)", (unsigned long)n,
	      (unsigned long)span, (unsigned long)(span / 1000 + 2));
	check_eq("stimer.periodic.min_period_guest_runs", rd_raw(cfg_msr(0)), 0);
	__asm__ volatile("sti; nop; cli"); /* the pending one is taken */

	/* 7. The guest's own APIC timer still works while a synthetic timer
	 * is armed (on SVM the hypervisor may have borrowed it, and gives it
	 * back when the guest programs it). xAPIC only. */
	if (xapic) {
		clear_counts();
		exp = now_ref() + 100000; /* 10 ms */
		arm_oneshot(0, g_vec[0], exp);
		apic[0x3e0 / 4] = 0xb;
		apic[0x320 / 4] = g_vec[1]; /* one-shot */
		apic[0x380 / 4] = 200000;
		__asm__ volatile("sti");
		spin_until(1, 1, 200);
		spin_until(0, 1, 300);
		__asm__ volatile("cli");
		check_eq("stimer.guest_apic_timer.fired", pstimer_count[1], 1);
		check_eq("stimer.guest_apic_timer.stimer_fired", pstimer_count[0], 1);
		check("stimer.guest_apic_timer.stimer_not_early", pstimer_ref[0] >= exp,
		      "taken at %lu, expiration %lu", (unsigned long)pstimer_ref[0], (unsigned long)exp);
	}
	disable_all();
	if (xapic) { /* the firmware's timer as it was (restarted) */
		apic[0x380 / 4] = 0;
		apic[0x3e0 / 4] = fw_tdcr;
		apic[0x320 / 4] = fw_lvt;
		apic[0x380 / 4] = fw_tmict;
	}
	__asm__ volatile("outb %0, $0x21" : : "a"(pic1));
	__asm__ volatile("outb %0, $0xa1" : : "a"(pic2));
	g[g_vec[0]] = saved[0];
	g[g_vec[1]] = saved[1];
	irq_restore(flags);
}

/* HV_X64_MSR_TSC_INVARIANT_CONTROL: offered where the TSC is invariant (or
 * hv.cfg says so: the QEMU runs); bit 0 shows CPUID 0x80000007 EDX[8]. */
static void checks_tsc_invariant(uint64_t priv)
{
	uint64_t v = 1;
	struct cpuid_regs ext = cpuid(0x80000000u, 0);
	if (!(priv & PRIV_TSC_INV)) {
		check_vec("tsc_invariant.not_offered_gp", trap_rdmsr(MSR_TSC_INV_CTL, &v), VEC_GP);
		return;
	}
	check("tsc_invariant.leaf", ext.eax >= 0x80000007u, "max extended leaf 0x%x", ext.eax);
	check_vec("tsc_invariant.read", trap_rdmsr(MSR_TSC_INV_CTL, &v), VEC_NONE);
	/* checks_time.c may have enabled it: start from 0. */
	check_vec("tsc_invariant.write0", trap_wrmsr(MSR_TSC_INV_CTL, 0), VEC_NONE);
	check_eq("tsc_invariant.hidden_until_enabled", cpuid(0x80000007u, 0).edx & (1u << 8), 0);
	check_vec("tsc_invariant.reserved_gp", trap_wrmsr(MSR_TSC_INV_CTL, 2), VEC_GP);
	check_vec("tsc_invariant.reserved63_gp", trap_wrmsr(MSR_TSC_INV_CTL, 1ull << 63), VEC_GP);
	check_vec("tsc_invariant.enable", trap_wrmsr(MSR_TSC_INV_CTL, 1), VEC_NONE);
	check_eq("tsc_invariant.readback", rd(MSR_TSC_INV_CTL), 1);
	check_eq("tsc_invariant.cpuid_shows", cpuid(0x80000007u, 0).edx & (1u << 8), 1u << 8);
}

void checks_stimer(void)
{
	struct cpuid_regs f = cpuid(0x40000003u, 0);
	uint64_t priv = ((uint64_t)f.ebx << 32) | f.eax;
	checks_tsc_invariant(priv);
	if (!(priv & PRIV_STIMER)) {
		uint64_t v;
		check_vec("stimer.not_offered_gp", trap_rdmsr(MSR_STIMER0_CONFIG, &v), VEC_GP);
		return;
	}
	check("stimer.direct_mode_offered", f.edx & FEAT_DIRECT, "EDX 0x%x", f.edx);
	struct cpuid_regs b = cpuid(0x80000002u, 0);
	g_qemu = b.eax == 0x554d4551u; /* "QEMU" */
	g_tsc_hz = rd(MSR_TSC_FREQUENCY);
	if (!g_tsc_hz)
		g_tsc_hz = 1000000000ull;
	g_bound = g_qemu ? 1000000 : 10000;
	checks_msrs();
	if (!(priv & PRIV_INTR_CTRL)) {
		check("stimer.needs_eoi_msr", 0, "the handlers EOI through HV_X64_MSR_EOI");
		return;
	}
	checks_delivery();
	stimer_vpregs();
}
