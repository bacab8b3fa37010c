/*
 * checks_tlb.c - the virtual TLB flush hypercalls (TLFS 9.4.2-9.4.5):
 * HvFlushVirtualAddressSpace/List and their Ex forms (HV_VP_SET, TLFS
 * 7.8.7.3-7.8.7.5), memory-based and fast (XMM) forms, and their bad
 * inputs. Also the AP worker that checks_ipi.c shares.
 *
 * The test: a private page-table hierarchy (a copy of the firmware's PML4
 * plus a slot of its own) maps NPAGES test GVAs with 4K PTEs to pages A0..
 * holding markers; pages B0.. hold other markers. Every processor that
 * takes part loads that CR3 with interrupts disabled and reads the GVAs
 * (its TLB now holds A). The BSP rewrites the PTEs to B (through the
 * identity map: no INVLPG, no CR3 load, nothing else that flushes), makes
 * the flush call naming some VPs, and each named VP must read B right
 * after the call returned (TLFS 9.4.2: "by the time control returns back
 * to the caller, the observable effects of all flushes on the specified
 * virtual processors have occurred").
 *
 * The APs run apw_main through the firmware's MP services in non-blocking
 * mode and are driven through shared memory only: between caching and the
 * flush they make no exit of their own (no CPUID, no MSR access), so
 * only the hypervisor's cross-VP flush can drop their stale entries. A
 * control round without the flush shows (info line, not a check) that
 * the emulators keep stale translations while a VP makes no exit, so a
 * remote flush that does not reach the target before the call returns
 * fails "remote_sees_new". The emulators (QEMU TCG, Bochs VMX and SVM)
 * drop every translation, global ones too, at a VM exit or entry: there
 * the local checks cannot fail, and the remote ones prove that the target
 * was made to exit in time, not which flush the backend used. On hardware
 * (ASID/VPID-tagged TLBs) they prove the flush itself; the second pass
 * with global PTEs (CR4.PGE) also catches a flush that keeps globals.
 *
 * Also: an AP's call flushing the BSP (from_ap), every VP flushing every
 * VP at once (concurrent), flushes while the APs are back in the
 * firmware, and the bad inputs (errors).
 */
#include "hcall.h"
#include "px86.h"

#define NPAGES 4
#define MARK_A 0xA1A1A1A100000000ull
#define MARK_B 0xB2B2B2B200000000ull
#define PTE_FLAGS 0x63ull /* P RW A D, not global, supervisor */
#define DIR_FLAGS 0x23ull /* P RW A */
#define PTE_G 0x100ull
#define MAX_VP 64

/* ---- shared with the APs --------------------------------------------------- */
struct apw_slot {
	volatile uint32_t req, ack, op, running;
	volatile uint64_t seen[NPAGES];
	/* APW_CALL: `iters` memory-based calls (ctl, input GPA in), stopping
	 * at the first status other than success; result: the last RAX. */
	volatile uint64_t ctl, in, result;
	volatile uint32_t iters, done;
	volatile uint32_t halt; /* idle in HLT instead of PAUSE (IPI mode) */
	void (*volatile fn)(unsigned int vp); /* APW_FN */
};
static struct apw_slot slots[MAX_VP];
static volatile uint64_t apw_cr3; /* the private CR3 (0: none) */
static volatile uint64_t apw_gva;
/* Global mode: the test PTEs are global (CR4.PGE on), which a CR3 load,
 * and so the CR3 switch of a VM entry or exit, does not flush: only a
 * real flush (INVLPGA, TLB_CONTROL, INVVPID) drops them. */
static volatile int apw_global;
static struct __attribute__((packed)) {
	uint16_t limit;
	uint64_t base;
} apw_idtr;

void apw_main(void *arg);
void apw_thunk(void *arg);

/* In global mode, drop global translations too (toggle CR4.PGE) and
 * leave PGE on. */
static void flush_globals(void)
{
	if (apw_global) {
		uint64_t c4 = read_cr4();
		write_cr4(c4 & ~CR4_PGE);
		write_cr4(c4 | CR4_PGE);
	}
}

/* A memory-based hypercall from an AP: through the hypercall page,
 * without the exception window (an AP has none). */
static uint64_t ap_hypercall(uint64_t ctl, uint64_t in)
{
	register uint64_t r8 __asm__("r8") = 0;
	uint64_t rax, rcx = ctl, rdx = in;
	__asm__ volatile("call *%[page]"
			 : "=a"(rax), "+c"(rcx), "+d"(rdx), "+r"(r8)
			 : [page] "r"(g_hc.p)
			 : "memory", "r9", "r10", "r11", "cc");
	return rax;
}

static void read_gvas(volatile uint64_t *dst)
{
	const volatile uint64_t *g = (const volatile uint64_t *)(uintptr_t)apw_gva;
	for (unsigned int i = 0; i < NPAGES; i++)
		dst[i] = g[i * (PAGE / 8)];
}

/*
 * On each AP (guest code, no firmware calls): find its slot by VP index
 * (the one exit, before anything is cached), load the private CR3 with
 * interrupts disabled, then serve the BSP's requests. Between requests it
 * keeps reading the test GVAs, which keeps their translations in its TLB.
 */
