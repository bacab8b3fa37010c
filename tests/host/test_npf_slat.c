/* test_npf_slat.c - second-level faults (hv/npf.c) on real second-level
 * tables (arch/x86_64/slat.c in host memory): a page mapped on first touch
 * next to an overlay page (TLFS 5.2.1). Found by the hypercall fuzz target
 * (docs/reliability.md): an overlay put above phys_top leaves a 4K table in
 * the large page's place, and the lazy large mapping then failed, which
 * parked the processor ("out of memory for second-level tables"). */
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
static u8 tsc_page[4096] __attribute__((aligned(4096)));
static u8 tables[16][4096] __attribute__((aligned(4096)));
static int tables_used;
static struct backend be;
static const struct mem_range ranges[] = {
	{ FAKE_RAM_BASE, FAKE_RAM_SIZE, MEM_RAM, 0 },
	{ 0x200000, 0x100000, MEM_HV, 0 },
};
#define TOP 0x4000000ull /* phys_top: mapped at start below, on first touch above */
#define OVER 0x100201000ull /* above it: 4 GiB + 2 MiB + 4 KiB */

static void *alloc(void *ctx)
{
	if (tables_used == 16)
		return NULL;
	memset(tables[tables_used], 0, 4096);
	return tables[tables_used++];
}
static int set_page(struct vp *v, u64 gpa, u64 hpa, enum slat_access acc)
{
	return slat_set_access(v->cur->slat, gpa, hpa, acc);
}
static int map_identity(struct vp *v, u64 gpa)
{
	u64 b, s;
	return slat_map_identity_large(v->cur->slat, gpa, &b, &s);
}

static void setup(void)
{
	fake_smp_partition(&part, &vp, &bes, 1);
	be = fake_backend;
	be.slat_set_page = set_page;
	be.slat_map_identity = map_identity;
	part.be = &be;
	part.ranges = ranges;
	part.range_count = 2;
	tables_used = 0;
	fake_fatal_count = 0;
	CHECK_EQ(slat_init(&part.slat[0], &slat_fmt_npt, alloc, NULL), 0);
	CHECK_EQ(slat_identity_with_hole(&part.slat[0], 0, TOP, 0x200000, 0x300000), 0);
	CHECK_EQ(time_setup(&part, tsc_page), 0);
}

static enum hv_action npf(u64 gpa)
{
	struct hv_exit e = { .reason = HV_EXIT_NPF };
	e.u.npf.gpa = gpa;
	e.u.npf.read = true;
	bes.injected_vector = -1;
	fake_fatal_armed = 1;
	if (setjmp(fake_fatal_jmp))
		return HV_ACT_FATAL;
	enum hv_action a = hv_handle_npf(&vp, &e);
	fake_fatal_armed = 0;
	return a;
}

static int msr_w(u32 msr, u64 v)
{
	struct hv_exit e = { .reason = HV_EXIT_MSR_WRITE };
	e.u.msr.index = msr;
	e.u.msr.value = v;
	return hv_handle_msr_write(&vp, &e) == HV_ACT_ADVANCE ? 0 : -1;
}

TEST(npf_next_to_overlay_above_phys_top)
{
	setup();
	u64 pa, sz;
	CHECK_EQ(msr_w(HV_X64_MSR_REFERENCE_TSC, OVER | 1), 0);
	CHECK_EQ(slat_lookup(&part.slat[0], OVER, &pa, &sz), 0);
	CHECK_EQ(pa, (u64)(uintptr_t)tsc_page);
	/* The neighbour in the same 2 MiB page: mapped, as itself. */
	CHECK_EQ(npf(OVER - 0x1000), HV_ACT_RESUME);
	CHECK_EQ(slat_lookup(&part.slat[0], OVER - 0x1000, &pa, &sz), 0);
	CHECK_EQ(pa, OVER - 0x1000);
	CHECK_EQ(slat_lookup(&part.slat[0], OVER, &pa, &sz), 0);
	CHECK_EQ(pa, (u64)(uintptr_t)tsc_page); /* the overlay stays */
	/* Moved away: its page is uncovered, the table stays in the way. */
	CHECK_EQ(msr_w(HV_X64_MSR_REFERENCE_TSC, 0x100000 | 1), 0);
	CHECK_EQ(npf(OVER + 0x5000), HV_ACT_RESUME);
	CHECK_EQ(slat_lookup(&part.slat[0], OVER + 0x5000, &pa, &sz), 0);
	CHECK_EQ(pa, OVER + 0x5000);
	/* Elsewhere still a large page, as before. */
	CHECK_EQ(npf(0x900000000ull), HV_ACT_RESUME);
	CHECK_EQ(slat_lookup(&part.slat[0], 0x900000000ull, &pa, &sz), 0);
	CHECK_EQ(sz, PAGE_2M);
	CHECK_EQ(fake_fatal_count, 0);
}

