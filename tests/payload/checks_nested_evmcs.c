/*
 * checks_nested_evmcs.c - the enlightened VMCS (issue 18 item 4; TLFS 6.0
 * 16.4-16.5, 16.11.2-16.11.4; docs/nested.md "Enlightened VMCS"), as
 * Linux's KVM uses it on Hyper-V: the payload, a small VMX hypervisor
 * (L1), runs the L2 of checks_nested_vmx.c (pnvmx.asm) through an eVMCS
 * instead of VMPTRLD/VMREAD/VMWRITE:
 *   - leaf 0x40000004 EAX bit 14 (recommended) and leaf 0x4000000A EAX
 *     (eVMCS versions 1..1 in bits 15:0, the enlightened MSR bitmap bit
 *     19, nothing else);
 *   - VMXON, then the VP assist page (HV_X64_MSR_VP_ASSIST_PAGE) with
 *     EnlightenVmEntry (0x28) set and CurrentNestedVmcs (0x30) naming
 *     the eVMCS; every field written with plain stores; VMLAUNCH with no
 *     current VMCS (no VMPTRLD) enters L2;
 *   - L2's CPUID and HLT exits read back from the eVMCS (reason, RIP,
 *     instruction length, qualification, RSP), every group clean after
 *     the exit;
 *   - clean fields (16.5.2): a new RSP with GUEST_BASIC clean is not
 *     read (L2 runs on the old one, which the exit writes back); dirty,
 *     it is;
 *   - the enlightened MSR bitmap (16.5.3): with it on and the MSR_BITMAP
 *     clean bit set, L1 dropping an MSR from its bitmap is not seen (the
 *     RDMSR still exits); with the bit cleared it is; without the
 *     enlightenment a change is seen with the bit set;
 *   - bad inputs: a version other than 1 (VMfailInvalid), an eVMCS GPA
 *     not page aligned, in hypervisor memory or beyond the physical
 *     address width (VMfailInvalid), a control eVMCS v1 cannot express
 *     (the preemption timer: VMfailValid 7, the error in the eVMCS);
 *     VMLAUNCH twice works (an eVMCS has no launch state);
 *   - HvFlushGuestPhysicalAddressSpace/List (0xAF/0xB0) on VMX: the TLFS
 *     statuses of bad input (outside VMX operation INVALID_VP_STATE;
 *     reserved flags, an address space that is no EPT root INVALID_PARAMETER).
 * Needs nested=on on Intel and the hypercall page (after checks_hypercall).
 */
#include "hcall.h"
#include "px86.h"

#define CR4_VMXE (1ull << 13)
#define MSR_VP_ASSIST 0x40000073u

/* eVMCS v1 field offsets (TLFS 16.11.2, every field at its natural
 * alignment; counted here independently of include/nested/evmcs.h). */
enum {
	EV_REVISION = 0x000, EV_H_ES_SEL = 0x008, EV_H_TR_SEL = 0x014, EV_H_PAT = 0x018,
	EV_H_EFER = 0x020, EV_H_CR0 = 0x028, EV_H_CR3 = 0x030, EV_H_CR4 = 0x038,
	EV_H_SYSENTER_ESP = 0x040, EV_H_SYSENTER_EIP = 0x048, EV_H_RIP = 0x050,
	EV_H_SYSENTER_CS = 0x058, EV_PIN = 0x05c, EV_EXIT_CTL = 0x060, EV_PROC2 = 0x064,
	EV_IO_A = 0x068, EV_IO_B = 0x070, EV_MSR_BM = 0x078, EV_G_ES_SEL = 0x080,
	EV_G_ES_LIMIT = 0x090, EV_G_GDTR_LIMIT = 0x0b0, EV_G_IDTR_LIMIT = 0x0b4,
	EV_G_ES_AR = 0x0b8, EV_G_ES_BASE = 0x0d8, EV_G_GDTR_BASE = 0x118, EV_G_IDTR_BASE = 0x120,
	EV_LINK = 0x1a0, EV_G_PAT = 0x1b0, EV_G_EFER = 0x1b8, EV_G_ACT = 0x1f8,
	EV_CR0_MASK = 0x200, EV_CR4_MASK = 0x208, EV_CR0_SHADOW = 0x210, EV_CR4_SHADOW = 0x218,
	EV_G_CR0 = 0x220, EV_G_CR3 = 0x228, EV_G_CR4 = 0x230, EV_G_DR7 = 0x238,
	EV_H_FS_BASE = 0x240, EV_H_GS_BASE = 0x248, EV_H_TR_BASE = 0x250, EV_H_GDTR_BASE = 0x258,
	EV_H_IDTR_BASE = 0x260, EV_H_RSP = 0x268, EV_EPTP = 0x270, EV_VPID = 0x278,
	EV_INSN_ERR = 0x2b0, EV_REASON = 0x2b4, EV_EXIT_LEN = 0x2c8, EV_QUAL = 0x2d0,
	EV_G_RSP = 0x300, EV_G_RFLAGS = 0x308, EV_G_INTR = 0x310, EV_PROC = 0x314,
	EV_EXC_BM = 0x318, EV_ENTRY_CTL = 0x31c, EV_ENTRY_INTR = 0x320, EV_G_RIP = 0x330,
	EV_CLEAN = 0x338, EV_ENL_CTL = 0x344,
};
/* TLFS 16.11.3 */
#define CLEAN_MSR_BITMAP (1u << 1)
#define CLEAN_CONTROL_GRP1 (1u << 3)
#define CLEAN_GUEST_BASIC (1u << 10)
#define CLEAN_ALL 0xffffu
#define ENL_MSR_BITMAP (1u << 1)

