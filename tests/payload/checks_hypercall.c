/*
 * checks_hypercall.c - the hypercall interface from the guest's side:
 * detection, the guest OS ID, hypercall and VP index MSRs (TLFS 2.6, 3.13,
 * 7.8), the hypercall page overlay (TLFS 3.13, 5.2.1), #UD outside a legal
 * environment (TLFS 3.5: page disabled, CPL 3) and the lock. The calls
 * themselves are in checks_hcall_calls.c.
 *
 * The hypercall page is only ever called after its contents were verified,
 * and every call runs inside an exception window (hcall.asm). Locking the
 * hypercall MSR is permanent until reset, so it is tested last. Callers
 * other than 64-bit CPL 0 are tested elsewhere too: real mode (#UD, TLFS
 * 3.5) in checks_realmode.c, 32-bit (compatibility mode) callers (TLFS 3.7,
 * 3.8) in checks_mode32.c, both on the page this file leaves enabled.
 */
#include "hcall.h"
#include "px86.h"

struct hc_state g_hc;

void fill64(void *p, uint64_t v, unsigned int bytes, int count_up)
{
	uint64_t *q = p;
	for (unsigned int i = 0; i < bytes / 8; i++)
		q[i] = count_up ? v | (8ull * i) : v;
}

/* Offset of the first qword differing from the fill, or -1. */
long diff64(const void *p, uint64_t v, unsigned int bytes, int count_up)
{
	const volatile uint64_t *q = p;
	for (unsigned int i = 0; i < bytes / 8; i++)
		if (q[i] != (count_up ? v | (8ull * i) : v))
			return 8l * i;
	return -1;
}

static uint64_t rdmsr_or(uint32_t msr, uint64_t dflt)
{
	uint64_t v = dflt;
	if (trap_rdmsr(msr, &v) != VEC_NONE)
		return dflt;
	return v;
}

/* The page reads as the hypercall code page (TLFS 3.13): ENDBR64, the
 * vendor's instruction, RET, INT3 fill. Returns the first bad offset or -1. */
/* The byte at i of a VTL call (at 0x10) or return (at 0x20) sequence of
 * this hypervisor's page (TLFS 15.8; checks_vsm.c checks that
 * HvRegisterVsmCodePageOffsets names them): mov rax, rcx; mov ecx, code;
 * the hypercall instruction; ret. -1 outside them. */
static int vsm_seq_byte(unsigned int i)
{
	if (!(g_hc.priv & (1ull << 48)) || i < 0x10 || i >= 0x2c || (i & 0xf) >= 12)
		return -1;
	unsigned int k = i & 0xf;
	static const uint8_t head[4] = { 0x48, 0x89, 0xC8, 0xB9 };
	if (k < 4)
		return head[k];
	if (k < 8)
		return k == 4 ? (i < 0x20 ? 0x11 : 0x12) : 0;
	return k < 11 ? g_hc.insn[k - 8] : 0xC3;
}

long page_diff(const uint8_t *p)
{
	static const uint8_t endbr[4] = { 0xF3, 0x0F, 0x1E, 0xFA };
	for (unsigned int i = 0; i < PAGE; i++) {
		int v = vsm_seq_byte(i);
		uint8_t want = v >= 0 ? (uint8_t)v : i < 4 ? endbr[i] : i < 7 ? g_hc.insn[i - 4] : i == 7 ? 0xC3 : 0xCC;
		if (((const volatile uint8_t *)p)[i] != want)
			return i;
	}
	return -1;
}

/* One call through the page at 'page' inside an exception window. */
int call_page(struct hc_regs *r, void *page)
{
	uint64_t f = trap_window_enter(hc_stubs);
	int vec = hc_call(r, page);
	trap_window_leave(f);
	return vec;
}

int call(struct hc_regs *r) { return call_page(r, g_hc.p); }

/* Memory-based call (TLFS 3.7): RCX input value, RDX input GPA, R8 output. */
int call_slow(struct hc_regs *r, uint64_t ctl, uint64_t in, uint64_t out)
{
	*r = (struct hc_regs){ .rcx = ctl, .rdx = in, .r8 = out };
	return call(r);
}

