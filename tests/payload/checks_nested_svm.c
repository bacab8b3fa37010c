/*
 * checks_nested_svm.c - the payload as a small hypervisor (issue 16,
 * docs/nested.md). With hv.cfg nested=on (the harness passes nested=on in
 * the load options too), the guest sees SVM (CPUID 0x80000001 ECX[2], leaf
 * 0x8000000A), turns on EFER.SVME, sets VM_HSAVE_PA, builds a VMCB, nested
 * page tables and permission maps, and runs an L2 (32-bit protected mode,
 * tests/payload/pnested.asm) whose every step is an exit L1 checks (AMD APM
 * vol. 2 chapter 15):
 *   CPUID (intercepted; then not: hv.efi answers L2 alone), OUT to a port
 *   in L1's I/O map after an IN to one not in it, RDMSR/WRMSR by L1's MSR
 *   map, a read of an L2 GPA L1 does not map (NPF, then L1 maps it with a
 *   TLB flush and L2 sees the page), a write to a page L1 maps read-only
 *   (NPF, P|W), UD2 (#UD intercepted), a read of hypervisor memory that
 *   L1 maps (hv.efi refuses: #GP, intercepted), VMMCALL (intercepted: not
 *   a hypercall), an interrupt L1 injects (EVENTINJ) and HLT.
 * Each with exit code, EXITINFO1/2 and, when offered, nRIP. Then VMSAVE
 * and VMLOAD (the state they move, #GP on a bad address), STGI/CLGI,
 * INVLPGA, and every malformed VMCB of APM 15.5.1 (VMEXIT_INVALID).
 * Without nested=on, on an Intel CPU or without SVM offered: not
 * applicable (a NOTE line, no check).
 */
#include "payload.h"
#include "px86.h"

#define MSR_EFER 0xC0000080u
#define MSR_VM_CR 0xC0010114u
#define MSR_VM_HSAVE_PA 0xC0010117u
#define MSR_KERNEL_GS_BASE 0xC0000102u
#define MSR_STAR 0xC0000081u
#define EFER_SVME (1ull << 12)

/* VMCB offsets (APM appendix B). */
#define C_CR 0x000
#define C_EXC 0x008
#define C_MISC1 0x00c
#define C_MISC2 0x010
#define C_IOPM 0x040
#define C_MSRPM 0x048
#define C_ASID 0x058
#define C_TLB 0x05c
#define C_EXITCODE 0x070
#define C_INFO1 0x078
#define C_INFO2 0x080
#define C_INTINFO 0x088
#define C_NP 0x090
#define C_EVENTINJ 0x0a8
#define C_NCR3 0x0b0
#define C_NRIP 0x0c8
#define S_ES 0x400
#define S_CS 0x410
#define S_SS 0x420
#define S_DS 0x430
#define S_GDTR 0x460
#define S_IDTR 0x480
#define S_CPL 0x4cb
#define S_EFER 0x4d0
#define S_CR4 0x548
#define S_CR3 0x550
#define S_CR0 0x558
#define S_DR7 0x560
#define S_DR6 0x568
#define S_RFLAGS 0x570
#define S_RIP 0x578
#define S_RSP 0x5d8
#define S_RAX 0x5f8
#define S_STAR 0x600
#define S_KGS 0x620
#define S_GPAT 0x668

#define V64(v, o) (*(volatile uint64_t *)((uint8_t *)(v) + (o)))
#define V32(v, o) (*(volatile uint32_t *)((uint8_t *)(v) + (o)))
#define V16(v, o) (*(volatile uint16_t *)((uint8_t *)(v) + (o)))
#define V8(v, o) (*(volatile uint8_t *)((uint8_t *)(v) + (o)))

/* Intercepts (APM 15.9-15.13). */
#define I1_CPUID (1u << 18)
#define I1_HLT (1u << 24)
#define I1_IOIO (1u << 27)
#define I1_MSR (1u << 28)
#define I1_SHUTDOWN (1u << 31)
#define I2_VMRUN (1u << 0)
#define I2_VMMCALL (1u << 1)

#define EXIT_INVALID 0xffffffffu

void nested_vmrun(uint64_t vmcb_pa, uint64_t *regs);
extern const char l2_code[], l2_code_end[], l2_handler[], l2_at_cpuid[], l2_at_out[],
	l2_at_rdmsr[], l2_at_wrmsr[], l2_at_npf_np[], l2_at_npf_ro[], l2_at_ud2[], l2_at_hvmem[],
	l2_at_vmmcall[], l2_at_hlt[], l2_at_end[], l2_spin[], l2_spin_end[], l2_dflush[],
	l2_at_dflush[], l2_after_dflush[], l2_at_dflush_hlt[];

#define L2_CODE 0x1000ull
#define L2_OFF(label) (L2_CODE + (uint64_t)((label) - l2_code))

enum { PG_VMCB, PG_BAD, PG_HSAVE, PG_MSRPM, PG_IOPM = PG_MSRPM + 2, PG_PML4 = PG_IOPM + 3,
       PG_PDPT, PG_PD, PG_PT, PG_CODE, PG_STACK, PG_DATA, PG_RO, PG_LATE, PG_SAVE_A, PG_SAVE_B,
       PG_L2PD, PG_L2PT, PG_ASSIST, PG_PASSIST, PG_COUNT };

static uint8_t *g_pg;
static int g_nrips;
static uint64_t g_regs[5];

static uint8_t *page(int i) { return g_pg + (uint64_t)i * 4096; }
static uint64_t pa(int i) { return (uint64_t)(uintptr_t)page(i); }

static void zero(void *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		((volatile uint8_t *)p)[i] = 0;
}

static void seg(uint8_t *v, int off, uint16_t sel, uint16_t attr)
{
	V16(v, off) = sel;
	V16(v, off + 2) = attr;
	V32(v, off + 4) = 0xffffffffu;
	V64(v, off + 8) = 0;
}

