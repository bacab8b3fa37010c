/*
 * efi_main.c - the hv.efi loader. Runs as an ordinary UEFI application:
 * reads \EFI\hv\hv.cfg, copies the resident core into reserved memory,
 * builds the host page tables, captures the firmware's CPU state and hands
 * it to the core (boot/launch.asm), which launches it as the guest. Back
 * here, now virtualized, it publishes the debug info table and starts the
 * next boot stage (guest=) with its load options (guest_args=).
 * See docs/architecture.md "Boot flow".
 */
#include "efi_util.h"
#include "boot_info.h"
#include "config.h"
#include "hv_abi.h"
#include "log.h"
#include "serial.h"
#include "pool.h"
#include "slat.h"
#include "x86.h"

/* Resident memory beyond the core image: page tables and MMIO mappings,
 * plus per logical processor its host stack, VMCB/VMCS, GDT/TSS and IST
 * stacks, VP structure and VP assist page, and room for the contexts a VP
 * adds at run time: a VTL 1 context (VSM, TLFS 15: 32 KiB on SVM, 24 KiB
 * on VMX with its VP assist page) next to VTL 0's 64 KiB (SVM) per VP,
 * and nested L2 contexts (docs/performance.md "Footprint"). */
#define RESIDENT_POOL_BYTES (2ull << 20)
#define RESIDENT_PER_CPU_BYTES (192ull << 10)
/* nested=on: per processor, the L2 context (VMCB and maps, 7 pages), the
 * nested state and 64 shadow table pages (nested/nested.c), and room. */
#define NESTED_PER_CPU_BYTES (320ull << 10)
#define HOST_STACK_PAGES 4

extern u8 core_blob_start[], core_blob_end[];
u64 hv_launch(struct guest_boot_state *gs, u64 entry, u64 host_cr3, u64 host_rsp,
	      struct boot_info *bi, u64 cpu);
void hv_abort(struct guest_boot_state *gs, u64 status);
void ap_procedure_thunk(void *arg);
void ap_procedure(struct boot_info *bi);

static EFI_GUID hv_info_guid = HV_INFO_TABLE_GUID;
static EFI_GUID loaded_image_guid = LOADED_IMAGE_PROTOCOL;

/* The log's CPU prefix: "ldr" (lib/log.c). */
static int loader_cpu_id(void) { return -1; }

static void loader_log_init(const struct hv_config *cfg)
{
	if (cfg->serial_port)
		serial_init(cfg->serial_port);
	log_init(cfg->serial_port, cfg->log_level, serial_write, loader_cpu_id);
}

/* memset/memcpy come from gnu-efi's libefi (init.o). */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

static void seg_from_gdt(struct seg_state *s, u16 sel, const struct dtr_state *gdtr, bool system)
{
	s->sel = sel;
	s->attr = 0;
	s->limit = 0;
	s->base = 0;
	if ((sel & ~3u) == 0 || (sel & 4) || (u32)(sel & ~7u) + 7 > gdtr->limit)
		return; /* null or LDT selector: unusable */
	const u8 *e = (const u8 *)(uintptr_t)(gdtr->base + (sel & ~7u));
	u64 d = *(const u64 *)e;
	s->limit = (u32)((d & 0xffff) | ((d >> 32) & 0xf0000));
	if (d & BIT(55))
		s->limit = (s->limit << 12) | 0xfff;
	s->base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000);
	if (system)
		s->base |= (u64)(*(const u32 *)(e + 8)) << 32;
	s->attr = (u16)((d >> 40) & 0xf0ff);
}