/*
 * The result value (TLFS 3.8): status in bits 15:0, reps completed in bits
 * 43:32 (the rest is ignored), no exception, and one more value to compare
 * (what == NULL: none).
 */
int expect(const char *name, int vec, const struct hc_regs *r, unsigned int st,
	   unsigned int reps, const char *what, uint64_t got, uint64_t want)
{
	unsigned int gst = (unsigned int)(r->rax & 0xFFFF);
	unsigned int greps = (unsigned int)((r->rax >> 32) & 0xFFF);
	int ok = vec == VEC_NONE && gst == st && greps == reps && (!what || got == want);

	if (vec != VEC_NONE)
		return check(name, 0, "the call raised %s (vector 0x%x) at rip 0x%lx",
			     vec_name(vec), (unsigned int)vec, (unsigned long)hc_fault[2]);
	return check(name, ok, "RAX 0x%lx: status 0x%x reps %u, expected 0x%x reps %u; %s 0x%lx expected 0x%lx",
		     (unsigned long)r->rax, gst, greps, st, reps, what ? what : "-",
		     (unsigned long)got, (unsigned long)want);
}

/* ---- detection and setup ------------------------------------------------ */
static int hc_setup(void)
{
	struct cpuid_regs r = cpuid(0x40000000u, 0);
	struct cpuid_regs f = cpuid(0x40000003u, 0);
	const struct hv_info_table *info = find_hv_info();
	EFI_PHYSICAL_ADDRESS a = 0, b = 0, c = 0;

	/* TLFS 3.13 steps 1-2 and 9. */
	int present = ((cpuid(1, 0).ecx >> 31) & 1) && r.ebx == 0x7263694D &&
		      r.ecx == 0x666F736F && r.edx == 0x76482074 && r.eax >= 0x40000005u &&
		      cpuid(0x40000001u, 0).eax == 0x31237648u;
	g_hc.priv = ((uint64_t)f.ebx << 32) | f.eax;
	g_hc.feat = f.edx;
	if (!check("hc.interface", present && (g_hc.priv & PRIV_HC_MSRS),
		   "no \"Microsoft Hv\"/Hv#1 hypervisor with AccessHypercallMsrs (privileges 0x%lx): "
		   "hypercall checks skipped", (unsigned long)g_hc.priv))
		return 0;

	g_hc.amd = info ? info->vendor == HV_INFO_VENDOR_SVM : cpu_vendor() == VENDOR_AMD;
	g_hc.insn[0] = 0x0F, g_hc.insn[1] = 0x01, g_hc.insn[2] = g_hc.amd ? 0xD9 : 0xC1;
	g_hc.pa_bits = cpuid(0x80000000u, 0).eax >= 0x80000008u
			    ? cpuid(0x80000008u, 0).eax & 0xFF : 36;
	r = cpuid(0, 0);
	g_hc.apic = cpuid(1, 0).ebx >> 24;
	if (r.eax >= 0xB && cpuid(0xB, 0).ebx != 0)
		g_hc.apic = cpuid(0xB, 0).edx;

	/* Code pages for the hypercall page (executable in OVMF's page tables,
	 * which may map data pages NX), data pages for parameters. */
	EFI_STATUS s1 = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages,
					  EfiBootServicesCode, 1, &a);
	EFI_STATUS s2 = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages,
					  EfiBootServicesCode, 1, &b);
	EFI_STATUS s3 = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages,
					  EfiBootServicesData, 6, &c);
	if (!check("hc.setup.pages", !EFI_ERROR(s1) && !EFI_ERROR(s2) && !EFI_ERROR(s3),
		   "AllocatePages: 0x%lx 0x%lx 0x%lx", (unsigned long)s1,
		   (unsigned long)s2, (unsigned long)s3))
		return 0;
	g_hc.p = (uint8_t *)(uintptr_t)a;
	g_hc.q = (uint8_t *)(uintptr_t)b;
	g_hc.buf = (uint8_t *)(uintptr_t)c;
	fill64(g_hc.p, PAT_P, PAGE, 1);
	fill64(g_hc.q, PAT_Q, PAGE, 1);
	ser_printf("  info: hypercall pages 0x%lx 0x%lx, data 0x%lx, apic id 0x%x, %u PA bits\n",
		   (unsigned long)a, (unsigned long)b, (unsigned long)c, g_hc.apic, g_hc.pa_bits);
	return 1;
}

