/*
 * cr.h - guest writes to CR0 and CR4 that a backend intercepts without
 * decoding them (SVM: every MOV to CR0/CR4, LMSW and CLTS; docs/svm.md
 * "CR0 and CR4 writes"), emulated with
 * the architectural checks of the processor (hv/cr.c).
 */
#ifndef HV_CR_H
#define HV_CR_H

#include "vp.h"

/* An instruction that writes a control register. */
enum cr_kind { CRI_MOV, CRI_LMSW, CRI_CLTS };
struct cr_insn {
	u8 kind;     /* enum cr_kind */
	u8 cr;       /* CRI_MOV: the control register (REX.R included) */
	u8 gpr;      /* the source register (CRI_MOV; CRI_LMSW with mod 3) */
	bool mem;    /* CRI_LMSW from memory: ea_* below */
	u8 len;      /* instruction length */
	u8 asz;      /* address size in bytes (2, 4, 8) */
	int8_t seg;      /* segment override (SEG_*), -1: none */
	/* memory operand: base + index * scale + disp (-1: no register) */
	int8_t base, index;
	u8 scale;
	bool rip_rel;
	int64_t disp;
};

/* Decode MOV to CRn (0F 22 /r), LMSW (0F 01 /6) or CLTS (0F 06) with any legal
 * prefixes; mode is the default operand/address size (8, 4, 2). Returns
 * EMUL_OK, EMUL_SHORT (the bytes end first) or EMUL_UNSUP (another
 * instruction). */
int cr_decode(const u8 *b, int n, int mode, struct cr_insn *d);
/* The new CR0 of an LMSW with source msw (SDM/APM LMSW: bits 3:0, PE can
 * be set but not cleared). */
u64 cr_lmsw_value(u64 cur, u16 msw);
/* Would the processor refuse (#GP(0)) MOV to CR0 of v, the current CR0
 * being cur (AMD APM vol. 3 MOV CRn; SDM vol. 2 MOV to CR0)? */
bool cr0_write_faults(u64 cur, u64 v, u64 cr4, u64 efer, bool cs_l);
/* The same for CR4 = v; valid is the set of CR4 bits the processor has
 * (cr4_valid_bits from its CPUID). */
bool cr4_write_faults(u64 cur, u64 v, u64 valid, u64 efer, u64 cr3);
u64 cr4_valid_bits(u32 leaf1_ecx, u32 leaf7_ebx, u32 leaf7_ecx);

#endif
