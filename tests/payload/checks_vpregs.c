/*
 * checks_vpregs.c - HvGetVpRegisters, HvSetVpRegisters (TLFS 7.10.1-7.10.2)
 * and HvStartVirtualProcessor (7.10.3), through the page checks_hypercall.c
 * set up:
 *  - the caller's own registers against what the CPU says (MOV from CRs,
 *    RDMSR, LAR/LSL on the selectors, SGDT), Set and read back (with
 *    RDMSR) of registers the firmware does not use, then restored;
 *  - another VP (VP 1, an AP idle in the firmware): plausible long-mode
 *    state, Set/Get/restore of SysenterEsp and KernelGsBase;
 *  - HvStartVirtualProcessor: VP 1 is sent INIT (its APIC's ICR), which
 *    puts it in wait-for-SIPI (what "not started" means here, hv/vpregs.c);
 *    it is started in 64-bit mode at vpregs_ap_entry (counts, saves RSP,
 *    parks with cli; hlt), and the firmware's MP services then wake it
 *    again with INIT-SIPI-SIPI (StartupAllAPs must succeed);
 *  - bad inputs and their statuses.
 * Runs before the groups that put workers on the APs (checks_tlb.c).
 */
#include "hcall.h"
#include "px86.h"

#define CALL_GET_REGS 0x0050u
#define CALL_SET_REGS 0x0051u
#define CALL_START_VP 0x0099u
#define ST_BAD_VP_INDEX 0xEu
#define ST_BAD_VP_STATE 0x15u
#define ST_BAD_REG_VALUE 0x50u
#define PRIV_VP_REGS (1ull << 49)
#define PRIV_START_VP (1ull << 53)

/* TLFS 7.8.2 */
#define R_RAX 0x00020000u
#define R_RSP 0x00020004u
#define R_RIP 0x00020010u
#define R_RFLAGS 0x00020011u
#define R_CR0 0x00040000u
#define R_CR3 0x00040002u
#define R_CR4 0x00040003u
#define R_CR8 0x00040004u
#define R_DR7 0x00050005u
#define R_ES 0x00060000u /* Es Cs Ss Ds Fs Gs Ldtr Tr */
#define R_IDTR 0x00070000u
#define R_GDTR 0x00070001u
#define R_EFER 0x00080001u
#define R_KGSBASE 0x00080002u
#define R_APIC_BASE 0x00080003u
#define R_PAT 0x00080004u
#define R_SYSENTER_CS 0x00080005u
#define R_SYSENTER_ESP 0x00080007u
#define R_STAR 0x00080008u
#define R_LSTAR 0x00080009u
#define R_SFMASK 0x0008000Bu
#define R_VP_INDEX 0x00090003u
#define R_GUEST_OS_ID 0x00090002u

enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_LDTR, S_TR };

/* The AP's code after HvStartVirtualProcessor. */
extern char vpregs_ap_entry[] HIDDEN, vpregs_ap_end[] HIDDEN;
extern volatile uint32_t vpregs_ap_runs HIDDEN;
extern volatile uint64_t vpregs_ap_rsp HIDDEN;
__asm__(".text\n"
	".globl vpregs_ap_entry\n.hidden vpregs_ap_entry\n"
	"vpregs_ap_entry:\n"
	"	movq %rsp, vpregs_ap_rsp(%rip)\n"
	"	lock incl vpregs_ap_runs(%rip)\n"
	"1:	cli\n"
	"	hlt\n"
	"	jmp 1b\n"
	".globl vpregs_ap_end\n.hidden vpregs_ap_end\n"
	"vpregs_ap_end:\n"
	".data\n"
	".balign 8\n"
	".globl vpregs_ap_runs\n.hidden vpregs_ap_runs\n"
	"vpregs_ap_runs: .long 0, 0\n"
	".globl vpregs_ap_rsp\n.hidden vpregs_ap_rsp\n"
	"vpregs_ap_rsp: .quad 0\n"
	".text\n");

struct seg {
	uint64_t base;
	uint32_t limit;
	uint16_t sel, attr;
};

