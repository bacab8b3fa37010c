/* test_hypercall.c - the hypercall interface (hv/hypercall.c, hv/overlay.c):
 * the guest OS ID and hypercall MSRs (TLFS 2.6, 3.13), overlays (5.2.1),
 * input decoding and the status ordering (3.7-3.12), rep calls and
 * continuation (3.3), fast and XMM fast calls (3.7.2, 3.8.1), 32-bit
 * callers. */
#include "htest.h"
#include "fakes.h"
#include "boot_info.h"
#include "tlfs.h"
#include "x86.h"
#include <stdlib.h>
#include <string.h>

static struct partition part;
static struct vp vp;
static struct fake_be_state bes;
static u8 hc_page[4096] __attribute__((aligned(4096)));
static const struct mem_range ranges[] = {
	{ FAKE_RAM_BASE, FAKE_RAM_SIZE, MEM_RAM, 0 },
	{ 0x200000, 0x100000, MEM_HV, 0 },
	{ 0xfec00000, 0x1000, MEM_MMIO, 0 },
};
#define IN_GPA (FAKE_RAM_BASE)
#define OUT_GPA (FAKE_RAM_BASE + 0x1000)
#define PAGE_GPA (FAKE_RAM_BASE + 0x3000) /* where the hypercall page goes */

static void setup(void)
{
	partition_init(&part, &fake_backend, 36, 0x200000, 0x100000);
	part.ranges = ranges;
	part.range_count = 3;
	part.tsc_hz = 1000000000; /* 50 us = 50000 ticks */
	fake_vp_init(&vp, &part, &bes);
	partition_add_vp(&part, &vp);
	vp.apic_id = 7;
	hc_setup(&part, hc_page);
	/* Withheld from guests by policy (partition.c); granted here to test
	 * the call itself. */
	part.privileges |= HV_ACCESS_PARTITION_ID;
	bes.regs[GREG_EFER] = EFER_LMA | EFER_LME;
	bes.regs[GREG_CS_L] = 1;
	bes.regs[GREG_CR0] = CR0_PE | CR0_PG;
	memset(fake_ram, 0, sizeof(fake_ram));
	fake_tsc_step = 1;
	fake_fatal_armed = 0;
}

static int msr_w(u32 msr, u64 v)
{
	struct hv_exit e = { .reason = HV_EXIT_MSR_WRITE };
	e.u.msr.index = msr;
	e.u.msr.value = v;
	bes.injected_vector = -1;
	return hv_handle_msr_write(&vp, &e) == HV_ACT_INJECTED ? bes.injected_vector : 0;
}

static u64 msr_r(u32 msr)
{
	struct hv_exit e = { .reason = HV_EXIT_MSR_READ };
	e.u.msr.index = msr;
	bes.injected_vector = -1;
	if (hv_handle_msr_read(&vp, &e) == HV_ACT_INJECTED)
		return ~0ull;
	return (vp.gpr[GPR_RDX] << 32) | (u32)vp.gpr[GPR_RAX];
}

static void enable_page(void)
{
	CHECK_EQ(msr_w(HV_X64_MSR_GUEST_OS_ID, 0x8100000000000000ull), 0);
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, PAGE_GPA | HV_HYPERCALL_ENABLE), 0);
}

/* Issue a 64-bit hypercall; returns the action, result in vp.gpr[RAX]. */
static enum hv_action call(u64 input, u64 in_gpa, u64 out_gpa)
{
	vp.gpr[GPR_RCX] = input;
	vp.gpr[GPR_RDX] = in_gpa;
	vp.gpr[GPR_R8] = out_gpa;
	bes.injected_vector = -1;
	return hv_handle_hypercall(&vp, NULL);
}

static u16 status(void) { return (u16)vp.gpr[GPR_RAX]; }
static u32 reps(void) { return (u32)((vp.gpr[GPR_RAX] >> 32) & 0xfff); }
static u64 rep_input(u16 code, u32 count, u32 start)
{
	return code | ((u64)count << 32) | ((u64)start << 48);
}

