/*
 * apboot.c - the second guest payload of issue 4 (test (b)): it behaves like
 * an OS. It leaves the firmware (ExitBootServices) and starts the
 * application processors itself, with INIT-SIPI-SIPI through the local APIC
 * and a real-mode trampoline below 1 MiB (SDM vol. 3A 8.4.4 MP
 * initialization, 10.6.1 ICR). Each AP checks from its own code that it is
 * a virtual processor of the partition: CPUID 0x40000000 "Microsoft Hv"
 * (TLFS 2.4.1) and its VP index (TLFS 7.8.1). Then one AP is sent
 * INIT-SIPI-SIPI again and must come back: under hv.efi the INIT and SIPI
 * are delivered in software (docs/smp.md), and must work more than once.
 * Where the CPU has x2APIC, the BSP then switches to x2APIC mode, as an OS
 * does, and restarts it once more through the ICR MSR (hv.efi's other
 * interception path).
 *
 * Before ExitBootServices: the hypervisor's presence and privileges, the
 * APIC IDs from the firmware's MP services (GetProcessorInfo), the xAPIC
 * base, the TSC frequency (HV_X64_MSR_TSC_FREQUENCY if granted, TLFS 12.4;
 * else calibrated against the firmware's Stall, the ACPI PM timer under
 * OVMF), a page below 1 MiB for the trampoline (its page number is the
 * SIPI vector), the stacks and the results area. After it: no firmware
 * calls, interrupts off, COM1 output only, and RT->ResetSystem at the end.
 *
 * Output (COM1), as the main payload's (payload.h):
 *   APBOOT START
 *   PASS: <name> | FAIL: <name>: <detail>       (and "  info: ..." lines)
 *   APBOOT DONE: N passed, M failed
 * then power off.
 */
#include "apboot.h"

#define AP_TIMEOUT_US 3000000u /* per AP */

/* EFI_MP_SERVICES_PROTOCOL (PI spec vol. 2, 13.4). */
static EFI_GUID mp_guid = { 0x3fdda605, 0xa76e, 0x4f46,
			    { 0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08 } };
struct mp_services {
	void *get_number_of_processors, *get_processor_info, *startup_all_aps,
		*startup_this_ap, *switch_bsp, *enable_disable_ap, *who_am_i;
};
/* EFI_PROCESSOR_INFORMATION (PI 13.4.3), with room for the extended part. */
struct processor_info {
	uint64_t processor_id; /* the APIC ID */
	uint32_t status;       /* bit 0 BSP, bit 1 enabled, bit 2 healthy */
	uint32_t package, core, thread;
	uint8_t extended[64];
};

static struct {
	uint32_t n;                   /* processors, BSP included */
	uint32_t n_ap;
	uint32_t bsp_apic;
	uint32_t ap_apic[MAX_CPUS];   /* APs in MP services order */
	int hv;                       /* BSP sees "Microsoft Hv" */
	uint32_t privileges;          /* CPUID 0x40000003 EAX */
	uint64_t apic_base;
	uint64_t tramp;               /* physical address of the page */
	uint8_t *stacks;
	uint32_t restarts;            /* of the first AP, that came back */
} S;

static EFI_STATUS bs_alloc(EFI_ALLOCATE_TYPE type, EFI_MEMORY_TYPE mt, UINTN pages,
			   EFI_PHYSICAL_ADDRESS *pa)
{
	return uefi_call_wrapper(BS->AllocatePages, 4, type, mt, pages, pa);
}