/* The good VMCB: L2 at its first instruction. */
static void build_vmcb(uint8_t *v)
{
	zero(v, 4096);
	V32(v, C_EXC) = (1u << 0) | (1u << 6) | (1u << 8) | (1u << 13) | (1u << 14);
	V32(v, C_MISC1) = I1_CPUID | I1_HLT | I1_IOIO | I1_MSR | I1_SHUTDOWN;
	V32(v, C_MISC2) = I2_VMRUN | I2_VMMCALL;
	V64(v, C_IOPM) = pa(PG_IOPM);
	V64(v, C_MSRPM) = pa(PG_MSRPM);
	V32(v, C_ASID) = 1;
	V8(v, C_TLB) = 1;
	V64(v, C_NP) = 1;
	V64(v, C_NCR3) = pa(PG_PML4);
	seg(v, S_CS, 0x08, 0xc9a);
	seg(v, S_DS, 0x10, 0xc92);
	seg(v, S_ES, 0x10, 0xc92);
	seg(v, S_SS, 0x10, 0xc92);
	V32(v, S_GDTR + 4) = 23;
	V64(v, S_GDTR + 8) = 0x3100;
	V32(v, S_IDTR + 4) = 0x7ff;
	V64(v, S_IDTR + 8) = 0x3000;
	V8(v, S_CPL) = 0;
	V64(v, S_EFER) = EFER_SVME;
	V64(v, S_CR0) = 0x11; /* PE, ET */
	V64(v, S_DR6) = 0xffff0ff0;
	V64(v, S_DR7) = 0x400;
	V64(v, S_RFLAGS) = 2;
	V64(v, S_RIP) = L2_CODE;
	V64(v, S_RSP) = 0x3000;
	V64(v, S_GPAT) = 0x0007040600070406ull;
}

static void build_l2(uint64_t hv_base)
{
	uint8_t *code = page(PG_CODE), *data = page(PG_DATA);
	zero(code, 4096);
	for (const char *s = l2_code; s < l2_code_end; s++)
		code[s - l2_code] = (uint8_t)*s;
	zero(data, 4096);
	zero(page(PG_STACK), 4096);
	/* GDT at 0x3100: null, code32 0x08, data32 0x10. */
	uint64_t *gdt = (uint64_t *)(data + 0x100);
	gdt[1] = 0x00cf9a000000ffffull;
	gdt[2] = 0x00cf92000000ffffull;
	/* IDT at 0x3000: vector 0x40, a 32-bit interrupt gate. */
	uint64_t h = L2_OFF(l2_handler);
	uint64_t *idt = (uint64_t *)data;
	idt[0x40] = (h & 0xffff) | (0x08ull << 16) | (0x8eull << 40) | ((h >> 16) << 48);
	uint8_t *ro = page(PG_RO);
	zero(ro, 4096);
	*(volatile uint32_t *)ro = 0x0badf00d;
	*(volatile uint32_t *)page(PG_LATE) = 0xcafe5000;

	/* Nested page tables (APM 15.25: long-mode format, U set). */
	zero(page(PG_PML4), 4 * 4096);
	V64(page(PG_PML4), 0) = pa(PG_PDPT) | 7;
	V64(page(PG_PDPT), 0) = pa(PG_PD) | 7;
	V64(page(PG_PD), 0) = pa(PG_PT) | 7;
	uint64_t *pt = (uint64_t *)page(PG_PT);
	pt[1] = pa(PG_CODE) | 7;
	pt[2] = pa(PG_STACK) | 7;
	pt[3] = pa(PG_DATA) | 7;
	pt[4] = pa(PG_RO) | 5; /* read-only */
	pt[5] = 0;            /* not yet */
	if (hv_base)
		pt[6] = hv_base | 7;

	/* Permission maps: port 0x80; RDMSR 0x174, WRMSR 0x175 (15.10, 15.11). */
	zero(page(PG_MSRPM), 5 * 4096);
	page(PG_IOPM)[0x80 / 8] |= 1u << (0x80 % 8);
	page(PG_MSRPM)[(0x174 * 2) / 8] |= 1u << ((0x174 * 2) % 8);
	page(PG_MSRPM)[(0x175 * 2 + 1) / 8] |= 1u << ((0x175 * 2 + 1) % 8);
}

static uint32_t run(uint8_t *v)
{
	V64(v, C_EXITCODE) = 0;
	nested_vmrun((uint64_t)(uintptr_t)v, g_regs);
	return (uint32_t)V64(v, C_EXITCODE);
}

/* An exit: its code, and RIP at the expected instruction. */
static int exit_at(const char *name, uint8_t *v, uint32_t code, uint32_t want, uint64_t rip)
{
	return check(name, code == want && V64(v, S_RIP) == rip,
		     "exit 0x%x at rip 0x%lx (info1 0x%lx info2 0x%lx), expected 0x%x at 0x%lx", code,
		     (unsigned long)V64(v, S_RIP), (unsigned long)V64(v, C_INFO1),
		     (unsigned long)V64(v, C_INFO2), want, (unsigned long)rip);
}

static void check_nrip(const char *name, uint8_t *v, uint64_t len)
{
	if (!g_nrips)
		return;
	check(name, V64(v, C_NRIP) == V64(v, S_RIP) + len, "nRIP 0x%lx, expected 0x%lx",
	      (unsigned long)V64(v, C_NRIP), (unsigned long)(V64(v, S_RIP) + len));
}

