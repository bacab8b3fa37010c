/*
 * fuzz_hypercall.c - the hypercall entry (hv/hypercall.c and every
 * registered call) with 1-4 VPs on the fake backend: sequences of calls
 * (every code; slow, fast, XMM fast; simple and rep, with start indexes
 * and continuations; 64-bit and 32-bit callers, CPL > 0), interleaved
 * with overlay MSR writes, VP state changes, guest-memory pokes and
 * second-level faults.
 *
 * Oracles (besides ASan/UBSan and "no vp_fatal"), TLFS 3.7-3.12:
 *  - the outcome is a status (RIP advanced), a continuation (rep calls
 *    only, TLFS 3.3: the start index moved forward, below the count, the
 *    rest of the input value unchanged) or #UD;
 *  - CPL > 0, or no enabled hypercall page: #UD (TLFS 3.5, 3.13);
 *  - the status is a TLFS status; the result's reserved bits are zero;
 *    reps completed never exceed the rep count, equal it on success, and
 *    are 0 for a simple call (TLFS 3.8);
 *  - registers other than the result (and the fast output block) are
 *    preserved (TLFS 3.8, 3.9), unless the call set the caller's own;
 *  - guest memory changes only in the caller's output page (and the A/D
 *    bits of guest page tables for HvTranslateVirtualAddress);
 *  - after every operation the second-level tables are what hv/gmem.c's
 *    rule says (harness.c, fz_check_slat).
 */
#include "harness.h"
#include <string.h>

