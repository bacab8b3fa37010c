/* test_vpregs.c - HvGetVpRegisters, HvSetVpRegisters and
 * HvStartVirtualProcessor (hv/vpregs.c, TLFS 7.10.1-7.10.3) on the fake
 * backend: register layouts, the table's kinds, value checks and their
 * statuses, rep semantics, other VPs reached by cross-VP calls (served
 * from the fake hw_cpu_relax), and starting a VP in wait-for-SIPI. */
#include "htest.h"
#include "fakes.h"
#include "boot_info.h"
#include "tlfs.h"
#include "x86.h"
#include <string.h>

#define NVP 3
static struct partition part;
static struct vp vps[NVP];
static struct fake_be_state bes[NVP];
static u8 hc_page[4096] __attribute__((aligned(4096)));
static const struct mem_range ranges[] = {
	{ FAKE_RAM_BASE, FAKE_RAM_SIZE, MEM_RAM, 0 },
};
#define IN_GPA (FAKE_RAM_BASE)
#define OUT_GPA (FAKE_RAM_BASE + 0x1000)
#define IN ((u8 *)fake_ram)
#define OUT ((u64 *)(fake_ram + 0x1000))
#define PAGE_GPA (FAKE_RAM_BASE + 0x8000)

#define R_RAX 0x20000u
#define R_RSP 0x20004u
#define R_R15 0x2000fu
#define R_RIP 0x20010u
#define R_RFLAGS 0x20011u
#define R_CR0 0x40000u
#define R_CR2 0x40001u
#define R_CR3 0x40002u
#define R_CR4 0x40003u
#define R_CR8 0x40004u
#define R_DR7 0x50005u
#define R_ES 0x60000u
#define R_CS 0x60001u
#define R_SS 0x60002u
#define R_DS 0x60003u
#define R_IDTR 0x70000u
#define R_GDTR 0x70001u
#define R_EFER 0x80001u
#define R_KGSBASE 0x80002u
#define R_PAT 0x80004u
#define R_SYSENTER_ESP 0x80007u
#define R_STAR 0x80008u
#define R_LSTAR 0x80009u
#define R_SFMASK 0x8000bu
#define R_GUEST_OS_ID 0x90002u
#define R_VP_INDEX 0x90003u
#define R_HV_VERSION 0x100u

static const struct seg_state cs64 = { 0x38, 0xa09b, 0xffffffff, 0 };
static const struct seg_state ds64 = { 0x30, 0xc093, 0xffffffff, 0 };

static void setup(void)
{
	fake_smp_partition(&part, vps, bes, NVP);
	part.ranges = ranges;
	part.range_count = 1;
	for (int i = 0; i < NVP; i++) {
		bes[i].regs[GREG_EFER] = EFER_LMA | EFER_LME | EFER_SCE;
		bes[i].regs[GREG_CR0] = CR0_PE | CR0_PG | BIT(5) | BIT(4);
		bes[i].regs[GREG_CR4] = CR4_PAE | BIT(9);
		bes[i].regs[GREG_CR3] = 0x1000 * (i + 1);
		bes[i].regs[GREG_RFLAGS] = 0x202;
		bes[i].regs[GREG_RIP] = 0x401000;
		struct guest_boot_state *g = &bes[i].state;
		for (int s = 0; s < SEG__COUNT; s++)
			g->seg[s] = ds64;
		g->seg[SEG_CS] = cs64;
		g->seg[SEG_LDTR] = (struct seg_state){ 0, 0, 0, 0 };
		g->seg[SEG_TR] = (struct seg_state){ 0x40, 0x8b, 0x67, 0x5000 };
		g->gdtr = (struct dtr_state){ .limit = 0x47, .base = 0x7000 };
		g->idtr = (struct dtr_state){ .limit = 0xfff, .base = 0x8000 };
		g->pat = 0x0007040600070406ull;
		g->dr7 = 0x400;
	}
	fake_enable_hypercalls(&part, hc_page, PAGE_GPA);
	memset(fake_ram, 0, sizeof(fake_ram));
}

