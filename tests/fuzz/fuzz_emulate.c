/*
 * fuzz_emulate.c - the xAPIC store emulation: the decoder (hv/emulate.c,
 * emulate_decode), the read-modify-write arithmetic (emulate_rmw), and
 * the whole path of a guest store to the read-only xAPIC page (hv/npf.c
 * -> hv/smp.c smp_apic_mmio_write: the instruction fetched through the
 * guest's page tables, decoded, applied to the local APIC) in 64-bit,
 * 32-bit and 16-bit code, xAPIC and x2APIC mode.
 *
 * Oracles (besides ASan/UBSan, "no vp_fatal" and "no host #GP"):
 *  - decode: a result code it defines; on success a length within the
 *    bytes and 15, an operand size of 1/2/4/8, a register, an immediate
 *    within the operand size; the same result from exactly `len` bytes
 *    and from the bytes followed by others (prefix-closed);
 *  - rmw: the value and the defined arithmetic flags the host processor
 *    itself computes for the same instruction (SDM vol. 2 per mnemonic);
 *  - the store: the exit ends with RIP advanced by the decoded length, a
 *    re-execution (REP STOS, or code that went away), #UD or #GP, nothing
 *    else; no APIC register written outside the ones the store covers
 *    (and the ICR pair it sends with); guest RAM untouched; registers
 *    other than the instruction's own unchanged.
 */
#include "harness.h"
#include <stdlib.h>
#include <string.h>

/* ---- the host processor as the reference for emulate_rmw ---------------- */
/* insn src, dst at each size (b: the byte form; BT* have none, never called) with the flags loaded and read back. The
 * stack pointer steps over the red zone around the push/pop. */
#define HOST_OP(name, insn, b)                                                                 \
	static u64 name(u32 size, u64 d, u64 s, u64 *fl)                                       \
	{                                                                                      \
		u64 f = (*fl & FL_ARITH) | 2;                                                  \
		switch (size) {                                                                \
		case 1: {                                                                      \
			u8 x = (u8)d, y = (u8)s;                                               \
			__asm__ volatile("add $-128, %%rsp\n\tpush %[f]\n\tpopfq\n\t" b " %[y], %[x]\n\t" \
					 "pushfq\n\tpop %[f]\n\tsub $-128, %%rsp"                      \
					 : [x] "+q"(x), [f] "+r"(f) : [y] "q"(y) : "cc");              \
			d = x;                                                                 \
			break;                                                                 \
		}                                                                              \
		case 2: {                                                                      \
			u16 x = (u16)d, y = (u16)s;                                            \
			__asm__ volatile("add $-128, %%rsp\n\tpush %[f]\n\tpopfq\n\t" insn "w %[y], %[x]\n\t" \
					 "pushfq\n\tpop %[f]\n\tsub $-128, %%rsp"                      \
					 : [x] "+r"(x), [f] "+r"(f) : [y] "r"(y) : "cc");              \
			d = x;                                                                 \
			break;                                                                 \
		}                                                                              \
		case 4: {                                                                      \
			u32 x = (u32)d, y = (u32)s;                                            \
			__asm__ volatile("add $-128, %%rsp\n\tpush %[f]\n\tpopfq\n\t" insn "l %[y], %[x]\n\t" \
					 "pushfq\n\tpop %[f]\n\tsub $-128, %%rsp"                      \
					 : [x] "+r"(x), [f] "+r"(f) : [y] "r"(y) : "cc");              \
			d = x;                                                                 \
			break;                                                                 \
		}                                                                              \
		default: {                                                                     \
			u64 x = d, y = s;                                                      \
			__asm__ volatile("add $-128, %%rsp\n\tpush %[f]\n\tpopfq\n\t" insn "q %[y], %[x]\n\t" \
					 "pushfq\n\tpop %[f]\n\tsub $-128, %%rsp"                      \
					 : [x] "+r"(x), [f] "+r"(f) : [y] "r"(y) : "cc");              \
			d = x;                                                                 \
			break;                                                                 \
		}                                                                              \
		}                                                                              \
		*fl = f;                                                                       \
		return d;                                                                      \
	}
