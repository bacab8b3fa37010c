/*
 * checks_vsm_prot.c - VTL memory protections and secure intercepts (TLFS
 * 15.5.1, 15.9, 15.13, 15.15.2), run from checks_vsm.c once VTL 1 is
 * enabled on the BSP:
 *  - HvRegisterVsmPartitionConfig (EnableVtlProtection write-once, the
 *    default mask, reserved bits; no instance for VTL 0);
 *  - HvModifyVtlProtectionMask and every bad input: from VTL 0, before
 *    EnableVtlProtection, reserved MapFlags, write without read, a target
 *    VTL not below the caller, the partition, reserved bytes, a GPA beyond
 *    the GPA space, a GPA that is not RAM, a rep list failing half-way;
 *  - a VTL 0 write to a read-only page, execution of a no-execute page,
 *    a read of a no-access page (VTL 1's private memory): each never
 *    completes, VTL 1 is entered with reason Intercept (3) and finds
 *    HvMessageTypeGpaIntercept in its SINT0 slot (GPA, access type,
 *    RIP, instruction bytes, VP index, execution state); VTL 1 skips the
 *    instruction (VTL 0's RIP through HvSetVpRegisters) or relaxes the
 *    protection, and the access then completes.
 */
#include "hcall.h"
#include "px86.h"

#define CALL_MODIFY_PROT 0x000Cu
#define CALL_GET_REGS 0x0050u
#define CALL_SET_REGS 0x0051u
#define ST_BAD_VTL_STATE 0x51u
#define R_RIP 0x00020010u
#define R_VSM_PART_CONFIG 0x000D0007u
#define R_VSM_PART_STATUS_P 0x000D0004u
#define R_VSM_SECURE_CFG_VTL0 0x000D0010u /* HvRegisterVsmVpSecureConfigVtl0 */
#define R_LSTAR 0x00080009u
#define R_CR0 0x00040000u
#define R_CR4 0x00040003u
#define R_ICPT_CTL 0x000E0000u
#define R_ICPT_CR0_MASK 0x000E0001u
#define R_ICPT_CR4_MASK 0x000E0002u
#define MSR_LSTAR 0xC0000082u
#define ICPT_CR0 1ull
#define ICPT_CR4 2ull
#define ICPT_LSTAR (1ull << 6)
#define CR0_AM (1ull << 18)
#define CR4_TSD (1ull << 2)
#define MSR_SCONTROL 0x40000080u
#define MSR_SIMP 0x40000083u
#define MSR_EOM 0x40000084u
#define MSG_GPA_INTERCEPT 0x80000001u
#define CFG_ENABLE 1ull
#define CFG_MASK_ALL (0xfull << 1)
enum { M_R = 1, M_W = 2, M_KX = 4, M_UX = 8, M_ALL = 15 };