static void header(u32 vp_index)
{
	memset(IN, 0, 16);
	*(u64 *)IN = HV_PARTITION_ID_SELF;
	*(u32 *)(IN + 8) = vp_index;
}

static u64 call(u64 input)
{
	struct vp *vp = &vps[0];
	vp->gpr[GPR_RCX] = input;
	vp->gpr[GPR_RDX] = IN_GPA;
	vp->gpr[GPR_R8] = OUT_GPA;
	hv_handle_hypercall(vp, NULL);
	return vp->gpr[GPR_RAX];
}

static u64 rep(u16 code, u32 n) { return code | ((u64)n << 32); }
static u16 st(u64 r) { return (u16)r; }
static u32 done(u64 r) { return (u32)((r >> 32) & 0xfff); }

/* Get one register of VP `vi` into out[0..1]; returns the result. */
static u64 get1(u32 vi, u32 name)
{
	header(vi);
	*(u32 *)(IN + 16) = name;
	OUT[0] = OUT[1] = 0xdead;
	return call(rep(HVCALL_GET_VP_REGISTERS, 1));
}

static u64 set1(u32 vi, u32 name, u64 lo, u64 hi)
{
	header(vi);
	memset(IN + 16, 0, 32);
	*(u32 *)(IN + 16) = name;
	*(u64 *)(IN + 32) = lo;
	*(u64 *)(IN + 40) = hi;
	return call(rep(HVCALL_SET_VP_REGISTERS, 1));
}

TEST(vpregs_privileges_advertised)
{
	setup();
	CHECK(part.privileges & HV_ACCESS_VP_REGISTERS);
	CHECK(part.privileges & HV_START_VIRTUAL_PROCESSOR);
}

TEST(vpregs_get_list_self)
{
	setup();
	vps[0].gpr[GPR_RBX] = 0x1111;
	vps[0].gpr[GPR_R15] = 0x2222;
	vps[0].gpr[GPR_RSP] = 0x7ff0;
	static const u32 names[] = { R_RAX + 3, R_R15, R_RSP, R_RIP, R_RFLAGS, R_CR0, R_CR3, R_CR4,
				     R_EFER, R_PAT, R_DR7, R_VP_INDEX, R_GUEST_OS_ID };
	header(0);
	for (u32 i = 0; i < ARRAY_SIZE(names); i++)
		*(u32 *)(IN + 16 + 4 * i) = names[i];
	u64 r = call(rep(HVCALL_GET_VP_REGISTERS, ARRAY_SIZE(names)));
	CHECK_EQ(st(r), HV_STATUS_SUCCESS);
	CHECK_EQ(done(r), ARRAY_SIZE(names));
	static const u64 want[] = { 0x1111, 0x2222, 0x7ff0, 0x401000, 0x202,
				    CR0_PE | CR0_PG | BIT(5) | BIT(4), 0x1000, CR4_PAE | BIT(9),
				    EFER_LMA | EFER_LME | EFER_SCE, 0x0007040600070406ull, 0x400, 0,
				    0x8100000000000000ull };
	for (u32 i = 0; i < ARRAY_SIZE(names); i++) {
		CHECK_EQ(OUT[2 * i], want[i]);
		CHECK_EQ(OUT[2 * i + 1], 0);
	}
	CHECK_EQ(bes[0].states_set, 0);
}

