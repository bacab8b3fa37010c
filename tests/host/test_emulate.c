/* test_emulate.c - the store decoder and guest page walk (hv/emulate.c)
 * used to emulate guest writes to the xAPIC page (hv/smp.c). */
#include "htest.h"
#include "fakes.h"
#include "boot_info.h"
#include "x86.h"
#include <string.h>

static struct decoded_store d;

static int dec(const char *bytes, int n, bool mode64)
{
	return emulate_decode((const u8 *)bytes, n, mode64 ? 8 : 4, &d) ? -1 : 0;
}

TEST(decode_mov_forms)
{
	CHECK_EQ(dec("\x89\x0a", 2, true), 0); /* mov [rdx], ecx */
	CHECK(d.len == 2 && d.size == 4 && d.reg == GPR_RCX && !d.has_imm && !d.is_xchg);
	CHECK_EQ(dec("\x41\x89\x04\x24", 4, true), 0); /* mov [r12], eax (SIB) */
	CHECK(d.len == 4 && d.reg == GPR_RAX);
	CHECK_EQ(dec("\x44\x89\x7a\x10", 4, true), 0); /* mov [rdx+0x10], r15d */
	CHECK(d.len == 4 && d.reg == GPR_R15);
	CHECK_EQ(dec("\x89\x05\x00\x10\x00\x00", 6, true), 0); /* mov [rip+disp32], eax */
	CHECK_EQ(d.len, 6);
	CHECK_EQ(dec("\xc7\x80\xb0\x00\x00\x00\x78\x56\x34\x12", 10, true), 0); /* mov dword [rax+0xb0], imm32 */
	CHECK(d.len == 10 && d.has_imm && d.imm == 0x12345678 && d.size == 4);
	CHECK_EQ(dec("\x48\xc7\x00\xff\xff\xff\xff", 7, true), 0); /* mov qword [rax], -1 */
	CHECK(d.size == 8 && d.imm == ~0ull);
	CHECK_EQ(dec("\x87\x0a", 2, true), 0); /* xchg [rdx], ecx */
	CHECK(d.is_xchg && d.reg == GPR_RCX);
	CHECK_EQ(dec("\x88\x62\x05", 3, true), 0); /* mov [rdx+5], ah */
	CHECK(d.size == 1 && d.high_byte && d.reg == GPR_RAX && d.len == 3);
	CHECK_EQ(dec("\x40\x88\x62\x05", 4, true), 0); /* with REX: spl, not ah */
	CHECK(!d.high_byte && d.reg == 4);
	CHECK_EQ(dec("\x66\x89\x0a", 3, true), 0);
	CHECK(d.size == 2 && d.len == 3);
	CHECK_EQ(dec("\x2e\x3e\x89\x4c\x24\x08", 6, true), 0); /* segment prefixes, SIB+disp8 */
	CHECK_EQ(d.len, 6);
	CHECK_EQ(dec("\x89\x0c\x25\x00\x03\xe0\xfe", 7, true), 0); /* mov [0xfee00300], ecx */
	CHECK_EQ(d.len, 7);
	/* 32-bit code with 16-bit addressing (0x67): mov [0x1234], cx */
	CHECK_EQ(dec("\x67\x66\x89\x0e\x34\x12", 6, false), 0);
	CHECK(d.len == 6 && d.size == 2);
	/* 32-bit code: 0x40-0x4F are INC/DEC, not REX: not a store. */
	CHECK(dec("\x41\x89\x04\x24", 4, false) != 0);
}

TEST(decode_rejects)
{
	CHECK(dec("\x89\xc8", 2, true) != 0);       /* register operand */
	CHECK(dec("\x8b\x0a", 2, true) != 0);       /* a load */
	CHECK(dec("\xc7\x48\x10", 3, true) != 0);   /* C7 /1 is not MOV */
	CHECK(dec("\xc7\x05\x00\x00", 4, true) != 0); /* truncated */
	CHECK(dec("\x89", 1, true) != 0);
	CHECK(dec("", 0, true) != 0);
	/* 15 prefixes plus an opcode: longer than an instruction may be. */
	CHECK(dec("\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x89\x0a", 16, true) != 0);
}


static int dm(const char *bytes, int n, int mode)
{
	return emulate_decode((const u8 *)bytes, n, mode, &d);
}