/* Everything but RIP/RSP/RFLAGS, which launch.asm records at the switch. */
static void capture_guest_state(struct guest_boot_state *g)
{
	g->cr0 = read_cr0();
	g->cr2 = read_cr2();
	g->cr3 = read_cr3();
	g->cr4 = read_cr4();
	__asm__ volatile("sgdt %0" : "=m"(g->gdtr));
	__asm__ volatile("sidt %0" : "=m"(g->idtr));
	__asm__ volatile("mov %%dr6, %0" : "=r"(g->dr6));
	__asm__ volatile("mov %%dr7, %0" : "=r"(g->dr7));
	seg_from_gdt(&g->seg[SEG_ES], read_es(), &g->gdtr, false);
	seg_from_gdt(&g->seg[SEG_CS], read_cs(), &g->gdtr, false);
	seg_from_gdt(&g->seg[SEG_SS], read_ss(), &g->gdtr, false);
	seg_from_gdt(&g->seg[SEG_DS], read_ds(), &g->gdtr, false);
	seg_from_gdt(&g->seg[SEG_FS], read_fs(), &g->gdtr, false);
	seg_from_gdt(&g->seg[SEG_GS], read_gs(), &g->gdtr, false);
	seg_from_gdt(&g->seg[SEG_LDTR], read_ldtr(), &g->gdtr, true);
	seg_from_gdt(&g->seg[SEG_TR], read_tr(), &g->gdtr, true);
	g->seg[SEG_FS].base = rdmsr(MSR_FS_BASE);
	g->seg[SEG_GS].base = rdmsr(MSR_GS_BASE);
	g->efer = rdmsr(MSR_EFER);
	g->pat = rdmsr(MSR_IA32_PAT);
	g->debugctl = rdmsr(MSR_IA32_DEBUGCTL);
	g->star = rdmsr(MSR_STAR);
	g->lstar = rdmsr(MSR_LSTAR);
	g->cstar = rdmsr(MSR_CSTAR);
	g->sfmask = rdmsr(MSR_SFMASK);
	g->kernel_gs_base = rdmsr(MSR_KERNEL_GS_BASE);
	g->sysenter_cs = rdmsr(MSR_IA32_SYSENTER_CS);
	g->sysenter_esp = rdmsr(MSR_IA32_SYSENTER_ESP);
	g->sysenter_eip = rdmsr(MSR_IA32_SYSENTER_EIP);
}

/* The backend the core will pick (svm or vmx, by vendor: a CPU has at
 * most one of them), checked here for a clear message. */
static const char *g_backend = "none";
static u32 g_vendor;

#define MSR_IA32_VMX_PROCBASED_CTLS 0x482u
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48bu

/* Intel: VMX enabled (IA32_FEATURE_CONTROL unlocked, or locked with VMXON
 * outside SMX: SDM 24.7), secondary controls with EPT and unrestricted
 * guest (SDM A.3.2, A.3.3: allowed-1 settings in the high halves). */
static const char *intel_vmx_support(void)
{
	u32 a, b, c, d;
	cpuid_count(1, 0, &a, &b, &c, &d);
	if (!(c & BIT(5)))
		return "Intel CPU without VMX";
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if ((fc & BIT(0)) && !(fc & BIT(2)))
		return "VMX disabled by the firmware (IA32_FEATURE_CONTROL locked)";
	if (!(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) & BIT(32 + 31)))
		return "Intel CPU without VMX secondary controls";
	u64 p2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
	if (!(p2 & BIT(32 + 1)))
		return "Intel CPU without EPT";
	if (!(p2 & BIT(32 + 7)))
		return "Intel CPU without VMX unrestricted guest";
	return NULL;
}

