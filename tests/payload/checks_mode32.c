/*
 * checks_mode32.c - hypercalls from a 32-bit (x86) caller: compatibility
 * mode under long mode (TLFS 3.7: the caller is 64-bit only when EFER.LMA
 * and CS.L are both set). The register mapping is then EDX:EAX (input
 * value), EBX:ECX (input GPA), EDI:ESI (output GPA) with the result in
 * EDX:EAX (TLFS 3.7, 3.8); XMM fast output is x64-only (TLFS 3.8.1); R8 and
 * the upper register halves play no part. The calls: HvExtCallQueryCapabilities
 * (simple, 8-byte output) and HvGetVpIndexFromApicId (rep, input and output
 * in memory, continuation).
 *
 * mode32.asm switches to compatibility mode through a 32-bit flat code
 * segment of the firmware's GDT and calls the hypercall page that
 * checks_hypercall.c enabled (and locked: it stays enabled). Code, stack
 * and buffers must be below 4 GiB, which they are under OVMF (checked).
 */
#include "hcall.h"

struct m32_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, r8, rbp; /* loaded in 64-bit mode */
	uint32_t eax, ebx, ecx, edx, esi, edi;          /* after the call */
};
_Static_assert(offsetof(struct m32_regs, eax) == 64, "mode32.asm layout");
_Static_assert(offsetof(struct m32_regs, edi) == 84, "mode32.asm layout");

extern char m32_stubs[] HIDDEN;
extern char m32_probe[] HIDDEN;
extern uint64_t m32_fault[4] HIDDEN; /* vector, error code, RIP, CS */
int m32_call(struct m32_regs *r, uint64_t cs32, void *page) HIDDEN;

#define LOW4G(x) ((uint64_t)(x) < 0xFFFF0000ull)
#define GARBAGE(n) (0xDEAD000000000000ull | ((uint64_t)(n) << 32))
#define VP_FILL 0xEEEEEEEEu

static uint16_t g_cs32;

struct __attribute__((packed)) dtr32 {
	uint16_t limit;
	uint64_t base;
};

/*
 * A present, DPL 0 code segment with L = 0, D = 1, base 0 and a 4 GiB limit
 * (G = 1, limit 0xFFFFF) in the current GDT: 0 if none. 16-byte system
 * descriptors have P = 0 in their upper half, so an 8-byte scan is safe.
 */
static uint16_t find_cs32(void)
{
	struct dtr32 g;
	__asm__ volatile("sgdt %0" : "=m"(g));
	const uint64_t *d = (const uint64_t *)(uintptr_t)g.base;
	for (unsigned int i = 1; i < (g.limit + 1u) / 8u; i++) {
		uint64_t e = d[i];
		uint64_t base = ((e >> 16) & 0xFFFFFF) | ((e >> 56) << 24);
		uint64_t limit = (e & 0xFFFF) | ((e >> 32) & 0xF0000);
		int code = ((e >> 43) & 3) == 3; /* S = 1, executable */
		if (((e >> 47) & 1) && code && ((e >> 45) & 3) == 0 && !((e >> 53) & 1) &&
		    ((e >> 54) & 1) && ((e >> 55) & 1) && base == 0 && limit == 0xFFFFF)
			return (uint16_t)(i * 8);
	}
	return 0;
}

static int call32_page(struct m32_regs *r, void *page)
{
	uint64_t f = trap_window_enter(m32_stubs);
	int vec = m32_call(r, g_cs32, page);
	trap_window_leave(f);
	return vec;
}

/*
 * One 32-bit call with the TLFS 3.7 x86 mapping. upper != 0: garbage in
 * the upper halves of RAX, RBX, RCX, RDX, RSI, RDI (read as an x64 call,
 * RCX would have reserved bits set). r8: the value R8 holds.
 */
static int call32(struct m32_regs *r, uint64_t ctl, uint64_t in, uint64_t out, int upper,
		  uint64_t r8)
{
	*r = (struct m32_regs){
		.rax = (uint32_t)ctl | (upper ? GARBAGE(1) : 0),
		.rdx = (ctl >> 32) | (upper ? GARBAGE(2) : 0),
		.rcx = (uint32_t)in | (upper ? GARBAGE(3) : 0),
		.rbx = (in >> 32) | (upper ? GARBAGE(4) : 0),
		.rsi = (uint32_t)out | (upper ? GARBAGE(5) : 0),
		.rdi = (out >> 32) | (upper ? GARBAGE(6) : 0),
		.r8 = r8,
		.rbp = GARBAGE(7),
		.eax = 0xCCCCCCCCu, .edx = 0xCCCCCCCCu,
	};
	return call32_page(r, g_hc.p);
}