int evmcs_run(int resume, uint64_t *regs, void *evmcs);
extern const char ev_l2_df[], ev_l2_df_call[], ev_l2_df_hlt[], ev_l2_df_end[];
extern const char l2v_code[], l2v_code_end[], l2v_at_cpuid[], l2v_at_out[], l2v_at_rdmsr[],
	l2v_at_wrmsr[], l2v_at_hlt[], l2v_at_ept_np[], l2v_at_ept_ro[];

#define L2_CODE 0x1000ull
#define L2_OFF(label) (L2_CODE + (uint64_t)((label) - l2v_code))

enum { PG_VMXON, PG_EV, PG_EV2, PG_ASSIST, PG_IOA, PG_IOB, PG_MSR, PG_PML4, PG_PDPT, PG_PD, PG_PT,
       PG_CODE, PG_STACK, PG_DATA, PG_FA, PG_FB, PG_COUNT };

static uint8_t *g_pg;
static uint64_t g_regs[5];

static uint8_t *pg(int i) { return g_pg + (uint64_t)i * 4096; }
static uint64_t pga(int i) { return (uint64_t)(uintptr_t)pg(i); }
static uint8_t *ev(void) { return pg(PG_EV); }

static void zero(void *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		((volatile uint8_t *)p)[i] = 0;
}

static void w16(uint32_t off, uint64_t v) { *(volatile uint16_t *)(ev() + off) = (uint16_t)v; }
static void w32(uint32_t off, uint64_t v) { *(volatile uint32_t *)(ev() + off) = (uint32_t)v; }
static void w64(uint32_t off, uint64_t v) { *(volatile uint64_t *)(ev() + off) = v; }
static uint32_t r32(uint32_t off) { return *(volatile uint32_t *)(ev() + off); }
static uint64_t r64(uint32_t off) { return *(volatile uint64_t *)(ev() + off); }

