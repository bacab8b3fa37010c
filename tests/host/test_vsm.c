/* test_vsm.c - Virtual Secure Mode (vsm/vsm.c, TLFS 15) on the fake
 * backend: AccessVsm only with AccessSynicRegs and AccessVpRegisters, the
 * VTL call/return sequences in the hypercall page, HvEnablePartitionVtl
 * and HvEnableVpVtl with their statuses, VTL call and return (#UD cases,
 * the switch before the next entry, the entry reason, RAX/RCX from the
 * VTL control area or kept by a fast return), the VSM registers, and
 * HvGetVpRegisters with an input VTL. */
#include "htest.h"
#include "fakes.h"
#include "pool.h"
#include "module.h"
#include "vsm.h"
#include "synic_ctx.h"
#include "tlfs.h"
#include "x86.h"
#include <string.h>

#define NVP 2
static struct partition part;
static struct vp vps[NVP];
static struct fake_be_state bes[NVP];
static u8 *hc_page;
static u8 pool_mem[256 * 4096] __attribute__((aligned(4096)));
static struct pool pool;
static const struct mem_range ranges[] = {
	{ FAKE_RAM_BASE, FAKE_RAM_SIZE, MEM_RAM, 0 },
};
#define IN_GPA (FAKE_RAM_BASE)
#define OUT_GPA (FAKE_RAM_BASE + 0x1000)
#define IN ((u8 *)fake_ram)
#define OUT ((u64 *)(fake_ram + 0x1000))
#define PAGE_GPA (FAKE_RAM_BASE + 0x8000)
#define R_RIP 0x20010u

static const struct seg_state cs64 = { 0x38, 0xa09b, 0xffffffff, 0 };
static const struct seg_state ds64 = { 0x30, 0xc093, 0xffffffff, 0 };

/* Partition set-up with the modules' hooks; `synic`: the partition has
 * AccessSynicRegs (synic/synic.c's rows give it), else it is taken away. */
static void setup(bool synic)
{
	fake_smp_partition(&part, vps, bes, NVP);
	part.ranges = ranges;
	part.range_count = 1;
	fake_ctx_created = 0;
	fake_ctx_fail = 0;
	for (int i = 0; i < NVP; i++) {
		bes[i].regs[GREG_EFER] = EFER_LMA | EFER_LME;
		bes[i].regs[GREG_CR0] = CR0_PE | CR0_PG;
		bes[i].regs[GREG_CR4] = CR4_PAE;
		bes[i].regs[GREG_RIP] = 0x401000 + (u64)i;
	}
	if (synic)
		part.privileges |= HV_ACCESS_SYNIC_REGS;
	else
		part.privileges &= ~HV_ACCESS_SYNIC_REGS; /* a SynIC withdrawn */
	pool_init(&pool, (u64)(uintptr_t)pool_mem, sizeof(pool_mem), 0);
	CHECK_EQ(registry_partition_init(&part, &pool), 0);
	/* The hypercall page the hooks made, enabled in both VTLs. */
	hc_page = (u8 *)(uintptr_t)part.vtl[0].hypercall_page.hpa;
	for (int v = 0; v < 2; v++) {
		part.vtl[v].guest_os_id = 0x8100000000000000ull;
		part.vtl[v].hypercall_msr = PAGE_GPA | HV_HYPERCALL_ENABLE;
	}
	memset(fake_ram, 0, sizeof(fake_ram));
}

static u64 call_on(struct vp *vp, u64 input, u64 rax)
{
	vp->gpr[GPR_RCX] = input;
	vp->gpr[GPR_RAX] = rax;
	vp->gpr[GPR_RDX] = IN_GPA;
	vp->gpr[GPR_R8] = OUT_GPA;
	((struct fake_be_state *)vp->be)->injected_vector = -1;
	hv_handle_hypercall(vp, NULL);
	return vp->gpr[GPR_RAX];
}
static u16 st(u64 r) { return (u16)r; }

static u64 enable_partition(u8 vtl, u8 flags)
{
	memset(IN, 0, 16);
	*(u64 *)IN = HV_PARTITION_ID_SELF;
	IN[8] = vtl;
	IN[9] = flags;
	return call_on(&vps[0], HVCALL_ENABLE_PARTITION_VTL, 0);
}