HOST_OP(h_add, "add", "addb")
HOST_OP(h_or, "or", "orb")
HOST_OP(h_adc, "adc", "adcb")
HOST_OP(h_sbb, "sbb", "sbbb")
HOST_OP(h_and, "and", "andb")
HOST_OP(h_sub, "sub", "subb")
HOST_OP(h_xor, "xor", "xorb")
HOST_OP(h_cmp, "cmp", "cmpb")
HOST_OP(h_bts, "bts", "nop #")
HOST_OP(h_btr, "btr", "nop #")
HOST_OP(h_btc, "btc", "nop #")

/* Unary ones through the binary form: NEG d = 0 - d (SUB sets the same
 * flags as NEG, SDM), INC/DEC = ADD/SUB 1 with CF kept, NOT: no flags. */
static void check_rmw(const struct decoded_store *d, u64 dst, u64 src, u64 rflags)
{
	u32 size = d->size;
	u64 mk = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
	u64 got_fl = rflags, want_fl = rflags & FL_ARITH, want;
	u64 defined = FL_ARITH;
	u64 got = emulate_rmw(d, dst, src, &got_fl);
	dst &= mk, src &= mk;
	switch (d->op) {
	case ST_ALU: {
		static u64 (*const ops[7])(u32, u64, u64, u64 *) = { h_add, h_or, h_adc, h_sbb,
								      h_and, h_sub, h_xor };
		want = ops[d->alu](size, dst, src, &want_fl);
		if (d->alu == ALU_OR || d->alu == ALU_AND || d->alu == ALU_XOR)
			defined &= ~FL_AF; /* undefined (SDM) */
		break;
	}
	case ST_XADD: want = h_add(size, dst, src, &want_fl); break;
	case ST_CMPXCHG: h_cmp(size, src, dst, &want_fl), want = dst; break;
	case ST_NOT: want = ~dst & mk; break;
	case ST_NEG: want = h_sub(size, 0, dst, &want_fl); break;
	case ST_INC: case ST_DEC: {
		u64 cf = want_fl & FL_CF;
		want = (d->op == ST_INC ? h_add : h_sub)(size, dst, 1, &want_fl);
		want_fl = (want_fl & ~FL_CF) | cf;
		break;
	}
	case ST_BT:
		if (size == 1)
			return; /* no byte form exists */
		want = (d->alu == BT_BTS ? h_bts : d->alu == BT_BTR ? h_btr : h_btc)(size, dst, src,
										      &want_fl);
		defined = FL_CF | FL_ZF;
		break;
	default:
		return;
	}
	FZ_CHECK((got & mk) == (want & mk) && !(got & ~mk),
		 "op %u/%u size %u: %llx, %llx -> %llx, the processor says %llx", d->op, d->alu, size,
		 (unsigned long long)dst, (unsigned long long)src, (unsigned long long)got,
		 (unsigned long long)want);
	FZ_CHECK(((got_fl ^ want_fl) & defined) == 0,
		 "op %u/%u size %u: %llx, %llx: flags %llx, the processor says %llx", d->op, d->alu,
		 size, (unsigned long long)dst, (unsigned long long)src,
		 (unsigned long long)(got_fl & FL_ARITH), (unsigned long long)(want_fl & FL_ARITH));
	FZ_CHECK((got_fl & ~FL_ARITH) == (rflags & ~FL_ARITH), "non-arithmetic flags changed");
}

/* ---- the decoder ------------------------------------------------------------ */
static bool same(const struct decoded_store *a, const struct decoded_store *b)
{
	return a->len == b->len && a->size == b->size && a->has_imm == b->has_imm &&
	       a->is_xchg == b->is_xchg && a->high_byte == b->high_byte && a->reg == b->reg &&
	       a->imm == b->imm && a->op == b->op && a->alu == b->alu &&
	       a->addr_size == b->addr_size && a->rep == b->rep && a->lock == b->lock;
}

