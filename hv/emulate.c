/*
 * emulate.c - just enough instruction emulation for guest writes to the
 * intercepted xAPIC page: translate the guest's RIP through its page tables
 * (the walker of hv/walk.c), fetch the instruction, decode any instruction
 * that stores to memory (MOV in all forms, MOVNTI, XCHG, STOS, the
 * read-modify-write ALU, NOT/NEG/INC/DEC, BTS/BTR/BTC, XADD, CMPXCHG) into
 * its length, operand size and source, and compute read-modify-write
 * results with their RFLAGS as hardware does; and the exception a failed
 * fetch gives the guest (emulate_fetch_failed). Pure apart from that and guest-memory reads through hv/gmem.c, which only
 * ever see guest RAM, firmware memory and overlay pages (never MMIO or
 * hypervisor memory).
 */
#include "emulate.h"
#include "backend.h"
#include "gmem.h"
#include "walk.h"
#include "tlfs.h"
#include "x86.h"

/* Linear address -> GPA with the guest's paging mode (the walker of
 * hv/walk.c, without permission checks: the processor fetched the
 * instruction already). 0 on success. 1 GiB pages are allowed: a page
 * the processor used exists. */
int emulate_walk(const struct partition *p, const struct gwalk_regs *r, u64 la, u64 *gpa)
{
	struct xlate_state s = { r->cr0, r->cr3, r->cr4, r->efer, 0, 0, 0, true, 0 };
	struct xlate_out o;
	if (walk_gva(p, &s, la >> 12, 0, &o) != HV_TRANSLATE_GVA_SUCCESS)
		return -1;
	*gpa = (o.gpa_page << 12) | (la & (PAGE_SIZE - 1));
	return 0;
}

enum hv_action emulate_fetch_failed(struct vp *vp, const struct gwalk_regs *r, u64 la)
{
	u8 cpl = (u8)vp->part->be->read_reg(vp, GREG_CPL);
	struct xlate_state s = { r->cr0, r->cr3, r->cr4, r->efer, 0, 0, cpl, true, 0 };
	struct xlate_out o;
	u32 err;
	switch (walk_gva(vp->part, &s, la >> 12, HV_TRANSLATE_GVA_VALIDATE_EXECUTE, &o)) {
	case HV_TRANSLATE_GVA_PAGE_NOT_PRESENT: err = 0; break;
	case HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION: err = PF_P; break;
	case HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS: err = PF_P | PF_RSVD; break;
	default:
		vp_inject_gp(vp);
		return HV_ACT_INJECTED;
	}
	/* I/D: a fetch, where the processor reports it (NX or SMEP on). */
	if ((r->efer & EFER_NXE) || (r->cr4 & CR4_SMEP))
		err |= PF_ID;
	if (cpl == 3)
		err |= PF_US;
	vp_inject_pf(vp, la, err);
	return HV_ACT_INJECTED;
}

/* Fetch up to 15 instruction bytes at linear address la (they may cross a
 * page). Returns how many were fetched. */
int emulate_fetch(const struct partition *p, const struct gwalk_regs *r, u64 la, u8 *buf)
{
	int n = 0;
	while (n < 15) {
		u64 gpa;
		if (emulate_walk(p, r, la + (u64)n, &gpa))
			break;
		u32 chunk = (u32)(PAGE_SIZE - (gpa & (PAGE_SIZE - 1)));
		if (chunk > (u32)(15 - n))
			chunk = (u32)(15 - n);
		if (!gmem_read_code(p, gpa, buf + n, chunk))
			break;
		n += (int)chunk;
	}
	return n;
}

/* Bytes of a ModRM memory operand after the ModRM byte (SIB, displacement)
 * for address size asz; -1 for a register operand. */