void apw_main(void *arg)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_VP_INDEX));
	if (hi || lo >= MAX_VP)
		return;
	struct apw_slot *s = &slots[lo];
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} fw_idt;
	uint64_t flags = irq_save(), cr3 = read_cr3(), cr4 = read_cr4();
	__asm__ volatile("sidt %0" : "=m"(fw_idt));
	if (apw_cr3)
		write_cr3(apw_cr3);
	__atomic_store_n(&s->running, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint32_t req = __atomic_load_n(&s->req, __ATOMIC_ACQUIRE);
		if (req == s->ack) {
			if (apw_cr3) {
				const volatile uint64_t *g = (const volatile uint64_t *)(uintptr_t)apw_gva;
				for (unsigned int i = 0; i < NPAGES; i++)
					(void)g[i * (PAGE / 8)];
			}
			if (s->halt)
				__asm__ volatile("hlt" : : : "memory");
			else
				__asm__ volatile("pause");
			continue;
		}
		uint32_t op = s->op;
		switch (op) {
		case APW_RELOAD:
			if (apw_cr3)
				write_cr3(apw_cr3);
			flush_globals();
			/* fall through */
		case APW_READ:
			if (apw_cr3)
				read_gvas(s->seen);
			break;
		case APW_IPI_ON:
			__asm__ volatile("lidt %0; sti" : : "m"(apw_idtr) : "memory");
			break;
		case APW_IPI_OFF:
			__asm__ volatile("cli; lidt %0" : : "m"(fw_idt) : "memory");
			break;
		case APW_CALL:
			s->done = 0;
			for (uint32_t k = 0; k < s->iters; k++) {
				s->result = ap_hypercall(s->ctl, s->in);
				s->done = k + 1;
				if (s->result & 0xffff)
					break;
			}
			break;
		case APW_FN:
			s->fn(lo);
			break;
		default:
			break;
		}
		__atomic_store_n(&s->ack, req, __ATOMIC_RELEASE);
		if (op == APW_EXIT)
			break;
	}
	__asm__ volatile("cli; lidt %0" : : "m"(fw_idt) : "memory");
	write_cr4(cr4);
	write_cr3(cr3);
	__atomic_store_n(&s->running, 2, __ATOMIC_SEQ_CST);
	irq_restore(flags);
}

/* ---- the BSP's side of the worker ------------------------------------------ */
static struct efi_mp_services *g_mp;
static EFI_EVENT g_ev;
static uint64_t g_tsc_hz, g_running;

uint64_t apw_ticks(unsigned int ms)
{
	if (!g_tsc_hz) {
		uint64_t hz = 0;
		trap_rdmsr(0x40000022u, &hz); /* HV_X64_MSR_TSC_FREQUENCY */
		g_tsc_hz = hz ? hz : 3000000000ull;
	}
	return g_tsc_hz / 1000 * ms;
}

void apw_halt(unsigned int vp, int on) { slots[vp].halt = on; }

static void apw_post(unsigned int vp, enum apw_op op);
static int apw_wait_ms(unsigned int vp, unsigned int ms);
#define apw_wait(vp) apw_wait_ms((vp), 3000)

void apw_call_post(unsigned int vp, uint64_t ctl, uint64_t in, uint32_t iters)
{
	slots[vp].ctl = ctl;
	slots[vp].in = in;
	slots[vp].iters = iters;
	slots[vp].result = ~0ull;
	apw_post(vp, APW_CALL);
}

/* A liveness bound, not a speed check: hundreds of flush calls that each
 * wait for every other VP take seconds under an emulator that shares two
 * host cores among four vCPUs and other test runs. */
int apw_call_wait(unsigned int vp, uint32_t *done, uint64_t *result)
{
	int ok = apw_wait_ms(vp, 30000);
	*done = slots[vp].done;
	*result = slots[vp].result;
	return ok;
}

void apw_set_idt(uint64_t base, uint16_t limit)
{
	apw_idtr.base = base;
	apw_idtr.limit = limit;
}

uint64_t apw_start(const char *group)
{
	UINTN n = 0, enabled = 0;
	char name[64];
	g_running = 0;
	apw_ticks(1);
	g_mp = find_mp_services(&n, &enabled);
	if (!g_mp || n < 2) {
		ser_printf("  info: %s: one processor: the remote checks are skipped\n", group);
		return 0;
	}
	for (unsigned int i = 0; i < MAX_VP; i++)
		slots[i] = (struct apw_slot){ 0 };
	fmt_name(name, sizeof(name), "%s.ap_start", group);
	EFI_STATUS st = uefi_call_wrapper(BS->CreateEvent, 5, 0, 0, NULL, NULL, &g_ev);
	if (EFI_ERROR(st)) {
		check(name, 0, "CreateEvent: 0x%lx", (unsigned long)st);
		return 0;
	}
	st = uefi_call_wrapper(g_mp->startup_all_aps, 7, g_mp, apw_thunk, FALSE, g_ev, 0, NULL,
			       NULL);
	if (EFI_ERROR(st)) {
		check(name, 0, "StartupAllAPs (non-blocking): 0x%lx", (unsigned long)st);
		uefi_call_wrapper(BS->CloseEvent, 1, g_ev);
		return 0;
	}
	unsigned int up = 0;
	for (int t = 0; t < 5000 && up < enabled - 1; t++) {
		uefi_call_wrapper(BS->Stall, 1, 1000);
		up = 0;
		for (unsigned int i = 1; i < MAX_VP; i++)
			up += slots[i].running == 1;
	}
	for (unsigned int i = 1; i < MAX_VP; i++)
		if (slots[i].running == 1)
			g_running |= 1ull << i;
	check(name, up == enabled - 1, "%u of %lu APs run the worker (VP mask 0x%lx)", up,
	      (unsigned long)(enabled - 1), (unsigned long)g_running);
	return g_running;
}

/* A request to the worker on VP vp; 1 once it answered (no firmware call:
 * the BSP may be on the private CR3 with interrupts disabled). */
static void apw_post(unsigned int vp, enum apw_op op)
{
	struct apw_slot *s = &slots[vp];
	s->op = op;
	__atomic_store_n(&s->req, s->req + 1, __ATOMIC_RELEASE);
}

static int apw_wait_ms(unsigned int vp, unsigned int ms)
{
	struct apw_slot *s = &slots[vp];
	uint64_t t0 = rdtsc(), lim = apw_ticks(ms);
	while (__atomic_load_n(&s->ack, __ATOMIC_ACQUIRE) != s->req)
		if (rdtsc() - t0 > lim)
			return 0;
		else
			__asm__ volatile("pause");
	return 1;
}

int apw_run(unsigned int vp, void (*fn)(unsigned int vp))
{
	slots[vp].fn = fn;
	apw_post(vp, APW_FN);
	return apw_wait_ms(vp, 30000);
}