static inline void wrmsr_raw(uint32_t m, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(m), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

uint64_t vsm_v1_hypercall(uint64_t ctl, uint64_t in, uint64_t out) HIDDEN;
int vsm_v1_run(const char *name, void (*fn)(void)) HIDDEN;
void vsm_v1_set_fn(void (*fn)(void)) HIDDEN;
void vsm_prot_ap_checks(uint32_t vp, uint8_t *call_seq) HIDDEN;
void vsm_prot_checks(void) HIDDEN;
void vsm_prot_intercept(uint32_t vp, uint8_t *assist) HIDDEN;

/* mov [rdi], rsi (48 89 37); and mov rax, rsi; mov rax, [rdi] (48 8B 07 at
 * +3): the faulting instructions, at known addresses and lengths. */
void prot_store(uint64_t addr, uint64_t val) HIDDEN;
uint64_t prot_load(uint64_t addr, uint64_t sentinel) HIDDEN;
__asm__(".text\n"
	".globl prot_store\n.hidden prot_store\nprot_store:\n movq %rsi, (%rdi)\n ret\n"
	".globl prot_load\n.hidden prot_load\nprot_load:\n movq %rsi, %rax\n movq (%rdi), %rax\n ret\n"
	".globl icpt_wrmsr\n.hidden icpt_wrmsr\nicpt_wrmsr:\n movl %edi, %ecx\n movl %esi, %eax\n"
	" movq %rsi, %rdx\n shrq $32, %rdx\nicpt_wrmsr_insn:\n wrmsr\n ret\n"
	".globl icpt_wrmsr_insn\n.hidden icpt_wrmsr_insn\n"
	".globl icpt_cr0\n.hidden icpt_cr0\nicpt_cr0:\n movq %rdi, %cr0\n ret\n"
	".globl icpt_cr4\n.hidden icpt_cr4\nicpt_cr4:\n movq %rdi, %cr4\n ret\n");
/* wrmsr(ecx = msr, edx:eax = v) at icpt_wrmsr_insn; MOV CR0/CR4, RDI. */
void icpt_wrmsr(uint64_t msr, uint64_t v) HIDDEN;
extern char icpt_wrmsr_insn[] HIDDEN;
void icpt_cr0(uint64_t v) HIDDEN;
void icpt_cr4(uint64_t v) HIDDEN;

static uint8_t *mem;     /* 6 pages: VTL 1's SIMP, input, A (data), B (code), C (secret), spare */
#define V1_SIMP (mem)
#define V1_IN (mem + PAGE)
#define PG_A (mem + 2 * PAGE)
#define PG_B (mem + 3 * PAGE)
#define PG_C (mem + 4 * PAGE)

/* VTL 1's side: what the next VTL 1 work item does, and what it saw. */
enum { ACT_SKIP, ACT_RELAX };
static volatile int act;          /* how the intercept handler resolves */
static volatile uint64_t skip_len; /* ACT_SKIP: bytes to move VTL 0's RIP */
static volatile uint32_t n_intercepts, last_reason;
static uint8_t last_msg[256];
static volatile uint64_t res[16];
static volatile uint64_t arg_gpa[4], arg_flags, arg_vtl_byte, arg_count;

static uint64_t modify(uint32_t flags, uint8_t vtl_byte, const uint64_t *pages, uint32_t n, uint64_t pid)
{
	for (int i = 0; i < 16; i++)
		V1_IN[i] = 0;
	*(uint64_t *)V1_IN = pid;
	*(uint32_t *)(V1_IN + 8) = flags;
	V1_IN[12] = vtl_byte;
	for (uint32_t i = 0; i < n; i++)
		*(uint64_t *)(V1_IN + 16 + 8 * i) = pages[i];
	return vsm_v1_hypercall(CALL_MODIFY_PROT | HC_REPS(n), pa(V1_IN), 0);
}

static uint64_t to_vtl0(uint32_t flags, const void *page)
{
	uint64_t pg = pa(page) >> 12;
	return modify(flags, 0x10, &pg, 1, PARTITION_SELF);
}

/* HvSetVpRegisters / HvGetVpRegisters of one register, input VTL vtl_byte. */
static uint64_t v1_setreg(uint8_t vtl_byte, uint32_t reg, uint64_t v)
{
	for (int i = 0; i < 48; i++)
		V1_IN[i] = 0;
	*(uint64_t *)V1_IN = PARTITION_SELF;
	*(uint32_t *)(V1_IN + 8) = 0xFFFFFFFEu;
	V1_IN[12] = vtl_byte;
	*(uint32_t *)(V1_IN + 16) = reg;
	*(uint64_t *)(V1_IN + 32) = v;
	return vsm_v1_hypercall(CALL_SET_REGS | HC_REPS(1), pa(V1_IN), 0);
}
static uint64_t v1_getreg(uint32_t reg, uint64_t *v)
{
	for (int i = 0; i < 24; i++)
		V1_IN[i] = 0;
	*(uint64_t *)V1_IN = PARTITION_SELF;
	*(uint32_t *)(V1_IN + 8) = 0xFFFFFFFEu;
	*(uint32_t *)(V1_IN + 16) = reg;
	uint64_t st = vsm_v1_hypercall(CALL_GET_REGS | HC_REPS(1), pa(V1_IN), pa(V1_IN + 2048));
	*v = *(uint64_t *)(V1_IN + 2048);
	return st;
}

/* Two registers of VTL 0 at once: name0 = v0 (the intercepted write done
 * for it), then RIP. */
static uint64_t v1_setreg2(uint32_t name0, uint64_t v0, uint64_t rip)
{
	for (int i = 0; i < 80; i++)
		V1_IN[i] = 0;
	*(uint64_t *)V1_IN = PARTITION_SELF;
	*(uint32_t *)(V1_IN + 8) = 0xFFFFFFFEu;
	V1_IN[12] = 0x10;
	*(uint32_t *)(V1_IN + 16) = name0;
	*(uint64_t *)(V1_IN + 32) = v0;
	*(uint32_t *)(V1_IN + 48) = R_RIP;
	*(uint64_t *)(V1_IN + 64) = rip;
	return vsm_v1_hypercall(CALL_SET_REGS | HC_REPS(2), pa(V1_IN), 0);
}

#define MSG_REGISTER_INTERCEPT 0x80010006u
#define MSG_MSR_INTERCEPT 0x80010001u
enum { ACT_ALLOW = 2 };

/* A register or MSR intercept (TLFS 15.13.4): skip the instruction, or
 * do the write for VTL 0 and skip it. */
static void v1_reg_intercept(uint32_t type)
{
	uint64_t rip = *(uint64_t *)(last_msg + 16 + 24);
	uint8_t len = last_msg[16 + 4] & 0xf;
	uint32_t name = type == MSG_MSR_INTERCEPT ? R_LSTAR : *(uint32_t *)(last_msg + 16 + 44);
	uint64_t v = type == MSG_MSR_INTERCEPT
		? (*(uint64_t *)(last_msg + 16 + 48) << 32) | (uint32_t)*(uint64_t *)(last_msg + 16 + 56)
		: *(uint64_t *)(last_msg + 16 + 48);
	if (act == ACT_ALLOW)
		res[8] = v1_setreg2(name, v, rip + len);
	else
		res[8] = v1_setreg(0x10, R_RIP, rip + len);
}

/* VTL 1 (entry reason 3): the message in SINT0's slot of its SIMP; the
 * slot freed (TLFS 11.9: MessageType 0, then EOM); then the resolution. */
#define AP_SIMP (mem + 5 * PAGE) /* VP 1's VTL 1 SIMP (vsm_prot_ap_checks) */
/* checks_busy_slot: the next intercept finds SINT0's slot holding an
 * unread message (BUSY_TYPE, VTL 1 put it there); what VTL 1 saw then. */
#define BUSY_TYPE 0x7ABCu
static volatile int busy_test;
static volatile uint32_t busy_type, busy_flags, busy_freed_type;
void vsm_prot_intercept(uint32_t vp, uint8_t *assist)
{
	volatile uint8_t *slot = vp == 0 ? V1_SIMP : AP_SIMP;
	if (busy_test) {
		/* TLFS 11.10.3: the old message stays, with MessagePending; the
		 * new one comes once the slot is free and EOM written. */
		busy_test = 0;
		busy_type = *(volatile uint32_t *)slot;
		busy_flags = slot[5];
		*(volatile uint32_t *)slot = 0;
		busy_freed_type = *(volatile uint32_t *)slot; /* no EOM yet: still empty */
		wrmsr_raw(MSR_EOM, 0);
	}
	for (int i = 0; i < 256; i++)
		last_msg[i] = slot[i];
	last_reason = *(volatile uint32_t *)(assist + 8);
	*(volatile uint32_t *)slot = 0;
	wrmsr_raw(MSR_EOM, 0);
	n_intercepts++;
	uint32_t type = *(uint32_t *)last_msg;
	if (type == MSG_REGISTER_INTERCEPT || type == MSG_MSR_INTERCEPT) {
		v1_reg_intercept(type);
		return;
	}
	uint64_t gpa = *(uint64_t *)(last_msg + 16 + 56), rip = *(uint64_t *)(last_msg + 16 + 24);
	if (act == ACT_RELAX) {
		uint64_t pg = gpa >> 12;
		res[8] = modify(M_ALL, 0x10, &pg, 1, PARTITION_SELF);
	} else {
		res[8] = v1_setreg(0x10, R_RIP, rip + skip_len);
	}
}

/* ---- VTL 1 work items -------------------------------------------------- */

static void v1_synic_on(void)
{
	wrmsr_raw(MSR_SIMP, pa(V1_SIMP) | 1);
	wrmsr_raw(MSR_SCONTROL, 1);
}

/* Before EnableVtlProtection, then the register's checks, then enabled. */
static void v1_config(void)
{
	uint64_t v = 1;
	res[0] = to_vtl0(M_R, PG_A);                              /* not enabled yet */
	res[1] = v1_getreg(R_VSM_PART_CONFIG, &v);
	res[2] = v;
	res[3] = v1_setreg(0, R_VSM_PART_CONFIG, CFG_ENABLE | (1ull << 1)); /* default R only */
	res[4] = v1_setreg(0, R_VSM_PART_CONFIG, CFG_ENABLE | CFG_MASK_ALL | (1ull << 6));
	res[5] = v1_setreg(0, R_VSM_PART_CONFIG, CFG_ENABLE | CFG_MASK_ALL);
	res[6] = v1_getreg(R_VSM_PART_CONFIG, &v);
	res[7] = v;
	res[9] = v1_setreg(0, R_VSM_PART_CONFIG, CFG_MASK_ALL);   /* write-once */
	res[10] = v1_setreg(0, R_VSM_PART_CONFIG, CFG_ENABLE | (0x7ull << 1)); /* fixed once set */
}

/* HvRegisterVsmVpSecureConfigVtl0 (TLFS 15.5.2), VTL 1's for VTL 0. */
static void v1_secure_cfg(void)
{
	uint64_t v = 0xdead, ps = 0;
	res[0] = v1_getreg(R_VSM_SECURE_CFG_VTL0, &v);
	res[1] = v;
	res[2] = v1_setreg(0, R_VSM_SECURE_CFG_VTL0, 2);          /* TlbLocked: not offered */
	res[3] = v1_setreg(0, R_VSM_SECURE_CFG_VTL0, 1ull << 2);  /* reserved */
	res[4] = v1_setreg(0, R_VSM_SECURE_CFG_VTL0, 1);          /* MbecEnabled */
	v1_getreg(R_VSM_PART_STATUS_P, &ps);
	res[5] = (ps >> 21) & 1;                                  /* MBEC on for VTL 1 */
	v = 0xdead;
	res[6] = v1_getreg(R_VSM_SECURE_CFG_VTL0, &v);
	res[7] = v;
	res[9] = v1_setreg(0, R_VSM_SECURE_CFG_VTL0, 0);
	v = 0xdead;
	v1_getreg(R_VSM_SECURE_CFG_VTL0, &v);
	res[10] = v;
	res[11] = v1_getreg(R_VSM_SECURE_CFG_VTL0 + 1, &v);      /* no instance for VTL 1 */
}

static void checks_secure_cfg(void)
{
	if (!vsm_v1_run("vsm.secure_cfg.call", v1_secure_cfg))
		return;
	check_eq("vsm.secure_cfg.read", res[0] & 0xffff, 0);
	check_eq("vsm.secure_cfg.initial_zero", res[1], 0);
	check_eq("vsm.secure_cfg.tlb_locked_not_offered", res[2] & 0xffff, ST_BAD_PARAM);
	check_eq("vsm.secure_cfg.reserved", res[3] & 0xffff, ST_BAD_PARAM);
	/* MbecEnabled only with MBEC for the partition (TLFS 15.10.2); none of
	 * our emulators has MBEC: there it is refused and stays 0. */
	check_eq("vsm.secure_cfg.mbec_enabled", res[4] & 0xffff, res[5] ? 0 : ST_BAD_PARAM);
	check_eq("vsm.secure_cfg.mbec_read_back", res[7], res[5] ? 1 : 0);
	check_eq("vsm.secure_cfg.write_zero", res[9] & 0xffff, 0);
	check_eq("vsm.secure_cfg.zero_read_back", res[10], 0);
	check_eq("vsm.secure_cfg.vtl1_instance_absent", res[11] & 0xffff, ST_BAD_PARAM);
	/* VTL 0 has no instance (only higher VTLs configure lower ones). */
	struct hc_regs r;
	for (int i = 0; i < 24; i++)
		P_IN[i] = 0;
	*(uint64_t *)P_IN = PARTITION_SELF;
	*(uint32_t *)(P_IN + 8) = 0xFFFFFFFEu;
	*(uint32_t *)(P_IN + 16) = R_VSM_SECURE_CFG_VTL0;
	int vec = call_slow(&r, CALL_GET_REGS | HC_REPS(1), pa(P_IN), pa(P_OUT));
	expect("vsm.secure_cfg.from_vtl0", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
}

/* Every bad input (TLFS 15.15.2). */
static void v1_bad_inputs(void)
{
	uint64_t a = pa(PG_A) >> 12;
	res[0] = modify(M_R | 0x10, 0x10, &a, 1, PARTITION_SELF);   /* reserved MapFlags */
	res[1] = modify(M_W, 0x10, &a, 1, PARTITION_SELF);          /* write without read */
	res[2] = modify(M_R, 0x11, &a, 1, PARTITION_SELF);          /* VTL 1 on itself */
	res[3] = modify(M_R, 0x00, &a, 1, PARTITION_SELF);          /* no target: the caller's */
	res[4] = modify(M_R, 0x10, &a, 1, 0x1234);                  /* partition */
	res[5] = modify(M_R, 0x30, &a, 1, PARTITION_SELF);          /* HV_INPUT_VTL reserved bit */
	uint64_t beyond = 1ull << 51;
	res[6] = modify(M_R, 0x10, &beyond, 1, PARTITION_SELF);     /* beyond the GPA space */
	uint64_t mmio = 0xFEC00;                                    /* the I/O APIC: not RAM */
	res[7] = modify(M_R, 0x10, &mmio, 1, PARTITION_SELF);
	uint64_t list[2] = { a, beyond };
	res[8] = modify(M_R, 0x10, list, 2, PARTITION_SELF);        /* element 1 fails */
	res[9] = modify(M_ALL, 0x10, &a, 1, PARTITION_SELF);        /* back to full access */
	*(uint64_t *)(V1_IN + 0) = PARTITION_SELF;
	V1_IN[13] = 1;                                              /* RsvdZ */
	res[10] = vsm_v1_hypercall(CALL_MODIFY_PROT | HC_REPS(1), pa(V1_IN), 0);
}

static void v1_protect(void)
{
	res[0] = 0;
	for (uint64_t i = 0; i < arg_count; i++) {
		uint64_t pg = arg_gpa[i] >> 12;
		uint64_t r = modify((uint32_t)arg_flags, 0x10, &pg, 1, PARTITION_SELF);
		if (r & 0xffff)
			res[0] = r;
	}
	res[1] = *(volatile uint64_t *)PG_C; /* VTL 1 reads what VTL 0 may not */
}

static int protect(const char *name, uint32_t flags, const void *p0, const void *p1)
{
	arg_flags = flags;
	arg_gpa[0] = pa(p0);
	arg_gpa[1] = pa(p1);
	arg_count = p1 ? 2 : 1;
	if (!vsm_v1_run(name, v1_protect))
		return 0;
	return check(name, (res[0] & 0xffff) == 0, "status 0x%lx", (unsigned long)res[0]);
}

/* ---- VTL 0 ---------------------------------------------------------------- */

static uint64_t msg64(unsigned int off) { return *(uint64_t *)(last_msg + 16 + off); }

/* The message of the last intercept (TLFS 11.10.3 header, 13.2.2). */
static void check_msg(const char *pfx, uint8_t access, uint64_t gpa, uint64_t rip)
{
	char name[64];
	fmt_name(name, sizeof(name), "%s.message_type", pfx);
	check_eq(name, *(uint32_t *)last_msg, MSG_GPA_INTERCEPT);
	fmt_name(name, sizeof(name), "%s.entry_reason", pfx);
	check_eq(name, last_reason, 3);
	fmt_name(name, sizeof(name), "%s.header", pfx);
	check(name, last_msg[4] == 80 && *(uint32_t *)(last_msg + 16) == 0 && last_msg[16 + 5] == access,
	      "payload size %u, VP %u, access type %u (want 80, 0, %u)", last_msg[4],
	      *(uint32_t *)(last_msg + 16), last_msg[16 + 5], access);
	fmt_name(name, sizeof(name), "%s.gpa", pfx);
	check_eq(name, msg64(56), gpa);
	fmt_name(name, sizeof(name), "%s.rip", pfx);
	check_eq(name, msg64(24), rip);
	uint16_t es = *(uint16_t *)(last_msg + 16 + 6);
	fmt_name(name, sizeof(name), "%s.execution_state", pfx);
	check(name, (es & 3) == 0 && (es & 4) && (es & 16), "0x%x: want CPL 0, CR0.PE, EFER.LMA", es);
	fmt_name(name, sizeof(name), "%s.instruction_bytes", pfx);
	const uint8_t *want = (const uint8_t *)(uintptr_t)rip;
	uint8_t n = last_msg[16 + 44];
	int same = n >= 3 && n <= 16;
	for (int i = 0; same && i < 3; i++)
		same = last_msg[16 + 64 + i] == want[i];
	check(name, same, "%u bytes: %02x %02x %02x", n, last_msg[80], last_msg[81], last_msg[82]);
}

static void checks_config(void)
{
	struct hc_regs r;
	/* From VTL 0: no protections (TLFS 15.9.1: a VTL protects lower VTLs). */
	for (int i = 0; i < 24; i++)
		P_IN[i] = 0;
	*(uint64_t *)P_IN = PARTITION_SELF;
	*(uint32_t *)(P_IN + 8) = M_R;
	P_IN[12] = 0x10;
	*(uint64_t *)(P_IN + 16) = pa(PG_A) >> 12;
	int vec = call_slow(&r, CALL_MODIFY_PROT | HC_REPS(1), pa(P_IN), 0);
	expect("vsm.prot.from_vtl0_denied", vec, &r, ST_ACCESS_DENIED, 0, NULL, 0, 0);
	/* VTL 0 has no HvRegisterVsmPartitionConfig. */
	*(uint32_t *)(P_IN + 8) = 0xFFFFFFFEu;
	P_IN[12] = 0;
	*(uint32_t *)(P_IN + 16) = R_VSM_PART_CONFIG;
	vec = call_slow(&r, CALL_GET_REGS | HC_REPS(1), pa(P_IN), pa(P_OUT));
	expect("vsm.config.vtl0_has_none", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);

	if (!vsm_v1_run("vsm.config.call", v1_config))
		return;
	check_eq("vsm.prot.before_enable_protection", res[0] & 0xffff, ST_BAD_VTL_STATE);
	check("vsm.config.initial", (res[1] & 0xffff) == 0 && res[2] == 0, "status 0x%lx value 0x%lx",
	      (unsigned long)res[1], (unsigned long)res[2]);
	check_eq("vsm.config.restrictive_default_refused", res[3] & 0xffff, ST_BAD_PARAM);
	check_eq("vsm.config.deny_lower_startup_refused", res[4] & 0xffff, ST_BAD_PARAM);
	check_eq("vsm.config.enable", res[5] & 0xffff, 0);
	check("vsm.config.read_back", (res[6] & 0xffff) == 0 && res[7] == (CFG_ENABLE | CFG_MASK_ALL),
	      "status 0x%lx value 0x%lx", (unsigned long)res[6], (unsigned long)res[7]);
	check_eq("vsm.config.enable_write_once", res[9] & 0xffff, ST_BAD_PARAM);
	check_eq("vsm.config.default_mask_fixed", res[10] & 0xffff, ST_BAD_PARAM);
}

static void checks_bad_inputs(void)
{
	if (!vsm_v1_run("vsm.prot.bad.call", v1_bad_inputs))
		return;
	check_eq("vsm.prot.bad.reserved_flags", res[0] & 0xffff, ST_BAD_PARAM);
	check_eq("vsm.prot.bad.write_without_read", res[1] & 0xffff, ST_BAD_PARAM);
	check_eq("vsm.prot.bad.target_not_lower", res[2] & 0xffff, ST_BAD_PARAM);
	check_eq("vsm.prot.bad.target_own_vtl", res[3] & 0xffff, ST_BAD_PARAM);
	check_eq("vsm.prot.bad.partition", res[4] & 0xffff, ST_BAD_PARTITION);
	check_eq("vsm.prot.bad.input_vtl_reserved", res[5] & 0xffff, ST_BAD_PARAM);
	check_eq("vsm.prot.bad.beyond_gpa_space", res[6] & 0xfff0000ffffull, ST_BAD_PARAM);
	check_eq("vsm.prot.bad.not_ram", res[7] & 0xffff, ST_BAD_PARAM);
	/* RAX 43:32: the reps completed (TLFS 3.7.3). */
	check_eq("vsm.prot.bad.rep_half_way", res[8] & 0xfff0000ffffull, ST_BAD_PARAM | (1ull << 32));
	check_eq("vsm.prot.restore_full", res[9] & 0xffff, 0);
	check_eq("vsm.prot.bad.reserved_bytes", res[10] & 0xffff, ST_BAD_PARAM);
}

/* TLFS 15.9: VTL 0 cannot have the hypervisor read or write for it what
 * VTL 1 denies it: HvGetVpRegisters(HvRegisterVsmVpStatus) with its input
 * or output in a protected page is ACCESS_DENIED, and nothing is written. */
static void param_case(const char *name, const void *in, void *out)
{
	struct hc_regs r;
	uint8_t *i = (uint8_t *)in;
	uint32_t n0 = n_intercepts;
	if (i != PG_C) { /* a readable page: the input is written before it */
		for (int k = 0; k < 24; k++)
			i[k] = 0;
		*(uint64_t *)i = PARTITION_SELF;
		*(uint32_t *)(i + 8) = 0xFFFFFFFEu;
		*(uint32_t *)(i + 16) = 0x000D0003u; /* HvRegisterVsmVpStatus */
	}
	int vec = call_slow(&r, CALL_GET_REGS | HC_REPS(1), pa(in), pa(out));
	expect(name, vec, &r, ST_ACCESS_DENIED, 0, NULL, 0, 0);
	char nm[64];
	fmt_name(nm, sizeof(nm), "%s.no_intercept", name);
	check_eq(nm, n_intercepts, n0);
}

/* A write to a read-only page: skipped by VTL 1, then relaxed. */
static void checks_write(void)
{
	volatile uint64_t *a = (volatile uint64_t *)(PG_A + 8);
	*a = 0x1111;
	if (!protect("vsm.prot.write.protect", M_R | M_KX, PG_A, NULL))
		return;
	uint32_t n0 = n_intercepts;
	check_eq("vsm.prot.read_allowed", *a, 0x1111);
	check_eq("vsm.prot.read_no_intercept", n_intercepts, n0);
	param_case("vsm.prot.hcall_output_read_only", P_IN, (void *)(PG_A + 256));
	check_eq("vsm.prot.hcall_output_not_written", *(volatile uint64_t *)(PG_A + 256), 0);
	n0 = n_intercepts;
	act = ACT_SKIP;
	skip_len = 3;
	int vec = trap_call(pa(prot_store), (uint64_t)(uintptr_t)a, 0x5555);
	check_vec("vsm.prot.write.no_fault", vec, VEC_NONE);
	check_eq("vsm.prot.write.intercepted", n_intercepts, n0 + 1);
	check_eq("vsm.prot.write.not_completed", *a, 0x1111);
	check_eq("vsm.intercept.skip_status", res[8] & 0xffff, 0);
	check_msg("vsm.intercept.write", 1, (uint64_t)(uintptr_t)a, pa(prot_store));
	act = ACT_RELAX;
	vec = trap_call(pa(prot_store), (uint64_t)(uintptr_t)a, 0x6666);
	check_vec("vsm.prot.relax.no_fault", vec, VEC_NONE);
	check_eq("vsm.prot.relax.intercepted", n_intercepts, n0 + 2);
	check_eq("vsm.intercept.relax_status", res[8] & 0xffff, 0);
	check_eq("vsm.prot.relax.write_completes", *a, 0x6666);
	vec = trap_call(pa(prot_store), (uint64_t)(uintptr_t)a, 0x7777);
	check("vsm.prot.relax.no_more_intercepts", vec == VEC_NONE && n_intercepts == n0 + 2 && *a == 0x7777,
	      "%s, %u intercepts, value 0x%lx", vec_name(vec), n_intercepts - n0, (unsigned long)*a);
}

/* VTL 1 leaves a message of its own unread in SINT0's slot. */
static void v1_fill_slot(void)
{
	for (int i = 0; i < 256; i++)
		V1_SIMP[i] = 0;
	V1_SIMP[4] = 8; /* payload size */
	*(volatile uint32_t *)V1_SIMP = BUSY_TYPE;
}

static void v1_slot_type(void) { res[5] = *(volatile uint32_t *)V1_SIMP; }

/* TLFS 11.10.3, 15.13: a secure intercept that finds SINT0's slot busy is
 * not lost: the slot gets MessagePending, VTL 1 is entered (reason
 * Intercept) and, once it frees the slot and writes EOM, finds the
 * intercept message there. */
static void checks_busy_slot(void)
{
	volatile uint64_t *a = (volatile uint64_t *)(PG_A + 16);
	*a = 0x2222;
	if (!protect("vsm.intercept.busy_slot.protect", M_R | M_KX, PG_A, NULL) ||
	    !vsm_v1_run("vsm.intercept.busy_slot.fill", v1_fill_slot))
		return;
	uint32_t n0 = n_intercepts;
	for (int i = 0; i < 256; i++)
		last_msg[i] = 0;
	act = ACT_SKIP;
	skip_len = 3;
	busy_test = 1;
	int vec = trap_call(pa(prot_store), (uint64_t)(uintptr_t)a, 0x5555);
	check_vec("vsm.intercept.busy_slot.no_fault", vec, VEC_NONE);
	check_eq("vsm.intercept.busy_slot.intercepted", n_intercepts, n0 + 1);
	check_eq("vsm.intercept.busy_slot.old_message_kept", busy_type, BUSY_TYPE);
	check_eq("vsm.intercept.busy_slot.message_pending_flag", busy_flags & 1, 1);
	check_eq("vsm.intercept.busy_slot.waits_for_eom", busy_freed_type, 0);
	check_msg("vsm.intercept.busy_slot", 1, (uint64_t)(uintptr_t)a, pa(prot_store));
	check_eq("vsm.intercept.busy_slot.not_completed", *a, 0x2222);
	check_eq("vsm.intercept.busy_slot.skip_status", res[8] & 0xffff, 0);
	protect("vsm.intercept.busy_slot.restore", M_ALL, PG_A, NULL);
	/* Read in VTL 1: its SIMP is not in VTL 0's view (TLFS 15.11). */
	res[5] = ~0ull;
	if (vsm_v1_run("vsm.intercept.busy_slot.read_slot", v1_slot_type))
		check_eq("vsm.intercept.busy_slot.slot_empty_after", res[5], 0);
}

/* Execution of a no-execute page: relaxed by VTL 1, then it runs. */
static void checks_exec(void)
{
	PG_B[0] = 0xC3; /* ret */
	if (!protect("vsm.prot.exec.protect", M_R | M_W, PG_B, NULL))
		return;
	uint32_t n0 = n_intercepts;
	check_eq("vsm.prot.exec.data_read_allowed", PG_B[0], 0xC3);
	act = ACT_RELAX;
	int vec = trap_call(pa(PG_B), 0, 0);
	check_vec("vsm.prot.exec.no_fault", vec, VEC_NONE);
	check_eq("vsm.prot.exec.intercepted", n_intercepts, n0 + 1);
	check_msg("vsm.intercept.exec", 2, pa(PG_B), pa(PG_B));
}

/* MBEC's two execute rights from kernel mode (TLFS 15.10): kernel-execute
 * only runs at CPL 0 without an intercept, with or without MBEC; user-
 * execute only stops CPL 0 (with MBEC: EPT bit 2 clear, bit 10 set;
 * without: UserExecutable is ignored, no execution at all). */
static void checks_exec_modes(void)
{
	PG_B[0] = 0xC3; /* ret */
	if (!protect("vsm.prot.exec_kx.protect", M_R | M_W | M_KX, PG_B, NULL))
		return;
	uint32_t n0 = n_intercepts;
	act = ACT_RELAX;
	int vec = trap_call(pa(PG_B), 0, 0);
	check("vsm.prot.exec_kx.kernel_runs", vec == VEC_NONE && n_intercepts == n0,
	      "%s, %u intercepts", vec_name(vec), n_intercepts - n0);
	if (!protect("vsm.prot.exec_ux.protect", M_R | M_W | M_UX, PG_B, NULL))
		return;
	n0 = n_intercepts;
	act = ACT_RELAX;
	vec = trap_call(pa(PG_B), 0, 0);
	check("vsm.prot.exec_ux.kernel_intercepted", vec == VEC_NONE && n_intercepts == n0 + 1,
	      "%s, %u intercepts", vec_name(vec), n_intercepts - n0);
	check_msg("vsm.intercept.exec_ux", 2, pa(PG_B), pa(PG_B));
}

/* CPL 3 on a page with one execute right (TLFS 15.10). UD2 at PG_B+16:
 * the run ends in #UD at CPL 3 once the fetch is allowed. With MBEC
 * (MbecVtlMask has VTL 1, enabled with EnableMbec) kernel-execute only
 * stops user mode: an execute intercept with CPL 3 in the message, VTL 1
 * relaxes, the UD2 runs; user-execute only lets it run at once. Without
 * MBEC UserExecutable is ignored: the reverse. Note: the run clears
 * CR4.SMEP, where TLFS 15.10.3 (3) lets KMX govern; the EPT split applies
 * regardless here (docs/vsm.md). */
static void user_case(const char *pfx, uint32_t flags, int want_icpt)
{
	char name[64];
	PG_B[16] = 0x0F;
	PG_B[17] = 0x0B; /* ud2 */
	fmt_name(name, sizeof(name), "%s.protect", pfx);
	if (!protect(name, flags, PG_B, NULL))
		return;
	uint32_t n0 = n_intercepts;
	act = ACT_RELAX;
	struct hc_regs r = { 0 };
	const char *why = "";
	uint64_t rip = pa(PG_B) + 16;
	int vec = hc_run_cpl3(rip, &r, &why);
	fmt_name(name, sizeof(name), "%s.runs_to_ud2", pfx);
	check(name, vec == VEC_UD && hc_fault[2] == rip && (hc_fault[3] & 3) == 3,
	      "%s: %s at 0x%lx cs 0x%lx", vec == -2 ? why : "CPL 3 run", vec_name(vec),
	      (unsigned long)hc_fault[2], (unsigned long)hc_fault[3]);
	fmt_name(name, sizeof(name), "%s.%s", pfx, want_icpt ? "intercepted" : "no_intercept");
	check_eq(name, n_intercepts - n0, (uint64_t)want_icpt);
	if (want_icpt && n_intercepts == n0 + 1) {
		uint16_t es = *(uint16_t *)(last_msg + 16 + 6);
		fmt_name(name, sizeof(name), "%s.message", pfx);
		check(name, *(uint32_t *)last_msg == MSG_GPA_INTERCEPT && last_reason == 3 &&
		      last_msg[16 + 5] == 2 && msg64(56) == rip && msg64(24) == rip && (es & 3) == 3,
		      "type 0x%x reason %u access %u gpa 0x%lx rip 0x%lx state 0x%x (want execute, CPL 3)",
		      *(uint32_t *)last_msg, last_reason, last_msg[16 + 5], (unsigned long)msg64(56),
		      (unsigned long)msg64(24), es);
	}
	fmt_name(name, sizeof(name), "%s.restore", pfx);
	protect(name, M_ALL, PG_B, NULL);
}

static void checks_exec_user(void)
{
	int mbec = (g_vsm_mbec & 2) != 0;
	user_case("vsm.mbec.user_on_kx", M_R | M_W | M_KX, mbec);
	user_case("vsm.mbec.user_on_ux", M_R | M_W | M_UX, !mbec);
}

/* VTL 1's private page: VTL 0 cannot read it (the load is skipped). */
static void checks_private_page(void)
{
	*(volatile uint64_t *)PG_C = 0x5EC2E75EC2E7ull;
	if (!protect("vsm.prot.private.protect", 0, PG_C, NULL))
		return;
	check_eq("vsm.prot.private.vtl1_reads", res[1], 0x5EC2E75EC2E7ull);
	param_case("vsm.prot.hcall_input_no_access", PG_C, P_OUT);
	uint32_t n0 = n_intercepts;
	act = ACT_SKIP;
	skip_len = 3;
	uint64_t got = prot_load(pa(PG_C), 0xD00D);
	check_eq("vsm.prot.private.unreadable_from_vtl0", got, 0xD00D);
	check_eq("vsm.prot.private.intercepted", n_intercepts, n0 + 1);
	check_msg("vsm.intercept.read", 0, pa(PG_C), pa(prot_load) + 3);
	/* A store is stopped too; then back to full access. */
	int vec = trap_call(pa(prot_store), pa(PG_C), 0xBAD);
	check("vsm.prot.private.write_stopped", vec == VEC_NONE && n_intercepts == n0 + 2,
	      "%s, %u intercepts", vec_name(vec), n_intercepts - n0);
	protect("vsm.prot.restore", M_ALL, PG_C, PG_B);
	check_eq("vsm.prot.private.kept", *(volatile uint64_t *)PG_C, 0x5EC2E75EC2E7ull);
}

/* ---- overlays per VTL (TLFS 15.11: VTL 1's SynIC is its own) -------------
 * VTL 1's SIMP is at V1_SIMP, a page of VTL 0's RAM: VTL 1 sees its SIMP
 * there, VTL 0 its RAM (a message for VTL 1 never shows in VTL 0's view). */
#define OV_MARK0 0x0bad5eed0000ab00ull
#define OV_MARK1 0x5ec0000000001cedull
static void v1_simp_peek(void)
{
	res[2] = *(volatile uint64_t *)(V1_SIMP + 2048); /* SINT 8's slot: nothing posted */
	*(volatile uint64_t *)(V1_SIMP + 2056) = OV_MARK1;
	res[3] = *(volatile uint64_t *)(V1_SIMP + 2056);
}

static void checks_overlay_per_vtl(void)
{
	volatile uint64_t *ram = (volatile uint64_t *)(V1_SIMP + 2048);
	ram[0] = OV_MARK0;
	ram[1] = 0;
	if (!vsm_v1_run("vsm.overlay.vtl1_peek", v1_simp_peek))
		return;
	check("vsm.overlay.vtl1_sees_its_simp", res[2] == 0 && res[3] == OV_MARK1,
	      "VTL 1 read 0x%lx at its SIMP (expected 0, not VTL 0's 0x%lx) and 0x%lx back",
	      (unsigned long)res[2], (unsigned long)OV_MARK0, (unsigned long)res[3]);
	check("vsm.overlay.vtl0_sees_its_ram", ram[0] == OV_MARK0 && ram[1] == 0,
	      "VTL 0 read 0x%lx 0x%lx at VTL 1's SIMP GPA: expected its own 0x%lx and 0, not VTL 1's 0x%lx",
	      (unsigned long)ram[0], (unsigned long)ram[1], (unsigned long)OV_MARK0,
	      (unsigned long)OV_MARK1);
}

/* ---- VTL 0 as a nested hypervisor (nested=on, docs/nested.md "VSM") ------
 * L2's accesses are VTL 0's (TLFS 15.9: the protections hold for all VTL 0
 * runs): a page VTL 1 took from VTL 0 is out of L2's reach however L1
 * maps it. hv.efi refuses it like its own memory, #GP(0) into L2 (L1
 * intercepts #GP), not a secure intercept (docs/vsm.md says why). L1 maps
 * L2 GPA 0x5000 to PG_C; checks_nested_svm.c / checks_nested_vmx.c run L2. */
uint32_t nested_svm_read_gpa(uint64_t gpa, uint8_t tlb, uint32_t *val);
uint32_t nested_vmx_read_gpa(uint64_t gpa, uint32_t *val);
uint32_t nested_vmx_vmptrld_error(uint64_t gpa);
int nested_enl_setup(void);
void nested_enl_svme(int on);
void nested_enl_teardown(void);
void nested_svm_spurious_gate(int on);

static uint32_t l2_read(int svm, uint8_t tlb, uint32_t *val)
{
	if (!svm)
		return nested_vmx_read_gpa(pa(PG_C), val);
	nested_enl_svme(1);
	uint32_t r = nested_svm_read_gpa(pa(PG_C), tlb, val);
	nested_enl_svme(0);
	return r;
}

static void l2_case(const char *name, int svm, uint8_t tlb, uint32_t want)
{
	uint32_t val = 0, r = l2_read(svm, tlb, &val);
	if (want == 13)
		check(name, r == 13 && val == 0xdeadbeefu,
		      "result 0x%x (13: #GP in L2), L2 read 0x%x: expected #GP(0) at the read", r, val);
	else
		check(name, r == 0 && val == want, "result 0x%x (0: the read completed), L2 read 0x%x, expected 0x%x",
		      r, val, want);
}

static void checks_nested(void)
{
	int svm = cpu_vendor() == VENDOR_AMD;
	if (!g_nested_on) {
		ser_puts("NOTE: vsm.nested: not applicable (nested=off)\n");
		return;
	}
	if (svm && nested_enl_setup()) {
		ser_puts("NOTE: vsm.nested: SVM not offered\n");
		return;
	}
	if (svm)
		nested_svm_spurious_gate(1);
	uint32_t val = 0;
	*(volatile uint32_t *)PG_C = 0x5ec0de15u;
	if (!svm && nested_vmx_read_gpa(pa(PG_C), &val) == 0xffff) {
		ser_puts("NOTE: vsm.nested: VMX not offered\n");
		return;
	}
	l2_case("vsm.nested.unprotected.l2_reads", svm, 1, 0x5ec0de15u);
	/* hv.efi reads the page as a VMCS: its revision id is wrong (11). */
	if (!svm)
		check_eq("vsm.nested.unprotected.vmptrld_reads", nested_vmx_vmptrld_error(pa(PG_C)), 11);
	if (protect("vsm.nested.protect_no_access", 0, PG_C, NULL)) {
		/* TLB_CONTROL 0 on SVM: the entry L2's read above left in the
		 * shadow must be gone all the same (the call flushed it). */
		l2_case("vsm.nested.no_access.l2_gp", svm, 0, 13);
		l2_case("vsm.nested.no_access.l2_gp_again", svm, 1, 13);
		/* Nor may VTL 0 have hv.efi read or write it for it as a VMCS
		 * (VMPTRLD: invalid address, 9) or a VMSAVE area (#GP) (TLFS
		 * 15.9: the hypervisor is no way around a protection). */
		if (svm) {
			nested_enl_svme(1);
			check_vec("vsm.nested.no_access.vmsave_gp", trap_insn(INSN_VMSAVE, PG_C), VEC_GP);
			nested_enl_svme(0);
		} else {
			check_eq("vsm.nested.no_access.vmptrld_refused", nested_vmx_vmptrld_error(pa(PG_C)), 9);
		}
		if (protect("vsm.nested.protect_read_only", M_R, PG_C, NULL))
			l2_case("vsm.nested.read_only.l2_reads", svm, 0, 0x5ec0de15u);
		protect("vsm.nested.restore", M_ALL, PG_C, NULL);
		l2_case("vsm.nested.restored.l2_reads", svm, 0, 0x5ec0de15u);
		if (svm) { /* VMSAVE writes at 0x400 and above: the word at 0 stays */
			nested_enl_svme(1);
			check_vec("vsm.nested.restored.vmsave_ok", trap_insn(INSN_VMSAVE, PG_C), VEC_NONE);
			nested_enl_svme(0);
		}
	}
	if (svm) {
		nested_svm_spurious_gate(0);
		nested_enl_teardown();
	}
}

/* ---- every VP's TLB (issue 15: flushed before the call returns) -------- */

static uint8_t *ap_seq;
static volatile uint64_t ap_seen;
static void v1_ap_synic_on(void)
{
	wrmsr_raw(MSR_SIMP, pa(AP_SIMP) | 1);
	wrmsr_raw(MSR_SCONTROL, 1);
}
static void ap_vtl_call(unsigned int vp)
{
	register uint64_t rcx __asm__("rcx") = 0;
	__asm__ volatile("call *%[seq]"
			 : "+r"(rcx)
			 : [seq] "r"(ap_seq)
			 : "memory", "rax", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "cc");
}
static void ap_touch(unsigned int vp) { ap_seen = *(volatile uint64_t *)(PG_A + 16); }
static void ap_store(unsigned int vp) { prot_store(pa(PG_A + 16), 0xAAAA); }

/* VP `vp` (its VTL 1 enabled, its worker idle in VTL 0) reads PG_A, so
 * its TLB holds the page writable; VTL 1 on VP 0 makes it read-only;
 * the worker's store must then be intercepted on its own VP (VTL 1 there
 * skips it). */
void vsm_prot_ap_checks(uint32_t vp, uint8_t *call_seq)
{
	if (!mem)
		return;
	ap_seq = call_seq;
	vsm_v1_set_fn(v1_ap_synic_on);
	if (!apw_run(vp, ap_vtl_call)) {
		check("vsm.prot.ap.synic", 0, "worker timed out");
		return;
	}
	*(volatile uint64_t *)(PG_A + 16) = 0x4444;
	apw_run(vp, ap_touch);
	check_eq("vsm.prot.ap.read_before", ap_seen, 0x4444);
	if (!protect("vsm.prot.ap.protect", M_R | M_KX, PG_A, NULL))
		return;
	uint32_t n0 = n_intercepts;
	act = ACT_SKIP;
	skip_len = 3;
	int done = apw_run(vp, ap_store);
	check("vsm.prot.ap.store_intercepted_on_its_vp",
	      done && n_intercepts == n0 + 1 && *(uint32_t *)(last_msg + 16) == vp &&
	      *(volatile uint64_t *)(PG_A + 16) == 0x4444,
	      "worker %s, %u intercepts, message VP %u, value 0x%lx", done ? "answered" : "timed out",
	      n_intercepts - n0, *(uint32_t *)(last_msg + 16), (unsigned long)*(volatile uint64_t *)(PG_A + 16));
	protect("vsm.prot.ap.restore", M_ALL, PG_A, NULL);
}

/* ---- the hypervisor's walk for VTL 0 (TLFS 9.4.6, 15.9) ----------------- */

/* HvTranslateVirtualAddress of VP 0 (self) with VTL 0's CR3 = cr3: the
 * result code and GpaPage. */
static uint32_t xlate_self(uint64_t cr3, uint64_t flags, uint64_t gva, uint64_t *gpa_page)
{
	uint64_t *in = (uint64_t *)P_IN, *out = (uint64_t *)P_OUT;
	struct hc_regs r;
	in[0] = PARTITION_SELF;
	in[1] = 0xFFFFFFFEu;
	in[2] = flags;
	in[3] = gva >> 12;
	out[0] = out[1] = ~0ull;
	uint64_t fw = read_cr3();
	write_cr3(cr3 | (fw & 0xFFF));
	int vec = call_slow(&r, 0x0052u, pa(P_IN), pa(P_OUT));
	write_cr3(fw);
	*gpa_page = out[1];
	return vec == VEC_NONE && (r.rax & 0xFFFF) == 0 ? (uint32_t)out[0] : 0xFFFFFFFFu;
}

/* VTL 0 cannot have the hypervisor read (or set A/D bits in) its page
 * tables where VTL 1 denies it that: a private hierarchy (a copy of the
 * firmware's PML4 with one more slot: PDPT, PD, PT, data page) whose PT
 * page VTL 1 makes no-access, then read-only. */
static void checks_walk(void)
{
	EFI_PHYSICAL_ADDRESS a = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiBootServicesData, 5, &a))) {
		check("vsm.walk.setup", 0, "AllocatePages failed");
		return;
	}
	uint64_t *pml4 = (uint64_t *)(uintptr_t)a, *fw = (uint64_t *)(uintptr_t)(read_cr3() & PTE_ADDR);
	unsigned int slot = 0;
	for (unsigned int i = 255; i >= 1 && !slot; i--)
		if (!(fw[i] & 1))
			slot = i;
	if (!check("vsm.walk.setup", slot != 0, "no free PML4 slot")) {
		uefi_call_wrapper(BS->FreePages, 2, a, 5);
		return;
	}
	for (int i = 0; i < 512; i++)
		pml4[i] = fw[i];
	for (int l = 1; l < 5; l++)
		for (int i = 0; i < 512; i++)
			pml4[512 * l + i] = 0;
	pml4[slot] = (a + 0x1000) | 3;          /* PDPT: P, RW; A clear everywhere */
	pml4[512] = (a + 0x2000) | 3;           /* PD */
	pml4[1024] = (a + 0x3000) | 3;          /* PT */
	pml4[1536] = (a + 0x4000) | 3;          /* the data page */
	uint64_t gva = (uint64_t)slot << 39, pt = a + 0x3000, g = 0;
	const uint64_t T_R = 1, T_SETBITS = 16;
	check_eq("vsm.walk.before", xlate_self(a, T_R, gva, &g), 0);
	check_eq("vsm.walk.before.gpa", g, (a + 0x4000) >> 12);
	if (protect("vsm.walk.no_access", 0, (void *)(uintptr_t)pt, NULL)) {
		check_eq("vsm.walk.no_read_access", xlate_self(a, T_R, gva, &g), 5); /* GpaNoReadAccess */
		check_eq("vsm.walk.no_read_access.gpa_page", g, pt >> 12);
	}
	if (protect("vsm.walk.read_only", M_R | M_KX, (void *)(uintptr_t)pt, NULL)) {
		check_eq("vsm.walk.read_only.reads", xlate_self(a, T_R, gva, &g), 0);
		check_eq("vsm.walk.no_write_access", xlate_self(a, T_R | T_SETBITS, gva, &g), 6);
		check_eq("vsm.walk.no_write_access.gpa_page", g, pt >> 12);
		check_eq("vsm.walk.no_write_access.pt_entry_untouched", pml4[1536] & 0x20, 0);
		check_eq("vsm.walk.no_write_access.pd_entry_accessed", pml4[1024] & 0x20, 0x20);
	}
	if (protect("vsm.walk.restore", M_ALL, (void *)(uintptr_t)pt, NULL)) {
		check_eq("vsm.walk.after", xlate_self(a, T_R | T_SETBITS, gva, &g), 0);
		check_eq("vsm.walk.after.pt_entry_accessed", pml4[1536] & 0x20, 0x20);
	}
	uefi_call_wrapper(BS->FreePages, 2, a, 5);
}