/* The result in EDX:EAX (TLFS 3.8): status 15:0, reps completed 43:32. */
static int expect32(const char *name, int vec, const struct m32_regs *r, unsigned int st,
		    unsigned int reps, const char *what, uint64_t got, uint64_t want)
{
	uint64_t res = ((uint64_t)r->edx << 32) | r->eax;
	unsigned int gst = (unsigned int)(res & 0xFFFF);
	unsigned int greps = (unsigned int)((res >> 32) & 0xFFF);

	if (vec != VEC_NONE)
		return check(name, 0, "the 32-bit call raised %s (vector 0x%x) at rip 0x%lx cs 0x%lx",
			     vec_name(vec), (unsigned int)vec, (unsigned long)m32_fault[2],
			     (unsigned long)m32_fault[3]);
	return check(name, gst == st && greps == reps && (!what || got == want),
		     "EDX:EAX 0x%x:0x%x: status 0x%x reps %u, expected 0x%x reps %u; %s 0x%lx "
		     "expected 0x%lx", r->edx, r->eax, gst, greps, st, reps, what ? what : "-",
		     (unsigned long)got, (unsigned long)want);
}

/* TLFS 3.9: besides EDX:EAX, the call leaves EBX, ECX, ESI, EDI alone. */
static void expect_preserved(const char *name, int vec, const struct m32_regs *r)
{
	check(name, vec == VEC_NONE && r->ebx == (uint32_t)r->rbx && r->ecx == (uint32_t)r->rcx &&
	      r->esi == (uint32_t)r->rsi && r->edi == (uint32_t)r->rdi,
	      "%s; EBX ECX ESI EDI 0x%x 0x%x 0x%x 0x%x, expected 0x%x 0x%x 0x%x 0x%x",
	      vec_name(vec), r->ebx, r->ecx, r->esi, r->edi, (uint32_t)r->rbx,
	      (uint32_t)r->rcx, (uint32_t)r->rsi, (uint32_t)r->rdi);
}

/* Compatibility mode works at all: m32_probe is INC EAX; RET there. */
static int selftest(void)
{
	struct m32_regs r = { .rax = 0x1234, .rbx = 0xB, .rcx = 0xC, .rdx = 0xD,
			      .rsi = 0x5, .rdi = 0xD1 };
	int local;

	g_cs32 = find_cs32();
	if (!check("m32.setup.cs32", g_cs32 != 0,
		   "no present DPL 0 flat code segment with L=0 D=1 in the firmware GDT"))
		return 0;
	ser_printf("  info: 32-bit code selector 0x%x\n", g_cs32);
	if (!check("m32.setup.below_4g", LOW4G(m32_call) && LOW4G(m32_probe) && LOW4G(&local) &&
		   LOW4G(&r) && (!g_hc.buf || LOW4G(g_hc.buf + 6 * PAGE)) &&
		   (!g_hc.p || LOW4G(g_hc.p + PAGE)),
		   "code 0x%lx, stack 0x%lx, hypercall page 0x%lx, buffers 0x%lx: not all below "
		   "4 GiB", (unsigned long)pa(m32_call), (unsigned long)pa(&local),
		   (unsigned long)pa(g_hc.p), (unsigned long)pa(g_hc.buf)))
		return 0;
	int vec = call32_page(&r, m32_probe);
	return check("m32.selftest.compat_mode", vec == VEC_NONE && r.eax == 0x1235 &&
		     r.ebx == 0xB && r.ecx == 0xC && r.edx == 0xD && r.esi == 0x5 && r.edi == 0xD1,
		     "%s (vector 0x%x at rip 0x%lx); EAX 0x%x expected 0x1235 (INC EAX ran in "
		     "compatibility mode), EBX ECX EDX ESI EDI 0x%x 0x%x 0x%x 0x%x 0x%x",
		     vec_name(vec), (unsigned int)vec, (unsigned long)m32_fault[2], r.eax, r.ebx,
		     r.ecx, r.edx, r.esi, r.edi);
}

static void vp_input(uint8_t *in, unsigned int n, uint32_t apic)
{
	*(uint64_t *)in = PARTITION_SELF;
	*(uint64_t *)(in + 8) = 0;
	for (unsigned int i = 0; i < n; i++)
		((uint32_t *)(in + 16))[i] = apic;
}

static unsigned int first_not(const uint32_t *p, unsigned int from, unsigned int to, uint32_t v)
{
	while (from < to && p[from] == v)
		from++;
	return from;
}

/*
 * The simple call with an 8-byte output is HvExtCallQueryCapabilities (no
 * input, output 0; HvGetPartitionId is not granted, checks_hcall_calls.c).
 * Its 0 lands on a non-zero prefill, so a write is visible wherever it
 * goes: the prefilled page at EDI:ESI reading 0 and the one at R8 still
 * reading the prefill show which register the output GPA came from.
 */