int apw_cmd(unsigned int vp, enum apw_op op)
{
	apw_post(vp, op);
	return apw_wait(vp);
}

void apw_stop(const char *group)
{
	if (!g_running)
		return;
	int ok = 1;
	for (unsigned int i = 1; i < MAX_VP; i++)
		if (g_running & (1ull << i))
			ok &= apw_cmd(i, APW_EXIT);
	/* The firmware signals the event once every AP has returned (it
	 * polls them from a timer). */
	EFI_STATUS st = EFI_NOT_READY;
	for (int t = 0; t < 5000 && st == EFI_NOT_READY; t++) {
		st = uefi_call_wrapper(BS->CheckEvent, 1, g_ev);
		if (st == EFI_NOT_READY)
			uefi_call_wrapper(BS->Stall, 1, 1000);
	}
	uefi_call_wrapper(BS->CloseEvent, 1, g_ev);
	char name[64];
	fmt_name(name, sizeof(name), "%s.ap_stop", group);
	check(name, ok && st == EFI_SUCCESS, "exit answered %d, completion event 0x%lx", ok,
	      (unsigned long)st);
	g_running = 0;
}

int call_words(struct hc_regs *r, uint64_t ctl, const uint64_t *w, unsigned int n, int fast)
{
	if (!fast) {
		for (unsigned int i = 0; i < n; i++)
			((uint64_t *)P_IN)[i] = w[i];
		return call_slow(r, ctl, pa(P_IN), 0);
	}
	*r = (struct hc_regs){ .rcx = ctl | HC_FAST, .rdx = n > 0 ? w[0] : PREFILL,
			       .r8 = n > 1 ? w[1] : PREFILL };
	for (unsigned int i = 0; i < 12; i++)
		r->xmm[i / 2][i % 2] = 2 + i < n ? w[2 + i] : PREFILL;
	return call(r);
}

/* ---- the private address space -------------------------------------------- */
static uint64_t *g_pt;       /* the PTEs of the test GVAs */
static uint64_t g_pg_a[NPAGES], g_pg_b[NPAGES];
static uint64_t g_cr3, g_fw_cr3, g_n_vps;
static EFI_PHYSICAL_ADDRESS g_mem;
#define MEM_PAGES (4 + 2 * NPAGES)

static int space_setup(void)
{
	if (read_cr4() & CR4_LA57) {
		check("tlb.setup", 0, "5-level paging: this test builds a 4-level hierarchy");
		return 0;
	}
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiBootServicesData,
					MEM_PAGES, &g_mem))) {
		check("tlb.setup", 0, "AllocatePages failed");
		return 0;
	}
	uint64_t *pml4 = (uint64_t *)(uintptr_t)g_mem, *pdpt = pml4 + 512, *pd = pdpt + 512;
	g_pt = pd + 512;
	g_fw_cr3 = read_cr3();
	const uint64_t *fw = (const uint64_t *)(uintptr_t)(g_fw_cr3 & PTE_ADDR);
	int slot = -1;
	for (int i = 0; i < 512; i++) {
		pml4[i] = fw[i];
		pdpt[i] = pd[i] = g_pt[i] = 0;
	}
	for (int i = 511; i >= 256 && slot < 0; i--)
		if (!fw[i])
			slot = i;
	if (slot < 0) {
		check("tlb.setup", 0, "no free PML4 slot in the upper half");
		return 0;
	}
	pml4[slot] = pa(pdpt) | DIR_FLAGS;
	pdpt[0] = pa(pd) | DIR_FLAGS;
	pd[0] = pa(g_pt) | DIR_FLAGS;
	for (unsigned int i = 0; i < NPAGES; i++) {
		g_pg_a[i] = g_mem + (4 + i) * PAGE;
		g_pg_b[i] = g_mem + (4 + NPAGES + i) * PAGE;
		fill64((void *)(uintptr_t)g_pg_a[i], MARK_A | i, PAGE, 0);
		fill64((void *)(uintptr_t)g_pg_b[i], MARK_B | i, PAGE, 0);
		g_pt[i] = g_pg_a[i] | PTE_FLAGS | (apw_global ? PTE_G : 0);
	}
	g_cr3 = pa(pml4) | (g_fw_cr3 & 0xfff);
	apw_gva = 0xFFFF000000000000ull | ((uint64_t)slot << 39);
	return 1;
}

/* PTEs 0..n-1 to the B pages, the others (and all with n = 0) to A. */
static void set_ptes(unsigned int n)
{
	for (unsigned int i = 0; i < NPAGES; i++)
		__atomic_store_n(&g_pt[i], (i < n ? g_pg_b[i] : g_pg_a[i]) | PTE_FLAGS | (apw_global ? PTE_G : 0),
				 __ATOMIC_SEQ_CST);
}

/* ---- one round -------------------------------------------------------------- */
struct round {
	const char *name;
	uint16_t code;
	int ex, fast;
	uint64_t flags;
	uint64_t targets; /* VP mask named in the call (ignored with ALL_PROCESSORS) */
	int set_all;      /* Ex: format HV_GENERIC_SET_ALL */
	unsigned int changed; /* PTEs moved to B (0..changed-1) */
	unsigned int nelem, start;
	uint64_t elem[4];
	const uint64_t *elist; /* instead of elem[] */
	int no_flush;     /* control: no call */
};

#define ROUND_VPS (MAX_VP)
static uint64_t before[ROUND_VPS][NPAGES], after[ROUND_VPS][NPAGES];
static int answered[ROUND_VPS];

static unsigned int build(const struct round *c, uint64_t *w, uint64_t *ctl)
{
	unsigned int n = 0, banks = 0;
	w[n++] = g_cr3;
	w[n++] = c->flags;
	if (!c->ex) {
		w[n++] = c->targets;
	} else if (c->set_all) {
		w[n++] = SET_ALL;
		w[n++] = 0;
	} else {
		w[n++] = SET_SPARSE;
		w[n++] = 1; /* bank 0 */
		w[n++] = c->targets;
		banks = 1;
	}
	for (unsigned int i = 0; i < c->nelem; i++)
		w[n++] = c->elist ? c->elist[i] : c->elem[i];
	*ctl = c->code | HC_VARHDR(banks) | (c->nelem ? HC_REPS(c->nelem) | HC_START(c->start) : 0);
	return n;
}