/* Issue 14 defect 2: every store form, with prefixes, in each mode. */
TEST(decode_all_store_forms)
{
	/* MOV moffs: A3 in 64-bit mode takes an 8-byte address, 4 with 67. */
	CHECK_EQ(dm("\xa3\x10\x03\xe0\xfe\x00\x00\x00\x00", 9, 8), EMUL_OK);
	CHECK(d.op == ST_MOV && d.len == 9 && d.size == 4 && d.reg == GPR_RAX && !d.has_imm);
	CHECK_EQ(dm("\x67\xa3\x10\x03\xe0\xfe", 6, 8), EMUL_OK);
	CHECK_EQ(d.len, 6);
	CHECK_EQ(dm("\x48\xa3\x10\x03\xe0\xfe\x00\x00\x00\x00", 10, 8), EMUL_OK);
	CHECK(d.size == 8 && d.len == 10);
	CHECK_EQ(dm("\x64\xa2\x80\x00\xe0\xfe\x00\x00\x00\x00", 10, 8), EMUL_OK); /* fs: A2 */
	CHECK(d.size == 1 && d.len == 10);
	CHECK_EQ(dm("\xa3\x80\x00\xe0\xfe", 5, 4), EMUL_OK); /* 32-bit: moffs32 */
	CHECK_EQ(d.len, 5);
	CHECK_EQ(dm("\x67\xa3\x80\x00", 4, 4), EMUL_OK); /* 32-bit + 67: moffs16 */
	CHECK_EQ(d.len, 4);
	CHECK_EQ(dm("\xa3\x80\x00", 3, 2), EMUL_OK); /* 16-bit code */
	CHECK(d.len == 3 && d.size == 2);
	CHECK_EQ(dm("\x66\x67\xa3\x80\x00\xe0\xfe", 7, 2), EMUL_OK);
	CHECK(d.len == 7 && d.size == 4);
	/* MOVNTI, with REX.W; 66 0F C3 is invalid. */
	CHECK_EQ(dm("\x0f\xc3\x02", 3, 8), EMUL_OK);
	CHECK(d.op == ST_MOV && d.size == 4 && d.reg == GPR_RAX && d.len == 3);
	CHECK_EQ(dm("\x4c\x0f\xc3\x4a\x10", 5, 8), EMUL_OK);
	CHECK(d.size == 8 && d.reg == GPR_R9 && d.len == 5);
	CHECK_EQ(dm("\x66\x0f\xc3\x02", 4, 8), EMUL_UD);
	/* LOCK on MOV is #UD; on an RMW it is fine. */
	CHECK_EQ(dm("\xf0\x89\x02", 3, 8), EMUL_UD);
	CHECK_EQ(dm("\xf0\x83\x0a\x00", 4, 8), EMUL_OK);
	CHECK(d.lock && d.op == ST_ALU && d.alu == ALU_OR && d.has_imm && d.imm == 0);
	/* STOS: REP, address size for RCX/RDI. */
	CHECK_EQ(dm("\xf3\xab", 2, 8), EMUL_OK);
	CHECK(d.op == ST_STOS && d.rep && d.size == 4 && d.addr_size == 8 && d.len == 2);
	CHECK_EQ(dm("\x67\xf3\x48\xab", 4, 8), EMUL_OK);
	CHECK(d.size == 8 && d.addr_size == 4);
	CHECK_EQ(dm("\xaa", 1, 4), EMUL_OK);
	CHECK(d.size == 1 && !d.rep && d.addr_size == 4);
	CHECK_EQ(dm("\xab", 1, 2), EMUL_OK);
	CHECK(d.size == 2 && d.addr_size == 2);
	CHECK_EQ(dm("\xf0\xab", 2, 8), EMUL_UD);
	/* ALU r/m, reg: 00-31 (the even/odd pairs; 38/39 CMP is a load). */
	static const u8 alu_ops[] = { 0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30 };
	for (int k = 0; k < 7; k++) {
		u8 b[3] = { alu_ops[k], 0x0a, 0 };
		CHECK_EQ(emulate_decode(b, 2, 8, &d), EMUL_OK);
		CHECK(d.op == ST_ALU && d.alu == k && d.size == 1 && d.reg == GPR_RCX && d.len == 2);
		b[0]++;
		CHECK_EQ(emulate_decode(b, 2, 8, &d), EMUL_OK);
		CHECK(d.op == ST_ALU && d.alu == k && d.size == 4);
		b[0] += 2; /* 02/03...: register destination, a load */
		CHECK_EQ(emulate_decode(b, 2, 8, &d), EMUL_UNSUP);
	}
	CHECK_EQ(dm("\x39\x0a", 2, 8), EMUL_UNSUP);
	/* 80/81/83 groups: immediates and sign extension. */
	CHECK_EQ(dm("\x80\x0a\x81", 3, 8), EMUL_OK);
	CHECK(d.alu == ALU_OR && d.size == 1 && d.imm == 0x81 && d.len == 3);
	CHECK_EQ(dm("\x48\x83\x22\xf0", 4, 8), EMUL_OK);
	CHECK(d.alu == ALU_AND && d.size == 8 && d.imm == 0xfffffffffffffff0ull);
	CHECK_EQ(dm("\x66\x81\x2a\x34\x12", 5, 8), EMUL_OK);
	CHECK(d.alu == ALU_SUB && d.size == 2 && d.imm == 0x1234 && d.len == 5);
	CHECK_EQ(dm("\x48\x81\x32\x00\x00\x00\x80", 7, 8), EMUL_OK);
	CHECK(d.alu == ALU_XOR && d.imm == 0xffffffff80000000ull);
	CHECK_EQ(dm("\x81\x3a\x00\x00\x00\x80", 6, 8), EMUL_UNSUP); /* CMP */
	CHECK_EQ(dm("\x82\x02\x01", 3, 4), EMUL_OK); /* 82 = 80 outside 64-bit */
	CHECK_EQ(dm("\x82\x02\x01", 3, 8), EMUL_UD);
	CHECK_EQ(dm("\x81\x02\x01\x00", 4, 2), EMUL_OK); /* 16-bit: imm16 */
	CHECK(d.size == 2 && d.len == 4);
	/* NOT/NEG, INC/DEC. */
	CHECK_EQ(dm("\xf7\x12", 2, 8), EMUL_OK);
	CHECK(d.op == ST_NOT && d.size == 4);
	CHECK_EQ(dm("\xf6\x1a", 2, 8), EMUL_OK);
	CHECK(d.op == ST_NEG && d.size == 1);
	CHECK_EQ(dm("\xf7\x02\x00\x00\x00\x00", 6, 8), EMUL_UNSUP); /* TEST */
	CHECK_EQ(dm("\xfe\x02", 2, 8), EMUL_OK);
	CHECK(d.op == ST_INC && d.size == 1);
	CHECK_EQ(dm("\x48\xff\x0a", 3, 8), EMUL_OK);
	CHECK(d.op == ST_DEC && d.size == 8);
	CHECK_EQ(dm("\xff\x12", 2, 8), EMUL_UNSUP); /* CALL [rdx] */
	CHECK_EQ(dm("\xfe\x3a", 2, 8), EMUL_UD);
	/* Bit tests. */
	CHECK_EQ(dm("\x0f\xab\x0a", 3, 8), EMUL_OK);
	CHECK(d.op == ST_BT && d.alu == BT_BTS && d.reg == GPR_RCX && !d.has_imm);
	CHECK_EQ(dm("\x0f\xb3\x0a", 3, 8), EMUL_OK);
	CHECK(d.alu == BT_BTR);
	CHECK_EQ(dm("\x66\x0f\xbb\x0a", 4, 8), EMUL_OK);
	CHECK(d.alu == BT_BTC && d.size == 2);
	for (u8 r = 5; r <= 7; r++) {
		u8 b[4] = { 0x0f, 0xba, (u8)(0x02 | r << 3), 9 };
		CHECK_EQ(emulate_decode(b, 4, 8, &d), EMUL_OK);
		CHECK(d.op == ST_BT && d.alu == r && d.has_imm && d.imm == 9 && d.len == 4);
	}
	CHECK_EQ(dm("\x0f\xba\x22\x01", 4, 8), EMUL_UNSUP); /* BT: a load */
	/* XADD, CMPXCHG. */
	CHECK_EQ(dm("\xf0\x0f\xc1\x0a", 4, 8), EMUL_OK);
	CHECK(d.op == ST_XADD && d.size == 4 && d.len == 4);
	CHECK_EQ(dm("\x0f\xb0\x22", 3, 8), EMUL_OK);
	CHECK(d.op == ST_CMPXCHG && d.size == 1 && d.high_byte && d.reg == GPR_RAX);
	/* REX before a legacy prefix is ignored; REX.R, REX.B. */
	CHECK_EQ(dm("\x48\x66\x89\x02", 4, 8), EMUL_OK);
	CHECK(d.size == 2);
	CHECK_EQ(dm("\x66\x45\x89\x7c\x24\x04", 6, 8), EMUL_OK);
	CHECK(d.size == 2 && d.reg == GPR_R15 && d.len == 6);
	/* 16-bit ModRM: [bx+si+disp16] */
	CHECK_EQ(dm("\x89\x80\x34\x12", 4, 2), EMUL_OK);
	CHECK(d.len == 4 && d.size == 2);
	CHECK_EQ(dm("\x67\x89\x80\x34\x12\x00\x00", 7, 2), EMUL_OK); /* 32-bit ModRM */
	CHECK_EQ(d.len, 7);
	/* Truncated, too long, register operands. */
	CHECK_EQ(dm("\xa3\x10\x03", 3, 8), EMUL_SHORT);
	CHECK_EQ(dm("\x0f", 1, 8), EMUL_SHORT);
	CHECK_EQ(dm("\x83\x0a", 2, 8), EMUL_SHORT);
	CHECK_EQ(dm("\x26\x26\x26\x26\x26\x26\x26\x26\x26\x26\x26\x26\x26\x26\x26", 15, 8), EMUL_TOOLONG);
	CHECK_EQ(dm("\x26\x26\x26\x26\x26\x26\x26\x26\x26\x26\x26\x81\x02\x00\x00\x00\x00", 17, 8),
		 EMUL_TOOLONG);
	CHECK_EQ(dm("\x01\xc8", 2, 8), EMUL_UNSUP);
	CHECK_EQ(dm("\xf0\x01\xc8", 3, 8), EMUL_UD);
	CHECK_EQ(dm("\x0f\x29\x02", 3, 8), EMUL_UNSUP); /* MOVAPS: not emulated */
}