static void checks_simple32(void)
{
	uint64_t *out = (uint64_t *)P_OUT, *out2 = (uint64_t *)P_OUT2;
	struct m32_regs r;
	int vec;

	/* Clean: upper halves 0, R8 0. */
	out[0] = PREFILL;
	vec = call32(&r, CALL_EXT_QUERY_CAPS, 0, pa(P_OUT), 0, 0);
	expect32("m32.ext_query_caps", vec, &r, ST_OK, 0, "capabilities", out[0], 0);
	expect_preserved("m32.ext_query_caps.regs_preserved", vec, &r);

	/* Upper halves of all six registers garbage: only the 32-bit halves
	 * count (read as x64, RCX = 0xDEAD0003_00000000 has reserved bits). */
	out[0] = PREFILL;
	vec = call32(&r, CALL_EXT_QUERY_CAPS, 0, pa(P_OUT), 1, 0);
	expect32("m32.ext_query_caps.ignores_upper_halves", vec, &r, ST_OK, 0, "capabilities",
		 out[0], 0);

	/* R8 (the x64 output GPA) points at another page: untouched, the 0
	 * goes to EDI:ESI. */
	out[0] = PREFILL;
	out2[0] = PREFILL;
	vec = call32(&r, CALL_EXT_QUERY_CAPS, 0, pa(P_OUT), 0, pa(P_OUT2));
	expect32("m32.ext_query_caps.ignores_r8", vec, &r, ST_OK, 0, "capabilities at EDI:ESI",
		 out[0], 0);
	check("m32.ext_query_caps.ignores_r8.no_write", vec == VEC_NONE && out2[0] == PREFILL,
	      "%s; the page at R8 (0x%lx) reads 0x%lx, expected 0x%lx untouched", vec_name(vec),
	      (unsigned long)pa(P_OUT2), (unsigned long)out2[0], (unsigned long)PREFILL);

	/* XMM fast output is x64-only (TLFS 3.8.1): a fast
	 * HvExtCallQueryCapabilities (no input, 8 bytes of output) from a
	 * 32-bit caller. Clean upper halves: the status must come from the XMM
	 * output alone. */
	vec = call32(&r, CALL_EXT_QUERY_CAPS | HC_FAST, 0, 0, 0, 0);
	expect32("m32.ext_query_caps.fast_xmm_output_rejected", vec, &r, ST_BAD_INPUT, 0, NULL,
		 0, 0);
}

static void checks_rep(void)
{
	uint32_t *out = (uint32_t *)P_OUT;
	struct m32_regs r;
	int vec;

	if (!(g_hc.priv & PRIV_VP_INDEX)) {
		check("m32.vp_from_apic", 0, "AccessVpIndex not advertised");
		return;
	}
	/* Rep count 2 in EDX bits 11:0 (input value 43:32); an unknown APIC
	 * ID at element 1: status 5 in EAX, 1 rep completed in EDX. */
	vp_input(P_IN, 2, g_hc.apic);
	((uint32_t *)(P_IN + 16))[1] = UNKNOWN_APIC;
	for (unsigned int i = 0; i < 4; i++)
		out[i] = VP_FILL;
	vec = call32(&r, CALL_VP_FROM_APIC | HC_REPS(2), pa(P_IN), pa(P_OUT), 1, GARBAGE(8));
	check("m32.vp_from_apic.unknown_apic", vec == VEC_NONE && r.eax == ST_BAD_PARAM && r.edx == 1,
	      "%s (vector 0x%x at rip 0x%lx); EAX 0x%x EDX 0x%x, expected EAX 0x5 "
	      "(HV_STATUS_INVALID_PARAMETER) EDX 0x1 (1 rep completed)", vec_name(vec),
	      (unsigned int)vec, (unsigned long)m32_fault[2], r.eax, r.edx);
	check("m32.vp_from_apic.unknown_apic.output", vec == VEC_NONE && out[0] == 0,
	      "%s; element 0 is 0x%x, expected VP index 0", vec_name(vec), out[0]);
	expect_preserved("m32.vp_from_apic.regs_preserved", vec, &r);

	/* Continuation (TLFS 3.3, 3.9): the new start index goes back in
	 * EDX:EAX and the call resumes from there; 1000 reps complete. */
	vp_input(P_IN2, 1000, g_hc.apic);
	for (unsigned int i = 0; i < 1000; i++)
		((uint32_t *)P_OUT2)[i] = VP_FILL;
	vec = call32(&r, CALL_VP_FROM_APIC | HC_REPS(1000), pa(P_IN2), pa(P_OUT2), 1, GARBAGE(8));
	expect32("m32.rep.continuation", vec, &r, ST_OK, 1000, "first bad element",
		 first_not((uint32_t *)P_OUT2, 0, 1000, 0), 1000);
}

void checks_mode32(void)
{
	if (!selftest())
		return;
	if (!g_hc.page_ok) {
		check("m32.calls", 0, "skipped: the hypercall page is not in place");
		return;
	}
	uint64_t v = 0;
	if (trap_rdmsr(MSR_HYPERCALL, &v) != VEC_NONE || !(v & HC_MSR_ENABLE) ||
	    (v & ~0xFFFull) != pa(g_hc.p) || page_diff(g_hc.p) >= 0) {
		check("m32.calls", 0, "skipped: hypercall MSR 0x%lx, page at 0x%lx not in place",
		      (unsigned long)v, (unsigned long)pa(g_hc.p));
		return;
	}
	if (!(g_hc.priv & PRIV_EXT_CALLS))
		check("m32.ext_query_caps", 0, "EnableExtendedHypercalls not advertised");
	else
		checks_simple32();
	checks_rep();
}