/* A guest store to the xAPIC page while the APIC is in x2APIC mode: SDM
 * 10.12.1.2, the memory-mapped interface is disabled (a globally disabled
 * xAPIC): dropped, the instruction completes. Found by the emulate fuzz
 * target: the emulation wrote the registers as x2APIC MSRs, and a store
 * to one x2APIC mode lacks (0x310, 0xFF0) raised #GP in the host, which
 * parks the processor (the fake APIC of tests/host/fakes.c models that). */
static enum hv_action apic_store(const char *insn, int n, u32 off)
{
	memcpy(fake_ram + 0x100, insn, (size_t)n);
	bes.regs[GREG_RIP] = FAKE_RAM_BASE + 0x100;
	struct hv_exit e = { .reason = HV_EXIT_NPF };
	e.u.npf.gpa = 0xfee00000ull + off;
	e.u.npf.write = true;
	e.u.npf.present = true;
	bes.injected_vector = -1;
	fake_fatal_armed = 1;
	if (setjmp(fake_fatal_jmp))
		return HV_ACT_FATAL;
	enum hv_action a = hv_handle_npf(&vp, &e);
	fake_fatal_armed = 0;
	CHECK(a != HV_ACT_ADVANCE || e.insn_len == (u32)n);
	return a;
}

TEST(npf_apic_store_in_x2apic_mode)
{
	setup();
	part.apic_gpa = 0xfee00000ull;
	/* 32-bit protected mode without paging: the fetch is at RIP. */
	bes.regs[GREG_EFER] = 0;
	bes.regs[GREG_CS_L] = 0;
	bes.regs[GREG_CR0] = CR0_PE;
	bes.state.seg[SEG_CS].attr = 0xc09b;
	memset(fake_apic, 0, sizeof(fake_apic));
	vp.gpr[GPR_RAX] = 0x12345678;
	fake_msr_set(MSR_IA32_APIC_BASE, 0xfee00000ull | BIT(11) | BIT(10));
	CHECK_EQ(apic_store("\xa3\x10\x03\xe0\xfe", 5, 0x310), HV_ACT_ADVANCE); /* mov [ICR_HI], eax */
	CHECK_EQ(apic_store("\x83\x0d\xf0\x0f\xe0\xfe\x01", 7, 0xff0), HV_ACT_ADVANCE); /* or [..ff0], 1 */
	CHECK_EQ(apic_store("\x87\x05\x80\x00\xe0\xfe", 6, 0x80), HV_ACT_ADVANCE); /* xchg [TPR], eax */
	CHECK_EQ(vp.gpr[GPR_RAX], 0); /* the load read 0 */
	CHECK_EQ(fake_apic[0x310 / 4], 0);
	CHECK_EQ(fake_apic[0x80 / 4], 0);
	CHECK_EQ(fake_fatal_count, 0);
	/* In xAPIC mode the same store reaches the register. */
	vp.gpr[GPR_RAX] = 0x12345678;
	fake_msr_set(MSR_IA32_APIC_BASE, 0xfee00000ull | BIT(11));
	CHECK_EQ(apic_store("\xa3\x10\x03\xe0\xfe", 5, 0x310), HV_ACT_ADVANCE);
	CHECK_EQ(fake_apic[0x310 / 4], 0x12345678);
	fake_msr_reset();
}
