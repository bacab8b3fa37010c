/*
 * evmcs.c - the enlightened VMCS, the Hv#1 side (TLFS 6.0 16.4-16.5, 7.8.7;
 * include/nested/evmcs.h, docs/nested.md "Enlightened VMCS"): where L1
 * names its current eVMCS (the VP assist page). The eVMCS's fields and
 * their copy to and from the vmcs12 are the backend's (vmx/vmx_evmcs.c).
 */
#include "evmcs.h"

/* TLFS 7.8.7.2: EnlightenVmEntry (a BOOLEAN at 0x28) says that L1's
 * VMLAUNCH/VMRESUME use the eVMCS at CurrentNestedVmcs (0x30) and not
 * the VMCS of its last VMPTRLD (16.5: "No VMPTRLD instruction must be
 * executed"); KVM's nested_get_evmptr. */
bool evmcs_assist_current(const void *assist_page, u64 *gpa)
{
	const u8 *a = assist_page;
	if (!a[ASSIST_ENLIGHTEN_VMENTRY])
		return false;
	__builtin_memcpy(gpa, a + ASSIST_CURRENT_NESTED_VMCS, 8);
	return true;
}