static int decode_checked(const u8 *bytes, int n, int mode, struct decoded_store *d)
{
	u8 *b = malloc(n ? (size_t)n : 1); /* exactly n bytes: ASan sees a read past them */
	memcpy(b, bytes, (size_t)n);
	int rc = emulate_decode(b, n, mode, d);
	FZ_CHECK(rc == EMUL_OK || rc == EMUL_SHORT || rc == EMUL_UD || rc == EMUL_UNSUP ||
			 rc == EMUL_TOOLONG, "decode: result %d", rc);
	if (rc == EMUL_OK) {
		FZ_CHECK(d->len >= 1 && d->len <= n && d->len <= 15, "decode: length %u of %d", d->len, n);
		FZ_CHECK(d->size == 1 || d->size == 2 || d->size == 4 || d->size == 8, "size %u", d->size);
		FZ_CHECK(d->reg < 16 && d->op <= ST_CMPXCHG, "reg %u op %u", d->reg, d->op);
		FZ_CHECK(d->addr_size == 2 || d->addr_size == 4 || d->addr_size == 8, "asz %u",
			 d->addr_size);
		FZ_CHECK(mode == 8 || d->size != 8, "a 64-bit operand outside 64-bit mode");
		FZ_CHECK(!d->high_byte || (d->size == 1 && d->reg < 4), "high byte register %u", d->reg);
		if (d->has_imm && d->size < 8)
			FZ_CHECK(!(d->imm >> (8 * d->size)), "immediate %llx wider than %u bytes",
				 (unsigned long long)d->imm, d->size);
		struct decoded_store d2;
		int rc2 = emulate_decode(b, d->len, mode, &d2);
		FZ_CHECK(rc2 == EMUL_OK && same(d, &d2), "decode: not the same from %u bytes (%d)",
			 d->len, rc2);
	}
	free(b);
	return rc;
}

static void op_decode(struct fz *f)
{
	u8 bytes[15];
	int mode = (int[]){ 8, 4, 2 }[fz_u8(f) % 3];
	int n = (int)fz_below(f, 16);
	fz_bytes(f, bytes, sizeof(bytes));
	struct decoded_store d, d15;
	int rc = decode_checked(bytes, n, mode, &d);
	int rc15 = emulate_decode(bytes, 15, mode, &d15);
	if (rc == EMUL_OK)
		FZ_CHECK(rc15 == EMUL_OK && same(&d, &d15), "decode: more bytes changed the result");
	else if (rc != EMUL_SHORT)
		FZ_CHECK(rc15 == rc, "decode: %d from %d bytes, %d from 15", rc, n, rc15);
	if (rc == EMUL_OK)
		check_rmw(&d, fz_u64(f), fz_u64(f), fz_u64(f) & (FL_ARITH | FL_DF | BIT(9) | 2));
}

/* ---- the whole store --------------------------------------------------------- */
/* Identity paging for the guest: PML4, PDPT, PD (2 MiB pages) in the
 * firmware pages (read through hv/gmem.c like any paging structure). */
static void identity_paging(void)
{
	u64 *pml4 = (u64 *)(fake_ram + (FZ_FW_BASE - FAKE_RAM_BASE));
	u64 *pdpt = pml4 + 512, *pd = pml4 + 1024;
	pml4[0] = (FZ_FW_BASE + 0x1000) | 0x67;
	pdpt[0] = (FZ_FW_BASE + 0x2000) | 0x67;
	for (u64 i = 0; i < 512; i++)
		pd[i] = (i << 21) | 0xe7;
}

