/*
 * gfuzz.c - the guest fuzzer (gfuzz.efi, issue 14 item 6): hv.efi starts
 * it as its guest; it runs a seeded sequence of random operations against
 * the Hv#1 interface (gfz_ops.c) and checks from inside that the
 * hypervisor kept every promise:
 *   status_valid     every hypercall status is one of TLFS appendix B
 *   reps_bound       reps completed never exceed the rep count, a
 *                    successful rep call completed them all (TLFS 3.8),
 *                    the result's reserved bits are zero
 *   regs_preserved   RBX RSI RDI RBP R9-R15 RSP and XMM6-15 unchanged by a
 *                    hypercall; RCX only in the rep start index; RDX, R8,
 *                    XMM0-5 only as fast output (TLFS 3.9)
 *   exceptions       a hypercall raises nothing but #UD (page disabled,
 *                    TLFS 3.13), an MSR access nothing but #GP, a memory
 *                    probe nothing but #GP or #PF
 *   ud_only_when_disabled  #UD from a call only with the page disabled
 *   known_good       after every batch, HvGetVpRegisters(VpIndex) answers
 *                    SUCCESS with this VP's index (TLFS 7.10.1)
 *   hvmem_hidden     the hypervisor's memory faults on every access
 *   canary           16 pages of the fuzzer's own memory, never named in
 *                    any operation, keep their pattern
 *   hcall_page       the hypercall page reads as its code where enabled
 *   overlay_uncovered the scratch pages overlays were moved over and away
 *                    from read as before once all overlays are off
 *   lock_held        after the hypercall MSR lock (the last tenth of the
 *                    run), the MSR and its page never change (TLFS 3.13)
 * and the harness (tests/run-gfuzz.sh) checks hv.efi's log for no PANIC and
 * no parked processor.
 *
 * Arguments (hv.cfg guest_args): seed=N ops=N (decimal or 0x hex). Output
 * follows the test payload's protocol (PASS:/FAIL: lines, PAYLOAD DONE),
 * with GFUZZ lines for the harness: START (seed, ops), PROGRESS, OPS (per
 * operation counts), DONE. The run has interrupts off throughout and its
 * own exception vectors (gfz.asm), so nothing of the firmware runs in
 * between and a seed replays exactly.
 */
#include "gfuzz.h"
#include "../payload/px86.h"

struct fz g_fz;

#define BATCH 64u
#define DETAIL_LIMIT 5u

/* ---- failures -------------------------------------------------------------- */
static const char *const check_names[] = {
	"status_valid", "reps_bound", "regs_preserved", "exceptions", "ud_only_when_disabled",
	"known_good", "hvmem_hidden", "canary", "hcall_page", "overlay_uncovered", "lock_held",
};
#define N_CHECKS (sizeof(check_names) / sizeof(check_names[0]))
static uint64_t fails[N_CHECKS], first_fail[N_CHECKS];
static const char *cur_op = "setup";

static int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

void fz_fail(const char *what, const char *fmt, ...)
{
	unsigned int c = 0;
	while (c < N_CHECKS - 1 && !str_eq(check_names[c], what))
		c++;
	if (fails[c]++ == 0)
		first_fail[c] = g_fz.op_index;
	g_fz.fails++;
	if (fails[c] > DETAIL_LIMIT)
		return;
	char buf[200];
	__builtin_va_list ap;
	__builtin_va_start(ap, fmt);
	fmt_va(buf, sizeof(buf), fmt, ap);
	__builtin_va_end(ap);
	ser_printf("GFUZZ FINDING: %s at op %lu (%s), seed 0x%lx: %s\n", check_names[c],
		   (unsigned long)g_fz.op_index, cur_op, (unsigned long)g_fz.seed, buf);
}