static int modrm_extra(const u8 *b, int i, int n, u8 modrm, int asz)
{
	u8 mod = modrm >> 6, rm = modrm & 7;
	if (mod == 3)
		return -1;
	if (asz == 2) /* 16-bit ModRM (SDM table 2-1) */
		return (mod == 0 && rm == 6) ? 2 : mod == 1 ? 1 : mod == 2 ? 2 : 0;
	int x = 0;
	if (rm == 4) {
		if (i >= n)
			return -2;
		x = 1;
		if (mod == 0 && (b[i] & 7) == 5)
			x += 4;
	} else if (mod == 0 && rm == 5) {
		x = 4; /* disp32, RIP-relative in 64-bit mode */
	}
	return x + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

static u64 size_mask(u32 size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* Decode an instruction that stores to memory (enum store_op lists the
 * forms) with any legal prefixes: segment overrides, 66, 67, F0, F2/F3,
 * REX in 64-bit mode. */
int emulate_decode(const u8 *b, int n, int mode, struct decoded_store *d)
{
	int i = 0;
	bool o16 = false, a67 = false, lock = false, rep = false;
	u8 rex = 0;

	*d = (struct decoded_store){ 0 };
	if (n > 15)
		n = 15;
	/* The common case first, as an OS writes EOI or the ICR: MOV r/m32,
	 * r32 (89), no prefix but REX, in 64-bit mode (make bench:
	 * xapic_eoi_store). The general path below decodes it the same. */
	if (mode == 8 && n >= 3) {
		int k = (b[0] & 0xf8) == 0x40; /* REX without W */
		if (b[k] == 0x89) {
			u8 m = b[k + 1];
			int x = modrm_extra(b, k + 2, n, m, 8);
			if (x >= 0 && k + 2 + x <= n) {
				d->len = (u8)(k + 2 + x);
				d->size = 4;
				d->reg = (u8)(((m >> 3) & 7) | ((k && (b[0] & 4)) ? 8 : 0));
				d->addr_size = 8;
				return EMUL_OK; /* op ST_MOV */
			}
		}
	}
	for (;; i++) {
		if (i >= n)
			return i >= 15 ? EMUL_TOOLONG : EMUL_SHORT;
		u8 c = b[i];
		if (mode == 8 && (c & 0xf0) == 0x40) {
			rex = c; /* counts only right before the opcode */
			continue;
		}
		if (c == 0x66)
			o16 = true;
		else if (c == 0x67)
			a67 = true;
		else if (c == 0xf0)
			lock = true;
		else if (c == 0xf2 || c == 0xf3)
			rep = true;
		else if (!(c == 0x2e || c == 0x36 || c == 0x3e || c == 0x26 || c == 0x64 || c == 0x65))
			break;
		rex = 0; /* a legacy prefix after REX: the REX is ignored */
	}
	int osz = mode == 8 ? ((rex & 8) ? 8 : o16 ? 2 : 4) : mode == 4 ? (o16 ? 2 : 4) : (o16 ? 4 : 2);
	int asz = mode == 8 ? (a67 ? 4 : 8) : mode == 4 ? (a67 ? 2 : 4) : (a67 ? 4 : 2);
	u8 op = b[i++];
	bool two = op == 0x0f, modrm = true, src_reg = false, byte = false;
	int imm = 0; /* immediate bytes */
	u8 op2 = 0;
	d->addr_size = (u8)asz;
	d->lock = lock;
	if (two) {
		if (i >= n)
			return i >= 15 ? EMUL_TOOLONG : EMUL_SHORT;
		op2 = b[i++];
	}
	if (!two && (op == 0xa2 || op == 0xa3 || op == 0xaa || op == 0xab))
		modrm = false;
	u8 m = 0, reg = 0;
	if (modrm) {
		if (i >= n)
			return i >= 15 ? EMUL_TOOLONG : EMUL_SHORT;
		m = b[i++];
		reg = (m >> 3) & 7;
	}
	if (!two) {
		if (op < 0x38 && (op & 7) <= 1 && (op >> 3) != 7) {
			d->op = ST_ALU, d->alu = op >> 3, src_reg = true, byte = !(op & 1);
		} else switch (op) {
		case 0x80: case 0x82: case 0x81: case 0x83:
			if (op == 0x82 && mode == 8)
				return EMUL_UD;
			if (reg == 7)
				return EMUL_UNSUP; /* CMP: a load */
			d->op = ST_ALU, d->alu = reg, byte = op == 0x80 || op == 0x82;
			imm = op == 0x81 ? (osz == 2 ? 2 : 4) : 1;
			break;
		case 0x86: case 0x87: d->op = ST_XCHG, src_reg = true, byte = op == 0x86; break;
		case 0x88: case 0x89: d->op = ST_MOV, src_reg = true, byte = op == 0x88; break;
		case 0xc6: case 0xc7:
			if (reg != 0)
				return EMUL_UNSUP;
			d->op = ST_MOV, byte = op == 0xc6, imm = byte ? 1 : osz == 2 ? 2 : 4;
			break;
		case 0xa2: case 0xa3:
			d->op = ST_MOV, byte = op == 0xa2, d->reg = GPR_RAX;
			imm = -asz; /* the moffs */
			break;
		case 0xaa: case 0xab:
			d->op = ST_STOS, byte = op == 0xaa, d->reg = GPR_RAX, d->rep = rep;
			break;
		case 0xf6: case 0xf7:
			if (reg != 2 && reg != 3)
				return EMUL_UNSUP; /* TEST, MUL, DIV: no store */
			d->op = reg == 2 ? ST_NOT : ST_NEG, byte = op == 0xf6;
			break;
		case 0xfe: case 0xff:
			if (reg > 1)
				return op == 0xfe ? EMUL_UD : EMUL_UNSUP;
			d->op = reg == 0 ? ST_INC : ST_DEC, byte = op == 0xfe;
			break;
		default:
			return EMUL_UNSUP;
		}
	} else {
		switch (op2) {
		case 0xc3:
			if (o16 || rep)
				return EMUL_UD;
			d->op = ST_MOV, src_reg = true;
			if (osz == 2)
				osz = 4;
			break;
		case 0xab: case 0xb3: case 0xbb:
			d->op = ST_BT, src_reg = true, d->alu = op2 == 0xab ? BT_BTS : op2 == 0xb3 ? BT_BTR : BT_BTC;
			break;
		case 0xba:
			if (reg < 5)
				return reg == 4 ? EMUL_UNSUP : EMUL_UD; /* BT: a load */
			d->op = ST_BT, d->alu = reg, imm = 1;
			break;
		case 0xb0: case 0xb1: d->op = ST_CMPXCHG, src_reg = true, byte = op2 == 0xb0; break;
		case 0xc0: case 0xc1: d->op = ST_XADD, src_reg = true, byte = op2 == 0xc0; break;
		default:
			return EMUL_UNSUP;
		}
	}
	d->size = (u8)(byte ? 1 : osz);
	d->is_xchg = d->op == ST_XCHG;
	if (lock && (d->op == ST_MOV || d->op == ST_STOS))
		return EMUL_UD;
	if (modrm) {
		int x = modrm_extra(b, i, n, m, asz);
		if (x == -1)
			return lock ? EMUL_UD : EMUL_UNSUP; /* a register operand cannot have faulted on memory */
		if (x == -2)
			return EMUL_SHORT;
		i += x;
	}
	if (src_reg) {
		d->reg = reg | ((rex & 4) ? 8 : 0);
		/* Byte registers 4-7 without REX are AH, CH, DH, BH. */
		d->high_byte = d->size == 1 && !rex && reg >= 4;
		if (d->high_byte)
			d->reg = reg - 4;
	}
	if (imm < 0) { /* moffs: an address, not a value */
		i += -imm;
	} else if (imm) {
		if (i + imm > n)
			return i + imm > 15 ? EMUL_TOOLONG : EMUL_SHORT;
		u64 v = 0;
		for (int k = 0; k < imm; k++)
			v |= (u64)b[i + k] << (8 * k);
		if (v & BIT(8 * imm - 1)) /* sign-extended to the operand size */
			v |= ~size_mask((u32)imm);
		d->imm = v & size_mask(d->size);
		d->has_imm = true;
		i += imm;
	}
	if (i > 15)
		return EMUL_TOOLONG;
	if (i > n)
		return EMUL_SHORT;
	d->len = (u8)i;
	return EMUL_OK;
}

static u64 flags_szp(u64 r, u32 size)
{
	u64 f = 0;
	r &= size_mask(size);
	if (!r)
		f |= FL_ZF;
	if (r >> (8 * size - 1))
		f |= FL_SF;
	if (!(__builtin_popcount((u32)(r & 0xff)) & 1))
		f |= FL_PF;
	return f;
}

/* a + b + c (add) or a - b - c (!add) at the operand size, with CF, PF,
 * AF, ZF, SF, OF as hardware sets them. */
static u64 arith(bool add, u32 size, u64 a, u64 b, u64 c, u64 *fl)
{
	u64 mk = size_mask(size), top = 1ull << (8 * size - 1);
	a &= mk, b &= mk;
	u64 r = (add ? a + b + c : a - b - c) & mk, f = flags_szp(r, size);
	if (add ? (r < a || (c && r == a)) : (c ? a <= b : a < b))
		f |= FL_CF;
	if (((a ^ b ^ r) >> 4) & 1)
		f |= FL_AF;
	if (add ? ((a ^ r) & (b ^ r) & top) : ((a ^ b) & (a ^ r) & top))
		f |= FL_OF;
	*fl = f;
	return r;
}

u64 emulate_rmw(const struct decoded_store *d, u64 dst, u64 src, u64 *rflags)
{
	u32 size = d->size;
	u64 mk = size_mask(size), f = 0, r, keep = *rflags & ~FL_ARITH;
	bool cf = *rflags & FL_CF;

	dst &= mk, src &= mk;
	switch (d->op) {
	case ST_ALU:
		switch (d->alu) {
		case ALU_ADD: r = arith(true, size, dst, src, 0, &f); break;
		case ALU_ADC: r = arith(true, size, dst, src, cf, &f); break;
		case ALU_SUB: r = arith(false, size, dst, src, 0, &f); break;
		case ALU_SBB: r = arith(false, size, dst, src, cf, &f); break;
		case ALU_OR: r = dst | src; f = flags_szp(r, size); break;
		case ALU_AND: r = dst & src; f = flags_szp(r, size); break;
		default: r = dst ^ src; f = flags_szp(r, size); break;
		}
		break;
	case ST_XADD:
		r = arith(true, size, dst, src, 0, &f);
		break;
	case ST_CMPXCHG:
		arith(false, size, src, dst, 0, &f);
		r = dst;
		break;
	case ST_NOT:
		return ~dst & mk; /* no flags */
	case ST_NEG:
		r = arith(false, size, 0, dst, 0, &f);
		break;
	case ST_INC: case ST_DEC:
		r = arith(d->op == ST_INC, size, dst, 1, 0, &f);
		f = (f & ~FL_CF) | (cf ? FL_CF : 0); /* CF unchanged */
		break;
	case ST_BT: {
		u64 bit = 1ull << (src & (8 * size - 1));
		/* CF = the bit; ZF unchanged, OF/SF/AF/PF undefined: kept. */
		*rflags = (*rflags & ~FL_CF) | ((dst & bit) ? FL_CF : 0);
		return d->alu == BT_BTS ? dst | bit : d->alu == BT_BTR ? dst & ~bit : dst ^ bit;
	}
	default:
		return src;
	}
	*rflags = keep | f;
	return r & mk;
}
