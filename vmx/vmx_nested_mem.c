/*
 * vmx_nested_mem.c - nested VMX: L1's memory as the emulated VMX
 * instructions reach it (docs/nested.md, "Nested VMX"). Their memory
 * operands are L1 linear addresses (the instruction-information field and
 * the displacement in the exit qualification, SDM 28.2.5), translated
 * through L1's paging here (4-level, PAE, 32-bit; SDM vol. 3 chapter 4);
 * the VMXON/VMCS regions and bitmaps are L1 physical addresses, which
 * must be ordinary guest RAM (never hypervisor memory).
 */
#include "vmx.h"
#include "vmx_nested.h"
#include "arch.h"
#include "boot_info.h"
#include "x86.h"



/* ---- L1's linear addresses ------------------------------------------------ */

/* L1's paging (SDM 4.3-4.5) for an operand at gva: the physical
 * address, or -1 with the #PF error code in *pf. Supervisor accesses
 * (CPL 0: the instructions #GP elsewhere); A/D are not set (the
 * operands are read/written by "the processor", which does set them;
 * L1 does not depend on it for its VMX operands). */
static int l1_translate(struct vp *vp, u64 gva, bool write, u64 *gpa, u32 *pf)
{
	u64 cr0 = vmx_read_reg(vp, GREG_CR0), cr4 = vmx_read_reg(vp, GREG_CR4);
	u64 efer = vmread(VMCS_GUEST_EFER), cr3 = vmread(VMCS_GUEST_CR3);
	const u64 addr = 0x000ffffffffff000ull;
	*pf = write ? 2u : 0u;
	if (!(cr0 & CR0_PG)) {
		*gpa = gva & 0xffffffffull;
		return 0;
	}
	bool wp = cr0 & CR0_WP;
	if (efer & EFER_LMA) {
		u64 t = cr3 & addr;
		for (int level = 3; level >= 0; level--) {
			u64 pa = t + ((gva >> (12 + 9 * level)) & 511) * 8;
			if (!vp_l1_ram(vp, pa, 8))
				return -1;
			u64 ent = *(volatile u64 *)vmx_l1_ptr(pa);
			if (!(ent & 1))
				return -1;
			if (write && wp && !(ent & 2)) {
				*pf |= 1;
				return -1;
			}
			if (level > 0 && level < 3 && (ent & BIT(7))) {
				u64 sz = 1ull << (12 + 9 * level);
				*gpa = (ent & addr & ~(sz - 1)) | (gva & (sz - 1));
				return 0;
			}
			t = ent & addr;
		}
		*gpa = t | (gva & 0xfff);
		return 0;
	}
	if (cr4 & CR4_PAE) {
		u64 pdpte_pa = (cr3 & 0xffffffe0ull) + ((gva >> 30) & 3) * 8;
		if (!vp_l1_ram(vp, pdpte_pa, 8))
			return -1;
		u64 t = *(volatile u64 *)vmx_l1_ptr(pdpte_pa);
		if (!(t & 1))
			return -1;
		t &= addr;
		for (int level = 1; level >= 0; level--) {
			u64 pa = t + ((gva >> (12 + 9 * level)) & 511) * 8;
			if (!vp_l1_ram(vp, pa, 8))
				return -1;
			u64 ent = *(volatile u64 *)vmx_l1_ptr(pa);
			if (!(ent & 1))
				return -1;
			if (write && wp && !(ent & 2)) {
				*pf |= 1;
				return -1;
			}
			if (level == 1 && (ent & BIT(7))) {
				*gpa = (ent & addr & ~0x1fffffull) | (gva & 0x1fffff);
				return 0;
			}
			t = ent & addr;
		}
		*gpa = t | (gva & 0xfff);
		return 0;
	}
	u64 t = cr3 & 0xfffff000ull;
	for (int level = 1; level >= 0; level--) {
		u64 pa = t + ((gva >> (12 + 10 * level)) & 1023) * 4;
		if (!vp_l1_ram(vp, pa, 4))
			return -1;
		u32 ent = *(volatile u32 *)vmx_l1_ptr(pa);
		if (!(ent & 1))
			return -1;
		if (write && wp && !(ent & 2)) {
			*pf |= 1;
			return -1;
		}
		if (level == 1 && (ent & BIT(7)) && (cr4 & CR4_PSE)) {
			*gpa = (ent & 0xffc00000u) | (gva & 0x3fffff);
			return 0;
		}
		t = ent & 0xfffff000u;
	}
	*gpa = t | (gva & 0xfff);
	return 0;
}

/* Copy len bytes between L1's linear memory and buf. -1: a #PF is
 * injected (CR2 set); -2: not RAM (#GP injected). */
int vmx_l1_copy(struct vp *vp, u64 gva, void *buf, u32 len, bool write)
{
	u8 *b = buf;
	while (len) {
		u32 n = (u32)(PAGE_SIZE - (gva & (PAGE_SIZE - 1)));
		if (n > len)
			n = len;
		u64 gpa;
		u32 pf;
		if (l1_translate(vp, gva, write, &gpa, &pf)) {
			__asm__ volatile("mov %0, %%cr2" : : "r"(gva));
			vmx_inject_exception(vp, X86_EXC_PF, true, pf);
			return -1;
		}
		if (!vp_l1_ram(vp, gpa, n) || (write && !vp_vtl_allows(vp, gpa, n, SLAT_ACC_W))) {
			vmx_inject_exception(vp, X86_EXC_GP, true, 0);
			return -2;
		}
		if (write)
			__builtin_memcpy(vmx_l1_ptr(gpa), b, n);
		else
			__builtin_memcpy(b, vmx_l1_ptr(gpa), n);
		b += n;
		gva += n;
		len -= n;
	}
	return 0;
}

/* The memory operand's linear address from the instruction-information
 * field and the displacement in the exit qualification (SDM 28.2.5,
 * table 28-13). In 64-bit mode only FS and GS have bases. */
u64 vmx_operand_gva(struct vp *vp, u32 info, u64 disp)
{
	u64 a = disp;
	if (!(info & BIT(27)))
		a += vp->gpr[(info >> 23) & 15];
	if (!(info & BIT(22)))
		a += vp->gpr[(info >> 18) & 15] << (info & 3);
	u32 asz = (info >> 7) & 7;
	a &= asz == 0 ? 0xffffull : asz == 1 ? 0xffffffffull : ~0ull;
	u32 seg = (info >> 15) & 7;
	bool lm64 = (vmread(VMCS_GUEST_EFER) & EFER_LMA) && (vmread(VMCS_GUEST_CS_AR) & VMX_AR_L);
	if (!lm64 || seg == SEG_FS || seg == SEG_GS)
		a += vmread(VMCS_SEG_BASE(seg));
	return lm64 ? a : a & 0xffffffffull;
}