static const char *cpu_virt_support(void)
{
	u32 a, b, c, d;
	cpuid_count(0, 0, &a, &b, &c, &d);
	bool amd = b == 0x68747541;   /* "Auth" */
	bool intel = b == 0x756e6547; /* "Genu" */
	cpuid_count(0x80000000, 0, &a, &b, &c, &d);
	u32 max_ext = a;
	if (amd && max_ext >= 0x8000000a) {
		cpuid_count(0x80000001, 0, &a, &b, &c, &d);
		if (!(c & BIT(2)))
			return "AMD CPU without SVM";
		cpuid_count(0x8000000a, 0, &a, &b, &c, &d);
		if (!(d & BIT(0)))
			return "AMD CPU without nested paging";
		g_backend = "svm";
		g_vendor = HV_INFO_VENDOR_SVM;
		return NULL;
	}
	if (intel) {
		const char *why = intel_vmx_support();
		if (why)
			return why;
		g_backend = "vmx";
		g_vendor = HV_INFO_VENDOR_VMX;
		return NULL;
	}
	return "no supported virtualization (this build needs AMD SVM with NPT or Intel VMX "
	       "with EPT and unrestricted guest)";
}

static u32 phys_addr_bits(void)
{
	u32 a, b, c, d;
	cpuid_count(0x80000000, 0, &a, &b, &c, &d);
	if (a < 0x80000008)
		return 36;
	cpuid_count(0x80000008, 0, &a, &b, &c, &d);
	return a & 0xff;
}

/* Local APIC timer registers (SDM 11.5.4): xAPIC MMIO offsets; in x2APIC
 * mode MSR 0x800 + offset / 16. */
#define APIC_LVT_TIMER 0x320
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR 0x3e0

static u32 apic_rd(u64 base, bool x2, u32 reg)
{
	return x2 ? (u32)rdmsr(0x800 + reg / 16) : *(volatile u32 *)(uintptr_t)(base + reg);
}

static void apic_wr(u64 base, bool x2, u32 reg, u32 v)
{
	if (x2)
		wrmsr(0x800 + reg / 16, v);
	else
		*(volatile u32 *)(uintptr_t)(base + reg) = v;
}

#define PM_TIMER_HZ 3579545ull /* ACPI 4.8.3.3 */

/* Measure the TSC and the local APIC timer: five 10 ms windows of the
 * firmware's Stall, each timed by the ACPI PM timer read right next to the
 * TSC (the FADT's PM_TMR_BLK), so neither the firmware's timer code nor a
 * descheduled emulator thread distorts the ratio; the median window wins.
 * Without a PM timer (OVMF under Bochs has no ACPI tables) the windows are
 * taken at their nominal length and the shortest wins (a delay only ever
 * adds ticks). The APIC timer is counted in the same windows; it runs
 * masked, one-shot, divide-by-1 and its registers are restored after (a
 * firmware using it sees one period restart). */