/* ---- MSRs and the page (TLFS 2.6, 3.13, 5.2.1) ---------------------------- */
static int wrmsr_check(const char *name, uint32_t msr, uint64_t val, uint64_t want)
{
	int vec = trap_wrmsr(msr, val);
	uint64_t got = rdmsr_or(msr, ~0ull);
	return check(name, vec == VEC_NONE && got == want,
		     "WRMSR 0x%x <- 0x%lx: %s; reads 0x%lx expected 0x%lx", msr,
		     (unsigned long)val, vec_name(vec), (unsigned long)got, (unsigned long)want);
}

static int page_check(const char *name, const uint8_t *p)
{
	long off = page_diff(p);
	return check(name, off < 0, "page 0x%lx byte 0x%lx is 0x%x", (unsigned long)pa(p),
		     (unsigned long)off, off < 0 ? 0 : p[off]);
}

static int pattern_check(const char *name, const uint8_t *p, uint64_t pat)
{
	long off = diff64(p, pat, PAGE, 1);
	return check(name, off < 0, "page 0x%lx offset 0x%lx reads 0x%lx, expected the original 0x%lx",
		     (unsigned long)pa(p), (unsigned long)off,
		     off < 0 ? 0ul : (unsigned long)*(const uint64_t *)(p + off),
		     (unsigned long)(pat | (uint64_t)off));
}

static void checks_msrs_initial(void)
{
	uint64_t v = ~0ull;
	int vec;

	vec = trap_rdmsr(MSR_GUEST_OS_ID, &v);
	check("hc.msr.guest_os_id.initial", vec == VEC_NONE && v == 0,
	      "RDMSR: %s, 0x%lx expected 0", vec_name(vec), (unsigned long)v);
	v = ~0ull;
	vec = trap_rdmsr(MSR_HYPERCALL, &v);
	check("hc.msr.hypercall.initial", vec == VEC_NONE && v == 0,
	      "RDMSR: %s, 0x%lx expected 0", vec_name(vec), (unsigned long)v);

	/* TLFS 7.8.1 (HV_X64_MSR_VP_INDEX): read-only, 0 on the BSP. */
	if (!(g_hc.priv & PRIV_VP_INDEX)) {
		check("hc.msr.vp_index", 0, "AccessVpIndex not advertised");
		return;
	}
	v = ~0ull;
	vec = trap_rdmsr(MSR_VP_INDEX, &v);
	check("hc.msr.vp_index.read", vec == VEC_NONE && v == 0,
	      "RDMSR: %s, 0x%lx expected 0", vec_name(vec), (unsigned long)v);
	check_vec("hc.msr.vp_index.write_gp", trap_wrmsr(MSR_VP_INDEX, 0), VEC_GP);
}

static void checks_enable(void)
{
	uint64_t bad = 1ull << g_hc.pa_bits;
	int vec;

	/* TLFS 3.13: no OS identity, the enable bit stays 0 and no page. */
	trap_wrmsr(MSR_HYPERCALL, pa(g_hc.p) | HC_MSR_ENABLE);
	uint64_t v = rdmsr_or(MSR_HYPERCALL, ~0ull);
	check("hc.msr.hypercall.needs_os_id", !(v & HC_MSR_ENABLE),
	      "guest OS ID 0, wrote 0x%lx, reads 0x%lx (enable expected 0)",
	      (unsigned long)(pa(g_hc.p) | 1), (unsigned long)v);
	pattern_check("hc.msr.hypercall.needs_os_id.no_page", g_hc.p, PAT_P);
	trap_wrmsr(MSR_HYPERCALL, 0);

	wrmsr_check("hc.msr.guest_os_id.write", MSR_GUEST_OS_ID, OS_ID, OS_ID);

	/* TLFS 3.13: a page beyond the GPA space is a #GP, MSR unchanged. */
	if (g_hc.pa_bits < 52) {
		vec = trap_wrmsr(MSR_HYPERCALL, bad | HC_MSR_ENABLE);
		v = rdmsr_or(MSR_HYPERCALL, ~0ull);
		check("hc.msr.hypercall.beyond_maxphyaddr_gp", vec == VEC_GP && v == 0,
		      "WRMSR 0x%lx: %s, reads 0x%lx expected #GP and 0", (unsigned long)(bad | 1),
		      vec_name(vec), (unsigned long)v);
	}

	wrmsr_check("hc.msr.hypercall.enable", MSR_HYPERCALL, pa(g_hc.p) | HC_MSR_ENABLE,
		    pa(g_hc.p) | HC_MSR_ENABLE);
	g_hc.page_ok = page_check("hc.page.contents", g_hc.p);

	/* Writes to the page raise #GP and change nothing. */
	vec = trap_write64(pa(g_hc.p) + 8, 0x1122334455667788ull);
	check("hc.page.write_gp", vec == VEC_GP && page_diff(g_hc.p) < 0,
	      "8-byte write at page+8: %s, expected #GP; page intact %d", vec_name(vec),
	      page_diff(g_hc.p) < 0);
}