/* An HV_INITIAL_VP_CONTEXT for 64-bit code at rip. */
static void ctx64(u8 *x, u64 rip)
{
	static const u8 order[8] = { SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS, SEG_TR, SEG_LDTR };
	memset(x, 0, 224);
	*(u64 *)(x + 0) = rip;
	*(u64 *)(x + 8) = 0x9000;
	*(u64 *)(x + 16) = 2;
	for (int i = 0; i < 8; i++) {
		struct seg_state s = order[i] == SEG_CS ? cs64 : order[i] == SEG_TR || order[i] == SEG_LDTR
				     ? (struct seg_state){ 0, 0, 0, 0 } : ds64;
		*(u64 *)(x + 24 + 16 * i) = s.base;
		*(u32 *)(x + 32 + 16 * i) = s.limit;
		*(u16 *)(x + 36 + 16 * i) = s.sel;
		*(u16 *)(x + 38 + 16 * i) = s.attr;
	}
	*(u64 *)(x + 184) = EFER_LMA | EFER_LME;
	*(u64 *)(x + 192) = CR0_PE | CR0_PG;
	*(u64 *)(x + 200) = 0x5000;
	*(u64 *)(x + 208) = CR4_PAE;
	*(u64 *)(x + 216) = 0x0007040600070406ull;
}

static u64 enable_vp(struct vp *caller, u32 vp, u8 vtl, u64 rip)
{
	memset(IN, 0, 16);
	*(u64 *)IN = HV_PARTITION_ID_SELF;
	*(u32 *)(IN + 8) = vp;
	IN[12] = vtl;
	ctx64(IN + 16, rip);
	return call_on(caller, HVCALL_ENABLE_VP_VTL, 0);
}

static u64 get_reg(struct vp *caller, u32 vp, u8 input_vtl, u32 name)
{
	memset(IN, 0, 16);
	*(u64 *)IN = HV_PARTITION_ID_SELF;
	*(u32 *)(IN + 8) = vp;
	IN[12] = input_vtl;
	*(u32 *)(IN + 16) = name;
	OUT[0] = OUT[1] = 0xdead;
	return call_on(caller, HVCALL_GET_VP_REGISTERS | (1ull << 32), 0);
}