/* The processors, from MP services: APs are those without the BSP bit. */
static void find_processors(void)
{
	struct mp_services *mp = NULL;
	UINTN n = 0, enabled = 0;
	EFI_STATUS st = uefi_call_wrapper(BS->LocateProtocol, 3, &mp_guid, NULL, (void **)&mp);
	if (!EFI_ERROR(st) && mp)
		st = uefi_call_wrapper(mp->get_number_of_processors, 3, mp, &n, &enabled);
	S.n = 1;
	S.bsp_apic = apic_id_now();
	if (!check("apboot.mp_services", !EFI_ERROR(st) && mp && n >= 1 && n <= MAX_CPUS,
		   "LocateProtocol/GetNumberOfProcessors: status 0x%lx, %lu processors",
		   (unsigned long)st, (unsigned long)n))
		return;
	for (UINTN i = 0; i < n; i++) {
		struct processor_info pi = { 0 };
		st = uefi_call_wrapper(mp->get_processor_info, 3, mp, i, &pi);
		if (EFI_ERROR(st)) {
			check("apboot.get_processor_info", 0, "processor %lu: status 0x%lx",
			      (unsigned long)i, (unsigned long)st);
			continue;
		}
		ser_printf("  info: processor %lu: APIC ID %lu, status 0x%x\n", (unsigned long)i,
			   (unsigned long)pi.processor_id, pi.status);
		if (pi.status & 1) {
			S.bsp_apic = (uint32_t)pi.processor_id;
		} else if (pi.status & 2) {
			S.ap_apic[S.n_ap++] = (uint32_t)pi.processor_id;
			S.n++;
		}
	}
	check("apboot.bsp_apic_id", S.bsp_apic == apic_id_now(),
	      "MP services says the BSP is APIC %u, CPUID says %u", S.bsp_apic, apic_id_now());
}

/* TSC ticks per second: the hypervisor's HV_X64_MSR_TSC_FREQUENCY (TLFS
 * 12.4) if AccessFrequencyMsrs is granted; else 10 ms of BS->Stall. */
static void calibrate_tsc(void)
{
	uint64_t t0 = rdtsc();
	uefi_call_wrapper(BS->Stall, 1, 10000);
	uint64_t measured = (rdtsc() - t0) * 100;
	uint64_t hz = measured;
	const char *src = "10 ms of BS->Stall";
	if (S.privileges & PRIV_FREQUENCY) {
		hz = rdmsr(MSR_TSC_FREQUENCY);
		src = "HV_X64_MSR_TSC_FREQUENCY";
	}
	ser_printf("  info: TSC %lu Hz from %s (Stall measured %lu Hz)\n", (unsigned long)hz, src,
		   (unsigned long)measured);
	check("apboot.tsc_frequency", hz >= 1000000ull && hz <= 100000000000ull,
	      "%lu Hz from %s", (unsigned long)hz, src);
	tsc_set_hz(hz);
}

static uint64_t seg_desc(uint64_t flags)
{
	return 0xFFFFull | flags; /* base 0, limit 0xFFFFF (G = 1) */
}