static uint64_t rdmsr_v(uint32_t msr)
{
	uint64_t v = 0;
	trap_rdmsr(msr, &v);
	return v;
}

static void header(uint8_t *in, uint64_t pid, uint32_t vp)
{
	for (int i = 0; i < 16; i++)
		in[i] = 0;
	*(uint64_t *)in = pid;
	*(uint32_t *)(in + 8) = vp;
}

/* Get n registers of vp into out (16 bytes each, in P_OUT). */
static int get_regs(struct hc_regs *r, uint32_t vp, const uint32_t *names, unsigned int n)
{
	header(P_IN, PARTITION_SELF, vp);
	for (unsigned int i = 0; i < n; i++)
		*(uint32_t *)(P_IN + 16 + 4 * i) = names[i];
	fill64(P_OUT, PREFILL, 16 * n, 0);
	return call_slow(r, CALL_GET_REGS | HC_REPS(n), pa(P_IN), pa(P_OUT));
}

/* One 64-bit register: ok (status 0) and *v, else prints a FAIL line. */
static int get1(const char *name, uint32_t vp, uint32_t reg, uint64_t *v)
{
	struct hc_regs r;
	int vec = get_regs(&r, vp, &reg, 1);
	*v = *(uint64_t *)P_OUT;
	if (vec == VEC_NONE && (r.rax & 0xffff) == ST_OK && ((r.rax >> 32) & 0xfff) == 1)
		return 1;
	expect(name, vec, &r, ST_OK, 1, NULL, 0, 0);
	return 0;
}

static int get_seg(uint32_t vp, int i, struct seg *s)
{
	struct hc_regs r;
	uint32_t name = R_ES + (uint32_t)i;
	int vec = get_regs(&r, vp, &name, 1);
	*s = *(struct seg *)P_OUT;
	return vec == VEC_NONE && (r.rax & 0xffff) == ST_OK;
}

static int set_reg(struct hc_regs *r, uint32_t vp, uint32_t reg, uint64_t lo, uint64_t hi)
{
	header(P_IN, PARTITION_SELF, vp);
	for (int i = 16; i < 48; i++)
		P_IN[i] = 0;
	*(uint32_t *)(P_IN + 16) = reg;
	*(uint64_t *)(P_IN + 32) = lo;
	*(uint64_t *)(P_IN + 40) = hi;
	return call_slow(r, CALL_SET_REGS | HC_REPS(1), pa(P_IN), 0);
}

static uint16_t lar(uint16_t sel)
{
	uint64_t v = 0;
	uint8_t zf;
	__asm__ volatile("lar %2, %0; setz %1" : "=r"(v), "=q"(zf) : "r"((uint64_t)sel) : "cc");
	return zf ? (uint16_t)((v >> 8) & 0xf0ff) : 0;
}

static uint32_t lsl(uint16_t sel)
{
	uint64_t v = 0;
	__asm__ volatile("lsl %1, %0" : "=r"(v) : "r"((uint64_t)sel) : "cc");
	return (uint32_t)v;
}

static uint16_t read_sel(int i)
{
	uint16_t s = 0;
	switch (i) {
	case S_ES: __asm__ volatile("mov %%es, %0" : "=r"(s)); break;
	case S_CS: __asm__ volatile("mov %%cs, %0" : "=r"(s)); break;
	case S_SS: __asm__ volatile("mov %%ss, %0" : "=r"(s)); break;
	case S_DS: __asm__ volatile("mov %%ds, %0" : "=r"(s)); break;
	case S_FS: __asm__ volatile("mov %%fs, %0" : "=r"(s)); break;
	case S_GS: __asm__ volatile("mov %%gs, %0" : "=r"(s)); break;
	case S_LDTR: __asm__ volatile("sldt %0" : "=r"(s)); break;
	case S_TR: __asm__ volatile("str %0" : "=r"(s)); break;
	}
	return s;
}

struct __attribute__((packed)) dtr {
	uint16_t limit;
	uint64_t base;
};