/* ---- moving, disabling, #UD (TLFS 2.6, 3.5, 3.13) --------------------------- */
static void checks_page_moves(void)
{
	struct hc_regs r;

	wrmsr_check("hc.page.move", MSR_HYPERCALL, pa(g_hc.q) | HC_MSR_ENABLE,
		    pa(g_hc.q) | HC_MSR_ENABLE);
	int q_ok = page_check("hc.page.move.contents", g_hc.q);
	pattern_check("hc.page.restored_on_move", g_hc.p, PAT_P);
	/* A call through the page at its new place: HvExtCallQueryCapabilities
	 * writes 0 over the non-zero prefill. */
	if (q_ok && !(g_hc.priv & PRIV_EXT_CALLS)) {
		check("hc.page.move.call", 0, "EnableExtendedHypercalls not advertised");
	} else if (q_ok) {
		*(uint64_t *)P_OUT = PREFILL;
		r = (struct hc_regs){ .rcx = CALL_EXT_QUERY_CAPS, .r8 = pa(P_OUT) };
		int vec = call_page(&r, g_hc.q);
		expect("hc.page.move.call", vec, &r, ST_OK, 0, "capabilities", *(uint64_t *)P_OUT, 0);
	}

	wrmsr_check("hc.msr.hypercall.disable", MSR_HYPERCALL, pa(g_hc.q), pa(g_hc.q));
	pattern_check("hc.page.restored_on_disable", g_hc.q, PAT_Q);

	/* TLFS 3.13: the interface is off, the instruction is not a hypercall
	 * (and TLFS 3.5: only through the page). */
	check_vec("hc.ud.page_disabled",
		  trap_insn(g_hc.amd ? INSN_VMMCALL : INSN_VMCALL, P_USTACK), VEC_UD);

	/* TLFS 2.6: zeroing the guest OS ID disables the page. */
	trap_wrmsr(MSR_HYPERCALL, pa(g_hc.p) | HC_MSR_ENABLE);
	long off = page_diff(g_hc.p);
	trap_wrmsr(MSR_GUEST_OS_ID, 0);
	uint64_t v = rdmsr_or(MSR_HYPERCALL, ~0ull);
	check("hc.msr.guest_os_id.zero_disables", off < 0 && !(v & HC_MSR_ENABLE),
	      "page enabled at 0x%lx (contents ok %d), after guest OS ID <- 0 the MSR reads 0x%lx",
	      (unsigned long)pa(g_hc.p), off < 0, (unsigned long)v);
	pattern_check("hc.page.restored_on_os_id_zero", g_hc.p, PAT_P);

	/* Back on for what follows. */
	trap_wrmsr(MSR_GUEST_OS_ID, OS_ID);
	trap_wrmsr(MSR_HYPERCALL, pa(g_hc.p) | HC_MSR_ENABLE);
	g_hc.page_ok = page_check("hc.page.reenable", g_hc.p);
}