/* What VP v read after the call: the mask of pages (below c->changed)
 * that still show the old (A) contents, or -1 if it did not answer. */
static long stale_of(const struct round *c, unsigned int v)
{
	if (!answered[v])
		return -1;
	long m = 0;
	for (unsigned int i = 0; i < c->changed; i++)
		if (after[v][i] != (MARK_B | i))
			m |= 1l << i;
	return m;
}

static void run_round(const struct round *r0)
{
	struct round cc = *r0, *c = &cc;
	char base[96];
	if (apw_global) { /* "tlb.x" -> "tlb.global.x" */
		fmt_name(base, sizeof(base), "tlb.global.%s", r0->name + 4);
		cc.name = base;
	}
	static uint64_t w[520];
	uint64_t ctl;
	unsigned int n = build(c, w, &ctl);
	uint64_t everyone = g_running | 1;
	uint64_t named = (c->flags & FLUSH_ALL_PROCESSORS) || c->set_all ? everyone : c->targets;
	struct hc_regs r = { 0 };
	int vec = VEC_NONE, setup_ok = 1;
	char name[96];

	for (unsigned int v = 0; v < ROUND_VPS; v++)
		answered[v] = 0;
	set_ptes(0);
	uint64_t f = irq_save(), cr4 = read_cr4();
	write_cr3(g_cr3); /* also drops whatever the BSP cached in an earlier round */
	flush_globals();
	read_gvas(before[0]);
	answered[0] = 1;
	for (unsigned int v = 1; v < ROUND_VPS; v++)
		if (g_running & (1ull << v)) {
			answered[v] = apw_cmd(v, APW_RELOAD);
			for (unsigned int i = 0; i < NPAGES; i++)
				before[v][i] = slots[v].seen[i];
		}
	set_ptes(c->changed);
	if (!c->no_flush)
		vec = call_words(&r, ctl, w, n, c->fast);
	read_gvas(after[0]);
	for (unsigned int v = 1; v < ROUND_VPS; v++)
		if (answered[v]) {
			answered[v] = apw_cmd(v, APW_READ);
			for (unsigned int i = 0; i < NPAGES; i++)
				after[v][i] = slots[v].seen[i];
		}
	write_cr4(cr4);
	write_cr3(g_fw_cr3);
	irq_restore(f);
	set_ptes(0);

	for (unsigned int v = 0; v < ROUND_VPS; v++)
		for (unsigned int i = 0; i < NPAGES && (everyone & (1ull << v)); i++)
			setup_ok &= !answered[v] || before[v][i] == (MARK_A | i);
	if (c->no_flush) {
		ser_printf("  info: %s: without a flush, after the PTE change:", c->name);
		for (unsigned int v = 0; v < ROUND_VPS; v++)
			if (everyone & (1ull << v)) {
				long s = stale_of(c, v);
				ser_printf(" VP%u %s", v, s < 0 ? "no answer" : s ? "stale" : "new");
			}
		ser_printf("%s\n", setup_ok ? "" : " (setup: a VP did not read A first)");
		return;
	}
	fmt_name(name, sizeof(name), "%s.status", c->name);
	expect(name, vec, &r, ST_OK, c->nelem, NULL, 0, 0);
	if (named & 1) {
		fmt_name(name, sizeof(name), "%s.local_sees_new", c->name);
		long s = stale_of(c, 0);
		check(name, setup_ok && s == 0, "%s; stale page mask 0x%lx (page 0 reads 0x%lx)",
		      setup_ok ? "cached A" : "setup: a VP did not read A first", s,
		      (unsigned long)after[0][0]);
	}
	if (named & ~1ull) {
		int ok = setup_ok;
		uint64_t bad = 0;
		for (unsigned int v = 1; v < ROUND_VPS; v++)
			if ((named & ~1ull) & (1ull << v)) {
				if (!(g_running & (1ull << v)) || stale_of(c, v) != 0)
					bad |= 1ull << v, ok = 0;
			}
		fmt_name(name, sizeof(name), "%s.remote_sees_new", c->name);
		check(name, ok, "%s; VPs reading stale data or not answering: mask 0x%lx (named 0x%lx)",
		      setup_ok ? "cached A" : "setup: a VP did not read A first", (unsigned long)bad,
		      (unsigned long)named);
	}
	/* VPs the call did not name: whatever they see is the emulator's. */
	uint64_t others = everyone & ~named;
	if (others) {
		ser_printf("  info: %s: VPs not named:", c->name);
		for (unsigned int v = 0; v < ROUND_VPS; v++)
			if (others & (1ull << v)) {
				long s = stale_of(c, v);
				ser_printf(" VP%u %s", v, s < 0 ? "no answer" : s ? "stale" : "new");
			}
		ser_printf("\n");
	}
}

