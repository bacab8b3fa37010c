/*
 * cpuid.c - what the guest sees from CPUID (TLFS 2.2-2.4): the native
 * leaves with the virtualization extensions hidden and the hypervisor-present
 * bit set, and the Hv#1 leaves 0x40000000-0x4000000A. Every leaf in
 * 0x40000000-0x4FFFFFFF above the maximum reads as zeros.
 */
#include "cpuid.h"
#include "backend.h"
#include "hw.h"
#include "module.h"
#include "hv_abi.h"
#include "tlfs.h"
#include "x86.h"

static void hv_leaf(const struct partition *p, u32 leaf, u32 r[4])
{
	r[0] = r[1] = r[2] = r[3] = 0;
	switch (leaf) {
	case HV_CPUID_VENDOR_AND_MAX: /* TLFS 2.4.1 */
		r[0] = HV_CPUID_MAX_LEAF;
		r[1] = HV_VENDOR_EBX;
		r[2] = HV_VENDOR_ECX;
		r[3] = HV_VENDOR_EDX;
		break;
	case HV_CPUID_INTERFACE: /* TLFS 2.4.2 */
		r[0] = HV_INTERFACE_HV1;
		break;
	case HV_CPUID_VERSION:
		/* TLFS 2.4.3 says this reads zero until the guest OS ID is
		 * set; that MSR is not offered yet (no AccessHypercallMsrs),
		 * and guests (Linux) read the version before writing it, as
		 * Hyper-V itself allows: we always report it. */
		r[0] = HV_VERSION_BUILD;
		r[1] = (HV_VERSION_MAJOR << 16) | HV_VERSION_MINOR;
		r[2] = HV_VERSION_SERVICE_PACK;
		r[3] = (HV_VERSION_SERVICE_BRANCH << 24) | HV_VERSION_SERVICE_NUMBER;
		break;
	case HV_CPUID_FEATURES: /* TLFS 2.4.4: only what works */
		r[0] = (u32)p->privileges;
		r[1] = (u32)(p->privileges >> 32);
		r[3] = p->features_edx;
		break;
	case HV_CPUID_ENLIGHTENMENT_INFO: /* TLFS 2.4.5 */
		r[0] = p->recommendations;
		r[1] = p->spin_retries;
		r[2] = p->phys_addr_bits & 0x7f;
		break;
	case HV_CPUID_IMPLEMENT_LIMITS: /* TLFS 2.4.6 */
		r[0] = HV_MAX_VPS;
		r[1] = HV_MAX_LPS;
		break;
	case HV_CPUID_HARDWARE_FEATURES: /* TLFS 2.4.7 */
		r[0] = p->hw_features;
		break;
	default:
		/* 0x40000007 (root CPU management), 0x40000008 (shared
		 * virtual memory), 0x40000009/A (nested): none offered, so
		 * zeros; above HV_CPUID_MAX_LEAF: zeros (TLFS 2.4.1). */
		break;
	}
}

void cpuid_adjust(const struct partition *p, u32 leaf, u32 sub, u64 guest_cr4, u32 r[4])
{
	if (leaf >= HV_CPUID_VENDOR_AND_MAX && leaf <= HV_CPUID_RANGE_LAST) {
		hv_leaf(p, leaf, r);
		if (registry_wants_cpuid(leaf)) /* the modules' contributions */
			registry_cpuid(p, leaf, r);
		return;
	}
	switch (leaf) {
	case 1:
		r[2] |= (u32)BIT(31);  /* TLFS 2.2: hypervisor present */
		/* VMX: offered only with nested=on on the VMX backend
		 * (docs/nested.md, "Nested VMX"). */
		if (p->nested && p->be && p->be->nested_vmx)
			r[2] |= (u32)BIT(5);
		else
			r[2] &= ~(u32)BIT(5);
		/* OSXSAVE mirrors the guest's CR4, not the host's (SDM CPUID). */
		r[2] = (r[2] & ~(u32)BIT(27)) | ((guest_cr4 & CR4_OSXSAVE) ? (u32)BIT(27) : 0);
		break;
	case 7:
		if (sub == 0) /* OSPKE mirrors the guest's CR4.PKE */
			r[2] = (r[2] & ~(u32)BIT(4)) | ((guest_cr4 & CR4_PKE) ? (u32)BIT(4) : 0);
		break;
	case 0x80000001:
		if (!p->nested)
			r[2] &= ~(u32)BIT(2); /* SVM: not offered to the guest */
		else
			r[2] &= ~(u32)BIT(12); /* SKINIT: not emulated (docs/nested.md) */
		break;
	case 0x80000007:
		/* Invariant TSC: with AccessTscInvariantControls the guest
		 * sees it once it sets HV_X64_MSR_TSC_INVARIANT_CONTROL bit 0
		 * (hv/time.c), also where only hv.cfg declares it. */
		if (p->privileges & HV_ACCESS_TSC_INVARIANT_CONTROLS)
			r[3] = (r[3] & ~(u32)BIT(8)) | ((p->tsc_invariant_ctl & 1) ? (u32)BIT(8) : 0);
		break;
	case 0x8000000a: /* SVM revision and features (APM E.4.9) */
		if (!p->nested || (p->be && p->be->nested_vmx)) {
			r[0] = r[1] = r[2] = r[3] = 0;
			break;
		}
		/* nested=on: revision 1, the CPU's ASID count (L1's ASIDs are
		 * virtual: all share the L2 context's), exactly the features
		 * the emulation offers (docs/nested.md). */
		r[0] = 1;
		r[2] = 0;
		r[3] = p->nested_svm_edx;
		break;
	default:
		break;
	}
}

enum hv_action hv_handle_cpuid(struct vp *vp, struct hv_exit *e)
{
	u32 leaf = (u32)vp->gpr[GPR_RAX], sub = (u32)vp->gpr[GPR_RCX];
	u32 r[4];

	hw_cpuid(leaf, sub, r);
	cpuid_adjust(vp->part, leaf, sub, vp->part->be->read_reg(vp, GREG_CR4), r);
	/* CPUID writes 32-bit registers: the upper halves become zero. */
	vp->gpr[GPR_RAX] = r[0];
	vp->gpr[GPR_RBX] = r[1];
	vp->gpr[GPR_RCX] = r[2];
	vp->gpr[GPR_RDX] = r[3];
	return HV_ACT_ADVANCE;
}

HV_EXIT_HANDLER(exit_cpuid, HV_EXIT_CPUID, hv_handle_cpuid);
