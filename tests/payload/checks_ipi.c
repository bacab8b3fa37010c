/*
 * checks_ipi.c - HvCallSendSyntheticClusterIpi and ...Ex (TLFS 10.5.2,
 * 10.5.3): fixed interrupts to one VP, to a sparse set, to all (the mask
 * and the generic set "all", TLFS 7.8.7.3) and to the caller itself,
 * memory-based and fast, counted at each target; and their bad inputs.
 *
 * Every AP runs the worker of checks_tlb.c; on request it loads a copy of
 * the firmware's IDT whose IPI_VEC gate is apw_isr (ptlb.asm) and enables
 * interrupts. The handler counts by VP index and EOIs through
 * HV_X64_MSR_EOI. The BSP loads the same IDT. After each call the BSP
 * waits until every expected interrupt arrived, then a little longer, and
 * checks the exact counts on every VP: no interrupt missing, duplicated or
 * sent to a VP not named.
 */
#include "hcall.h"
#include "px86.h"

#define IPI_VEC 0xE3
#define PRIV_INTR_CTRL (1ull << 4)

static struct idt_gate g_idt[256] __attribute__((aligned(16)));
static uint64_t g_all; /* VP mask of the processors taking interrupts */

static void clear_counts(void)
{
	for (unsigned int i = 0; i < 64; i++)
		apw_ipi_count[i] = 0;
}

/* Wait for every VP in want to count one, then settle a while; returns
 * the mask of VPs whose count differs from (want ? 1 : 0). */
static uint64_t wait_counts(uint64_t want, uint64_t *seen)
{
	uint64_t t0 = rdtsc(), lim = apw_ticks(2000), settle = apw_ticks(20);
	for (;;) {
		uint64_t got = 0;
		for (unsigned int i = 0; i < 64; i++)
			if (apw_ipi_count[i])
				got |= 1ull << i;
		if ((got & want) == want || rdtsc() - t0 > lim)
			break;
		__asm__ volatile("pause");
	}
	for (uint64_t t1 = rdtsc(); rdtsc() - t1 < settle;)
		__asm__ volatile("pause");
	uint64_t bad = 0;
	*seen = 0;
	for (unsigned int i = 0; i < 64; i++) {
		uint64_t c = apw_ipi_count[i];
		if (c)
			*seen |= 1ull << i;
		if (c != ((want >> i) & 1))
			bad |= 1ull << i;
	}
	return bad;
}

/* One call; `want` is the VP mask that must take exactly one interrupt
 * (none for a failing call). */
static void ipi_case(const char *name, uint64_t ctl, const uint64_t *w, unsigned int n, int fast,
		     unsigned int st, uint64_t want)
{
	struct hc_regs r;
	char nm[80];
	clear_counts();
	int vec = call_words(&r, ctl, w, n, fast);
	uint64_t seen, bad = wait_counts(want, &seen);
	fmt_name(nm, sizeof(nm), "%s.status", name);
	expect(nm, vec, &r, st, 0, NULL, 0, 0);
	fmt_name(nm, sizeof(nm), "%s.%s", name, want ? "delivered_exactly" : "none_delivered");
	uint64_t counts[4];
	for (unsigned int i = 0; i < 4; i++)
		counts[i] = apw_ipi_count[i];
	check(nm, !bad, "VPs with a wrong count: 0x%lx (expected one each at 0x%lx, got some at 0x%lx; "
	      "VP0-3 counts %lu %lu %lu %lu)", (unsigned long)bad, (unsigned long)want,
	      (unsigned long)seen, (unsigned long)counts[0], (unsigned long)counts[1],
	      (unsigned long)counts[2], (unsigned long)counts[3]);
}

/* HvCallSendSyntheticClusterIpi: Vector, TargetVtl, 3 reserved bytes,
 * ProcessorMask. */
static void ipi_mask(const char *name, int fast, uint64_t hdr, uint64_t mask, unsigned int st,
		     uint64_t want)
{
	uint64_t w[2] = { hdr, mask };
	ipi_case(name, CALL_SEND_IPI, w, 2, fast, st, want);
}

/* ...Ex: Vector, TargetVtl, rsvd, then HV_VP_SET {Format, ValidBanksMask,
 * banks} with `banks` bank words in the variable header. */