/* The registered rows are indexed by code at start: no duplicate codes,
 * every code in a window, every row with its handler. */
TEST(hc_table_sorted)
{
	CHECK_EQ(hc_table_init(), 0);
	/* every call of docs/tlfs-coverage.md; 5 of them VSM's (vsm/vsm.c, vsm/prot.c),
	 * 2 the nested flush calls (nested/flush.c) */
	CHECK_EQ(hc_row_count(), 28);
}

TEST(hc_privileges_from_tables)
{
	setup();
	part.privileges &= ~HV_ACCESS_PARTITION_ID; /* as partition_init left it */
	partition_init(&part, &fake_backend, 36, 0x200000, 0x100000);
	/* EnableExtendedHypercalls 52, AccessVpRegisters 49, StartVirtualProcessor
	 * 53; no AccessPartitionId 33; AccessSynicRegs 2 (synic/synic.c);
	 * AccessSyntheticTimerRegs 3 (synic/stimer.c), AccessTscInvariantControls
	 * 15 (hv/time.c); PostMessages 36, SignalEvents 37, CreatePort 38,
	 * ConnectPort 39 (synic/port.c); AccessVsm 48 (vsm/vsm.c: its partition
	 * hook keeps it only with AccessSynicRegs and AccessVpRegisters,
	 * test_vsm.c). */
	CHECK_EQ(part.privileges, 0x003300f000008effull);
	setup();
	CHECK_EQ(part.features_edx, 0x48530);
	CHECK_EQ(part.spin_retries, 0xfff);
	/* Leaf 0x40000003 never offers root-only or partition-creating rights. */
	CHECK(!(part.privileges & (HV_CREATE_PARTITIONS | HV_CPU_MANAGEMENT)));
}

TEST(hc_page_contents)
{
	setup();
	CHECK(!memcmp(hc_page, "\xf3\x0f\x1e\xfa\x0f\x01\xd9\xc3\xcc", 9));
	CHECK_EQ(hc_page[4095], 0xcc);
}

TEST(hc_msr_enable_needs_os_id)
{
	setup();
	CHECK_EQ(msr_r(HV_X64_MSR_HYPERCALL), 0);
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, PAGE_GPA | 1), 0);
	CHECK_EQ(msr_r(HV_X64_MSR_HYPERCALL), PAGE_GPA); /* enable stays 0 */
	CHECK_EQ(bes.slat_sets, 0);
	enable_page();
	CHECK_EQ(msr_r(HV_X64_MSR_HYPERCALL), PAGE_GPA | 1);
	CHECK_EQ(bes.last_set_gpa, PAGE_GPA);
	CHECK_EQ(bes.last_set_hpa, (u64)(uintptr_t)hc_page);
	CHECK_EQ(bes.last_set_acc, SLAT_RX);
	CHECK(gmem_overlay_at(&part, PAGE_GPA + 0x10) == &part.vtl[0].hypercall_page);
	/* Clearing the OS ID disables the page and uncovers the RAM. */
	CHECK_EQ(msr_w(HV_X64_MSR_GUEST_OS_ID, 0), 0);
	CHECK_EQ(msr_r(HV_X64_MSR_HYPERCALL) & 1, 0);
	CHECK_EQ(bes.last_set_gpa, PAGE_GPA);
	CHECK_EQ(bes.last_set_hpa, PAGE_GPA);
	CHECK_EQ(bes.last_set_acc, SLAT_RWX);
	CHECK(gmem_overlay_at(&part, PAGE_GPA) == NULL);
}