/* The hardware's own result and flags for an RMW instruction, executed on
 * the host: the oracle for emulate_rmw. */
#define HW_RMW(insn, sfx, type, dst, src, chf_in, res, fl)                          \
	do {                                                                         \
		type hm_ = (type)(dst), hs_ = (type)(src);                             \
		u64 hf_;                                                              \
		__asm__ volatile("cmp %[c], %%rax\n\t" insn sfx " %[s], %[m]\n\t"   \
				 "pushfq\n\tpop %[f]"                               \
				 : [m] "+m"(hm_), [f] "=&r"(hf_), [s] "+r"(hs_) /* XADD writes it */ \
				 : [c] "r"((u64)(chf_in)), "a"(0ull)     \
				 : "cc");                                            \
		res = (u64)hm_, fl = hf_;                                              \
	} while (0)

static u64 rng = 0x9e3779b97f4a7c15ull;
static u64 rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	u64 v = rng;
	switch (v & 7) { /* bias to the edges */
	case 0: return 0;
	case 1: return ~0ull;
	case 2: return 0x80ull << (8 * ((v >> 3) & 7));
	case 3: return (0x80ull << (8 * ((v >> 3) & 7))) - 1;
	default: return v * 0x2545f4914f6cdd1dull;
	}
}

static void rmw_case(u8 op, u8 alu, u8 size, u64 dst, u64 src, int cf, u64 res, u64 fl, u64 defined)
{
	struct decoded_store q = { .op = op, .alu = alu, .size = size };
	u64 rf = 0x202 | (cf ? FL_CF : 0) | (FL_ARITH & ~FL_CF & ~defined);
	u64 mk = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
	u64 got = emulate_rmw(&q, dst, src, &rf);
	CHECK_EQ(got, res & mk);
	if ((rf & defined) != (fl & defined))
		CHECK_EQ(rf & defined, fl & defined); /* reported once per mismatch */
}

