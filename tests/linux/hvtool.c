/*
 * hvtool.c - measurements for the hv.efi Linux test, run in the initramfs
 * as root (built static by tests/linux/fetch.sh):
 *
 *   hvtool clock [MS]   clock comparison (below)
 *   hvtool smp [MS]     a userspace SMP workload (further below)
 *   hvtool sleep [MS]   one sleep, timed (at the end)
 *   hvtool mark         write the FADT's PM1a control register with its
 *                       own value, SLP_EN clear (nothing changes): hv.efi
 *                       intercepts that port and logs its exit counters
 *                       (tests/linux/idle-exits.sh: the idle's start)
 *   hvtool drain        wait until the console has sent all its output
 *                       (tcdrain on stdout): a UART loses what it still
 *                       holds when the machine powers off or halts
 *
 * hvtool clock: over an interval (default 1000 ms) it reads three clocks:
 *   - the kernel's clocksource through clock_gettime(CLOCK_MONOTONIC_RAW),
 *     which for hyperv_clocksource_tsc_page is the reference TSC page read
 *     in the vDSO (TLFS 12.7: ((TSC * scale) >> 64) + offset);
 *   - the TSC itself (RDTSC);
 *   - the ACPI PM timer (3.579545 MHz, ACPI 6.x 4.8.3.3), the platform's
 *     clock, independent of the hypervisor: its I/O port is read from the
 *     FADT in /sys/firmware/acpi/tables/FACP and read with INL (iopl(3)).
 * Each end point is the sample whose clock_gettime bracket was the
 * narrowest of 32. It prints one line:
 *
 *   HVCLOCK: clock_ns=N tsc=N pm=N tsc_hz_by_clock=N clock_ppm_vs_pm=N
 *            tsc_hz_by_pm=N vdso_syscall=ok|bad
 *
 * tsc_hz_by_clock: TSC ticks per second of clocksource time, to compare
 * with the TSC frequency the kernel was told (HV_X64_MSR_TSC_FREQUENCY);
 * clock_ppm_vs_pm: how far clocksource time is from PM timer time, in
 * parts per million (negative: the clocksource runs slow). pm=-1 when the
 * PM timer cannot be read. vdso_syscall: a vDSO read, a system-call read
 * and another vDSO read are in order (the vDSO's page and the kernel's
 * clocksource agree). Exit status 0 if it measured, 1 if not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PM_HZ 3579545ull

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000ll + t->tv_nsec;
}

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC_RAW, &t);
	return ts_ns(&t);
}

static int64_t now_ns_syscall(void)
{
	struct timespec t;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC_RAW, &t);
	return ts_ns(&t);
}

/* The PM timer's I/O port and width from the FADT (ACPI 6.x 5.2.9):
 * X_PM_TMR_BLK (GAS at 208) if it names system I/O, else PM_TMR_BLK (76);
 * Flags (112) bit 8 TMR_VAL_EXT: 32-bit counter, else 24-bit. */
static int pm_timer(uint16_t *port, uint32_t *mask)
{
	unsigned char f[512];
	int fd = open("/sys/firmware/acpi/tables/FACP", O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, f, sizeof f);
	close(fd);
	if (n < 116)
		return -1;
	uint32_t blk, flags;
	memcpy(&blk, f + 76, 4);
	memcpy(&flags, f + 112, 4);
	if (n >= 220 && f[208] == 1) {
		uint64_t x;
		memcpy(&x, f + 212, 8);
		if (x)
			blk = (uint32_t)x;
	}
	if (!blk || blk > 0xfffc)
		return -1;
	*port = (uint16_t)blk;
	*mask = (flags & (1u << 8)) ? 0xffffffffu : 0xffffffu;
	return 0;
}

/* PM1a_CNT_BLK (FADT offset 64, ACPI 6.x 5.2.9): write back what it holds
 * with SLP_EN (bit 13) clear, which changes nothing. */
