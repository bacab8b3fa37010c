/* test_overlay.c - what an overlay page (TLFS 5.2.1) gives back when it is
 * disabled or moved: exactly the base protection of the page it covered
 * (hv/gmem.c gmem_base_access: the xAPIC page read-only, hypervisor memory
 * unmapped, everything else identity RWX), for the hypercall page, the
 * reference TSC page and the VP assist page, through their MSRs and their
 * HvSetVpRegisters names, alone and stacked; and the hypercall MSR lock
 * against a zeroed guest OS ID (TLFS 2.6, 3.13). Issue 14, defects 1 and 4. */
#include "htest.h"
#include "fakes.h"
#include "boot_info.h"
#include "tlfs.h"
#include "x86.h"
#include <string.h>

static struct partition part;
static struct vp vp;
static struct fake_be_state bes;
static u8 hc_page[4096] __attribute__((aligned(4096)));
static u8 tsc_page[4096] __attribute__((aligned(4096)));
static u8 assist_page[4096] __attribute__((aligned(4096)));
static const struct mem_range ranges[] = {
	{ FAKE_RAM_BASE, FAKE_RAM_SIZE, MEM_RAM, 0 },
	{ 0x200000, 0x100000, MEM_HV, 0 },
	{ 0xfec00000, 0x1000, MEM_MMIO, 0 },
};
#define APIC 0xfee00000ull
#define HIDDEN 0x201000ull     /* hypervisor memory (0x200000-0x2FFFFF) */
#define MMIO 0xfec00000ull     /* the I/O APIC, say */
#define AWAY (FAKE_RAM_BASE + 0x8000)
#define IN_GPA (FAKE_RAM_BASE)
#define OUT_GPA (FAKE_RAM_BASE + 0x1000)
#define R_VP_ASSIST 0x00090013u
#define R_REFERENCE_TSC 0x00090017u
#define OS_ID 0x8100000000000000ull

static void setup(void)
{
	fake_smp_partition(&part, &vp, &bes, 1);
	part.ranges = ranges;
	part.range_count = 3;
	CHECK_EQ(hc_setup(&part, hc_page), 0);
	CHECK_EQ(time_setup(&part, tsc_page), 0);
	CHECK_EQ(apic_assist_setup(&vp, assist_page), 0);
	part.apic_gpa = APIC;
	CHECK_EQ(gmem_protect_page(&vp, APIC, SLAT_RX), 0);
	memset(fake_ram, 0, sizeof(fake_ram));
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

/* The latest slat_set_page for gpa's page since the last mark(), or NULL. */
static int mark_at;
static void mark(void) { mark_at = bes.slat_sets; }
static const struct fake_set *last_set(u64 gpa)
{
	for (int i = bes.slat_sets - 1; i >= mark_at && i >= bes.slat_sets - 32; i--)
		if (bes.set_log[i % 32].gpa == gpa)
			return &bes.set_log[i % 32];
	return NULL;
}

/* gpa's page was last set to itself with access want (hpa 0 for none). */
#define CHECK_BASE(gpa, want)                                                   \
	do {                                                                   \
		const struct fake_set *s_ = last_set(gpa);                     \
		CHECK(s_ != NULL);                                             \
		if (s_) {                                                      \
			CHECK_EQ(s_->acc, (want));                              \
			CHECK_EQ(s_->hpa, (want) == SLAT_NONE ? 0 : (gpa));     \
		}                                                              \
	} while (0)

/* HvSetVpRegisters of one register of VP 0 (TLFS 7.10.2). */
static u16 set_reg(u32 name, u64 val)
{
	u8 *in = fake_ram;
	memset(in, 0, 48);
	*(u64 *)in = HV_PARTITION_ID_SELF;
	*(u32 *)(in + 8) = HV_VP_INDEX_SELF;
	*(u32 *)(in + 16) = name;
	*(u64 *)(in + 32) = val;
	vp.gpr[GPR_RCX] = HVCALL_SET_VP_REGISTERS | (1ull << 32);
	vp.gpr[GPR_RDX] = IN_GPA;
	vp.gpr[GPR_R8] = OUT_GPA;
	hv_handle_hypercall(&vp, NULL);
	return (u16)vp.gpr[GPR_RAX];
}

/* The one rule: hypervisor memory none, a protected page its access,
 * everything else identity RWX. */
TEST(overlay_base_rule)
{
	setup();
	CHECK_BASE(APIC, SLAT_RX); /* gmem_protect_page applied it */
	CHECK_EQ(gmem_base_access(&part, APIC), SLAT_RX);
	CHECK_EQ(gmem_base_access(&part, APIC + 0x300), SLAT_RX);
	CHECK_EQ(gmem_base_access(&part, APIC + 0x1000), SLAT_RWX);
	CHECK_EQ(gmem_base_access(&part, HIDDEN), SLAT_NONE);
	CHECK_EQ(gmem_base_access(&part, 0x200000), SLAT_NONE);
	CHECK_EQ(gmem_base_access(&part, 0x2ff000), SLAT_NONE);
	CHECK_EQ(gmem_base_access(&part, 0x300000), SLAT_RWX);
	CHECK_EQ(gmem_base_access(&part, MMIO), SLAT_RWX);
	CHECK_EQ(gmem_base_access(&part, FAKE_RAM_BASE), SLAT_RWX);
	/* Registering again changes the access, not the count; the table
	 * is bounded. */
	CHECK_EQ(gmem_protect_page(&vp, APIC + 0x10, SLAT_RX), 0);
	CHECK_EQ(part.protected_count, 1);
	for (u32 i = 1; i < HV_MAX_PROTECTED; i++)
		CHECK_EQ(gmem_protect_page(&vp, 0x80000000ull + i * 0x1000, SLAT_RX), 0);
	CHECK(gmem_protect_page(&vp, 0x90000000ull, SLAT_RX) != 0);
	CHECK_EQ(gmem_base_access(&part, 0x90000000ull), SLAT_RWX);
	/* A protected page under an overlay stays covered when protected. */
	CHECK_EQ(msr_w(HV_X64_MSR_GUEST_OS_ID, OS_ID), 0);
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, 0x80001000ull | 1), 0);
	mark();
	CHECK_EQ(gmem_protect_page(&vp, 0x80001000ull, SLAT_RX), 0);
	CHECK_EQ(last_set(0x80001000ull)->hpa, (u64)(uintptr_t)hc_page);
}