TEST(vpregs_segment_and_table_layout)
{
	setup();
	CHECK_EQ(st(get1(0, R_CS)), HV_STATUS_SUCCESS);
	/* TLFS 7.9.5: Base 8, Limit 4, Selector 2, Attributes 2. */
	CHECK_EQ(OUT[0], 0);
	CHECK_EQ(OUT[1], 0xffffffffull | (0x38ull << 32) | (0xa09bull << 48));
	CHECK_EQ(st(get1(0, R_GDTR)), HV_STATUS_SUCCESS);
	/* TLFS 7.9.6: Pad[3], Limit, Base. */
	CHECK_EQ(OUT[0], 0x47ull << 48);
	CHECK_EQ(OUT[1], 0x7000);
	CHECK_EQ(st(get1(0, 0x60007)), HV_STATUS_SUCCESS);
	CHECK_EQ(OUT[0], 0x5000);
	CHECK_EQ(OUT[1], 0x67ull | (0x40ull << 32) | (0x8bull << 48));
}

TEST(vpregs_cpuid_registers)
{
	setup();
	fake_cpuid_reset();
	CHECK_EQ(st(get1(0, R_HV_VERSION)), HV_STATUS_SUCCESS);
	u32 r[4] = { 0 };
	cpuid_adjust(&part, 0x40000002u, 0, 0, r);
	CHECK_EQ(OUT[0], r[0] | ((u64)r[1] << 32));
	CHECK_EQ(OUT[1], r[2] | ((u64)r[3] << 32));
	CHECK_EQ(st(get1(0, 0x200)), HV_STATUS_SUCCESS);
	CHECK_EQ((u32)OUT[0], (u32)part.privileges);
	CHECK_EQ((u32)(OUT[0] >> 32), (u32)(part.privileges >> 32));
	CHECK_EQ(st(set1(0, 0x200, 0, 0)), HV_STATUS_INVALID_PARAMETER);
}

TEST(vpregs_set_and_read_back)
{
	setup();
	CHECK_EQ(st(set1(0, R_KGSBASE, 0xffff800012345000ull, 0)), HV_STATUS_SUCCESS);
	CHECK_EQ(bes[0].state.kernel_gs_base, 0xffff800012345000ull);
	CHECK_EQ(st(set1(0, R_STAR, 0x0023001000000000ull, 0)), HV_STATUS_SUCCESS);
	CHECK_EQ(st(set1(0, R_SYSENTER_ESP, 0x1234, 0)), HV_STATUS_SUCCESS);
	CHECK_EQ(st(set1(0, R_CR2, 0xabc, 0)), HV_STATUS_SUCCESS);
	CHECK_EQ(st(set1(0, R_RAX + 3, 0x55, 0)), HV_STATUS_SUCCESS);
	CHECK_EQ(vps[0].gpr[GPR_RBX], 0x55);
	CHECK_EQ(st(set1(0, R_CR0, CR0_PE | CR0_PG | BIT(5) | BIT(4) | BIT(16), 0)), HV_STATUS_SUCCESS);
	CHECK_EQ(bes[0].regs[GREG_CR0], CR0_PE | CR0_PG | BIT(5) | BIT(4) | BIT(16));
	CHECK_EQ(st(set1(0, R_EFER, EFER_LMA | EFER_LME, 0)), HV_STATUS_SUCCESS); /* SCE off */
	CHECK_EQ(bes[0].regs[GREG_EFER], EFER_LMA | EFER_LME);
	CHECK_EQ(st(set1(0, R_DS, 0, 0x0000ffffull | (0x18ull << 32) | (0x0093ull << 48))),
		 HV_STATUS_SUCCESS);
	CHECK_EQ(bes[0].state.seg[SEG_DS].sel, 0x18);
	CHECK_EQ(bes[0].state.seg[SEG_DS].attr, 0x93);
	CHECK_EQ(bes[0].state.seg[SEG_DS].limit, 0xffff);
	CHECK_EQ(st(set1(0, R_IDTR, 0x0123ull << 48, 0x9000)), HV_STATUS_SUCCESS);
	CHECK_EQ(bes[0].state.idtr.base, 0x9000);
	CHECK_EQ(bes[0].state.idtr.limit, 0x123);
	CHECK_EQ(st(get1(0, R_STAR)), HV_STATUS_SUCCESS);
	CHECK_EQ(OUT[0], 0x0023001000000000ull);
	/* Synthetic: the guest OS ID through its MSR handler. */
	CHECK_EQ(st(set1(0, R_GUEST_OS_ID, 0x8100000000000042ull, 0)), HV_STATUS_SUCCESS);
	CHECK_EQ(part.vtl[0].guest_os_id, 0x8100000000000042ull);
	/* CR8: the APIC's TPR[7:4]. */
	CHECK_EQ(st(set1(0, R_CR8, 5, 0)), HV_STATUS_SUCCESS);
	CHECK_EQ(fake_apic[0x80 / 4], 0x50);
	CHECK_EQ(st(get1(0, R_CR8)), HV_STATUS_SUCCESS);
	CHECK_EQ(OUT[0], 5);
	/* Nothing of the INIT path: no state load, no flush. */
	CHECK_EQ(bes[0].states_loaded, 0);
	CHECK_EQ(bes[0].flush_count, 0);
}