static int cmd_mark(void)
{
	unsigned char f[128];
	int fd = open("/sys/firmware/acpi/tables/FACP", O_RDONLY);
	if (fd < 0)
		return 1;
	ssize_t n = read(fd, f, sizeof f);
	close(fd);
	uint32_t blk = 0;
	if (n >= 68)
		memcpy(&blk, f + 64, 4);
	if (!blk || blk > 0xfffe || iopl(3))
		return 1;
	uint16_t v = inw((uint16_t)blk);
	outw(v & (uint16_t)~(1u << 13), (uint16_t)blk);
	printf("HVMARK: PM1a control port 0x%x value 0x%x\n", blk, v);
	return 0;
}

struct sample {
	int64_t ns;
	uint64_t tsc;
	uint32_t pm;
};

static int have_pm;
static uint16_t pm_port;
static uint32_t pm_mask;

static uint32_t pm_read(void)
{
	return have_pm ? (inl(pm_port) & pm_mask) : 0;
}

/* The narrowest of 32 brackets: clock, TSC, PM timer, clock. */
static struct sample sample(void)
{
	struct sample best = { 0, 0, 0 };
	int64_t width = INT64_MAX;
	for (int i = 0; i < 32; i++) {
		int64_t a = now_ns();
		uint64_t t = rdtsc();
		uint32_t p = pm_read();
		int64_t b = now_ns();
		if (b - a < width) {
			width = b - a;
			best = (struct sample){ a + (b - a) / 2, t, p };
		}
	}
	return best;
}

static int cmd_clock(int64_t interval)
{
	have_pm = pm_timer(&pm_port, &pm_mask) == 0 && iopl(3) == 0;

	/* vDSO and system call agree and are ordered. */
	int order_ok = 1;
	for (int i = 0; i < 1000; i++) {
		int64_t a = now_ns(), b = now_ns_syscall(), c = now_ns();
		if (!(a <= b && b <= c))
			order_ok = 0;
	}

	struct sample s0 = sample();
	uint64_t pm_ticks = 0;
	uint32_t pm_prev = s0.pm;
	while (now_ns() - s0.ns < interval) {
		uint32_t p = pm_read();
		pm_ticks += (p - pm_prev) & pm_mask; /* wraps every 4.7 s at 24 bits */
		pm_prev = p;
	}
	struct sample s1 = sample();
	pm_ticks += (s1.pm - pm_prev) & pm_mask;

	int64_t dns = s1.ns - s0.ns;
	uint64_t dtsc = s1.tsc - s0.tsc;
	if (dns <= 0) {
		printf("HVCLOCK: clock_ns=%lld: the clock did not advance\n", (long long)dns);
		return 1;
	}
	unsigned long long tsc_hz_clock = (unsigned long long)((__int128)dtsc * 1000000000 / dns);
	if (have_pm && pm_ticks) {
		long double pm_ns = (long double)pm_ticks * 1e9L / PM_HZ;
		long long ppm = (long long)(((long double)dns - pm_ns) * 1e6L / pm_ns);
		unsigned long long tsc_hz_pm = (unsigned long long)((__int128)dtsc * PM_HZ / pm_ticks);
		printf("HVCLOCK: clock_ns=%lld tsc=%llu pm=%llu tsc_hz_by_clock=%llu "
		       "clock_ppm_vs_pm=%lld tsc_hz_by_pm=%llu vdso_syscall=%s\n",
		       (long long)dns, (unsigned long long)dtsc, (unsigned long long)pm_ticks,
		       tsc_hz_clock, ppm, tsc_hz_pm, order_ok ? "ok" : "bad");
	} else {
		printf("HVCLOCK: clock_ns=%lld tsc=%llu pm=-1 tsc_hz_by_clock=%llu "
		       "vdso_syscall=%s\n",
		       (long long)dns, (unsigned long long)dtsc, tsc_hz_clock,
		       order_ok ? "ok" : "bad");
	}
	fflush(stdout);
	return 0;
}

