/*
 * overlay.c - GPA overlay pages (TLFS 5.2.1) and the rules for guest memory
 * that the hypervisor reads or writes for the guest (TLFS 3.6).
 *
 * An overlay puts one of the hypervisor's pages at a guest-physical page
 * through the second-level tables. When it is disabled or moved, the
 * underlying page is uncovered unchanged: identity-mapped again, or left
 * unmapped if it lies in the hypervisor's own (hidden) memory. When
 * overlays are stacked on one page, the most recently enabled one is seen.
 */
#include "overlay.h"
#include "backend.h"
#include "boot_info.h"
#include "tlfs.h"

int overlay_register(struct partition *p, struct overlay *o)
{
	if (p->overlay_count == HV_MAX_OVERLAYS)
		return -1;
	p->overlays[p->overlay_count++] = o;
	return 0;
}

static bool hidden(const struct partition *p, u64 gpa)
{
	return gpa >= p->hidden_base && gpa - p->hidden_base < p->hidden_size;
}

struct overlay *overlay_at(const struct partition *p, u64 gpa)
{
	gpa = ALIGN_DOWN(gpa, PAGE_SIZE);
	for (u32 i = p->overlay_count; i-- > 0;)
		if (p->overlays[i]->active && p->overlays[i]->gpa == gpa)
			return p->overlays[i];
	return NULL;
}

/* Show what belongs at gpa now: the top overlay there, or the underlying
 * page. */
static int refresh(struct vp *vp, u64 gpa)
{
	const struct partition *p = vp->part;
	struct overlay *top = overlay_at(p, gpa);
	if (top)
		return p->be->slat_set_page(vp, gpa, top->hpa, (enum slat_access)top->acc);
	if (hidden(p, gpa))
		return p->be->slat_set_page(vp, gpa, 0, SLAT_NONE);
	return p->be->slat_set_page(vp, gpa, gpa, SLAT_RWX);
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
	return refresh(vp, gpa);
}

int overlay_disable(struct vp *vp, struct overlay *o)
{
	if (!o->active)
		return 0;
	o->active = false;
	return refresh(vp, o->gpa);
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
	bool in_space = p->phys_addr_bits >= 64 || gpa < (1ull << p->phys_addr_bits);
	if ((val & 1) && !in_space && beyond_gp)
		return 1;
	return ((val & 1) && in_space ? overlay_enable(vp, o, gpa) : overlay_disable(vp, o)) ? 1 : 0;
}

/* TLFS 3.6, 3.12.3: a hypercall parameter block must be 8-byte aligned,
 * inside one page, inside the GPA space (else HV_STATUS_INVALID_ALIGNMENT),
 * and ordinary guest RAM: never hypervisor memory, MMIO, firmware-reserved
 * memory or an overlay page (HV_STATUS_INVALID_PARAMETER). */
static bool in_range(const struct mem_range *r, u64 gpa, u64 len)
{
	return gpa >= r->base && gpa + len <= r->base + r->size;
}

u16 gmem_check_param(struct partition *p, u64 gpa, u64 len)
{
	if (len == 0)
		return HV_STATUS_SUCCESS;
	if (gpa & 7)
		return HV_STATUS_INVALID_ALIGNMENT;
	if ((gpa & (PAGE_SIZE - 1)) + ALIGN_UP(len, 8) > PAGE_SIZE)
		return HV_STATUS_INVALID_ALIGNMENT;
	if (p->phys_addr_bits < 64 && gpa >= (1ull << p->phys_addr_bits))
		return HV_STATUS_INVALID_ALIGNMENT;
	if (hidden(p, gpa) || overlay_at(p, gpa))
		return HV_STATUS_INVALID_PARAMETER;
	/* The range that matched last time first: a guest passes its
	 * parameters in the same few pages (docs/performance.md item 5). The
	 * hint is shared by all VPs; a stale one only costs the scan. */
	u32 h = p->range_hint;
	if (h < p->range_count && in_range(&p->ranges[h], gpa, len))
		return p->ranges[h].type == MEM_RAM ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
	for (u32 i = 0; i < p->range_count; i++) {
		const struct mem_range *r = &p->ranges[i];
		if (in_range(r, gpa, len)) {
			p->range_hint = i;
			return r->type == MEM_RAM ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
		}
	}
	return HV_STATUS_INVALID_PARAMETER;
}