void ptrap_unexpected(uint64_t *frame)
{
	ser_printf("FAIL: gfuzz.unexpected_exception: vector %lu error 0x%lx at rip 0x%lx, op %lu (%s), "
		   "seed 0x%lx\n", (unsigned long)frame[1], (unsigned long)frame[2],
		   (unsigned long)frame[3], (unsigned long)g_fz.op_index, cur_op,
		   (unsigned long)g_fz.seed);
	ser_printf("PAYLOAD ABORTED\n");
	payload_poweroff();
}

/* ---- helpers the test payload has in files this one does not link --------- */
void fill64(void *p, uint64_t v, unsigned int bytes, int count_up)
{
	uint64_t *q = p;
	for (unsigned int i = 0; i < bytes / 8; i++)
		q[i] = count_up ? v | (8ull * i) : v;
}

long diff64(const void *p, uint64_t v, unsigned int bytes, int count_up)
{
	const volatile uint64_t *q = p;
	for (unsigned int i = 0; i < bytes / 8; i++)
		if (q[i] != (count_up ? v | (8ull * i) : v))
			return 8l * i;
	return -1;
}

/* hv.efi's info table (include/hv_abi.h): where its memory is. */
const struct hv_info_table *find_hv_info(void)
{
	static const EFI_GUID g = HV_INFO_TABLE_GUID;
	for (UINTN i = 0; ST && i < ST->NumberOfTableEntries; i++) {
		const EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
		const uint8_t *a = (const uint8_t *)&t->VendorGuid, *b = (const uint8_t *)&g;
		unsigned int k = 0;
		while (k < sizeof(EFI_GUID) && a[k] == b[k])
			k++;
		const struct hv_info_table *h = t->VendorTable;
		if (k == sizeof(EFI_GUID) && h->magic == HV_INFO_MAGIC && h->version == HV_INFO_VERSION)
			return h;
	}
	return NULL;
}

/* ---- the hypercall and its checks --------------------------------------- */
int fz_hcall(struct fz_regs *r)
{
	g_fz.n_hcall++;
	return g_fz.amd ? fz_call_vmmcall(r) : fz_call_vmcall(r);
}

/* TLFS appendix B: the defined status codes. */
static int status_defined(unsigned int s)
{
	static const uint8_t ok[] = { 0x00, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,
				      0x0B, 0x0C, 0x0D, 0x0E, 0x11, 0x12, 0x14, 0x15, 0x16, 0x17,
				      0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x30,
				      0x33, 0x37, 0x38, 0x3C, 0x3D, 0x3E, 0x3F, 0x41, 0x50, 0x55,
				      0x57, 0x58, 0x59, 0x60, 0x71, 0x72,
				      /* Named by the TLFS without a value in its table:
				       * INSUFFICIENT_BUFFERS (11.10.4; the table's
				       * "0x0033" is a typo for 0x0013, as Hyper-V and
				       * Linux have it) and INVALID_VTL_STATE (15.x,
				       * Hyper-V's 0x0051). */
				      0x13, 0x51 };
	for (unsigned int i = 0; i < sizeof(ok); i++)
		if (ok[i] == s)
			return 1;
	return 0;
}

static int known_rep(uint16_t code)
{
	return code == 0x0003 || code == 0x000C || code == 0x0014 || code == 0x0050 || code == 0x0051 ||
	       code == 0x009A || code == 0x00B0;
}

