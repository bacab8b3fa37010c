/*
 * emulate.h - guest page walk, instruction fetch, store decoding and the
 * arithmetic of read-modify-write stores (hv/emulate.c).
 */
#ifndef HV_EMULATE_H
#define HV_EMULATE_H

#include "vp.h"

struct gwalk_regs {
	u64 cr0, cr3, cr4, efer;
};

/* What a decoded store does to its memory operand. */
enum store_op {
	ST_MOV,     /* 88/89, C6/C7 /0, A2/A3 (moffs), 0F C3 (MOVNTI) */
	ST_STOS,    /* AA/AB, REP or not: one element per emulation */
	ST_XCHG,    /* 86/87: reg also receives the old value */
	ST_ALU,     /* 00-31 r/m forms, 80/81/82/83: alu = ADD..XOR (0-6) */
	ST_NOT,     /* F6/F7 /2 */
	ST_NEG,     /* F6/F7 /3 */
	ST_INC,     /* FE/FF /0 */
	ST_DEC,     /* FE/FF /1 */
	ST_BT,      /* 0F AB/B3/BB, 0F BA /5-/7: alu = 5 BTS, 6 BTR, 7 BTC */
	ST_XADD,    /* 0F C0/C1 */
	ST_CMPXCHG, /* 0F B0/B1 */
};

enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR };
enum { BT_BTS = 5, BT_BTR = 6, BT_BTC = 7 };

struct decoded_store {
	u8 len;        /* instruction length */
	u8 size;       /* operand bytes: 1, 2, 4 or 8 */
	bool has_imm;  /* the source is imm (else register reg) */
	bool is_xchg;  /* XCHG: reg also receives the old value */
	bool high_byte; /* AH/CH/DH/BH */
	u8 reg;        /* source register number (GPR_*) */
	u64 imm;       /* sign-extended to the operand size, masked to it */
	u8 op;         /* enum store_op */
	u8 alu;        /* ST_ALU: ALU_*; ST_BT: BT_* */
	u8 addr_size;  /* 2, 4 or 8: the width of RCX/RDI for STOS */
	bool rep;      /* STOS with F2/F3 */
	bool lock;
};

/* emulate_decode results. */
#define EMUL_OK 0
#define EMUL_SHORT (-1) /* the bytes end before the instruction does */
#define EMUL_UD (-2)    /* invalid as encoded (LOCK on a non-RMW, 66 MOVNTI, ...) */
#define EMUL_UNSUP (-3) /* valid, but not a store emulated here (or a load) */
#define EMUL_TOOLONG (-4) /* longer than 15 bytes: #GP */

/* Arithmetic flags of RFLAGS. */
#define FL_CF BIT(0)
#define FL_PF BIT(2)
#define FL_AF BIT(4)
#define FL_ZF BIT(6)
#define FL_SF BIT(7)
#define FL_DF BIT(10)
#define FL_OF BIT(11)
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* An instruction fetch for emulation ended at linear address la (a
 * byte the guest's tables do not map, or not guest RAM) although the
 * processor executed the instruction (from a TLB entry its tables no
 * longer back, or a concurrent change). Re-executing would exit the same
 * way forever, so the guest gets what the processor gives when it walks
 * the tables now (it may drop a TLB entry at any time, SDM 4.10.2.2):
 * the #PF of that walk (CR2 = la); or #GP(0) when the walk succeeds but
 * the code is not in guest RAM (MMIO, which is never emulated). */
enum hv_action emulate_fetch_failed(struct vp *vp, const struct gwalk_regs *r, u64 la);
int emulate_walk(const struct partition *p, const struct gwalk_regs *r, u64 la, u64 *gpa);
int emulate_fetch(const struct partition *p, const struct gwalk_regs *r, u64 la, u8 *buf);
/* mode: the default operand/address size in bytes: 8 (64-bit mode), 4
 * (32-bit code, CS.D = 1), 2 (16-bit code, real and virtual-8086 mode). */
int emulate_decode(const u8 *b, int n, int mode, struct decoded_store *d);
/* The result of a read-modify-write store (not ST_MOV/STOS/XCHG): the
 * memory operand's old value dst, the source src (register or immediate),
 * the guest's RFLAGS in *rflags, updated as hardware does (undefined
 * flags: left unchanged, AF cleared by the logic operations). Returns the
 * value to write (all of them write, as hardware does). ST_CMPXCHG: src is
 * the accumulator; the flags are those of CMP acc, dst and dst comes back:
 * the caller writes the source register instead when ZF is set, else
 * loads the accumulator. */
u64 emulate_rmw(const struct decoded_store *d, u64 dst, u64 src, u64 *rflags);

#endif