TEST(hc_msr_move_disable_lock_bounds)
{
	setup();
	enable_page();
	/* Moving uncovers the old page, covers the new one. */
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, (PAGE_GPA + 0x1000) | 1), 0);
	CHECK(gmem_overlay_at(&part, PAGE_GPA) == NULL);
	CHECK(gmem_overlay_at(&part, PAGE_GPA + 0x1000) != NULL);
	/* Over hypervisor memory: allowed (it is GPA space); when disabled,
	 * the page goes back to unmapped, not to identity. */
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, 0x201000 | 1), 0);
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, 0x201000), 0);
	CHECK_EQ(bes.last_set_gpa, 0x201000);
	CHECK_EQ(bes.last_set_acc, SLAT_NONE);
	/* Beyond MAXPHYADDR (36 bits): #GP, nothing changes. */
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, (1ull << 36) | 1), 13);
	CHECK_EQ(msr_r(HV_X64_MSR_HYPERCALL), 0x201000);
	/* Locked: later writes are ignored. */
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, PAGE_GPA | 3), 0);
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, 0), 0);
	CHECK_EQ(msr_r(HV_X64_MSR_HYPERCALL), PAGE_GPA | 3);
	/* A backend failure becomes #GP, not a silent success. */
	setup();
	bes.slat_fail = 1;
	CHECK_EQ(msr_w(HV_X64_MSR_GUEST_OS_ID, 1), 0);
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, PAGE_GPA | 1), 13);
	CHECK_EQ(msr_r(HV_X64_MSR_HYPERCALL), 0);
}

TEST(hc_msr_vp_index_read_only)
{
	setup();
	CHECK_EQ(msr_r(HV_X64_MSR_VP_INDEX), 0);
	CHECK_EQ(msr_w(HV_X64_MSR_VP_INDEX, 0), 13);
	CHECK_EQ(msr_r(HV_X64_MSR_GUEST_OS_ID), 0);
	CHECK_EQ(msr_w(HV_X64_MSR_GUEST_OS_ID, 0x1234), 0);
	CHECK_EQ(msr_r(HV_X64_MSR_GUEST_OS_ID), 0x1234);
}

TEST(hc_ud_conditions)
{
	setup();
	CHECK_EQ(call(HVCALL_GET_PARTITION_ID, 0, OUT_GPA), HV_ACT_INJECTED); /* page off */
	CHECK_EQ(bes.injected_vector, 6);
	enable_page();
	bes.regs[GREG_CPL] = 3;
	CHECK_EQ(call(HVCALL_GET_PARTITION_ID, 0, OUT_GPA), HV_ACT_INJECTED);
	CHECK_EQ(bes.injected_vector, 6);
	bes.regs[GREG_CPL] = 0;
	bes.regs[GREG_CR0] = 0; /* real mode */
	CHECK_EQ(call(HVCALL_GET_PARTITION_ID, 0, OUT_GPA), HV_ACT_INJECTED);
	bes.regs[GREG_CR0] = CR0_PE;
	bes.regs[GREG_RFLAGS] = RFLAGS_VM;
	CHECK_EQ(call(HVCALL_GET_PARTITION_ID, 0, OUT_GPA), HV_ACT_INJECTED);
	bes.regs[GREG_RFLAGS] = 0;
	CHECK_EQ(call(HVCALL_GET_PARTITION_ID, 0, OUT_GPA), HV_ACT_ADVANCE);
	CHECK_EQ(status(), HV_STATUS_SUCCESS);
}

TEST(hc_simple_calls)
{
	setup();
	enable_page();
	u64 *out = (u64 *)(fake_ram + 0x1000);
	*out = 99;
	CHECK_EQ(call(HVCALL_GET_PARTITION_ID, 0, OUT_GPA), HV_ACT_ADVANCE);
	CHECK_EQ(vp.gpr[GPR_RAX], 0);
	CHECK_EQ(*out, HV_PARTITION_ID_ROOT);
	*out = 99;
	CHECK_EQ(call(HVCALL_EXT_QUERY_CAPABILITIES, 0, OUT_GPA), HV_ACT_ADVANCE);
	CHECK_EQ(vp.gpr[GPR_RAX], 0);
	CHECK_EQ(*out, 0);
	call(HVCALL_NOTIFY_LONG_SPIN_WAIT, IN_GPA, 0);
	CHECK_EQ(vp.gpr[GPR_RAX], 0);
	call(HVCALL_NOTIFY_LONG_SPIN_WAIT | HV_HC_FAST, 0x1000, 0);
	CHECK_EQ(vp.gpr[GPR_RAX], 0);
	CHECK_EQ(part.spin_wait_notifications, 2);
}