/* ---- the lock (TLFS 3.13): permanent until reset, so last ------------------ */
static void checks_lock(void)
{
	uint64_t locked = pa(g_hc.p) | HC_MSR_ENABLE | HC_MSR_LOCKED;

	if (!(g_hc.feat & FEAT_MSR_LOCK)) {
		check("hc.msr.hypercall.lock", 0, "hypercall MSR lock not advertised");
		return;
	}
	if (!wrmsr_check("hc.msr.hypercall.lock", MSR_HYPERCALL, locked, locked))
		return;
	wrmsr_check("hc.msr.hypercall.lock.ignores_disable", MSR_HYPERCALL, 0, locked);
	wrmsr_check("hc.msr.hypercall.lock.ignores_move", MSR_HYPERCALL,
		    pa(g_hc.q) | HC_MSR_ENABLE, locked);
	pattern_check("hc.msr.hypercall.lock.no_page_at_new_gpa", g_hc.q, PAT_Q);
	if (!page_check("hc.msr.hypercall.lock.page_contents", g_hc.p))
		return;
	struct hc_regs r;
	int vec = call_slow(&r, CALL_SPIN_WAIT, pa(P_IN), 0);
	expect("hc.msr.hypercall.lock.page_works", vec, &r, ST_OK, 0, NULL, 0, 0);
}

/* ---- a hypercall from CPL 3 raises #UD (TLFS 3.5) ------------------------- */
struct __attribute__((packed)) tss64 {
	uint32_t rsvd0;
	uint64_t rsp[3];
	uint64_t rsvd1, ist[7], rsvd2;
	uint16_t rsvd3, iomap;
};
struct __attribute__((packed)) dtr {
	uint16_t limit;
	uint64_t base;
};
struct pte_save {
	uint64_t *e, v;
};

static uint64_t g_gdt[64] __attribute__((aligned(16)));
static struct tss64 g_tss __attribute__((aligned(16)));
static uint8_t g_kstack[4096] __attribute__((aligned(16)));

#define CR4_SMEP_SMAP (3ull << 20)

static void tlb_flush(void)
{
	uint64_t cr4 = read_cr4();
	if (cr4 & CR4_PGE) {
		write_cr4(cr4 & ~CR4_PGE);
		write_cr4(cr4);
	} else {
		write_cr3(read_cr3());
	}
}

/* Set U and clear NX along the page walk of va (OVMF maps everything
 * supervisor-only), saving each entry. CR0.WP must be clear. */
static int pt_user(uint64_t va, struct pte_save *s, unsigned int *n)
{
	uint64_t *t = (uint64_t *)(uintptr_t)(read_cr3() & PTE_ADDR);

	for (int l = (read_cr4() & CR4_LA57) ? 5 : 4; l >= 1; l--) {
		uint64_t *e = &t[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(*e & 1) || *n >= 12)
			return 0;
		s[(*n)++] = (struct pte_save){ e, *e };
		*e = (*e | 4) & ~(1ull << 63);
		if (l == 1 || (l <= 3 && (*e & 0x80)))
			break;
		t = (uint64_t *)(uintptr_t)(*e & PTE_ADDR);
	}
	return 1;
}

/*
 * Run at CPL 3 from rip (stack: the top of P_USTACK, filled with HLT)
 * until an exception, whose vector is returned (hc_fault: RIP, CS); -2
 * when the set-up failed (*why says). Needs ring-3 segments and a TSS
 * (RSP0) in a copy of the firmware GDT; the guest page tables get U=1 on
 * the way to rip and the stack, SMEP/SMAP off meanwhile, all restored.
 */