void fz_check_status(uint64_t ctl, const struct fz_regs *b, const struct fz_regs *a, int vec)
{
	int fast = (ctl & HC_FAST) != 0;
	if (vec == VEC_UD) {
		g_fz.n_ud++;
		/* #UD with the page enabled: only for XMM input/output the
		 * partition lacks (TLFS 3.7.2, 3.8.1). */
		uint64_t h = 0;
		fz_rdmsr(MSR_HYPERCALL, &h);
		int xmm_ok = (g_fz.feat & FEAT_XMM_IN) && (g_fz.feat & FEAT_XMM_OUT);
		/* HvVtlCall (0x11) and HvVtlReturn (0x12) answer every
		 * misuse with #UD (TLFS 15.6.1.1, 15.7.2; vsm/vsm.c). */
		uint16_t code = (uint16_t)ctl;
		if ((h & HC_MSR_ENABLE) && (xmm_ok || !fast) && code != 0x0011 && code != 0x0012)
			fz_fail("ud_only_when_disabled", "call 0x%lx: #UD with HYPERCALL = 0x%lx",
				(unsigned long)ctl, (unsigned long)h);
		return;
	}
	if (vec != VEC_NONE) {
		fz_fail("exceptions", "call 0x%lx raised %s (vector %d, error 0x%lx) at rip 0x%lx",
			(unsigned long)ctl, vec_name(vec), vec, (unsigned long)fz_fault[1],
			(unsigned long)fz_fault[2]);
		return;
	}
	uint64_t rax = a->gpr[R_AX];
	unsigned int st = (unsigned int)(rax & 0xFFFF);
	unsigned int reps = (unsigned int)((rax >> 32) & 0xFFF);
	unsigned int count = (unsigned int)((ctl >> 32) & 0xFFF);
	g_fz.n_status[st < 128 ? st : 127]++;
	if (!status_defined(st))
		fz_fail("status_valid", "call 0x%lx: RAX 0x%lx, status 0x%x is not a TLFS status",
			(unsigned long)ctl, (unsigned long)rax, st);
	if (rax & 0xFFFFF000FFFF0000ull)
		fz_fail("reps_bound", "call 0x%lx: RAX 0x%lx has reserved bits set",
			(unsigned long)ctl, (unsigned long)rax);
	if (reps > count || (st == 0 && known_rep((uint16_t)ctl) && reps != count))
		fz_fail("reps_bound", "call 0x%lx: status 0x%x, %u reps completed of %u",
			(unsigned long)ctl, st, reps, count);

	/* TLFS 3.9: what may change. */
	static const unsigned int fixed[] = { R_BX, R_SP, R_BP, R_SI, R_DI, 9, 10, 11, 12, 13, 14, 15 };
	for (unsigned int i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		unsigned int g = fixed[i];
		uint64_t want = g == R_SP ? a->rsp_before : b->gpr[g];
		if (a->gpr[g] != want) {
			fz_fail("regs_preserved", "call 0x%lx: GPR %u 0x%lx -> 0x%lx", (unsigned long)ctl,
				g, (unsigned long)want, (unsigned long)a->gpr[g]);
			return;
		}
	}
	if ((a->gpr[R_CX] ^ b->gpr[R_CX]) & ~(0xFFFull << 48))
		fz_fail("regs_preserved", "call 0x%lx: RCX changed to 0x%lx", (unsigned long)ctl,
			(unsigned long)a->gpr[R_CX]);
	for (unsigned int i = 0; i < 16; i++) {
		int may = fast && i < 6 && (st == 0 || count);
		if (!may && (a->xmm[i][0] != b->xmm[i][0] || a->xmm[i][1] != b->xmm[i][1])) {
			fz_fail("regs_preserved", "call 0x%lx status 0x%x: XMM%u changed", (unsigned long)ctl,
				st, i);
			return;
		}
	}
	int may = fast && (st == 0 || count);
	if (!may && (a->gpr[R_DX] != b->gpr[R_DX] || a->gpr[R_8] != b->gpr[R_8]))
		fz_fail("regs_preserved", "call 0x%lx status 0x%x: RDX/R8 changed (0x%lx 0x%lx -> 0x%lx 0x%lx)",
			(unsigned long)ctl, st, (unsigned long)b->gpr[R_DX], (unsigned long)b->gpr[R_8],
			(unsigned long)a->gpr[R_DX], (unsigned long)a->gpr[R_8]);
}

/* ---- the checks after every batch ------------------------------------------ */
static uint64_t canary_word(unsigned int i)
{
	uint64_t z = g_fz.seed ^ (0xC0FFEE0000000000ull + i);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	return z ^ (z >> 27);
}

