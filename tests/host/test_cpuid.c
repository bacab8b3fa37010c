/* test_cpuid.c - the guest's CPUID (hv/cpuid.c) against TLFS 2.2-2.4. */
#include "htest.h"
#include "fakes.h"
#include "hv_abi.h"
#include "tlfs.h"

static struct partition part;
static struct vp vp;
static struct fake_be_state bes;

static void setup(void)
{
	partition_init(&part, &fake_backend, 48, 0x1000000, 0x100000);
	fake_vp_init(&vp, &part, &bes);
	fake_cpuid_reset();
	/* A TCG-like AMD CPU: SVM present, TCG's own hypervisor leaves. */
	/* Bare-metal-like: no hypervisor bit of its own. */
	fake_cpuid_set(1, 0, 0x663, 0x800, 0x00002221 | (1u << 27) | (1u << 5), 0x078bfbfd);
	fake_cpuid_set(7, 0, 0, 0x9c2, 0x10, 0);
	fake_cpuid_set(0x80000001, 0, 0x663, 0, 0x4 | 0x1, 0x2193fbff);
	fake_cpuid_set(0x8000000a, 0, 1, 0x10, 0, 0x9);
	fake_cpuid_set(0x40000000, 0, 0x40000001, 0x54474354, 0x43544743, 0x47435447);
}

static void guest_cpuid(u32 leaf, u32 sub, u32 r[4])
{
	vp.gpr[GPR_RAX] = 0xffffffff00000000ull | leaf;
	vp.gpr[GPR_RCX] = sub;
	vp.gpr[GPR_RBX] = vp.gpr[GPR_RDX] = ~0ull;
	bes.advanced = 0;
	enum hv_action a = hv_handle_cpuid(&vp, NULL);
	CHECK_EQ(a, HV_ACT_ADVANCE);
	for (int i = 0; i < 4; i++) {
		u64 v = vp.gpr[i == 0 ? GPR_RAX : i == 1 ? GPR_RBX : i == 2 ? GPR_RCX : GPR_RDX];
		CHECK_EQ(v >> 32, 0); /* upper halves cleared */
		r[i] = (u32)v;
	}
}

TEST(cpuid_vendor_and_interface)
{
	u32 r[4];
	setup();
	guest_cpuid(0x40000000, 0, r);
	CHECK_EQ(r[0], HV_CPUID_MAX_LEAF);
	CHECK(r[0] >= 0x40000005); /* TLFS 2.4.1 */
	CHECK_EQ(r[1], 0x7263694d);
	CHECK_EQ(r[2], 0x666f736f);
	CHECK_EQ(r[3], 0x76482074);
	guest_cpuid(0x40000001, 0, r);
	CHECK_EQ(r[0], 0x31237648);
	CHECK_EQ(r[1] | r[2] | r[3], 0);
	guest_cpuid(0x40000002, 0, r);
	CHECK_EQ(r[0], HV_VERSION_BUILD);
	CHECK_EQ(r[1], (HV_VERSION_MAJOR << 16) | HV_VERSION_MINOR);
}

TEST(cpuid_features_match_partition)
{
	u32 r[4];
	setup();
	guest_cpuid(0x40000003, 0, r);
	CHECK_EQ(r[0], (u32)part.privileges); /* what the tables implement */
	CHECK_EQ(r[1], part.privileges >> 32);
	CHECK_EQ(r[2], 0);
	CHECK_EQ(r[3], part.features_edx);
	part.privileges = 0x0000300000000041ull;
	part.features_edx = 0x400;
	guest_cpuid(0x40000003, 0, r);
	CHECK_EQ(r[0], 0x41);
	CHECK_EQ(r[1], 0x3000);
	CHECK_EQ(r[3], 0x400);
	part.spin_retries = 0xfff;
	guest_cpuid(0x40000004, 0, r);
	/* bit 3: use the APIC MSRs; bits 2, 10, 11: remote flushes and IPIs by
	 * hypercall, with Ex processor sets (hv/tlb.c); not bit 1 (a local
	 * flush by hypercall is slower than the guest's own INVLPG). */
	CHECK_EQ(r[0], 0xc0c);
	CHECK_EQ(r[1], 0xfff); /* HvNotifyLongSpinWait after 4095 spins */
	CHECK_EQ(r[2], 48);
	guest_cpuid(0x40000005, 0, r);
	CHECK_EQ(r[0], HV_MAX_VPS);
	CHECK_EQ(r[1], HV_MAX_LPS);
	guest_cpuid(0x40000006, 0, r);
	CHECK_EQ(r[0], 0xa); /* from the backend */
}

