/*
 * test_vmx_caps.c - the VMX control computation (vmx/vmx_caps.c) against
 * capability MSR values recorded from Bochs 2.7 `cpu: model=tigerlake`
 * (hv.efi with log=debug prints them: "vmx caps: ..."), and against CPUs
 * that lack what the backend requires (SDM vol. 3 appendix A).
 */
#include "htest.h"
#include "../../vmx/vmx_caps.h"
#include "../../vmx/vmcs.h"

/* Bochs 2.7 tigerlake, as logged by vmx_probe. */
static const struct vmx_caps bochs_tigerlake = {
	.basic = 0x01d8100000000004ull,
	.pin = 0x0000007f00000016ull,
	.proc = 0xfff9fffe0401e172ull,
	.exit = 0x107fffff00036dffull,
	.entry = 0x0010ffff000011ffull,
	.misc = 0x00000000600401e0ull,
	.cr0_fixed0 = 0x80000021ull,
	.cr0_fixed1 = 0xffffffffull,
	.cr4_fixed0 = 0x2000ull,
	.cr4_fixed1 = 0xf72fffull,
	.proc2 = 0x02977fff00000000ull,
	.ept_vpid = 0x00000f0106b34141ull,
	.true_pin = 0x0000007f00000016ull,
	.true_proc = 0xfff9fffe04006172ull,
	.true_exit = 0x107fffff00036dfbull,
	.true_entry = 0x0010ffff000011fbull,
};

TEST(vmx_caps_bochs_tigerlake_controls)
{
	struct vmx_controls c;
	const char *why = "unset";
	u32 missing = 0xdead;
	CHECK_EQ(vmx_compute_controls(&bochs_tigerlake, vmx_ctl_wanted, &c, &why, &missing), 0);
	CHECK(why == NULL);
	CHECK_EQ(missing, 0);
	CHECK_EQ(c.pin, 0x1e); /* default-1 bits 1, 2, 4 + NMI exiting (3) */            /* only the default1 bits */
	CHECK_EQ(c.proc, 0x96006172);     /* bitmaps + secondary; no CR3 exiting (TRUE) */
	CHECK_EQ(c.proc2, 0x001010aa);    /* EPT, RDTSCP, VPID, UG, INVPCID, XSAVES */
	CHECK_EQ(c.exit, 0x003f6fff);
	CHECK_EQ(c.entry, 0x0000d3ff);
	CHECK(!(c.proc & (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_HLT_EXITING)));
	CHECK(!(c.proc2 & PROC2_ENABLE_USER_WAIT_PAUSE)); /* not offered: left out */
	CHECK(c.proc2 & PROC2_UNRESTRICTED_GUEST);
}

/* Without bit 55 the legacy MSRs apply: their default1 bits (CR3-load
 * and CR3-store exiting, save/load debug controls) are forced on. */
TEST(vmx_caps_legacy_msrs_without_true_ctls)
{
	struct vmx_caps caps = bochs_tigerlake;
	caps.basic &= ~VMX_BASIC_TRUE_CTLS;
	caps.true_proc = 0; /* must not be looked at */
	caps.true_pin = caps.true_exit = caps.true_entry = 0;
	struct vmx_controls c;
	const char *why;
	u32 missing;
	CHECK_EQ(vmx_compute_controls(&caps, vmx_ctl_wanted, &c, &why, &missing), 0);
	CHECK_EQ(c.proc, 0x9601e172);
	CHECK(c.proc & PROC_CR3_LOAD_EXITING);
	CHECK(c.proc & PROC_CR3_STORE_EXITING);
	CHECK_EQ(c.exit, 0x003f6fff);
	CHECK_EQ(c.entry, 0x0000d3ff);
}

/* A CPU without unrestricted guest: the backend refuses it and names the
 * control word and bit. */
