/*
 * checks_time.c - partition reference time from the guest (TLFS 12.4 the
 * reference counter MSR, 12.7 the reference TSC page, appendix C the
 * frequency MSRs), including the bad inputs: writes to read-only MSRs, a
 * write to the page, the page disabled and moved.
 */
#include "payload.h"
#include "px86.h"

#define MSR_TIME_REF_COUNT 0x40000020u
#define MSR_REFERENCE_TSC 0x40000021u
#define MSR_TSC_FREQUENCY 0x40000022u
#define MSR_APIC_FREQUENCY 0x40000023u
#define PRIV_REF_COUNTER (1u << 1)
#define PRIV_REF_TSC (1u << 9)
#define PRIV_FREQUENCY (1u << 11)
#define FEAT_FREQUENCY (1u << 8)

struct ref_tsc_page {
	volatile uint32_t sequence;
	uint32_t reserved1;
	volatile uint64_t scale;
	volatile int64_t offset;
};

static uint64_t mul_hi64(uint64_t a, uint64_t b)
{
	return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

/* TLFS 12.7.3: the guest's read loop. Returns ~0 if the page is invalid. */
static uint64_t page_time(const struct ref_tsc_page *p)
{
	uint32_t seq;
	uint64_t t;
	do {
		seq = p->sequence;
		if (seq == 0)
			return ~0ull;
		t = mul_hi64(rdtsc(), p->scale) + (uint64_t)p->offset;
	} while (p->sequence != seq);
	return t;
}

static uint64_t msr(uint32_t m)
{
	uint64_t v = 0;
	trap_rdmsr(m, &v);
	return v;
}

/* |a - b| <= tol * b / 100 */
static int within_pct(uint64_t a, uint64_t b, uint64_t pct)
{
	uint64_t d = a > b ? a - b : b - a;
	return d * 100 <= b * pct;
}

/* Reference units (100 ns) for a short TSC interval at hz (no 128-bit
 * division: there is no libgcc in an EFI image). */
static uint64_t ticks_to_units(uint64_t ticks, uint64_t hz)
{
	return hz >= 10000 ? ticks * 1000 / (hz / 10000) : 0;
}

/* The reference clock of these checks: the ACPI PM timer (3.579545 MHz,
 * ACPI 4.8.3.3) read directly, from the FADT's PM_TMR_BLK; without ACPI
 * tables (OVMF under Bochs), the firmware's Stall. The firmware's own
 * timer code is not trusted here: under QEMU with several processors its
 * Stall was seen to run 1.57x long. */
static uint16_t pm_port;
static uint32_t pm_mask = 0xffffff;

static int sig_is(const void *p, const char *s)
{
	const char *c = p;
	return c[0] == s[0] && c[1] == s[1] && c[2] == s[2] && c[3] == s[3];
}

static void find_pm_timer(void)
{
	static EFI_GUID acpi20 = { 0x8868e871, 0xe4f1, 0x11d3,
				   { 0xbc, 0x22, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81 } };
	for (UINTN i = 0; i < ST->NumberOfTableEntries && !pm_port; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
		const uint8_t *rsdp = t->VendorTable;
		if (CompareGuid(&t->VendorGuid, &acpi20) || !rsdp || rsdp[15] < 2)
			continue;
		const uint8_t *xsdt = (const uint8_t *)(uintptr_t) * (const uint64_t *)(rsdp + 24);
		if (!xsdt || !sig_is(xsdt, "XSDT"))
			continue;
		uint32_t len = *(const uint32_t *)(xsdt + 4);
		for (uint32_t off = 36; off + 8 <= len; off += 8) {
			const uint8_t *f = (const uint8_t *)(uintptr_t) * (const uint64_t *)(xsdt + off);
			if (f && sig_is(f, "FACP") && *(const uint32_t *)(f + 4) >= 116) {
				pm_port = (uint16_t) * (const uint32_t *)(f + 76);
				if (*(const uint32_t *)(f + 112) & (1u << 8)) /* TMR_VAL_EXT */
					pm_mask = 0xffffffff;
			}
		}
	}
}

static uint32_t pm_read(void)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(pm_port));
	return v & pm_mask;
}

/* Wait 10 ms of the reference clock. */
static void wait_10ms(void)
{
	if (!pm_port) {
		uefi_call_wrapper(BS->Stall, 1, 10000);
		return;
	}
	uint32_t start = pm_read();
	while (((pm_read() - start) & pm_mask) < 35795)
		;
}