static void steps(uint8_t *v, uint64_t hv_base)
{
	uint8_t *data = page(PG_DATA);
	uint32_t c;

	c = run(v);
	if (!exit_at("nested.l2.cpuid.exit", v, c, 0x72, L2_OFF(l2_at_cpuid)))
		return;
	check_nrip("nested.l2.cpuid.nrip", v, 2);
	V32(v, C_MISC1) &= ~I1_CPUID; /* from now on hv.efi answers CPUID */
	V64(v, S_RIP) += 2;

	c = run(v);
	if (!exit_at("nested.l2.io.exit", v, c, 0x7b, L2_OFF(l2_at_out)))
		return;
	uint64_t i1 = V64(v, C_INFO1);
	check("nested.l2.io.info", (i1 >> 16) == 0x80 && !(i1 & 1) && (i1 & (1u << 4)) &&
					   V64(v, C_INFO2) == V64(v, S_RIP) + 2,
	      "EXITINFO1 0x%lx (port 0x80, OUT, 8-bit expected) EXITINFO2 0x%lx", (unsigned long)i1,
	      (unsigned long)V64(v, C_INFO2));
	check("nested.l2.cpuid.by_hv", *(volatile uint32_t *)(data + 0x80c) == 0x7263694d,
	      "L2's CPUID 0x40000000 EBX 0x%x, expected 'Micr' (hv.efi's answer, not L1's)",
	      *(volatile uint32_t *)(data + 0x80c));
	V64(v, S_RIP) = V64(v, C_INFO2);

	c = run(v);
	if (!exit_at("nested.l2.rdmsr.exit", v, c, 0x7c, L2_OFF(l2_at_rdmsr)))
		return;
	check("nested.l2.rdmsr.info", V64(v, C_INFO1) == 0 && (uint32_t)g_regs[1] == 0x174,
	      "EXITINFO1 %lu ECX 0x%lx, expected 0 and 0x174", (unsigned long)V64(v, C_INFO1),
	      (unsigned long)g_regs[1]);
	check_nrip("nested.l2.rdmsr.nrip", v, 2);
	V64(v, S_RIP) += 2;

	c = run(v);
	if (!exit_at("nested.l2.wrmsr.exit", v, c, 0x7c, L2_OFF(l2_at_wrmsr)))
		return;
	check("nested.l2.wrmsr.info", V64(v, C_INFO1) == 1 && (uint32_t)g_regs[1] == 0x175,
	      "EXITINFO1 %lu ECX 0x%lx, expected 1 and 0x175", (unsigned long)V64(v, C_INFO1),
	      (unsigned long)g_regs[1]);
	V64(v, S_RIP) += 2;

	/* A page L1 does not map: NPF, not present, on the final GPA. */
	c = run(v);
	if (!exit_at("nested.l2.npf_unmapped.exit", v, c, 0x400, L2_OFF(l2_at_npf_np)))
		return;
	i1 = V64(v, C_INFO1);
	check("nested.l2.npf_unmapped.info", V64(v, C_INFO2) == 0x5000 && !(i1 & 1) && !(i1 & 2) &&
						     (i1 & (1ull << 32)),
	      "EXITINFO1 0x%lx EXITINFO2 0x%lx, expected GPA 0x5000, P=0 W=0, bit 32",
	      (unsigned long)i1, (unsigned long)V64(v, C_INFO2));
	/* L1 maps it and flushes (TLB_CONTROL): L2 reads the page. */
	((volatile uint64_t *)page(PG_PT))[5] = pa(PG_LATE) | 7;
	V8(v, C_TLB) = 1;

	c = run(v);
	V8(v, C_TLB) = 0;
	if (!exit_at("nested.l2.npf_readonly.exit", v, c, 0x400, L2_OFF(l2_at_npf_ro)))
		return;
	check("nested.l2.npt_edit_seen", *(volatile uint32_t *)(data + 0x808) == 0xcafe5000,
	      "L2 read 0x%x from 0x5000 after L1 mapped it, expected 0xcafe5000",
	      *(volatile uint32_t *)(data + 0x808));
	i1 = V64(v, C_INFO1);
	check("nested.l2.npf_readonly.info", V64(v, C_INFO2) == 0x4000 && (i1 & 3) == 3 &&
						     (i1 & (1ull << 32)),
	      "EXITINFO1 0x%lx EXITINFO2 0x%lx, expected GPA 0x4000, P=1 W=1, bit 32",
	      (unsigned long)i1, (unsigned long)V64(v, C_INFO2));
	V64(v, S_RIP) += 10;

	c = run(v);
	if (!exit_at("nested.l2.ud.exit", v, c, 0x46, L2_OFF(l2_at_ud2)))
		return;
	check("nested.l2.readonly_read", *(volatile uint32_t *)(data + 0x804) == 0x0badf00d,
	      "L2 read 0x%x from its read-only page", *(volatile uint32_t *)(data + 0x804));
	V64(v, S_RIP) += 2;

	if (hv_base) {
		c = run(v);
		if (!exit_at("nested.l2.hv_memory.gp", v, c, 0x4d, L2_OFF(l2_at_hvmem)))
			return;
		check("nested.l2.hv_memory.errcode", V64(v, C_INFO1) == 0,
		      "#GP error code 0x%lx", (unsigned long)V64(v, C_INFO1));
	} else {
		ser_puts("NOTE: nested.l2.hv_memory: no hv.efi info table, not tested\n");
	}
	V64(v, S_RIP) = L2_OFF(l2_at_vmmcall);

	c = run(v);
	if (!exit_at("nested.l2.vmmcall.exit", v, c, 0x81, L2_OFF(l2_at_vmmcall)))
		return;
	check_nrip("nested.l2.vmmcall.nrip", v, 3);
	V64(v, S_RIP) += 3;

	/* Event injection (APM 15.20): vector 0x40, L2's handler runs first. */
	V64(v, C_EVENTINJ) = 0x40 | (1ull << 31);
	c = run(v);
	if (!exit_at("nested.l2.hlt.exit", v, c, 0x78, L2_OFF(l2_at_hlt)))
		return;
	check("nested.l2.inject.delivered", *(volatile uint32_t *)(data + 0x800) == 0x40 &&
						    !(V64(v, C_EVENTINJ) & (1ull << 31)) &&
						    !(V64(v, C_INTINFO) & (1ull << 31)),
	      "handler mark 0x%x EVENTINJ 0x%lx EXITINTINFO 0x%lx", *(volatile uint32_t *)(data + 0x800),
	      (unsigned long)V64(v, C_EVENTINJ), (unsigned long)V64(v, C_INTINFO));
	check_nrip("nested.l2.hlt.nrip", v, 1);
}