TEST(cpuid_zero_leaves)
{
	u32 r[4];
	setup();
	const u32 leaves[] = { 0x40000007, 0x40000008, 0x40000009, 0x4000000a, 0x4000000b,
			       0x40000080, 0x400000ff, 0x40000100, 0x4fffffff };
	for (unsigned i = 0; i < sizeof(leaves) / 4; i++) {
		guest_cpuid(leaves[i], 0, r);
		CHECK_EQ(r[0] | r[1] | r[2] | r[3], 0);
	}
}

TEST(cpuid_hides_virtualization)
{
	u32 r[4];
	setup();
	bes.regs[GREG_CR4] = 0;
	guest_cpuid(1, 0, r);
	CHECK(r[2] & (1u << 31)); /* TLFS 2.2 */
	CHECK(!(r[2] & (1u << 5)));
	CHECK(!(r[2] & (1u << 27))); /* OSXSAVE follows the guest CR4 */
	bes.regs[GREG_CR4] = 1u << 18;
	guest_cpuid(1, 0, r);
	CHECK(r[2] & (1u << 27));
	CHECK_EQ(r[0], 0x663); /* the rest passes through */
	guest_cpuid(0x80000001, 0, r);
	CHECK_EQ(r[2], 0x1);
	guest_cpuid(0x8000000a, 0, r);
	CHECK_EQ(r[0] | r[1] | r[2] | r[3], 0);
	bes.regs[GREG_CR4] = 1u << 22;
	guest_cpuid(7, 0, r);
	CHECK_EQ(r[2], 0x10);
	bes.regs[GREG_CR4] = 0;
	guest_cpuid(7, 0, r);
	CHECK_EQ(r[2], 0);
	guest_cpuid(7, 1, r); /* OSPKE is in subleaf 0 only */
	CHECK_EQ(r[2], 0);
}

/* nested=on (docs/nested.md): SVM offered, leaf 0x8000000A exactly what
 * the emulation offers (partition.nested_svm_edx), SKINIT hidden; VMX
 * stays hidden. */
TEST(cpuid_nested_offers_svm)
{
	u32 r[4];
	setup();
	fake_cpuid_reset();
	fake_cpuid_set(1, 0, 0x663, 0x800, 0x00002221 | (1u << 5), 0x078bfbfd);
	fake_cpuid_set(0x80000001, 0, 0x663, 0, 0x4 | 0x1 | (1u << 12), 0x2193fbff);
	fake_cpuid_set(0x8000000a, 0, 7, 0x10, 0x55, 0x1fffff);
	part.nested = true;
	part.nested_svm_edx = 0x9;
	guest_cpuid(0x80000001, 0, r);
	CHECK_EQ(r[2], 0x5);
	guest_cpuid(0x8000000a, 0, r);
	CHECK_EQ(r[0], 1);
	CHECK_EQ(r[1], 0x10);
	CHECK_EQ(r[2], 0);
	CHECK_EQ(r[3], 0x9);
	guest_cpuid(1, 0, r);
	CHECK(!(r[2] & (1u << 5)));
	part.nested = false;
	guest_cpuid(0x80000001, 0, r);
	CHECK_EQ(r[2], 0x1001);
	guest_cpuid(0x8000000a, 0, r);
	CHECK_EQ(r[0] | r[1] | r[2] | r[3], 0);
}