/* Trampoline page, stacks, results; the data area the trampoline reads. */
static int prepare(void)
{
	EFI_PHYSICAL_ADDRESS pa = 0xFFFFF;
	EFI_STATUS st = bs_alloc(AllocateMaxAddress, EfiLoaderCode, 1, &pa);
	if (!check("apboot.trampoline_page", !EFI_ERROR(st) && pa && pa < 0x100000 && !(pa & 0xFFF),
		   "AllocatePages(MaxAddress 0xFFFFF): status 0x%lx, address 0x%lx",
		   (unsigned long)st, (unsigned long)pa))
		return -1;
	S.tramp = pa;
	UINTN bytes = sizeof(struct results) + (UINTN)MAX_CPUS * AP_STACK_SIZE;
	EFI_PHYSICAL_ADDRESS area = 0;
	st = bs_alloc(AllocateAnyPages, EfiLoaderData, (bytes + 4095) / 4096, &area);
	if (!check("apboot.results_area", !EFI_ERROR(st), "AllocatePages(%lu bytes): status 0x%lx",
		   (unsigned long)bytes, (unsigned long)st))
		return -1;
	for (UINTN i = 0; i < bytes; i++)
		((uint8_t *)(uintptr_t)area)[i] = 0;
	g_results = (struct results *)(uintptr_t)area;
	S.stacks = (uint8_t *)(uintptr_t)area + ((sizeof(struct results) + 15) & ~15ul);

	uint8_t *page = (uint8_t *)(uintptr_t)pa;
	uint32_t size = (uint32_t)(ap_tramp_end - ap_tramp);
	if (!check("apboot.trampoline_fits", size <= TRAMP_DATA, "%u bytes of code", size))
		return -1;
	for (uint32_t i = 0; i < 4096; i++)
		page[i] = i < size ? (uint8_t)ap_tramp[i] : 0;
	struct tramp_data *d = (struct tramp_data *)(page + TRAMP_DATA);
	uint32_t b = (uint32_t)pa;
	d->gdt[1] = seg_desc(0x00CF9Aull << 40); /* 0x08: 32-bit code, flat */
	d->gdt[2] = seg_desc(0x00CF92ull << 40); /* 0x10: data, flat */
	d->gdt[3] = seg_desc(0x00AF9Aull << 40); /* 0x18: 64-bit code (L = 1) */
	d->gdtr = (struct dtr32){ sizeof(d->gdt) - 1, b + TRAMP_DATA };
	d->ptr_pm32 = (struct farptr32){ b + (uint32_t)(ap_tramp_pm32 - ap_tramp), 0x08 };
	d->ptr_64 = (struct farptr32){ b + (uint32_t)(ap_tramp_64 - ap_tramp), 0x18 };
	for (unsigned int v = 0; v < 32; v++) {
		uint64_t a = b + (uint64_t)(ap_tramp_stubs - ap_tramp) + 16 * v;
		d->idt[v] = (struct idt_gate){ (uint16_t)a, 0x18, 0, 0x8E, (uint16_t)(a >> 16),
					       (uint32_t)(a >> 32), 0 };
	}
	d->idtr = (struct dtr64){ sizeof(d->idt) - 1, b + TRAMP_DATA + offsetof(struct tramp_data, idt) };

	/* The BSP's paging, as it is: OVMF identity-maps all memory. CR3 is
	 * loaded in 32-bit mode, so it must be below 4 GiB; EFER.NXE because
	 * the tables use the XD bit, CR4.LA57 if they have 5 levels. */
	uint64_t cr3, cr4;
	__asm__ volatile("mov %%cr3, %0; mov %%cr4, %1" : "=r"(cr3), "=r"(cr4));
	if (!check("apboot.cr3_below_4g", cr3 < (1ull << 32), "CR3 0x%lx", (unsigned long)cr3))
		return -1;
	d->cr3 = cr3;
	d->cr4_set = CR4_PAE | (cr4 & CR4_LA57);
	d->efer_set = EFER_LME | (rdmsr(MSR_EFER) & EFER_NXE);
	d->entry = (uint64_t)(uintptr_t)ap_main;
	g_tramp = d;
	ser_printf("  info: trampoline at 0x%lx (SIPI vector 0x%lx), %u bytes; CR3 0x%lx\n",
		   (unsigned long)pa, (unsigned long)(pa >> 12), size, (unsigned long)cr3);
	return 0;
}

/* GetMemoryMap + ExitBootServices, again while the map key is stale
 * (EFI_INVALID_PARAMETER, UEFI 2.9 7.4). The buffer is allocated first:
 * after a failed ExitBootServices only these two calls are allowed. */