TEST(hc_status_ordering)
{
	setup();
	enable_page();
	/* Unknown code wins over everything else. */
	call(0x7777 | BIT(27), 1, 1);
	CHECK_EQ(status(), HV_STATUS_INVALID_HYPERCALL_CODE);
	/* Access denied before input errors (reveals least, TLFS 3.12.2). */
	part.privileges &= ~HV_ACCESS_PARTITION_ID;
	call(HVCALL_GET_PARTITION_ID | BIT(27), 0, OUT_GPA + 4);
	CHECK_EQ(status(), HV_STATUS_ACCESS_DENIED);
	part.privileges |= HV_ACCESS_PARTITION_ID;
	/* Input errors before alignment. */
	call(HVCALL_GET_PARTITION_ID | BIT(27), 0, OUT_GPA + 4);
	CHECK_EQ(status(), HV_STATUS_INVALID_HYPERCALL_INPUT);
	const u64 rsvd[] = { BIT(27), BIT(31), BIT(44), BIT(47), BIT(60), BIT(63) };
	for (unsigned i = 0; i < 6; i++) {
		call(HVCALL_GET_PARTITION_ID | rsvd[i], 0, OUT_GPA);
		CHECK_EQ(status(), HV_STATUS_INVALID_HYPERCALL_INPUT);
	}
	call(HVCALL_GET_PARTITION_ID | HV_HC_NESTED, 0, OUT_GPA); /* we are L0 */
	CHECK_EQ(status(), HV_STATUS_SUCCESS);
	call(rep_input(HVCALL_GET_PARTITION_ID, 1, 0), 0, OUT_GPA); /* rep on simple */
	CHECK_EQ(status(), HV_STATUS_INVALID_HYPERCALL_INPUT);
	call(rep_input(HVCALL_GET_PARTITION_ID, 0, 1), 0, OUT_GPA);
	CHECK_EQ(status(), HV_STATUS_INVALID_HYPERCALL_INPUT);
	call(rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 0, 0), IN_GPA, OUT_GPA);
	CHECK_EQ(status(), HV_STATUS_INVALID_HYPERCALL_INPUT);
	call(rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 2, 2), IN_GPA, OUT_GPA);
	CHECK_EQ(status(), HV_STATUS_INVALID_HYPERCALL_INPUT);
	call(HVCALL_GET_PARTITION_ID | (1ull << HV_HC_VARHDR_SHIFT), 0, OUT_GPA);
	CHECK_EQ(status(), HV_STATUS_INVALID_HYPERCALL_INPUT);
}

