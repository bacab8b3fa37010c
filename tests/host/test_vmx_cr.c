/*
 * test_vmx_cr.c - CR0/CR4 ownership under VMX (vmx/vmx_caps.c, issue 14
 * defect 3): the guest/host masks from the fixed-bit MSRs (Bochs 2.7
 * tigerlake values), the guest's view from real value and read shadow,
 * the CR0 value of MOV/CLTS/LMSW exits, and the #GP checks of a CR0 or
 * CR4 write (SDM vol. 3 2.5, 25.3, 26.1.3; vol. 2 MOV to CR).
 */
#include "htest.h"
#include "x86.h"
#include "../../vmx/vmx_caps.h"
#include "../../vmx/vmcs.h"

static const struct vmx_caps caps = {
	.cr0_fixed0 = 0x80000021ull, /* PG, NE, PE */
	.cr0_fixed1 = 0xffffffffull,
	.cr4_fixed0 = 0x2000ull, /* VMXE */
	.cr4_fixed1 = 0xf72fffull,
};

#define FW_CR0 0x80010033ull /* PG WP NE ET MP PE, as OVMF leaves it */

TEST(vmx_cr_masks_own_the_pinned_bits)
{
	/* Unrestricted guest: only NE is pinned; PE and PG are the guest's. */
	CHECK_EQ(vmx_cr0_mask(&caps, true), CR0_NE);
	CHECK_EQ(vmx_cr0_mask(&caps, false), CR0_PG | CR0_NE | CR0_PE);
	CHECK_EQ(vmx_cr4_mask(&caps), CR4_VMXE);
	struct vmx_caps none = caps;
	none.cr4_fixed0 = 0;
	CHECK_EQ(vmx_cr4_mask(&none), CR4_VMXE); /* VMXE is ours regardless */
}

TEST(vmx_cr_view_takes_owned_bits_from_the_shadow)
{
	u64 m = vmx_cr0_mask(&caps, true);
	/* The guest cleared NE: real NE stays 1, the guest reads 0. */
	u64 real = 0x80010031ull | CR0_NE, shadow = 0x80010001ull;
	CHECK_EQ(vmx_cr_view(real, shadow, m), 0x80010011ull);
	/* Unowned bits come from the real register, whatever the shadow says. */
	CHECK_EQ(vmx_cr_view(FW_CR0, 0, m), FW_CR0 & ~CR0_NE);
	CHECK_EQ(vmx_cr_view(FW_CR0, FW_CR0, m), FW_CR0);
	/* CR4: VMXE set in the real register, never in the view. */
	CHECK_EQ(vmx_cr_view(0x3620ull | CR4_VMXE, 0x1620ull, vmx_cr4_mask(&caps)), 0x1620ull);
	/* The real value an owned-bit write leaves: NE forced back to 1. */
	u64 forced = vmx_fixed_cr(0x80010001ull, m, caps.cr0_fixed1);
	CHECK_EQ(vmx_cr_view(FW_CR0, forced, m) & CR0_NE, CR0_NE);
}

TEST(vmx_cr0_new_value_mov_clts_lmsw)
{
	u64 cur = 0x80010011ull | CR0_TS; /* NE clear, TS set */
	CHECK_EQ(vmx_cr0_new_value(cur, VMX_CR_TYPE_MOV_TO, 0x80010033ull), 0x80010033ull);
	CHECK_EQ(vmx_cr0_new_value(cur, VMX_CR_TYPE_CLTS, 0), 0x80010011ull);
	/* LMSW loads MP/EM/TS, may set PE, never clears it, never touches NE. */
	CHECK_EQ(vmx_cr0_new_value(cur, VMX_CR_TYPE_LMSW, 0x0002), 0x80010013ull);
	CHECK_EQ(vmx_cr0_new_value(cur, VMX_CR_TYPE_LMSW, 0xffe0), 0x80010011ull);
	CHECK_EQ(vmx_cr0_new_value(0x60000010ull, VMX_CR_TYPE_LMSW, 0x0001), 0x60000011ull);
	CHECK_EQ(vmx_cr0_new_value(0x60000030ull, VMX_CR_TYPE_LMSW, 0x0006), 0x60000036ull);
}