static void measure_clocks(struct boot_info *bi)
{
	u64 apic_base_msr = rdmsr(MSR_IA32_APIC_BASE);
	bool on = apic_base_msr & BIT(11), x2 = apic_base_msr & BIT(10);
	u64 base = apic_base_msr & ~0xfffull & ((1ull << 52) - 1);
	u64 flags = read_rflags();
	u32 lvt = 0, tmict = 0, tdcr = 0, pm_mask = bi->pm_tmr_32bit ? 0xffffffff : 0xffffff;
	u64 tsc[5], apic[5];

	__asm__ volatile("cli");
	if (on) {
		lvt = apic_rd(base, x2, APIC_LVT_TIMER);
		tmict = apic_rd(base, x2, APIC_TMICT);
		tdcr = apic_rd(base, x2, APIC_TDCR);
		apic_wr(base, x2, APIC_LVT_TIMER, BIT(16)); /* masked, one-shot */
		apic_wr(base, x2, APIC_TDCR, 0xb);          /* divide by 1 */
	}
	for (int i = 0; i < 5; i++) {
		if (on)
			apic_wr(base, x2, APIC_TMICT, 0xffffffff);
		u32 c0 = on ? apic_rd(base, x2, APIC_TMCCT) : 0;
		u32 p0 = bi->pm_tmr_port ? inl(bi->pm_tmr_port) : 0;
		u64 t0 = rdtsc();
		uefi_call_wrapper(BS->Stall, 1, 10000); /* 10 ms */
		u64 t1 = rdtsc();
		u32 p1 = bi->pm_tmr_port ? inl(bi->pm_tmr_port) : 0;
		u32 c1 = on ? apic_rd(base, x2, APIC_TMCCT) : 0;
		u64 pm = (p1 - p0) & pm_mask;
		/* Rates in Hz; a timer that did not move (or wrapped): 0. */
		u64 apic_ticks = on && c1 && c1 < c0 ? (u64)(c0 - c1) : 0;
		tsc[i] = pm ? (t1 - t0) * PM_TIMER_HZ / pm : (t1 - t0) * 100;
		apic[i] = pm ? apic_ticks * PM_TIMER_HZ / pm : apic_ticks * 100;
	}
	if (on) {
		apic_wr(base, x2, APIC_TDCR, tdcr);
		apic_wr(base, x2, APIC_LVT_TIMER, lvt);
		apic_wr(base, x2, APIC_TMICT, tmict);
	}
	if (flags & RFLAGS_IF)
		__asm__ volatile("sti");
	/* Sort the windows by TSC rate (insertion sort, 5 entries). */
	for (int i = 1; i < 5; i++)
		for (int j = i; j > 0 && tsc[j] < tsc[j - 1]; j--) {
			u64 t = tsc[j];
			tsc[j] = tsc[j - 1];
			tsc[j - 1] = t;
			t = apic[j];
			apic[j] = apic[j - 1];
			apic[j - 1] = t;
		}
	int pick = bi->pm_tmr_port ? 2 : 0; /* median, or shortest */
	bi->tsc_hz = tsc[pick];
	bi->apic_hz = apic[pick];
}

static bool cpu_invariant_tsc(void)
{
	u32 a, b, c, d;
	cpuid_count(0x80000000, 0, &a, &b, &c, &d);
	if (a < 0x80000007)
		return false;
	cpuid_count(0x80000007, 0, &a, &b, &c, &d);
	return d & BIT(8);
}

static bool cpu_has_1g_pages(void)
{
	u32 a, b, c, d;
	cpuid_count(0x80000001, 0, &a, &b, &c, &d);
	return d & BIT(26);
}

/* What the loader still needs after launch: boot_info itself is resident
 * memory, which the guest (this loader, from then on) can no longer touch.
 * Application processors still run natively when they launch, so they can
 * (ap_procedure). */
static u64 g_resident_base, g_resident_size, g_core_entry;
static struct boot_info *g_bi_addr;
static volatile u64 g_ap_status[BOOT_MAX_CPUS];

/* EFI_MP_SERVICES_PROTOCOL (PI spec vol. 2, 13.4); gnu-efi lacks it. */
static EFI_GUID mp_guid = { 0x3fdda605, 0xa76e, 0x4f46,
			    { 0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08 } };
struct mp_services {
	void *get_number_of_processors, *get_processor_info, *startup_all_aps,
		*startup_this_ap, *switch_bsp, *enable_disable_ap, *who_am_i;
};
static struct mp_services *g_mp;

/* The processors the firmware knows, as (APIC ID) with the BSP first. */
static void discover_cpus(struct boot_info *bi)
{
	UINTN n = 0, enabled = 0, self = 0;
	bi->cpu_count = 1;
	bi->apic_id[0] = cpu_apic_id();
	if (EFI_ERROR(uefi_call_wrapper(BS->LocateProtocol, 3, &mp_guid, NULL, (void **)&g_mp)) ||
	    !g_mp ||
	    EFI_ERROR(uefi_call_wrapper(g_mp->get_number_of_processors, 3, g_mp, &n, &enabled)) ||
	    EFI_ERROR(uefi_call_wrapper(g_mp->who_am_i, 2, g_mp, &self))) {
		g_mp = NULL;
		return;
	}
	for (UINTN i = 0; i < n && bi->cpu_count < BOOT_MAX_CPUS; i++) {
		u64 info[8] = { 0 }; /* EFI_PROCESSOR_INFORMATION: ProcessorId, StatusFlag, ... */
		if (i == self ||
		    EFI_ERROR(uefi_call_wrapper(g_mp->get_processor_info, 3, g_mp, i, info)) ||
		    !(info[1] & 2)) /* PROCESSOR_ENABLED_BIT */
			continue;
		bi->apic_id[bi->cpu_count++] = (u32)info[0];
	}
}