static void canary_check(unsigned int first_page, unsigned int pages)
{
	const volatile uint64_t *c = (const uint64_t *)g_fz.canary;
	for (unsigned int i = first_page * 512; i < (first_page + pages) * 512; i++)
		if (c[i] != canary_word(i)) {
			fz_fail("canary", "canary word at 0x%lx is 0x%lx, expected 0x%lx",
				(unsigned long)(pa(g_fz.canary) + 8 * i), (unsigned long)c[i],
				(unsigned long)canary_word(i));
			return;
		}
}

static const uint8_t endbr[4] = { 0xF3, 0x0F, 0x1E, 0xFA };

static long hcall_page_diff(const uint8_t *p, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++) {
		uint8_t want = i < 4 ? endbr[i] : i < 7 ? (i == 6 ? (g_fz.amd ? 0xD9 : 0xC1) : (i == 4 ? 0x0F : 0x01))
			       : i == 7 ? 0xC3 : 0xCC;
		if (((const volatile uint8_t *)p)[i] != want)
			return i;
	}
	return -1;
}

/* Which enabled overlays cover the page of gpa (TLFS 5.2.1: an overlay
 * may sit anywhere, hypervisor memory included; it then shows its own
 * page): bit 0 hypercall, 1 VP assist, 2 reference TSC, 3 SIEFP, 4 SIMP
 * (TLFS 11.8.5, 11.8.6: the SynIC's pages are overlays too; an MSR the
 * hypervisor lacks reads as #GP and counts as off). */
static unsigned int overlays_at(uint64_t gpa)
{
	static const uint32_t msrs[5] = { MSR_HYPERCALL, MSR_VP_ASSIST, MSR_REF_TSC, MSR_SIEFP,
					  MSR_SIMP };
	unsigned int m = 0;
	for (unsigned int i = 0; i < 5; i++) {
		uint64_t v = 0;
		if (fz_rdmsr(msrs[i], &v) == VEC_NONE && (v & 1) &&
		    (v & PTE_ADDR) == (gpa & PTE_ADDR))
			m |= 1u << i;
	}
	return m;
}

static void known_good(void)
{
	fz_wrmsr(MSR_GUEST_OS_ID, OS_ID);
	if (!g_fz.locked)
		fz_wrmsr(MSR_HYPERCALL, pa(g_fz.ovl[0]) | HC_MSR_ENABLE);
	uint64_t h = 0, idx = ~0ull;
	fz_rdmsr(MSR_HYPERCALL, &h);
	fz_rdmsr(MSR_VP_INDEX, &idx);
	if (g_fz.locked && h != (pa(g_fz.ovl[0]) | HC_MSR_ENABLE | HC_MSR_LOCKED))
		fz_fail("lock_held", "HYPERCALL reads 0x%lx after the lock, expected 0x%lx",
			(unsigned long)h, (unsigned long)(pa(g_fz.ovl[0]) | 3));
	/* The hypercall sequence: the first 16 bytes. From 0x10 on, with
	 * VSM offered, the page holds the VTL call and return sequences at
	 * the offsets HvRegisterVsmCodePageOffsets reports (TLFS 15.6). */
	long off = overlays_at(pa(g_fz.ovl[0])) == 1 ? hcall_page_diff(g_fz.ovl[0], 16) : -1;
	if (off >= 0)
		fz_fail("hcall_page", "hypercall page at 0x%lx: byte %ld is 0x%x", (unsigned long)pa(g_fz.ovl[0]),
			off, g_fz.ovl[0][off]);

	uint64_t *in = (uint64_t *)g_fz.kg_in, *out = (uint64_t *)g_fz.kg_out;
	in[0] = PARTITION_SELF;
	in[1] = VP_SELF;
	in[2] = REG_VP_INDEX;
	out[0] = out[1] = PREFILL;
	struct fz_regs r;
	for (unsigned int i = 0; i < 16; i++)
		r.gpr[i] = rnd(), r.xmm[i][0] = rnd(), r.xmm[i][1] = rnd();
	uint64_t ctl = CALL_GET_VP_REGS | HC_REPS(1);
	r.gpr[R_CX] = ctl;
	r.gpr[R_DX] = pa(in);
	r.gpr[R_8] = pa(out);
	struct fz_regs before = r;
	int vec = fz_hcall(&r);
	fz_check_status(ctl, &before, &r, vec);
	if (vec != VEC_NONE || r.gpr[R_AX] != (1ull << 32) || out[0] != idx || out[1] != 0)
		fz_fail("known_good", "HvGetVpRegisters(VpIndex): %s, RAX 0x%lx, value 0x%lx:%lx, "
			"expected SUCCESS, 1 rep, 0x%lx (HYPERCALL 0x%lx)",
			vec_name(vec), (unsigned long)r.gpr[R_AX], (unsigned long)out[1],
			(unsigned long)out[0], (unsigned long)idx, (unsigned long)h);
}