TEST(vmx_cr0_write_gp_like_hardware)
{
	const u64 lm = EFER_LME | EFER_LMA, cr4 = CR4_PAE;
	/* Allowed: NE clear (the value), NE set again, CD/NW both. */
	CHECK(!vmx_cr0_write_gp(FW_CR0, 0x80010001ull, cr4, lm, true));
	CHECK(!vmx_cr0_write_gp(0x80010011ull, FW_CR0, cr4, lm, true));
	CHECK(!vmx_cr0_write_gp(FW_CR0, FW_CR0 | CR0_CD | CR0_NW, cr4, lm, true));
	CHECK(!vmx_cr0_write_gp(FW_CR0, FW_CR0 | CR0_CD, cr4, lm, true));
	/* Real mode and protected mode without paging: no paging-related #GP. */
	CHECK(!vmx_cr0_write_gp(0x60000010ull, 0x00000011ull, 0, 0, false));
	CHECK(!vmx_cr0_write_gp(0x11ull, 0x10ull, 0, 0, false));
	/* Leaving IA-32e mode from compatibility mode (CS.L = 0). */
	CHECK(!vmx_cr0_write_gp(FW_CR0, FW_CR0 & ~CR0_PG, cr4, lm, false));
	/* Activating IA-32e mode with PAE from a 32-bit code segment. */
	CHECK(!vmx_cr0_write_gp(0x11ull, 0x80000011ull, CR4_PAE, EFER_LME, false));
	/* Legacy paging without LME needs no PAE. */
	CHECK(!vmx_cr0_write_gp(0x11ull, 0x80000011ull, 0, 0, false));

	/* #GP: bits 63:32, PG without PE, NW without CD. */
	CHECK(vmx_cr0_write_gp(FW_CR0, FW_CR0 | BIT(32), cr4, lm, true));
	CHECK(vmx_cr0_write_gp(FW_CR0, FW_CR0 | BIT(63), cr4, lm, true));
	CHECK(vmx_cr0_write_gp(FW_CR0, FW_CR0 & ~CR0_PE, cr4, lm, true));
	CHECK(vmx_cr0_write_gp(0x11ull, 0x80000010ull, 0, 0, false));
	CHECK(vmx_cr0_write_gp(FW_CR0, FW_CR0 | CR0_NW, cr4, lm, true));
	/* Clearing PG in 64-bit mode, or with CR4.PCIDE. */
	CHECK(vmx_cr0_write_gp(FW_CR0, FW_CR0 & ~CR0_PG, cr4, lm, true));
	CHECK(vmx_cr0_write_gp(FW_CR0, FW_CR0 & ~CR0_PG, cr4 | CR4_PCIDE, lm, false));
	/* Activating IA-32e mode without PAE, or with CS.L set. */
	CHECK(vmx_cr0_write_gp(0x11ull, 0x80000011ull, 0, EFER_LME, false));
	CHECK(vmx_cr0_write_gp(0x11ull, 0x80000011ull, CR4_PAE, EFER_LME, true));
	/* Clearing WP with CR4.CET (bit 23). */
	CHECK(vmx_cr0_write_gp(FW_CR0, FW_CR0 & ~CR0_WP, cr4 | BIT(23), lm, true));
	CHECK(!vmx_cr0_write_gp(FW_CR0, FW_CR0 & ~CR0_WP, cr4, lm, true));
}

TEST(vmx_cr4_write_gp_like_a_cpu_without_vmx)
{
	CHECK(!vmx_cr4_write_gp(&caps, 0x2620ull & ~CR4_VMXE));
	CHECK(vmx_cr4_write_gp(&caps, 0x620ull | CR4_VMXE));
	CHECK(vmx_cr4_write_gp(&caps, 0x620ull | BIT(32)));
	CHECK(vmx_cr4_write_gp(&caps, 0x620ull | BIT(24))); /* not in FIXED1 */
}