/* One measurement: two reference counter reads around 10 ms of the
 * reference clock, each read bracketed by TSC reads. Interrupts off: a
 * timer tick must not land in the window. */
struct ref_sample {
	int vec;
	uint64_t m1, m2, ta, tb, tc, td;
};

static struct ref_sample ref_sample(void)
{
	struct ref_sample s = { 0 };
	uint64_t flags = irq_save();
	s.ta = rdtsc();
	s.vec = trap_rdmsr(MSR_TIME_REF_COUNT, &s.m1);
	s.tb = rdtsc();
	wait_10ms();
	s.tc = rdtsc();
	trap_rdmsr(MSR_TIME_REF_COUNT, &s.m2);
	s.td = rdtsc();
	irq_restore(flags);
	return s;
}

static void checks_ref_counter(void)
{
	uint64_t hz = msr(MSR_TSC_FREQUENCY);
	find_pm_timer();
	ser_printf("  info: reference clock: %s\n", pm_port ? "ACPI PM timer" : "firmware Stall");
	struct ref_sample s = ref_sample();
	check_vec("time.ref_count.read", s.vec, VEC_NONE);
	check("time.ref_count.monotonic", s.m2 > s.m1, "first 0x%lx then 0x%lx", s.m1, s.m2);
	/* TLFS 12.4: 100 ns units at the TSC's rate. The true interval between
	 * the two reads lies between the inner and outer TSC brackets, so this
	 * holds whatever the host's scheduling did. */
	uint64_t lo = ticks_to_units(s.tc - s.tb, hz), hi = ticks_to_units(s.td - s.ta, hz);
	check("time.ref_count.agrees_with_tsc", hz && s.m2 - s.m1 + lo / 100 >= lo &&
						 s.m2 - s.m1 <= hi + hi / 100 + 1,
	      "%lu units between reads bracketed by %lu..%lu by the TSC at %lu Hz",
	      s.m2 - s.m1, lo, hi, hz);
	/* Against the reference clock: 10 ms is about 100000 units. A
	 * descheduled emulator thread stretches a sample: noise only ever
	 * makes a sample fail, so the best of 5 must agree. */
	int rate_ok = 0, freq_ok = 0;
	for (int i = 0; i < 5 && !(rate_ok && freq_ok); i++) {
		if (i)
			s = ref_sample();
		rate_ok |= within_pct(s.m2 - s.m1, 100000, 25);
		freq_ok |= hz && within_pct((s.tc - s.tb) * 100, hz, 25);
	}
	check("time.ref_count.rate", rate_ok,
	      "%lu units over 10 ms (last of 5 samples), expected about 100000", s.m2 - s.m1);
	check("time.tsc_frequency.measured", freq_ok,
	      "MSR says %lu Hz, the guest measured about %lu (last of 5 samples)", hz,
	      (s.tc - s.tb) * 100);
	check_vec("time.ref_count.write_gp", trap_wrmsr(MSR_TIME_REF_COUNT, 0), VEC_GP);
	check_vec("time.tsc_frequency.write_gp", trap_wrmsr(MSR_TSC_FREQUENCY, 1), VEC_GP);
}

static void checks_apic_frequency(void)
{
	uint64_t hz = 0;
	check_vec("time.apic_frequency.read", trap_rdmsr(MSR_APIC_FREQUENCY, &hz), VEC_NONE);
	/* Plausible for a local APIC timer input clock (25 MHz to 5 GHz). */
	check("time.apic_frequency.plausible", hz >= 25000000 && hz <= 5000000000ull,
	      "%lu Hz", hz);
	check_vec("time.apic_frequency.write_gp", trap_wrmsr(MSR_APIC_FREQUENCY, 1), VEC_GP);
}