/*
 * hvtool smp: rounds of two phases. Flush phase: a thread of this process
 * spins on every other online CPU while CPU 0 maps, touches and unmaps
 * memory 16 times (each munmap must flush the other CPUs' TLBs: remote
 * flushes, by IPI or by the HvFlushVirtualAddress* hypercalls). IPI phase:
 * the spinners sleep and CPU 0 plays ping-pong through two pipes with a
 * thread on CPU 1 (each wake-up of the sleeping thread on the other CPU is
 * an IPI, or HvCallSendSyntheticClusterIpi). It prints
 *
 *   HVSMP: cpus=N munmaps=N pingpongs=N tlb_ipis=N resched_ipis=N ok|FAILED
 *
 * with the deltas of /proc/interrupts' TLB and RES rows over the run.
 */
static volatile int g_stop, g_spin;
static volatile int g_running[64];
static char *g_shared;
static int g_ping[2], g_pong[2];

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof set, &set);
}

/* The sum over CPUs of one /proc/interrupts row ("TLB:", "RES:"). */
static long long irq_row(const char *tag)
{
	FILE *f = fopen("/proc/interrupts", "r");
	char line[4096];
	long long sum = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		char *p = line;
		while (*p == ' ')
			p++;
		if (strncmp(p, tag, strlen(tag)))
			continue;
		p += strlen(tag);
		sum = 0;
		for (;;) {
			char *end;
			long long v = strtoll(p, &end, 10);
			if (end == p)
				break;
			sum += v;
			p = end;
		}
		break;
	}
	fclose(f);
	return sum;
}

static void *spinner(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	if (pin(cpu))
		return (void *)1;
	while (!g_stop) {
		if (!__atomic_load_n(&g_spin, __ATOMIC_ACQUIRE)) {
			g_running[cpu] = 0;
			usleep(50);
			continue;
		}
		g_running[cpu] = 1;
		for (int i = 0; i < 4096; i += 64)
			__atomic_fetch_add(&g_shared[i + cpu], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *ponger(void *arg __attribute__((unused)))
{
	char c;
	if (pin(1))
		return (void *)1;
	while (read(g_ping[0], &c, 1) == 1 && c == 'p')
		if (write(g_pong[1], &c, 1) != 1)
			break;
	return NULL;
}

static int cmd_smp(int64_t interval)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 2) {
		printf("HVSMP: cpus=%ld: needs 2 or more CPUs FAILED\n", ncpu);
		return 1;
	}
	if (ncpu > 64)
		ncpu = 64;
	g_shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_shared == MAP_FAILED || pipe(g_ping) || pipe(g_pong) || pin(0)) {
		printf("HVSMP: set-up failed (errno %d) FAILED\n", errno);
		return 1;
	}
	long long tlb0 = irq_row("TLB:"), res0 = irq_row("RES:");
	pthread_t th[64], pong;
	int started = 0;
	for (long c = 1; c < ncpu; c++)
		if (!pthread_create(&th[started], NULL, spinner, (void *)(intptr_t)c))
			started++;
	int have_pong = !pthread_create(&pong, NULL, ponger, NULL);

	long long munmaps = 0, pingpongs = 0;
	int bad = !have_pong || started != ncpu - 1;
	int64_t t0 = now_ns();
	while (!bad && now_ns() - t0 < interval) {
		/* flush phase: every spinner on its CPU, in this mm */
		__atomic_store_n(&g_spin, 1, __ATOMIC_RELEASE);
		for (long c = 1; c < ncpu; c++)
			while (!g_running[c] && now_ns() - t0 < interval + 1000000000ll)
				;
		for (int i = 0; i < 16; i++) {
			char *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED) {
				bad = 1;
				break;
			}
			for (int off = 0; off < 65536; off += 4096)
				m[off] = (char)off;
			munmap(m, 65536);
			munmaps++;
		}
		/* IPI phase: the spinners sleep, CPU 1 is free for the ponger */
		__atomic_store_n(&g_spin, 0, __ATOMIC_RELEASE);
		char c = 'p';
		if (write(g_ping[1], &c, 1) != 1 || read(g_pong[0], &c, 1) != 1 || c != 'p')
			bad = 1;
		else
			pingpongs++;
	}
	g_stop = 1;
	__atomic_store_n(&g_spin, 0, __ATOMIC_RELEASE);
	char q = 'q';
	if (write(g_ping[1], &q, 1) != 1)
		bad = 1;
	void *ret;
	for (int i = 0; i < started; i++)
		if (pthread_join(th[i], &ret) || ret)
			bad = 1;
	if (have_pong && (pthread_join(pong, &ret) || ret))
		bad = 1;
	long long tlb1 = irq_row("TLB:"), res1 = irq_row("RES:");
	printf("HVSMP: cpus=%ld munmaps=%lld pingpongs=%lld tlb_ipis=%lld resched_ipis=%lld %s\n",
	       ncpu, munmaps, pingpongs, tlb0 < 0 ? -1 : tlb1 - tlb0, res0 < 0 ? -1 : res1 - res0,
	       bad ? "FAILED" : "ok");
	fflush(stdout);
	return bad;
}