TEST(vpregs_set_bad_values)
{
	setup();
	const u16 P = HV_STATUS_INVALID_PARAMETER, V = HV_STATUS_INVALID_REGISTER_VALUE;
	CHECK_EQ(st(set1(0, R_VP_INDEX, 1, 0)), P);          /* read-only */
	CHECK_EQ(st(set1(0, 0x80003, 0xfee00900, 0)), P);     /* ApicBase: read-only here */
	CHECK_EQ(st(set1(0, 0x12345, 1, 0)), P);              /* unknown */
	CHECK_EQ(st(set1(0, R_RAX, 1, 1)), P);                /* beyond 64 bits */
	CHECK_EQ(st(set1(0, R_LSTAR, 0x0000800000000000ull, 0)), V);
	CHECK_EQ(st(set1(0, R_SFMASK, 1ull << 32, 0)), P);
	CHECK_EQ(st(set1(0, R_PAT, 0x0007040600070402ull, 0)), P);
	CHECK_EQ(st(set1(0, R_RFLAGS, 0x202 | BIT(3), 0)), P);
	CHECK_EQ(st(set1(0, R_RFLAGS, 0x200, 0)), P);
	CHECK_EQ(st(set1(0, R_RFLAGS, 0x202 | RFLAGS_VM, 0)), V);
	CHECK_EQ(st(set1(0, R_CR0, CR0_PG | BIT(5) | BIT(4), 0)), V); /* PE off */
	CHECK_EQ(st(set1(0, R_CR0, CR0_PE | CR0_PG | BIT(5) | BIT(4) | BIT(7), 0)), P);
	CHECK_EQ(st(set1(0, R_CR4, CR4_PAE | BIT(9) | BIT(13), 0)), P); /* VMXE */
	CHECK_EQ(st(set1(0, R_CR4, BIT(9), 0)), V);                     /* PAE off */
	CHECK_EQ(st(set1(0, R_CR4, CR4_PAE | BIT(9) | BIT(20), 0)), V); /* SMEP: unknown here */
	CHECK_EQ(st(set1(0, R_CR4, CR4_PAE | BIT(9) | BIT(7), 0)), HV_STATUS_SUCCESS); /* PGE */
	CHECK_EQ(st(set1(0, R_EFER, EFER_LMA, 0)), V);        /* LME off */
	CHECK_EQ(st(set1(0, R_EFER, EFER_LMA | EFER_LME | BIT(1), 0)), P);
	CHECK_EQ(st(set1(0, R_CR3, 1ull << 40, 0)), P);       /* beyond 36 address bits */
	CHECK_EQ(st(set1(0, R_DR7, 0, 0)), P);                /* bit 10 is 1 */
	CHECK_EQ(st(set1(0, R_CR8, 16, 0)), P);
	CHECK_EQ(st(set1(0, R_RIP, 0x1000, 0)), HV_STATUS_INVALID_VP_STATE); /* the caller */
	/* Segments: reserved attribute bits, L+D, SS DPL vs CS DPL, G/limit. */
	CHECK_EQ(st(set1(0, R_DS, 0, 0xffffffffull | (0x30ull << 32) | (0xc193ull << 48))), P);
	CHECK_EQ(st(set1(0, R_CS, 0, 0xffffffffull | (0x38ull << 32) | (0xe09bull << 48))), V);
	CHECK_EQ(st(set1(0, R_SS, 0, 0xffffffffull | (0x33ull << 32) | (0xc0f3ull << 48))), V);
	CHECK_EQ(st(set1(0, R_ES, 0, 0xffff0ull | (0x30ull << 32) | (0xc093ull << 48))), V);
	CHECK_EQ(st(set1(0, R_GDTR, 0, 0x0000800000000000ull)), V);
	CHECK_EQ(bes[0].states_set, 1); /* only the PGE change was written */
}