static void ipi_ex(const char *name, int fast, uint64_t hdr, uint64_t format, uint64_t valid,
		   unsigned int banks, const uint64_t *bank, unsigned int st, uint64_t want)
{
	uint64_t w[8] = { hdr, format, valid };
	for (unsigned int i = 0; i < banks && i < 5; i++)
		w[3 + i] = bank[i];
	ipi_case(name, CALL_SEND_IPI_EX | HC_VARHDR(banks), w, 3 + banks, fast, st, want);
}

static void deliveries(uint64_t aps)
{
	uint64_t first = aps & -aps;
	uint64_t last = aps ? 1ull << (63 - __builtin_clzll(aps)) : 0;
	uint64_t sparse = first | last;
	uint64_t v = IPI_VEC;

	/* To itself. */
	ipi_mask("ipi.mask.slow.self", 0, v, 1, ST_OK, 1);
	ipi_mask("ipi.mask.fast.self", 1, v, 1, ST_OK, 1);
	ipi_ex("ipi.ex.slow.self", 0, v, SET_SPARSE, 1, 1, (uint64_t[]){ 1 }, ST_OK, 1);
	ipi_ex("ipi.ex.fast.self", 1, v, SET_SPARSE, 1, 1, (uint64_t[]){ 1 }, ST_OK, 1);
	/* TargetVtl with "use target VTL" and VTL 0: this VTL. */
	ipi_mask("ipi.mask.slow.target_vtl0", 0, v | (0x10ull << 32), 1, ST_OK, 1);
	if (aps) {
		/* One other VP. */
		ipi_mask("ipi.mask.slow.one_vp", 0, v, first, ST_OK, first);
		ipi_mask("ipi.mask.fast.one_vp", 1, v, first, ST_OK, first);
		ipi_ex("ipi.ex.slow.one_vp", 0, v, SET_SPARSE, 1, 1, (uint64_t[]){ last }, ST_OK, last);
		/* A sparse set ({1, 3} with 4 processors), with the caller. */
		ipi_ex("ipi.ex.slow.sparse", 0, v, SET_SPARSE, 1, 1, (uint64_t[]){ sparse | 1 }, ST_OK,
		       sparse | 1);
		ipi_ex("ipi.ex.fast.sparse", 1, v, SET_SPARSE, 1, 1, (uint64_t[]){ sparse }, ST_OK,
		       sparse);
	}
	/* Everyone: the mask and the generic set "all" (no banks). */
	ipi_mask("ipi.mask.slow.all", 0, v, g_all, ST_OK, g_all);
	ipi_mask("ipi.mask.fast.all", 1, v, g_all, ST_OK, g_all);
	ipi_ex("ipi.ex.slow.set_all", 0, v, SET_ALL, 0, 0, NULL, ST_OK, g_all);
	ipi_ex("ipi.ex.fast.set_all", 1, v, SET_ALL, 0, 0, NULL, ST_OK, g_all);
	if (aps) {
		/* A VP idle in HLT (as an OS's idle loop): the IPI wakes it, a
		 * flush naming it returns (its kick is a spurious wake-up), and
		 * it still takes the next IPI and answers afterwards. */
		struct hc_regs r;
		uint64_t seen;
		apw_halt((unsigned int)__builtin_ctzll(first), 1);
		clear_counts();
		wait_counts(0, &seen); /* 20 ms: it is in HLT now */
		ipi_mask("ipi.mask.slow.halted_vp", 0, v, first, ST_OK, first);
		uint64_t w[3] = { 0, FLUSH_ALL_SPACES, first };
		int vec = call_words(&r, CALL_FLUSH_SPACE, w, 3, 0);
		expect("ipi.halted_vp.flush_returns", vec, &r, ST_OK, 0, NULL, 0, 0);
		ipi_mask("ipi.mask.fast.halted_vp_after_flush", 1, v, first, ST_OK, first);
		apw_halt((unsigned int)__builtin_ctzll(first), 0);
		call_words(&r, CALL_SEND_IPI, (uint64_t[]){ v, first }, 2, 1); /* wake it */
		wait_counts(first, &seen);
		check("ipi.halted_vp.answers", apw_cmd((unsigned int)__builtin_ctzll(first), APW_READ),
		      "VP%u does not answer after leaving HLT", (unsigned int)__builtin_ctzll(first));
	}
	/* A bank 0 given explicitly next to an empty bank 1 is the same set. */
	ipi_ex("ipi.ex.slow.empty_bank1", 0, v, SET_SPARSE, 3, 2, (uint64_t[]){ g_all, 0 }, ST_OK,
	       g_all);
}