#define RMW_ALL(insn, op, alu, cfin, defined)                                                 \
	do {                                                                                  \
		u64 r_, f_;                                                                   \
		HW_RMW(insn, "b", u8, a, b, cfin, r_, f_); rmw_case(op, alu, 1, a, b, cfin, r_, f_, defined); \
		HW_RMW(insn, "w", u16, a, b, cfin, r_, f_); rmw_case(op, alu, 2, a, b, cfin, r_, f_, defined); \
		HW_RMW(insn, "l", u32, a, b, cfin, r_, f_); rmw_case(op, alu, 4, a, b, cfin, r_, f_, defined); \
		HW_RMW(insn, "q", u64, a, b, cfin, r_, f_); rmw_case(op, alu, 8, a, b, cfin, r_, f_, defined); \
	} while (0)

#define BT_ALL(insn, alu)                                                                        \
	do {                                                                                     \
		u64 r_, f_;                                                                      \
		HW_RMW(insn, "w", u16, a, b & 15, cfin, r_, f_);                                 \
		rmw_case(ST_BT, alu, 2, a, b & 15, cfin, r_, f_, FL_CF);                         \
		HW_RMW(insn, "l", u32, a, b & 31, cfin, r_, f_);                                 \
		rmw_case(ST_BT, alu, 4, a, b & 31, cfin, r_, f_, FL_CF);                         \
		HW_RMW(insn, "q", u64, a, b & 63, cfin, r_, f_);                                 \
		rmw_case(ST_BT, alu, 8, a, b & 63, cfin, r_, f_, FL_CF);                         \
	} while (0)