TEST(vmx_caps_missing_unrestricted_guest)
{
	struct vmx_caps caps = bochs_tigerlake;
	caps.proc2 &= ~((u64)PROC2_UNRESTRICTED_GUEST << 32);
	struct vmx_controls c;
	const char *why = NULL;
	u32 missing = 0;
	CHECK_EQ(vmx_compute_controls(&caps, vmx_ctl_wanted, &c, &why, &missing), -1);
	CHECK(why != NULL && why[0] == 's'); /* "secondary processor-based" */
	CHECK_EQ(missing, PROC2_UNRESTRICTED_GUEST);
}

/* No secondary controls at all (an old CPU): EPT cannot be had. */
TEST(vmx_caps_missing_secondary_controls)
{
	struct vmx_caps caps = bochs_tigerlake;
	caps.true_proc &= ~((u64)PROC_ACTIVATE_SECONDARY << 32);
	caps.proc2 = 0;
	struct vmx_controls c;
	const char *why = NULL;
	u32 missing = 0;
	CHECK_EQ(vmx_compute_controls(&caps, vmx_ctl_wanted, &c, &why, &missing), -1);
	CHECK_EQ(missing, PROC_ACTIVATE_SECONDARY);
}

/* Optional controls the CPU lacks are simply left out. */
TEST(vmx_caps_optional_controls_dropped)
{
	struct vmx_caps caps = bochs_tigerlake;
	caps.proc2 &= ~((u64)(PROC2_ENABLE_VPID | PROC2_ENABLE_XSAVES) << 32);
	struct vmx_controls c;
	const char *why;
	u32 missing;
	CHECK_EQ(vmx_compute_controls(&caps, vmx_ctl_wanted, &c, &why, &missing), 0);
	CHECK_EQ(c.proc2, 0x001010aa & ~(u32)(PROC2_ENABLE_VPID | PROC2_ENABLE_XSAVES));
}

TEST(vmx_caps_adjust_ctl)
{
	u32 out, missing;
	/* must1 0x16, may1 0x7f: required 0x8 is allowed, optional 0x100 is not */
	CHECK_EQ(vmx_adjust_ctl(0x0000007f00000016ull, (struct vmx_ctl_want){ 0x8, 0x100 }, &out,
				&missing), 0);
	CHECK_EQ(out, 0x1e);
	CHECK_EQ(missing, 0);
	/* required bit 8 not allowed */
	CHECK_EQ(vmx_adjust_ctl(0x0000007f00000016ull, (struct vmx_ctl_want){ 0x100, 0 }, &out,
				&missing), -1);
	CHECK_EQ(missing, 0x100);
	/* a forced bit the CPU does not allow (inconsistent MSR) is reported */
	CHECK_EQ(vmx_adjust_ctl(0x0000000f00000030ull, (struct vmx_ctl_want){ 0, 0 }, &out,
				&missing), -1);
	CHECK_EQ(missing, 0x30 & ~0xfu);
}

TEST(vmx_caps_fixed_cr_bits)
{
	const struct vmx_caps *c = &bochs_tigerlake;
	/* OVMF's CR0 and CR4 under Bochs. */
	CHECK_EQ(vmx_fixed_cr(0x80010033, c->cr0_fixed0, c->cr0_fixed1), 0x80010033);
	CHECK_EQ(vmx_fixed_cr(0x668, c->cr4_fixed0, c->cr4_fixed1), 0x2668); /* + VMXE */
	/* CR0.NE forced on; a CR4 bit VMX cannot hold (LA57 here) forced off */
	CHECK_EQ(vmx_fixed_cr(0x80000011, c->cr0_fixed0, c->cr0_fixed1), 0x80000031);
	CHECK_EQ(vmx_fixed_cr(0x1020, c->cr4_fixed0, c->cr4_fixed1), 0x2020);
	/* Unrestricted guest: PE and PG may be clear, NE stays required. */
	CHECK_EQ(vmx_guest_cr0_fixed0(c, true), 0x20);
	CHECK_EQ(vmx_guest_cr0_fixed0(c, false), 0x80000021);
	CHECK_EQ(vmx_fixed_cr(0x10, vmx_guest_cr0_fixed0(c, true), c->cr0_fixed1), 0x30);
}