/* Runs on each application processor, natively, through MP services (one
 * at a time): capture this processor's firmware state and hand it to the
 * core, which launches it as this CPU's VP. It returns virtualized. */
void ap_procedure(struct boot_info *bi)
{
	u32 apic = cpu_apic_id();
	for (u32 i = 1; i < bi->cpu_count; i++) {
		if (bi->apic_id[i] != apic)
			continue;
		capture_guest_state(&bi->cpu_guest[i]);
		u64 st = hv_launch(&bi->cpu_guest[i], g_core_entry, bi->host_cr3, bi->host_stack[i],
				   bi, i);
		g_ap_status[i] = st ? st : ~0ull; /* ~0: launched */
		return;
	}
}

static void launch_aps(u32 cpus)
{
	if (!g_mp || cpus < 2)
		return;
	EFI_STATUS st = uefi_call_wrapper(g_mp->startup_all_aps, 7, g_mp, ap_procedure_thunk, TRUE,
					  NULL, 0, g_bi_addr, NULL);
	u32 ok = 1;
	for (u32 i = 1; i < cpus; i++)
		ok += g_ap_status[i] == ~0ull;
	if (EFI_ERROR(st) || ok != cpus)
		LOGE("hypervisor launched on %u of %u processors (MP services status %lx)", ok, cpus,
		     (unsigned long)st);
	else
		LOGI("hypervisor launched on all %u processors", cpus);
}