/* The report: HYPERCALL = APIC | 0x809, then 0x100000; and a move. */
TEST(overlay_apic_protect_hypercall)
{
	setup();
	CHECK_EQ(msr_w(HV_X64_MSR_GUEST_OS_ID, OS_ID), 0);
	mark();
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, APIC | 0x809), 0);
	CHECK_EQ(last_set(APIC)->hpa, (u64)(uintptr_t)hc_page);
	CHECK_EQ(last_set(APIC)->acc, SLAT_RX);
	mark();
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, 0x100000), 0);
	CHECK_BASE(APIC, SLAT_RX);
	CHECK(gmem_overlay_at(&part, APIC) == NULL);
	/* Moved (enabled) elsewhere. */
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, APIC | 1), 0);
	mark();
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, AWAY | 1), 0);
	CHECK_BASE(APIC, SLAT_RX);
	CHECK_EQ(last_set(AWAY)->hpa, (u64)(uintptr_t)hc_page);
	/* Zeroing the guest OS ID disables it: over the APIC page too. */
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, APIC | 1), 0);
	mark();
	CHECK_EQ(msr_w(HV_X64_MSR_GUEST_OS_ID, 0), 0);
	CHECK_BASE(APIC, SLAT_RX);
}

TEST(overlay_apic_protect_ref_tsc_and_assist)
{
	setup();
	static const u32 msrs[] = { HV_X64_MSR_REFERENCE_TSC, HV_X64_MSR_VP_ASSIST_PAGE };
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(msr_w(msrs[i], APIC | 1), 0);
		mark();
		CHECK_EQ(msr_w(msrs[i], 0), 0);
		CHECK_BASE(APIC, SLAT_RX);
		CHECK_EQ(msr_w(msrs[i], APIC | 1), 0);
		mark();
		CHECK_EQ(msr_w(msrs[i], AWAY | 1), 0);
		CHECK_BASE(APIC, SLAT_RX);
		CHECK_EQ(msr_w(msrs[i], 0), 0);
	}
}

/* Their HvSetVpRegisters names (TLFS 7.8.2) go through the same MSRs. */
TEST(overlay_apic_protect_vp_registers)
{
	setup();
	part.vtl[0].guest_os_id = OS_ID;
	part.vtl[0].hypercall_msr = (FAKE_RAM_BASE + 0x4000) | HV_HYPERCALL_ENABLE;
	static const u32 names[] = { R_REFERENCE_TSC, R_VP_ASSIST };
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(set_reg(names[i], APIC | 1), HV_STATUS_SUCCESS);
		CHECK(gmem_overlay_at(&part, APIC) != NULL);
		mark();
		CHECK_EQ(set_reg(names[i], 0), HV_STATUS_SUCCESS);
		CHECK_BASE(APIC, SLAT_RX);
		CHECK_EQ(set_reg(names[i], APIC | 1), HV_STATUS_SUCCESS);
		mark();
		CHECK_EQ(set_reg(names[i], AWAY | 1), HV_STATUS_SUCCESS);
		CHECK_BASE(APIC, SLAT_RX);
		CHECK_EQ(set_reg(names[i], 0), HV_STATUS_SUCCESS);
	}
}