static void checks_tsc_page(void)
{
	EFI_PHYSICAL_ADDRESS pa = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiBootServicesData,
					2, &pa))) {
		check("time.tsc_page.alloc", 0, "no memory");
		return;
	}
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)pa;
	volatile uint64_t *q = (volatile uint64_t *)(uintptr_t)(pa + 4096);
	for (int i = 0; i < 512; i++) {
		p[i] = 0x7a7a7a7a00000000ull | (uint64_t)i;
		q[i] = 0x5b5b5b5b00000000ull | (uint64_t)i;
	}
	check_eq("time.reference_tsc.initial", msr(MSR_REFERENCE_TSC), 0);
	check_vec("time.reference_tsc.enable", trap_wrmsr(MSR_REFERENCE_TSC, pa | 1), VEC_NONE);
	check_eq("time.reference_tsc.readback", msr(MSR_REFERENCE_TSC), pa | 1);
	const struct ref_tsc_page *pg = (const struct ref_tsc_page *)(uintptr_t)pa;
	struct cpuid_regs ext = cpuid(0x80000000u, 0);
	/* With AccessTscInvariantControls (leaf 0x40000003 EAX bit 15) the
	 * CPUID bit stays hidden until the guest opts in (checks_stimer.c):
	 * the TSC is invariant all the same. */
	int itsc = (ext.eax >= 0x80000007u && (cpuid(0x80000007u, 0).edx & (1u << 8))) ||
		   (cpuid(0x40000003u, 0).eax & (1u << 15));
	ser_printf("  info: reference TSC page sequence %u scale 0x%lx offset %ld (CPUID iTSC %d)\n",
		   pg->sequence, pg->scale, pg->offset, itsc);
	/* TLFS 12.3: valid on an invariant TSC; the QEMU run asserts one with
	 * invariant_tsc=yes, and the harness requires the agreement check. */
	check("time.tsc_page.sequence", pg->sequence != 0 || !itsc,
	      "sequence 0 although CPUID reports an invariant TSC");
	if (pg->sequence) {
		/* TLFS 12.7.3: the page and the MSR are one clock. The MSR read
		 * must fall between two page reads taken around it, within
		 * 100 us (1000 units), across a run of samples. */
		uint64_t worst = 0, widest = 0;
		for (int i = 0; i < 64; i++) {
			uint64_t t0 = page_time(pg);
			uint64_t m = msr(MSR_TIME_REF_COUNT);
			uint64_t t1 = page_time(pg);
			uint64_t off = m < t0 ? t0 - m : m > t1 ? m - t1 : 0;
			if (off > worst)
				worst = off;
			if (t1 - t0 > widest)
				widest = t1 - t0;
			uefi_call_wrapper(BS->Stall, 1, 500);
		}
		ser_printf("  info: TSC page vs MSR: worst %lu units outside, widest bracket %lu\n",
			   worst, widest);
		check("time.tsc_page.agrees", worst <= 1000,
		      "the MSR was %lu units (100 ns) outside the page's bracket", worst);
	}
	check_vec("time.tsc_page.write_gp", trap_write64(pa + 8, 1), VEC_GP);

	/* Move it: the first page is uncovered unchanged, the second shows it. */
	uint64_t scale = pg->scale;
	check_vec("time.reference_tsc.move", trap_wrmsr(MSR_REFERENCE_TSC, (pa + 4096) | 1), VEC_NONE);
	int intact = 1;
	for (int i = 0; i < 512; i++)
		intact &= p[i] == (0x7a7a7a7a00000000ull | (uint64_t)i);
	check("time.tsc_page.restored_on_move", intact, "the uncovered page changed");
	check("time.tsc_page.moved", scale != 0 && q[1] == scale,
	      "second page shows 0x%lx, not the scale 0x%lx", q[1], scale);
	/* Disable: the second page is uncovered unchanged too. */
	check_vec("time.reference_tsc.disable", trap_wrmsr(MSR_REFERENCE_TSC, pa + 4096), VEC_NONE);
	intact = 1;
	for (int i = 0; i < 512; i++)
		intact &= q[i] == (0x5b5b5b5b00000000ull | (uint64_t)i);
	check("time.tsc_page.restored_on_disable", intact, "the uncovered page changed");
	uefi_call_wrapper(BS->FreePages, 2, pa, 2);
}

void checks_time(void)
{
	struct cpuid_regs v = cpuid(0x40000000u, 0);
	if (v.ebx != 0x7263694Du || v.eax < 0x40000003u)
		return; /* reported by the CPUID checks */
	struct cpuid_regs f = cpuid(0x40000003u, 0);
	if (f.eax & PRIV_REF_COUNTER)
		checks_ref_counter();
	if ((f.eax & PRIV_FREQUENCY) && (f.edx & FEAT_FREQUENCY))
		checks_apic_frequency();
	if (f.eax & PRIV_REF_TSC)
		checks_tsc_page();
}