/* APM 15.5.1: each malformed VMCB makes VMRUN exit with VMEXIT_INVALID. */
static void malformed(uint8_t *good, uint8_t *bad)
{
	static const char *const names[] = {
		"asid0", "no_vmrun_intercept", "efer_svme_clear", "cr0_nw_without_cd", "cr0_high",
		"cr3_high", "cr4_reserved", "dr6_high", "dr7_high", "efer_reserved",
		"long_mode_no_pae", "long_mode_no_pe", "cs_l_and_d", "msrpm_beyond", "iopm_beyond",
		"eventinj_reserved_type", "eventinj_exception_nmi_vector",
	};
	for (unsigned int k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		for (int i = 0; i < 4096; i++)
			bad[i] = good[i];
		V64(bad, S_RIP) = L2_CODE;
		switch (k) {
		case 0: V32(bad, C_ASID) = 0; break;
		case 1: V32(bad, C_MISC2) &= ~I2_VMRUN; break;
		case 2: V64(bad, S_EFER) &= ~EFER_SVME; break;
		case 3: V64(bad, S_CR0) = (V64(bad, S_CR0) & ~(1ull << 30)) | (1ull << 29); break;
		case 4: V64(bad, S_CR0) |= 1ull << 32; break;
		case 5: V64(bad, S_CR3) = 1ull << 40; break;
		case 6: V64(bad, S_CR4) |= 1ull << 15; break;
		case 7: V64(bad, S_DR6) |= 1ull << 40; break;
		case 8: V64(bad, S_DR7) |= 1ull << 40; break;
		case 9: V64(bad, S_EFER) |= 1ull << 3; break;
		case 10:
			V64(bad, S_EFER) |= 1ull << 8;
			V64(bad, S_CR0) |= (1ull << 31);
			break;
		case 11:
			V64(bad, S_EFER) |= 1ull << 8;
			V64(bad, S_CR0) = (V64(bad, S_CR0) & ~1ull) | (1ull << 31);
			V64(bad, S_CR4) |= 1ull << 5;
			break;
		case 12:
			V64(bad, S_EFER) |= 1ull << 8;
			V64(bad, S_CR0) |= (1ull << 31);
			V64(bad, S_CR4) |= 1ull << 5;
			V16(bad, S_CS + 2) |= (1u << 9) | (1u << 10);
			break;
		case 13: V64(bad, C_MSRPM) = (1ull << 52) - 0x1000; break;
		case 14: V64(bad, C_IOPM) = (1ull << 52) - 0x1000; break;
		case 15: V64(bad, C_EVENTINJ) = 0x20 | (1ull << 8) | (1ull << 31); break;
		case 16: V64(bad, C_EVENTINJ) = 2 | (3ull << 8) | (1ull << 31); break;
		}
		char name[64];
		fmt_name(name, sizeof(name), "nested.vmcb_invalid.%s", names[k]);
		uint32_t c = run(bad);
		check(name, c == EXIT_INVALID, "VMRUN exit code 0x%x, expected VMEXIT_INVALID 0x%x",
		      c, EXIT_INVALID);
	}
	/* VMRUN's own checks: a VMCB address not page-aligned, or in
	 * hypervisor memory, is #GP (APM 15.5.1). */
	check_vec("nested.vmrun.unaligned.gp", trap_insn(INSN_VMRUN, good + 8), VEC_GP);
}

/* APM 15.5.2: VMSAVE stores, VMLOAD loads, the guest's FS/GS/TR/LDTR,
 * KernelGsBase, the syscall and sysenter MSRs. */
static void vmload_vmsave(uint64_t hv_base)
{
	uint8_t *a = page(PG_SAVE_A), *b = page(PG_SAVE_B);
	uint64_t kgs = 0, star = 0, v = 0;
	zero(a, 4096);
	trap_rdmsr(MSR_KERNEL_GS_BASE, &kgs);
	trap_rdmsr(MSR_STAR, &star);
	check_vec("nested.vmsave.ok", trap_insn(INSN_VMSAVE, a), VEC_NONE);
	check("nested.vmsave.state", V64(a, S_KGS) == kgs && V64(a, S_STAR) == star,
	      "VMSAVE stored KernelGsBase 0x%lx STAR 0x%lx, expected 0x%lx 0x%lx",
	      (unsigned long)V64(a, S_KGS), (unsigned long)V64(a, S_STAR), (unsigned long)kgs,
	      (unsigned long)star);
	for (int i = 0; i < 4096; i++)
		b[i] = a[i];
	V64(b, S_KGS) = 0x0000123456789000ull;
	check_vec("nested.vmload.ok", trap_insn(INSN_VMLOAD, b), VEC_NONE);
	trap_rdmsr(MSR_KERNEL_GS_BASE, &v);
	check_eq("nested.vmload.state", v, 0x0000123456789000ull);
	trap_insn(INSN_VMLOAD, a);
	trap_rdmsr(MSR_KERNEL_GS_BASE, &v);
	check_eq("nested.vmload.restore", v, kgs);
	check_vec("nested.vmload.unaligned.gp", trap_insn(INSN_VMLOAD, a + 16), VEC_GP);
	check_vec("nested.vmsave.unaligned.gp", trap_insn(INSN_VMSAVE, a + 16), VEC_GP);
	if (hv_base) {
		check_vec("nested.vmsave.hv_memory.gp",
			  trap_insn(INSN_VMSAVE, (void *)(uintptr_t)hv_base), VEC_GP);
		check_vec("nested.vmrun.hv_memory.gp",
			  trap_insn(INSN_VMRUN, (void *)(uintptr_t)hv_base), VEC_GP);
	}
	check_vec("nested.clgi.ok", trap_insn(INSN_CLGI, a), VEC_NONE);
	check_vec("nested.stgi.ok", trap_insn(INSN_STGI, a), VEC_NONE);
	check_vec("nested.invlpga.ok", trap_insn(INSN_INVLPGA, a), VEC_NONE);
	check_vec("nested.skinit.ud", trap_insn(INSN_SKINIT, a), VEC_UD);
}