/* Stacked over the APIC page: the top one goes (the one below shows),
 * then the other (read-only again). */
TEST(overlay_apic_protect_stacked)
{
	setup();
	CHECK_EQ(msr_w(HV_X64_MSR_GUEST_OS_ID, OS_ID), 0);
	CHECK_EQ(msr_w(HV_X64_MSR_VP_ASSIST_PAGE, APIC | 1), 0);
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, APIC | 1), 0);
	mark();
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, 0), 0);
	CHECK_EQ(last_set(APIC)->hpa, (u64)(uintptr_t)assist_page);
	CHECK_EQ(last_set(APIC)->acc, SLAT_RWX);
	mark();
	CHECK_EQ(msr_w(HV_X64_MSR_VP_ASSIST_PAGE, 0), 0);
	CHECK_BASE(APIC, SLAT_RX);
}

/* Hypervisor memory goes back to unmapped, MMIO and RAM to identity RWX,
 * for every overlay. */
TEST(overlay_uncover_hidden_and_mmio)
{
	setup();
	CHECK_EQ(msr_w(HV_X64_MSR_GUEST_OS_ID, OS_ID), 0);
	static const u32 msrs[] = { HV_X64_MSR_HYPERCALL, HV_X64_MSR_REFERENCE_TSC,
				    HV_X64_MSR_VP_ASSIST_PAGE };
	static const u64 under[] = { HIDDEN, MMIO, AWAY };
	static const int base_acc[] = { SLAT_NONE, SLAT_RWX, SLAT_RWX };
	for (int m = 0; m < 3; m++)
		for (int u = 0; u < 3; u++) {
			CHECK_EQ(msr_w(msrs[m], under[u] | 1), 0);
			CHECK(gmem_overlay_at(&part, under[u]) != NULL);
			mark();
			CHECK_EQ(msr_w(msrs[m], 0), 0);
			CHECK_BASE(under[u], base_acc[u]);
			CHECK_EQ(msr_w(msrs[m], under[u] | 1), 0);
			mark();
			CHECK_EQ(msr_w(msrs[m], (FAKE_RAM_BASE + 0x9000) | 1), 0);
			CHECK_BASE(under[u], base_acc[u]);
			CHECK_EQ(msr_w(msrs[m], 0), 0);
		}
}

/* TLFS 3.13: a locked hypercall MSR is immutable until reset; zeroing the
 * guest OS ID (TLFS 2.6) then leaves it and its page as they are. */
TEST(overlay_lock_survives_os_id_zero)
{
	setup();
	const u64 page = FAKE_RAM_BASE + 0x4000;
	CHECK_EQ(msr_w(HV_X64_MSR_GUEST_OS_ID, OS_ID), 0);
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, page | 3), 0);
	mark();
	CHECK_EQ(msr_w(HV_X64_MSR_GUEST_OS_ID, 0), 0);
	CHECK_EQ(msr_r(HV_X64_MSR_GUEST_OS_ID), 0);
	CHECK_EQ(msr_r(HV_X64_MSR_HYPERCALL), page | 3);
	CHECK(gmem_overlay_at(&part, page) == &part.vtl[0].hypercall_page);
	CHECK(last_set(page) == NULL);
	/* Still callable: a hypercall through it answers. */
	vp.gpr[GPR_RCX] = HVCALL_NOTIFY_LONG_SPIN_WAIT | (1ull << 16); /* fast */
	vp.gpr[GPR_RDX] = 1;
	bes.injected_vector = -1;
	hv_handle_hypercall(&vp, NULL);
	CHECK_EQ(bes.injected_vector, -1);
	CHECK_EQ((u16)vp.gpr[GPR_RAX], HV_STATUS_SUCCESS);
	/* And the ID can be set again; the MSR stays locked. */
	CHECK_EQ(msr_w(HV_X64_MSR_GUEST_OS_ID, OS_ID), 0);
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, 0), 0);
	CHECK_EQ(msr_r(HV_X64_MSR_HYPERCALL), page | 3);
	/* Unlocked, zeroing the ID still disables the page (TLFS 2.6). */
	setup();
	CHECK_EQ(msr_w(HV_X64_MSR_GUEST_OS_ID, OS_ID), 0);
	CHECK_EQ(msr_w(HV_X64_MSR_HYPERCALL, page | 1), 0);
	CHECK_EQ(msr_w(HV_X64_MSR_GUEST_OS_ID, 0), 0);
	CHECK_EQ(msr_r(HV_X64_MSR_HYPERCALL), page);
	CHECK(gmem_overlay_at(&part, page) == NULL);
}