static void batch_end(void)
{
	g_fz.n_batches++;
	cur_op = "batch-end";
	known_good();
	uint64_t probes[3] = { g_fz.hv_base, (g_fz.hv_base + g_fz.hv_size / 2) & ~7ull,
			       g_fz.hv_base + g_fz.hv_size - 8 };
	uint64_t v;
	for (unsigned int i = 0; i < 3; i++)
		if (!overlays_at(probes[i]) && fz_read64(probes[i], &v) == VEC_NONE)
			fz_fail("hvmem_hidden", "read at 0x%lx (hypervisor memory) returned 0x%lx",
				(unsigned long)probes[i], (unsigned long)v);
	canary_check((unsigned int)(g_fz.n_batches % (N_CANARY / 2)) * 2, 2);
}

/* TLFS 3.13: lock the hypercall MSR (enabled, at ovl[0]) for the rest. */
static void fz_lock(void)
{
	cur_op = "lock";
	fz_wrmsr(MSR_GUEST_OS_ID, OS_ID);
	fz_wrmsr(MSR_HYPERCALL, pa(g_fz.ovl[0]) | HC_MSR_ENABLE | HC_MSR_LOCKED);
	g_fz.locked = 1;
	ser_printf("GFUZZ LOCK at op %lu: HYPERCALL = 0x%lx\n", (unsigned long)g_fz.op_index,
		   (unsigned long)(pa(g_fz.ovl[0]) | 3));
}

/* ---- set-up ----------------------------------------------------------------- */
static EFI_PHYSICAL_ADDRESS alloc_pages(EFI_MEMORY_TYPE t, UINTN n)
{
	EFI_PHYSICAL_ADDRESS a = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, t, n, &a)))
		return 0;
	return a;
}

static uint64_t ram_top(void)
{
	UINTN size = 0, key, dsize;
	UINT32 dver;
	EFI_MEMORY_DESCRIPTOR *map = NULL;
	uefi_call_wrapper(BS->GetMemoryMap, 5, &size, map, &key, &dsize, &dver);
	size += 4 * 1024;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePool, 3, EfiLoaderData, size, (void **)&map)))
		return 0x20000000ull;
	if (EFI_ERROR(uefi_call_wrapper(BS->GetMemoryMap, 5, &size, map, &key, &dsize, &dver)))
		return 0x20000000ull;
	uint64_t top = 0;
	for (UINTN o = 0; o + dsize <= size; o += dsize) {
		EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((uint8_t *)map + o);
		if (d->Type == EfiConventionalMemory || d->Type == EfiBootServicesData ||
		    d->Type == EfiBootServicesCode || d->Type == EfiLoaderData ||
		    d->Type == EfiLoaderCode || d->Type == EfiACPIReclaimMemory) {
			uint64_t end = d->PhysicalStart + d->NumberOfPages * PAGE;
			if (end > top && end <= 0x100000000ull)
				top = end;
		}
	}
	return top ? top : 0x20000000ull;
}