/* emulate_rmw against the host processor: results and every defined flag
 * (AF is undefined after the logic operations; OF/SF/AF/PF after BTx). */
TEST(rmw_flags_match_hardware)
{
	const u64 all = FL_ARITH, logic = FL_ARITH & ~FL_AF;
	for (int it = 0; it < 3000; it++) {
		u64 a = rnd(), b = rnd();
		int cfin = (int)(rng >> 40) & 1;
		/* `cmp c, rax` with rax = 0 sets CF iff c != 0: the carry in. */
		RMW_ALL("add", ST_ALU, ALU_ADD, 0, all);
		RMW_ALL("stc\n\tadc", ST_ALU, ALU_ADC, 1, all);
		RMW_ALL("adc", ST_ALU, ALU_ADC, cfin, all);
		RMW_ALL("sbb", ST_ALU, ALU_SBB, cfin, all);
		RMW_ALL("sub", ST_ALU, ALU_SUB, 0, all);
		RMW_ALL("or", ST_ALU, ALU_OR, 0, logic);
		RMW_ALL("and", ST_ALU, ALU_AND, 0, logic);
		RMW_ALL("xor", ST_ALU, ALU_XOR, 0, logic);
		RMW_ALL("xadd", ST_XADD, 0, 0, all);
		/* BTx with a register: an in-range bit (a memory operand
		 * with a large offset addresses other memory). */
		BT_ALL("bts", BT_BTS);
		BT_ALL("btr", BT_BTR);
		BT_ALL("btc", BT_BTC);
	}
}

/* The one-operand forms: NOT (no flags), NEG, INC/DEC (CF kept). */
#define HW_UN(insn, sfx, type, dst, chf_in, res, fl)                                        \
	do {                                                                               \
		type hm_ = (type)(dst);                                                     \
		u64 hf_;                                                                    \
		__asm__ volatile("cmp %[c], %%rax\n\t" insn sfx " %[m]\n\tpushfq\n\tpop %[f]" \
				 : [m] "+m"(hm_), [f] "=r"(hf_)                              \
				 : [c] "r"((u64)(chf_in)), "a"(0ull) : "cc");               \
		res = (u64)hm_, fl = hf_;                                                    \
	} while (0)
#define UN_DEF(op) ((op) == ST_NOT ? 0 : FL_ARITH) /* NOT: no flags */
#define UN_ALL(insn, op)                                                                            \
	do {                                                                                        \
		u64 r_, f_;                                                                         \
		HW_UN(insn, "b", u8, a, cfin, r_, f_); rmw_case(op, 0, 1, a, 0, cfin, r_, f_, UN_DEF(op)); \
		HW_UN(insn, "w", u16, a, cfin, r_, f_); rmw_case(op, 0, 2, a, 0, cfin, r_, f_, UN_DEF(op)); \
		HW_UN(insn, "l", u32, a, cfin, r_, f_); rmw_case(op, 0, 4, a, 0, cfin, r_, f_, UN_DEF(op)); \
		HW_UN(insn, "q", u64, a, cfin, r_, f_); rmw_case(op, 0, 8, a, 0, cfin, r_, f_, UN_DEF(op)); \
	} while (0)