static int exit_boot_services(EFI_HANDLE image)
{
	UINTN size = 0, key = 0, dsize = 0;
	UINT32 dver = 0;
	EFI_STATUS st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, NULL, &key, &dsize, &dver);
	UINTN cap = size + 64 * (dsize ? dsize : 48) + 4096;
	void *buf = NULL;
	st = uefi_call_wrapper(BS->AllocatePool, 3, EfiLoaderData, cap, &buf);
	if (!check("apboot.memory_map_buffer", !EFI_ERROR(st) && buf, "AllocatePool: 0x%lx",
		   (unsigned long)st))
		return -1;
	int tries = 0;
	do {
		size = cap;
		st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, buf, &key, &dsize, &dver);
		if (EFI_ERROR(st))
			break;
		st = uefi_call_wrapper(BS->ExitBootServices, 2, image, key);
	} while (st == EFI_INVALID_PARAMETER && ++tries < 8);
	if (!check("apboot.exit_boot_services", !EFI_ERROR(st), "status 0x%lx after %d retries",
		   (unsigned long)st, tries))
		return -1;
	__asm__ volatile("cli");
	ser_printf("  info: ExitBootServices done (%d retries); interrupts off\n", tries);
	return 0;
}

/* INIT-SIPI-SIPI to AP k; wait for its ap_main. Returns microseconds taken,
 * or -1 on timeout. */
static int64_t start_ap(uint32_t k)
{
	struct ap_result *r = &g_results->ap[k];
	uint32_t runs0 = r->runs;
	g_tramp->index = k;
	g_tramp->stack = (uint64_t)(uintptr_t)(S.stacks + (uint64_t)(k + 1) * AP_STACK_SIZE);
	g_tramp->stage = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint64_t t0 = rdtsc();
	if (ipi_init_sipi_sipi(S.ap_apic[k], (uint8_t)(S.tramp >> 12)))
		ser_printf("  info: APIC %u: the ICR stayed busy\n", S.ap_apic[k]);
	uint64_t limit = tsc_hz() / 1000000u * AP_TIMEOUT_US;
	while (__atomic_load_n(&r->runs, __ATOMIC_ACQUIRE) == runs0) {
		if (rdtsc() - t0 > limit)
			return -1;
		__asm__ volatile("pause");
	}
	return (int64_t)((rdtsc() - t0) / (tsc_hz() / 1000000u ? tsc_hz() / 1000000u : 1));
}

static void report_stuck(const char *name, uint32_t k)
{
	struct tramp_data *d = g_tramp;
	if (d->exc_count)
		check(name, 0, "APIC %u: no ap_main within %u ms; an AP took exception %s (vector %lu) "
		      "error 0x%lx at RIP 0x%lx, CR2 0x%lx (APIC %lu)", S.ap_apic[k],
		      AP_TIMEOUT_US / 1000, vec_name((int)d->exc_vec), (unsigned long)d->exc_vec,
		      (unsigned long)d->exc_err, (unsigned long)d->exc_rip, (unsigned long)d->exc_cr2,
		      (unsigned long)d->exc_apic);
	else
		check(name, 0, "APIC %u: no ap_main within %u ms; trampoline stage %u (0: never "
		      "started, 1 real mode, 2 protected mode, 3 64-bit, 4 in C)", S.ap_apic[k],
		      AP_TIMEOUT_US / 1000, d->stage);
}

