/*
 * checks_nested_vmx.c - the payload as a small VMX hypervisor (issue 18,
 * docs/nested.md "Nested VMX"). With hv.cfg nested=on on Intel, the guest
 * (L1) sees VMX (CPUID.1:ECX[5], IA32_FEATURE_CONTROL, the capability MSRs
 * of SDM appendix A), sets CR4.VMXE, enters VMX operation and runs an L2
 * (32-bit protected mode, paging off, unrestricted guest, on L1's EPT with
 * VPID; tests/payload/pnvmx.asm) whose every step is an exit L1 checks
 * with its exit information (SDM 28.2): CPUID (always exits), OUT to a
 * port in L1's I/O bitmap after an IN of one not in it, RDMSR/WRMSR by
 * L1's MSR bitmap, a read of an L2 GPA L1's EPT does not map (EPT
 * violation; L1 maps it and INVEPTs, L2 reads the page), a write to a
 * page L1 maps read-only (EPT violation, write, readable+executable), UD2
 * (#UD in the exception bitmap), a read of hypervisor memory L1 maps
 * (hv.efi refuses: #GP, in the bitmap), VMCALL (always exits), a software
 * interrupt L1 injects, HLT. Before and after: every VMfail case of SDM
 * 31.4 the emulation reports (VMXON twice, VMPTRLD/VMCLEAR bad address /
 * VMXON pointer / revision, VMREAD/VMWRITE unsupported or read-only field,
 * VMLAUNCH launched / VMRESUME clear, bad controls 7, bad host state 8,
 * INVEPT/INVVPID 28), a failed entry (bad guest state: exit reason 33 with
 * bit 31), #UD outside VMX operation and without CR4.VMXE, #GP on
 * clearing CR4.VMXE in VMX operation. Without nested=on or on AMD: not
 * applicable (a NOTE line; checks_vmx.c proves VMX hidden).
 */
#include "payload.h"
#include "px86.h"

#define CR4_VMXE (1ull << 13)

/* VMCS field encodings (SDM appendix B). */
enum {
	F_VPID = 0x0000, F_G_ES_SEL = 0x0800, F_H_ES_SEL = 0x0c00, F_H_CS_SEL = 0x0c02,
	F_H_SS_SEL = 0x0c04, F_H_DS_SEL = 0x0c06, F_H_FS_SEL = 0x0c08, F_H_GS_SEL = 0x0c0a,
	F_H_TR_SEL = 0x0c0c, F_IO_A = 0x2000, F_IO_B = 0x2002, F_MSR_BM = 0x2004, F_EPTP = 0x201a,
	F_G_PHYS = 0x2400, F_LINK = 0x2800, F_G_PAT = 0x2804, F_G_EFER = 0x2806,
	F_H_PAT = 0x2c00, F_H_EFER = 0x2c02, F_PIN = 0x4000, F_PROC = 0x4002, F_EXC_BM = 0x4004,
	F_EXIT_CTL = 0x400c, F_ENTRY_CTL = 0x4012, F_ENTRY_INTR = 0x4016, F_ENTRY_LEN = 0x401a,
	F_PROC2 = 0x401e, F_INSN_ERR = 0x4400, F_REASON = 0x4402, F_EXIT_INTR = 0x4404,
	F_EXIT_INTR_ERR = 0x4406, F_EXIT_LEN = 0x440c, F_G_ES_LIMIT = 0x4800,
	F_G_GDTR_LIMIT = 0x4810, F_G_IDTR_LIMIT = 0x4812, F_G_ES_AR = 0x4814,
	F_G_INTR = 0x4824, F_G_ACT = 0x4826, F_G_SYSENTER_CS = 0x482a, F_H_SYSENTER_CS = 0x4c00,
	F_CR0_MASK = 0x6000, F_CR4_MASK = 0x6002, F_CR0_SHADOW = 0x6004, F_CR4_SHADOW = 0x6006,
	F_QUAL = 0x6400, F_G_CR0 = 0x6800, F_G_CR3 = 0x6802, F_G_CR4 = 0x6804, F_G_ES_BASE = 0x6806,
	F_G_GDTR_BASE = 0x6816, F_G_IDTR_BASE = 0x6818, F_G_DR7 = 0x681a, F_G_RSP = 0x681c,
	F_G_RIP = 0x681e, F_G_RFLAGS = 0x6820, F_G_PDBG = 0x6822, F_G_SYSENTER_ESP = 0x6824,
	F_G_SYSENTER_EIP = 0x6826, F_H_CR0 = 0x6c00, F_H_CR3 = 0x6c02, F_H_CR4 = 0x6c04,
	F_H_FS_BASE = 0x6c06, F_H_GS_BASE = 0x6c08, F_H_TR_BASE = 0x6c0a, F_H_GDTR_BASE = 0x6c0c,
	F_H_IDTR_BASE = 0x6c0e, F_H_SYSENTER_ESP = 0x6c10, F_H_SYSENTER_EIP = 0x6c12,
};

int nvmx_enter(int resume, uint64_t *regs);
extern const char l2v_code[], l2v_code_end[], l2v_handler[], l2v_at_cpuid[], l2v_at_out[],
	l2v_at_rdmsr[], l2v_at_wrmsr[], l2v_at_ept_np[], l2v_at_ept_ro[], l2v_after_ept_ro[],
	l2v_at_ud2[], l2v_at_hvmem[], l2v_after_hvmem[], l2v_at_vmcall[], l2v_at_inject[],
	l2v_at_hlt[], l2v_spin[], l2v_loop[], l2v64_code[], l2v64_at_hlt[], l2v64_loop[],
	l2v64_at_dr[], l2v64_at_invlpg[], l2v64_at_rdpmc[], l2v64_at_cr8[], l2v64_at_end[];

#define L2_CODE 0x1000ull
#define L2_OFF(label) (L2_CODE + (uint64_t)((label) - l2v_code))

enum { PG_VMXON, PG_VMCS, PG_VMCS2, PG_BAD, PG_IOA, PG_IOB, PG_MSR, PG_PML4, PG_PDPT, PG_PD,
       PG_PT, PG_CODE, PG_STACK, PG_DATA, PG_RO, PG_LATE, PG_DESC, PG_COUNT };

static uint8_t *g_pg;
static uint32_t g_rev;
static uint64_t g_regs[5];
static uint32_t g_wr_failed;
static uint16_t g_exit_gdtr_limit, g_exit_idtr_limit;

static uint8_t *page(int i) { return g_pg + (uint64_t)i * 4096; }
static uint64_t pa(int i) { return (uint64_t)(uintptr_t)page(i); }