/* ---- (c) the caller's own registers ------------------------------------ */
static void checks_self(void)
{
	struct hc_regs r;
	uint64_t v;
	char name[64];

	/* Control registers and EFER as the CPU shows them. */
	static const struct { uint32_t reg; const char *n; } crs[] = {
		{ R_CR0, "cr0" }, { R_CR3, "cr3" }, { R_CR4, "cr4" }, { R_CR8, "cr8" },
		{ R_EFER, "efer" }, { R_PAT, "pat" }, { R_LSTAR, "lstar" }, { R_STAR, "star" },
		{ R_SFMASK, "sfmask" }, { R_SYSENTER_CS, "sysenter_cs" }, { R_APIC_BASE, "apic_base" },
		{ R_VP_INDEX, "vp_index" }, { R_GUEST_OS_ID, "guest_os_id" },
	};
	for (unsigned int i = 0; i < sizeof(crs) / sizeof(crs[0]); i++) {
		uint64_t want;
		switch (crs[i].reg) {
		case R_CR0: want = read_cr0(); break;
		case R_CR3: want = read_cr3(); break;
		case R_CR4: want = read_cr4(); break;
		case R_CR8: want = read_cr8(); break;
		case R_EFER: want = rdmsr_v(0xC0000080u); break;
		case R_PAT: want = rdmsr_v(0x277); break;
		case R_LSTAR: want = rdmsr_v(0xC0000082u); break;
		case R_STAR: want = rdmsr_v(0xC0000081u); break;
		case R_SFMASK: want = rdmsr_v(0xC0000084u); break;
		case R_SYSENTER_CS: want = rdmsr_v(0x174); break;
		case R_APIC_BASE: want = rdmsr_v(0x1B); break;
		case R_VP_INDEX: want = 0; break;
		default: want = OS_ID; break;
		}
		fmt_name(name, sizeof(name), "vpregs.self.get_%s", crs[i].n);
		if (get1(name, 0xFFFFFFFEu, crs[i].reg, &v))
			check_eq(name, v, want);
	}

	/* RIP: the hypercall instruction in the page (after ENDBR64); RSP:
	 * just below this frame; RFLAGS: IF clear inside the probe window. */
	uint64_t here = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	if (get1("vpregs.self.get_rip", 0, R_RIP, &v))
		check_eq("vpregs.self.get_rip", v, pa(g_hc.p) + 4);
	if (get1("vpregs.self.get_rsp", 0, R_RSP, &v))
		check("vpregs.self.get_rsp", v < here && here - v < 0x1000,
		      "RSP 0x%lx, this frame 0x%lx", (unsigned long)v, (unsigned long)here);
	if (get1("vpregs.self.get_rflags", 0, R_RFLAGS, &v))
		check("vpregs.self.get_rflags", (v & 2) && !(v & (1u << 9)) && !(v >> 22),
		      "RFLAGS 0x%lx", (unsigned long)v);

	/* Segments against the selectors and LAR/LSL, FS/GS bases. */
	static const char *const segn[8] = { "es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr" };
	for (int i = 0; i < 8; i++) {
		struct seg s;
		fmt_name(name, sizeof(name), "vpregs.self.seg_%s", segn[i]);
		if (!get_seg(0, i, &s)) {
			check(name, 0, "the call failed");
			continue;
		}
		uint16_t sel = read_sel(i);
		int ok = s.sel == sel && !(s.attr & 0x0f00);
		if (i == S_TR && sel) {
			/* The hidden part only: the GDT entry may be gone (the
			 * firmware's loader image freed, 0xAF fill). A present
			 * 64-bit TSS. */
			ok &= (s.attr & 0x9d) == 0x89 && s.limit >= 0x67;
		} else if (sel && (s.attr & 0x80)) {
			ok &= (s.attr & 0xf0fe) == (lar(sel) & 0xf0fe) && s.limit == lsl(sel);
		}
		if (i == S_FS || i == S_GS)
			ok &= s.base == rdmsr_v(i == S_FS ? 0xC0000100u : 0xC0000101u);
		else if (i != S_LDTR && i != S_TR)
			ok &= s.base == 0;
		if (i == S_CS)
			ok &= (s.attr & 0x2098) == 0x2098; /* P, S, code, L */
		check(name, ok, "sel 0x%x attr 0x%x limit 0x%x base 0x%lx; CPU sel 0x%x LAR 0x%x LSL 0x%x",
		      s.sel, s.attr, s.limit, (unsigned long)s.base, sel, sel ? lar(sel) : 0,
		      sel ? lsl(sel) : 0);
	}
	struct dtr gdt;
	__asm__ volatile("sgdt %0" : "=m"(gdt));
	uint32_t tn = R_GDTR;
	int vec = get_regs(&r, 0, &tn, 1);
	uint64_t *o = (uint64_t *)P_OUT;
	expect("vpregs.self.gdtr", vec, &r, ST_OK, 1, "base/limit",
	       o[1] ^ ((o[0] >> 48) << 48), gdt.base ^ ((uint64_t)gdt.limit << 48));
	tn = R_IDTR; /* the probe window's IDT (payload.c): 256 gates */
	vec = get_regs(&r, 0, &tn, 1);
	expect("vpregs.self.idtr_limit", vec, &r, ST_OK, 1, "limit", o[0] >> 48, 256 * 16 - 1);

	/* A list of several, in order: RIP, CR3, CR0 (TLFS 3.8 rep). */
	static const uint32_t list[3] = { R_RIP, R_CR3, R_CR0 };
	vec = get_regs(&r, 0, list, 3);
	expect("vpregs.self.get_list", vec, &r, ST_OK, 3, "CR3 then CR0 match",
	       o[2] == read_cr3() && o[4] == read_cr0() && o[1] == 0 && o[3] == 0, 1);

	/* Fast form, XMM output (TLFS 3.8.1): header in RDX/R8, the name in
	 * XMM0, the value from XMM1. */
	if (g_hc.feat & FEAT_XMM_OUT) {
		r = (struct hc_regs){ .rcx = CALL_GET_REGS | HC_FAST | HC_REPS(1), .rdx = PARTITION_SELF,
				      .r8 = 0 };
		r.xmm[0][0] = R_CR3;
		vec = call(&r);
		expect("vpregs.self.fast_xmm", vec, &r, ST_OK, 1, "XMM1", r.xmm[1][0], read_cr3());
	}

	/* Set and read back with RDMSR, then restore (registers the firmware
	 * does not use while it runs this payload). */
	static const struct { uint32_t reg, msr; uint64_t val; const char *n; } sets[] = {
		{ R_KGSBASE, 0xC0000102u, 0xFFFF800012345000ull, "kernel_gs_base" },
		{ R_SYSENTER_ESP, 0x175, 0x0000000076543210ull, "sysenter_esp" },
		{ R_STAR, 0xC0000081u, 0x0023001000000000ull, "star" },
	};
	for (unsigned int i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		uint64_t old = rdmsr_v(sets[i].msr);
		fmt_name(name, sizeof(name), "vpregs.self.set_%s", sets[i].n);
		vec = set_reg(&r, 0, sets[i].reg, sets[i].val, 0);
		uint64_t now = rdmsr_v(sets[i].msr);
		expect(name, vec, &r, ST_OK, 1, "RDMSR", now, sets[i].val);
		fmt_name(name, sizeof(name), "vpregs.self.get_%s_after_set", sets[i].n);
		if (get1(name, 0, sets[i].reg, &v))
			check_eq(name, v, sets[i].val);
		fmt_name(name, sizeof(name), "vpregs.self.restore_%s", sets[i].n);
		vec = set_reg(&r, 0, sets[i].reg, old, 0);
		expect(name, vec, &r, ST_OK, 1, "RDMSR", rdmsr_v(sets[i].msr), old);
	}
	/* A GPR: RBX of the caller after the call (hcall.asm keeps RBX). */
	uint64_t rbx_before = 0, rbx_after = 0;
	__asm__ volatile("mov %%rbx, %0" : "=r"(rbx_before));
	vec = set_reg(&r, 0, R_RAX + 3, rbx_before, 0); /* the same value: harmless */
	__asm__ volatile("mov %%rbx, %0" : "=r"(rbx_after));
	expect("vpregs.self.set_gpr", vec, &r, ST_OK, 1, "RBX", rbx_after, rbx_before);
}