static void rounds(void)
{
	uint64_t aps = g_running;
	uint64_t first = aps & -aps;
	uint64_t last = aps ? 1ull << (63 - __builtin_clzll(aps)) : 0;
	uint64_t sparse = first | last; /* VP 1 and the last: {1,3} with 4 */
	uint64_t gva = apw_gva;
	static const struct {
		const char *name;
		uint16_t code;
		int ex, fast;
	} forms[] = {
		{ "tlb.space.mask.slow", CALL_FLUSH_SPACE, 0, 0 },
		{ "tlb.space.mask.fast", CALL_FLUSH_SPACE, 0, 1 },
		{ "tlb.space.ex.slow", CALL_FLUSH_SPACE_EX, 1, 0 },
		{ "tlb.space.ex.fast", CALL_FLUSH_SPACE_EX, 1, 1 },
		{ "tlb.list.mask.slow", CALL_FLUSH_LIST, 0, 0 },
		{ "tlb.list.mask.fast", CALL_FLUSH_LIST, 0, 1 },
		{ "tlb.list.ex.slow", CALL_FLUSH_LIST_EX, 1, 0 },
		{ "tlb.list.ex.fast", CALL_FLUSH_LIST_EX, 1, 1 },
	};
	char name[64];

	/* The control: what an un-flushed VP reads. */
	run_round(&(struct round){ .name = "tlb.control", .changed = NPAGES, .no_flush = 1 });

	for (unsigned int i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		int list = forms[i].code == CALL_FLUSH_LIST || forms[i].code == CALL_FLUSH_LIST_EX;
		struct round c = { .code = forms[i].code, .ex = forms[i].ex, .fast = forms[i].fast,
				   .changed = list ? 1 : NPAGES, .nelem = list ? 1 : 0,
				   .elem = { gva } };
		/* The caller's own TLB. */
		fmt_name(name, sizeof(name), "%s.self", forms[i].name);
		c.name = name;
		c.targets = 1;
		run_round(&c);
		if (!aps)
			continue;
		/* Another VP (mask: VP 1; Ex: a sparse set with 4 CPUs). */
		fmt_name(name, sizeof(name), "%s", forms[i].name);
		c.targets = forms[i].ex ? sparse : first;
		run_round(&c);
	}

	/* Several pages by one element: the count of additional pages in bits
	 * 11:0 (TLFS 9.4.4), on every VP. */
	uint64_t all = aps | 1;
	run_round(&(struct round){ .name = "tlb.list.mask.slow.multipage", .code = CALL_FLUSH_LIST,
				   .targets = all, .changed = NPAGES, .nelem = 1,
				   .elem = { gva | (NPAGES - 1) } });
	run_round(&(struct round){ .name = "tlb.list.ex.fast.two_ranges", .code = CALL_FLUSH_LIST_EX,
				   .ex = 1, .fast = 1, .targets = all, .changed = NPAGES, .nelem = 2,
				   .elem = { gva | 1, (gva + 2 * PAGE) | 1 } });
	/* A rep start index: element 0 (page 3) is skipped, element 1 (page 0)
	 * is flushed; reps completed 2. */
	run_round(&(struct round){ .name = "tlb.list.mask.slow.start_index", .code = CALL_FLUSH_LIST,
				   .targets = all, .changed = 1, .nelem = 2, .start = 1,
				   .elem = { gva + 3 * PAGE, gva } });
	/* HV_FLUSH_ALL_PROCESSORS: the mask (here empty) is ignored. */
	run_round(&(struct round){ .name = "tlb.space.mask.slow.all_processors",
				   .code = CALL_FLUSH_SPACE, .flags = FLUSH_ALL_PROCESSORS,
				   .changed = NPAGES });
	run_round(&(struct round){ .name = "tlb.list.mask.fast.all_processors",
				   .code = CALL_FLUSH_LIST, .fast = 1,
				   .flags = FLUSH_ALL_PROCESSORS | FLUSH_ALL_SPACES, .changed = 1,
				   .nelem = 1, .elem = { gva } });
	run_round(&(struct round){ .name = "tlb.space.ex.slow.all_processors",
				   .code = CALL_FLUSH_SPACE_EX, .ex = 1, .flags = FLUSH_ALL_PROCESSORS,
				   .changed = NPAGES });
	/* The generic set "all" (TLFS 7.8.7.3). */
	run_round(&(struct round){ .name = "tlb.space.ex.fast.set_all", .code = CALL_FLUSH_SPACE_EX,
				   .ex = 1, .fast = 1, .set_all = 1, .changed = NPAGES });
	run_round(&(struct round){ .name = "tlb.list.ex.slow.set_all", .code = CALL_FLUSH_LIST_EX,
				   .ex = 1, .set_all = 1, .changed = 1, .nelem = 1, .elem = { gva } });
	/* Non-global only: the test mappings are not global, so flushed
	 * (global ones may stay: not checked in global mode). */
	if (!apw_global)
		run_round(&(struct round){ .name = "tlb.space.mask.slow.non_global", .code = CALL_FLUSH_SPACE,
				   .flags = FLUSH_NON_GLOBAL | FLUSH_ALL_SPACES, .targets = all,
				   .changed = NPAGES });
	/* The longest lists: a fast call's 112 bytes (11 elements, 9 with a
	 * bank), and a memory-based list filling the input page (509). */
	static uint64_t many[509];
	for (unsigned int i = 0; i < 509; i++)
		many[i] = gva + (i % NPAGES) * PAGE;
	run_round(&(struct round){ .name = "tlb.list.mask.fast.11_elements", .code = CALL_FLUSH_LIST,
				   .fast = 1, .targets = all, .changed = NPAGES, .nelem = 11,
				   .elist = many + 1 });
	run_round(&(struct round){ .name = "tlb.list.ex.fast.9_elements", .code = CALL_FLUSH_LIST_EX,
				   .ex = 1, .fast = 1, .targets = all, .changed = NPAGES, .nelem = 9,
				   .elist = many + 1 });
	run_round(&(struct round){ .name = "tlb.list.mask.slow.509_elements", .code = CALL_FLUSH_LIST,
				   .targets = all, .changed = NPAGES, .nelem = 509, .elist = many });
	/* A large count: more pages than the hypervisor flushes one by one. */
	run_round(&(struct round){ .name = "tlb.list.mask.slow.count_4096", .code = CALL_FLUSH_LIST,
				   .targets = all, .changed = NPAGES, .nelem = 1,
				   .elem = { gva | 0xfff } });
}

/* The other direction: an AP's call flushes the BSP's TLB (the BSP waits
 * for it in a loop that makes no exit, so only the kick can flush it). */