static uint64_t parse_num(const CHAR16 *s, UINT32 n, UINT32 *i)
{
	uint64_t v = 0;
	unsigned int base = 10;
	if (*i + 1 < n && s[*i] == '0' && (s[*i + 1] == 'x' || s[*i + 1] == 'X'))
		base = 16, *i += 2;
	for (; *i < n; (*i)++) {
		CHAR16 c = s[*i];
		unsigned int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
				 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;
		if (d >= base)
			break;
		v = v * base + d;
	}
	return v;
}

/* guest_args: seed=N ops=N. */
static void parse_args(EFI_HANDLE image)
{
	EFI_LOADED_IMAGE *li = NULL;
	EFI_GUID guid = LOADED_IMAGE_PROTOCOL;
	if (EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, image, &guid, (void **)&li)) || !li ||
	    !li->LoadOptions)
		return;
	const CHAR16 *o = li->LoadOptions;
	UINT32 n = li->LoadOptionsSize / 2;
	for (UINT32 i = 0; i < n; i++) {
		static const char *const keys[] = { "seed=", "ops=" };
		for (unsigned int k = 0; k < 2; k++) {
			const char *w = keys[k];
			UINT32 j = i;
			while (*w && j < n && o[j] == (CHAR16)*w)
				j++, w++;
			if (*w || (i > 0 && o[i - 1] != ' '))
				continue;
			uint64_t v = parse_num(o, n, &j);
			if (k == 0)
				g_fz.seed = v;
			else
				g_fz.ops = v;
		}
	}
}

static void setup_idt(void)
{
	static struct {
		uint16_t lo, sel;
		uint8_t ist, type;
		uint16_t mid;
		uint32_t hi, rsvd;
	} idt[256] __attribute__((aligned(16)));
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} fw, ours;
	uint16_t cs;
	__asm__ volatile("sidt %0" : "=m"(fw));
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	const uint8_t *src = (const uint8_t *)fw.base;
	uint8_t *dst = (uint8_t *)idt;
	for (unsigned int i = 0; i < sizeof(idt); i++)
		dst[i] = i <= fw.limit ? src[i] : 0;
	for (unsigned int v = 0; v < 32; v++) {
		uint64_t a = (uint64_t)(uintptr_t)(fz_stubs + 16 * v);
		idt[v].lo = (uint16_t)a, idt[v].sel = cs, idt[v].ist = 0, idt[v].type = 0x8E;
		idt[v].mid = (uint16_t)(a >> 16), idt[v].hi = (uint32_t)(a >> 32), idt[v].rsvd = 0;
	}
	ours.limit = sizeof(idt) - 1;
	ours.base = (uint64_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(ours) : "memory");
}

