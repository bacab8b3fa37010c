/*
 * checks_vsm.c - Virtual Secure Mode (TLFS 15): the payload is both the
 * VTL 0 kernel and, through pvsm.asm's vsm_v1_entry and vsm_v1_service
 * below, the VTL 1 "secure kernel" (its own stack per VP, its own
 * hypercall page, its own VP assist pages).
 *  - discovery: AccessVsm with AccessVpRegisters and AccessSynicRegs
 *    (15.3.1), HvRegisterVsmCapabilities/PartitionStatus/VpStatus/
 *    CodePageOffsets (15.3, 15.8); without AccessVsm, the registers and
 *    calls are refused;
 *  - enablement (15.4, 15.15.3-4) with every status, bad inputs first;
 *  - VTL call and return through the hypercall page's sequences
 *    (15.6-15.8): the entry reason, GPRs shared but RSP, CR2/DR0/DR6/XMM
 *    shared, fast and control-area returns, then the private state of
 *    15.11.1 register by register, both ways, over two rounds;
 *  - a higher VTL reading and setting a lower VTL's state (HvGet/
 *    SetVpRegisters and HvTranslateVirtualAddress with an input VTL);
 *  - many round trips, and every VP: VTL 1 (not VTL 0) enables the others
 *    (15.15.4), each VP then calls and returns on its own processor.
 */
#include "hcall.h"
#include "px86.h"

#define CALL_ENABLE_PARTITION_VTL 0x000Du
#define CALL_ENABLE_VP_VTL 0x000Fu
#define CALL_GET_REGS 0x0050u
#define CALL_SET_REGS 0x0051u
#define CALL_TRANSLATE 0x0052u
#define ST_BAD_VP_INDEX 0xEu
#define ST_BAD_REG_VALUE 0x50u
#define ST_BAD_VTL_STATE 0x51u
#define PRIV_VSM (1ull << 48)
#define PRIV_VP_REGS (1ull << 49)
#define PRIV_SYNIC (1ull << 2)

#define R_VSM_OFFSETS 0x000D0002u
#define R_VSM_VP_STATUS 0x000D0003u
#define R_VSM_PART_STATUS 0x000D0004u
#define R_VSM_CAPS 0x000D0006u
#define R_RIP 0x00020010u
#define R_LSTAR 0x00080009u
#define R_SFMASK 0x0008000Bu
#define R_ES 0x00060000u
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_LDTR, S_TR };

#define MSR_ASSIST 0x40000073u
#define MSR_SINT0 0x40000090u
#define V1_SINT0 0x1005Eull /* masked, vector 0x5E */
#define MSR_EFER 0xC0000080u
#define MSR_STAR 0xC0000081u
#define MSR_LSTAR 0xC0000082u
#define MSR_CSTAR 0xC0000083u
#define MSR_SFMASK 0xC0000084u
#define MSR_KGS 0xC0000102u
#define MSR_TSC_AUX 0xC0000103u
#define MSR_SYSENTER_CS 0x174u
#define MSR_SYSENTER_ESP 0x175u
#define MSR_SYSENTER_EIP 0x176u
#define MSR_PAT 0x277u
#define CR0_AM (1ull << 18)
#define CR4_TSD (1ull << 2)
#define RFLAGS_AC (1ull << 18)

/* pvsm.asm */
extern char vsm_v1_entry[] HIDDEN;
extern uint64_t vsm_v1_seen[16] HIDDEN;
extern volatile uint64_t vsm_v1_mode HIDDEN, vsm_v1_ret_ctl HIDDEN, vsm_v1_ret_addr HIDDEN;
extern volatile uint32_t vsm_v1_count[64] HIDDEN;
extern uint64_t vsm_v0_after[20] HIDDEN;
void vsm_gpr_call(void *seq) HIDDEN;
extern char vsm_v1_isr[] HIDDEN;
extern volatile uint64_t vsm_v1_irqs HIDDEN;
uint64_t vsm_v1_service(uint64_t *saved);

struct __attribute__((packed)) dtr {
	uint16_t limit;
	uint64_t base;
};
struct seg {
	uint64_t base;
	uint32_t limit;
	uint16_t sel, attr;
};

/* The private registers of TLFS 15.11.1 the checks move. */
enum { P_STAR, P_LSTAR, P_CSTAR, P_SFMASK, P_KGS, P_SYSCS, P_SYSESP, P_SYSEIP, P_PAT, P_EFER,
       P_CR0, P_CR4, P_DR7, P_IDTL, P_RFLAGS, P_TSCAUX, P_COUNT };
static const char *const priv_name[P_COUNT] = { "star", "lstar", "cstar", "sfmask", "kernel_gs_base",
	"sysenter_cs", "sysenter_esp", "sysenter_eip", "pat", "efer", "cr0", "cr4", "dr7", "idtr_limit",
	"rflags", "tsc_aux" };
static const uint32_t priv_msr[P_PAT + 1] = { MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KGS,
	MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP, MSR_PAT };

/* ---- shared between the two VTLs --------------------------------------- */
enum v1_op { OP_NONE, OP_SETUP, OP_PRIV, OP_SET_RET, OP_GETREG, OP_ENABLE_VP, OP_IPI, OP_FN };
/* checks_vsm_prot.c: VTL 1 work of its own (OP_FN), and its handler of
 * secure intercepts (entry reason 3, TLFS 15.13). */
void vsm_prot_checks(void) HIDDEN;
void vsm_prot_intercept(uint32_t vp, uint8_t *assist) HIDDEN;
void vsm_prot_ap_checks(uint32_t vp, uint8_t *call_seq) HIDDEN;
void vsm_v1_set_fn(void (*fn)(void)) HIDDEN;
static void (*volatile v1_fn)(void);
#define CALL_SEND_IPI_VEC 0xE1u
#define VSM_SINT_VEC 0xE2u /* VTL 1's SynIC (checks_vsm_sint.c) */
void vsm_sint_checks(uint64_t others) HIDDEN;
static volatile int v1_op;
static volatile uint64_t v1_arg;
static uint8_t *v1_hc_page;          /* VTL 1's hypercall page */
static uint8_t *v1_assist[64];       /* VTL 1's VP assist pages by VP index */
static uint8_t *v1_buf;              /* VTL 1's hypercall input/output (2 pages) */
static volatile uint64_t v1_res[16]; /* what VTL 1 saw */
static volatile uint32_t v1_reason;
static volatile uint32_t v1_irq_entries[64]; /* entries with reason Interrupt, by VP */
static volatile uint64_t v1_irqs_taken[64];  /* the test vector taken, by VP */
static uint8_t *v1_idt;                      /* VTL 1's IDT: the firmware's + the test vector */
static uint64_t v1_priv_seen[P_COUNT];
static int have_tscaux;