static int st(uint8_t cf, uint8_t zf) { return cf ? 1 : zf ? 2 : 0; }
static int x_vmxon(uint64_t p)
{
	uint8_t cf, zf;
	__asm__ volatile("vmxon %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "m"(p) : "cc", "memory");
	return st(cf, zf);
}
static int x_vmxoff(void)
{
	uint8_t cf, zf;
	__asm__ volatile("vmxoff; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : : "cc", "memory");
	return st(cf, zf);
}

/* The assist page: EnlightenVmEntry and CurrentNestedVmcs (TLFS 7.8.7.2). */
static void assist(int enlighten, uint64_t evmcs_gpa)
{
	*(volatile uint64_t *)(pg(PG_ASSIST) + 0x30) = evmcs_gpa;
	*(volatile uint8_t *)(pg(PG_ASSIST) + 0x28) = (uint8_t)enlighten;
}

static uint16_t sel_of(int which)
{
	uint16_t s = 0;
	switch (which) {
	case 0: __asm__ volatile("mov %%es, %0" : "=r"(s)); break;
	case 1: __asm__ volatile("mov %%cs, %0" : "=r"(s)); break;
	case 2: __asm__ volatile("mov %%ss, %0" : "=r"(s)); break;
	case 3: __asm__ volatile("mov %%ds, %0" : "=r"(s)); break;
	case 4: __asm__ volatile("mov %%fs, %0" : "=r"(s)); break;
	case 5: __asm__ volatile("mov %%gs, %0" : "=r"(s)); break;
	default: __asm__ volatile("str %0" : "=r"(s)); break;
	}
	return s;
}

struct __attribute__((packed)) dtr {
	uint16_t limit;
	uint64_t base;
};

/* L2 as checks_nested_vmx.c lays it out: code 0x1000, stack 0x2000,
 * data 0x3000 (IDT, GDT at 0x3100), on L1's EPT; port 0x80 and MSR
 * 0x174 (read) / 0x175 (write) in L1's bitmaps. */
static void build_l2(void)
{
	uint8_t *code = pg(PG_CODE), *data = pg(PG_DATA);
	for (const char *s = l2v_code; s < l2v_code_end; s++)
		code[s - l2v_code] = (uint8_t)*s;
	uint64_t *gdt = (uint64_t *)(data + 0x100);
	gdt[1] = 0x00cf9b000000ffffull;
	gdt[2] = 0x00cf93000000ffffull;
	*(volatile uint64_t *)pg(PG_PML4) = pga(PG_PDPT) | 7;
	*(volatile uint64_t *)pg(PG_PDPT) = pga(PG_PD) | 7;
	*(volatile uint64_t *)pg(PG_PD) = pga(PG_PT) | 7;
	volatile uint64_t *pt = (volatile uint64_t *)pg(PG_PT);
	pt[1] = pga(PG_CODE) | 0x37;
	pt[2] = pga(PG_STACK) | 0x37;
	pt[3] = pga(PG_DATA) | 0x37;
	pg(PG_IOA)[0x80 / 8] |= 1u << (0x80 % 8);
	pg(PG_MSR)[0x174 / 8] |= 1u << (0x174 % 8);
	pg(PG_MSR)[2048 + 0x175 / 8] |= 1u << (0x175 % 8);
}

static uint32_t g_pin, g_proc, g_proc2, g_exit, g_entry;

/* Every field of the eVMCS L2 needs, by plain stores (TLFS 16.5); clean
 * fields 0: L0 reads everything at the first entry anyway. */
static void build_evmcs(uint8_t *e, uint32_t rev)
{
	zero(e, 4096);
	*(volatile uint32_t *)(e + EV_REVISION) = rev;
	struct dtr gdtr, idtr;
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
	uint64_t pat = 0, efer = 0, fs = 0, gs = 0;
	trap_rdmsr(0x277, &pat);
	trap_rdmsr(0xc0000080u, &efer);
	trap_rdmsr(0xc0000100u, &fs);
	trap_rdmsr(0xc0000101u, &gs);
	w32(EV_PIN, g_pin);
	w32(EV_PROC, g_proc);
	w32(EV_PROC2, g_proc2);
	w32(EV_EXIT_CTL, g_exit);
	w32(EV_ENTRY_CTL, g_entry);
	w32(EV_EXC_BM, (1u << 6) | (1u << 13));
	w64(EV_IO_A, pga(PG_IOA));
	w64(EV_IO_B, pga(PG_IOB));
	w64(EV_MSR_BM, pga(PG_MSR));
	w64(EV_EPTP, pga(PG_PML4) | 0x1e);
	w16(EV_VPID, 1);
	for (int i = 0; i < 6; i++)
		w16(EV_H_ES_SEL + 2 * i, sel_of(i) & ~7u);
	uint16_t tr = sel_of(6);
	w16(EV_H_TR_SEL, tr ? tr : 0x40);
	w64(EV_H_CR0, read_cr0());
	w64(EV_H_CR3, read_cr3());
	w64(EV_H_CR4, read_cr4());
	w64(EV_H_FS_BASE, fs);
	w64(EV_H_GS_BASE, gs);
	w64(EV_H_GDTR_BASE, gdtr.base);
	w64(EV_H_IDTR_BASE, idtr.base);
	w64(EV_H_PAT, pat);
	w64(EV_H_EFER, efer);
	static const uint32_t ar[8] = { 0xc093, 0xc09b, 0xc093, 0xc093, 0x10000, 0x10000, 0x10000, 0x8b };
	for (int i = 0; i < 8; i++) {
		w16(EV_G_ES_SEL + 2 * i, i == 1 ? 0x08 : i < 4 ? 0x10 : 0);
		w32(EV_G_ES_LIMIT + 4 * i, i == 7 ? 0x67 : 0xffffffffu);
		w32(EV_G_ES_AR + 4 * i, ar[i]);
	}
	w64(EV_G_GDTR_BASE, 0x3100);
	w32(EV_G_GDTR_LIMIT, 23);
	w64(EV_G_IDTR_BASE, 0x3000);
	w32(EV_G_IDTR_LIMIT, 0x7ff);
	w64(EV_G_CR0, 0x31);
	w64(EV_G_CR4, CR4_VMXE);
	w64(EV_G_DR7, 0x400);
	w64(EV_G_RSP, 0x3000);
	w64(EV_G_RIP, L2_CODE);
	w64(EV_G_RFLAGS, 2);
	w64(EV_G_PAT, 0x0007040600070406ull);
	w64(EV_LINK, ~0ull);
}

/* A VM exit sets the GDTR and IDTR limits to 0xFFFF (SDM 28.5.2): L1
 * puts its own back, as KVM does (and as checks_nested_vmx.c). */
static int enter(int resume)
{
	struct dtr gdtr, idtr;
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
	int rc = evmcs_run(resume, g_regs, ev());
	__asm__ volatile("lgdt %0; lidt %1" : : "m"(gdtr), "m"(idtr));
	return rc;
}

static int exit_at(const char *name, int rc, uint32_t reason, uint64_t rip)
{
	uint32_t r = r32(EV_REASON);
	uint64_t at = r64(EV_G_RIP);
	return check(name, rc == 0 && r == reason && at == rip,
		     "entry status %d, eVMCS exit reason 0x%x at RIP 0x%lx; expected 0x%x at 0x%lx (qual 0x%lx)",
		     rc, r, (unsigned long)at, reason, (unsigned long)rip, (unsigned long)r64(EV_QUAL));
}

/* VMRESUME at rip (GuestRip has no clean group: always read). */
static int resume_at(uint64_t rip, uint32_t dirty)
{
	w64(EV_G_RIP, rip);
	w32(EV_CLEAN, r32(EV_CLEAN) & ~dirty);
	return enter(1);
}

static void run_l2(void)
{
	/* VMLAUNCH with no VMPTRLD: the eVMCS is current (TLFS 16.5). */
	int rc = enter(0);
	if (!exit_at("nested.evmcs.l2.cpuid.exit", rc, 10, L2_OFF(l2v_at_cpuid)))
		return;
	check_eq("nested.evmcs.l2.cpuid.insn_len", r32(EV_EXIT_LEN), 2);
	check_eq("nested.evmcs.l2.cpuid.rsp", r64(EV_G_RSP), 0x3000);
	check_eq("nested.evmcs.exit.all_clean", r32(EV_CLEAN), CLEAN_ALL);

	/* Clean fields: a new RSP while GUEST_BASIC is clean is not read. */
	w64(EV_G_RSP, 0x2f00);
	rc = resume_at(L2_OFF(l2v_at_cpuid), 0);
	exit_at("nested.evmcs.clean.cpuid_again", rc, 10, L2_OFF(l2v_at_cpuid));
	check_eq("nested.evmcs.clean.guest_basic_not_reread", r64(EV_G_RSP), 0x3000);
	w64(EV_G_RSP, 0x2f00);
	rc = resume_at(L2_OFF(l2v_at_cpuid), CLEAN_GUEST_BASIC);
	exit_at("nested.evmcs.dirty.cpuid_again", rc, 10, L2_OFF(l2v_at_cpuid));
	check_eq("nested.evmcs.dirty.guest_basic_read", r64(EV_G_RSP), 0x2f00);
	/* Group GUEST_GRP2 (segments, TLFS 16.11.3): hv.efi keeps vmcs02's
	 * between entries while the group is clean; cleared, the new FS base
	 * reaches L2 (read back from vmcs02 at the exit: a stale vmcs02
	 * would give the old one), and again after it is put back. */
	uint64_t fsb = r64(EV_G_ES_BASE + 8 * 4);
	w64(EV_G_ES_BASE + 8 * 4, 0x12345000);
	rc = resume_at(L2_OFF(l2v_at_cpuid), 0);
	exit_at("nested.evmcs.clean.grp2.cpuid_again", rc, 10, L2_OFF(l2v_at_cpuid));
	check_eq("nested.evmcs.clean.guest_grp2_not_reread", r64(EV_G_ES_BASE + 8 * 4), fsb);
	w64(EV_G_ES_BASE + 8 * 4, 0x12345000);
	rc = resume_at(L2_OFF(l2v_at_cpuid), 1u << 12);
	exit_at("nested.evmcs.dirty.grp2.cpuid_again", rc, 10, L2_OFF(l2v_at_cpuid));
	check_eq("nested.evmcs.dirty.guest_grp2_read", r64(EV_G_ES_BASE + 8 * 4), 0x12345000);
	w64(EV_G_ES_BASE + 8 * 4, fsb);
	rc = resume_at(L2_OFF(l2v_at_cpuid), 1u << 12);
	exit_at("nested.evmcs.dirty.grp2.restored", rc, 10, L2_OFF(l2v_at_cpuid));
	check_eq("nested.evmcs.dirty.guest_grp2_restored", r64(EV_G_ES_BASE + 8 * 4), fsb);

	/* On through IN 0x61 (not L1's), OUT 0x80 (L1's). */
	rc = resume_at(L2_OFF(l2v_at_cpuid) + 2, 0);
	if (!exit_at("nested.evmcs.l2.io.exit", rc, 30, L2_OFF(l2v_at_out)))
		return;
	/* SDM table 28-5: port 0x80, OUT, 1 byte, immediate operand (bit 6) */
	check_eq("nested.evmcs.l2.io.qual", r64(EV_QUAL), (0x80ull << 16) | (1u << 6));
	rc = resume_at(L2_OFF(l2v_at_out) + 2, 0);
	if (!exit_at("nested.evmcs.l2.rdmsr.exit", rc, 31, L2_OFF(l2v_at_rdmsr)))
		return;

	/* The enlightened MSR bitmap (TLFS 16.5.3). L2 reads MSR 0x176
	 * (`mov ecx, 0x176; rdmsr` 2 bytes after its OUT) before 0x174. On,
	 * L1 adds 0x176 to its bitmap but leaves MSR_BITMAP clean: L0 may
	 * keep the bitmap it merged, and hv.efi does: no exit at 0x176, the
	 * next is 0x174's. With the bit cleared the change is seen. (A
	 * removal is not observable: hv.efi asks L1's bitmap itself before
	 * it reflects an exit, as KVM does.) */
	uint64_t at176 = L2_OFF(l2v_at_out) + 2, rd176 = at176 + 5;
	w32(EV_ENL_CTL, ENL_MSR_BITMAP);
	rc = resume_at(at176, 1u << 15); /* ENLIGHTENMENTSCONTROL dirty */
	exit_at("nested.evmcs.msr_bitmap.baseline", rc, 31, L2_OFF(l2v_at_rdmsr));
	pg(PG_MSR)[0x176 / 8] |= 1u << (0x176 % 8);
	rc = resume_at(at176, 0);
	exit_at("nested.evmcs.msr_bitmap.clean_not_reread", rc, 31, L2_OFF(l2v_at_rdmsr));
	rc = resume_at(at176, CLEAN_MSR_BITMAP);
	exit_at("nested.evmcs.msr_bitmap.dirty_seen", rc, 31, rd176);
	check_eq("nested.evmcs.msr_bitmap.dirty_seen.rcx", g_regs[1] & 0xffffffffu, 0x176);
	/* Without the enlightenment the clean bit means nothing (TLFS: only
	 * "when enabled" L0 does not monitor the bitmaps): dropped and added
	 * again with MSR_BITMAP clean, 0x176 exits. */
	pg(PG_MSR)[0x176 / 8] &= (uint8_t)~(1u << (0x176 % 8));
	rc = resume_at(at176, CLEAN_MSR_BITMAP);
	exit_at("nested.evmcs.msr_bitmap.dropped", rc, 31, L2_OFF(l2v_at_rdmsr));
	w32(EV_ENL_CTL, 0);
	pg(PG_MSR)[0x176 / 8] |= 1u << (0x176 % 8);
	rc = resume_at(at176, 1u << 15);
	exit_at("nested.evmcs.msr_bitmap.not_enlightened_seen", rc, 31, rd176);
	pg(PG_MSR)[0x176 / 8] &= (uint8_t)~(1u << (0x176 % 8));
	rc = resume_at(L2_OFF(l2v_at_rdmsr) - 5, CLEAN_MSR_BITMAP);
	exit_at("nested.evmcs.l2.rdmsr.again", rc, 31, L2_OFF(l2v_at_rdmsr));
	rc = resume_at(L2_OFF(l2v_at_rdmsr) + 2, 0);
	exit_at("nested.evmcs.l2.wrmsr.exit", rc, 32, L2_OFF(l2v_at_wrmsr));

	/* No launch state: VMLAUNCH again works (KVM: launch_state = !launch). */
	w64(EV_G_RIP, L2_OFF(l2v_at_cpuid));
	rc = enter(0);
	exit_at("nested.evmcs.vmlaunch.again", rc, 10, L2_OFF(l2v_at_cpuid));

	rc = resume_at(L2_OFF(l2v_at_hlt), 0);
	exit_at("nested.evmcs.l2.hlt.exit", rc, 12, L2_OFF(l2v_at_hlt));
	check_eq("nested.evmcs.l2.hlt.insn_len", r32(EV_EXIT_LEN), 1);
}

/* The bad inputs of an enlightened entry. */
static void bad_inputs(uint64_t hv_base, unsigned int pa_bits, uint32_t rev)
{
	/* TLFS 16.5.1: version 1 only. */
	w32(EV_REVISION, 2);
	check_eq("nested.evmcs.bad_version.failinvalid", (uint64_t)resume_at(L2_OFF(l2v_at_hlt), 0), 1);
	w32(EV_REVISION, 1);
	assist(1, pga(PG_EV) + 8);
	check_eq("nested.evmcs.gpa_unaligned.failinvalid", (uint64_t)enter(0), 1);
	assist(1, 1ull << pa_bits);
	check_eq("nested.evmcs.gpa_beyond_maxphyaddr.failinvalid", (uint64_t)enter(0), 1);
	if (hv_base) {
		assist(1, hv_base);
		check_eq("nested.evmcs.gpa_hv_memory.failinvalid", (uint64_t)enter(0), 1);
	}
	assist(1, pga(PG_VMXON));
	check_eq("nested.evmcs.gpa_vmxon_region.failinvalid", (uint64_t)enter(0), 1);
	assist(1, pga(PG_EV));
	/* The preemption timer: no field in eVMCS v1 (and not offered). */
	w32(EV_PIN, g_pin | (1u << 6));
	int rc = resume_at(L2_OFF(l2v_at_hlt), CLEAN_CONTROL_GRP1);
	check("nested.evmcs.bad_control.fail7", rc == 2 && r32(EV_INSN_ERR) == 7,
	      "status %d, eVMCS VM-instruction error %u; expected VMfailValid 7", rc, r32(EV_INSN_ERR));
	w32(EV_PIN, g_pin);
	rc = resume_at(L2_OFF(l2v_at_hlt), CLEAN_CONTROL_GRP1);
	exit_at("nested.evmcs.after_bad_inputs.runs", rc, 12, L2_OFF(l2v_at_hlt));
	/* EnlightenVmEntry clear and no VMPTRLD: no current VMCS. */
	assist(0, pga(PG_EV));
	check_eq("nested.evmcs.not_enlightened.failinvalid", (uint64_t)enter(1), 1);
	assist(1, pga(PG_EV));
	/* A VMPTRLD in between (a plain VMCS, empty) replaces what hv.efi
	 * holds of the eVMCS: the next enlightened entry, every group clean,
	 * must read the eVMCS whole again (else L2 would run on the empty
	 * VMCS's fields: VMfailValid 7). */
	uint8_t *plain = pg(PG_EV2);
	zero(plain, 4096);
	*(volatile uint32_t *)plain = rev;
	uint64_t pp = pga(PG_EV2);
	uint8_t cf, zf;
	__asm__ volatile("vmclear %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "m"(pp) : "cc", "memory");
	__asm__ volatile("vmptrld %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "m"(pp) : "cc", "memory");
	check("nested.evmcs.vmptrld_between.ok", !cf && !zf, "VMCLEAR/VMPTRLD of a plain VMCS failed");
	w32(EV_CLEAN, CLEAN_ALL);
	rc = resume_at(L2_OFF(l2v_at_hlt), 0);
	exit_at("nested.evmcs.vmptrld_between.full_reload", rc, 12, L2_OFF(l2v_at_hlt));
}

/* The GPA-space flushes work on VMX (TLFS 16.13, leaf 0x4000000A bit 18):
 * L2 reads L2 GPA 0x5000 (`mov eax, [0x5000]; mov [0x3808], eax`) and
 * stops at its next instruction, a store to 0x4000 that L1's EPT does not
 * map (EPT violation). L1 points 0x5000 at another page without INVEPT:
 * L2 still reads the old page (the shadow of L1's EPT acts as a TLB,
 * 16.9.1); after HvFlushGuestPhysicalAddressSpace, or the List call with
 * a range holding 0x5000, the new one. */
static uint32_t read_5000(const char *name)
{
	volatile uint32_t *res = (volatile uint32_t *)(pg(PG_DATA) + 0x808);
	*res = 0;
	int rc = resume_at(L2_OFF(l2v_at_ept_np), 0);
	exit_at(name, rc, 48, L2_OFF(l2v_at_ept_ro));
	return *res;
}

static void gpa_flush(uint64_t eptp)
{
	volatile uint64_t *pt = (volatile uint64_t *)pg(PG_PT);
	*(volatile uint32_t *)pg(PG_FA) = 0xa1a1a1a1u;
	*(volatile uint32_t *)pg(PG_FB) = 0xb2b2b2b2u;
	pt[5] = pga(PG_FA) | 0x37;
	check_eq("nested.evmcs.gpa_flush.baseline", read_5000("nested.evmcs.gpa_flush.baseline.exit"),
		 0xa1a1a1a1u);
	pt[5] = pga(PG_FB) | 0x37;
	check_eq("nested.evmcs.gpa_flush.stale_without_call",
		 read_5000("nested.evmcs.gpa_flush.stale.exit"), 0xa1a1a1a1u);
	struct hc_regs r;
	uint64_t w[2] = { eptp & ~0xfffull, 0 }; /* the PML4 address, as Linux's KVM passes it */
	int v = call_words(&r, 0x00AF, w, 2, 0);
	expect("nested.evmcs.gpa_flush.space_call", v, &r, ST_OK, 0, NULL, 0, 0);
	check_eq("nested.evmcs.gpa_flush.space_seen", read_5000("nested.evmcs.gpa_flush.space.exit"),
		 0xb2b2b2b2u);
	pt[5] = pga(PG_FA) | 0x37;
	uint64_t *in = (uint64_t *)P_IN;
	in[0] = eptp;
	in[1] = 0;
	in[2] = 0x5000; /* one page */
	v = call_slow(&r, 0x00B0 | HC_REPS(1), pa(P_IN), 0);
	expect("nested.evmcs.gpa_flush.list_call", v, &r, ST_OK, 1, NULL, 0, 0);
	check_eq("nested.evmcs.gpa_flush.list_seen", read_5000("nested.evmcs.gpa_flush.list.exit"),
		 0xa1a1a1a1u);
}

/* Direct virtual flush (TLFS 16.8, leaf 0x4000000A bit 17): with
 * DirectHypercall in L1's VP assist page (nested control, 0x20 bit 0) and
 * NestedFlushVirtualHypercall in the eVMCS (with VpId, VmId and the
 * partition assist page), L2's HvFlushVirtualAddressSpace is answered by
 * hv.efi: L2 reaches its HLT, no VMCALL exit. Without DirectHypercall
 * the VMCALL goes to L1; with TlbLockCount set in the partition assist
 * page L1 gets the synthetic exit 0x10000031 after the call (16.8.3). */
#define DF_CODE (L2_CODE + 0x800)
#define DF_OFF(label) (DF_CODE + (uint64_t)((label) - ev_l2_df))

static int df_run(uint32_t input, uint32_t *status)
{
	volatile uint32_t *d = (volatile uint32_t *)pg(PG_DATA);
	d[0x820 / 4] = input;
	d[0x810 / 4] = 0xdeadu;
	int rc = resume_at(DF_CODE, 1u << 15); /* ENLIGHTENMENTSCONTROL dirty */
	*status = d[0x810 / 4];
	return rc;
}

static void direct_flush(void)
{
	uint8_t *code = pg(PG_CODE) + 0x800;
	for (const char *s = ev_l2_df; s < ev_l2_df_end; s++)
		code[s - ev_l2_df] = (uint8_t)*s;
	volatile uint64_t *in = (volatile uint64_t *)(pg(PG_DATA) + 0xa00);
	in[0] = 0;      /* AddressSpace */
	in[1] = 0;      /* Flags */
	in[2] = 1ull << 3; /* ProcessorMask: L2's VP 3 */
	zero(pg(PG_FB), 4096); /* the partition assist page: TlbLockCount 0 */
	w32(EV_ENL_CTL, 1u << 0); /* NestedFlushVirtualHypercall */
	w32(0x348, 3);          /* VpId */
	w64(0x350, 0x77);       /* VmId */
	w64(0x358, pga(PG_FB)); /* PartitionAssistPage */
	*(volatile uint32_t *)(pg(PG_ASSIST) + 0x20) = 1; /* DirectHypercall */
	uint32_t st;
	int rc = df_run(0x0002, &st);
	exit_at("nested.evmcs.dflush.answered", rc, 12, DF_OFF(ev_l2_df_hlt));
	check_eq("nested.evmcs.dflush.answered.status", st, 0);
	in[1] = 1ull << 5; /* a reserved flag */
	rc = df_run(0x0002, &st);
	exit_at("nested.evmcs.dflush.bad_flags.answered", rc, 12, DF_OFF(ev_l2_df_hlt));
	check_eq("nested.evmcs.dflush.bad_flags.status", st, ST_BAD_PARAM);
	in[1] = 0;
	*(volatile uint32_t *)pg(PG_FB) = 1; /* TlbLockCount */
	rc = df_run(0x0002, &st);
	exit_at("nested.evmcs.dflush.trap_after_flush", rc, 0x10000031u, DF_OFF(ev_l2_df_call) + 3);
	*(volatile uint32_t *)pg(PG_FB) = 0;
	/* Another call (HvPostMessage) is L1's: the VMCALL exit. */
	rc = df_run(0x005c, &st);
	exit_at("nested.evmcs.dflush.other_call.reflected", rc, 18, DF_OFF(ev_l2_df_call));
	*(volatile uint32_t *)(pg(PG_ASSIST) + 0x20) = 0;
	rc = df_run(0x0002, &st);
	exit_at("nested.evmcs.dflush.assist_off.reflected", rc, 18, DF_OFF(ev_l2_df_call));
	w32(EV_ENL_CTL, 0);
}

/* HvFlushGuestPhysicalAddressSpace/List on VMX (TLFS 16.13): the address
 * space is an EPT root (Linux passes the PML4 address). */
static void flush_calls(uint64_t eptp, int in_vmx)
{
	struct hc_regs r;
	uint64_t w[2] = { eptp, 0 };
	int v = call_words(&r, 0x00AF, w, 2, 0);
	if (!in_vmx) {
		expect("nested.evmcs.flush_space.outside_vmx", v, &r, 0x15, 0, NULL, 0, 0);
		return;
	}
	expect("nested.evmcs.flush_space.ok", v, &r, ST_OK, 0, NULL, 0, 0);
	w[0] = eptp & ~0xfffull;
	v = call_words(&r, 0x00AF, w, 2, 1);
	expect("nested.evmcs.flush_space.bare_root_ok", v, &r, ST_OK, 0, NULL, 0, 0);
	w[0] = eptp;
	w[1] = 1;
	v = call_words(&r, 0x00AF, w, 2, 0);
	expect("nested.evmcs.flush_space.flags_reserved", v, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	w[1] = 0;
	w[0] = (eptp & ~0xfffull) | 0x1a; /* walk length 4 with memory type 2: reserved */
	v = call_words(&r, 0x00AF, w, 2, 0);
	expect("nested.evmcs.flush_space.bad_memtype", v, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	w[0] = eptp | (1ull << g_hc.pa_bits);
	v = call_words(&r, 0x00AF, w, 2, 0);
	expect("nested.evmcs.flush_space.beyond_maxphyaddr", v, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	uint64_t *in = (uint64_t *)P_IN;
	in[0] = eptp;
	in[1] = 0;
	in[2] = 0x5000;
	v = call_slow(&r, 0x00B0 | HC_REPS(1), pa(P_IN), 0);
	expect("nested.evmcs.flush_list.ok", v, &r, ST_OK, 1, NULL, 0, 0);
	in[1] = 1;
	v = call_slow(&r, 0x00B0 | HC_REPS(1), pa(P_IN), 0);
	expect("nested.evmcs.flush_list.flags_reserved", v, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
}

static void caps(uint32_t *rev)
{
	uint64_t basic = 0, pin = 0, proc = 0, ex = 0, en = 0;
	trap_rdmsr(0x480, &basic);
	trap_rdmsr(0x48d, &pin);
	trap_rdmsr(0x48e, &proc);
	trap_rdmsr(0x48f, &ex);
	trap_rdmsr(0x490, &en);
	*rev = (uint32_t)basic & 0x7fffffffu;
	g_pin = (uint32_t)pin;
	g_proc = (uint32_t)proc | (1u << 7) | (1u << 25) | (1u << 28) | (1u << 31);
	g_proc2 = (1u << 1) | (1u << 5) | (1u << 7);
	g_exit = (uint32_t)ex | (1u << 9) | (1u << 18) | (1u << 19) | (1u << 20) | (1u << 21);
	g_entry = (uint32_t)en | (1u << 14) | (1u << 15);
}

void checks_nested_evmcs(int nested_on)
{
	if (!nested_on || cpu_vendor() != VENDOR_INTEL) {
		ser_printf("NOTE: nested.evmcs: not applicable (%s)\n",
			   !nested_on ? "nested=off" : "not an Intel CPU");
		return;
	}
	struct cpuid_regs l4 = cpuid(0x40000004u, 0), la = cpuid(0x4000000Au, 0);
	check("nested.evmcs.cpuid_40000004.recommended", (l4.eax >> 14) & 1,
	      "leaf 0x40000004 EAX 0x%x: bit 14 (use the enlightened VMCS) clear", l4.eax);
	check("nested.evmcs.cpuid_4000000a", la.eax == (0x0101u | (1u << 17) | (1u << 18) | (1u << 19)),
	      "leaf 0x4000000A EAX 0x%x; expected eVMCS versions 1..1 (0x0101), direct virtual "
	      "flush (bit 17), the GPA-space flushes (18) and the enlightened MSR bitmap (19)", la.eax);
	if (!g_hc.page_ok) {
		ser_puts("NOTE: nested.evmcs: no hypercall page, the flush calls not tested\n");
	}
	uint32_t rev;
	caps(&rev);
	EFI_PHYSICAL_ADDRESS base = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData,
					PG_COUNT, &base))) {
		check("nested.evmcs.alloc", 0, "AllocatePages failed");
		return;
	}
	g_pg = (uint8_t *)(uintptr_t)base;
	zero(g_pg, PG_COUNT * 4096ull);
	const struct hv_info_table *info = find_hv_info();
	uint64_t hv_base = info ? info->resident_base : 0;
	build_l2();

	if (g_hc.page_ok)
		flush_calls(pga(PG_PML4) | 0x1e, 0);
	uint64_t cr4 = read_cr4();
	trap_write_cr4(cr4 | CR4_VMXE);
	*(volatile uint32_t *)pg(PG_VMXON) = rev;
	uint64_t f = irq_save();
	if (!check_eq("nested.evmcs.vmxon", (uint64_t)x_vmxon(pga(PG_VMXON)), 0)) {
		irq_restore(f);
		trap_write_cr4(cr4);
		uefi_call_wrapper(BS->FreePages, 2, base, PG_COUNT);
		return;
	}
	check_vec("nested.evmcs.assist_page.enable", trap_wrmsr(MSR_VP_ASSIST, pga(PG_ASSIST) | 1),
		  VEC_NONE);
	build_evmcs(ev(), 1);
	assist(1, pga(PG_EV));
	run_l2();
	bad_inputs(hv_base, g_hc.pa_bits ? g_hc.pa_bits : 36, rev);
	if (g_hc.page_ok) {
		flush_calls(pga(PG_PML4) | 0x1e, 1);
		gpa_flush(pga(PG_PML4) | 0x1e);
	}
	direct_flush();
	assist(0, 0);
	trap_wrmsr(MSR_VP_ASSIST, 0);
	check_eq("nested.evmcs.vmxoff", (uint64_t)x_vmxoff(), 0);
	irq_restore(f);
	trap_write_cr4(cr4);
	uefi_call_wrapper(BS->FreePages, 2, base, PG_COUNT);
}