TEST(hc_parameter_memory)
{
	setup();
	enable_page();
	u64 *out = (u64 *)(fake_ram + 0x1000);
	*out = 99;
	const struct { u64 gpa; u16 st; } cases[] = {
		{ OUT_GPA + 4, HV_STATUS_INVALID_ALIGNMENT },
		{ OUT_GPA + 0xffc, HV_STATUS_INVALID_ALIGNMENT },  /* unaligned */
		{ OUT_GPA + 0xff8 + 8, HV_STATUS_SUCCESS },       /* next page, fine */
		{ 1ull << 36, HV_STATUS_INVALID_ALIGNMENT },        /* beyond GPA space */
		{ 0x200000, HV_STATUS_INVALID_PARAMETER },         /* hypervisor */
		{ 0xfec00000, HV_STATUS_INVALID_PARAMETER },       /* MMIO */
		{ 0x80000000, HV_STATUS_INVALID_PARAMETER },       /* not in the map */
		{ PAGE_GPA, HV_STATUS_INVALID_PARAMETER },         /* overlay page */
	};
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		call(HVCALL_GET_PARTITION_ID, 0, cases[i].gpa);
		if (status() != cases[i].st)
			CHECK_EQ(cases[i].gpa, 0); /* report which */
	}
	CHECK_EQ(*out, 99); /* no failing call wrote its output */
	/* The last matching range is tried first: MMIO right after RAM, RAM
	 * right after MMIO, a range end, all still classified correctly. */
	CHECK_EQ(gmem_check_param(&part, FAKE_RAM_BASE, 8), HV_STATUS_SUCCESS);
	CHECK_EQ(gmem_check_param(&part, 0xfec00000, 8), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(part.range_hint, 2);
	CHECK_EQ(gmem_check_param(&part, 0xfec00ff8, 16), HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(gmem_check_param(&part, FAKE_RAM_BASE + FAKE_RAM_SIZE - 8, 8), HV_STATUS_SUCCESS);
	CHECK_EQ(part.range_hint, 0);
	CHECK_EQ(gmem_check_param(&part, FAKE_RAM_BASE + FAKE_RAM_SIZE, 8),
		 HV_STATUS_INVALID_PARAMETER);
	part.range_hint = 77; /* out of range: ignored */
	CHECK_EQ(gmem_check_param(&part, FAKE_RAM_BASE, 8), HV_STATUS_SUCCESS);
	/* A list crossing a page: 16 + 8*4 bytes from 24 bytes before the end. */
	call(rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 8, 0), IN_GPA + 0x1000 - 24, OUT_GPA);
	CHECK_EQ(status(), HV_STATUS_INVALID_ALIGNMENT);
	/* Input and output overlapping. */
	call(rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 2, 0), IN_GPA, IN_GPA + 16);
	CHECK_EQ(status(), HV_STATUS_INVALID_PARAMETER);
	/* Hypervisor memory ends at 0x300000: the next page is not in the map. */
	call(HVCALL_GET_PARTITION_ID, 0, 0x2ffff8);
	CHECK_EQ(status(), HV_STATUS_INVALID_PARAMETER);
}

static void apic_input(u32 count, u64 pid, u8 vtl, u32 bad_at)
{
	u8 *in = fake_ram;
	*(u64 *)in = pid;
	memset(in + 8, 0, 8);
	in[8] = vtl;
	for (u32 i = 0; i < count; i++)
		*(u32 *)(in + 16 + 4 * i) = i == bad_at ? 0xfffffffe : 7;
	memset(fake_ram + 0x1000, 0xee, 0x1000);
}

TEST(hc_rep_vp_index_from_apic_id)
{
	setup();
	enable_page();
	u32 *out = (u32 *)(fake_ram + 0x1000);
	apic_input(3, HV_PARTITION_ID_SELF, 0, ~0u);
	CHECK_EQ(call(rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 3, 0), IN_GPA, OUT_GPA),
		 HV_ACT_ADVANCE);
	CHECK_EQ(status(), 0);
	CHECK_EQ(reps(), 3);
	CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == 0xeeeeeeee);
	/* An unknown APIC ID stops the list there. */
	apic_input(3, HV_PARTITION_ID_ROOT, 0, 1);
	call(rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 3, 0), IN_GPA, OUT_GPA);
	CHECK_EQ(status(), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(reps(), 1);
	/* Start index: earlier elements untouched, reps complete = count. */
	apic_input(4, HV_PARTITION_ID_SELF, 0, ~0u);
	call(rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 4, 2), IN_GPA, OUT_GPA);
	CHECK_EQ(status(), 0);
	CHECK_EQ(reps(), 4);
	CHECK(out[0] == 0xeeeeeeee && out[1] == 0xeeeeeeee && out[2] == 0 && out[3] == 0);
	/* Header checks. */
	apic_input(1, 2, 0, ~0u);
	call(rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 1, 0), IN_GPA, OUT_GPA);
	CHECK_EQ(status(), HV_STATUS_INVALID_PARTITION_ID);
	CHECK_EQ(reps(), 0);
	apic_input(1, HV_PARTITION_ID_SELF, 0x11, ~0u);
	call(rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 1, 0), IN_GPA, OUT_GPA);
	CHECK_EQ(status(), HV_STATUS_INVALID_PARAMETER);
	apic_input(1, HV_PARTITION_ID_SELF, 0x10, ~0u); /* VTL 0 explicitly */
	call(rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 1, 0), IN_GPA, OUT_GPA);
	CHECK_EQ(status(), 0);
}