/* The global interrupt flag (APM 15.17): after CLGI a physical interrupt
 * (a self-IPI) stays pending even with RFLAGS.IF set; STGI lets it in. */
extern void gif_isr(void);
extern volatile uint64_t gif_count, gif_x2, gif_eoi;
#define GIF_VEC 0xE4

struct gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, reserved;
};
static struct gate g_gif_idt[256] __attribute__((aligned(16)));

static void spin(void)
{
	for (volatile int i = 0; i < 200000; i++)
		;
}

static void gif(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} fw, ours;
	uint16_t cs;
	uint64_t apic_base = 0;
	__asm__ volatile("sidt %0" : "=m"(fw));
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	const uint8_t *src = (const uint8_t *)(uintptr_t)fw.base;
	uint8_t *dst = (uint8_t *)g_gif_idt;
	for (unsigned int i = 0; i < sizeof(g_gif_idt); i++)
		dst[i] = i <= fw.limit ? src[i] : 0;
	uint64_t h = (uint64_t)(uintptr_t)gif_isr;
	g_gif_idt[GIF_VEC] = (struct gate){ (uint16_t)h, cs, 0, 0x8e, (uint16_t)(h >> 16),
					    (uint32_t)(h >> 32), 0 };
	ours.limit = sizeof(g_gif_idt) - 1;
	ours.base = (uint64_t)(uintptr_t)g_gif_idt;
	trap_rdmsr(0x1b, &apic_base);
	gif_x2 = (apic_base >> 10) & 1;
	uint64_t mmio = apic_base & 0xffffff000ull;
	gif_eoi = mmio + 0xb0;
	gif_count = 0;

	uint64_t flags;
	__asm__ volatile("pushfq; pop %0; cli" : "=r"(flags));
	__asm__ volatile("lidt %0" : : "m"(ours) : "memory");
	__asm__ volatile("clgi; sti" ::: "memory");
	/* Self-IPI: ICR destination shorthand "self" (SDM 10.6.1). */
	if (gif_x2)
		__asm__ volatile("wrmsr" : : "c"(0x830), "a"(0x40000 | GIF_VEC), "d"(0) : "memory");
	else
		*(volatile uint32_t *)(uintptr_t)(mmio + 0x300) = 0x40000 | GIF_VEC;
	spin();
	uint64_t held = gif_count;
	__asm__ volatile("stgi" ::: "memory");
	spin();
	uint64_t after = gif_count;
	__asm__ volatile("cli; lidt %0" : : "m"(fw) : "memory");
	if (flags & (1ull << 9))
		__asm__ volatile("sti");
	check("nested.gif.clgi_holds_interrupts", held == 0,
	      "%lu interrupt(s) delivered between CLGI and STGI", (unsigned long)held);
	check("nested.gif.stgi_delivers", after == 1, "%lu interrupt(s) after STGI, expected 1",
	      (unsigned long)after);
}

/* A physical interrupt while L2 runs, L1 intercepting INTR with
 * V_INTR_MASKING (as KVM): an INTR exit to L1 (APM 15.21.1: masked by the
 * host's RFLAGS.IF, L1's at VMRUN, which nested_vmrun sets), not delivered
 * to L1 until its own RFLAGS.IF allows it after STGI. L2 spins, then
 * halts: an HLT exit means the interrupt was lost. L2's RFLAGS.IF is set:
 * with V_INTR_MASKING it does not gate physical interrupts (QEMU: the host
 * IF does, so this checks hv.efi's svm_run_asm_if), but Bochs 2.7 masks
 * them when a VMRUN clears IF whatever V_INTR_MASKING says. */
static void intr_exit(uint8_t *v)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} fw, ours;
	uint64_t apic_base = 0;
	__asm__ volatile("sidt %0" : "=m"(fw));
	ours.limit = sizeof(g_gif_idt) - 1; /* set up by gif() */
	ours.base = (uint64_t)(uintptr_t)g_gif_idt;
	trap_rdmsr(0x1b, &apic_base);
	uint64_t mmio = apic_base & 0xffffff000ull;
	build_vmcb(v);
	V8(v, C_TLB) = 1;
	V64(v, S_RIP) = L2_OFF(l2_spin);
	V32(v, C_MISC1) |= 1u; /* INTR */
	V64(v, 0x060) = 1ull << 24; /* V_INTR_MASKING */
	V64(v, S_RFLAGS) = 0x202;
	gif_count = 0;

	uint64_t flags;
	__asm__ volatile("pushfq; pop %0; cli" : "=r"(flags));
	__asm__ volatile("lidt %0" : : "m"(ours) : "memory");
	if (gif_x2)
		__asm__ volatile("wrmsr" : : "c"(0x830), "a"(0x40000 | GIF_VEC), "d"(0) : "memory");
	else
		*(volatile uint32_t *)(uintptr_t)(mmio + 0x300) = 0x40000 | GIF_VEC;
	uint32_t c = run(v);
	uint64_t rip = V64(v, S_RIP);
	uint64_t during = gif_count;
	__asm__ volatile("sti" ::: "memory");
	spin();
	uint64_t after = gif_count;
	__asm__ volatile("cli; lidt %0" : : "m"(fw) : "memory");
	if (flags & (1ull << 9))
		__asm__ volatile("sti");
	check("nested.l2.intr.exit", c == 0x60 && rip >= L2_OFF(l2_spin) && rip < L2_OFF(l2_spin_end),
	      "exit 0x%x at rip 0x%lx, expected INTR (0x60) inside L2's loop", c, (unsigned long)rip);
	check("nested.l2.intr.to_l1", during == 0 && after == 1,
	      "L1 took %lu interrupt(s) before its STI, %lu after (expected 0, 1)",
	      (unsigned long)during, (unsigned long)after);
}