static void zero(void *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		((volatile uint8_t *)p)[i] = 0;
}

/* ---- the VMX instructions: 0 VMsucceed, 1 VMfailInvalid, 2 VMfailValid ---- */
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
static int x_vmclear(uint64_t p)
{
	uint8_t cf, zf;
	__asm__ volatile("vmclear %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "m"(p) : "cc", "memory");
	return st(cf, zf);
}
static int x_vmptrld(uint64_t p)
{
	uint8_t cf, zf;
	__asm__ volatile("vmptrld %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "m"(p) : "cc", "memory");
	return st(cf, zf);
}
static int x_vmptrst(uint64_t *p)
{
	uint8_t cf, zf;
	__asm__ volatile("vmptrst %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf), "=m"(*p) : : "cc", "memory");
	return st(cf, zf);
}
static int x_vmread(uint64_t f, uint64_t *v)
{
	uint8_t cf, zf;
	uint64_t r = 0;
	__asm__ volatile("vmread %3, %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf), "=r"(r) : "r"(f) : "cc", "memory");
	*v = r;
	return st(cf, zf);
}
static int x_vmread_mem(uint64_t f, uint64_t *v)
{
	uint8_t cf, zf;
	__asm__ volatile("vmread %3, %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf), "=m"(*v) : "r"(f) : "cc", "memory");
	return st(cf, zf);
}
static int x_vmwrite(uint64_t f, uint64_t v)
{
	uint8_t cf, zf;
	__asm__ volatile("vmwrite %3, %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "r"(f), "rm"(v) : "cc", "memory");
	return st(cf, zf);
}
static int x_invept(uint64_t type, const uint64_t *desc)
{
	uint8_t cf, zf;
	__asm__ volatile("invept %3, %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "r"(type), "m"(*(const uint64_t(*)[2])desc) : "cc", "memory");
	return st(cf, zf);
}
static int x_invvpid(uint64_t type, const uint64_t *desc)
{
	uint8_t cf, zf;
	__asm__ volatile("invvpid %3, %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "r"(type), "m"(*(const uint64_t(*)[2])desc) : "cc", "memory");
	return st(cf, zf);
}

static uint64_t rd(uint64_t f)
{
	uint64_t v = 0;
	x_vmread(f, &v);
	return v;
}
static void wr(uint64_t f, uint64_t v)
{
	if (x_vmwrite(f, v) && !g_wr_failed)
		g_wr_failed = (uint32_t)f | 0x80000000u;
}

/* A VMfailValid with error err (SDM 31.4). */
static void check_fail(const char *name, int rc, uint32_t err)
{
	uint32_t got = rc == 2 ? (uint32_t)rd(F_INSN_ERR) : 0;
	check(name, rc == 2 && got == err, "status %d (0 ok, 1 VMfailInvalid, 2 VMfailValid), error %u; expected VMfailValid %u",
	      rc, got, err);
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

static void build_l2(uint64_t hv_base)
{
	uint8_t *code = page(PG_CODE), *data = page(PG_DATA);
	zero(code, 4096);
	for (const char *s = l2v_code; s < l2v_code_end; s++)
		code[s - l2v_code] = (uint8_t)*s;
	zero(data, 4096);
	zero(page(PG_STACK), 4096);
	uint64_t *gdt = (uint64_t *)(data + 0x100); /* GDT at 0x3100 */
	gdt[1] = 0x00cf9b000000ffffull;
	gdt[2] = 0x00cf93000000ffffull;
	uint64_t h = L2_OFF(l2v_handler);
	uint64_t *idt = (uint64_t *)data; /* IDT at 0x3000: vector 0x40 */
	idt[0x40] = (h & 0xffff) | (0x08ull << 16) | (0x8eull << 40) | ((h >> 16) << 48);
	zero(page(PG_RO), 4096);
	*(volatile uint32_t *)page(PG_RO) = 0x0badf00d;
	*(volatile uint32_t *)page(PG_LATE) = 0xcafe5000;

	/* L1's EPT (SDM 29.3.2): RWX tables, WB leaves (type 6). */
	zero(page(PG_PML4), 4 * 4096);
	*(volatile uint64_t *)page(PG_PML4) = pa(PG_PDPT) | 7;
	*(volatile uint64_t *)page(PG_PDPT) = pa(PG_PD) | 7;
	*(volatile uint64_t *)page(PG_PD) = pa(PG_PT) | 7;
	volatile uint64_t *pt = (volatile uint64_t *)page(PG_PT);
	pt[1] = pa(PG_CODE) | 0x37;
	pt[2] = pa(PG_STACK) | 0x37;
	pt[3] = pa(PG_DATA) | 0x37;
	pt[4] = pa(PG_RO) | 0x35; /* read + execute */
	pt[5] = 0;               /* not yet */
	pt[6] = hv_base ? hv_base | 0x37 : 0;

	/* Bitmaps: OUT/IN port 0x80; RDMSR 0x174, WRMSR 0x175 (SDM 25.6.4, 25.6.9). */
	zero(page(PG_IOA), 3 * 4096);
	page(PG_IOA)[0x80 / 8] |= 1u << (0x80 % 8);
	page(PG_MSR)[0x174 / 8] |= 1u << (0x174 % 8);
	page(PG_MSR)[2048 + 0x175 / 8] |= 1u << (0x175 % 8);
}

static uint32_t g_pin, g_proc, g_proc2, g_exit, g_entry;

/* The good VMCS: L2 at its first instruction, L1's host state as now. */
static void build_vmcs(void)
{
	struct dtr gdtr, idtr;
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
	uint64_t pat = 0, efer = 0, fs = 0, gs = 0;
	trap_rdmsr(0x277, &pat);
	trap_rdmsr(0xc0000080u, &efer);
	trap_rdmsr(0xc0000100u, &fs);
	trap_rdmsr(0xc0000101u, &gs);
	g_wr_failed = 0;
	wr(F_PIN, g_pin);
	wr(F_PROC, g_proc);
	wr(F_PROC2, g_proc2);
	wr(F_EXIT_CTL, g_exit);
	wr(F_ENTRY_CTL, g_entry);
	wr(F_EXC_BM, (1u << 6) | (1u << 13));
	wr(F_IO_A, pa(PG_IOA));
	wr(F_IO_B, pa(PG_IOB));
	wr(F_MSR_BM, pa(PG_MSR));
	wr(F_EPTP, pa(PG_PML4) | 0x1e); /* WB, 4-level */
	wr(F_VPID, 1);
	wr(F_ENTRY_INTR, 0);
	wr(F_CR0_MASK, 0);
	wr(F_CR4_MASK, 0);
	wr(F_CR0_SHADOW, 0);
	wr(F_CR4_SHADOW, 0);
	/* Host: L1 as it is. TR may be null under OVMF: any non-null selector
	 * (a VM exit loads TR from these fields, SDM 28.5.2). */
	for (int i = 0; i < 6; i++)
		wr(F_H_ES_SEL + 2 * i, sel_of(i) & ~7u);
	uint16_t tr = sel_of(6);
	wr(F_H_TR_SEL, tr ? tr : 0x40);
	wr(F_H_CR0, read_cr0());
	wr(F_H_CR3, read_cr3());
	wr(F_H_CR4, read_cr4());
	wr(F_H_FS_BASE, fs);
	wr(F_H_GS_BASE, gs);
	wr(F_H_TR_BASE, 0);
	wr(F_H_GDTR_BASE, gdtr.base);
	wr(F_H_IDTR_BASE, idtr.base);
	wr(F_H_SYSENTER_CS, 0);
	wr(F_H_SYSENTER_ESP, 0);
	wr(F_H_SYSENTER_EIP, 0);
	wr(F_H_PAT, pat);
	wr(F_H_EFER, efer);
	/* Guest: 32-bit protected mode, flat, paging off (SDM 26.3.1). */
	static const uint32_t ar[8] = { 0xc093, 0xc09b, 0xc093, 0xc093, 0x10000, 0x10000, 0x10000, 0x8b };
	for (int i = 0; i < 8; i++) {
		wr(F_G_ES_SEL + 2 * i, i == 1 ? 0x08 : i < 4 ? 0x10 : 0);
		wr(F_G_ES_LIMIT + 2 * i, i == 7 ? 0x67 : 0xffffffffu);
		wr(F_G_ES_AR + 2 * i, ar[i]);
		wr(F_G_ES_BASE + 2 * i, 0);
	}
	wr(F_G_GDTR_BASE, 0x3100);
	wr(F_G_GDTR_LIMIT, 23);
	wr(F_G_IDTR_BASE, 0x3000);
	wr(F_G_IDTR_LIMIT, 0x7ff);
	wr(F_G_CR0, 0x31); /* PE, ET, NE */
	wr(F_G_CR3, 0);
	wr(F_G_CR4, CR4_VMXE);
	wr(F_G_DR7, 0x400);
	wr(F_G_RSP, 0x3000);
	wr(F_G_RIP, L2_CODE);
	wr(F_G_RFLAGS, 2);
	wr(F_G_PDBG, 0);
	wr(F_G_INTR, 0);
	wr(F_G_ACT, 0);
	wr(F_G_SYSENTER_CS, 0);
	wr(F_G_SYSENTER_ESP, 0);
	wr(F_G_SYSENTER_EIP, 0);
	wr(F_G_PAT, 0x0007040600070406ull);
	wr(F_G_EFER, 0);
	wr(F_LINK, ~0ull);
}

/* One exit of L2: reason and guest RIP as expected. */
static int exit_at(const char *name, int rc, uint32_t reason, uint64_t rip)
{
	uint32_t r = (uint32_t)rd(F_REASON);
	uint64_t at = rd(F_G_RIP);
	return check(name, rc == 0 && r == reason && at == rip,
		     "entry status %d, exit reason 0x%x at RIP 0x%lx; expected reason 0x%x at 0x%lx (qual 0x%lx)",
		     rc, r, (unsigned long)at, reason, (unsigned long)rip, (unsigned long)rd(F_QUAL));
}

/* A VM exit sets the GDTR and IDTR limits to 0xFFFF (SDM 28.5.2): L1
 * puts its own back, as KVM does. */
static int enter(int resume)
{
	struct dtr gdtr, idtr;
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
	struct dtr g2, i2;
	int rc = nvmx_enter(resume, g_regs);
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(g2), "=m"(i2));
	__asm__ volatile("lgdt %0; lidt %1" : : "m"(gdtr), "m"(idtr));
	if (rc == 0) {
		g_exit_gdtr_limit = g2.limit;
		g_exit_idtr_limit = i2.limit;
	}
	return rc;
}

static int resume_at(uint64_t rip)
{
	wr(F_G_RIP, rip);
	return enter(1);
}

static int resume_next(void) { return resume_at(rd(F_G_RIP) + rd(F_EXIT_LEN)); }
static void intr_exits(const char *n1, const char *n2, const char *n3, uint64_t rip);

static void run_l2(uint64_t hv_base)
{
	/* Bad controls, host and guest state first (SDM 26.2, 26.3). */
	check_fail("nested.vmx.vmresume.clear.fail5", enter(1), 5);
	wr(F_PIN, g_pin | (1u << 6)); /* the preemption timer: not offered */
	check_fail("nested.vmx.entry.bad_pin.fail7", enter(0), 7);
	wr(F_PIN, g_pin);
	wr(F_ENTRY_INTR, 0x80000000u | (3u << 8) | 40); /* an exception vector above 31 */
	check_fail("nested.vmx.entry.bad_injection.fail7", enter(0), 7);
	wr(F_ENTRY_INTR, 0);
	wr(F_EPTP, pa(PG_PML4) | 0x10); /* UC, 3-level: not offered */
	check_fail("nested.vmx.entry.bad_eptp.fail7", enter(0), 7);
	wr(F_EPTP, pa(PG_PML4) | 0x1e);
	if (hv_base) { /* an MSR bitmap in hypervisor memory: refused, not read */
		wr(F_MSR_BM, hv_base);
		check_fail("nested.vmx.entry.msr_bitmap_hv_memory.fail7", enter(0), 7);
		wr(F_MSR_BM, pa(PG_MSR));
	}
	uint64_t htr = rd(F_H_TR_SEL);
	wr(F_H_TR_SEL, 0);
	check_fail("nested.vmx.entry.host_tr_null.fail8", enter(0), 8);
	wr(F_H_TR_SEL, htr);
	wr(F_G_RFLAGS, 0); /* bit 1 must be 1 */
	int rc = enter(0);
	uint32_t r = (uint32_t)rd(F_REASON);
	check("nested.vmx.entry.bad_guest.exit33", rc == 0 && r == 0x80000021u && rd(F_QUAL) == 0,
	      "status %d, exit reason 0x%x qual 0x%lx; expected a VM-entry failure 0x80000021, qual 0",
	      rc, r, (unsigned long)rd(F_QUAL));
	wr(F_G_RFLAGS, 2);
	/* A guest-state check hv.efi leaves to the CPU (SDM 26.3.1.2: a limit
	 * above 0xFFFFF needs G set): the CPU's failed entry of vmcs02 reaches
	 * L1 the same way. */
	wr(F_G_ES_AR + 2, 0x409b);
	rc = enter(0);
	r = (uint32_t)rd(F_REASON);
	check("nested.vmx.entry.bad_guest_cpu.exit33", rc == 0 && r == 0x80000021u,
	      "status %d, exit reason 0x%x; expected a VM-entry failure 0x80000021", rc, r);
	wr(F_G_ES_AR + 2, 0xc09b);

	/* L2 runs: each exit with its fields. */
	rc = enter(0);
	if (!exit_at("nested.vmx.l2.cpuid.exit", rc, 10, L2_OFF(l2v_at_cpuid)))
		return;
	check_eq("nested.vmx.l2.cpuid.insn_len", rd(F_EXIT_LEN), 2);
	/* vmcs02 kept between entries (vmx_nested.c seg_sync): L1's VMWRITE
	 * of a segment field between exits reaches L2 (the exit reads it
	 * back from vmcs02: a stale one would give the old FS base). */
	uint64_t fsb = rd(F_G_ES_BASE + 2 * 4);
	wr(F_G_ES_BASE + 2 * 4, 0x12345000);
	rc = resume_at(rd(F_G_RIP));
	exit_at("nested.vmx.l2.vmwrite_seg.exit", rc, 10, L2_OFF(l2v_at_cpuid));
	check_eq("nested.vmx.l2.vmwrite_seg.fs_base", rd(F_G_ES_BASE + 2 * 4), 0x12345000);
	wr(F_G_ES_BASE + 2 * 4, fsb);
	rc = resume_at(rd(F_G_RIP));
	exit_at("nested.vmx.l2.vmwrite_seg.restored", rc, 10, L2_OFF(l2v_at_cpuid));
	check_eq("nested.vmx.l2.vmwrite_seg.fs_base_restored", rd(F_G_ES_BASE + 2 * 4), fsb);
	check_fail("nested.vmx.vmlaunch.launched.fail4", enter(0), 4);
	rc = resume_next();
	if (!exit_at("nested.vmx.l2.io.exit", rc, 30, L2_OFF(l2v_at_out)))
		return;
	check_eq("nested.vmx.l2.io.qual", rd(F_QUAL), (0x80ull << 16) | 0x40); /* OUT imm8, 1 byte */
	check_eq("nested.vmx.l2.io.insn_len", rd(F_EXIT_LEN), 2);
	rc = resume_next();
	if (!exit_at("nested.vmx.l2.rdmsr.exit", rc, 31, L2_OFF(l2v_at_rdmsr)))
		return;
	check_eq("nested.vmx.l2.rdmsr.rcx", g_regs[1] & 0xffffffffu, 0x174);
	rc = resume_next();
	if (!exit_at("nested.vmx.l2.wrmsr.exit", rc, 32, L2_OFF(l2v_at_wrmsr)))
		return;
	rc = resume_next();
	if (!exit_at("nested.vmx.l2.ept.not_present", rc, 48, L2_OFF(l2v_at_ept_np)))
		return;
	uint64_t q = rd(F_QUAL);
	check("nested.vmx.l2.ept.not_present.qual", (q & 0x3f) == 1 && rd(F_G_PHYS) == 0x5000,
	      "qualification 0x%lx, GPA 0x%lx; expected a read (bit 0), nothing allowed (5:3), GPA 0x5000",
	      (unsigned long)q, (unsigned long)rd(F_G_PHYS));
	/* Map it write-only first: an EPT misconfiguration (SDM 29.3.3.1,
	 * exit 49 with the guest-physical address). */
	uint64_t desc[2] = { pa(PG_PML4) | 0x1e, 0 };
	((volatile uint64_t *)page(PG_PT))[5] = pa(PG_LATE) | 0x32;
	x_invept(2, desc);
	rc = resume_at(rd(F_G_RIP));
	if (!exit_at("nested.vmx.l2.ept.misconfig", rc, 49, L2_OFF(l2v_at_ept_np)))
		return;
	check_eq("nested.vmx.l2.ept.misconfig.gpa", rd(F_G_PHYS), 0x5000);
	/* Map it, INVEPT (single context), resume: L2 reads the page. */
	((volatile uint64_t *)page(PG_PT))[5] = pa(PG_LATE) | 0x37;
	check_eq("nested.vmx.invept.single.ok", (uint64_t)x_invept(1, desc), 0);
	rc = resume_at(rd(F_G_RIP));
	if (!exit_at("nested.vmx.l2.ept.write_ro", rc, 48, L2_OFF(l2v_at_ept_ro)))
		return;
	q = rd(F_QUAL);
	check("nested.vmx.l2.ept.write_ro.qual", (q & 0x3f) == 0x2a && rd(F_G_PHYS) == 0x4000,
	      "qualification 0x%lx, GPA 0x%lx; expected a write (bit 1), readable+executable (3, 5), GPA 0x4000",
	      (unsigned long)q, (unsigned long)rd(F_G_PHYS));
	rc = resume_at(L2_OFF(l2v_after_ept_ro));
	if (!exit_at("nested.vmx.l2.ud.exit", rc, 0, L2_OFF(l2v_at_ud2)))
		return;
	check_eq("nested.vmx.l2.ud.intr_info", rd(F_EXIT_INTR) & 0x80000fffu, 0x80000306u);
	rc = resume_at(L2_OFF(l2v_at_hvmem));
	if (hv_base) {
		if (!exit_at("nested.vmx.l2.hv_memory.gp", rc, 0, L2_OFF(l2v_at_hvmem)))
			return;
		check("nested.vmx.l2.hv_memory.gp.info",
		      (rd(F_EXIT_INTR) & 0x80000fffu) == 0x80000b0du && rd(F_EXIT_INTR_ERR) == 0,
		      "interruption info 0x%lx error 0x%lx: expected #GP(0) (0x80000b0d)",
		      (unsigned long)rd(F_EXIT_INTR), (unsigned long)rd(F_EXIT_INTR_ERR));
		rc = resume_at(L2_OFF(l2v_after_hvmem));
	} else {
		ser_puts("NOTE: nested.vmx.l2.hv_memory: no hv.efi info table, not tested\n");
		/* L1's EPT does not map 0x6000: an EPT violation instead. */
		if (rc == 0 && rd(F_REASON) == 48)
			rc = resume_at(L2_OFF(l2v_after_hvmem));
	}
	if (!exit_at("nested.vmx.l2.vmcall.exit", rc, 18, L2_OFF(l2v_at_vmcall)))
		return;
	check_eq("nested.vmx.l2.vmcall.insn_len", rd(F_EXIT_LEN), 3);
	/* INT 0x40 as a software interrupt of length 2 (SDM 26.6.1.3). */
	wr(F_ENTRY_INTR, 0x80000000u | (4u << 8) | 0x40);
	wr(F_ENTRY_LEN, 2);
	rc = resume_at(L2_OFF(l2v_at_inject));
	if (!exit_at("nested.vmx.l2.hlt.exit", rc, 12, L2_OFF(l2v_at_hlt)))
		return;
	volatile uint32_t *res = (volatile uint32_t *)(page(PG_DATA) + 0x800);
	check_eq("nested.vmx.l2.inject.delivered", res[0], 0x40);
	check_eq("nested.vmx.l2.ept.mapped_after_invept", res[2], 0xcafe5000u);
	check_eq("nested.vmx.l2.ro_page.read", res[1], 0x0badf00du);
	check_eq("nested.vmx.entry_intr.cleared_by_exit", rd(F_ENTRY_INTR) >> 31, 0);
	intr_exits("nested.vmx.l2.ext_intr.ack_exit", "nested.vmx.l2.intr_window.exit",
		   "nested.vmx.l2.nmi_window.exit", L2_OFF(l2v_loop));
	check("nested.vmx.exit.host_dtr_limits", g_exit_gdtr_limit == 0xffff && g_exit_idtr_limit == 0xffff,
	      "GDTR/IDTR limits after a VM exit 0x%x/0x%x, expected 0xffff (SDM 28.5.2)",
	      g_exit_gdtr_limit, g_exit_idtr_limit);
}

/* An external interrupt while L2 runs, with L1's external-interrupt
 * exiting and acknowledge-on-exit (SDM 25.6.1, 28.2.2: the vector in the
 * exit interruption information, the interrupt acknowledged: L1 EOIs);
 * then interrupt-window exiting (25.6.2) with L2's RFLAGS.IF set. L2
 * loops at rip without exits of its own. */
static void intr_exits(const char *n1, const char *n2, const char *n3, uint64_t rip)
{
	uint64_t apic_base = 0;
	trap_rdmsr(0x1b, &apic_base);
	int x2 = (apic_base >> 10) & 1;
	uint64_t mmio = apic_base & 0xffffff000ull;
	const uint32_t vec = 0x5a;
	wr(F_PIN, g_pin | 1u);
	wr(F_EXIT_CTL, g_exit | (1u << 15));
	/* L2's RFLAGS.IF set: the exit does not depend on it (SDM 25.6.1),
	 * but Bochs 2.7 recomputes its interrupt mask only when IF changes. */
	wr(F_G_RFLAGS, 0x202);
	if (x2)
		__asm__ volatile("wrmsr" : : "c"(0x830), "a"(0x40000u | vec), "d"(0) : "memory");
	else
		*(volatile uint32_t *)(uintptr_t)(mmio + 0x300) = 0x40000u | vec;
	/* The firmware's own interrupts, pending while L1 runs with IF clear,
	 * may come first: acknowledged by the exit too, EOIed, skipped. */
	int rc = 0;
	uint32_t r = 0, info = 0;
	for (int i = 0; i < 8; i++) {
		rc = resume_at(rip);
		r = (uint32_t)rd(F_REASON);
		info = (uint32_t)rd(F_EXIT_INTR);
		if (rc == 0 && r == 1 && (info & 0x80000000u)) {
			if (x2)
				__asm__ volatile("wrmsr" : : "c"(0x80b), "a"(0), "d"(0) : "memory");
			else
				*(volatile uint32_t *)(uintptr_t)(mmio + 0xb0) = 0;
		}
		if (rc || r != 1 || (info & 0xff) == vec)
			break;
	}
	check(n1, rc == 0 && r == 1 && info == (0x80000000u | vec) && rd(F_G_RIP) == rip,
	      "status %d, exit reason 0x%x, interruption info 0x%x at RIP 0x%lx; expected 1, 0x%x at 0x%lx",
	      rc, r, info, (unsigned long)rd(F_G_RIP), 0x80000000u | vec, (unsigned long)rip);
	/* Interrupt-window (25.6.2) and NMI-window exiting (with NMI exiting
	 * and virtual NMIs; no virtual-NMI blocking): open at once. External
	 * interrupts keep exiting meanwhile (never into L2). */
	static const struct { uint32_t proc, pin, reason; } win[2] = {
		{ 1u << 2, 1u, 7 }, { 1u << 22, 1u | (1u << 3) | (1u << 5), 8 } };
	for (int w = 0; w < 2; w++) {
		wr(F_PROC, g_proc | win[w].proc);
		wr(F_PIN, g_pin | win[w].pin);
		for (int i = 0; i < 8; i++) {
			rc = resume_at(rip);
			r = (uint32_t)rd(F_REASON);
			if (rc || r != 1)
				break;
			if (x2) /* an interrupt of the firmware first: EOI, again */
				__asm__ volatile("wrmsr" : : "c"(0x80b), "a"(0), "d"(0) : "memory");
			else
				*(volatile uint32_t *)(uintptr_t)(mmio + 0xb0) = 0;
		}
		check(w ? n3 : n2, rc == 0 && r == win[w].reason && rd(F_G_RIP) == rip,
		      "status %d, exit reason 0x%x at 0x%lx; expected %u (%s window) at 0x%lx", rc, r,
		      (unsigned long)rd(F_G_RIP), win[w].reason, w ? "NMI" : "interrupt", (unsigned long)rip);
	}
	wr(F_PROC, g_proc);
	wr(F_G_RFLAGS, 2);
	wr(F_PIN, g_pin);
	wr(F_EXIT_CTL, g_exit);
}

/* L2 without L1's EPT (SDM 25.6.2: no EPT, no unrestricted guest): a
 * 64-bit L2 on L1's own CR3, in L1's physical space; its exits as with
 * EPT. L1's current VMCS is the second region (VMCLEAR/VMPTRLD). */
static void no_ept(uint64_t hv_base)
{
	*(volatile uint32_t *)page(PG_VMCS2) = g_rev;
	if (!check_eq("nested.vmx.no_ept.vmptrld", (uint64_t)(x_vmclear(pa(PG_VMCS2)) | x_vmptrld(pa(PG_VMCS2))), 0))
		return;
	build_vmcs();
	uint64_t efer = 0;
	trap_rdmsr(0xc0000080u, &efer);
	struct dtr gdtr, idtr;
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
	wr(F_PROC2, 1u << 5); /* VPID only */
	wr(F_ENTRY_CTL, g_entry | (1u << 9));
	wr(F_G_CR0, read_cr0());
	wr(F_G_CR3, read_cr3());
	wr(F_G_CR4, read_cr4());
	wr(F_G_EFER, efer);
	for (int i = 0; i < 4; i++) {
		wr(F_G_ES_SEL + 2 * i, sel_of(i == 1 ? 1 : 2) & ~7u);
		wr(F_G_ES_AR + 2 * i, i == 1 ? 0xa09b : 0xc093);
	}
	wr(F_G_GDTR_BASE, gdtr.base);
	wr(F_G_GDTR_LIMIT, gdtr.limit);
	wr(F_G_IDTR_BASE, idtr.base);
	wr(F_G_IDTR_LIMIT, idtr.limit);
	wr(F_G_RSP, pa(PG_STACK) + 4096);
	wr(F_G_RIP, (uint64_t)(uintptr_t)l2v64_code);
	check("nested.vmx.no_ept.vmwrite", !g_wr_failed, "VMWRITE failed for 0x%x", g_wr_failed & 0xffff);
	int rc = enter(0);
	if (!exit_at("nested.vmx.no_ept.cpuid.exit", rc, 10, (uint64_t)(uintptr_t)l2v64_code))
		return;
	rc = resume_next();
	if (!exit_at("nested.vmx.no_ept.hlt.exit", rc, 12, (uint64_t)(uintptr_t)l2v64_at_hlt))
		return;
	/* Exits only L1's controls cause, passed on (MOV DR, INVLPG, RDPMC,
	 * CR8 load: SDM 25.6.2), with their qualifications (28.2.1). */
	wr(F_PROC, g_proc | (1u << 9) | (1u << 11) | (1u << 19) | (1u << 23));
	rc = resume_next();
	if (!exit_at("nested.vmx.no_ept.mov_dr.exit", rc, 29, (uint64_t)(uintptr_t)l2v64_at_dr))
		return;
	check_eq("nested.vmx.no_ept.mov_dr.qual", rd(F_QUAL), 7 | (1u << 4)); /* DR7, MOV from DR, RAX */
	rc = resume_next();
	if (!exit_at("nested.vmx.no_ept.invlpg.exit", rc, 14, (uint64_t)(uintptr_t)l2v64_at_invlpg))
		return;
	check_eq("nested.vmx.no_ept.invlpg.qual", rd(F_QUAL), pa(PG_STACK) + 4096);
	rc = resume_next();
	if (!exit_at("nested.vmx.no_ept.rdpmc.exit", rc, 15, (uint64_t)(uintptr_t)l2v64_at_rdpmc))
		return;
	rc = resume_next();
	if (!exit_at("nested.vmx.no_ept.cr8.exit", rc, 28, (uint64_t)(uintptr_t)l2v64_at_cr8))
		return;
	check_eq("nested.vmx.no_ept.cr8.qual", rd(F_QUAL), 8); /* CR8, MOV to, RAX */
	rc = resume_next();
	if (!exit_at("nested.vmx.no_ept.end.exit", rc, 12, (uint64_t)(uintptr_t)l2v64_at_end))
		return;
	wr(F_PROC, g_proc);
	intr_exits("nested.vmx.no_ept.ext_intr.ack_exit", "nested.vmx.no_ept.intr_window.exit",
		   "nested.vmx.no_ept.nmi_window.exit", (uint64_t)(uintptr_t)l2v64_loop);
	(void)hv_base;
}

static void caps(void)
{
	uint64_t basic = 0, v = 0;
	check("nested.vmx.caps.basic", trap_rdmsr(0x480, &basic) == VEC_NONE && (basic & 0x7fffffffu) &&
					       !(basic & 0x80000000u) && ((basic >> 32) & 0x1fff) == 4096 &&
					       ((basic >> 50) & 15) == 6 && ((basic >> 55) & 1),
	      "IA32_VMX_BASIC 0x%lx: expected a revision, 4096-byte region, WB, TRUE controls",
	      (unsigned long)basic);
	g_rev = (uint32_t)basic & 0x7fffffffu;
	uint64_t pin = 0, proc = 0, proc2 = 0, ex = 0, en = 0, ept = 0;
	trap_rdmsr(0x48d, &pin);
	trap_rdmsr(0x48e, &proc);
	trap_rdmsr(0x48b, &proc2);
	trap_rdmsr(0x48f, &ex);
	trap_rdmsr(0x490, &en);
	trap_rdmsr(0x48c, &ept);
	check("nested.vmx.caps.proc2_small", (proc2 >> 32) == 0xa2 && (uint32_t)proc2 == 0,
	      "IA32_VMX_PROCBASED_CTLS2 0x%lx: expected exactly EPT, VPID, unrestricted guest",
	      (unsigned long)proc2);
	check("nested.vmx.caps.proc", ((proc >> 32) & 0x92000080u) == 0x92000080u && !((proc >> 32) & (1u << 27)),
	      "TRUE_PROCBASED 0x%lx: expected HLT, I/O and MSR bitmaps, secondary; no MTF",
	      (unsigned long)proc);
	check("nested.vmx.caps.ept_vpid", (ept & 0x6114040ull) == 0x6114040ull && !(ept & (1ull << 17)) &&
						  !(ept & (1ull << 21)),
	      "IA32_VMX_EPT_VPID_CAP 0x%lx: expected 4-level, WB, 2M, INVEPT single/all; no 1G, no A/D",
	      (unsigned long)ept);
	check_vec("nested.vmx.caps.vmfunc.gp", trap_rdmsr(0x491, &v), VEC_GP);
	check_vec("nested.vmx.caps.write.gp", trap_wrmsr(0x480, basic), VEC_GP);
	uint64_t f0 = 0;
	trap_rdmsr(0x488, &f0);
	check_eq("nested.vmx.caps.cr4_fixed0_vmxe", f0, CR4_VMXE);
	/* The controls L1 uses: the TRUE allowed-0 bits plus what it wants. */
	g_pin = (uint32_t)pin;
	g_proc = (uint32_t)proc | (1u << 7) | (1u << 25) | (1u << 28) | (1u << 31);
	g_proc2 = (1u << 1) | (1u << 5) | (1u << 7);
	g_exit = (uint32_t)ex | (1u << 9) | (1u << 18) | (1u << 19) | (1u << 20) | (1u << 21);
	g_entry = (uint32_t)en | (1u << 14) | (1u << 15);
}

/* The VMX instructions' failures with a current VMCS (SDM 31.4). */
static void failures(uint64_t hv_base)
{
	uint64_t v = 0;
	check_fail("nested.vmx.vmxon.in_vmx.fail15", x_vmxon(pa(PG_VMXON)), 15);
	check_fail("nested.vmx.vmptrld.unaligned.fail9", x_vmptrld(pa(PG_BAD) + 8), 9);
	check_fail("nested.vmx.vmptrld.vmxon_ptr.fail10", x_vmptrld(pa(PG_VMXON)), 10);
	*(volatile uint32_t *)page(PG_BAD) = g_rev ^ 1;
	check_fail("nested.vmx.vmptrld.bad_revision.fail11", x_vmptrld(pa(PG_BAD)), 11);
	check_fail("nested.vmx.vmclear.unaligned.fail2", x_vmclear(pa(PG_BAD) + 16), 2);
	check_fail("nested.vmx.vmclear.vmxon_ptr.fail3", x_vmclear(pa(PG_VMXON)), 3);
	/* hv.efi's own memory is never a VMCS (nor read or written as one). */
	if (hv_base) {
		check_fail("nested.vmx.vmptrld.hv_memory.fail9", x_vmptrld(hv_base), 9);
		check_fail("nested.vmx.vmclear.hv_memory.fail2", x_vmclear(hv_base), 2);
	}
	check_fail("nested.vmx.vmread.unsupported.fail12", x_vmread(0x2028, &v), 12); /* VMREAD bitmap: shadowing not offered */
	check_fail("nested.vmx.vmwrite.read_only.fail13", x_vmwrite(F_REASON, 1), 13);
	uint64_t cur = 0;
	check("nested.vmx.vmptrst", x_vmptrst(&cur) == 0 && cur == pa(PG_VMCS),
	      "VMPTRST gave 0x%lx, expected 0x%lx", (unsigned long)cur, (unsigned long)pa(PG_VMCS));
	/* VMREAD/VMWRITE: a 64-bit field's high half (access type 1), memory operands. */
	check_eq("nested.vmx.vmwrite.ok", (uint64_t)x_vmwrite(F_G_EFER, 0x1122334455667788ull), 0);
	check("nested.vmx.vmread.high_half", x_vmread(F_G_EFER + 1, &v) == 0 && v == 0x11223344u,
	      "VMREAD 0x2807 gave 0x%lx", (unsigned long)v);
	v = 0;
	check("nested.vmx.vmread.memory", x_vmread_mem(F_G_EFER, &v) == 0 && v == 0x1122334455667788ull,
	      "VMREAD to memory gave 0x%lx", (unsigned long)v);
	check("nested.vmx.vmread.width16", x_vmwrite(F_VPID, 0x12345) == 0 && rd(F_VPID) == 0x2345,
	      "VMREAD of a 16-bit field after writing 0x12345 gave 0x%lx", (unsigned long)rd(F_VPID));
	uint64_t d[2] = { 0, 0 };
	check_fail("nested.vmx.invept.bad_type.fail28", x_invept(0, d), 28);
	check_fail("nested.vmx.invvpid.vpid0.fail28", x_invvpid(1, d), 28);
	check_eq("nested.vmx.invvpid.all.ok", (uint64_t)x_invvpid(2, d), 0);
}

void checks_nested_vmx(int expected)
{
	if (!expected || cpu_vendor() != VENDOR_INTEL) {
		ser_printf("NOTE: nested.vmx: not applicable (%s)\n",
			   !expected ? "nested=off" : "not an Intel CPU");
		return;
	}
	struct cpuid_regs c1 = cpuid(1, 0);
	check("nested.vmx.cpuid.vmx", (c1.ecx >> 5) & 1, "CPUID.1 ECX 0x%x: VMX clear", c1.ecx);
	if (!((c1.ecx >> 5) & 1))
		return;
	uint64_t fc = 0;
	check("nested.vmx.feature_control", trap_rdmsr(0x3a, &fc) == VEC_NONE && fc == 5,
	      "IA32_FEATURE_CONTROL 0x%lx: expected locked, VMXON outside SMX", (unsigned long)fc);
	check_vec("nested.vmx.feature_control.write.gp", trap_wrmsr(0x3a, 5), VEC_GP);
	caps();

	EFI_PHYSICAL_ADDRESS base = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData,
					PG_COUNT, &base))) {
		check("nested.vmx.alloc", 0, "AllocatePages failed");
		return;
	}
	g_pg = (uint8_t *)(uintptr_t)base;
	zero(g_pg, PG_COUNT * 4096ull);
	const struct hv_info_table *info = find_hv_info();
	uint64_t hv_base = info ? info->resident_base : 0;

	uint64_t cr4 = read_cr4();
	check_vec("nested.vmx.vmxon.no_vmxe.ud", trap_insn(INSN_VMXON, page(PG_BAD)), VEC_UD);
	check_vec("nested.vmx.cr4.set_vmxe", trap_write_cr4(cr4 | CR4_VMXE), VEC_NONE);
	check("nested.vmx.cr4.reads_vmxe", (read_cr4() & CR4_VMXE) != 0, "CR4 0x%lx", (unsigned long)read_cr4());
	check_vec("nested.vmx.vmptrld.outside.ud", trap_insn(INSN_VMPTRLD, page(PG_BAD)), VEC_UD);
	*(volatile uint32_t *)page(PG_VMXON) = g_rev ^ 2;
	check_eq("nested.vmx.vmxon.bad_revision.failinvalid", (uint64_t)x_vmxon(pa(PG_VMXON)), 1);
	*(volatile uint32_t *)page(PG_VMXON) = g_rev;
	check_eq("nested.vmx.vmxon.unaligned.failinvalid", (uint64_t)x_vmxon(pa(PG_VMXON) + 0x10), 1);
	uint64_t f = irq_save();
	if (!check_eq("nested.vmx.vmxon.ok", (uint64_t)x_vmxon(pa(PG_VMXON)), 0)) {
		irq_restore(f);
		trap_write_cr4(cr4);
		return;
	}
	check_eq("nested.vmx.vmxon.twice.failinvalid", (uint64_t)x_vmxon(pa(PG_VMXON)), 1);
	check_vec("nested.vmx.cr4.clear_in_vmx.gp", trap_write_cr4(cr4 & ~CR4_VMXE), VEC_GP);
	uint64_t v = 0;
	check_eq("nested.vmx.vmread.no_current.failinvalid", (uint64_t)x_vmread(F_REASON, &v), 1);
	*(volatile uint32_t *)page(PG_VMCS) = g_rev;
	check_eq("nested.vmx.vmclear.ok", (uint64_t)x_vmclear(pa(PG_VMCS)), 0);
	check_eq("nested.vmx.vmptrld.ok", (uint64_t)x_vmptrld(pa(PG_VMCS)), 0);
	failures(hv_base);

	build_l2(hv_base);
	build_vmcs();
	check("nested.vmx.vmwrite.all", !g_wr_failed, "VMWRITE failed for field 0x%x",
	      g_wr_failed & 0xffff);
	run_l2(hv_base);

	/* A second VMCS, L2 without EPT; then back to the first. */
	no_ept(hv_base);
	check_eq("nested.vmx.vmptrld.back", (uint64_t)x_vmptrld(pa(PG_VMCS)), 0);
	/* VMCLEAR of the current VMCS leaves none current (SDM 31.3). */
	check_eq("nested.vmx.vmclear.current", (uint64_t)x_vmclear(pa(PG_VMCS)), 0);
	check_eq("nested.vmx.vmclear.no_current.failinvalid", (uint64_t)x_vmread(F_REASON, &v), 1);
	/* The cache went back to the region: loading it again sees L2's state. */
	check("nested.vmx.vmptrld.reload", x_vmptrld(pa(PG_VMCS)) == 0 && rd(F_REASON) == 8,
	      "exit reason after VMCLEAR + VMPTRLD 0x%lx, expected 8 (the last exit: NMI window)",
	      (unsigned long)rd(F_REASON));
	check_eq("nested.vmx.vmxoff.ok", (uint64_t)x_vmxoff(), 0);
	check_vec("nested.vmx.vmptrld.after_vmxoff.ud", trap_insn(INSN_VMPTRLD, page(PG_BAD)), VEC_UD);
	irq_restore(f);
	check_vec("nested.vmx.cr4.clear_vmxe", trap_write_cr4(cr4 & ~CR4_VMXE), VEC_NONE);
	uefi_call_wrapper(BS->FreePages, 2, base, PG_COUNT);
}

/* ---- for checks_vsm_prot.c: VMX sessions under VSM -----------------------
 * A whole VMX session per call (VMXON, a fresh current VMCS, the body,
 * VMCLEAR, VMXOFF), so that VTL 0 leaves no VMX operation behind when it
 * calls VTL 1 between calls. Returns the body's result, 0xffff when VMX is
 * not there, 0xfffe/0xfffd when the pages or the session could not be had. */
static uint32_t vmx_session(uint32_t (*body)(uint64_t gpa, uint32_t *val), uint64_t gpa,
			    uint32_t *val)
{
	if (cpu_vendor() != VENDOR_INTEL || !((cpuid(1, 0).ecx >> 5) & 1) || !g_proc)
		return 0xffff; /* g_proc: the controls checks_nested_vmx found */
	uint64_t basic = 0;
	trap_rdmsr(0x480, &basic);
	g_rev = (uint32_t)basic & 0x7fffffffu;
	EFI_PHYSICAL_ADDRESS base = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData,
					PG_COUNT, &base)))
		return 0xfffe;
	g_pg = (uint8_t *)(uintptr_t)base;
	zero(g_pg, PG_COUNT * 4096ull);
	uint32_t r = 0xfffd;
	uint64_t cr4 = read_cr4(), f = irq_save();
	trap_write_cr4(cr4 | CR4_VMXE);
	*(volatile uint32_t *)page(PG_VMXON) = g_rev;
	*(volatile uint32_t *)page(PG_VMCS) = g_rev;
	if (x_vmxon(pa(PG_VMXON)) == 0) {
		if (x_vmclear(pa(PG_VMCS)) == 0 && x_vmptrld(pa(PG_VMCS)) == 0) {
			r = body(gpa, val);
			x_vmclear(pa(PG_VMCS));
		}
		x_vmxoff();
	}
	trap_write_cr4(cr4);
	irq_restore(f);
	uefi_call_wrapper(BS->FreePages, 2, base, PG_COUNT);
	return r;
}

/* L1 maps L2 GPA 0x5000 to L1 GPA gpa in its EPT and L2 reads it (from
 * l2v_at_ept_np). Returns 0 when the read completed (*val what L2 read;
 * the run ends at the write to the read-only page, an EPT violation), 13
 * when L2 got #GP(0) at the read (in L1's exception bitmap: exit reason
 * 0), else the exit reason | 1 << 31 (or the entry status | 1 << 30). */
static uint32_t read_gpa_body(uint64_t gpa, uint32_t *val)
{
	build_l2(0);
	((volatile uint64_t *)page(PG_PT))[5] = gpa | 0x37;
	*(volatile uint32_t *)(page(PG_DATA) + 0x808) = 0xdeadbeefu;
	build_vmcs();
	wr(F_G_RIP, L2_OFF(l2v_at_ept_np));
	int rc = enter(0);
	uint32_t why = (uint32_t)rd(F_REASON);
	uint64_t at = rd(F_G_RIP);
	*val = *(volatile uint32_t *)(page(PG_DATA) + 0x808);
	if (rc)
		return 0x40000000u | (uint32_t)rc;
	if (why == 48 && at == L2_OFF(l2v_at_ept_ro))
		return 0;
	if (why == 0 && at == L2_OFF(l2v_at_ept_np) &&
	    (rd(F_EXIT_INTR) & 0x80000fffu) == 0x80000b0du && rd(F_EXIT_INTR_ERR) == 0)
		return 13;
	return 0x80000000u | why;
}

uint32_t nested_vmx_read_gpa(uint64_t gpa, uint32_t *val)
{
	return vmx_session(read_gpa_body, gpa, val);
}

/* VMPTRLD of L1 GPA gpa with a valid current VMCS (so a failure is
 * VMfailValid): the VM-instruction error (9: invalid address, 11: wrong
 * revision id: hv.efi read the page), 0 when it succeeded. A page VTL 1
 * took from VTL 0 is not VTL 0's to hand to the hypervisor as a VMCS
 * (TLFS 15.9). */
static uint32_t vmptrld_body(uint64_t gpa, uint32_t *val)
{
	(void)val;
	int rc = x_vmptrld(gpa);
	return rc == 0 ? 0 : rc == 2 ? (uint32_t)rd(F_INSN_ERR) : 0xfffc;
}

uint32_t nested_vmx_vmptrld_error(uint64_t gpa)
{
	uint32_t val;
	return vmx_session(vmptrld_body, gpa, &val);
}
