/*
 * gmem.c - guest memory as the hypervisor sees it: the one classifier of
 * guest-physical addresses, and reads, writes and mappings for the guest
 * (the hypercall parameters, the page walker, the store emulation, the
 * crash message, the overlays).
 *
 * Guest-physical memory is identity-mapped (hw_gpa_ptr) except the
 * hypervisor's own memory (never mapped) and the overlay pages, where the
 * guest sees one of the hypervisor's pages instead (TLFS 5.2.1). The
 * firmware's memory map says what the rest is (include/boot/boot_info.h).
 * What an uncovered page gets (its base protection) is decided here only:
 * gmem_base_access.
 */
#include "gmem.h"
#include "tlfs.h"

void gmem_overlays_changed(struct partition *p)
{
	u64 f = 0;
	for (u32 i = 0; i < p->overlay_count; i++)
		if (p->overlays[i]->active)
			f |= 1ull << ((p->overlays[i]->gpa >> 12) & 63);
	p->overlay_filter = f;
	p->slat_gen++; /* nested/: shadows built on the old view are stale */
}

struct overlay *gmem_overlay_scan(const struct partition *p, u64 gpa)
{
	gpa = ALIGN_DOWN(gpa, PAGE_SIZE);
	for (u32 i = p->overlay_count; i-- > 0;)
		if (p->overlays[i]->active && p->overlays[i]->gpa == gpa)
			return p->overlays[i];
	return NULL;
}

struct overlay *gmem_overlay_scan_vtl(const struct partition *p, u64 gpa, u8 vtl)
{
	gpa = ALIGN_DOWN(gpa, PAGE_SIZE);
	for (u32 i = p->overlay_count; i-- > 0;) {
		struct overlay *o = p->overlays[i];
		if (o->active && o->gpa == gpa && (!o->vtls || (o->vtls >> vtl) & 1))
			return o;
	}
	return NULL;
}

enum slat_access gmem_base_access(const struct partition *p, u64 gpa)
{
	gpa = ALIGN_DOWN(gpa, PAGE_SIZE);
	if (gmem_hidden(p, gpa))
		return SLAT_NONE;
	for (u32 i = 0; i < p->protected_count; i++)
		if (p->protected_pages[i].gpa == gpa)
			return (enum slat_access)p->protected_pages[i].acc;
	return SLAT_RWX;
}

int gmem_show_page(struct vp *vp, u64 gpa)
{
	struct partition *p = vp->part;
	gpa = ALIGN_DOWN(gpa, PAGE_SIZE);
	enum slat_access base = gmem_base_access(p, gpa);
	struct overlay *top = gmem_overlay_vtl(p, gpa, 0);
	enum slat_access acc = top ? (enum slat_access)top->acc : base;
	u64 hpa = top ? top->hpa : acc == SLAT_NONE ? 0 : gpa;
	if (!p->slat[1].root || !p->be->slat_view_set_page)
		return p->be->slat_set_page(vp, gpa, hpa, acc);
	/* One view per VTL (TLFS 15.9): each gets the one rule with its own
	 * overlays (15.11: VTL 1's SynIC, assist and hypercall pages are not
	 * VTL 0's, and the reverse; a VTL sees its RAM under the other's),
	 * restricted by what the higher VTLs' protections leave it. */
	int r = 0;
	for (u8 v = 0; v < HV_VTL_COUNT; v++) {
		if (!p->slat[v].root)
			continue;
		top = gmem_overlay_vtl(p, gpa, v);
		acc = top ? (enum slat_access)top->acc : base;
		hpa = top ? top->hpa : acc == SLAT_NONE ? 0 : gpa;
		enum slat_access a = p->vtl_prot ? slat_acc_min(acc, p->vtl_prot(p, v, gpa)) : acc;
		r |= p->be->slat_view_set_page(vp, &p->slat[v], gpa, a == SLAT_NONE ? 0 : hpa, a);
	}
	return r;
}

int gmem_protect_page(struct vp *vp, u64 gpa, enum slat_access acc)
{
	struct partition *p = vp->part;
	u32 i;
	gpa = ALIGN_DOWN(gpa, PAGE_SIZE);
	for (i = 0; i < p->protected_count && p->protected_pages[i].gpa != gpa; i++)
		;
	if (i == HV_MAX_PROTECTED)
		return -1;
	if (i == p->protected_count)
		p->protected_count++;
	p->protected_pages[i] = (struct gmem_protected){ gpa, (u8)acc };
	p->slat_gen++;
	return gmem_show_page(vp, gpa);
}

const struct mem_range *gmem_range_scan(const struct partition *p, u64 gpa, u64 len)
{
	for (u32 i = 0; i < p->range_count; i++) {
		const struct mem_range *r = &p->ranges[i];
		if (gpa >= r->base && gpa + len <= r->base + r->size) {
			((struct partition *)p)->range_hint = i;
			return r;
		}
	}
	return NULL;
}

void *gmem_map(const struct partition *p, u64 gpa, u32 len, bool *ro)
{
	struct overlay *o = NULL;
	*ro = false;
	if ((gpa & (PAGE_SIZE - 1)) + len > PAGE_SIZE)
		return NULL;
	switch (gmem_classify_ov(p, gpa, len, &o)) {
	case GMEM_RAM:
	case GMEM_FIRMWARE:
		return hw_gpa_ptr(gpa);
	case GMEM_OVERLAY:
		*ro = o->acc != SLAT_RWX;
		return (u8 *)(uintptr_t)o->hpa + (gpa & (PAGE_SIZE - 1));
	default:
		return NULL;
	}
}

bool gmem_read(const struct partition *p, u64 gpa, void *out, u32 len)
{
	bool ro;
	const u8 *src = gmem_map(p, gpa, len, &ro);
	if (!src)
		return false;
	for (u32 i = 0; i < len; i++)
		((u8 *)out)[i] = src[i];
	return true;
}

bool gmem_read_code(const struct partition *p, u64 gpa, void *out, u32 len)
{
	if (gmem_read(p, gpa, out, len))
		return true;
	struct overlay *o = NULL;
	if (gpa + len > 0x100000 || (gpa & (PAGE_SIZE - 1)) + len > PAGE_SIZE ||
	    gmem_classify_ov(p, gpa, len, &o) != GMEM_MMIO)
		return false;
	const volatile u8 *src = hw_gpa_ptr(gpa);
	for (u32 i = 0; i < len; i++)
		((u8 *)out)[i] = src[i];
	return true;
}

bool gmem_write(const struct partition *p, u64 gpa, const void *in, u32 len)
{
	bool ro;
	u8 *dst = gmem_map(p, gpa, len, &ro);
	if (!dst || ro)
		return false;
	for (u32 i = 0; i < len; i++)
		dst[i] = ((const u8 *)in)[i];
	return true;
}

u16 gmem_check_param(struct partition *p, u64 gpa, u64 len)
{
	if (len == 0)
		return HV_STATUS_SUCCESS;
	if (gpa & 7)
		return HV_STATUS_INVALID_ALIGNMENT;
	if ((gpa & (PAGE_SIZE - 1)) + ALIGN_UP(len, 8) > PAGE_SIZE)
		return HV_STATUS_INVALID_ALIGNMENT;
	enum gmem_type t = gmem_classify(p, gpa, len);
	if (t == GMEM_OUTSIDE)
		return HV_STATUS_INVALID_ALIGNMENT;
	return t == GMEM_RAM ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
}