static inline uint64_t rdmsr_raw(uint32_t m)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(m));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr_raw(uint32_t m, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(m), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline uint64_t read_dr7(void)
{
	uint64_t v;
	__asm__ volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}
static inline void write_dr7(uint64_t v) { __asm__ volatile("mov %0, %%dr7" : : "r"(v)); }
static inline uint64_t read_rflags(void)
{
	uint64_t v;
	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

static void priv_read(uint64_t *v)
{
	struct dtr idt;
	for (int i = 0; i <= P_PAT; i++)
		v[i] = rdmsr_raw(priv_msr[i]);
	v[P_EFER] = rdmsr_raw(MSR_EFER);
	v[P_CR0] = read_cr0();
	v[P_CR4] = read_cr4();
	v[P_DR7] = read_dr7();
	__asm__ volatile("sidt %0" : "=m"(idt));
	v[P_IDTL] = idt.limit;
	v[P_RFLAGS] = read_rflags() & RFLAGS_AC;
	v[P_TSCAUX] = have_tscaux ? rdmsr_raw(MSR_TSC_AUX) : 0;
}

/* VTL 1's values: distinct from VTL 0's, harmless for the code that runs
 * (no SYSCALL/SYSENTER, CPL 0 only: AC and TSD do nothing). */
static void priv_write_v1(uint64_t k)
{
	static const uint64_t base[P_PAT] = { 0x0023001000000000ull, 0xFFFF800000100000ull,
		0xFFFF800000200000ull, 0x47700ull, 0xFFFF800000300000ull, 0x10, 0xFFFF800000400000ull,
		0xFFFF800000500000ull };
	for (int i = 0; i < P_PAT; i++)
		wrmsr_raw(priv_msr[i], base[i] + (i == P_STAR || i == P_SFMASK || i == P_SYSCS ? 0 : k * 0x1000));
	/* WB WT UC- UC, then WC or WP in PA7: valid types only. */
	wrmsr_raw(MSR_PAT, 0x0007040600070406ull | ((k == 1 ? 1ull : 5ull) << 56));
	wrmsr_raw(MSR_EFER, rdmsr_raw(MSR_EFER) ^ 1);          /* SCE */
	write_cr0(read_cr0() ^ CR0_AM);
	write_cr4(read_cr4() ^ CR4_TSD);
	write_dr7(0x400 | (1u << 2));                          /* L1, DR1 never executed */
	struct dtr idt;
	__asm__ volatile("sidt %0" : "=m"(idt));
	idt.limit = (uint16_t)(0x7f + k);
	__asm__ volatile("lidt %0" : : "m"(idt));
	__asm__ volatile("pushfq; orq %0, (%%rsp); popfq" : : "r"(RFLAGS_AC) : "memory", "cc");
	if (have_tscaux)
		wrmsr_raw(MSR_TSC_AUX, 0x700 + k);
}

/* A memory-based hypercall from VTL 1 through its own page. */
uint64_t vsm_v1_hypercall(uint64_t ctl, uint64_t in, uint64_t out) HIDDEN;
uint64_t vsm_v1_hypercall(uint64_t ctl, uint64_t in, uint64_t out)
{
	register uint64_t r8 __asm__("r8") = out;
	uint64_t rax, rcx = ctl, rdx = in;
	__asm__ volatile("call *%[page]"
			 : "=a"(rax), "+c"(rcx), "+d"(rdx), "+r"(r8)
			 : [page] "r"(v1_hc_page)
			 : "memory", "r9", "r10", "r11", "cc");
	return rax;
}

static uint32_t vp_index(void) { return (uint32_t)rdmsr_raw(MSR_VP_INDEX); }

/* VTL 1 entered for an interrupt (TLFS 15.12.2): take it through VTL 1's
 * own IDT, interrupts on for a moment. The APIC is shared: the caller
 * holds physical vectors off with the TPR (CR8 15; injected vectors
 * ignore it). Not set here: QEMU 7.2's TCG SVM livelocks on a MOV to CR8
 * while a virtual interrupt (V_IRQ, the interrupt window) is pending. */
static void v1_take_interrupt(uint32_t vp)
{
	struct dtr old, idt = { (uint16_t)(VSM_SINT_VEC * 16 + 15), (uint64_t)(uintptr_t)v1_idt };
	uint64_t before = vsm_v1_irqs;
	__asm__ volatile("sidt %0" : "=m"(old));
	__asm__ volatile("lidt %0; sti; nop; nop; nop; nop; cli" : : "m"(idt) : "memory");
	__asm__ volatile("lidt %0" : : "m"(old));
	v1_irqs_taken[vp] += vsm_v1_irqs - before;
	v1_irq_entries[vp]++;
}

/* VTL 1: one request from VTL 0 per entry (mode 0). saved: the GPRs at
 * entry (r15 first ... rax at [14], rcx at [13]). Returns the VTL return
 * control: after an interrupt entry VTL 0 was stopped anywhere, so its RAX
 * and RCX go to the VTL control area and the return restores them (not
 * fast, TLFS 15.7.1.1); the other GPRs pvsm.asm keeps. */
uint64_t vsm_v1_service(uint64_t *saved)
{
	uint32_t vp = vp_index() & 63;
	uint8_t *assist = v1_assist[vp];
	uint32_t reason = 0;
	__atomic_add_fetch(&vsm_v1_count[vp], 1, __ATOMIC_SEQ_CST);
	if (assist && (rdmsr_raw(MSR_ASSIST) & 1))
		v1_reason = reason = *(volatile uint32_t *)(assist + 8);
	if (reason == 2 || reason == 3) {
		if (reason == 2)
			v1_take_interrupt(vp);
		else
			vsm_prot_intercept(vp, assist);
		*(volatile uint64_t *)(assist + 16) = saved[14];
		*(volatile uint64_t *)(assist + 24) = saved[13];
		return 0;
	}
	switch (v1_op) {
	case OP_SETUP: /* VTL 1's own synthetic MSRs (TLFS 15.11.1.1) */
		v1_res[0] = rdmsr_raw(MSR_GUEST_OS_ID);
		v1_res[1] = rdmsr_raw(MSR_HYPERCALL);
		wrmsr_raw(MSR_GUEST_OS_ID, OS_ID + 1);
		wrmsr_raw(MSR_HYPERCALL, pa(v1_hc_page) | HC_MSR_ENABLE);
		v1_res[2] = rdmsr_raw(MSR_HYPERCALL);
		/* Its own SynIC: SINT0 masked at creation, then VTL 1's value. */
		v1_res[3] = rdmsr_raw(MSR_SINT0);
		wrmsr_raw(MSR_SINT0, V1_SINT0);
		v1_res[4] = rdmsr_raw(MSR_SINT0);
		/* fall through */
	case OP_NONE:
		if (assist && !(rdmsr_raw(MSR_ASSIST) & 1))
			wrmsr_raw(MSR_ASSIST, pa(assist) | 1);
		break;
	case OP_PRIV:
		priv_read(v1_priv_seen);
		priv_write_v1(v1_arg);
		break;
	case OP_SET_RET: /* TLFS 15.8.2: RAX, RCX for a non-fast return */
		*(volatile uint64_t *)(assist + 16) = 0x1111000000001111ull;
		*(volatile uint64_t *)(assist + 24) = 0x2222000000002222ull;
		break;
	case OP_GETREG: {
		/* VTL 0's LSTAR and RIP (input VTL 0), VTL 1's own LSTAR, VTL 0's
		 * SFMASK set, the VP status as VTL 1 sees it, a translation of
		 * VTL 0's address. */
		uint8_t *in = v1_buf, *out = v1_buf + PAGE;
		for (int i = 0; i < 16; i++)
			in[i] = 0;
		*(uint64_t *)in = PARTITION_SELF;
		*(uint32_t *)(in + 8) = 0xFFFFFFFEu;
		in[12] = 0x10; /* HV_INPUT_VTL: VTL 0 */
		*(uint32_t *)(in + 16) = R_LSTAR;
		*(uint32_t *)(in + 20) = R_RIP;
		v1_res[0] = vsm_v1_hypercall(CALL_GET_REGS | HC_REPS(2), pa(in), pa(out));
		v1_res[1] = *(uint64_t *)out;
		v1_res[2] = *(uint64_t *)(out + 16);
		in[12] = 0;
		*(uint32_t *)(in + 16) = R_LSTAR;
		*(uint32_t *)(in + 20) = R_VSM_VP_STATUS;
		v1_res[3] = vsm_v1_hypercall(CALL_GET_REGS | HC_REPS(2), pa(in), pa(out));
		v1_res[4] = *(uint64_t *)out;
		v1_res[5] = *(uint64_t *)(out + 16);
		in[12] = 0x10;
		*(uint32_t *)(in + 16) = R_SFMASK;
		*(uint64_t *)(in + 32) = v1_arg;
		*(uint64_t *)(in + 40) = 0;
		v1_res[6] = vsm_v1_hypercall(CALL_SET_REGS | HC_REPS(1), pa(in), 0);
		/* HvTranslateVirtualAddress of VTL 0's RIP page with input VTL 0. */
		in[12] = 0;
		*(uint64_t *)(in + 16) = 1 | (0x10ull << 56); /* validate read */
		*(uint64_t *)(in + 24) = v1_res[2] >> 12;
		v1_res[7] = vsm_v1_hypercall(CALL_TRANSLATE, pa(in), pa(out));
		v1_res[8] = *(uint64_t *)out;
		v1_res[9] = *(uint64_t *)(out + 8);
		break;
	}
	case OP_ENABLE_VP: /* v1_buf holds VTL 0's prepared HvEnableVpVtl input */
		v1_res[0] = vsm_v1_hypercall(CALL_ENABLE_VP_VTL, pa(v1_buf + PAGE), 0);
		break;
	case OP_FN:
		v1_fn();
		break;
	case OP_IPI: /* the test vector to VTL 1 (its own VTL: no input VTL) of the VPs in v1_arg */
		*(uint64_t *)v1_buf = CALL_SEND_IPI_VEC;
		*(uint64_t *)(v1_buf + 8) = v1_arg;
		v1_res[0] = vsm_v1_hypercall(0x000B, pa(v1_buf), 0);
		break;
	}
	return vsm_v1_ret_ctl;
}

/* ---- VTL 0 -------------------------------------------------------------- */
static uint8_t *page0;   /* VTL 0's hypercall page */
static uint32_t off_call, off_ret;
uint32_t g_vsm_mbec; /* HvRegisterVsmCapabilities MbecVtlMask (TLFS 15.3.2, 15.10) */

static int get_vtl(uint32_t vp, uint8_t vtl, uint32_t reg, uint64_t *v, struct hc_regs *r)
{
	for (int i = 0; i < 16; i++)
		P_IN[i] = 0;
	*(uint64_t *)P_IN = PARTITION_SELF;
	*(uint32_t *)(P_IN + 8) = vp;
	P_IN[12] = vtl;
	*(uint32_t *)(P_IN + 16) = reg;
	fill64(P_OUT, PREFILL, 16, 0);
	int vec = call_slow(r, CALL_GET_REGS | HC_REPS(1), pa(P_IN), pa(P_OUT));
	*v = *(uint64_t *)P_OUT;
	return vec == VEC_NONE && (r->rax & 0xffff) == ST_OK;
}

static int get_reg(const char *name, uint32_t reg, uint64_t *v)
{
	struct hc_regs r;
	if (get_vtl(0xFFFFFFFEu, 0, reg, v, &r))
		return 1;
	check(name, 0, "HvGetVpRegisters(%x): RAX 0x%lx", reg, (unsigned long)r.rax);
	return 0;
}

static int enable_partition(struct hc_regs *r, uint64_t pid, uint8_t vtl, uint8_t flags, uint8_t rsvd)
{
	for (int i = 0; i < 16; i++)
		P_IN[i] = 0;
	*(uint64_t *)P_IN = pid;
	P_IN[8] = vtl;
	P_IN[9] = flags;
	P_IN[11] = rsvd;
	return call_slow(r, CALL_ENABLE_PARTITION_VTL, pa(P_IN), 0);
}

/* HV_INITIAL_VP_CONTEXT (TLFS 15.15.4) for VTL 1: this processor's mode
 * (segments from HvGetVpRegisters), at vsm_v1_entry on stack rsp. */
static int build_ctx(uint8_t *ctx, uint64_t rsp)
{
	static const int order[8] = { S_CS, S_DS, S_ES, S_FS, S_GS, S_SS, S_TR, S_LDTR };
	struct hc_regs r;
	struct dtr gdt, idt;
	uint64_t *q = (uint64_t *)ctx;
	q[0] = (uint64_t)(uintptr_t)vsm_v1_entry;
	q[1] = rsp;
	q[2] = 0x2;
	for (int i = 0; i < 8; i++) {
		uint64_t v;
		if (!get_vtl(0xFFFFFFFEu, 0, R_ES + (uint32_t)order[i], &v, &r))
			return 0;
		*(struct seg *)(ctx + 24 + 16 * i) = *(struct seg *)P_OUT;
	}
	__asm__ volatile("sgdt %0" : "=m"(gdt));
	__asm__ volatile("sidt %0" : "=m"(idt));
	q[19] = (uint64_t)idt.limit << 48;
	q[20] = idt.base;
	q[21] = (uint64_t)gdt.limit << 48;
	q[22] = gdt.base;
	q[23] = rdmsr_raw(MSR_EFER) & ~(1ull << 12);
	q[24] = read_cr0();
	q[25] = read_cr3();
	q[26] = read_cr4();
	q[27] = rdmsr_raw(MSR_PAT);
	return 1;
}

static int enable_vp(struct hc_regs *r, uint8_t *in, uint32_t vp, uint8_t vtl, const uint8_t *ctx)
{
	for (int i = 0; i < 16; i++)
		in[i] = 0;
	*(uint64_t *)in = PARTITION_SELF;
	*(uint32_t *)(in + 8) = vp;
	in[12] = vtl;
	for (int i = 0; i < 224; i++)
		in[16 + i] = ctx[i];
	return call_slow(r, CALL_ENABLE_VP_VTL, pa(in), 0);
}

/* A VTL call through the page (trap window: #UD is caught). */
static int vtl_call(struct hc_regs *r, uint64_t ctl)
{
	*r = (struct hc_regs){ .rcx = ctl };
	return call_page(r, page0 + off_call);
}

static void checks_not_offered(void)
{
	struct hc_regs r;
	uint64_t v;
	int ok = !get_vtl(0xFFFFFFFEu, 0, R_VSM_PART_STATUS, &v, &r);
	check("vsm.absent.registers", ok && (r.rax & 0xffff) == ST_BAD_PARAM, "RAX 0x%lx",
	      (unsigned long)r.rax);
	int vec = enable_partition(&r, PARTITION_SELF, 1, 0, 0);
	expect("vsm.absent.enable_partition", vec, &r, ST_ACCESS_DENIED, 0, NULL, 0, 0);
}

static void checks_discovery(void)
{
	uint64_t v;
	if (get_reg("vsm.reg.code_page_offsets", R_VSM_OFFSETS, &v)) {
		off_call = v & 0xfff;
		off_ret = (v >> 12) & 0xfff;
		check("vsm.reg.code_page_offsets", !(v >> 24) && off_call && off_ret && off_call != off_ret &&
		      page0[off_call] != 0xCC && page0[off_ret] != 0xCC,
		      "0x%lx (bytes %02x %02x)", (unsigned long)v, page0[off_call & 0xfff], page0[off_ret & 0xfff]);
	}
	if (get_reg("vsm.reg.capabilities", R_VSM_CAPS, &v)) {
		check("vsm.reg.capabilities", (v & ((1ull << 46) - 1)) == 0 && (v >> 63),
		      "0x%lx: reserved bits, or DR6 not shared", (unsigned long)v);
		/* MbecVtlMask 62:47: VTL 1 where the hypervisor has MBEC (VMX
		 * with mode-based execute control: Bochs tigerlake), never on
		 * AMD (no such control); DenyLowerVtlStartup 46 not offered. */
		g_vsm_mbec = (uint32_t)((v >> 47) & 0xffff);
		check("vsm.reg.capabilities.mbec_vtl_mask",
		      (g_vsm_mbec == 0 || (g_vsm_mbec == 2 && cpu_vendor() == VENDOR_INTEL)) && !(v >> 46 & 1),
		      "0x%lx: MbecVtlMask 0x%x", (unsigned long)v, g_vsm_mbec);
	}
	if (get_reg("vsm.reg.partition_status", R_VSM_PART_STATUS, &v))
		check("vsm.reg.partition_status", v == (1 | (1ull << 16)),
		      "0x%lx: want VTL 0 enabled, MaximumVtl 1", (unsigned long)v);
	if (get_reg("vsm.reg.vp_status", R_VSM_VP_STATUS, &v))
		check_eq("vsm.reg.vp_status", v, 1ull << 16);
	/* Read-only. */
	struct hc_regs r;
	for (int i = 0; i < 16; i++)
		P_IN[i] = 0;
	*(uint64_t *)P_IN = PARTITION_SELF;
	*(uint32_t *)(P_IN + 8) = 0xFFFFFFFEu;
	*(uint32_t *)(P_IN + 16) = R_VSM_PART_STATUS;
	*(uint64_t *)(P_IN + 32) = 3;
	*(uint64_t *)(P_IN + 40) = 0;
	int vec = call_slow(&r, CALL_SET_REGS | HC_REPS(1), pa(P_IN), 0);
	expect("vsm.reg.read_only", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
}

/* Bad inputs before and around enabling (TLFS 15.6.1.1, 15.7.2, 15.15.3-4). */
static void checks_enable(uint8_t *ctx, uint32_t nvp)
{
	struct hc_regs r;
	uint8_t bad[224];
	int vec = vtl_call(&r, 0);
	check_vec("vsm.call.before_enable_ud", vec, VEC_UD);
	r = (struct hc_regs){ .rcx = 0 };
	vec = call_page(&r, page0 + off_ret);
	check_vec("vsm.return.from_vtl0_ud", vec, VEC_UD);
	vec = enable_vp(&r, P_IN2, 0xFFFFFFFEu, 1, ctx);
	expect("vsm.enable_vp.before_partition", vec, &r, ST_BAD_VTL_STATE, 0, NULL, 0, 0);
	vec = enable_partition(&r, PARTITION_SELF, 2, 0, 0);
	expect("vsm.enable_partition.vtl2", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	vec = enable_partition(&r, PARTITION_SELF, 0, 0, 0);
	expect("vsm.enable_partition.vtl0", vec, &r, ST_BAD_VTL_STATE, 0, NULL, 0, 0);
	/* EnableMbec (TLFS 15.10.2) is refused where MbecVtlMask lacks VTL 1;
	 * where it has it, the enable below asks for it. */
	if (!(g_vsm_mbec & 2)) {
		vec = enable_partition(&r, PARTITION_SELF, 1, 1, 0);
		expect("vsm.enable_partition.mbec", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	}
	vec = enable_partition(&r, PARTITION_SELF, 1, 3, 0); /* a reserved flag bit */
	expect("vsm.enable_partition.flags_reserved", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	vec = enable_partition(&r, PARTITION_SELF, 1, 0, 1);
	expect("vsm.enable_partition.reserved", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	vec = enable_partition(&r, 0x1234, 1, 0, 0);
	expect("vsm.enable_partition.bad_partition", vec, &r, ST_BAD_PARTITION, 0, NULL, 0, 0);
	uint8_t mbec = (g_vsm_mbec & 2) ? 1 : 0;
	vec = enable_partition(&r, PARTITION_SELF, 1, mbec, 0);
	expect("vsm.enable_partition", vec, &r, ST_OK, 0, NULL, 0, 0);
	vec = enable_partition(&r, PARTITION_SELF, 1, 0, 0);
	expect("vsm.enable_partition.twice", vec, &r, ST_BAD_VTL_STATE, 0, NULL, 0, 0);
	uint64_t v;
	/* MbecEnabledVtlSet 35:20: VTL 1 when enabled with EnableMbec. */
	if (get_reg("vsm.reg.partition_status_enabled", R_VSM_PART_STATUS, &v))
		check_eq("vsm.reg.partition_status_enabled", v, 3 | (1ull << 16) | ((uint64_t)mbec << 21));

	static const struct { unsigned int off; uint64_t val; const char *n; } bads[] = {
		{ 0, 0x0000800000000000ull, "vsm.enable_vp.bad_rip" },
		{ 192, 0x10, "vsm.enable_vp.real_mode" }, /* CR0.PE clear: TLFS 15.11.3 */
		{ 16, 0x2 | (1u << 17), "vsm.enable_vp.bad_rflags" },
	};
	for (unsigned int i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		for (int k = 0; k < 224; k++)
			bad[k] = ctx[k];
		*(uint64_t *)(bad + bads[i].off) = bads[i].val;
		vec = enable_vp(&r, P_IN2, 0xFFFFFFFEu, 1, bad);
		expect(bads[i].n, vec, &r, ST_BAD_REG_VALUE, 0, NULL, 0, 0);
	}
	vec = enable_vp(&r, P_IN2, 0xFFFFFFFEu, 2, ctx);
	expect("vsm.enable_vp.vtl2", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	vec = enable_vp(&r, P_IN2, 64, 1, ctx);
	expect("vsm.enable_vp.bad_vp_index", vec, &r, ST_BAD_VP_INDEX, 0, NULL, 0, 0);
	vec = enable_vp(&r, P_IN2, 0xFFFFFFFEu, 0, ctx);
	expect("vsm.enable_vp.vtl0", vec, &r, ST_BAD_VTL_STATE, 0, NULL, 0, 0);
	P_IN2[12] = 1;
	P_IN2[14] = 1; /* RsvdZ */
	vec = call_slow(&r, CALL_ENABLE_VP_VTL, pa(P_IN2), 0);
	expect("vsm.enable_vp.reserved", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	vec = enable_vp(&r, P_IN2, 0xFFFFFFFEu, 1, ctx);
	expect("vsm.enable_vp", vec, &r, ST_OK, 0, NULL, 0, 0);
	/* TLFS 15.15.4: once a VP has VTL 1, enabling it comes from VTL 1
	 * (vsm.enable_vp.twice_from_vtl1 below). */
	vec = enable_vp(&r, P_IN2, 0xFFFFFFFEu, 1, ctx);
	expect("vsm.enable_vp.twice_from_vtl0", vec, &r, ST_ACCESS_DENIED, 0, NULL, 0, 0);
	if (nvp > 1) { /* TLFS 15.15.4: now only VTL 1 may enable it */
		vec = enable_vp(&r, P_IN2, 1, 1, ctx);
		expect("vsm.enable_vp.other_from_vtl0", vec, &r, ST_ACCESS_DENIED, 0, NULL, 0, 0);
	}
	if (get_reg("vsm.reg.vp_status_enabled", R_VSM_VP_STATUS, &v))
		check_eq("vsm.reg.vp_status_enabled", v, 3ull << 16);
	get_vtl(0xFFFFFFFEu, 0x11, R_RIP, &v, &r); /* VTL 0 naming VTL 1 */
	expect("vsm.getregs.higher_vtl_denied", VEC_NONE, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
}

/* The next VTL call (from any VP) runs fn in VTL 1, returning fast. */
void vsm_v1_set_fn(void (*fn)(void))
{
	v1_fn = fn;
	v1_op = OP_FN;
	vsm_v1_mode = 0;
	vsm_v1_ret_ctl = 1;
}

/* VTL 1 runs fn (a VTL call); 1 if it came back. */
int vsm_v1_run(const char *name, void (*fn)(void)) HIDDEN;
static int v1_do(const char *name, enum v1_op op, uint64_t arg);
int vsm_v1_run(const char *name, void (*fn)(void))
{
	v1_fn = fn;
	return v1_do(name, OP_FN, 0);
}

/* One VTL call in mode 0 with VTL 1 doing op; 1 if it came back. */
static int v1_do(const char *name, enum v1_op op, uint64_t arg)
{
	struct hc_regs r;
	v1_op = op;
	v1_arg = arg;
	vsm_v1_mode = 0;
	vsm_v1_ret_ctl = 1;
	int vec = vtl_call(&r, 0);
	return check_vec(name, vec, VEC_NONE);
}

static void checks_switch(void)
{
	uint32_t c0 = vsm_v1_count[0];
	struct hc_regs r;
	int vec = vtl_call(&r, 2); /* control input RsvdZ */
	check_vec("vsm.call.bad_control_ud", vec, VEC_UD);
	check_eq("vsm.call.bad_control_not_entered", vsm_v1_count[0], c0);
	uint64_t sint0 = rdmsr_raw(MSR_SINT0);
	if (!v1_do("vsm.call.first", OP_SETUP, 0))
		return;
	check_eq("vsm.vtl1.synic_sint0_initial", v1_res[3], 0x10000); /* TLFS 11.8.5: masked */
	check_eq("vsm.vtl1.synic_sint0_set", v1_res[4], V1_SINT0);
	check_eq("vsm.vtl0.synic_sint0_kept", rdmsr_raw(MSR_SINT0), sint0);
	check_eq("vsm.call.first_entered", vsm_v1_count[0], c0 + 1);
	check_eq("vsm.vtl1.guest_os_id_private", v1_res[0], 0);
	check_eq("vsm.vtl1.hypercall_msr_private", v1_res[1], 0);
	check_eq("vsm.vtl1.hypercall_msr_set", v1_res[2], pa(v1_hc_page) | HC_MSR_ENABLE);
	check("vsm.vtl0.guest_os_id_kept", rdmsr_raw(MSR_GUEST_OS_ID) != OS_ID + 1, "VTL 1's ID leaked");
	check("vsm.vtl0.hypercall_msr_kept", (rdmsr_raw(MSR_HYPERCALL) & ~0xfffull) == pa(page0),
	      "0x%lx", (unsigned long)rdmsr_raw(MSR_HYPERCALL));
	v1_reason = 0;
	if (v1_do("vsm.call.second", OP_NONE, 0))
		check_eq("vsm.call.entry_reason", v1_reason, 1); /* HvVtlEntryVtlCall */

	/* GPRs shared but RSP and the sequence's RAX/RCX; CR2, DR0, DR6,
	 * XMM0 shared (TLFS 15.11.2.2). Fast return: VTL 1's values stay. */
	__asm__ volatile("mov %0, %%dr6" : : "r"(0xffff0ff0ull));
	vsm_v1_mode = 1;
	vsm_v1_ret_ctl = 1;
	vsm_gpr_call(page0 + off_call);
	vsm_v1_mode = 0;
	int ok = vsm_v1_seen[0] == 0 && vsm_v1_seen[1] == 0x11;
	for (int i = 2; i < 16; i++)
		if (i != 4)
			ok &= vsm_v1_seen[i] == (0xA0A0A0A000000000ull | (uint64_t)i);
	check("vsm.gpr.seen_by_vtl1", ok, "RAX 0x%lx RCX 0x%lx RBX 0x%lx R15 0x%lx",
	      (unsigned long)vsm_v1_seen[0], (unsigned long)vsm_v1_seen[1],
	      (unsigned long)vsm_v1_seen[3], (unsigned long)vsm_v1_seen[15]);
	check("vsm.gpr.rsp_private", vsm_v1_seen[4] != vsm_v0_after[4], "both 0x%lx",
	      (unsigned long)vsm_v1_seen[4]);
	ok = vsm_v0_after[0] == 1 && vsm_v0_after[1] == 0x12;
	for (int i = 2; i < 16; i++)
		if (i != 4)
			ok &= vsm_v0_after[i] == (0xB0B0B0B000000000ull + (uint64_t)i);
	check("vsm.gpr.shared_fast_return", ok, "RAX 0x%lx RCX 0x%lx RBX 0x%lx R15 0x%lx",
	      (unsigned long)vsm_v0_after[0], (unsigned long)vsm_v0_after[1],
	      (unsigned long)vsm_v0_after[3], (unsigned long)vsm_v0_after[15]);
	check_eq("vsm.shared.cr2", vsm_v0_after[16], 0xB0B0B0B000000000ull + 15);
	check_eq("vsm.shared.dr0", vsm_v0_after[17], 0xB0B0B0B000000000ull + 16);
	check("vsm.shared.dr6", (vsm_v0_after[18] & 0x4001) == 0x4001, "DR6 0x%lx",
	      (unsigned long)vsm_v0_after[18]);
	check_eq("vsm.shared.xmm0", vsm_v0_after[19], 0xB0B0B0B000000000ull + 17);
	__asm__ volatile("mov %0, %%dr6; mov %1, %%dr0" : : "r"(0xffff0ff0ull), "r"(0ull));

	/* Not fast: RAX/RCX from VTL 1's VTL control area (TLFS 15.7.1.1). */
	if (v1_do("vsm.return.set_control", OP_SET_RET, 0)) {
		vsm_v1_mode = 1;
		vsm_v1_ret_ctl = 0;
		vsm_gpr_call(page0 + off_call);
		vsm_v1_mode = 0;
		check("vsm.return.control_area_rax_rcx",
		      vsm_v0_after[0] == 0x1111000000001111ull && vsm_v0_after[1] == 0x2222000000002222ull &&
		      vsm_v0_after[3] == 0xB0B0B0B000000003ull,
		      "RAX 0x%lx RCX 0x%lx RBX 0x%lx", (unsigned long)vsm_v0_after[0],
		      (unsigned long)vsm_v0_after[1], (unsigned long)vsm_v0_after[3]);
		__asm__ volatile("mov %0, %%dr6" : : "r"(0xffff0ff0ull));
	}
}

/* The private state of TLFS 15.11.1, register by register: VTL 1 sees
 * its own values (from its initial context, then what it wrote), VTL 0
 * keeps its own, over two rounds in which both change theirs. */
static void checks_private(void)
{
	uint64_t v0[P_COUNT], saved[P_COUNT], now[P_COUNT], v1_first[P_COUNT];
	char name[64];
	uint64_t flags = irq_save();
	priv_read(saved);
	for (int round = 0; round < 2; round++) {
		/* VTL 0's values for the round. */
		for (int i = 0; i < P_SYSCS; i++)
			wrmsr_raw(priv_msr[i], 0xFFFF800000A00000ull + (uint64_t)round * 0x1000 + (uint64_t)i * 0x10000);
		wrmsr_raw(MSR_STAR, 0x0013000800000000ull + round);
		wrmsr_raw(MSR_SFMASK, 0x300 + round);
		wrmsr_raw(MSR_SYSENTER_CS, 0x8 + round);
		if (have_tscaux)
			wrmsr_raw(MSR_TSC_AUX, 0x100 + round);
		priv_read(v0);
		if (!v1_do("vsm.private.call", OP_PRIV, (uint64_t)round + 1))
			break;
		priv_read(now);
		if (round == 0)
			for (int i = 0; i < P_COUNT; i++)
				v1_first[i] = v1_priv_seen[i];
		for (int i = 0; i < P_COUNT; i++) {
			if (i == P_TSCAUX && !have_tscaux)
				continue;
			fmt_name(name, sizeof(name), "vsm.private.%s.vtl0_kept_%d", priv_name[i], round);
			check(name, now[i] == v0[i], "VTL 0 had 0x%lx, has 0x%lx after VTL 1 wrote its own",
			      (unsigned long)v0[i], (unsigned long)now[i]);
			if (round == 1) {
				/* What VTL 1 wrote in round 0 is what it finds in round 1. */
				fmt_name(name, sizeof(name), "vsm.private.%s.vtl1_kept", priv_name[i]);
				check(name, v1_priv_seen[i] != v0[i] && v1_priv_seen[i] != v1_first[i],
				      "VTL 1 found 0x%lx (VTL 0 0x%lx, VTL 1 before 0x%lx)",
				      (unsigned long)v1_priv_seen[i], (unsigned long)v0[i], (unsigned long)v1_first[i]);
			}
		}
	}
	/* Back to the firmware's values. */
	for (int i = 0; i <= P_PAT; i++)
		wrmsr_raw(priv_msr[i], saved[i]);
	if (have_tscaux)
		wrmsr_raw(MSR_TSC_AUX, saved[P_TSCAUX]);
	irq_restore(flags);
}

/* A higher VTL reaching a lower VTL's private state (TLFS 15.15.1 input
 * VTL on HvGet/SetVpRegisters, HvTranslateVirtualAddress). */
static void checks_input_vtl(void)
{
	uint64_t lstar0 = rdmsr_raw(MSR_LSTAR), sfmask0 = rdmsr_raw(MSR_SFMASK);
	uint64_t flags = irq_save();
	wrmsr_raw(MSR_LSTAR, 0xFFFF800000ABC000ull);
	int ok = v1_do("vsm.input_vtl.call", OP_GETREG, 0x4700);
	uint64_t sf = rdmsr_raw(MSR_SFMASK);
	wrmsr_raw(MSR_LSTAR, lstar0);
	wrmsr_raw(MSR_SFMASK, sfmask0);
	irq_restore(flags);
	if (!ok)
		return;
	check("vsm.input_vtl.get_vtl0", (v1_res[0] & 0xffff) == 0 && v1_res[1] == 0xFFFF800000ABC000ull,
	      "RAX 0x%lx LSTAR 0x%lx", (unsigned long)v1_res[0], (unsigned long)v1_res[1]);
	/* VTL 0 waits after the VMCALL of the call sequence: at its RET. */
	check_eq("vsm.input_vtl.vtl0_rip", v1_res[2], pa(page0) + off_call + 11);
	check("vsm.input_vtl.get_own", (v1_res[3] & 0xffff) == 0 && v1_res[4] != 0xFFFF800000ABC000ull,
	      "RAX 0x%lx LSTAR 0x%lx", (unsigned long)v1_res[3], (unsigned long)v1_res[4]);
	check_eq("vsm.reg.vp_status_in_vtl1", v1_res[5], 1 | (3ull << 16));
	check_eq("vsm.input_vtl.set_vtl0_status", v1_res[6] & 0xffff, 0);
	check_eq("vsm.input_vtl.set_vtl0", sf, 0x4700);
	check("vsm.input_vtl.translate_vtl0", (v1_res[7] & 0xffff) == 0 && (v1_res[8] & 0xffffffff) == 0 &&
	      v1_res[9] == (pa(page0) >> 12),
	      "RAX 0x%lx result 0x%lx GPA page 0x%lx", (unsigned long)v1_res[7],
	      (unsigned long)v1_res[8], (unsigned long)v1_res[9]);
}

/* From VTL 1: the VP it runs on has VTL 1 already (TLFS 15.15.4). */
static void checks_enable_from_vtl1(const uint8_t *ctx)
{
	for (int i = 0; i < 16; i++)
		v1_buf[PAGE + i] = 0;
	*(uint64_t *)(v1_buf + PAGE) = PARTITION_SELF;
	*(uint32_t *)(v1_buf + PAGE + 8) = 0;
	v1_buf[PAGE + 12] = 1;
	for (int i = 0; i < 224; i++)
		v1_buf[PAGE + 16 + i] = ctx[i];
	if (v1_do("vsm.enable_vp.twice_from_vtl1", OP_ENABLE_VP, 0))
		check_eq("vsm.enable_vp.twice_from_vtl1", v1_res[0] & 0xffff, ST_BAD_VTL_STATE);
}

static uint64_t ap_cr8[64];
static void ap_tpr_high(unsigned int vp)
{
	ap_cr8[vp] = read_cr8();
	__asm__ volatile("mov %0, %%cr8" : : "r"(15ull));
}
static void ap_tpr_restore(unsigned int vp) { __asm__ volatile("mov %0, %%cr8" : : "r"(ap_cr8[vp])); }

/* TLFS 15.12.2: interrupts for VTL 1. VTL 0 may not send them (input VTL
 * above its own). VTL 1 sends one to itself and returns with RFLAGS.IF
 * clear: the VP comes straight back to VTL 1 (15.12.2.1), which takes it;
 * on other VPs, running VTL 0 with interrupts off, it preempts VTL 0. */
static void checks_interrupts(uint64_t others)
{
	struct hc_regs r;
	uint64_t w[2] = { CALL_SEND_IPI_VEC | (0x11ull << 32), 1 };
	call_words(&r, 0x000B, w, 2, 0);
	expect("vsm.ipi.from_vtl0_to_vtl1_denied", VEC_NONE, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	/* VTL 1's IDT: the firmware's gates, and the test vector's. */
	struct dtr fw;
	__asm__ volatile("sidt %0" : "=m"(fw));
	for (unsigned int i = 0; i < (VSM_SINT_VEC + 1) * 16; i++)
		v1_idt[i] = i <= fw.limit ? ((uint8_t *)(uintptr_t)fw.base)[i] : 0;
	uint64_t h = (uint64_t)(uintptr_t)vsm_v1_isr;
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	for (unsigned int v = CALL_SEND_IPI_VEC; v <= VSM_SINT_VEC; v++) {
		uint8_t *g = v1_idt + v * 16;
		*(uint16_t *)g = (uint16_t)h;
		*(uint16_t *)(g + 2) = cs;
		g[4] = 0;
		g[5] = 0x8E; /* present, DPL 0, 64-bit interrupt gate */
		*(uint16_t *)(g + 6) = (uint16_t)(h >> 16);
		*(uint32_t *)(g + 8) = (uint32_t)(h >> 32);
		*(uint32_t *)(g + 12) = 0;
	}

	uint32_t e0 = v1_irq_entries[0], c0 = vsm_v1_count[0];
	uint64_t t0 = v1_irqs_taken[0], cr8 = read_cr8();
	__asm__ volatile("mov %0, %%cr8" : : "r"(15ull));
	int ok = v1_do("vsm.ipi.self", OP_IPI, 1);
	__asm__ volatile("mov %0, %%cr8" : : "r"(cr8));
	if (ok) {
		check_eq("vsm.ipi.self.status", v1_res[0] & 0xffff, 0);
		check("vsm.ipi.self.back_to_vtl1", v1_irq_entries[0] == e0 + 1 && vsm_v1_count[0] == c0 + 2,
		      "%u interrupt entries, %u VTL 1 entries (want 1, 2)", v1_irq_entries[0] - e0,
		      vsm_v1_count[0] - c0);
		check_eq("vsm.ipi.self.taken", v1_irqs_taken[0] - t0, 1);
		check_eq("vsm.ipi.self.entry_reason", v1_reason, 2);
	}
	char name[64];
	for (uint32_t vp = 1; vp < 64; vp++) {
		if (!(others & (1ull << vp)))
			continue;
		/* The worker holds its physical interrupts off (TPR 15), as the
		 * BSP did above: VTL 1 opens RFLAGS.IF only for the test vector. */
		if (!apw_run(vp, ap_tpr_high))
			continue;
		uint32_t e = v1_irq_entries[vp];
		uint64_t t = v1_irqs_taken[vp];
		fmt_name(name, sizeof(name), "vsm.ipi.vp%u", vp);
		if (!v1_do(name, OP_IPI, 1ull << vp))
			continue;
		uint64_t t1 = rdtsc(), lim = apw_ticks(3000);
		while (v1_irq_entries[vp] == e && rdtsc() - t1 < lim)
			__asm__ volatile("pause");
		fmt_name(name, sizeof(name), "vsm.ipi.vp%u.preempts_vtl0", vp);
		check(name, (v1_res[0] & 0xffff) == 0 && v1_irq_entries[vp] == e + 1 && v1_irqs_taken[vp] == t + 1,
		      "status 0x%lx, %u interrupt entries, %lu taken", (unsigned long)v1_res[0],
		      v1_irq_entries[vp] - e, (unsigned long)(v1_irqs_taken[vp] - t));
		apw_run(vp, ap_tpr_restore);
	}
	vsm_sint_checks(others);
}

/* For checks_vsm_sint.c: VTL 1's interrupt entries (reason Interrupt) and
 * vectors taken on vp, and the last entry reason. */
void vsm_v1_irq_stats(uint32_t vp, uint32_t *entries, uint64_t *taken, uint32_t *reason) HIDDEN;
void vsm_v1_irq_stats(uint32_t vp, uint32_t *entries, uint64_t *taken, uint32_t *reason)
{
	*entries = v1_irq_entries[vp & 63];
	*taken = v1_irqs_taken[vp & 63];
	*reason = v1_reason;
}

/* For checks_vsm_sint.c: one VTL call from an AP worker (VTL 1 does what
 * vsm_v1_set_fn set). */
void vsm_ap_call_once(unsigned int vp) HIDDEN;
void vsm_ap_call_once(unsigned int vp)
{
	register uint64_t rcx __asm__("rcx") = 0;
	__asm__ volatile("call *%[seq]"
			 : "+r"(rcx)
			 : [seq] "r"(page0 + off_call)
			 : "memory", "rax", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "cc");
}

static void checks_many(void)
{
	uint32_t c0 = vsm_v1_count[0];
	struct hc_regs r;
	int bad = 0;
	v1_op = OP_NONE;
	vsm_v1_ret_ctl = 1;
	for (int i = 0; i < 2000 && !bad; i++)
		bad = vtl_call(&r, 0) != VEC_NONE;
	check("vsm.call.many", !bad && vsm_v1_count[0] == c0 + 2000, "%u entries of 2000",
	      vsm_v1_count[0] - c0);
}

/* Each AP: VTL calls on its own processor (the AP worker, checks_tlb.c). */
static volatile uint32_t ap_calls[64];
static void ap_vtl_calls(unsigned int vp)
{
	for (int i = 0; i < 100; i++) {
		register uint64_t rcx __asm__("rcx") = 0;
		__asm__ volatile("call *%[seq]"
				 : "+r"(rcx)
				 : [seq] "r"(page0 + off_call)
				 : "memory", "rax", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "cc");
		ap_calls[vp]++;
	}
}

static void checks_all_vps(uint32_t nvp)
{
	char name[64];
	struct hc_regs r;
	uint64_t mask = apw_start("vsm"), enabled = 0;
	if (!mask) {
		checks_interrupts(0);
		return;
	}
	for (uint32_t vp = 1; vp < nvp && vp < 64; vp++) {
		if (!(mask & (1ull << vp)))
			continue;
		EFI_PHYSICAL_ADDRESS stack = 0;
		uint8_t ctx[224];
		if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiBootServicesData, 2,
						&stack)) || !build_ctx(ctx, stack + 2 * PAGE - 8)) {
			check("vsm.allvp.setup", 0, "no stack or context");
			continue;
		}
		/* VTL 1 enables VTL 1 on the VP (TLFS 15.15.4). */
		for (int i = 0; i < 16; i++)
			v1_buf[PAGE + i] = 0;
		*(uint64_t *)(v1_buf + PAGE) = PARTITION_SELF;
		*(uint32_t *)(v1_buf + PAGE + 8) = vp;
		v1_buf[PAGE + 12] = 1;
		for (int i = 0; i < 224; i++)
			v1_buf[PAGE + 16 + i] = ctx[i];
		fmt_name(name, sizeof(name), "vsm.allvp.vp%u.enable_from_vtl1", vp);
		if (!v1_do(name, OP_ENABLE_VP, 0))
			continue;
		check_eq(name, v1_res[0] & 0xffff, 0);
		uint64_t v = 0;
		fmt_name(name, sizeof(name), "vsm.allvp.vp%u.status", vp);
		if (get_vtl(vp, 0, R_VSM_VP_STATUS, &v, &r))
			check_eq(name, v, 3ull << 16);
		else
			check(name, 0, "RAX 0x%lx", (unsigned long)r.rax);
		uint32_t before = vsm_v1_count[vp];
		ap_calls[vp] = 0;
		v1_op = OP_NONE;
		fmt_name(name, sizeof(name), "vsm.allvp.vp%u.calls", vp);
		int done = apw_run(vp, ap_vtl_calls);
		check(name, done && ap_calls[vp] == 100 && vsm_v1_count[vp] == before + 100,
		      "worker %s, %u calls, %u VTL 1 entries", done ? "answered" : "timed out", ap_calls[vp],
		      vsm_v1_count[vp] - before);
		if (done)
			enabled |= 1ull << vp;
	}
	if (enabled & 2) /* VP 1: a protection set on VP 0 reaches its TLB */
		vsm_prot_ap_checks(1, page0 + off_call);
	checks_interrupts(enabled); /* the workers idle in VTL 0, interrupts off */
	apw_stop("vsm");
}

void checks_vsm(void)
{
	if (!g_hc.page_ok) {
		ser_printf("  info: no hypercall page: no VSM checks\n");
		return;
	}
	page0 = (uint8_t *)(uintptr_t)(rdmsr_raw(MSR_HYPERCALL) & ~0xfffull);
	int offered = (g_hc.priv & PRIV_VSM) != 0;
	check("vsm.privileges", !offered || (g_hc.priv & (PRIV_VP_REGS | PRIV_SYNIC)) ==
	      (PRIV_VP_REGS | PRIV_SYNIC), "AccessVsm without AccessVpRegisters and AccessSynicRegs: 0x%lx",
	      (unsigned long)g_hc.priv);
	if (!offered) {
		ser_printf("  info: AccessVsm not offered\n");
		checks_not_offered();
		return;
	}
	UINTN nvp = 1;
	find_mp_services(&nvp, NULL);
	have_tscaux = (cpuid(0x80000001u, 0).edx >> 27) & 1;
	EFI_PHYSICAL_ADDRESS mem = 0, stack = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiBootServicesData, 4 + 64,
					&mem)) ||
	    EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiBootServicesData, 2, &stack))) {
		check("vsm.setup", 0, "AllocatePages failed");
		return;
	}
	uint8_t *m = (uint8_t *)(uintptr_t)mem;
	for (unsigned int i = 0; i < (4 + 64) * PAGE; i++)
		m[i] = 0;
	v1_hc_page = m;
	v1_buf = m + PAGE;
	for (int i = 0; i < 64; i++)
		v1_assist[i] = m + (4 + (unsigned int)i) * PAGE;
	v1_idt = m + 3 * PAGE;
	checks_discovery();
	vsm_v1_ret_addr = pa(v1_hc_page) + off_ret;
	uint8_t ctx[224];
	if (!build_ctx(ctx, stack + 2 * PAGE - 8)) {
		check("vsm.context", 0, "HvGetVpRegisters of the segments failed");
		return;
	}
	checks_enable(ctx, (uint32_t)nvp);
	checks_switch();
	checks_private();
	checks_input_vtl();
	checks_enable_from_vtl1(ctx);
	vsm_prot_checks();
	checks_many();
	if (nvp > 1)
		checks_all_vps((uint32_t)nvp);
	else
		checks_interrupts(0);
}