extern void spurious_isr(void);

/* A gate for the APIC's spurious vector in the firmware's IDT while the
 * nested checks run (OVMF has none: vector 0x0F is a reserved exception
 * there); *saved gets the old one. */
static struct gate *spurious_gate(struct gate *saved)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr;
	uint16_t cs;
	uint64_t apic_base = 0;
	__asm__ volatile("sidt %0" : "=m"(idtr));
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	trap_rdmsr(0x1b, &apic_base);
	uint32_t svr;
	if ((apic_base >> 10) & 1) {
		uint64_t v = 0;
		trap_rdmsr(0x80f, &v);
		svr = (uint32_t)v;
	} else {
		svr = *(volatile uint32_t *)(uintptr_t)((apic_base & 0xffffff000ull) + 0xf0);
	}
	uint8_t vec = (uint8_t)svr;
	if ((uint32_t)vec * 16 + 15 > idtr.limit)
		return NULL;
	struct gate *g = (struct gate *)(uintptr_t)idtr.base + vec;
	uint64_t h = (uint64_t)(uintptr_t)spurious_isr;
	*saved = *g;
	*g = (struct gate){ (uint16_t)h, cs, 0, 0x8e, (uint16_t)(h >> 16), (uint32_t)(h >> 32), 0 };
	/* gif() copies the firmware's IDT: it gets the gate too. */
	return g;
}

void checks_nested_svm(int expected)
{
	if (!expected || cpu_vendor() != VENDOR_AMD) {
		ser_printf("NOTE: nested.svm: not applicable (%s)\n",
			   !expected ? "nested=off" : "not an AMD CPU");
		return;
	}
	struct cpuid_regs e1 = cpuid(0x80000001u, 0), a = cpuid(0x8000000au, 0);
	check("nested.cpuid.svm", (e1.ecx >> 2) & 1, "CPUID 0x80000001 ECX 0x%x: SVM clear", e1.ecx);
	/* Exactly what is emulated: NPT, nRIP save where the CPU has it. */
	check("nested.cpuid.8000000a", a.eax == 1 && a.ebx >= 1 && (a.edx & 1) && !(a.edx & ~9u),
	      "EAX 0x%x EBX 0x%x EDX 0x%x: expected revision 1, ASIDs, NPT (bit 0) and at most "
	      "nRIP (bit 3)", a.eax, a.ebx, a.edx);
	g_nrips = (a.edx >> 3) & 1;
	if (!((e1.ecx >> 2) & 1))
		return;

	uint64_t vmcr = 0;
	check("nested.vm_cr.enabled_locked", trap_rdmsr(MSR_VM_CR, &vmcr) == VEC_NONE &&
						    (vmcr & 0x18) == 0x08,
	      "VM_CR 0x%lx: expected LOCK set, SVMDIS clear", (unsigned long)vmcr);

	EFI_PHYSICAL_ADDRESS base = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData,
					PG_COUNT, &base))) {
		check("nested.alloc", 0, "AllocatePages failed");
		return;
	}
	g_pg = (uint8_t *)(uintptr_t)base;
	const struct hv_info_table *info = find_hv_info();
	uint64_t hv_base = info ? info->resident_base : 0;

	uint64_t efer = 0;
	trap_rdmsr(MSR_EFER, &efer);
	check_vec("nested.efer.svme_on", trap_wrmsr(MSR_EFER, efer | EFER_SVME), VEC_NONE);
	check_vec("nested.hsave.unaligned.gp", trap_wrmsr(MSR_VM_HSAVE_PA, pa(PG_HSAVE) + 8), VEC_GP);
	check_vec("nested.hsave.set", trap_wrmsr(MSR_VM_HSAVE_PA, pa(PG_HSAVE)), VEC_NONE);

	struct gate saved_gate;
	struct gate *sg = spurious_gate(&saved_gate);
	build_l2(hv_base);
	uint8_t *v = page(PG_VMCB);
	build_vmcb(v);
	malformed(v, page(PG_BAD));
	build_vmcb(v);
	steps(v, hv_base);
	vmload_vmsave(hv_base);
	gif();
	intr_exit(v);

	trap_wrmsr(MSR_EFER, efer);
	if (sg) {
		uint64_t f;
		__asm__ volatile("pushfq; pop %0; cli" : "=r"(f));
		*sg = saved_gate;
		if (f & (1ull << 9))
			__asm__ volatile("sti");
	}
	uefi_call_wrapper(BS->FreePages, 2, base, PG_COUNT);
}

/* ---- for checks_nested_enl.c: L2 reading GPA 0x5000 --------------------
 * The nested enlightenments (the flush hypercalls need the hypercall page,
 * set up later in the run): the same L2 and VMCB, rebuilt; L1 maps L2 GPA
 * 0x5000 to one of three pages and L2 reads it (from l2_at_npf_np to the
 * NPF exit at l2_at_npf_ro). */
static EFI_PHYSICAL_ADDRESS g_enl_base;
static uint64_t g_enl_efer;

int nested_enl_setup(void)
{
	if (cpu_vendor() != VENDOR_AMD || !((cpuid(0x80000001u, 0).ecx >> 2) & 1))
		return -1;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData,
					PG_COUNT, &g_enl_base)))
		return -1;
	g_pg = (uint8_t *)(uintptr_t)g_enl_base;
	trap_rdmsr(MSR_EFER, &g_enl_efer);
	build_l2(0);
	build_vmcb(page(PG_VMCB));
	return 0;
}