static void from_ap(const char *name, int list)
{
	unsigned int ap = (unsigned int)__builtin_ctzll(g_running);
	struct apw_slot *s = &slots[ap];
	uint64_t *in = (uint64_t *)P_IN2;
	char nm[80];
	in[0] = g_cr3, in[1] = 0, in[2] = 1, in[3] = apw_gva;
	s->ctl = list ? CALL_FLUSH_LIST | HC_REPS(1) : CALL_FLUSH_SPACE;
	s->in = pa(in);
	s->iters = 1;
	s->result = ~0ull;
	set_ptes(0);
	uint64_t f = irq_save();
	write_cr3(g_cr3);
	read_gvas(before[0]);
	set_ptes(list ? 1 : NPAGES);
	int ok = apw_cmd(ap, APW_CALL);
	read_gvas(after[0]);
	write_cr3(g_fw_cr3);
	irq_restore(f);
	set_ptes(0);
	fmt_name(nm, sizeof(nm), "%s.status", name);
	check(nm, ok && s->result == (list ? 1ull << 32 : 0), "AP VP%u answered %d, RAX 0x%lx", ap,
	      ok, (unsigned long)s->result);
	int setup = 1, fresh = 1;
	for (unsigned int i = 0; i < NPAGES; i++) {
		setup &= before[0][i] == (MARK_A | i);
		fresh &= (list && i) || after[0][i] == (MARK_B | i);
	}
	fmt_name(nm, sizeof(nm), "%s.bsp_sees_new", name);
	check(nm, setup && fresh, "%s; BSP page 0 reads 0x%lx",
	      setup ? "cached A" : "setup: the BSP did not read A first", (unsigned long)after[0][0]);
}

/* Every VP flushes every VP, all at once, many times: cross-VP calls in
 * every direction must neither deadlock nor fail (hv/xcall.c). */
static void concurrent(unsigned int iters)
{
	uint64_t everyone = g_running | 1;
	struct hc_regs r = { 0 };
	for (unsigned int v = 0; v < MAX_VP; v++)
		if (everyone & (1ull << v)) {
			uint64_t *in = (uint64_t *)(P_IN2 + 64 * v);
			in[0] = g_cr3, in[1] = FLUSH_ALL_PROCESSORS, in[2] = 0;
		}
	for (unsigned int v = 1; v < MAX_VP; v++)
		if (g_running & (1ull << v)) {
			slots[v].ctl = CALL_FLUSH_SPACE;
			slots[v].in = pa(P_IN2 + 64 * v);
			slots[v].iters = iters;
			slots[v].result = ~0ull;
			apw_post(v, APW_CALL);
		}
	unsigned int k = 0;
	int vec = VEC_NONE;
	for (; k < iters; k++) {
		vec = call_slow(&r, CALL_FLUSH_SPACE, pa(P_IN2), 0);
		if (vec != VEC_NONE || (r.rax & 0xffff))
			break;
	}
	int ok = vec == VEC_NONE && k == iters;
	uint64_t bad = ok ? 0 : 1;
	for (unsigned int v = 1; v < MAX_VP; v++)
		if (g_running & (1ull << v))
			if (!apw_wait(v) || slots[v].done != iters || slots[v].result != 0)
				bad |= 1ull << v, ok = 0;
	check("tlb.concurrent.all_flush_all", ok,
	      "VPs failing or stuck: mask 0x%lx (BSP %u of %u calls, RAX 0x%lx; VP1 %u calls, RAX 0x%lx)",
	      (unsigned long)bad, k, iters, (unsigned long)r.rax, slots[1].done,
	      (unsigned long)slots[1].result);
}

/* ---- bad inputs (TLFS 9.4, 7.8.7.3, 3.12; the policy in hv/vpset.c) ------ */
struct err_case {
	const char *name;
	uint16_t code;
	int fast;
	uint64_t flags;
	int ex;
	uint64_t a, b;      /* mask, or format and ValidBanksMask */
	unsigned int banks; /* Ex: bank words given (the variable header) */
	uint64_t bank[3];
	unsigned int nelem, start;
	unsigned int status, reps;
	uint64_t space;     /* 0: the private CR3 */
};