/* ---- (f) bad inputs ---------------------------------------------------- */
static void checks_errors_vpregs(unsigned int nvp)
{
	struct hc_regs r;
	int vec;
	uint32_t name = R_RIP;

	header(P_IN, 0x1234, 0);
	*(uint32_t *)(P_IN + 16) = R_RIP;
	vec = call_slow(&r, CALL_GET_REGS | HC_REPS(1), pa(P_IN), pa(P_OUT));
	expect("vpregs.err.bad_partition", vec, &r, ST_BAD_PARTITION, 0, NULL, 0, 0);

	vec = get_regs(&r, nvp, &name, 1);
	expect("vpregs.err.vp_index_out_of_range", vec, &r, ST_BAD_VP_INDEX, 0, NULL, 0, 0);
	vec = get_regs(&r, 64, &name, 1);
	expect("vpregs.err.vp_index_64", vec, &r, ST_BAD_VP_INDEX, 0, NULL, 0, 0);

	header(P_IN, PARTITION_SELF, 0);
	P_IN[12] = 0x20; /* HV_INPUT_VTL: reserved bit */
	*(uint32_t *)(P_IN + 16) = R_RIP;
	vec = call_slow(&r, CALL_GET_REGS | HC_REPS(1), pa(P_IN), pa(P_OUT));
	expect("vpregs.err.bad_vtl", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);

	header(P_IN, PARTITION_SELF, 0);
	P_IN[13] = 1; /* RsvdZ */
	*(uint32_t *)(P_IN + 16) = R_RIP;
	vec = call_slow(&r, CALL_GET_REGS | HC_REPS(1), pa(P_IN), pa(P_OUT));
	expect("vpregs.err.reserved_header", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);

	/* An unknown name in the middle: stops there, the first is done. */
	static const uint32_t list[3] = { R_CR3, 0x00007777u, R_CR0 };
	vec = get_regs(&r, 0, list, 3);
	expect("vpregs.err.unknown_name", vec, &r, ST_BAD_PARAM, 1, "first value, third untouched",
	       *(uint64_t *)P_OUT == read_cr3() && *(uint64_t *)(P_OUT + 32) == PREFILL, 1);

	vec = set_reg(&r, 0, R_VP_INDEX, 5, 0);
	expect("vpregs.err.set_read_only", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	vec = set_reg(&r, 0, R_LSTAR, 0x0000800000000000ull, 0);
	expect("vpregs.err.set_non_canonical", vec, &r, ST_BAD_REG_VALUE, 0, "LSTAR",
	       rdmsr_v(0xC0000082u) != 0x0000800000000000ull, 1);
	vec = set_reg(&r, 0, R_CR4, read_cr4() | (1u << 13), 0);
	expect("vpregs.err.set_cr4_vmxe", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	vec = set_reg(&r, 0, R_CR0, read_cr0() & ~1ull, 0);
	expect("vpregs.err.set_cr0_mode_change", vec, &r, ST_BAD_REG_VALUE, 0, NULL, 0, 0);
	vec = set_reg(&r, 0, R_RIP, 0x1000, 0);
	expect("vpregs.err.set_own_rip", vec, &r, ST_BAD_VP_STATE, 0, NULL, 0, 0);
	vec = set_reg(&r, 0, R_RAX + 3, 1, 1);
	expect("vpregs.err.set_beyond_64_bits", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);

	/* A list crossing a page (TLFS 3.6): the input at the last 16 bytes
	 * of P_IN with 8 names after it. */
	uint8_t *in = P_IN + PAGE - 16;
	header(in, PARTITION_SELF, 0);
	vec = call_slow(&r, CALL_GET_REGS | HC_REPS(8), pa(in), pa(P_OUT2));
	expect("vpregs.err.list_crosses_page", vec, &r, ST_BAD_ALIGN, 0, NULL, 0, 0);
	/* Set elements are 32 bytes: 16 + 32 * 3 > 64 fits one page: OK. */
}

/* ---- (c) another VP ---------------------------------------------------- */
static void checks_remote(void)
{
	struct hc_regs r;
	uint64_t cr0 = 0, cr3 = 0, efer = 0, v = 0;
	struct seg cs = { 0 }, ss = { 0 };
	int ok = get1("vpregs.remote.get_cr0", 1, R_CR0, &cr0) &
		 get1("vpregs.remote.get_cr3", 1, R_CR3, &cr3) &
		 get1("vpregs.remote.get_efer", 1, R_EFER, &efer);
	if (ok) {
		check("vpregs.remote.long_mode", (cr0 & 0x80000001u) == 0x80000001u &&
		      (efer & 0x500) == 0x500 && cr3 && cr3 < (1ull << g_hc.pa_bits),
		      "CR0 0x%lx EFER 0x%lx CR3 0x%lx", (unsigned long)cr0, (unsigned long)efer,
		      (unsigned long)cr3);
		ser_printf("  info: VP 1 CR3 0x%lx, VP 0 CR3 0x%lx\n", (unsigned long)cr3,
			   (unsigned long)read_cr3());
	}
	ok = get_seg(1, S_CS, &cs) && get_seg(1, S_SS, &ss);
	check("vpregs.remote.segments", ok && (cs.attr & 0x2098) == 0x2098 && !(cs.attr & 0x60) &&
	      (!(ss.attr & 0x80) || (ss.attr & 0x1a) == 0x12),
	      "CS %x/%x SS %x/%x", cs.sel, cs.attr, ss.sel, ss.attr);
	if (get1("vpregs.remote.vp_index", 1, R_VP_INDEX, &v))
		check_eq("vpregs.remote.vp_index", v, 1);

	/* Set, read back, restore: registers an idle firmware AP does not use. */
	static const struct { uint32_t reg; uint64_t val; const char *n; } sets[] = {
		{ R_SYSENTER_ESP, 0x00000000ABCDE000ull, "sysenter_esp" },
		{ R_KGSBASE, 0xFFFF8000ABCDE000ull, "kernel_gs_base" },
	};
	char name[64];
	for (unsigned int i = 0; i < 2; i++) {
		uint64_t old = 0;
		fmt_name(name, sizeof(name), "vpregs.remote.set_%s", sets[i].n);
		if (!get1(name, 1, sets[i].reg, &old))
			continue;
		int vec = set_reg(&r, 1, sets[i].reg, sets[i].val, 0);
		expect(name, vec, &r, ST_OK, 1, NULL, 0, 0);
		fmt_name(name, sizeof(name), "vpregs.remote.get_%s_after_set", sets[i].n);
		if (get1(name, 1, sets[i].reg, &v))
			check_eq(name, v, sets[i].val);
		fmt_name(name, sizeof(name), "vpregs.remote.restore_%s", sets[i].n);
		vec = set_reg(&r, 1, sets[i].reg, old, 0);
		if (expect(name, vec, &r, ST_OK, 1, NULL, 0, 0) && get1(name, 1, sets[i].reg, &v))
			check_eq(name, v, old);
	}
}

/* ---- (d) HvStartVirtualProcessor --------------------------------------- */
/* HV_INITIAL_VP_CONTEXT (TLFS 7.10.3) at ctx: this processor's own mode
 * (segments from HvGetVpRegisters, tables from SGDT/SIDT), at rip/rsp. */
static int build_ctx(uint8_t *ctx, uint64_t rip, uint64_t rsp)
{
	static const int order[8] = { S_CS, S_DS, S_ES, S_FS, S_GS, S_SS, S_TR, S_LDTR };
	struct dtr gdt, idt;
	uint64_t *q = (uint64_t *)ctx;
	q[0] = rip;
	q[1] = rsp;
	q[2] = 0x2; /* interrupts off */
	for (int i = 0; i < 8; i++) {
		struct seg s;
		if (!get_seg(0, order[i], &s))
			return 0;
		*(struct seg *)(ctx + 24 + 16 * i) = s;
	}
	__asm__ volatile("sgdt %0" : "=m"(gdt));
	__asm__ volatile("sidt %0" : "=m"(idt));
	q[19] = (uint64_t)idt.limit << 48;
	q[20] = idt.base;
	q[21] = (uint64_t)gdt.limit << 48;
	q[22] = gdt.base;
	q[23] = rdmsr_v(0xC0000080u) & ~(1ull << 12); /* EFER (SVME is never ours) */
	q[24] = read_cr0();
	q[25] = read_cr3();
	q[26] = read_cr4();
	q[27] = rdmsr_v(0x277);
	return 1;
}

static int start_call(struct hc_regs *r, uint32_t vp, const uint8_t *ctx)
{
	header(P_IN2, PARTITION_SELF, vp);
	for (int i = 0; i < 224; i++)
		P_IN2[16 + i] = ctx[i];
	return call_slow(r, CALL_START_VP, pa(P_IN2), 0);
}

static void send_init(uint32_t apic)
{
	uint64_t base = rdmsr_v(0x1B);
	if (base & (1u << 10)) {
		trap_wrmsr(0x830, ((uint64_t)apic << 32) | 0x4500);
	} else {
		volatile uint32_t *a = (volatile uint32_t *)(uintptr_t)(base & ~0xFFFull);
		a[0x310 / 4] = apic << 24;
		a[0x300 / 4] = 0x4500; /* INIT, level assert, physical */
	}
}

static void checks_start(struct efi_mp_services *mp)
{
	struct hc_regs r;
	uint8_t ctx[224], bad[224];
	EFI_PHYSICAL_ADDRESS stack = 0;
	uint64_t info[16] = { 0 }; /* EFI_PROCESSOR_INFORMATION (+ extensions) */
	int vec;

	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiBootServicesData, 1,
					&stack)) ||
	    EFI_ERROR(uefi_call_wrapper(mp->get_processor_info, 3, mp, (UINTN)1, (void *)info))) {
		check("vpregs.start.setup", 0, "AllocatePages or GetProcessorInfo(1) failed");
		return;
	}
	uint32_t apic1 = (uint32_t)info[0];
	uint64_t rsp = stack + PAGE - 16;
	if (!build_ctx(ctx, (uint64_t)(uintptr_t)vpregs_ap_entry, rsp)) {
		check("vpregs.start.context", 0, "HvGetVpRegisters of the segments failed");
		return;
	}
	/* Bad contexts (checked before the VP's state). */
	static const struct { unsigned int off; uint64_t val; const char *n; } bads[] = {
		{ 0, 0x0000800000000000ull, "vpregs.start.bad_rip" },
		{ 192, 0x80000010ull, "vpregs.start.bad_cr0_pg_without_pe" },
		{ 184, 0x100, "vpregs.start.bad_efer_lme_without_lma" },
		{ 24 + 14, 0x0093, "vpregs.start.bad_cs_data" }, /* 16-bit store below */
		{ 16, 0x2 | (1u << 17), "vpregs.start.bad_rflags_vm" },
	};
	for (unsigned int i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		for (int k = 0; k < 224; k++)
			bad[k] = ctx[k];
		if (bads[i].off == 24 + 14)
			*(uint16_t *)(bad + bads[i].off) = (uint16_t)bads[i].val;
		else
			*(uint64_t *)(bad + bads[i].off) = bads[i].val;
		vec = start_call(&r, 1, bad);
		expect(bads[i].n, vec, &r, ST_BAD_REG_VALUE, 0, NULL, 0, 0);
	}
	vec = start_call(&r, 1, ctx);
	expect("vpregs.start.running_vp", vec, &r, ST_BAD_VP_STATE, 0, NULL, 0, 0);
	vec = start_call(&r, 0, ctx);
	expect("vpregs.start.self", vec, &r, ST_BAD_VP_STATE, 0, NULL, 0, 0);
	vec = start_call(&r, 64, ctx);
	expect("vpregs.start.bad_vp_index", vec, &r, ST_BAD_VP_INDEX, 0, NULL, 0, 0);

	/* INIT: VP 1 goes to wait-for-SIPI; start it when it is there. */
	vpregs_ap_runs = 0;
	vpregs_ap_rsp = 0;
	send_init(apic1);
	unsigned int tries = 0;
	do {
		for (volatile int k = 0; k < 20000; k++)
			__asm__ volatile("pause");
		vec = start_call(&r, 1, ctx);
	} while (vec == VEC_NONE && (r.rax & 0xffff) == ST_BAD_VP_STATE && ++tries < 2000);
	ser_printf("  info: VP 1 (APIC %u) started after %u tries\n", apic1, tries);
	if (!expect("vpregs.start.after_init", vec, &r, ST_OK, 0, NULL, 0, 0))
		return;
	for (unsigned long k = 0; k < 200000000ul && !vpregs_ap_runs; k++)
		__asm__ volatile("pause");
	check("vpregs.start.ran_context", vpregs_ap_runs == 1 && vpregs_ap_rsp == rsp,
	      "runs %u, RSP 0x%lx (given 0x%lx)", vpregs_ap_runs, (unsigned long)vpregs_ap_rsp,
	      (unsigned long)rsp);
	uint64_t rip = 0;
	if (get1("vpregs.start.parked_rip", 1, R_RIP, &rip))
		check("vpregs.start.parked_rip",
		      rip > (uint64_t)(uintptr_t)vpregs_ap_entry && rip <= (uint64_t)(uintptr_t)vpregs_ap_end,
		      "RIP 0x%lx, code 0x%lx-0x%lx", (unsigned long)rip,
		      (unsigned long)(uintptr_t)vpregs_ap_entry, (unsigned long)(uintptr_t)vpregs_ap_end);
	vec = start_call(&r, 1, ctx);
	expect("vpregs.start.again_running", vec, &r, ST_BAD_VP_STATE, 0, NULL, 0, 0);

	/* The firmware takes its AP back (INIT-SIPI-SIPI). */
	EFI_STATUS st = uefi_call_wrapper(mp->startup_all_aps, 7, mp, mp_ap_thunk, FALSE, NULL, 5000000,
					  NULL, NULL);
	check("vpregs.start.mp_services_after", !EFI_ERROR(st), "StartupAllAPs returned 0x%lx",
	      (unsigned long)st);
	if (get1("vpregs.start.unparked", 1, R_RIP, &rip))
		check("vpregs.start.unparked",
		      rip < (uint64_t)(uintptr_t)vpregs_ap_entry || rip > (uint64_t)(uintptr_t)vpregs_ap_end,
		      "RIP 0x%lx still in the parking loop", (unsigned long)rip);
	uefi_call_wrapper(BS->FreePages, 2, stack, 1);
}

void checks_vpregs(void)
{
	if (!g_hc.page_ok) {
		ser_printf("  info: no hypercall page: no HvGet/SetVpRegisters checks\n");
		return;
	}
	check("vpregs.privileges", (g_hc.priv & (PRIV_VP_REGS | PRIV_START_VP)) ==
	      (PRIV_VP_REGS | PRIV_START_VP), "privileges 0x%lx", (unsigned long)g_hc.priv);
	if (!(g_hc.priv & PRIV_VP_REGS))
		return;

	UINTN n = 1;
	struct efi_mp_services *mp = find_mp_services(&n, NULL);
	checks_self();
	checks_errors_vpregs((unsigned int)n);
	if (n < 2) {
		ser_printf("  info: one processor: no remote-VP or HvStartVirtualProcessor checks\n");
		return;
	}
	checks_remote();
	if (g_hc.priv & PRIV_START_VP)
		checks_start(mp);
}