static void call(struct fz *f, struct fz_world *w)
{
	int v = (int)fz_below(f, (u32)w->n);
	struct vp *vp = &w->vps[v];
	struct fake_be_state *s = &w->bes[v];
	u16 code = fz_call_code(f);
	u8 form = fz_u8(f);
	bool fast = form & 1, mode32 = (form & 0xc0) == 0xc0;
	u32 count = 0, start = 0, var_hdr = 0;
	if (form & 2) {
		count = (form & 4) ? (fz_u16(f) & 0xfff) : fz_u8(f) % 8 + 1;
		start = (form & 8) && count ? fz_below(f, count + 1) : 0;
	}
	if (form & 0x10)
		var_hdr = (form & 0x20) ? fz_u16(f) & 0x1ff : fz_u8(f) % 4;
	u64 input = code | (fast ? HV_HC_FAST : 0) | ((u64)var_hdr << HV_HC_VARHDR_SHIFT) |
		    ((u64)count << HV_HC_REP_COUNT_SHIFT) | ((u64)start << HV_HC_REP_START_SHIFT);
	u8 extra = fz_u8(f);
	if (extra & 1) /* a reserved bit, the nested bit, anything */
		input ^= 1ull << fz_below(f, 64);
	if ((extra & 6) == 6)
		input = fz_u64(f);
	u64 in_gpa = fz_gpa(f, w), out_gpa = fz_gpa(f, w);

	/* The input block in guest RAM (header fields the calls check first:
	 * PartitionId self, then the fuzz bytes). */
	if (in_gpa >= FAKE_RAM_BASE && in_gpa < FAKE_RAM_BASE + FAKE_RAM_SIZE) {
		u64 off = in_gpa - FAKE_RAM_BASE, room = FAKE_RAM_SIZE - off;
		u64 at = 0;
		if ((extra & 8) && room >= 8) {
			memset(fake_ram + off, 0xff, 8); /* HV_PARTITION_ID_SELF */
			at = 8;
		}
		u64 n = fz_u8(f);
		if (n > room - at)
			n = room - at;
		fz_bytes(f, fake_ram + off + at, n);
	}
	if (extra & 0x10)
		fz_bytes(f, fake_xmm, sizeof(fake_xmm));
	fz_set_mode(w, v, mode32, (extra & 0xe0) == 0xe0 ? fz_u8(f) : 0);
	u8 cpl = (u8)s->regs[GREG_CPL];

	u64 *g = vp->gpr;
	if (mode32) { /* TLFS 3.7: EDX:EAX, EBX:ECX, EDI:ESI */
		g[GPR_RDX] = input >> 32, g[GPR_RAX] = (u32)input;
		g[GPR_RBX] = in_gpa >> 32, g[GPR_RCX] = (u32)in_gpa;
		g[GPR_RDI] = out_gpa >> 32, g[GPR_RSI] = (u32)out_gpa;
	} else {
		g[GPR_RCX] = input, g[GPR_RDX] = in_gpa, g[GPR_R8] = out_gpa;
	}
	bool enabled = vp_pvtl(vp)->hypercall_msr & HV_HYPERCALL_ENABLE;
	count = (u32)((input >> HV_HC_REP_COUNT_SHIFT) & HV_HC_REP_MASK);
	code = (u16)input;
	fast = input & HV_HC_FAST;

	for (int round = 0; round < 64; round++) {
		u64 before[GPR__COUNT];
		u8 xmm_before[sizeof(fake_xmm)];
		memcpy(before, g, sizeof(before));
		memcpy(xmm_before, fake_xmm, sizeof(fake_xmm));
		u32 start_now = (u32)((input >> HV_HC_REP_START_SHIFT) & HV_HC_REP_MASK);
		fz_ram_snapshot();
		s->injected_vector = -1;
		struct hv_exit e = { .reason = HV_EXIT_HYPERCALL, .insn_len = 3 };
		enum hv_action a = hv_handle_hypercall(vp, &e);

		u64 out_lo = fast ? 0 : out_gpa, out_hi = fast ? 0 : ALIGN_DOWN(out_gpa, PAGE_SIZE) + PAGE_SIZE;
		fz_ram_check(out_lo, out_hi, code == HVCALL_TRANSLATE_VIRTUAL_ADDRESS);
		if (cpl || !enabled)
			FZ_CHECK(a == HV_ACT_INJECTED, "code %x at CPL %u (page %s): action %d", code,
				 cpl, enabled ? "on" : "off", a);
		bool sets_self = code == HVCALL_SET_VP_REGISTERS; /* may set the caller's GPRs */
		if (a == HV_ACT_INJECTED) {
			FZ_CHECK(s->injected_vector == 6, "code %x: vector %d injected, want #UD", code,
				 s->injected_vector);
			FZ_CHECK(!memcmp(before, g, sizeof(before)), "code %x: #UD changed registers", code);
			return;
		}
		FZ_CHECK(a == HV_ACT_ADVANCE || a == HV_ACT_RESUME, "code %x: action %d", code, a);
		u64 result = mode32 ? (g[GPR_RDX] << 32) | (u32)g[GPR_RAX] : g[GPR_RAX];
		if (a == HV_ACT_RESUME) {
			/* TLFS 3.3: a continuation; the updated input value is
			 * where the caller passed it. */
			u64 now = mode32 ? (g[GPR_RDX] << 32) | (u32)g[GPR_RAX] : g[GPR_RCX];
			u32 next = (u32)((now >> HV_HC_REP_START_SHIFT) & HV_HC_REP_MASK);
			FZ_CHECK(next > start_now && next < count,
				 "code %x: continuation from %u to %u of %u", code, start_now, next, count);
			FZ_CHECK((now & ~(HV_HC_REP_MASK << HV_HC_REP_START_SHIFT)) ==
					 (input & ~(HV_HC_REP_MASK << HV_HC_REP_START_SHIFT)),
				 "code %x: continuation changed the input value %llx -> %llx", code,
				 (unsigned long long)input, (unsigned long long)now);
			input = now;
			continue; /* the guest re-executes the call */
		}
		u16 status = (u16)result;
		u32 reps = (u32)((result >> HV_HC_RESULT_REPS_SHIFT) & 0xfff);
		FZ_CHECK(fz_status_valid(status), "code %x: status %x is not a TLFS status", code, status);
		FZ_CHECK(!((result >> 16) & 0xffff) && !(result >> 44),
			 "code %x: reserved bits in the result %llx", code, (unsigned long long)result);
		FZ_CHECK(reps <= count, "code %x: %u reps completed of %u", code, reps, count);
		if (status == HV_STATUS_SUCCESS && count)
			FZ_CHECK(reps == count, "code %x: success after %u of %u reps", code, reps, count);
		if (!count)
			FZ_CHECK(reps == 0, "code %x: %u reps completed on a simple call", code, reps);
		if (!sets_self) {
			/* Everything but the result (RAX; EDX:EAX) and the fast
			 * output registers is preserved. */
			for (int r = 0; r < GPR__COUNT; r++) {
				if (r == GPR_RAX || (mode32 && r == GPR_RDX))
					continue;
				if (fast && !mode32 && (r == GPR_RDX || r == GPR_R8))
					continue;
				FZ_CHECK(g[r] == before[r], "code %x: register %d changed %llx -> %llx", code,
					 r, (unsigned long long)before[r], (unsigned long long)g[r]);
			}
			if (!fast || status != HV_STATUS_SUCCESS)
				FZ_CHECK(!memcmp(xmm_before, fake_xmm, sizeof(fake_xmm)),
					 "code %x: XMM registers changed (status %x)", code, status);
		}
		return;
	}
	FZ_CHECK(0, "code %x: 64 continuations and still not done", code);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	u8 hdr = fz_u8(&f);
	struct fz_world *w = fz_world_new(1 + (hdr & 3));
	if (!(hdr & 4))
		fz_enable_hypercalls(w, FAKE_RAM_BASE + 0xb000);
	fz_check_slat(w);
	for (int ops = 0; fz_left(&f) && ops < 48; ops++) {
		u8 op = fz_u8(&f);
		switch (op % 10) {
		case 0: case 1: case 2: case 3: case 4: call(&f, w); break;
		case 5: case 6: fz_op_msr(&f, w); break;
		case 7: fz_op_state(&f, w); break;
		case 8: fz_op_poke(&f, w); break;
		default: fz_op_npf(&f, w); break;
		}
		fz_check_slat(w);
	}
	return 0;
}