TEST(rmw_unary_flags_match_hardware)
{
	for (int it = 0; it < 3000; it++) {
		u64 a = rnd();
		int cfin = (int)(rng >> 40) & 1;
		UN_ALL("not", ST_NOT);
		UN_ALL("neg", ST_NEG);
		UN_ALL("inc", ST_INC);
		UN_ALL("dec", ST_DEC);
	}
}

/* CMPXCHG: the flags of CMP acc, dst; dst comes back. */
TEST(rmw_cmpxchg)
{
	struct decoded_store q = { .op = ST_CMPXCHG, .size = 4 };
	u64 rf = 0x202;
	CHECK_EQ(emulate_rmw(&q, 5, 5, &rf), 5);
	CHECK(rf & FL_ZF);
	CHECK_EQ(emulate_rmw(&q, 5, 4, &rf), 5);
	CHECK(!(rf & FL_ZF) && (rf & FL_CF)); /* 4 - 5 borrows */
}

static struct partition part;
static const struct mem_range ranges[] = {
	{ FAKE_RAM_BASE, FAKE_RAM_SIZE, MEM_RAM, 0 },
};

TEST(gwalk_modes)
{
	partition_init(&part, &fake_backend, 36, 0x200000, 0x100000);
	part.ranges = ranges;
	part.range_count = 1;
	memset(fake_ram, 0, sizeof(fake_ram));
	/* 4-level: PML4 at +0, PDPT +0x1000, PD +0x2000, PT +0x3000; VA
	 * 0x40201000 -> GPA FAKE+0x5000; VA 0x40400000 (2M page) -> 0x600000. */
	u64 *pml4 = (u64 *)fake_ram, *pdpt = (u64 *)(fake_ram + 0x1000),
	    *pd = (u64 *)(fake_ram + 0x2000), *pt = (u64 *)(fake_ram + 0x3000);
	pml4[0] = (FAKE_RAM_BASE + 0x1000) | 3;
	pdpt[1] = (FAKE_RAM_BASE + 0x2000) | 3;
	pd[1] = (FAKE_RAM_BASE + 0x3000) | 3;
	pt[1] = (FAKE_RAM_BASE + 0x5000) | 3;
	pd[2] = 0x600000 | 0x83;
	struct gwalk_regs r = { CR0_PG | CR0_PE, FAKE_RAM_BASE, CR4_PAE, EFER_LMA | EFER_LME };
	u64 gpa;
	CHECK_EQ(emulate_walk(&part, &r, 0x40201abc, &gpa), 0);
	CHECK_EQ(gpa, FAKE_RAM_BASE + 0x5abc);
	CHECK_EQ(emulate_walk(&part, &r, 0x40412345, &gpa), 0);
	CHECK_EQ(gpa, 0x612345);
	CHECK(emulate_walk(&part, &r, 0x40202000, &gpa) != 0); /* not present */
	CHECK(emulate_walk(&part, &r, 0x80000000, &gpa) != 0);
	/* A page table outside guest RAM (hypervisor memory) is not read. */
	pt[2] = 0x200000 | 3;
	pd[3] = 0x200000 | 3;
	CHECK(emulate_walk(&part, &r, 0x40600000, &gpa) != 0);
	/* Paging off: linear = physical (32 bits outside long mode). */
	struct gwalk_regs off = { CR0_PE, 0, 0, 0 };
	CHECK_EQ(emulate_walk(&part, &off, 0x1234567812345678ull, &gpa), 0);
	CHECK_EQ(gpa, 0x12345678);
	/* Fetch across the page boundary VA 0x40201ff8 / 0x40202000 (not
	 * mapped): only the bytes of the mapped page come back. */
	u8 buf[15];
	memcpy(fake_ram + 0x5ff8, "\x89\x0a\x90\x90\x90\x90\x90\x90", 8);
	CHECK_EQ(emulate_fetch(&part, &r, 0x40201ff8, buf), 8);
	CHECK(buf[0] == 0x89 && buf[1] == 0x0a);
}
