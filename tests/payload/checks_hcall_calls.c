/*
 * checks_hcall_calls.c - the hypercalls themselves, through the page set up
 * by checks_hypercall.c: HvExtCallQueryCapabilities (3.14.1),
 * HvNotifyLongSpinWait (14.5.1) and HvGetVpIndexFromApicId (7.10.4) in
 * memory-based, fast and XMM fast form (3.7-3.9), rep calls and
 * continuation (3.2, 3.3), and the common error statuses (3.6, 3.7,
 * 3.12.2, 3.12.3, appendix B).
 *
 * HvGetPartitionId (TLFS 4.2.1) is implemented but its privilege,
 * AccessPartitionId, is withheld by policy (hv/partition.c: Linux 6.1
 * BUG()s on it as a non-root guest, Hyper-V grants it to no guest), so it
 * answers HV_STATUS_ACCESS_DENIED and writes nothing: the one call that
 * shows ACCESS_DENIED and its place in the error order (TLFS 3.12.2:
 * after an unknown call code, before input errors). The simple call with
 * an 8-byte output that the other checks use is HvExtCallQueryCapabilities
 * (no input, output 0, EnableExtendedHypercalls), with the output prefilled
 * with a non-zero pattern so that its write of 0 is visible.
 */
#include "hcall.h"

/* ---- simple calls (TLFS 4.2.1, 3.14.1, 14.5.1) ------------------------------ */

/* HvGetPartitionId without AccessPartitionId (TLFS 4.2.1, 4.2.2, appendix
 * B): HV_STATUS_ACCESS_DENIED and no output, memory-based and fast. */
static void checks_partition_id_denied(void)
{
	const char *adv = (g_hc.priv & PRIV_PARTITION_ID) ? "advertised" : "not advertised";
	struct hc_regs r;
	int vec;

	fill64(P_OUT, PREFILL, PAGE, 0);
	vec = call_slow(&r, CALL_PARTITION_ID, 0, pa(P_OUT));
	long off = diff64(P_OUT, PREFILL, PAGE, 0);
	if (!expect("hc.get_partition_id.access_denied", vec, &r, ST_ACCESS_DENIED, 0,
		    "output page intact", off < 0, 1))
		ser_printf("  info: AccessPartitionId %s; output offset %ld reads 0x%lx\n", adv,
			   off, off < 0 ? 0ul : (unsigned long)*(uint64_t *)(P_OUT + off));

	if (!(g_hc.feat & FEAT_XMM_OUT))
		return; /* hc.xmm fails for that */
	/* Fast: the output would start at RDX (no input, TLFS 3.8.1); all of
	 * the register block stays as it was (TLFS 3.9). */
	struct hc_regs in = { .rcx = CALL_PARTITION_ID | HC_FAST, .rdx = PREFILL,
			      .r8 = PREFILL + 1 };
	for (unsigned int i = 0; i < 6; i++)
		in.xmm[i][0] = PREFILL + 2 + 2 * i, in.xmm[i][1] = PREFILL + 3 + 2 * i;
	r = in;
	vec = call(&r);
	int same = r.rdx == in.rdx && r.r8 == in.r8;
	for (unsigned int i = 0; i < 6; i++)
		same &= r.xmm[i][0] == in.xmm[i][0] && r.xmm[i][1] == in.xmm[i][1];
	if (!expect("hc.get_partition_id.fast_access_denied", vec, &r, ST_ACCESS_DENIED, 0,
		    "registers intact", same, 1))
		ser_printf("  info: AccessPartitionId %s; RDX 0x%lx R8 0x%lx XMM0 0x%lx:%lx\n",
			   adv, (unsigned long)r.rdx, (unsigned long)r.r8,
			   (unsigned long)r.xmm[0][1], (unsigned long)r.xmm[0][0]);
}

