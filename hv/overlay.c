/*
 * overlay.c - GPA overlay pages (TLFS 5.2.1): the partition's stack of
 * overlays and what the second-level tables show at an overlay's page.
 * What a GPA is (an overlay page among others) is hv/gmem.c's to say.
 *
 * An overlay puts one of the hypervisor's pages at a guest-physical page
 * through the second-level tables. When it is disabled or moved, the
 * underlying page is uncovered unchanged: it gets back exactly its base
 * protection (gmem_base_access, the one rule: the xAPIC page read-only,
 * the hypervisor's own memory unmapped, the rest identity RWX), through
 * gmem_show_page. When overlays are stacked on one page, the most
 * recently enabled one is seen.
 */
#include "overlay.h"
#include "backend.h"
#include "gmem.h"

int overlay_register(struct partition *p, struct overlay *o)
{
	if (p->overlay_count == HV_MAX_OVERLAYS)
		return -1;
	p->overlays[p->overlay_count++] = o;
	if (o->active)
		gmem_overlay_on(p, o);
	return 0;
}

int overlay_enable(struct vp *vp, struct overlay *o, u64 gpa)
{
	gpa = ALIGN_DOWN(gpa, PAGE_SIZE);
	if (o->active && o->gpa == gpa)
		return 0;
	if (o->active && overlay_disable(vp, o))
		return -1;
	/* Re-enabling moves it to the top of the stack at its page. */
	struct partition *p = vp->part;
	for (u32 i = 0; i < p->overlay_count; i++)
		if (p->overlays[i] == o) {
			for (u32 j = i; j + 1 < p->overlay_count; j++)
				p->overlays[j] = p->overlays[j + 1];
			p->overlays[p->overlay_count - 1] = o;
			break;
		}
	o->gpa = gpa;
	o->active = true;
	gmem_overlay_on(p, o);
	return gmem_show_page(vp, gpa);
}

int overlay_disable(struct vp *vp, struct overlay *o)
{
	if (!o->active)
		return 0;
	o->active = false;
	gmem_overlays_changed(vp->part);
	return gmem_show_page(vp, o->gpa);
}

/* The common write of an overlay page's MSR (the hypercall page, TLFS
 * 3.13; the reference TSC page, 12.7.1; the VP assist page, 7.8.7): bit 0
 * enables, bits 63:12 give the GPA. A GPA beyond the GPA space is refused
 * (returns 1: #GP) when beyond_gp, else accepted but not mapped. Returns 0
 * when the new value may be stored. */
int overlay_msr_write(struct vp *vp, struct overlay *o, u64 val, bool beyond_gp)
{
	const struct partition *p = vp->part;
	u64 gpa = val & ~(PAGE_SIZE - 1);
	bool in_space = gmem_in_space(p, gpa);
	if ((val & 1) && !in_space && beyond_gp)
		return 1;
	return ((val & 1) && in_space ? overlay_enable(vp, o, gpa) : overlay_disable(vp, o)) ? 1 : 0;
}