void nested_enl_svme(int on)
{
	trap_wrmsr(MSR_EFER, on ? g_enl_efer | EFER_SVME : g_enl_efer & ~EFER_SVME);
	if (on)
		trap_wrmsr(MSR_VM_HSAVE_PA, pa(PG_HSAVE));
}

uint64_t nested_enl_ncr3(void) { return pa(PG_PML4); }

/* Map L2 GPA 0x5000 to page k (0-2) holding val: L1 edits its table
 * without TLB_CONTROL. */
void nested_enl_map(int k, uint32_t val)
{
	static const int pages[3] = { PG_LATE, PG_SAVE_A, PG_SAVE_B };
	*(volatile uint32_t *)page(pages[k]) = val;
	((volatile uint64_t *)page(PG_PT))[5] = pa(pages[k]) | 7;
}

/* One run of L2 reading 0x5000 with the VMCB's Hyper-V area control word
 * (0x3E0), ASID and TLB_CONTROL as given: the value L2 read, or ~0 when
 * the run did not end at the expected NPF. */
uint32_t nested_enl_read(uint32_t enl_control, uint32_t asid, uint8_t tlb)
{
	uint8_t *v = page(PG_VMCB), *data = page(PG_DATA);
	*(volatile uint32_t *)(data + 0x808) = 0;
	V32(v, 0x3e0) = enl_control;
	V32(v, C_ASID) = asid;
	V8(v, C_TLB) = tlb;
	V64(v, S_RIP) = L2_OFF(l2_at_npf_np);
	uint32_t c = run(v);
	if (c != 0x400 || V64(v, S_RIP) != L2_OFF(l2_at_npf_ro))
		return ~0u;
	return *(volatile uint32_t *)(data + 0x808);
}

void nested_enl_teardown(void)
{
	trap_wrmsr(MSR_EFER, g_enl_efer);
	uefi_call_wrapper(BS->FreePages, 2, g_enl_base, PG_COUNT);
}

/* The enlightened MSR bitmap: L2 runs from its RDMSR 0x174 (then WRMSR
 * 0x175, which L1's map always intercepts) with L1's map bit for the
 * read as given, the VMCB's Hyper-V area control word and clean field
 * (bit 31: the map did not change). Returns 1 for an exit at the RDMSR,
 * 2 at the WRMSR, 0 for anything else. */
int nested_enl_msr(uint32_t enl_control, uint32_t clean, int read_174)
{
	uint8_t *v = page(PG_VMCB), *m = page(PG_MSRPM);
	if (read_174)
		m[(0x174 * 2) / 8] |= 1u << ((0x174 * 2) % 8);
	else
		m[(0x174 * 2) / 8] &= (uint8_t)~(1u << ((0x174 * 2) % 8));
	V32(v, 0x3e0) = enl_control;
	V32(v, 0x0c0) = clean;
	V8(v, C_TLB) = 0;
	/* From the `mov ecx, 0x174` (5 bytes) before the label: L2's other
	 * GPRs are L1's at its VMRUN. */
	V64(v, S_RIP) = L2_OFF(l2_at_rdmsr) - 5;
	uint32_t c = run(v);
	if (c != 0x7c)
		return 0;
	return V64(v, S_RIP) == L2_OFF(l2_at_rdmsr) ? 1 : V64(v, S_RIP) == L2_OFF(l2_at_wrmsr) ? 2 : 0;
}

/* ---- for checks_nested_enl.c: direct virtual flush (leaf 0x4000000A
 * bit 17) --------------------------------------------------------------
 * L1's VP assist page (nested_control.features at 0x20) and, per run,
 * the VMCB's Hyper-V area: 0x3E0 control (bit 0 nested_flush_hypercall),
 * 0x3E4 L2's VP id, 0x3E8 its VM id, 0x3F0 the partition assist page
 * (u32 tlb_lock_count). L2 runs l2_dflush (pnested.asm) with paging. */
#define MSR_VP_ASSIST 0x40000073u

void nested_dflush_assist(int on, uint32_t features)
{
	if (!on) {
		trap_wrmsr(MSR_VP_ASSIST, 0);
		return;
	}
	trap_wrmsr(MSR_VP_ASSIST, pa(PG_ASSIST) | 1);
	*(volatile uint32_t *)(page(PG_ASSIST) + 0x20) = features;
}

/* A fast call (TLFS 3.7.2.2) for the next run: L2's ESI:EDI (32-bit:
 * the second input word is EDI:ESI) and XMM0's low quadword (the third;
 * XMM registers are the processor's, shared by L1 and L2). */
static int g_df_fast;
static uint64_t g_df_w1, g_df_x0;
void nested_dflush_fast(uint64_t w1, uint64_t xmm0)
{
	g_df_fast = 1;
	g_df_w1 = w1;
	g_df_x0 = xmm0;
}

/* in: the input block, placed at L2 GPA 0x3A00 (L1 page PG_DATA+0xA00);
 * in_gpa: what L2 passes (0x3A00 normally). Returns the exit code. */
