/*
 * checks_apic_store.c - every instruction that stores to memory works on
 * the xAPIC page (issue 14, defect 2). The page is read-only for the guest
 * and hv.efi emulates the faulting store (hv/smp.c smp_apic_mmio_write):
 * MOV in all its forms (moffs A3 included, with 66, REX.W and segment
 * prefixes), MOVNTI, XCHG, STOS with and without REP, the read-modify-write
 * ALU forms, NOT/NEG/INC/DEC, BTS/BTR/BTC, XADD and CMPXCHG, with the
 * arithmetic flags as hardware sets them. The register is the TPR (0x80,
 * bits 7:0 writable; the rest reads 0), read back through the APIC page
 * (reads do not trap); the LVT error register (0x370) for a second
 * register. Interrupts are off while the TPR is changed; both are restored.
 * An undecodable store used to park the processor (the run then hangs).
 *
 * apic_store.code_in_mmio (issue 14, finding 3c): a store whose code
 * hv.efi cannot fetch (here: code in the graphics frame buffer, MMIO that
 * the hypervisor never reads) used to be re-executed forever (the exit
 * repeated without end); it now gets #GP(0) (emulate_fetch_failed,
 * hv/emulate.c), and a fetch whose page the guest's tables no longer map
 * gets that walk's #PF.
 */
#include "payload.h"
#include "px86.h"

#define APIC_DEFAULT 0xfee00000ull
#define TPR 0x80
#define LVT_ERR 0x370
#define CF 0x1ull
#define PF 0x4ull
#define ZF 0x40ull
#define SF 0x80ull
#define OF 0x800ull
#define ARITH (CF | PF | ZF | SF | OF)

static volatile uint32_t *reg(uint32_t off)
{
	return (volatile uint32_t *)(uintptr_t)(APIC_DEFAULT + off);
}

/* Run `insn` with %rdx = the TPR's address, %eax/%rcx/%rdi as given, and
 * return RFLAGS after it (CF cleared before, so ADC/SBB see 0 unless
 * stated). */
#define RUN(insn, a, c, di, fl)                                                  \
	__asm__ volatile("clc\n\t" insn "\n\tpushfq\n\tpopq %0"                  \
			 : "=r"(fl), "+a"(a), "+c"(c), "+D"(di)                \
			 : "d"(reg(TPR))                                       \
			 : "memory", "cc")

static void tpr_set(uint32_t v)
{
	*reg(TPR) = v;
}

/* MOV [RDI], ESI; RET, copied to the frame buffer and run there. */
static void code_in_mmio(void)
{
	EFI_GUID gop_guid = EFI_GRAPHICS_OUTPUT_PROTOCOL_GUID;
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop = NULL;
	if (EFI_ERROR(uefi_call_wrapper(BS->LocateProtocol, 3, &gop_guid, NULL, (void **)&gop)) ||
	    !gop || !gop->Mode || gop->Mode->FrameBufferSize < 8192) {
		ser_printf("  info: no graphics frame buffer: apic_store.code_in_mmio skipped\n");
		return;
	}
	uint64_t fb = gop->Mode->FrameBufferBase + gop->Mode->FrameBufferSize - 4096;
	volatile uint8_t *code = (volatile uint8_t *)(uintptr_t)fb;
	static const uint8_t insn[3] = { 0x89, 0x37, 0xc3 };
	for (int i = 0; i < 3; i++)
		code[i] = insn[i];
	if (code[0] != 0x89 || code[1] != 0x37 || code[2] != 0xc3) {
		ser_printf("  info: frame buffer at 0x%lx does not keep bytes: apic_store.code_in_mmio skipped\n",
			   (unsigned long)fb);
		return;
	}
	uint32_t tpr = *reg(TPR);
	int vec = trap_call(fb, APIC_DEFAULT + TPR, tpr);
	check("apic_store.code_in_mmio", vec == VEC_GP || vec == VEC_PF,
	      "a TPR store by code at 0x%lx (frame buffer): %s (vector 0x%x), expected #GP (or #PF "
	      "where the firmware maps it non-executable)", (unsigned long)fb, vec_name(vec),
	      (unsigned int)vec);
	ser_printf("  info: apic_store.code_in_mmio at 0x%lx raised %s\n", (unsigned long)fb,
		   vec_name(vec));
}

