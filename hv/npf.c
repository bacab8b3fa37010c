/*
 * npf.c - second-level page faults (NPT/EPT). Guest-physical memory is
 * identity-mapped up to the top of the firmware's memory map; above it,
 * MMIO (64-bit PCI windows) is mapped on first touch. The hypervisor's own
 * memory is never mapped: a guest access to it is contained by injecting
 * #GP into the guest (the access has no other effect) and is logged. A
 * write to a read-only overlay page (the hypercall page) is #GP too.
 */
#include "npf.h"
#include "backend.h"
#include "module.h"
#include "gmem.h"
#include "smp.h"
#include "log.h"

#define HIDDEN_LOG_LIMIT 8

enum hv_action hv_handle_npf(struct vp *vp, struct hv_exit *e)
{
	struct partition *p = vp->part;
	u64 gpa = e->u.npf.gpa;

	if (gmem_hidden(p, gpa)) {
		if (vp->hidden_access_logged++ < HIDDEN_LOG_LIMIT)
			LOGW("guest %s of hypervisor memory at %lx (rip %lx): #GP injected",
			     e->u.npf.write ? "write" : e->u.npf.exec ? "fetch" : "read",
			     (unsigned long)gpa, (unsigned long)p->be->read_reg(vp, GREG_RIP));
		vp_inject_gp(vp);
		return HV_ACT_INJECTED;
	}
	/* TLFS 15.13: an access of VTL 0 a higher VTL's protection denies
	 * never completes; it becomes a secure intercept to that VTL. */
	enum hv_action act;
	if (p->vtl_fault && !vp->cur->l2 && p->vtl_fault(vp, e, &act))
		return act;
	/* TLFS 3.13: the hypercall page (and any read-only overlay) is not
	 * writable: a write raises #GP, and so does any access an overlay
	 * does not allow (a fault on its present mapping: executing a data
	 * overlay). An overlay wins over what it covers, the xAPIC page
	 * included (gmem's one rule, gmem_show_page: the guest sees the
	 * overlay there, so a store is a store to the overlay). */
	struct overlay *o = gmem_overlay_vtl(p, gpa, vp->cur->vtl); /* its view's (15.11) */
	if (o && e->u.npf.present) {
		vp_inject_gp(vp);
		return HV_ACT_INJECTED;
	}
	/* The xAPIC page is read-only for the guest: its writes are emulated,
	 * for the ICR (hv/smp.c). */
	if (!o && p->apic_gpa && ALIGN_DOWN(gpa, PAGE_SIZE) == p->apic_gpa && e->u.npf.write)
		return smp_apic_mmio_write(vp, e);
	/* A not-present overlay page: this VP's tables lag behind a move;
	 * show the page as the one rule says and run again. */
	if (o) {
		spin_lock(&vp->part->lock);
		int r = gmem_show_page(vp, gpa);
		spin_unlock(&vp->part->lock);
		if (r == 0)
			return HV_ACT_RESUME;
	}
	if (!e->u.npf.present && gmem_in_space(p, gpa)) {
		spin_lock(&vp->part->lock);
		int r = p->be->slat_map_identity(vp, gpa);
		/* The large page is refused when 4K entries are in its way: an
		 * overlay page was put in that region (even if it has moved
		 * since: the table stays). Then this 4K page alone, with what
		 * the one rule gives it (found by fuzzing, docs/reliability.md). */
		if (r)
			r = gmem_show_page(vp, gpa);
		spin_unlock(&vp->part->lock);
		if (r == 0)
			return HV_ACT_RESUME;
		vp_fatal(vp, e, "out of memory for second-level tables");
	}
	vp_fatal(vp, e, "unexpected second-level fault");
}

HV_EXIT_HANDLER(exit_npf, HV_EXIT_NPF, hv_handle_npf);