TEST(hc_rep_continuation)
{
	setup();
	enable_page();
	apic_input(1000, HV_PARTITION_ID_SELF, 0, ~0u);
	u64 in = rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 1000, 0);
	/* By element count: RIP stays (RESUME), RCX carries the new start. */
	CHECK_EQ(call(in, IN_GPA, OUT_GPA), HV_ACT_RESUME);
	CHECK_EQ(vp.gpr[GPR_RCX], rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 1000, 512));
	CHECK_EQ(hv_handle_hypercall(&vp, NULL), HV_ACT_ADVANCE); /* re-executed */
	CHECK_EQ(status(), 0);
	CHECK_EQ(reps(), 1000);
	u32 *out = (u32 *)(fake_ram + 0x1000);
	CHECK(out[0] == 0 && out[511] == 0 && out[512] == 0 && out[999] == 0);
	/* By time: each element "takes" 30 us of a 50 us budget. */
	fake_tsc_step = 30000;
	CHECK_EQ(call(rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 5, 0), IN_GPA, OUT_GPA),
		 HV_ACT_RESUME);
	u32 start = (u32)((vp.gpr[GPR_RCX] >> 48) & 0xfff);
	CHECK(start >= 1 && start < 5);
	int rounds = 1;
	while (hv_handle_hypercall(&vp, NULL) == HV_ACT_RESUME && rounds < 10)
		rounds++;
	CHECK_EQ(status(), 0);
	CHECK_EQ(reps(), 5);
	CHECK(rounds >= 2);
}

TEST(hc_fast_and_xmm)
{
	setup();
	enable_page();
	/* XMM fast output of a call without input: output starts at RDX. */
	call(HVCALL_GET_PARTITION_ID | HV_HC_FAST, 0x5555, 0x6666);
	CHECK_EQ(status(), 0);
	CHECK_EQ(vp.gpr[GPR_RDX], HV_PARTITION_ID_ROOT);
	/* XMM fast input and output: header in RDX/R8, two APIC IDs in XMM0,
	 * two VP indexes out at byte 32 = XMM1. */
	memset(fake_xmm, 0xff, sizeof(fake_xmm));
	*(u32 *)fake_xmm = 7;
	*(u32 *)(fake_xmm + 4) = 7;
	call(rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 2, 0) | HV_HC_FAST,
	     HV_PARTITION_ID_SELF, 0);
	CHECK_EQ(status(), 0);
	CHECK_EQ(reps(), 2);
	CHECK_EQ(*(u64 *)(fake_xmm + 16), 0);
	CHECK_EQ(*(u32 *)fake_xmm, 7); /* input registers unchanged */
	CHECK_EQ(vp.gpr[GPR_RDX], HV_PARTITION_ID_SELF);
	CHECK_EQ(*(u64 *)(fake_xmm + 24), ~0ull); /* beyond the output */
	/* Too big for the register block. */
	call(rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 20, 0) | HV_HC_FAST,
	     HV_PARTITION_ID_SELF, 0);
	CHECK_EQ(status(), HV_STATUS_INVALID_HYPERCALL_INPUT);
	/* Not advertised: #UD (TLFS 3.7.2.1, 3.8.1.1). */
	part.features_edx &= ~HV_FEATURE_XMM_HYPERCALL_OUTPUT;
	CHECK_EQ(call(HVCALL_GET_PARTITION_ID | HV_HC_FAST, 0, 0), HV_ACT_INJECTED);
	CHECK_EQ(bes.injected_vector, 6);
	part.features_edx &= ~HV_FEATURE_XMM_HYPERCALL_INPUT;
	CHECK_EQ(call(rep_input(HVCALL_GET_VP_INDEX_FROM_APIC_ID, 2, 0) | HV_HC_FAST,
		      HV_PARTITION_ID_SELF, 0), HV_ACT_INJECTED);
	/* Plain fast input still works. */
	CHECK_EQ(call(HVCALL_NOTIFY_LONG_SPIN_WAIT | HV_HC_FAST, 1, 0), HV_ACT_ADVANCE);
	CHECK_EQ(status(), 0);
}