/*
 * hvtool sleep: one clock_nanosleep(CLOCK_MONOTONIC) of MS (default 1000)
 * ms, timed by the clocksource (the reference TSC page on hv.efi) and the
 * ACPI PM timer, with the /proc/interrupts "HVS:" row (Hyper-V stimer0,
 * TLFS 12 direct mode) and "LOC:" row (local APIC timer) before and after:
 *
 *   HVSLEEP: requested_ns=N slept_ns=N pm_ns=N|-1 hvs_irqs=N loc_irqs=N
 *
 * A sleep wakes on the per-CPU clockevent: with stimer0 in direct mode
 * (issue 13) that is an HVS interrupt at the expiry Linux programmed into
 * HV_X64_MSR_STIMER0_COUNT. -1 for a row that does not exist.
 */
static int cmd_sleep(int64_t interval)
{
	have_pm = pm_timer(&pm_port, &pm_mask) == 0 && iopl(3) == 0;
	long long hvs0 = irq_row("HVS:"), loc0 = irq_row("LOC:");
	struct timespec ts = { (time_t)(interval / 1000000000), (long)(interval % 1000000000) };
	struct sample s0 = sample();
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
	struct sample s1 = sample();
	long long hvs1 = irq_row("HVS:"), loc1 = irq_row("LOC:");
	long long pm_ns = -1;
	if (have_pm) /* one PM wrap is 4.7 s at 24 bits: MS must stay below */
		pm_ns = (long long)((long double)((s1.pm - s0.pm) & pm_mask) * 1e9L / PM_HZ);
	printf("HVSLEEP: requested_ns=%lld slept_ns=%lld pm_ns=%lld hvs_irqs=%lld loc_irqs=%lld\n",
	       (long long)interval, (long long)(s1.ns - s0.ns), pm_ns,
	       hvs0 < 0 ? -1 : hvs1 - hvs0, loc0 < 0 ? -1 : loc1 - loc0);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	int64_t interval = (argc > 2 ? atoll(argv[2]) : 1000) * 1000000ll;
	if (!strcmp(cmd, "clock"))
		return cmd_clock(interval);
	if (!strcmp(cmd, "smp"))
		return cmd_smp(interval);
	if (!strcmp(cmd, "sleep"))
		return cmd_sleep(interval);
	if (!strcmp(cmd, "drain"))
		return tcdrain(1) ? 1 : 0;
	if (!strcmp(cmd, "mark"))
		return cmd_mark();
	fprintf(stderr, "usage: hvtool clock|smp|sleep [MS] | mark | drain\n");
	return 2;
}
