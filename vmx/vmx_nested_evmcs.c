/*
 * vmx_nested_evmcs.c - the enlightened VMCS in nested VMX (TLFS 6.0 16.5;
 * docs/nested.md "The enlightened VMCS"): where L1's VP assist page names
 * an eVMCS (EnlightenVmEntry, CurrentNestedVmcs), its VMLAUNCH/VMRESUME
 * read the eVMCS's dirty groups into vmcs12 instead of using the VMPTRLD'd
 * VMCS, and every nested VM exit writes the exit back into it
 * (vmx_evmcs.c has the fields and the copies; vmx_nested.c calls these).
 */
#include "vmx.h"
#include "vmx_nested.h"
#include "log.h"
#include "tlfs.h"

/* The eVMCS's fields resolved against struct vmcs12's own table, once at
 * partition set-up (vmx_nested_features, before any VP runs). */
static struct evmcs_map evmcs_map;
static bool evmcs_map_ok;

static bool v12_field(u32 enc, u16 *off, u8 *width)
{
	bool high;
	const struct vmcs12_field *f = vmcs12_lookup(enc, &high);
	if (!f || high)
		return false;
	*off = f->offset;
	*width = f->size;
	return true;
}

void vmx_nested_evmcs_init(void)
{
	evmcs_map_ok = !evmcs_map_init(&evmcs_map, v12_field);
	if (!evmcs_map_ok)
		LOGE("nested: the eVMCS table is out of order; eVMCS entries fail");
	else
		LOGI("nested: eVMCS v1: %u fields, %u not in vmcs12; %u written back at an exit, in %u runs",
		     evmcs_nfields, evmcs_map.missing, evmcs_map.nout_fields, evmcs_map.nout);
}

/* KVM's nested_get_evmptr: the assist page as L1 left it, now; only
 * with an eVMCS version offered (leaf 0x4000000A). */
bool vmx_evmcs_current(const struct vp *vp, u64 *gpa)
{
	if (!(vp->part->nested_enl & HV_NESTED_EVMCS_VERSIONS))
		return false;
	const struct overlay *o = &vp->ctx[0].assist_page;
	return o->active && o->hpa && evmcs_assist_current((const void *)(uintptr_t)o->hpa, gpa);
}

/* A bad eVMCS (not one page of ordinary guest RAM below MAXPHYADDR, the
 * VMXON region, a version other than 1) is VMfailInvalid (KVM:
 * EVMPTRLD_VMFAIL); controls eVMCS v1 has no field for VMfailValid 7 (KVM's
 * nested_evmcs_check_controls). */
u32 vmx_nested_evmcs_load(struct vp *vp, struct vmx_nested *n, u64 gpa, bool resume)
{
	if (!evmcs_map_ok || (gpa & (PAGE_SIZE - 1)) || (gpa >> vp->part->phys_addr_bits) ||
	    !vp_l1_ram(vp, gpa, PAGE_SIZE) || !vp_vtl_allows(vp, gpa, PAGE_SIZE, SLAT_ACC_W) ||
	    gpa == n->vmxon_ptr ||
	    evmcs_enter(&n->ev, &evmcs_map, &n->v12, sizeof(n->v12), vmx_l1_ptr(gpa), gpa, !resume,
			VMCS12_REVISION)) {
		evmcs_release(&n->ev);
		return 1;
	}
	/* Group GUEST_GRP2 read (dirty, another eVMCS, VMLAUNCH): vmcs12's
	 * segments may differ from vmcs02's (TLFS 16.5.2). */
	if (n->ev.read & EVMCS_CLEAN_GUEST_GRP2)
		n->seg_sync = false;
	/* An eVMCS has no launch state (KVM: launch_state = !launch). */
	n->v12.launched = resume;
	/* The enlightened MSR bitmap counts only where it is offered. */
	if (!(vp->part->nested_enl & HV_NESTED_MSR_BITMAP))
		n->ev.msr_bitmap_same = false;
	const struct vmcs12 *v = &n->v12;
	if (evmcs_check_controls(v->pin_based_vm_exec_control, v->cpu_based_vm_exec_control,
				 v->secondary_vm_exec_control, v->vm_exit_controls, v->vm_entry_controls))
		return 7;
	return 0;
}

void vmx_nested_evmcs_exit(struct vmx_nested *n)
{
	evmcs_exit(&n->ev, &evmcs_map, &n->v12);
}