static int setup(void)
{
	struct cpuid_regs r = cpuid(0x40000000u, 0), f = cpuid(0x40000003u, 0);
	const struct hv_info_table *info = find_hv_info();
	int present = r.ebx == 0x7263694D && r.ecx == 0x666F736F && r.edx == 0x76482074 &&
		      cpuid(0x40000001u, 0).eax == 0x31237648u;
	g_fz.priv = ((uint64_t)f.ebx << 32) | f.eax;
	g_fz.feat = f.edx;
	if (!check("gfuzz.setup.interface", present && info && (g_fz.priv & PRIV_HC_MSRS),
		   "no Hv#1 hypervisor with AccessHypercallMsrs and its info table"))
		return 0;
	g_fz.amd = info->vendor == HV_INFO_VENDOR_SVM;
	g_fz.hv_base = info->resident_base;
	g_fz.hv_size = info->resident_size;
	g_fz.pa_bits = cpuid(0x80000000u, 0).eax >= 0x80000008u ? cpuid(0x80000008u, 0).eax & 0xFF : 36;
	g_fz.lock_ok = (g_fz.feat & FEAT_MSR_LOCK) != 0;
	g_fz.ram_top = ram_top();

	EFI_PHYSICAL_ADDRESS io = alloc_pages(EfiBootServicesData, 4);
	EFI_PHYSICAL_ADDRESS ovl = alloc_pages(EfiBootServicesData, N_OVL);
	EFI_PHYSICAL_ADDRESS can = alloc_pages(EfiBootServicesData, N_CANARY);
	if (!check("gfuzz.setup.pages", io && ovl && can, "AllocatePages failed"))
		return 0;
	g_fz.in = (uint8_t *)(uintptr_t)io;
	g_fz.out = g_fz.in + PAGE;
	g_fz.kg_in = g_fz.in + 2 * PAGE;
	g_fz.kg_out = g_fz.in + 3 * PAGE;
	for (unsigned int i = 0; i < N_OVL; i++) {
		g_fz.ovl[i] = (uint8_t *)(uintptr_t)(ovl + i * PAGE);
		fill64(g_fz.ovl[i], PAT_P + ((uint64_t)i << 40), PAGE, 1);
	}
	g_fz.canary = (uint8_t *)(uintptr_t)can;
	for (unsigned int i = 0; i < N_CANARY * 512; i++)
		((uint64_t *)g_fz.canary)[i] = canary_word(i);

	/* The places a hypervisor must guard (overlay targets, parameter
	 * GPAs): the APIC page, its own memory, MMIO (IOAPIC, HPET, above
	 * RAM), the edges of the physical-address space, page 0. */
	uint64_t top = 1ull << g_fz.pa_bits;
	uint64_t sp[] = { APIC_GPA, g_fz.hv_base, (g_fz.hv_base + g_fz.hv_size / 2) & ~0xFFFull,
			  (g_fz.hv_base + g_fz.hv_size - 1) & ~0xFFFull, 0xFEC00000ull, 0xFED00000ull,
			  g_fz.ram_top, g_fz.ram_top + 0x100000, top - PAGE, top, top << 1,
			  0xFFFFFFFFFFFFF000ull, 0 };
	for (unsigned int i = 0; i < sizeof(sp) / sizeof(sp[0]); i++)
		g_fz.special[g_fz.n_special++] = sp[i];

	ser_printf("  info: %s, privileges 0x%lx, features 0x%x, hv memory 0x%lx+0x%lx, RAM top 0x%lx, "
		   "%u PA bits, pages: io 0x%lx ovl 0x%lx canary 0x%lx\n",
		   g_fz.amd ? "SVM" : "VMX", (unsigned long)g_fz.priv, g_fz.feat,
		   (unsigned long)g_fz.hv_base, (unsigned long)g_fz.hv_size, (unsigned long)g_fz.ram_top,
		   g_fz.pa_bits, (unsigned long)io, (unsigned long)ovl, (unsigned long)can);
	return 1;
}

/* ---- the run ------------------------------------------------------------------ */
static struct fz_op *pick(void)
{
	unsigned int total = 0;
	for (unsigned int i = 0; i < fz_n_ops; i++)
		total += fz_ops[i].weight;
	unsigned int x = (unsigned int)rnd_below(total);
	for (unsigned int i = 0; i < fz_n_ops; i++) {
		if (x < fz_ops[i].weight)
			return &fz_ops[i];
		x -= fz_ops[i].weight;
	}
	return &fz_ops[0];
}