TEST(vpregs_rep_stops_at_bad_element)
{
	setup();
	header(0);
	*(u32 *)(IN + 16) = R_RIP;
	*(u32 *)(IN + 20) = R_CR3;
	*(u32 *)(IN + 24) = 0x7777;
	*(u32 *)(IN + 28) = R_CR0;
	OUT[4] = OUT[6] = 0xdead;
	u64 r = call(rep(HVCALL_GET_VP_REGISTERS, 4));
	CHECK_EQ(st(r), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(done(r), 2);
	CHECK_EQ(OUT[0], 0x401000);
	CHECK_EQ(OUT[2], 0x1000);
	CHECK_EQ(OUT[4], 0xdead);
	CHECK_EQ(OUT[6], 0xdead);
	/* Set: the first element takes effect, the second fails. */
	header(0);
	memset(IN + 16, 0, 64);
	*(u32 *)(IN + 16) = R_STAR;
	*(u64 *)(IN + 32) = 0x77;
	*(u32 *)(IN + 48) = R_VP_INDEX;
	r = call(rep(HVCALL_SET_VP_REGISTERS, 2));
	CHECK_EQ(st(r), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(done(r), 1);
	CHECK_EQ(bes[0].state.star, 0x77);
}

TEST(vpregs_header_errors)
{
	setup();
	header(0);
	*(u64 *)IN = 0x1234;
	*(u32 *)(IN + 16) = R_RIP;
	CHECK_EQ(st(call(rep(HVCALL_GET_VP_REGISTERS, 1))), HV_STATUS_INVALID_PARTITION_ID);
	CHECK_EQ(st(get1(NVP, R_RIP)), HV_STATUS_INVALID_VP_INDEX);
	CHECK_EQ(st(get1(0xffffffffu, R_RIP)), HV_STATUS_INVALID_VP_INDEX);
	header(0);
	IN[12] = 0x20; /* HV_INPUT_VTL reserved bit */
	CHECK_EQ(st(call(rep(HVCALL_GET_VP_REGISTERS, 1))), HV_STATUS_INVALID_PARAMETER);
	header(0);
	IN[12] = 0x11; /* VTL 1 named */
	CHECK_EQ(st(call(rep(HVCALL_GET_VP_REGISTERS, 1))), HV_STATUS_INVALID_PARAMETER);
	header(0);
	IN[14] = 1; /* RsvdZ */
	CHECK_EQ(st(call(rep(HVCALL_SET_VP_REGISTERS, 1))), HV_STATUS_INVALID_PARAMETER);
	/* HV_VP_INDEX_SELF */
	CHECK_EQ(st(get1(0xfffffffeu, R_VP_INDEX)), HV_STATUS_SUCCESS);
	CHECK_EQ(OUT[0], 0);
	/* Without the privilege: ACCESS_DENIED from the dispatcher. */
	part.privileges &= ~HV_ACCESS_VP_REGISTERS;
	CHECK_EQ(st(get1(0, R_RIP)), HV_STATUS_ACCESS_DENIED);
}

TEST(vpregs_remote_vp)
{
	setup();
	vps[2].gpr[GPR_RDI] = 0x4242;
	CHECK_EQ(st(get1(2, R_RAX + 7)), HV_STATUS_SUCCESS);
	CHECK_EQ(OUT[0], 0x4242);
	CHECK_EQ(st(get1(2, R_CR3)), HV_STATUS_SUCCESS);
	CHECK_EQ(OUT[0], 0x3000);
	CHECK_EQ(st(get1(2, R_VP_INDEX)), HV_STATUS_SUCCESS);
	CHECK_EQ(OUT[0], 2);
	CHECK_EQ(vps[2].xcalls_served, 3);
	/* Another VP's RIP may be set. */
	CHECK_EQ(st(set1(2, R_RIP, 0x402000, 0)), HV_STATUS_SUCCESS);
	CHECK_EQ(bes[2].regs[GREG_RIP], 0x402000);
	CHECK_EQ(bes[0].regs[GREG_RIP], 0x401000);
	CHECK_EQ(st(set1(2, R_RIP, 0x0000800000000000ull, 0)), HV_STATUS_INVALID_REGISTER_VALUE);
}

TEST(vpregs_fast_xmm_get)
{
	setup();
	part.features_edx |= HV_FEATURE_XMM_HYPERCALL_OUTPUT | HV_FEATURE_XMM_HYPERCALL_INPUT;
	struct vp *vp = &vps[0];
	memset(fake_xmm, 0, sizeof(fake_xmm));
	/* Input: RDX = partition, R8 = VP index | VTL, XMM0 low dword = name;
	 * output from the next 16-byte boundary (XMM1). */
	vp->gpr[GPR_RCX] = rep(HVCALL_GET_VP_REGISTERS, 1) | HV_HC_FAST;
	vp->gpr[GPR_RDX] = HV_PARTITION_ID_SELF;
	vp->gpr[GPR_R8] = 0;
	*(u32 *)fake_xmm = R_CR3;
	hv_handle_hypercall(vp, NULL);
	CHECK_EQ(st(vp->gpr[GPR_RAX]), HV_STATUS_SUCCESS);
	CHECK_EQ(*(u64 *)(fake_xmm + 16), 0x1000);
}

/* An HV_INITIAL_VP_CONTEXT for 64-bit code (TLFS 7.10.3). */
static void start_ctx(u32 vi, u64 rip)
{
	header(vi);
	u8 *x = IN + 16;
	memset(x, 0, 224);
	*(u64 *)(x + 0) = rip;
	*(u64 *)(x + 8) = 0x9000;
	*(u64 *)(x + 16) = 0x2;
	const struct seg_state *order[8] = { &cs64, &ds64, &ds64, &ds64, &ds64, &ds64, NULL, NULL };
	for (int i = 0; i < 6; i++) {
		*(u64 *)(x + 24 + 16 * i) = order[i]->base;
		*(u32 *)(x + 32 + 16 * i) = order[i]->limit;
		*(u16 *)(x + 36 + 16 * i) = order[i]->sel;
		*(u16 *)(x + 38 + 16 * i) = order[i]->attr;
	}
	*(u32 *)(x + 120 + 8) = 0x67; /* TR: busy 64-bit TSS */
	*(u16 *)(x + 120 + 12) = 0x40;
	*(u16 *)(x + 120 + 14) = 0x8b;
	*(u64 *)(x + 152) = 0xfffull << 48; /* IDTR */
	*(u64 *)(x + 160) = 0x8000;
	*(u64 *)(x + 168) = 0x47ull << 48;  /* GDTR */
	*(u64 *)(x + 176) = 0x7000;
	*(u64 *)(x + 184) = EFER_LMA | EFER_LME;
	*(u64 *)(x + 192) = CR0_PE | CR0_PG | BIT(5) | BIT(4);
	*(u64 *)(x + 200) = 0x5000;
	*(u64 *)(x + 208) = CR4_PAE;
	*(u64 *)(x + 216) = 0x0007040600070406ull;
}

TEST(vpregs_start_vp)
{
	setup();
	/* Running: not startable. */
	start_ctx(1, 0x500000);
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), HV_STATUS_INVALID_VP_STATE);
	CHECK_EQ(bes[1].states_loaded, 0);
	/* The caller itself. */
	vps[0].wait_sipi = true;
	start_ctx(0, 0x500000);
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), HV_STATUS_INVALID_VP_STATE);
	vps[0].wait_sipi = false;
	/* In wait-for-SIPI: started at the context. */
	vps[1].wait_sipi = true;
	vps[1].sipi = 0x1ab;
	vps[1].gpr[GPR_RBX] = 0x99;
	start_ctx(1, 0x500000);
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), HV_STATUS_SUCCESS);
	CHECK_EQ(bes[1].states_loaded, 1);
	CHECK_EQ(bes[1].loaded_rip, 0x500000);
	CHECK_EQ(bes[1].loaded_cs_sel, 0x38);
	CHECK_EQ(vps[1].gpr[GPR_RSP], 0x9000);
	CHECK_EQ(vps[1].gpr[GPR_RBX], 0);
	CHECK(!vps[1].wait_sipi);
	CHECK_EQ(vps[1].sipi, 0);
	/* Started: running now. */
	start_ctx(1, 0x500000);
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), HV_STATUS_INVALID_VP_STATE);
	/* Bad target, partition. */
	start_ctx(7, 0x500000);
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), HV_STATUS_INVALID_VP_INDEX);
	start_ctx(1, 0x500000);
	*(u64 *)IN = 5;
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), HV_STATUS_INVALID_PARTITION_ID);
}