static void errors(void)
{
	uint64_t nvp = g_n_vps, gva = apw_gva;
	uint64_t bad_space = 1ull << g_hc.pa_bits;
	const struct err_case cases[] = {
		{ "tlb.err.flags_reserved_bit3", CALL_FLUSH_SPACE, 0, 1ull << 3, 0, 1, 0, 0, { 0 }, 0, 0,
		  ST_BAD_PARAM, 0, 0 },
		{ "tlb.err.flags_reserved_bit4", CALL_FLUSH_SPACE, 0, 1ull << 4, 0, 1, 0, 0, { 0 }, 0, 0,
		  ST_BAD_PARAM, 0, 0 },
		{ "tlb.err.flags_reserved_bit63.ex", CALL_FLUSH_SPACE_EX, 0, 1ull << 63, 1, SET_SPARSE, 1,
		  1, { 1 }, 0, 0, ST_BAD_PARAM, 0, 0 },
		{ "tlb.err.list_non_global", CALL_FLUSH_LIST, 0, FLUSH_NON_GLOBAL, 0, 1, 0, 0, { 0 }, 2, 0,
		  ST_BAD_PARAM, 0, 0 },
		{ "tlb.err.list_ex_non_global", CALL_FLUSH_LIST_EX, 1, FLUSH_NON_GLOBAL, 1, SET_SPARSE, 1,
		  1, { 1 }, 1, 0, ST_BAD_PARAM, 0, 0 },
		{ "tlb.err.space_beyond_maxphyaddr", CALL_FLUSH_SPACE, 0, 0, 0, 1, 0, 0, { 0 }, 0, 0,
		  ST_BAD_PARAM, 0, bad_space },
		{ "tlb.err.list_space_beyond_maxphyaddr", CALL_FLUSH_LIST, 0, 0, 0, 1, 0, 0, { 0 }, 1, 0,
		  ST_BAD_PARAM, 0, bad_space },
		{ "tlb.space_ignored_with_all_spaces", CALL_FLUSH_SPACE, 0, FLUSH_ALL_SPACES, 0, 1, 0, 0,
		  { 0 }, 0, 0, ST_OK, 0, bad_space },
		{ "tlb.err.empty_mask", CALL_FLUSH_SPACE, 0, 0, 0, 0, 0, 0, { 0 }, 0, 0, ST_BAD_PARAM, 0,
		  0 },
		{ "tlb.err.empty_mask.fast", CALL_FLUSH_SPACE, 1, 0, 0, 0, 0, 0, { 0 }, 0, 0, ST_BAD_PARAM,
		  0, 0 },
		{ "tlb.err.list_empty_mask", CALL_FLUSH_LIST, 0, 0, 0, 0, 0, 0, { 0 }, 3, 0, ST_BAD_PARAM, 0,
		  0 },
		{ "tlb.err.ex_empty_set", CALL_FLUSH_SPACE_EX, 0, 0, 1, SET_SPARSE, 0, 0, { 0 }, 0, 0,
		  ST_BAD_PARAM, 0, 0 },
		{ "tlb.err.ex_empty_bank", CALL_FLUSH_SPACE_EX, 0, 0, 1, SET_SPARSE, 1, 1, { 0 }, 0, 0,
		  ST_BAD_PARAM, 0, 0 },
		{ "tlb.err.mask_vp63", CALL_FLUSH_SPACE, 0, 0, 0, 1 | (1ull << 63), 0, 0, { 0 }, 0, 0,
		  ST_BAD_PARAM, 0, 0 },
		{ "tlb.err.mask_vp_count", CALL_FLUSH_SPACE, 1, 0, 0, 1 | (1ull << nvp), 0, 0, { 0 }, 0,
		  0, ST_BAD_PARAM, 0, 0 },
		{ "tlb.err.list_mask_vp63", CALL_FLUSH_LIST, 0, 0, 0, 1ull << 63, 0, 0, { 0 }, 3, 0,
		  ST_BAD_PARAM, 0, 0 },
		{ "tlb.err.list_mask_vp63.start1", CALL_FLUSH_LIST, 0, 0, 0, 1ull << 63, 0, 0, { 0 }, 3, 1,
		  ST_BAD_PARAM, 1, 0 },
		{ "tlb.err.ex_bank1", CALL_FLUSH_SPACE_EX, 0, 0, 1, SET_SPARSE, 3, 2, { 1, 1 }, 0, 0,
		  ST_BAD_PARAM, 0, 0 },
		{ "tlb.err.ex_vp_count", CALL_FLUSH_SPACE_EX, 0, 0, 1, SET_SPARSE, 1, 1,
		  { 1 | (1ull << nvp) }, 0, 0, ST_BAD_PARAM, 0, 0 },
		{ "tlb.err.list_ex_bank1", CALL_FLUSH_LIST_EX, 1, 0, 1, SET_SPARSE, 2, 1, { 1 }, 1, 0,
		  ST_BAD_PARAM, 0, 0 },
		{ "tlb.err.ex_banks_too_few", CALL_FLUSH_SPACE_EX, 0, 0, 1, SET_SPARSE, 3, 1, { 1 }, 0, 0,
		  ST_BAD_INPUT, 0, 0 },
		{ "tlb.err.ex_banks_too_many", CALL_FLUSH_SPACE_EX, 0, 0, 1, SET_SPARSE, 1, 2, { 1, 0 }, 0,
		  0, ST_BAD_INPUT, 0, 0 },
		{ "tlb.err.ex_banks_too_many.fast", CALL_FLUSH_SPACE_EX, 1, 0, 1, SET_SPARSE, 1, 3,
		  { 1, 0, 0 }, 0, 0, ST_BAD_INPUT, 0, 0 },
		{ "tlb.err.ex_set_all_with_bank", CALL_FLUSH_SPACE_EX, 0, 0, 1, SET_ALL, 0, 1, { 1 }, 0, 0,
		  ST_BAD_INPUT, 0, 0 },
		{ "tlb.err.list_ex_banks_too_few", CALL_FLUSH_LIST_EX, 0, 0, 1, SET_SPARSE, 1, 0, { 0 }, 1,
		  0, ST_BAD_INPUT, 0, 0 },
		{ "tlb.err.ex_unknown_format", CALL_FLUSH_SPACE_EX, 0, 0, 1, 2, 1, 1, { 1 }, 0, 0,
		  ST_BAD_PARAM, 0, 0 },
		{ "tlb.err.list_ex_unknown_format", CALL_FLUSH_LIST_EX, 1, 0, 1, 2, 0, 0, { 0 }, 1, 0,
		  ST_BAD_PARAM, 0, 0 },
		/* Fast input is at most 112 bytes (RDX, R8, XMM0-5): 24 + 12 * 8. */
		{ "tlb.err.list_fast_too_long", CALL_FLUSH_LIST, 1, 0, 0, 1, 0, 0, { 0 }, 12, 0,
		  ST_BAD_INPUT, 0, 0 },
	};
	struct hc_regs r;
	uint64_t w[32];

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct err_case *c = &cases[i];
		unsigned int n = 0;
		w[n++] = c->space ? c->space : g_cr3;
		w[n++] = c->flags;
		w[n++] = c->a;
		if (c->ex) {
			w[n++] = c->b;
			for (unsigned int k = 0; k < c->banks; k++)
				w[n++] = c->bank[k];
		}
		for (unsigned int k = 0; k < c->nelem; k++)
			w[n++] = gva + k * PAGE;
		uint64_t ctl = c->code | HC_VARHDR(c->ex ? c->banks : 0) |
			       (c->nelem ? HC_REPS(c->nelem) | HC_START(c->start) : 0);
		int vec = call_words(&r, ctl, w, n, c->fast);
		expect(c->name, vec, &r, c->status, c->reps, NULL, 0, 0);
	}

	/* A GVA list crossing a page: the dispatcher's INVALID_ALIGNMENT
	 * (TLFS 3.12.3), nothing done, reps completed 0. */
	uint64_t *in = (uint64_t *)(P_IN2 + PAGE - 32);
	in[0] = g_cr3, in[1] = 0, in[2] = 1, in[3] = gva;
	int vec = call_slow(&r, CALL_FLUSH_LIST | HC_REPS(3), pa(in), 0);
	expect("tlb.err.list_crosses_page", vec, &r, ST_BAD_ALIGN, 0, NULL, 0, 0);
	in = (uint64_t *)(P_IN2 + PAGE - 40);
	in[0] = g_cr3, in[1] = 0, in[2] = SET_SPARSE, in[3] = 1, in[4] = 1;
	vec = call_slow(&r, CALL_FLUSH_LIST_EX | HC_VARHDR(1) | HC_REPS(1), pa(in), 0);
	expect("tlb.err.list_ex_crosses_page", vec, &r, ST_BAD_ALIGN, 0, NULL, 0, 0);
	/* The same list inside the page is fine. */
	in = (uint64_t *)(P_IN2 + PAGE - 40);
	in[0] = g_cr3, in[1] = 0, in[2] = 1, in[3] = gva, in[4] = gva + PAGE;
	vec = call_slow(&r, CALL_FLUSH_LIST | HC_REPS(2), pa(in), 0);
	expect("tlb.list.ends_at_page_end", vec, &r, ST_OK, 2, NULL, 0, 0);
	/* GVAs beyond the GVA space are ignored (TLFS 9.4.4). */
	in = (uint64_t *)P_IN;
	in[0] = g_cr3, in[1] = FLUSH_ALL_PROCESSORS, in[2] = 0, in[3] = 0x0000800000000000ull,
	in[4] = 0x00007FFFFFFFF000ull | 0xfff, in[5] = 0xFFFF7FFFFFFFF000ull;
	vec = call_slow(&r, CALL_FLUSH_LIST | HC_REPS(3), pa(in), 0);
	expect("tlb.list.beyond_gva_space_ignored", vec, &r, ST_OK, 3, NULL, 0, 0);
	/* No output: the output GPA is ignored (TLFS 3.6). */
	in[0] = g_cr3, in[1] = 0, in[2] = 1;
	r = (struct hc_regs){ .rcx = CALL_FLUSH_SPACE, .rdx = pa(in), .r8 = 3 };
	vec = call(&r);
	expect("tlb.space.ignores_out_gpa", vec, &r, ST_OK, 0, NULL, 0, 0);
	/* Memory-based input misaligned (TLFS 3.12.3: 8-byte aligned). */
	vec = call_slow(&r, CALL_FLUSH_SPACE, pa(P_IN) + 4, 0);
	expect("tlb.err.input_misaligned", vec, &r, ST_BAD_ALIGN, 0, NULL, 0, 0);
}