/* IPIs while the targets make hypercalls (flushes of every VP, so kicks
 * and exits everywhere): none may be lost or doubled. Each round waits
 * for every AP's interrupt before the next (a second IPI of one vector
 * could otherwise merge with a pending one). */
static void storm(uint64_t aps, unsigned int rounds)
{
	struct hc_regs r;
	uint64_t *in = (uint64_t *)P_IN2;
	in[0] = 0, in[1] = FLUSH_ALL_PROCESSORS | FLUSH_ALL_SPACES, in[2] = 0;
	clear_counts();
	for (unsigned int v = 1; v < 64; v++)
		if (aps & (1ull << v))
			apw_call_post(v, CALL_FLUSH_SPACE, pa(in), 4 * rounds);
	unsigned int k = 0, lost = 0;
	uint64_t lim = apw_ticks(2000);
	for (; k < rounds && !lost; k++) {
		int vec = call_words(&r, CALL_SEND_IPI, (uint64_t[]){ IPI_VEC, aps }, 2, k & 1);
		if (vec != VEC_NONE || (r.rax & 0xffff))
			break;
		uint64_t t0 = rdtsc();
		for (;;) {
			uint64_t pending = 0;
			for (unsigned int v = 1; v < 64; v++)
				if ((aps & (1ull << v)) && apw_ipi_count[v] < k + 1)
					pending |= 1ull << v;
			if (!pending)
				break;
			if (rdtsc() - t0 > lim) {
				lost = 1;
				break;
			}
			__asm__ volatile("pause");
		}
	}
	uint64_t bad = 0;
	for (unsigned int v = 0; v < 64; v++)
		if (apw_ipi_count[v] != ((aps >> v) & 1 ? k : 0))
			bad |= 1ull << v;
	int ok = !bad && k == rounds;
	uint32_t bad_done = 0;
	uint64_t bad_res = 0;
	int bad_answer = 1;
	for (unsigned int v = 1; v < 64; v++)
		if (aps & (1ull << v)) {
			uint32_t done;
			uint64_t res;
			int answered = apw_call_wait(v, &done, &res);
			if (!answered || res != 0) {
				ok = 0, bad |= 1ull << v;
				bad_done = done, bad_res = res, bad_answer = answered;
			}
		}
	check("ipi.storm.with_flushes", ok,
	      "%u of %u rounds, VPs with wrong counts or failed calls: 0x%lx (VP1 count %lu, RAX 0x%lx; "
	      "a failing AP: answered %d, calls done %u, last result 0x%lx)",
	      k, rounds, (unsigned long)bad, (unsigned long)apw_ipi_count[1], (unsigned long)r.rax,
	      bad_answer, bad_done, (unsigned long)bad_res);
}