/* ---- register intercepts (TLFS 15.13.4) ------------------------------- */

static volatile uint64_t icpt_ctl;
static void v1_icpt_set(void)
{
	uint64_t v;
	res[0] = v1_setreg(0, R_ICPT_CTL, 1ull << 3);           /* MiscEnableRead: not offered */
	res[1] = v1_setreg(0, R_ICPT_CR0_MASK, CR0_AM);
	res[2] = v1_setreg(0, R_ICPT_CR4_MASK, CR4_TSD);
	res[3] = v1_setreg(0, R_ICPT_CTL, icpt_ctl);
	res[4] = v1_getreg(R_ICPT_CTL, &v);
	res[5] = v;
	res[6] = v1_setreg(0, R_ICPT_CTL, ICPT_CR0);              /* CR0 alone (the guards follow) */
	res[7] = v1_setreg(0, R_ICPT_CTL, icpt_ctl);
}
static void v1_icpt_off(void) { res[0] = v1_setreg(0, R_ICPT_CTL, 0); }

static uint64_t rdmsr64(uint32_t m)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(m));
	return ((uint64_t)hi << 32) | lo;
}

/* One intercepted write through fn(a, b): skipped, then done by VTL 1. */
static void icpt_case(const char *pfx, uint32_t type, uint32_t name, uint64_t (*rd)(void),
		      void (*wr)(uint64_t), uint64_t newv, uint64_t rip, uint8_t len)
{
	char n[64];
	uint64_t old = rd();
	uint32_t n0 = n_intercepts;
	act = ACT_SKIP;
	wr(newv);
	fmt_name(n, sizeof(n), "%s.intercepted", pfx);
	check_eq(n, n_intercepts, n0 + 1);
	fmt_name(n, sizeof(n), "%s.not_written", pfx);
	check_eq(n, rd(), old);
	fmt_name(n, sizeof(n), "%s.message_type", pfx);
	check_eq(n, *(uint32_t *)last_msg, type);
	fmt_name(n, sizeof(n), "%s.entry_reason", pfx);
	check_eq(n, last_reason, 3);
	fmt_name(n, sizeof(n), "%s.message", pfx);
	uint64_t got = type == MSG_MSR_INTERCEPT
		? (msg64(48) << 32) | (uint32_t)msg64(56) : msg64(48);
	uint32_t gname = type == MSG_MSR_INTERCEPT ? *(uint32_t *)(last_msg + 16 + 40)
						   : *(uint32_t *)(last_msg + 16 + 44);
	check(n, last_msg[4] == 64 && msg64(24) == rip && (last_msg[16 + 4] & 0xf) == len &&
	      last_msg[16 + 5] == 1 && gname == name && got == newv,
	      "size %u rip 0x%lx len %u access %u name 0x%x value 0x%lx", last_msg[4],
	      (unsigned long)msg64(24), last_msg[16 + 4] & 0xf, last_msg[16 + 5], gname, (unsigned long)got);
	act = ACT_ALLOW;
	wr(newv);
	fmt_name(n, sizeof(n), "%s.written_by_vtl1", pfx);
	check(n, rd() == newv && n_intercepts == n0 + 2 && (res[8] & 0xffff) == 0,
	      "value 0x%lx, %u intercepts, status 0x%lx", (unsigned long)rd(), n_intercepts - n0,
	      (unsigned long)res[8]);
	wr(old); /* back, through VTL 1 again */
}