/* HvSwitchVirtualAddressSpace (TLFS 9.4.1): CR3 takes the given value.
 * The private CR3 maps the test GVAs, the firmware's does not: reading a
 * test GVA after the switch proves the new space is the one in use. A
 * value with bits above MAXPHYADDR is refused and CR3 is unchanged. */
static void switch_space(void)
{
	struct hc_regs r, r2, r3;
	set_ptes(0);
	uint64_t f = irq_save();
	__asm__ volatile("invlpg (%0)" : : "r"(apw_gva) : "memory");
	uint64_t w[1] = { g_cr3 };
	int vec = call_words(&r, CALL_SWITCH_SPACE, w, 1, 1);
	uint64_t now = read_cr3();
	uint64_t seen = vec == VEC_NONE && now == g_cr3 ? *(volatile uint64_t *)(uintptr_t)apw_gva : 0;
	w[0] = 1ull << 52;
	int vec3 = call_words(&r3, CALL_SWITCH_SPACE, w, 1, 0);
	uint64_t kept = read_cr3();
	w[0] = g_fw_cr3;
	int vec2 = call_words(&r2, CALL_SWITCH_SPACE, w, 1, 0);
	uint64_t back = read_cr3();
	if (back != g_fw_cr3)
		write_cr3(g_fw_cr3);
	irq_restore(f);
	expect("tlb.switch.fast", vec, &r, ST_OK, 0, "CR3", now, g_cr3);
	check_eq("tlb.switch.new_space_in_use", seen, MARK_A | 0);
	expect("tlb.switch.err.cr3_beyond_maxphyaddr", vec3, &r3, ST_BAD_PARAM, 0, "CR3", kept, g_cr3);
	expect("tlb.switch.slow.back", vec2, &r2, ST_OK, 0, "CR3", back, g_fw_cr3);
}

void checks_tlb(void)
{
	if (!g_hc.page_ok) {
		check("tlb.calls", 0, "skipped: the hypercall page is not in place");
		return;
	}
	if (!(g_hc.feat & FEAT_XMM_IN)) {
		check("tlb.xmm_input", 0, "XMM fast input not advertised: fast forms need it");
		return;
	}
	if (!space_setup())
		return;
	UINTN n = 1;
	find_mp_services(&n, NULL);
	g_n_vps = n;
	apw_cr3 = g_cr3;
	apw_start("tlb");
	rounds();
	/* Again with global mappings, where the CPU has global pages. */
	if (cpuid(1, 0).edx & (1u << 13)) {
		apw_global = 1;
		rounds();
		apw_global = 0;
	}
	if (g_running) {
		from_ap("tlb.space.mask.slow.from_ap", 0);
		from_ap("tlb.list.mask.slow.from_ap", 1);
		concurrent(50);
	}
	apw_stop("tlb");
	/* The APs are back in the firmware (idle, or waiting for a SIPI): a
	 * flush of every VP still completes. */
	struct hc_regs r;
	uint64_t w[4] = { g_cr3, FLUSH_ALL_PROCESSORS, 0, 0 };
	int vec = call_words(&r, CALL_FLUSH_SPACE, w, 3, 0);
	expect("tlb.space.all_processors.aps_in_firmware", vec, &r, ST_OK, 0, NULL, 0, 0);
	vec = call_words(&r, CALL_FLUSH_LIST | HC_REPS(1), w, 4, 1);
	expect("tlb.list.fast.all_processors.aps_in_firmware", vec, &r, ST_OK, 1, NULL, 0, 0);
	apw_cr3 = 0;
	errors();
	switch_space();
	uefi_call_wrapper(BS->FreePages, 2, g_mem, MEM_PAGES);
}