static void op_store(struct fz *f, struct fz_world *w)
{
	struct vp *vp = &w->vps[0];
	struct fake_be_state *s = &w->bes[0];
	u8 m = fz_u8(f);
	int mode = (int[]){ 8, 4, 2, 8 }[m & 3];
	fz_set_mode(w, 0, mode != 8, 0);
	if (mode == 2)
		s->state.seg[SEG_CS].attr = 0x009b; /* CS.D = 0 */
	s->regs[GREG_CR0] = mode == 8 ? (CR0_PE | CR0_PG | CR0_ET) : (CR0_PE | CR0_ET);
	s->regs[GREG_CR3] = FZ_FW_BASE;
	s->state.seg[SEG_CS].base = 0;
	fake_msr_set(MSR_IA32_APIC_BASE, FZ_APIC | BIT(11) | ((m & 4) ? BIT(10) : 0));
	/* The instruction somewhere in RAM, perhaps across a page edge. */
	u64 rip = FAKE_RAM_BASE + ((m & 8) ? fz_below(f, 0xc000 - 15)
					   : (u64)fz_below(f, 12) * PAGE_SIZE - fz_below(f, 15) + PAGE_SIZE);
	if (rip + 15 > FZ_FW_BASE)
		rip = FZ_FW_BASE - 15;
	s->regs[GREG_RIP] = rip;
	fz_bytes(f, fake_ram + (rip - FAKE_RAM_BASE), 15);
	for (int r = 0; r < GPR__COUNT; r++)
		vp->gpr[r] = (m & 16) ? fz_u64(f) : fz_u8(f);
	s->regs[GREG_RFLAGS] = s->state.rflags = (fz_u32(f) & (FL_ARITH | FL_DF)) | 2;
	for (int i = 0; i < 0x400; i += 4)
		fake_apic[i] = fz_u8(f) == 0xff ? fz_u32(f) : 0;
	u32 off = fz_u16(f) & 0xfff;

	struct decoded_store d;
	int rc = emulate_decode(fake_ram + (rip - FAKE_RAM_BASE), 15, mode, &d);
	u64 gpr[GPR__COUNT];
	u32 apic[0x400];
	memcpy(gpr, vp->gpr, sizeof(gpr));
	memcpy(apic, fake_apic, sizeof(apic));
	fz_ram_snapshot();
	struct hv_exit e = { .reason = HV_EXIT_NPF };
	e.u.npf.gpa = FZ_APIC + off;
	e.u.npf.write = true;
	e.u.npf.present = true;
	s->injected_vector = -1;
	enum hv_action a = hv_handle_npf(vp, &e);

	fz_ram_check(0, 0, false);
	FZ_CHECK(a == HV_ACT_ADVANCE || a == HV_ACT_RESUME || a == HV_ACT_INJECTED, "action %d", a);
	if (a == HV_ACT_INJECTED)
		FZ_CHECK((s->injected_vector == 6 || s->injected_vector == 13) && rc != EMUL_OK,
			 "vector %d injected, decode %d", s->injected_vector, rc);
	if (a == HV_ACT_ADVANCE)
		FZ_CHECK(rc == EMUL_OK && e.insn_len == d.len, "advanced by %u, decoded %d/%u",
			 e.insn_len, rc, d.len);
	if (a == HV_ACT_RESUME)
		FZ_CHECK(rc == EMUL_SHORT || (rc == EMUL_OK && d.op == ST_STOS && d.rep),
			 "re-executed after decode %d", rc);
	for (int r = 0; r < GPR__COUNT; r++) {
		if (gpr[r] == vp->gpr[r])
			continue;
		bool own = rc == EMUL_OK &&
			   (r == d.reg || (d.op == ST_STOS && (r == GPR_RDI || r == GPR_RCX)) ||
			    (d.op == ST_CMPXCHG && r == GPR_RAX));
		FZ_CHECK(own, "register %d changed by a store (op %u reg %u)", r, rc == EMUL_OK ? d.op : 99,
			 d.reg);
	}
	for (u32 reg = 0; reg < 0x1000; reg += 4) {
		if (fake_apic[reg / 4] == apic[reg / 4])
			continue;
		bool covered = rc == EMUL_OK && (reg & 0xf) == 0 && reg + 4 > off && reg < off + d.size;
		bool icr = reg == 0x300 || reg == 0x310; /* a send rewrites the pair */
		FZ_CHECK(covered || icr, "APIC register %x written by a %u-byte store at %x", reg,
			 rc == EMUL_OK ? d.size : 0, off);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct fz_world *w = fz_world_new(1);
	identity_paging();
	for (int ops = 0; fz_left(&f) && ops < 32; ops++) {
		if (fz_u8(&f) & 1)
			op_decode(&f);
		else
			op_store(&f, w);
		fz_check_slat(w);
	}
	return 0;
}