/* What AP k reported, checked. */
static void check_ap(const char *pre, uint32_t k, uint64_t *used)
{
	struct ap_result *r = &g_results->ap[k];
	uint32_t a = S.ap_apic[k];
	char name[64];

	fmt_name(name, sizeof(name), "%s.apic%u.is_target", pre, a);
	check(name, r->apic_id == a, "the AP that answered has APIC ID %u", r->apic_id);
	fmt_name(name, sizeof(name), "%s.apic%u.sees_hypervisor", pre, a);
	check(name, r->vendor_ok, "CPUID 0x40000000 on the AP is \"%c%c%c%c%c%c%c%c%c%c%c%c\"",
	      r->vendor[0], r->vendor[0] >> 8, r->vendor[0] >> 16, r->vendor[0] >> 24,
	      r->vendor[1], r->vendor[1] >> 8, r->vendor[1] >> 16, r->vendor[1] >> 24,
	      r->vendor[2], r->vendor[2] >> 8, r->vendor[2] >> 16, r->vendor[2] >> 24);
	uint64_t vi = r->vp_index;
	fmt_name(name, sizeof(name), "%s.apic%u.vp_index", pre, a);
	if (used && !r->vp_index_ok)
		check(name, 0, "no AccessVpIndex (CPUID 0x40000003 EAX 0x%x)", r->privileges);
	else if (used)
		check(name, vi >= 1 && vi < S.n && !(*used & (1ull << vi)),
		      "VP index %lu (processors %u, used 0x%lx: 0 is the BSP's)", (unsigned long)vi,
		      S.n, (unsigned long)*used);
	if (used && r->vp_index_ok && vi < 64)
		*used |= 1ull << vi;
	/* SDM 9.1.4: after INIT, EDX holds the processor signature. */
	fmt_name(name, sizeof(name), "%s.apic%u.init_edx", pre, a);
	check(name, r->init_edx == r->cpuid1_eax, "EDX at the SIPI entry 0x%x, CPUID.1:EAX 0x%x",
	      r->init_edx, r->cpuid1_eax);
	ser_printf("  info: APIC %u: VP index %ld, CR0 0x%x at the SIPI entry\n", a,
		   r->vp_index_ok ? (int64_t)vi : -1l, r->init_cr0);
}

static void start_all(void)
{
	uint64_t used = 1; /* VP 0: the BSP */
	char name[64];

	for (uint32_t k = 0; k < S.n_ap; k++) {
		int64_t us = start_ap(k);
		fmt_name(name, sizeof(name), "apboot.apic%u.started", S.ap_apic[k]);
		if (us < 0) {
			report_stuck(name, k);
			continue;
		}
		check(name, 1, "ok");
		ser_printf("  info: APIC %u: ap_main after %ld us\n", S.ap_apic[k], (long)us);
		check_ap("apboot", k, &used);
	}
}

/* INIT-SIPI-SIPI again to the first AP: it must come back, virtualized,
 * with the same VP index; the others must stay where they are. `pre`
 * names the checks. */
static void restart_first(const char *pre)
{
	struct ap_result *r = &g_results->ap[0];
	if (!r->runs)
		return; /* it never started: already a FAIL */
	uint64_t vi = r->vp_index;
	uint32_t runs0 = r->runs, arrivals0 = g_results->arrivals;
	char name[64];
	uint32_t a = S.ap_apic[0];

	int64_t us = start_ap(0);
	fmt_name(name, sizeof(name), "%s.apic%u.came_back", pre, a);
	if (us < 0) {
		report_stuck(name, 0);
		return;
	}
	S.restarts++;
	check(name, r->runs == runs0 + 1 && g_results->arrivals == arrivals0 + 1,
	      "runs %u (before %u), arrivals %u (before %u)", r->runs, runs0, g_results->arrivals,
	      arrivals0);
	ser_printf("  info: APIC %u: ap_main again after %ld us\n", a, (long)us);
	check_ap(pre, 0, NULL);
	fmt_name(name, sizeof(name), "%s.apic%u.same_vp_index", pre, a);
	check(name, r->vp_index_ok && r->vp_index == vi, "VP index %lu, was %lu",
	      (unsigned long)r->vp_index, (unsigned long)vi);
	uint32_t moved = 0;
	for (uint32_t k = 1; k < S.n_ap; k++)
		if (g_results->ap[k].runs != 1)
			moved++;
	fmt_name(name, sizeof(name), "%s.others_stay_parked", pre);
	check(name, moved == 0, "%u other APs ran ap_main again or never", moved);
}

/* As an OS does where the CPU has one (CPUID.1:ECX[21]), switch the BSP's
 * local APIC to x2APIC mode (SDM 10.12.1: IA32_APIC_BASE EXTD, bit 10) and
 * restart the first AP once more, now through the ICR MSR 0x830 (SDM
 * 10.12.9), which hv.efi intercepts in its MSR bitmap. */