/* Copy the core, build its boot info and page tables, launch. */
static EFI_STATUS launch_hypervisor(const struct hv_config *cfg)
{
	const char *why = cpu_virt_support();
	if (why) {
		LOGE("cannot launch: %s", why);
		return EFI_UNSUPPORTED;
	}
	const struct core_header *hdr = (const void *)core_blob_start;
	u64 blob_size = (u64)(core_blob_end - core_blob_start);
	if (hdr->magic != CORE_MAGIC || hdr->mem_size < blob_size) {
		LOGE("embedded core image is damaged");
		return EFI_LOAD_ERROR;
	}
	u64 core_pages = ALIGN_UP(hdr->mem_size, PAGE_SIZE) / PAGE_SIZE;
	u64 bi_pages = ALIGN_UP(sizeof(struct boot_info), PAGE_SIZE) / PAGE_SIZE;
	/* Count the processors first: the pool grows with them. */
	static struct boot_info probe;
	discover_cpus(&probe);
	u64 pool_bytes = RESIDENT_POOL_BYTES + probe.cpu_count * RESIDENT_PER_CPU_BYTES +
			 (cfg->nested ? probe.cpu_count * NESTED_PER_CPU_BYTES : 0);
	u64 pages = core_pages + bi_pages + pool_bytes / PAGE_SIZE;
	EFI_PHYSICAL_ADDRESS base = 0;
	/* Reserved memory: the OS leaves it alone after ExitBootServices. */
	EFI_STATUS st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages,
					  EfiReservedMemoryType, pages, &base);
	if (EFI_ERROR(st)) {
		LOGE("cannot allocate %lu resident pages: %lx", (unsigned long)pages, (unsigned long)st);
		return st;
	}
	u8 *res = (u8 *)(uintptr_t)base;
	memset(res, 0, pages * PAGE_SIZE);
	memcpy(res, core_blob_start, blob_size);

	struct boot_info *bi = (void *)(res + core_pages * PAGE_SIZE);
	g_resident_base = base;
	g_resident_size = pages * PAGE_SIZE;
	g_core_entry = hdr->entry;
	g_bi_addr = bi;
	bi->cpu_count = probe.cpu_count;
	for (u32 i = 0; i < probe.cpu_count; i++)
		bi->apic_id[i] = probe.apic_id[i];
	bi->magic = BOOT_INFO_MAGIC;
	bi->abort_fn = (u64)(uintptr_t)hv_abort;
	bi->resident_base = base;
	bi->resident_size = pages * PAGE_SIZE;
	bi->core_phys = base;
	bi->core_size = core_pages * PAGE_SIZE;
	bi->phys_addr_bits = phys_addr_bits();
	bi->log_level = (u32)cfg->log_level;
	bi->serial_port = cfg->serial_port;
	bi->gdb_port = cfg->gdb_port == cfg->serial_port ? 0 : cfg->gdb_port;
	bi->invariant_tsc = cpu_invariant_tsc() || cfg->invariant_tsc;
	bi->nested = cfg->nested;

	struct pool pool;
	pool_init(&pool, base + (core_pages + bi_pages) * PAGE_SIZE, pool_bytes, 0);

	st = efi_fill_memory_map(bi);
	if (EFI_ERROR(st))
		goto fail;
	efi_find_acpi_ports(bi);
	measure_clocks(bi);

	/* Host page tables: all physical memory identity-mapped (the host
	 * reads guest memory and its own pool this way), the core at its
	 * link address. */
	struct slat host;
	st = EFI_OUT_OF_RESOURCES;
	if (slat_init(&host, cpu_has_1g_pages() ? &slat_fmt_host_1g : &slat_fmt_host,
		      pool_alloc_page, &pool) ||
	    slat_map(&host, 0, 0, bi->phys_top, ~0ull) ||
	    slat_map(&host, CORE_VBASE, base, core_pages * PAGE_SIZE, PAGE_SIZE))
		goto fail;
	bi->host_cr3 = host.root;
	for (u32 i = 0; i < bi->cpu_count; i++) {
		u8 *stack = pool_alloc_pages(&pool, HOST_STACK_PAGES);
		if (!stack)
			goto fail;
		bi->host_stack[i] = (u64)(uintptr_t)(stack + HOST_STACK_PAGES * PAGE_SIZE);
	}
	bi->pool_base = pool.base;
	bi->pool_size = pool.size;
	bi->pool_used = pool.used;

	LOGI("resident %lx-%lx (%lu KiB), identity map to %lx, PM1a %x reset %x",
	     (unsigned long)base, (unsigned long)(base + bi->resident_size),
	     (unsigned long)(bi->resident_size >> 10), (unsigned long)bi->phys_top,
	     bi->pm1a_cnt_port, bi->reset_port);
	LOGI("TSC %lu kHz%s, APIC timer %lu kHz (against the %s), %u processor(s)",
	     (unsigned long)(bi->tsc_hz / 1000), bi->invariant_tsc ? " (invariant)" : "",
	     (unsigned long)(bi->apic_hz / 1000), bi->pm_tmr_port ? "ACPI PM timer" : "firmware's Stall",
	     bi->cpu_count);

	u32 cpus = bi->cpu_count;
	capture_guest_state(&bi->guest);
	u64 status = hv_launch(&bi->guest, hdr->entry, bi->host_cr3, bi->host_stack[0], bi, 0);
	if (status == 0) {
		/* Now the guest: bi is out of reach; the APs can still read it. */
		launch_aps(cpus);
		return EFI_SUCCESS;
	}
	LOGE("hypervisor launch failed (status %lx); continuing without it", (unsigned long)status);
	st = EFI_DEVICE_ERROR;
fail:
	g_resident_base = g_resident_size = 0;
	uefi_call_wrapper(BS->FreePages, 2, base, pages);
	return st;
}