void checks_simple(void)
{
	struct hc_regs r;
	uint64_t *out = (uint64_t *)P_OUT;
	int vec;

	checks_partition_id_denied();

	if (g_hc.priv & PRIV_EXT_CALLS) {
		out[0] = PREFILL;
		vec = call_slow(&r, CALL_EXT_QUERY_CAPS, 0, pa(P_OUT));
		expect("hc.ext_query_caps.slow", vec, &r, ST_OK, 0, "capabilities", out[0], 0);
		/* TLFS 3.6: no input parameters, the input GPA is ignored. */
		out[0] = PREFILL;
		vec = call_slow(&r, CALL_EXT_QUERY_CAPS, 0xFFFFFFFFFFFFF005ull, pa(P_OUT));
		expect("hc.ext_query_caps.ignores_in_gpa", vec, &r, ST_OK, 0, "capabilities",
		       out[0], 0);
		if (g_hc.feat & FEAT_XMM_OUT) {
			/* TLFS 3.8.1: no input, the output starts at RDX. */
			r = (struct hc_regs){ .rcx = CALL_EXT_QUERY_CAPS | HC_FAST, .rdx = PREFILL };
			vec = call(&r);
			expect("hc.ext_query_caps.fast", vec, &r, ST_OK, 0, "RDX", r.rdx, 0);
		}
	} else {
		check("hc.ext_query_caps", 0, "EnableExtendedHypercalls not advertised");
	}

	/* HvNotifyLongSpinWait: advisory, always succeeds; no output, so the
	 * output GPA is ignored (TLFS 3.6). */
	*(uint64_t *)P_IN = 0xFFF;
	vec = call_slow(&r, CALL_SPIN_WAIT, pa(P_IN), 0);
	expect("hc.notify_spin_wait.slow", vec, &r, ST_OK, 0, NULL, 0, 0);
	vec = call_slow(&r, CALL_SPIN_WAIT, pa(P_IN), 3);
	expect("hc.notify_spin_wait.ignores_out_gpa", vec, &r, ST_OK, 0, NULL, 0, 0);

	/* Fast (TLFS 3.7): input in RDX. TLFS 3.9: input registers unchanged. */
	struct hc_regs in = { .rcx = CALL_SPIN_WAIT | HC_FAST, .rdx = 0x1000, .r8 = PREFILL };
	for (unsigned int i = 0; i < 6; i++)
		in.xmm[i][0] = PREFILL + 2 * i, in.xmm[i][1] = PREFILL + 2 * i + 1;
	r = in;
	vec = call(&r);
	expect("hc.notify_spin_wait.fast", vec, &r, ST_OK, 0, NULL, 0, 0);
	int same = r.rdx == in.rdx && r.r8 == in.r8;
	for (unsigned int i = 0; i < 6; i++)
		same &= r.xmm[i][0] == in.xmm[i][0] && r.xmm[i][1] == in.xmm[i][1];
	check("hc.fast.input_preserved", vec == VEC_NONE && same,
	      "RDX 0x%lx R8 0x%lx or an XMM register changed (XMM0 0x%lx)", (unsigned long)r.rdx,
	      (unsigned long)r.r8, (unsigned long)r.xmm[0][0]);
}

/* ---- HvGetVpIndexFromApicId (TLFS 7.10.4), rep calls (3.2, 3.3, 3.8) ------- */
#define VP_FILL 0xEEEEEEEEu

/* Header {PartitionId, TargetVtl, pad[7]} at in, then n APIC IDs. */
static void vp_input(uint8_t *in, uint64_t pid, uint8_t vtl, unsigned int n, uint32_t apic)
{
	*(uint64_t *)in = pid;
	*(uint64_t *)(in + 8) = vtl;
	for (unsigned int i = 0; i < n; i++)
		((uint32_t *)(in + 16))[i] = apic;
}

static void vp_prefill(uint32_t *out, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		out[i] = VP_FILL;
}

/* Index of the first element of out[from..to) that is not v, or to. */
static unsigned int vp_first_not(const uint32_t *out, unsigned int from, unsigned int to, uint32_t v)
{
	while (from < to && out[from] == v)
		from++;
	return from;
}