static uint64_t rd_lstar(void) { return rdmsr64(MSR_LSTAR); }
static void wr_lstar(uint64_t v) { icpt_wrmsr(MSR_LSTAR, v); }

static void checks_reg_intercepts(void)
{
	struct hc_regs r;
	for (int i = 0; i < 48; i++)
		P_IN[i] = 0;
	*(uint64_t *)P_IN = PARTITION_SELF;
	*(uint32_t *)(P_IN + 8) = 0xFFFFFFFEu;
	*(uint32_t *)(P_IN + 16) = R_ICPT_CTL;
	*(uint64_t *)(P_IN + 32) = ICPT_LSTAR;
	int vec = call_slow(&r, CALL_SET_REGS | HC_REPS(1), pa(P_IN), 0);
	expect("vsm.regicpt.vtl0_has_none", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	icpt_ctl = ICPT_LSTAR | ICPT_CR0 | ICPT_CR4;
	if (!vsm_v1_run("vsm.regicpt.set", v1_icpt_set))
		return;
	check_eq("vsm.regicpt.unoffered_bit", res[0] & 0xffff, ST_BAD_PARAM);
	check_eq("vsm.regicpt.cr0_mask", res[1] & 0xffff, 0);
	check_eq("vsm.regicpt.cr4_mask", res[2] & 0xffff, 0);
	check_eq("vsm.regicpt.control", res[3] & 0xffff, 0);
	check_eq("vsm.regicpt.control_read_back", res[5], icpt_ctl);
	check_eq("vsm.regicpt.cr0_only", res[6] & 0xffff, 0);
	check_eq("vsm.regicpt.control_again", res[7] & 0xffff, 0);
	icpt_case("vsm.regicpt.lstar", MSG_MSR_INTERCEPT, MSR_LSTAR, rd_lstar, wr_lstar,
		  0xFFFF800000DEF000ull, pa(icpt_wrmsr_insn), 2);
	{
		icpt_case("vsm.regicpt.cr0", MSG_REGISTER_INTERCEPT, R_CR0, read_cr0, icpt_cr0,
			  read_cr0() ^ CR0_AM, pa(icpt_cr0), 3);
		icpt_case("vsm.regicpt.cr4", MSG_REGISTER_INTERCEPT, R_CR4, read_cr4, icpt_cr4,
			  read_cr4() ^ CR4_TSD, pa(icpt_cr4), 3);
		/* A write that leaves the masked bits alone completes. */
		uint32_t n0 = n_intercepts;
		uint64_t cr0 = read_cr0();
		icpt_cr0(cr0);
		check_eq("vsm.regicpt.cr0.unmasked_no_intercept", n_intercepts, n0);
	}
	vsm_v1_run("vsm.regicpt.off", v1_icpt_off);
	uint32_t n0 = n_intercepts;
	uint64_t l = rd_lstar();
	wr_lstar(l);
	check("vsm.regicpt.off.no_intercept", (res[0] & 0xffff) == 0 && n_intercepts == n0 && rd_lstar() == l,
	      "status 0x%lx, %u intercepts", (unsigned long)res[0], n_intercepts - n0);
}

void vsm_prot_checks(void)
{
	EFI_PHYSICAL_ADDRESS m = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiBootServicesData, 6, &m))) {
		check("vsm.prot.setup", 0, "AllocatePages failed");
		return;
	}
	mem = (uint8_t *)(uintptr_t)m;
	for (unsigned int i = 0; i < 6 * PAGE; i++)
		mem[i] = 0;
	if (!vsm_v1_run("vsm.prot.synic_setup", v1_synic_on))
		return;
	uint64_t flags = irq_save();
	checks_config();
	checks_secure_cfg();
	checks_bad_inputs();
	checks_write();
	checks_busy_slot();
	checks_exec();
	checks_exec_modes();
	checks_exec_user();
	checks_private_page();
	checks_overlay_per_vtl();
	checks_nested();
	checks_walk();
	checks_reg_intercepts();
	irq_restore(flags);
}