uint32_t nested_dflush_run(uint32_t enl, uint32_t vp_id, uint32_t lock, uint64_t input,
			   uint64_t in_gpa, const uint64_t *in, unsigned int n, uint64_t out[5])
{
	uint8_t *v = page(PG_VMCB), *data = page(PG_DATA);
	volatile uint32_t *pd = (volatile uint32_t *)page(PG_L2PD), *pt2 = (volatile uint32_t *)page(PG_L2PT);
	zero(page(PG_L2PD), 2 * 4096);
	pd[0] = 0xe3;          /* 4 MiB identity: P RW A D PS */
	pd[1] = 0x8000 | 0x23; /* GVA 0x400000: the table at GPA 0x8000 */
	pt2[0] = 0x4063;       /* -> GPA 0x4000 (0x0badf00d) */
	((volatile uint64_t *)page(PG_PT))[7] = pa(PG_L2PD) | 7;
	((volatile uint64_t *)page(PG_PT))[8] = pa(PG_L2PT) | 7;
	nested_enl_map(0, 0x5eedd000);
	for (unsigned int i = 0; i < n; i++)
		((volatile uint64_t *)(data + 0xa00))[i] = in[i];
	volatile uint32_t *regs = (volatile uint32_t *)(data + 0x900);
	regs[0] = (uint32_t)input;
	regs[1] = (uint32_t)(input >> 32);
	regs[2] = (uint32_t)in_gpa;
	regs[3] = (uint32_t)(in_gpa >> 32);
	regs[4] = g_df_fast ? (uint32_t)g_df_w1 : 0;
	regs[5] = g_df_fast ? (uint32_t)(g_df_w1 >> 32) : 0;
	for (int i = 0; i < 8; i++)
		((volatile uint32_t *)(data + 0x920))[i] = 0xdddddddd;
	*(volatile uint32_t *)page(PG_PASSIST) = lock;
	V32(v, 0x3e0) = enl;
	V32(v, 0x3e4) = vp_id;
	V64(v, 0x3e8) = 0x77;
	V64(v, 0x3f0) = pa(PG_PASSIST);
	V64(v, S_CR0) = 0x80000011ull; /* PG PE ET */
	V64(v, S_CR3) = 0x7000;
	V64(v, S_CR4) = 0x10; /* PSE */
	V32(v, C_ASID) = 1;
	V8(v, C_TLB) = 1;
	V64(v, S_RIP) = L2_OFF(l2_dflush);
	if (g_df_fast) /* the payload's C code never touches XMM registers */
		__asm__ volatile("movq %0, %%xmm0" : : "r"(g_df_x0));
	g_df_fast = 0;
	uint32_t c = run(v);
	/* out: [0] RIP as an offset from l2_code (~0: elsewhere), [1] EXITINFO1,
	 * [2] L2's result (EDX:EAX, from memory after HLT, else registers),
	 * [3] reads of GVA 0x400000 before and after the remap (lo/hi), [4]
	 * after the call. */
	uint64_t rip = V64(v, S_RIP);
	out[0] = rip == L2_OFF(l2_at_dflush) ? 1 : rip == L2_OFF(l2_after_dflush) ? 2 :
		 rip == L2_OFF(l2_at_dflush_hlt) ? 3 : 0;
	out[1] = V64(v, C_INFO1);
	if (out[0] == 3)
		out[2] = *(volatile uint32_t *)(data + 0x920) |
			 ((uint64_t)*(volatile uint32_t *)(data + 0x924) << 32);
	else
		out[2] = (uint32_t)V64(v, S_RAX) | ((uint64_t)(uint32_t)g_regs[2] << 32);
	out[3] = *(volatile uint32_t *)(data + 0x930) |
		 ((uint64_t)*(volatile uint32_t *)(data + 0x934) << 32);
	out[4] = *(volatile uint32_t *)(data + 0x938);
	V64(v, S_CR0) = 0x11;
	V64(v, S_CR3) = 0;
	V64(v, S_CR4) = 0;
	V32(v, 0x3e0) = 0;
	return c;
}

/* ---- for checks_vsm_nested.c: L2 reading an L1 GPA under VSM ------------
 * With nested_enl_setup's L2 and VMCB: L1 maps L2 GPA 0x5000 to L1 GPA
 * gpa and L2 reads it (from l2_at_npf_np). tlb: TLB_CONTROL for the run
 * (0: L1 asks for no flush, so only hv.efi can drop what the shadow
 * holds). Returns 0 when the read completed (*val what L2 read; the run
 * ends at the write to the read-only page, an NPF), 13 when L2 got #GP at
 * the read (intercepted by L1: exit 0x4d), else the exit code | 1 << 31. */
uint32_t nested_svm_read_gpa(uint64_t gpa, uint8_t tlb, uint32_t *val)
{
	uint8_t *v = page(PG_VMCB), *data = page(PG_DATA);
	*(volatile uint32_t *)(data + 0x808) = 0xdeadbeefu;
	((volatile uint64_t *)page(PG_PT))[5] = gpa | 7;
	V32(v, 0x3e0) = 0;
	V32(v, C_ASID) = 1;
	V8(v, C_TLB) = tlb;
	V64(v, S_RIP) = L2_OFF(l2_at_npf_np);
	uint32_t c = run(v);
	*val = *(volatile uint32_t *)(data + 0x808);
	if (c == 0x400 && V64(v, S_RIP) == L2_OFF(l2_at_npf_ro))
		return 0;
	if (c == 0x4d && V64(v, S_RIP) == L2_OFF(l2_at_npf_np) && V64(v, C_INFO1) == 0)
		return 13;
	return c | 0x80000000u;
}

/* For checks_vsm_prot.c: the APIC's spurious vector gets a gate around
 * its L2 runs as around checks_nested_svm's (Bochs ryzen delivers one
 * there: vector 0x0F is a reserved exception in OVMF's IDT). */
static struct gate g_vsm_saved_gate, *g_vsm_gate;
void nested_svm_spurious_gate(int on)
{
	if (on) {
		if (!g_vsm_gate)
			g_vsm_gate = spurious_gate(&g_vsm_saved_gate);
		return;
	}
	if (!g_vsm_gate)
		return;
	uint64_t f;
	__asm__ volatile("pushfq; pop %0; cli" : "=r"(f));
	*g_vsm_gate = g_vsm_saved_gate;
	g_vsm_gate = NULL;
	if (f & (1ull << 9))
		__asm__ volatile("sti");
}
