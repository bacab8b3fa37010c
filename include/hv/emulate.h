/*
 * emulate.h - guest page walk, instruction fetch, store decoding
 * (hv/emulate.c).
 */
#ifndef HV_EMULATE_H
#define HV_EMULATE_H

#include "vp.h"

struct gwalk_regs {
	u64 cr0, cr3, cr4, efer;
};
struct decoded_store {
	u8 len;        /* instruction length */
	u8 size;       /* operand bytes */
	bool has_imm;  /* MOV r/m, imm: value in imm */
	bool is_xchg;  /* XCHG: reg also receives the old value */
	bool high_byte; /* AH/CH/DH/BH */
	u8 reg;        /* source register number (GPR_*) */
	u64 imm;
};
int emulate_walk(const struct partition *p, const struct gwalk_regs *r, u64 la, u64 *gpa);
int emulate_fetch(const struct partition *p, const struct gwalk_regs *r, u64 la, u8 *buf);
int emulate_decode_store(const u8 *b, int n, bool mode64, struct decoded_store *d);

#endif