static void finish(void)
{
	cur_op = "finish";
	canary_check(0, N_CANARY);
	/* All overlays off: the scratch pages they covered read as before
	 * (TLFS 5.2.1; ovl[0] keeps the locked hypercall page, the last
	 * took call outputs). */
	fz_wrmsr(MSR_VP_ASSIST, 0);
	fz_wrmsr(MSR_REF_TSC, 0);
	fz_wrmsr(MSR_SIEFP, 0);
	fz_wrmsr(MSR_SIMP, 0);
	if (!g_fz.locked)
		fz_wrmsr(MSR_HYPERCALL, 0);
	for (unsigned int i = g_fz.locked ? 1 : 0; i < N_OVL - 1; i++) {
		long off = diff64(g_fz.ovl[i], PAT_P + ((uint64_t)i << 40), PAGE, 1);
		if (off >= 0)
			fz_fail("overlay_uncovered", "scratch page 0x%lx offset 0x%lx reads 0x%lx",
				(unsigned long)pa(g_fz.ovl[i]), (unsigned long)off,
				(unsigned long)*(uint64_t *)(g_fz.ovl[i] + off));
	}
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	InitializeLib(image, systab);
	ser_puts("\r\nPAYLOAD START\n");
	g_fz.seed = 1;
	g_fz.ops = 20000;
	parse_args(image);
	g_fz.rng = g_fz.seed;
	ser_printf("GFUZZ START seed=0x%lx ops=%lu\n", (unsigned long)g_fz.seed, (unsigned long)g_fz.ops);
	uefi_call_wrapper(BS->SetWatchdogTimer, 4, 0, 0, 0, NULL);
	if (!setup()) {
		ser_printf("PAYLOAD DONE: %u passed, %u failed\n", g_passed, g_failed);
		payload_poweroff();
	}
	/* The last tenth runs with the hypercall MSR locked (one-way). */
	g_fz.lock_at = g_fz.lock_ok ? g_fz.ops - g_fz.ops / 10 : ~0ull;

	irq_save(); /* off for good: the run ends in a power-off */
	setup_idt();
	uint64_t t0 = rdtsc();
	known_good();
	for (g_fz.op_index = 0; g_fz.op_index < g_fz.ops; g_fz.op_index++) {
		if (g_fz.op_index == g_fz.lock_at)
			fz_lock();
		struct fz_op *op = pick();
		cur_op = op->name;
		op->count++;
		op->run();
		if ((g_fz.op_index + 1) % BATCH == 0)
			batch_end();
		if (g_fz.ops >= 10 && (g_fz.op_index + 1) % (g_fz.ops / 10) == 0)
			ser_printf("GFUZZ PROGRESS %lu/%lu findings %lu\n", (unsigned long)g_fz.op_index + 1,
				   (unsigned long)g_fz.ops, (unsigned long)g_fz.fails);
	}
	batch_end();
	finish();
	uint64_t ticks = rdtsc() - t0;

	ser_printf("GFUZZ OPS");
	for (unsigned int i = 0; i < fz_n_ops; i++)
		ser_printf(" %s=%lu", fz_ops[i].name, (unsigned long)fz_ops[i].count);
	ser_printf("\nGFUZZ CALLS hypercalls=%lu msrs=%lu mem=%lu ud=%lu gp=%lu nmis=%lu spurious=%lu batches=%lu\n",
		   (unsigned long)g_fz.n_hcall, (unsigned long)g_fz.n_msr, (unsigned long)g_fz.n_mem,
		   (unsigned long)g_fz.n_ud, (unsigned long)g_fz.n_gp, (unsigned long)fz_nmis, (unsigned long)fz_spurious,
		   (unsigned long)g_fz.n_batches);
	ser_printf("GFUZZ STATUS");
	for (unsigned int s = 0; s < 128; s++)
		if (g_fz.n_status[s])
			ser_printf(" 0x%x=%lu", s, (unsigned long)g_fz.n_status[s]);
	ser_printf("\n");
	check("gfuzz.ran", g_fz.op_index == g_fz.ops, "%lu of %lu operations",
	      (unsigned long)g_fz.op_index, (unsigned long)g_fz.ops);
	for (unsigned int c = 0; c < N_CHECKS; c++) {
		char name[48];
		fmt_name(name, sizeof(name), "gfuzz.%s", check_names[c]);
		check(name, fails[c] == 0, "%lu failures, the first at op %lu (seed 0x%lx)",
		      (unsigned long)fails[c], (unsigned long)first_fail[c], (unsigned long)g_fz.seed);
	}
	ser_printf("GFUZZ DONE seed=0x%lx ops=%lu findings=%lu tsc=%lu\n", (unsigned long)g_fz.seed,
		   (unsigned long)g_fz.op_index, (unsigned long)g_fz.fails, (unsigned long)ticks);
	ser_printf("PAYLOAD DONE: %u passed, %u failed\n", g_passed, g_failed);
	payload_poweroff();
}