int hc_run_cpl3(uint64_t rip, struct hc_regs *r, const char **why)
{
	struct dtr fw, ours;
	uint16_t tr = 0, sel;
	struct pte_save s[12];
	unsigned int n = 0, ents;
	uint64_t top = pa(P_USTACK) + PAGE - 16;
	int vec = -2, ok;

	__asm__ volatile("sgdt %0; str %1" : "=m"(fw), "=r"(tr));
	ents = (fw.limit + 1u) / 8u;
	*why = "firmware GDT too large";
	if (ents + 4 > 64)
		return -2;
	for (unsigned int i = 0; i < ents; i++)
		g_gdt[i] = ((const uint64_t *)(uintptr_t)fw.base)[i];
	uint64_t tb = pa(&g_tss), tl = sizeof(g_tss) - 1;
	g_gdt[ents] = 0x00CFF2000000FFFFull;     /* data, DPL 3 */
	g_gdt[ents + 1] = 0x00AFFA000000FFFFull; /* 64-bit code, DPL 3 */
	g_gdt[ents + 2] = (tl & 0xFFFF) | (tb & 0xFFFFFF) << 16 | 0x89ull << 40 |
			  ((tl >> 16) & 0xF) << 48 | ((tb >> 24) & 0xFF) << 56;
	g_gdt[ents + 3] = tb >> 32;
	g_tss = (struct tss64){ .iomap = sizeof(g_tss) };
	g_tss.rsp[0] = pa(g_kstack + sizeof(g_kstack));
	ours = (struct dtr){ (uint16_t)((ents + 4) * 8 - 1), pa(g_gdt) };

	fill64(P_USTACK, 0xF4F4F4F4F4F4F4F4ull, PAGE, 0); /* HLT */
	*(uint64_t *)(uintptr_t)top = pa(P_USTACK);

	uint64_t f = trap_window_enter(hc_stubs);
	uint64_t cr0 = read_cr0(), cr4 = read_cr4();
	write_cr0(cr0 & ~CR0_WP); /* the page tables may be read-only */
	ok = pt_user(rip, s, &n) && pt_user(top, s, &n);
	write_cr0(cr0);
	*why = "page walk failed";
	if (ok) {
		write_cr4(cr4 & ~CR4_SMEP_SMAP);
		tlb_flush();
		sel = (uint16_t)((ents + 2) * 8);
		__asm__ volatile("lgdt %0; ltr %1" : : "m"(ours), "r"(sel) : "memory");
		vec = hc_user(rip, top, (ents + 1) * 8 + 3, ents * 8 + 3, r);
		__asm__ volatile("lgdt %0" : : "m"(fw) : "memory");
		/* The firmware's TSS: mark it available again, reload. A TR
		 * beyond the firmware GDT is ours from an earlier run (the
		 * firmware had none, TR stays on g_tss): nothing to restore. */
		if (tr && tr + 15u <= fw.limit) {
			write_cr0(cr0 & ~CR0_WP);
			((uint8_t *)(uintptr_t)fw.base)[tr + 5] &= (uint8_t)~2u;
			write_cr0(cr0);
			__asm__ volatile("ltr %0" : : "r"(tr) : "memory");
		}
		write_cr4(cr4);
	}
	write_cr0(cr0 & ~CR0_WP);
	while (n--)
		*s[n].e = s[n].v;
	write_cr0(cr0);
	tlb_flush();
	trap_window_leave(f);
	return vec;
}

/*
 * IRETQ to CPL 3 straight at the hypercall page with RCX = a valid fast
 * HvExtCallQueryCapabilities: the VMMCALL/VMCALL at page+4 must raise #UD.
 * Should the call be executed instead, the page's RET lands on HLT bytes
 * (#GP at CPL 3).
 */
static void checks_cpl3(void)
{
	uint64_t rip = pa(g_hc.p);
	struct hc_regs r = { .rcx = CALL_EXT_QUERY_CAPS | HC_FAST };
	const char *why = "";
	int vec = hc_run_cpl3(rip, &r, &why);
	check("hc.ud.cpl3", vec == VEC_UD && hc_fault[2] == rip + 4 && (hc_fault[3] & 3) == 3,
	      "%s: got %s (vector 0x%x) at rip 0x%lx cs 0x%lx, expected #UD at 0x%lx from CPL 3",
	      vec == -2 ? why : "hypercall page at CPL 3", vec_name(vec),
	      (unsigned int)vec, (unsigned long)hc_fault[2], (unsigned long)hc_fault[3],
	      (unsigned long)(rip + 4));
}

void checks_hypercall(void)
{
	if (!hc_setup())
		return;
	checks_msrs_initial();
	checks_enable();
	if (!g_hc.page_ok) {
		check("hc.calls", 0, "skipped: the hypercall page is not in place");
		return;
	}
	checks_simple();
	checks_vp_index();
	checks_errors();
	checks_page_moves();
	if (!g_hc.page_ok)
		return;
	checks_cpl3();
	checks_lock();
}