TEST(hc_32bit_caller)
{
	setup();
	enable_page();
	bes.regs[GREG_CS_L] = 0; /* compatibility mode: EDX:EAX, EBX:ECX, EDI:ESI */
	u64 *out = (u64 *)(fake_ram + 0x1000);
	vp.gpr[GPR_RDX] = 0xffffffff00000000ull; /* input value high half = 0 */
	vp.gpr[GPR_RAX] = HVCALL_GET_PARTITION_ID;
	vp.gpr[GPR_RBX] = 0;
	vp.gpr[GPR_RCX] = 0;
	vp.gpr[GPR_RDI] = 0;
	vp.gpr[GPR_RSI] = OUT_GPA;
	vp.gpr[GPR_R8] = 0x12345; /* ignored in 32-bit mode */
	CHECK_EQ(hv_handle_hypercall(&vp, NULL), HV_ACT_ADVANCE);
	CHECK_EQ(vp.gpr[GPR_RAX], 0);
	CHECK_EQ(vp.gpr[GPR_RDX], 0);
	CHECK_EQ(*out, HV_PARTITION_ID_ROOT);
	/* Fast input of a 32-bit caller: EBX:ECX, EDI:ESI (TLFS 3.7). */
	vp.gpr[GPR_RAX] = HVCALL_NOTIFY_LONG_SPIN_WAIT | HV_HC_FAST;
	vp.gpr[GPR_RDX] = 0;
	vp.gpr[GPR_RBX] = 0xdead000000000012ull; /* upper half ignored */
	vp.gpr[GPR_RCX] = 0xbeef000034567890ull;
	vp.gpr[GPR_R8] = 0x999;
	hv_handle_hypercall(&vp, NULL);
	CHECK_EQ(vp.gpr[GPR_RAX], 0);
	CHECK_EQ(part.last_spin_count, 0x0000001234567890ull);
	/* XMM output is x64-only. */
	vp.gpr[GPR_RAX] = HVCALL_GET_PARTITION_ID | HV_HC_FAST;
	vp.gpr[GPR_RDX] = 0;
	hv_handle_hypercall(&vp, NULL);
	CHECK_EQ(vp.gpr[GPR_RAX], HV_STATUS_INVALID_HYPERCALL_INPUT);
	/* Status and reps complete come back in EDX:EAX. */
	apic_input(2, HV_PARTITION_ID_SELF, 0, 1);
	vp.gpr[GPR_RAX] = HVCALL_GET_VP_INDEX_FROM_APIC_ID;
	vp.gpr[GPR_RDX] = 2; /* rep count 2 in bits 43:32 */
	vp.gpr[GPR_RBX] = 0;
	vp.gpr[GPR_RCX] = IN_GPA;
	vp.gpr[GPR_RDI] = 0;
	vp.gpr[GPR_RSI] = OUT_GPA;
	hv_handle_hypercall(&vp, NULL);
	CHECK_EQ(vp.gpr[GPR_RAX], HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(vp.gpr[GPR_RDX], 1); /* one rep completed */
}

TEST(hc_overlay_stacking)
{
	setup();
	static struct overlay other = { 0, 0x7000, SLAT_RWX, false, "other", 0 };
	other.active = false;
	overlay_register(&part, &other);
	enable_page();
	CHECK_EQ(overlay_enable(&vp, &other, PAGE_GPA), 0);
	CHECK(gmem_overlay_at(&part, PAGE_GPA) == &other);
	CHECK_EQ(bes.last_set_hpa, 0x7000);
	/* Disabling the top one shows the one below, not the RAM. */
	CHECK_EQ(overlay_disable(&vp, &other), 0);
	CHECK(gmem_overlay_at(&part, PAGE_GPA) == &part.vtl[0].hypercall_page);
	CHECK_EQ(bes.last_set_hpa, (u64)(uintptr_t)hc_page);
	CHECK_EQ(bes.last_set_acc, SLAT_RX);
}