static void publish_info_table(void)
{
	struct hv_info_table *t = AllocatePool(sizeof(*t));
	if (!t)
		return;
	t->magic = HV_INFO_MAGIC;
	t->version = HV_INFO_VERSION;
	t->vendor = g_vendor;
	t->resident_base = g_resident_base;
	t->resident_size = g_resident_size;
	uefi_call_wrapper(BS->InstallConfigurationTable, 2, &hv_info_guid, t);
}

static EFI_STATUS start_guest(EFI_HANDLE image, EFI_LOADED_IMAGE *li, const struct hv_config *cfg)
{
	static CHAR16 path[CFG_PATH_MAX], args[CFG_ARGS_MAX];
	EFI_HANDLE child;

	if (!cfg->guest[0]) {
		LOGW("no guest= in hv.cfg: returning to the boot manager");
		return EFI_NOT_FOUND;
	}
	ascii_to_ucs2(path, CFG_PATH_MAX, cfg->guest);
	EFI_DEVICE_PATH *dp = FileDevicePath(li->DeviceHandle, path);
	EFI_STATUS st = dp ? uefi_call_wrapper(BS->LoadImage, 6, FALSE, image, dp, NULL, 0, &child)
			   : EFI_OUT_OF_RESOURCES;
	if (EFI_ERROR(st)) {
		LOGE("guest %s did not load (status %lx): falling back to the next boot option",
		     cfg->guest, (unsigned long)st);
		return st;
	}
	EFI_LOADED_IMAGE *cli;
	if (!EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, child, &loaded_image_guid,
					 (void **)&cli)) &&
	    cfg->guest_args[0]) {
		ascii_to_ucs2(args, CFG_ARGS_MAX, cfg->guest_args);
		cli->LoadOptions = args;
		cli->LoadOptionsSize = (UINT32)(StrLen(args) + 1) * sizeof(CHAR16);
	}
	LOGI("starting guest %s %s", cfg->guest, cfg->guest_args);
	st = uefi_call_wrapper(BS->StartImage, 3, child, NULL, NULL);
	LOGW("guest %s returned (status %lx): falling back to the next boot option", cfg->guest,
	     (unsigned long)st);
	return EFI_ERROR(st) ? st : EFI_ABORTED;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	static struct hv_config cfg;
	static char cmdline[CFG_ARGS_MAX];
	EFI_LOADED_IMAGE *li = NULL;

	InitializeLib(image, systab);
	config_defaults(&cfg);
	loader_log_init(&cfg);
	LOGI("hv.efi %d.%d build %d", HV_VERSION_MAJOR, HV_VERSION_MINOR, HV_VERSION_BUILD);

	uefi_call_wrapper(BS->HandleProtocol, 3, image, &loaded_image_guid, (void **)&li);
	if (!li) {
		LOGE("no loaded-image protocol");
		return EFI_LOAD_ERROR;
	}
	char *text = NULL;
	UINTN size = 0;
	if (!EFI_ERROR(efi_read_file(li->DeviceHandle, L"\\EFI\\hv\\hv.cfg", &text, &size))) {
		config_parse(&cfg, text, size);
		FreePool(text);
	} else {
		LOGW("no \\EFI\\hv\\hv.cfg on the boot volume: using defaults");
	}
	if (li->LoadOptions && li->LoadOptionsSize &&
	    ucs2_to_ascii(cmdline, sizeof(cmdline), li->LoadOptions, li->LoadOptionsSize))
		config_parse_cmdline(&cfg, cmdline, sizeof(cmdline));
	loader_log_init(&cfg);
	if (cfg.errors)
		LOGW("configuration: %d bad item(s), first: %s", cfg.errors, cfg.first_error);

	if (launch_hypervisor(&cfg) == EFI_SUCCESS) {
		LOGI("hv.efi: hypervisor launched (%s)", g_backend);
		publish_info_table();
	}
	return start_guest(image, li, &cfg);
}