void checks_vp_index(void)
{
	uint32_t *out = (uint32_t *)P_OUT;
	struct hc_regs r;
	int vec;

	if (!(g_hc.priv & PRIV_VP_INDEX)) {
		check("hc.vp_from_apic", 0, "AccessVpIndex not advertised");
		return;
	}
	uint64_t ctl1 = CALL_VP_FROM_APIC | HC_REPS(1);

	vp_input(P_IN, PARTITION_SELF, 0, 1, g_hc.apic);
	vp_prefill(out, 8);
	vec = call_slow(&r, ctl1, pa(P_IN), pa(P_OUT));
	expect("hc.vp_from_apic.slow", vec, &r, ST_OK, 1, "VP index", out[0], 0);

	vp_input(P_IN, 1, 0, 1, g_hc.apic); /* HV_PARTITION_ID 1: this (root) partition */
	vp_prefill(out, 8);
	vec = call_slow(&r, ctl1, pa(P_IN), pa(P_OUT));
	expect("hc.vp_from_apic.partition_1", vec, &r, ST_OK, 1, "VP index", out[0], 0);

	vp_input(P_IN, PARTITION_SELF, 0, 3, g_hc.apic);
	vp_prefill(out, 8);
	vec = call_slow(&r, CALL_VP_FROM_APIC | HC_REPS(3), pa(P_IN), pa(P_OUT));
	expect("hc.vp_from_apic.count3", vec, &r, ST_OK, 3, "first bad element",
	       vp_first_not(out, 0, 3, 0), 3);

	/* An unknown APIC ID at element 2: reps completed 2 (TLFS 3.2). */
	vp_input(P_IN, PARTITION_SELF, 0, 4, g_hc.apic);
	((uint32_t *)(P_IN + 16))[2] = UNKNOWN_APIC;
	vp_prefill(out, 8);
	vec = call_slow(&r, CALL_VP_FROM_APIC | HC_REPS(4), pa(P_IN), pa(P_OUT));
	expect("hc.vp_from_apic.unknown_apic", vec, &r, ST_BAD_PARAM, 2, "first bad element",
	       vp_first_not(out, 0, 2, 0), 2);

	vp_input(P_IN, 2, 0, 1, g_hc.apic);
	vp_prefill(out, 8);
	vec = call_slow(&r, ctl1, pa(P_IN), pa(P_OUT));
	expect("hc.vp_from_apic.bad_partition", vec, &r, ST_BAD_PARTITION, 0, "output", out[0],
	       VP_FILL);

	vp_input(P_IN, PARTITION_SELF, 0x11, 1, g_hc.apic); /* use target VTL, VTL 1 */
	vp_prefill(out, 8);
	vec = call_slow(&r, ctl1, pa(P_IN), pa(P_OUT));
	expect("hc.vp_from_apic.target_vtl1", vec, &r, ST_BAD_PARAM, 0, "output", out[0],
	       VP_FILL);

	/* Rep start index 2 of 4: elements 0-1 untouched, reps completed 4. */
	vp_input(P_IN, PARTITION_SELF, 0, 4, g_hc.apic);
	vp_prefill(out, 8);
	vec = call_slow(&r, CALL_VP_FROM_APIC | HC_REPS(4) | HC_START(2), pa(P_IN), pa(P_OUT));
	int ok = vp_first_not(out, 0, 2, VP_FILL) == 2 && vp_first_not(out, 2, 4, 0) == 4;
	expect("hc.vp_from_apic.start_index", vec, &r, ST_OK, 4, "outputs ok", ok, 1);

	/* Continuation (TLFS 3.3): 1000 reps, resumed with a new start index in
	 * RCX (TLFS 3.9), everything else of RCX unchanged. */
	uint64_t ctl = CALL_VP_FROM_APIC | HC_REPS(1000);
	vp_input(P_IN2, PARTITION_SELF, 0, 1000, g_hc.apic);
	vp_prefill((uint32_t *)P_OUT2, 1000);
	vec = call_slow(&r, ctl, pa(P_IN2), pa(P_OUT2));
	expect("hc.rep.continuation", vec, &r, ST_OK, 1000, NULL, 0, 0);
	check("hc.rep.continuation.output", vec == VEC_NONE &&
	      vp_first_not((uint32_t *)P_OUT2, 0, 1000, 0) == 1000,
	      "element %u is 0x%x, expected all 1000 VP indexes 0",
	      vp_first_not((uint32_t *)P_OUT2, 0, 1000, 0),
	      ((uint32_t *)P_OUT2)[vp_first_not((uint32_t *)P_OUT2, 0, 1000, 0) % 1000]);
	uint64_t start = (r.rcx >> 48) & 0xFFF;
	check("hc.rep.continuation.rcx", vec == VEC_NONE && start && start < 1000 &&
	      (r.rcx & ~HC_START(0xFFF)) == ctl,
	      "RCX after the call 0x%lx (rep start index %lu), expected 0x%lx with a "
	      "non-zero start index", (unsigned long)r.rcx, (unsigned long)start,
	      (unsigned long)ctl);

	if (!(g_hc.feat & FEAT_XMM_IN) || !(g_hc.feat & FEAT_XMM_OUT)) {
		check("hc.xmm", 0, "XMM fast input/output not advertised (EDX 0x%x)", g_hc.feat);
		return;
	}
	/* XMM fast (TLFS 3.7.2.2, 3.8.1.2): 16 + 8 bytes of input (RDX, R8,
	 * XMM0 low), output from byte 32 = XMM1. */
	struct hc_regs in = { .rcx = CALL_VP_FROM_APIC | HC_FAST | HC_REPS(2),
			      .rdx = PARTITION_SELF, .r8 = 0 };
	for (unsigned int i = 0; i < 6; i++)
		in.xmm[i][0] = in.xmm[i][1] = PREFILL + i;
	in.xmm[0][0] = ((uint64_t)g_hc.apic << 32) | g_hc.apic;
	r = in;
	vec = call(&r);
	expect("hc.xmm.vp_from_apic", vec, &r, ST_OK, 2, "XMM1 low", r.xmm[1][0], 0);
	check("hc.xmm.input_preserved", vec == VEC_NONE && r.rdx == in.rdx && r.r8 == in.r8 &&
	      r.xmm[0][0] == in.xmm[0][0] && r.xmm[0][1] == in.xmm[0][1],
	      "RDX 0x%lx R8 0x%lx XMM0 0x%lx:%lx changed", (unsigned long)r.rdx,
	      (unsigned long)r.r8, (unsigned long)r.xmm[0][1], (unsigned long)r.xmm[0][0]);

	/* 20 bytes of input: bytes 20-31 ignored, the output at byte 32 (the
	 * TLFS 3.8.1.2 example). */
	in.rcx = CALL_VP_FROM_APIC | HC_FAST | HC_REPS(1);
	in.xmm[0][0] = 0xDDDDDDDD00000000ull | g_hc.apic;
	r = in;
	vec = call(&r);
	expect("hc.xmm.vp_from_apic.count1", vec, &r, ST_OK, 1, "XMM1 low dword",
	       r.xmm[1][0] & 0xFFFFFFFFu, 0);
}