static void bad_inputs(uint64_t nvp)
{
	uint64_t v = IPI_VEC;
	ipi_mask("ipi.err.vector_0f", 0, 0x0f, 1, ST_BAD_PARAM, 0);
	ipi_mask("ipi.err.vector_100", 0, 0x100, 1, ST_BAD_PARAM, 0);
	ipi_mask("ipi.err.vector_100.fast", 1, 0x100 | IPI_VEC, 1, ST_BAD_PARAM, 0);
	ipi_ex("ipi.err.ex_vector_0f", 0, 0x0f, SET_SPARSE, 1, 1, (uint64_t[]){ 1 }, ST_BAD_PARAM, 0);
	ipi_mask("ipi.err.reserved_byte5", 0, v | (1ull << 40), 1, ST_BAD_PARAM, 0);
	ipi_mask("ipi.err.reserved_byte7", 1, v | (0x80ull << 56), 1, ST_BAD_PARAM, 0);
	ipi_mask("ipi.err.target_vtl1", 0, v | (0x11ull << 32), 1, ST_BAD_PARAM, 0);
	ipi_mask("ipi.err.target_vtl_reserved", 0, v | (0x20ull << 32), 1, ST_BAD_PARAM, 0);
	ipi_ex("ipi.err.ex_target_vtl1", 1, v | (0x11ull << 32), SET_SPARSE, 1, 1, (uint64_t[]){ 1 },
	       ST_BAD_PARAM, 0);
	/* A VP that does not exist, next to one that does: nothing sent. */
	ipi_mask("ipi.err.mask_vp63", 0, v, 1 | (1ull << 63), ST_BAD_PARAM, 0);
	ipi_mask("ipi.err.mask_vp_count", 1, v, 1 | (1ull << nvp), ST_BAD_PARAM, 0);
	ipi_ex("ipi.err.ex_bank1", 0, v, SET_SPARSE, 3, 2, (uint64_t[]){ 1, 1 }, ST_BAD_PARAM, 0);
	ipi_ex("ipi.err.ex_vp_count", 0, v, SET_SPARSE, 1, 1, (uint64_t[]){ 1 | (1ull << nvp) },
	       ST_BAD_PARAM, 0);
	/* Malformed sets: bank words not matching ValidBanksMask, unknown
	 * format. */
	ipi_ex("ipi.err.ex_banks_too_few", 0, v, SET_SPARSE, 3, 1, (uint64_t[]){ 1 }, ST_BAD_INPUT, 0);
	ipi_ex("ipi.err.ex_banks_too_many", 0, v, SET_SPARSE, 1, 2, (uint64_t[]){ 1, 0 }, ST_BAD_INPUT,
	       0);
	ipi_ex("ipi.err.ex_banks_too_many.fast", 1, v, SET_SPARSE, 0, 1, (uint64_t[]){ 1 },
	       ST_BAD_INPUT, 0);
	ipi_ex("ipi.err.ex_unknown_format", 0, v, 2, 1, 1, (uint64_t[]){ 1 }, ST_BAD_PARAM, 0);
	ipi_ex("ipi.err.ex_unknown_format.fast", 1, v, 0x100000000ull, 0, 0, NULL, ST_BAD_PARAM, 0);

	/* The fixed header on the wrong form: the Ex call's variable header
	 * on the mask call. */
	struct hc_regs r;
	uint64_t w[3] = { v, 1, 1 };
	clear_counts();
	int vec = call_words(&r, CALL_SEND_IPI | HC_VARHDR(1), w, 3, 0);
	expect("ipi.err.var_header_on_mask_call", vec, &r, ST_BAD_INPUT, 0, NULL, 0, 0);

	/* An empty set: the TLFS does not say; report what happens. */
	clear_counts();
	w[1] = 0;
	vec = call_words(&r, CALL_SEND_IPI, w, 2, 0);
	uint64_t seen;
	wait_counts(0, &seen);
	ser_printf("  info: ipi: empty mask: %s, status 0x%lx, interrupts at 0x%lx\n",
		   vec == VEC_NONE ? "returned" : vec_name(vec), (unsigned long)(r.rax & 0xffff),
		   (unsigned long)seen);
}

void checks_ipi(void)
{
	if (!g_hc.page_ok) {
		check("ipi.calls", 0, "skipped: the hypercall page is not in place");
		return;
	}
	if (!(g_hc.priv & PRIV_INTR_CTRL) || !(g_hc.feat & FEAT_XMM_IN)) {
		check("ipi.setup", 0, "needs AccessIntrCtrlRegs (the EOI MSR) and XMM fast input");
		return;
	}
	/* The IDT: the firmware's, with IPI_VEC going to apw_isr. */
	struct idtr fw;
	__asm__ volatile("sidt %0" : "=m"(fw));
	static const uint8_t vec[1] = { IPI_VEC };
	void (*const isr[1])(void) = { apw_isr };
	struct idtr ours = idt_clone(g_idt, 1, vec, isr);
	apw_set_idt(ours.base, ours.limit);

	uint64_t aps = apw_start("ipi");
	int on = 1;
	for (unsigned int i = 1; i < 64; i++)
		if (aps & (1ull << i))
			on &= apw_cmd(i, APW_IPI_ON);
	if (aps)
		check("ipi.ap_handlers_on", on, "an AP did not answer");
	g_all = aps | 1;
	uint64_t nvp = 1;
	while (nvp < 64 && (g_all >> nvp))
		nvp++;

	uint64_t flags = irq_save();
	__asm__ volatile("lidt %0; sti" : : "m"(ours) : "memory");
	deliveries(aps);
	if (aps)
		storm(aps, 40);
	bad_inputs(nvp);
	__asm__ volatile("cli; lidt %0" : : "m"(fw) : "memory");
	irq_restore(flags);

	for (unsigned int i = 1; i < 64; i++)
		if (aps & (1ull << i))
			apw_cmd(i, APW_IPI_OFF);
	apw_stop("ipi");
}