TEST(vpregs_start_vp_bad_context)
{
	setup();
	vps[1].wait_sipi = true;
	u8 *x = IN + 16;
	const u16 V = HV_STATUS_INVALID_REGISTER_VALUE;
	start_ctx(1, 0x0000800000000000ull); /* non-canonical RIP */
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), V);
	start_ctx(1, 0x500000);
	*(u64 *)(x + 192) &= ~CR0_PE; /* PG without PE */
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), V);
	start_ctx(1, 0x500000);
	*(u64 *)(x + 184) = EFER_LME; /* LMA != LME & PG */
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), V);
	start_ctx(1, 0x500000);
	*(u64 *)(x + 208) = 0; /* long mode without PAE */
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), V);
	start_ctx(1, 0x500000);
	*(u64 *)(x + 208) = CR4_PAE | BIT(13); /* VMXE */
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), V);
	start_ctx(1, 0x500000);
	*(u16 *)(x + 24 + 14) = 0x0093; /* CS: a data segment */
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), V);
	start_ctx(1, 0x500000);
	*(u16 *)(x + 120 + 14) = 0x0089 | 0x10; /* TR: S set */
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), V);
	start_ctx(1, 0x500000);
	*(u64 *)(x + 216) = 0x0007040600070402ull; /* PAT type 2 */
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), V);
	start_ctx(1, 0x500000);
	*(u64 *)(x + 16) = 0x2 | RFLAGS_VM;
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), V);
	CHECK_EQ(bes[1].states_loaded, 0);
	CHECK(vps[1].wait_sipi);
	/* The header/privilege order: without the privilege, ACCESS_DENIED. */
	part.privileges &= ~HV_START_VIRTUAL_PROCESSOR;
	start_ctx(1, 0x500000);
	CHECK_EQ(st(call(HVCALL_START_VIRTUAL_PROCESSOR)), HV_STATUS_ACCESS_DENIED);
}