/* ---- common errors (TLFS 3.6, 3.7, 3.12.3) ------------------------------- */
struct err_case {
	const char *name;
	uint64_t ctl, in, out;
	unsigned int status;
};

/*
 * The simple call with an 8-byte output is HvExtCallQueryCapabilities: it
 * needs EnableExtendedHypercalls (else these fail with ACCESS_DENIED, and
 * hc.ext_query_caps says why). HvGetPartitionId (no AccessPartitionId)
 * shows where ACCESS_DENIED stands: after an unknown call code, before
 * input and parameter errors (TLFS 3.12.2).
 */
void checks_errors(void)
{
	const struct hv_info_table *info = find_hv_info();
	uint64_t ext = CALL_EXT_QUERY_CAPS, vp = CALL_VP_FROM_APIC, pid = CALL_PARTITION_ID;
	uint64_t in = pa(P_IN), out = pa(P_OUT);
	const struct err_case cases[] = {
		{ "hc.err.unknown_code", 0x7777, in, out, ST_BAD_CODE },
		{ "hc.err.unknown_code_before_input", 0x7777 | (1ull << 27), in, out, ST_BAD_CODE },
		{ "hc.err.access_denied_before_input", pid | (1ull << 27), in, out,
		  ST_ACCESS_DENIED },
		{ "hc.err.access_denied_before_alignment", pid, in, out + 4, ST_ACCESS_DENIED },
		{ "hc.err.reserved_bit27", ext | (1ull << 27), in, out, ST_BAD_INPUT },
		{ "hc.err.reserved_bit44", ext | (1ull << 44), in, out, ST_BAD_INPUT },
		{ "hc.err.reserved_bit63", ext | (1ull << 63), in, out, ST_BAD_INPUT },
		{ "hc.err.rep_count_on_simple", ext | HC_REPS(1), in, out, ST_BAD_INPUT },
		{ "hc.err.start_index_on_simple", ext | HC_START(1), in, out, ST_BAD_INPUT },
		{ "hc.err.rep_count_zero", vp, in, out, ST_BAD_INPUT },
		{ "hc.err.start_index_ge_count", vp | HC_REPS(2) | HC_START(2), in, out,
		  ST_BAD_INPUT },
		{ "hc.err.var_header_on_fixed", ext | HC_VARHDR(1), in, out, ST_BAD_INPUT },
		{ "hc.err.out_misaligned", ext, in, out + 4, ST_BAD_ALIGN },
		{ "hc.err.in_misaligned", vp | HC_REPS(2), in + 4, out, ST_BAD_ALIGN },
		{ "hc.err.in_crosses_page", vp | HC_REPS(8), pa(P_IN2) + PAGE - 24, out, ST_BAD_ALIGN },
		{ "hc.err.out_beyond_maxphyaddr", ext, in, 1ull << g_hc.pa_bits, ST_BAD_ALIGN },
		{ "hc.err.out_hv_memory", ext, in, info ? info->resident_base : 0, ST_BAD_PARAM },
		{ "hc.err.out_overlay", ext, in, pa(g_hc.p), ST_BAD_PARAM },
		{ "hc.err.out_mmio", ext, in, 0xFEC00000ull, ST_BAD_PARAM },
		/* Output over the APIC ID list, and over the header (there a
		 * write of VP index 0 is visible even when the APIC ID is 0). */
		{ "hc.err.overlap", vp | HC_REPS(2), in, in + 16, ST_BAD_PARAM },
		{ "hc.err.overlap_header", vp | HC_REPS(2), in, in, ST_BAD_PARAM },
	};
	struct hc_regs r;

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct err_case *c = &cases[i];

		if (!c->out) {
			check(c->name, 0, "no hypervisor info table");
			continue;
		}
		fill64(P_OUT, PREFILL, PAGE, 0);
		vp_input(P_IN, PARTITION_SELF, 0, 4, g_hc.apic);
		vp_input(P_IN2 + PAGE - 24, PARTITION_SELF, 0, 2, g_hc.apic);
		fill64(P_IN2 + PAGE - 8, ((uint64_t)g_hc.apic << 32) | g_hc.apic, 32, 0);
		int vec = call_slow(&r, c->ctl, c->in, c->out);
		/* Nothing written: the output page, the input (overlap case) and
		 * the hypercall page (overlay case). */
		int intact = diff64(P_OUT, PREFILL, PAGE, 0) < 0 && page_diff(g_hc.p) < 0 &&
			     *(uint64_t *)P_IN == PARTITION_SELF &&
			     vp_first_not((uint32_t *)(P_IN + 16), 0, 4, g_hc.apic) == 4;
		expect(c->name, vec, &r, c->status, 0, "parameters intact", intact, 1);
	}
}