void checks_apic_store(void)
{
	uint64_t base = 0;
	trap_rdmsr(0x1b, &base);
	if ((base & ~0xfffull & 0xffffffffffull) != APIC_DEFAULT || (base & (1u << 10))) {
		check("apic_store.xapic", 0, "APIC base %lx: not the xAPIC at fee00000",
		      (unsigned long)base);
		return;
	}
	uint64_t saved_if;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(saved_if)::"memory");
	uint32_t tpr0 = *reg(TPR), lvt0 = *reg(LVT_ERR);
	uint64_t a, c, di, fl;

	/* MOV moffs (A3), as GCC emits for a constant address. */
	tpr_set(0);
	a = 0x40;
	__asm__ volatile("movabs %%eax, 0xfee00080" : : "a"(a) : "memory");
	check_eq("apic_store.mov_moffs_a3", *reg(TPR), 0x40);
	a = 0x51; /* A2: one byte */
	__asm__ volatile("movabs %%al, 0xfee00080" : : "a"(a) : "memory");
	check_eq("apic_store.mov_moffs_a2", *reg(TPR), 0x51);
	/* 89 with prefixes: segment override, REX.W (8 bytes: the upper four
	 * are reserved bytes of the slot, dropped), 66 (a word: merged). */
	a = 0x62, c = 0, di = 0;
	RUN("movl %%eax, %%ds:(%%rdx)", a, c, di, fl);
	check_eq("apic_store.mov_ds_89", *reg(TPR), 0x62);
	a = 0xffffffff00000073ull;
	RUN("movq %%rax, (%%rdx)", a, c, di, fl);
	check_eq("apic_store.mov_rexw_89", *reg(TPR), 0x73);
	a = 0x84;
	RUN("movw %%ax, (%%rdx)", a, c, di, fl);
	check_eq("apic_store.mov_66_89", *reg(TPR), 0x84);
	a = 0x9500;
	RUN("movb %%ah, (%%rdx)", a, c, di, fl);
	check_eq("apic_store.mov_ah_88", *reg(TPR), 0x95);
	RUN("movb $0x17, (%%rdx)", a, c, di, fl);
	check_eq("apic_store.mov_imm_c6", *reg(TPR), 0x17);
	RUN("movl $0x28, 0(%%rdx,%%rdi,1)", a, c, di, fl);
	check_eq("apic_store.mov_imm_c7_sib", *reg(TPR), 0x28);
	a = 0x39;
	RUN("movnti %%eax, (%%rdx)", a, c, di, fl);
	check_eq("apic_store.movnti", *reg(TPR), 0x39);

	/* XCHG: the register gets the old value. */
	a = 0x4a;
	RUN("xchgl %%eax, (%%rdx)", a, c, di, fl);
	check_eq("apic_store.xchg", *reg(TPR), 0x4a);
	check_eq("apic_store.xchg_old", a, 0x39);

	/* STOS, plain and REP (RCX = 2: two elements into TPR and the
	 * reserved bytes after it), RDI advanced, RCX counted down. */
	a = 0x5b, di = (uintptr_t)reg(TPR);
	__asm__ volatile("cld; stosl" : "+a"(a), "+D"(di) : : "memory");
	check_eq("apic_store.stos", *reg(TPR), 0x5b);
	check_eq("apic_store.stos_rdi", di, (uintptr_t)reg(TPR) + 4);
	a = 0x6c, c = 2, di = (uintptr_t)reg(TPR);
	__asm__ volatile("cld; rep stosl" : "+a"(a), "+c"(c), "+D"(di) : : "memory");
	check_eq("apic_store.rep_stos", *reg(TPR), 0x6c);
	check_eq("apic_store.rep_stos_regs", (c << 32) | (di - (uintptr_t)reg(TPR)), 8);

	/* Read-modify-write ALU with flags. */
	tpr_set(0x10);
	a = 0, c = 0, di = 0;
	RUN("orl $0x20, (%%rdx)", a, c, di, fl); /* 83 /1 */
	check_eq("apic_store.or_83", *reg(TPR), 0x30);
	check_eq("apic_store.or_83_flags", fl & ARITH, PF);
	RUN("orl $0, (%%rdx)", a, c, di, fl);
	check_eq("apic_store.or_0", *reg(TPR), 0x30);
	RUN("andl $0x0f, (%%rdx)", a, c, di, fl); /* 0x30 & 0x0f = 0 */
	check_eq("apic_store.and_83", *reg(TPR), 0);
	check_eq("apic_store.and_83_flags", fl & ARITH, ZF | PF);
	a = 0x7f;
	RUN("addb %%al, (%%rdx)", a, c, di, fl); /* 00: 0 + 0x7f */
	RUN("addb $1, (%%rdx)", a, c, di, fl);   /* 80 /0: 0x7f + 1 overflows */
	check_eq("apic_store.add_80", *reg(TPR), 0x80);
	check_eq("apic_store.add_80_flags", fl & ARITH, SF | OF);
	RUN("subl $0x81, (%%rdx)", a, c, di, fl); /* 81 /5: borrow */
	check_eq("apic_store.sub_81_flags", fl & ARITH, CF | SF | PF);
	check_eq("apic_store.sub_81", *reg(TPR) & 0xff, 0xff); /* 0xffffffff: bits 7:0 */
	tpr_set(0xff);
	RUN("stc; adcl $0, (%%rdx)", a, c, di, fl); /* 0xff + 1 = 0x100 */
	check_eq("apic_store.adc", *reg(TPR) & 0xff, 0);
	check_eq("apic_store.adc_flags", fl & ARITH, PF);
	tpr_set(0x42);
	a = 0x42;
	RUN("xorl %%eax, (%%rdx)", a, c, di, fl); /* 31 */
	check_eq("apic_store.xor_31", *reg(TPR) | (fl & ARITH) << 8, (ZF | PF) << 8);
	tpr_set(0x42);
	RUN("stc; sbbb $0x2, (%%rdx)", a, c, di, fl); /* 80 /3 */
	check_eq("apic_store.sbb_80", *reg(TPR), 0x3f);
	RUN("incl (%%rdx)", a, c, di, fl); /* FF /0: CF unchanged (0) */
	check_eq("apic_store.inc", *reg(TPR), 0x40);
	RUN("stc; decb (%%rdx)", a, c, di, fl); /* FE /1: CF stays set */
	check_eq("apic_store.dec", *reg(TPR) | (fl & CF) << 8, 0x13f);
	RUN("notb (%%rdx)", a, c, di, fl); /* F6 /2 */
	check_eq("apic_store.not", *reg(TPR), 0xc0);
	RUN("negb (%%rdx)", a, c, di, fl); /* F6 /3: 0 - 0xc0 */
	check_eq("apic_store.neg", *reg(TPR) | (fl & (CF | ZF)) << 8, 0x40 | CF << 8);
	RUN("lock orl $1, (%%rdx)", a, c, di, fl);
	check_eq("apic_store.lock_or", *reg(TPR), 0x41);

	/* Bit tests: CF is the old bit. */
	RUN("btsl $4, (%%rdx)", a, c, di, fl); /* 0F BA /5 */
	check_eq("apic_store.bts_imm", *reg(TPR) | (fl & CF) << 8, 0x51);
	RUN("btrl $0, (%%rdx)", a, c, di, fl); /* 0F BA /6 */
	check_eq("apic_store.btr_imm", *reg(TPR) | (fl & CF) << 8, 0x150);
	c = 7;
	RUN("btcl %%ecx, (%%rdx)", a, c, di, fl); /* 0F BB */
	check_eq("apic_store.btc_reg", *reg(TPR) | (fl & CF) << 8, 0xd0);
	c = 1;
	RUN("btsl %%ecx, (%%rdx)", a, c, di, fl); /* 0F AB */
	RUN("btrl %%ecx, (%%rdx)", a, c, di, fl); /* 0F B3 */
	check_eq("apic_store.bts_btr_reg", *reg(TPR) | (fl & CF) << 8, 0x1d0);

	/* XADD and CMPXCHG. */
	tpr_set(0x20);
	c = 0x11;
	RUN("xaddl %%ecx, (%%rdx)", a, c, di, fl);
	check_eq("apic_store.xadd", ((uint64_t)*reg(TPR) << 32) | c, (0x31ull << 32) | 0x20);
	a = 0x31, c = 0x5e;
	RUN("cmpxchgl %%ecx, (%%rdx)", a, c, di, fl);
	check_eq("apic_store.cmpxchg_eq", *reg(TPR) | (fl & ZF) << 8, 0x5e | ZF << 8);
	a = 0x99, c = 0x11;
	RUN("cmpxchgl %%ecx, (%%rdx)", a, c, di, fl);
	check_eq("apic_store.cmpxchg_ne", ((uint64_t)*reg(TPR) << 32) | a, (0x5eull << 32) | 0x5e);

	/* A byte store in the middle of a register merges into it. */
	*reg(LVT_ERR) = 0x10000 | 0xfe; /* masked, vector 0xfe */
	__asm__ volatile("movb $0xef, (%0)" : : "r"((volatile uint8_t *)reg(LVT_ERR)) : "memory");
	check_eq("apic_store.lvt_byte_merge", *reg(LVT_ERR) & 0x100ff, 0x100ef);
	*reg(LVT_ERR) = lvt0;
	check_eq("apic_store.lvt_restored", *reg(LVT_ERR), lvt0);

	tpr_set(tpr0);
	check_eq("apic_store.tpr_restored", *reg(TPR), tpr0);
	if (saved_if & (1u << 9))
		__asm__ volatile("sti");
	code_in_mmio();
}