static void restart_first_x2apic(void)
{
	if (ipi_x2apic()) {
		ser_printf("  info: the BSP was in x2APIC mode already\n");
		return;
	}
	if (!(cpuid(1, 0).ecx & (1u << 21))) {
		ser_printf("  info: no x2APIC (CPUID.1:ECX[21] clear): no x2APIC restart\n");
		return;
	}
	uint64_t base = rdmsr(MSR_APIC_BASE) | (1u << 10);
	wrmsr(MSR_APIC_BASE, base);
	base = rdmsr(MSR_APIC_BASE);
	if (!check("apboot.x2apic.enabled", (base & (1u << 10)) != 0, "IA32_APIC_BASE 0x%lx",
		   (unsigned long)base))
		return;
	ipi_setup(base);
	restart_first("apboot.x2apic.restart");
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	struct cpuid_regs v;

	InitializeLib(image, systab);
	ser_puts("\r\nAPBOOT START\n");

	/* ---- before ExitBootServices: record, allocate, copy ---- */
	S.hv = hv_vendor_ok(&v);
	check("apboot.bsp.sees_hypervisor", S.hv,
	      "CPUID 0x40000000: EBX ECX EDX 0x%x 0x%x 0x%x, not \"Microsoft Hv\"", v.ebx, v.ecx,
	      v.edx);
	if (S.hv)
		S.privileges = cpuid(0x40000003u, 0).eax;
	find_processors();
	S.apic_base = rdmsr(MSR_APIC_BASE);
	ser_printf("  info: IA32_APIC_BASE 0x%lx (%s mode), %u processors\n",
		   (unsigned long)S.apic_base, (S.apic_base & (1u << 10)) ? "x2APIC" : "xAPIC", S.n);
	check("apboot.apic_enabled", (S.apic_base & (1u << 11)) && (S.apic_base & (1u << 8)),
	      "IA32_APIC_BASE 0x%lx: not enabled, or not the BSP", (unsigned long)S.apic_base);
	calibrate_tsc();
	if (prepare() || exit_boot_services(image))
		goto done;

	/* ---- after ExitBootServices: this program owns the machine ---- */
	ipi_setup(S.apic_base);
	if (S.n_ap == 0)
		ser_printf("  info: one processor: no AP to start\n");
	start_all();
	if (S.n_ap) {
		restart_first("apboot.restart");
		restart_first_x2apic();
	}

	uint64_t vp0 = ~0ull;
	if (S.privileges & PRIV_VP_INDEX)
		vp0 = rdmsr(MSR_VP_INDEX);
	check("apboot.bsp.vp_index", vp0 == 0, "VP index 0x%lx (AccessVpIndex %s)",
	      (unsigned long)vp0, (S.privileges & PRIV_VP_INDEX) ? "granted" : "not granted");
	uint32_t started = 0;
	for (uint32_t k = 0; k < S.n_ap; k++)
		started += g_results->ap[k].runs != 0;
	check("apboot.all_aps_started", started == S.n_ap, "%u of %u APs reached ap_main", started,
	      S.n_ap);
	uint32_t want = started + S.restarts;
	check("apboot.arrivals", g_results->arrivals == want, "counter %u, expected %u",
	      g_results->arrivals, want);
	check("apboot.no_ap_exception", g_tramp->exc_count == 0,
	      "%u: first %s (vector %lu) error 0x%lx at RIP 0x%lx on APIC %lu", g_tramp->exc_count,
	      vec_name((int)g_tramp->exc_vec), (unsigned long)g_tramp->exc_vec,
	      (unsigned long)g_tramp->exc_err, (unsigned long)g_tramp->exc_rip,
	      (unsigned long)g_tramp->exc_apic);
done:
	ser_printf("APBOOT DONE: %u passed, %u failed\n", g_passed, g_failed);
	payload_poweroff();
}