TEST(vsm_needs_synic_regs)
{
	setup(false);
	CHECK(!(part.privileges & HV_ACCESS_VSM));
	CHECK_EQ(st(enable_partition(1, 0)), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(st(get_reg(&vps[0], 0, 0, HV_REGISTER_VSM_PARTITION_STATUS)), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(hc_page[VSM_CALL_OFFSET], 0xcc); /* no sequences either */
	setup(true);
	CHECK(part.privileges & HV_ACCESS_VSM);
}

TEST(vsm_code_page_sequences)
{
	setup(true);
	/* mov rax, rcx; mov ecx, 0x11/0x12; the vendor's hypercall; ret */
	const u8 call[12] = { 0x48, 0x89, 0xc8, 0xb9, 0x11, 0, 0, 0, fake_backend.hypercall_insn[0],
			      fake_backend.hypercall_insn[1], fake_backend.hypercall_insn[2], 0xc3 };
	CHECK(!memcmp(hc_page + VSM_CALL_OFFSET, call, 12));
	CHECK_EQ(hc_page[VSM_RETURN_OFFSET + 4], 0x12);
	CHECK_EQ(hc_page[VSM_RETURN_OFFSET + 11], 0xc3);
	CHECK_EQ(st(get_reg(&vps[0], 0, 0, HV_REGISTER_VSM_CODE_PAGE_OFFSETS)), 0);
	CHECK_EQ(OUT[0], VSM_CALL_OFFSET | (VSM_RETURN_OFFSET << 12));
	CHECK_EQ(OUT[1], 0);
	CHECK_EQ(st(get_reg(&vps[0], 0, 0, HV_REGISTER_VSM_CAPABILITIES)), 0);
	CHECK_EQ(OUT[0], HV_VSM_CAP_DR6_SHARED);
	CHECK_EQ(st(get_reg(&vps[0], 0, 0, HV_REGISTER_VSM_PARTITION_STATUS)), 0);
	CHECK_EQ(OUT[0], 1 | (1ull << 16)); /* VTL 0 enabled, MaximumVtl 1 */
}

TEST(vsm_enable_statuses)
{
	setup(true);
	CHECK_EQ(st(enable_vp(&vps[0], 0, 1, 0x5000)), HV_STATUS_INVALID_VTL_STATE); /* partition first */
	CHECK_EQ(st(enable_partition(2, 0)), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(st(enable_partition(1, 1)), HV_STATUS_INVALID_PARAMETER); /* MBEC not offered */
	CHECK_EQ(st(enable_partition(0, 0)), HV_STATUS_INVALID_VTL_STATE);
	CHECK_EQ(st(enable_partition(1, 0)), HV_STATUS_SUCCESS);
	CHECK_EQ(st(enable_partition(1, 0)), HV_STATUS_INVALID_VTL_STATE);
	CHECK(part.vtl[1].enabled);
	CHECK_EQ(st(enable_vp(&vps[0], 0, 1, 0x0000800000000000ull)), HV_STATUS_INVALID_REGISTER_VALUE);
	CHECK_EQ(st(enable_vp(&vps[0], 7, 1, 0x5000)), HV_STATUS_INVALID_VP_INDEX);
	CHECK_EQ(st(enable_vp(&vps[0], 0, 2, 0x5000)), HV_STATUS_INVALID_PARAMETER);
	fake_ctx_fail = 1;
	CHECK_EQ(st(enable_vp(&vps[0], 0, 1, 0x5000)), HV_STATUS_INSUFFICIENT_MEMORY);
	CHECK(!vps[0].ctx[1].live);
	u32 overlays = part.overlay_count; /* VP assist page, SIMP, SIEFP registered */
	fake_ctx_fail = 0;
	CHECK_EQ(st(enable_vp(&vps[0], 0, 1, 0x5000)), HV_STATUS_SUCCESS);
	CHECK_EQ(part.overlay_count, overlays); /* not registered twice */
	CHECK(vps[0].ctx[1].synic != NULL);
	CHECK(vps[0].ctx[1].live);
	CHECK_EQ(vps[0].ctx[1].vtl, 1);
	CHECK_EQ(fake_ctx_states[fake_ctx_created - 1].state.rip, 0x5000);
	CHECK(vps[0].cur == &vps[0].ctx[0]); /* enabling does not switch */
	/* Now only VTL 1 enables it (TLFS 15.15.4). */
	CHECK_EQ(st(enable_vp(&vps[0], 1, 1, 0x5000)), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(st(enable_vp(&vps[0], 0, 1, 0x5000)), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(st(get_reg(&vps[0], 0, 0, HV_REGISTER_VSM_VP_STATUS)), 0);
	CHECK_EQ(OUT[0], 3ull << 16);
}

/* VP 0 with VTL 1 enabled, its VTL 1 assist page at `assist`. */
static u8 assist[4096] __attribute__((aligned(4096)));
static void setup_enabled(void)
{
	setup(true);
	CHECK_EQ(st(enable_partition(1, 0)), 0);
	CHECK_EQ(st(enable_vp(&vps[0], 0, 1, 0x5000)), 0);
	memset(assist, 0, sizeof(assist));
	vps[0].ctx[1].assist_page.hpa = (u64)(uintptr_t)assist;
	vps[0].ctx[1].assist_msr = 0x7000 | 1;
}

TEST(vsm_call_and_return)
{
	struct vp *vp = &vps[0];
	setup(true);
	/* Before enabling: #UD (TLFS 15.6.1.1), nothing pending. */
	call_on(vp, HVCALL_VTL_CALL, 0);
	CHECK_EQ(bes[0].injected_vector, 6);
	CHECK_EQ(st(enable_partition(1, 0)), 0);
	call_on(vp, HVCALL_VTL_CALL, 0);
	CHECK_EQ(bes[0].injected_vector, 6); /* the VP has no VTL 1 yet */
	setup_enabled();
	call_on(vp, HVCALL_VTL_RETURN, 0); /* from VTL 0 */
	CHECK_EQ(bes[0].injected_vector, 6);
	call_on(vp, HVCALL_VTL_CALL, 1); /* control input RsvdZ */
	CHECK_EQ(bes[0].injected_vector, 6);
	CHECK(vp->cur == &vp->ctx[0]);

	vp->gpr[GPR_RBX] = 0xb0b0;
	int adv = bes[0].advanced;
	call_on(vp, HVCALL_VTL_CALL, 0);
	CHECK_EQ(bes[0].injected_vector, -1);
	CHECK_EQ(bes[0].advanced, adv + 1); /* VTL 0 past its VMCALL, then the switch */
	CHECK(vp->cur == &vp->ctx[1]);
	CHECK_EQ(vsm_active_vtl(vp), 1);
	CHECK_EQ(*(u32 *)(assist + VSM_CTL_ENTRY_REASON), VSM_ENTRY_VTL_CALL);
	CHECK_EQ(vp->gpr[GPR_RBX], 0xb0b0); /* shared */
	CHECK_EQ(st(get_reg(vp, 0, 0, HV_REGISTER_VSM_VP_STATUS)), 0);
	CHECK_EQ(OUT[0], 1 | (3ull << 16));
	call_on(vp, HVCALL_VTL_CALL, 0); /* no VTL 2 */
	CHECK_EQ(((struct fake_be_state *)vp->be)->injected_vector, 6);
	call_on(vp, HVCALL_VTL_RETURN, 2); /* RsvdZ bits */
	CHECK_EQ(((struct fake_be_state *)vp->be)->injected_vector, 6);
	CHECK(vp->cur == &vp->ctx[1]);

	/* Return, not fast: RAX and RCX from the VTL control area. */
	*(u64 *)(assist + VSM_CTL_RETURN_RAX) = 0x1111;
	*(u64 *)(assist + VSM_CTL_RETURN_RCX) = 0x2222;
	call_on(vp, HVCALL_VTL_RETURN, 0);
	CHECK(vp->cur == &vp->ctx[0]);
	CHECK_EQ(vp->gpr[GPR_RAX], 0x1111);
	CHECK_EQ(vp->gpr[GPR_RCX], 0x2222);
	/* Fast: they stay as they were. */
	call_on(vp, HVCALL_VTL_CALL, 0);
	CHECK(vp->cur == &vp->ctx[1]);
	vp->gpr[GPR_RCX] = HVCALL_VTL_RETURN;
	call_on(vp, HVCALL_VTL_RETURN, 1);
	CHECK(vp->cur == &vp->ctx[0]);
	CHECK_EQ(vp->gpr[GPR_RAX], 1);
	CHECK_EQ(vp->gpr[GPR_RCX], HVCALL_VTL_RETURN);
}

TEST(vsm_input_vtl_registers)
{
	struct vp *vp = &vps[0];
	setup_enabled();
	/* VTL 0 cannot name VTL 1; VP 1 has no VTL 1. */
	CHECK_EQ(st(get_reg(vp, 0, 0x11, R_RIP)), HV_STATUS_INVALID_PARAMETER);
	call_on(vp, HVCALL_VTL_CALL, 0);
	CHECK(vp->cur == &vp->ctx[1]);
	CHECK_EQ(st(get_reg(vp, 0, 0x10, R_RIP)), 0); /* VTL 0's RIP */
	CHECK_EQ(OUT[0], 0x401000);
	CHECK_EQ(st(get_reg(vp, 0, 0, R_RIP)), 0); /* its own */
	CHECK_EQ(OUT[0], 0x5000);
	CHECK(vp->cur == &vp->ctx[1]); /* the access switched back */
	CHECK_EQ(st(get_reg(vp, 1, 0x11, R_RIP)), HV_STATUS_INVALID_VTL_STATE);
	CHECK_EQ(st(get_reg(vp, 1, 0x10, R_RIP)), 0);
	CHECK_EQ(OUT[0], 0x401001);
	CHECK_EQ(st(get_reg(vp, 0, 0x12, R_RIP)), HV_STATUS_INVALID_PARAMETER); /* VTL 2 */
	CHECK_EQ(st(get_reg(vp, 0, 0x30, R_RIP)), HV_STATUS_INVALID_PARAMETER); /* RsvdZ */
}

/* TLFS 15.12.2: a VTL 1 vector switches VP 0 to VTL 1 before its next
 * entry and is injected there; while VTL 1 cannot take it (interrupt
 * window) it stays pending, and a VTL return comes straight back. */
TEST(vsm_interrupt_for_vtl1)
{
	struct vp *vp = &vps[0];
	setup_enabled();
	CHECK(part.vtl_irq != NULL);
	part.vtl_irq(vp, &vps[1], 1, 0xe1); /* VP 1 has no VTL 1: dropped */
	CHECK_EQ(vps[1].entry_work, 0);
	struct fake_be_state *v1 = vp->ctx[1].be;
	v1->irq_window = true; /* VTL 1's RFLAGS.IF clear */
	part.vtl_irq(vp, vp, 1, 0xe1);
	CHECK(vp->cur == &vp->ctx[0]);
	registry_entry_work(vp);
	CHECK(vp->cur == &vp->ctx[1]);
	CHECK_EQ(*(u32 *)(assist + VSM_CTL_ENTRY_REASON), VSM_ENTRY_INTERRUPT);
	CHECK_EQ(v1->irq_vector, 0xe1);
	CHECK(vp->entry_work != 0); /* not in yet: asked again */
	call_on(vp, HVCALL_VTL_RETURN, 1); /* returns with it pending */
	CHECK(vp->cur == &vp->ctx[1]);     /* called back at once */
	v1->irq_window = false;
	v1->irq_vector = 0;
	registry_entry_work(vp);
	CHECK_EQ(v1->irq_vector, 0xe1); /* injected */
	vp->entry_work = 0;
	call_on(vp, HVCALL_VTL_RETURN, 1);
	CHECK(vp->cur == &vp->ctx[0]); /* nothing pending: stays in VTL 0 */
	registry_entry_work(vp);
	CHECK(vp->cur == &vp->ctx[0]);
}

/* TLFS 15.12.2, 15.11.1 (the SynIC is per VTL): a SINT of VTL 1's SynIC
 * is an interrupt for VTL 1 (synic_raise, synic/deliver.c), not a fixed
 * interrupt through the APIC the VTLs share: VP 0 running VTL 0 switches
 * to VTL 1 (entry reason Interrupt) and VTL 1 gets the vector; while VTL
 * 1's RFLAGS.IF is clear it stays pending for VTL 1. VTL 0's SINTs keep
 * the APIC; a VP without VTL 1 drops a VTL 1 vector. */
TEST(vsm_synic_vtl1_sint_routing)
{
	struct vp *vp = &vps[0];
	setup_enabled();
	struct synic_ctx *s1 = vp->ctx[1].synic;
	CHECK(s1 != NULL && s1->msg != NULL);
	if (!s1 || !s1->msg)
		return;
	s1->scontrol = SYNIC_SCONTROL_ENABLE;
	s1->simp = 0x9000 | SYNIC_PAGE_ENABLE;
	s1->sint[0] = 0xe2; /* unmasked, vector 0xE2, no AutoEOI */
	fake_icr_count = 0;
	struct fake_be_state *v1 = vp->ctx[1].be;
	v1->irq_window = true; /* VTL 1's RFLAGS.IF clear */
	v1->irq_vector = 0;
	struct hv_message m = { 0 };
	m.h.type = 0x80000001u;
	m.h.payload_size = 8;
	CHECK_EQ(synic_post_message(vp, 1, 0, &m), HV_STATUS_SUCCESS);
	CHECK_EQ(fake_icr_count, 0); /* not through the shared APIC */
	CHECK_EQ(s1->raised, 1);
	CHECK(vp->cur == &vp->ctx[0]);
	registry_entry_work(vp);
	CHECK(vp->cur == &vp->ctx[1]);
	CHECK_EQ(*(u32 *)(assist + VSM_CTL_ENTRY_REASON), VSM_ENTRY_INTERRUPT);
	CHECK_EQ(v1->irq_vector, 0xe2); /* a window asked for, still pending */
	CHECK(vp->entry_work != 0);
	v1->irq_window = false;
	v1->irq_vector = 0;
	registry_entry_work(vp);
	CHECK_EQ(v1->irq_vector, 0xe2); /* injected into VTL 1 */
	vp->entry_work = 0;
	call_on(vp, HVCALL_VTL_RETURN, 1);
	CHECK(vp->cur == &vp->ctx[0]);
	CHECK_EQ(fake_icr_count, 0);
	/* A masked or polled SINT raises nothing (TLFS 11.8.5). */
	s1->msg[0].h.type = 0;
	s1->sint[0] = 0xe2 | HV_SINT_POLLING;
	CHECK_EQ(synic_post_message(vp, 1, 0, &m), HV_STATUS_SUCCESS);
	registry_entry_work(vp);
	CHECK(vp->cur == &vp->ctx[0]);
	/* The routes. */
	CHECK_EQ(synic_raise(vp, 0, 0x40, false), SYNIC_ROUTE_APIC);
	CHECK_EQ(fake_icr_count, 1);
	CHECK_EQ(synic_raise(&vps[1], 1, 0x41, false), SYNIC_ROUTE_DROPPED); /* no VTL 1 */
	CHECK_EQ(synic_raise(vp, 2, 0x41, false), SYNIC_ROUTE_DROPPED);
	CHECK_EQ(vps[1].entry_work, 0);
	CHECK_EQ(synic_raise(vp, 1, 0x42, true), SYNIC_ROUTE_VTL); /* AutoEOI too */
	CHECK_EQ(fake_icr_count, 1);
	registry_entry_work(vp);
	CHECK(vp->cur == &vp->ctx[1]);
	CHECK_EQ(v1->irq_vector, 0x42);
	vp->entry_work = 0;
	call_on(vp, HVCALL_VTL_RETURN, 1);
	CHECK(vp->cur == &vp->ctx[0]);
}
