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
 */
#include "gmem.h"
#include "backend.h"
#include "hw.h"
#include "boot_info.h"
#include "tlfs.h"

static inline struct overlay *overlay_lookup(const struct partition *p, u64 gpa)
{
	gpa = ALIGN_DOWN(gpa, PAGE_SIZE);
	for (u32 i = p->overlay_count; i-- > 0;)
		if (p->overlays[i]->active && p->overlays[i]->gpa == gpa)
			return p->overlays[i];
	return NULL;
}

struct overlay *gmem_overlay_at(const struct partition *p, u64 gpa)
{
	return overlay_lookup(p, gpa);
}

static inline bool in_range(const struct mem_range *r, u64 gpa, u64 len)
{
	return gpa >= r->base && gpa + len <= r->base + r->size;
}

/* The memory-map range holding [gpa, gpa + len), or NULL. The range that
 * matched last time first: a guest passes its parameters (and keeps its
 * page tables) in the same few places (docs/performance.md item 5). The
 * hint is shared by all VPs; a stale one only costs the scan. */
static inline const struct mem_range *find_range(const struct partition *p, u64 gpa, u64 len)
{
	u32 h = p->range_hint;
	if (h < p->range_count && in_range(&p->ranges[h], gpa, len))
		return &p->ranges[h];
	for (u32 i = 0; i < p->range_count; i++) {
		const struct mem_range *r = &p->ranges[i];
		if (in_range(r, gpa, len)) {
			((struct partition *)p)->range_hint = i;
			return r;
		}
	}
	return NULL;
}

static inline enum gmem_type range_type(const struct mem_range *r)
{
	if (!r)
		return GMEM_MMIO;
	switch (r->type) {
	case MEM_RAM: return GMEM_RAM;
	case MEM_RESERVED: return GMEM_FIRMWARE;
	case MEM_HV: return GMEM_HV;
	default: return GMEM_MMIO;
	}
}

/* The classification, with the overlay found on the way (the mapping
 * needs it). */
static inline enum gmem_type classify(const struct partition *p, u64 gpa, u64 len,
				      struct overlay **ov)
{
	if (!gmem_in_space(p, gpa))
		return GMEM_OUTSIDE;
	struct overlay *o = overlay_lookup(p, gpa);
	if (o) {
		*ov = o;
		return GMEM_OVERLAY;
	}
	if (gmem_hidden(p, gpa))
		return GMEM_HV;
	return range_type(find_range(p, gpa, len));
}

enum gmem_type gmem_classify(const struct partition *p, u64 gpa, u64 len)
{
	struct overlay *o;
	return classify(p, gpa, len, &o);
}

void *gmem_map(const struct partition *p, u64 gpa, u32 len, bool *ro)
{
	struct overlay *o = NULL;
	*ro = false;
	if ((gpa & (PAGE_SIZE - 1)) + len > PAGE_SIZE)
		return NULL;
	switch (classify(p, gpa, len, &o)) {
	case GMEM_RAM:
	case GMEM_FIRMWARE:
		return hw_gpa_ptr(gpa);
	case GMEM_OVERLAY:
		/* Overlay pages are the hypervisor's own (identity-mapped
		 * pool pages in the core, host buffers in the tests). */
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
	struct overlay *o;
	enum gmem_type t = classify(p, gpa, len, &o);
	if (t == GMEM_OUTSIDE)
		return HV_STATUS_INVALID_ALIGNMENT;
	return t == GMEM_RAM ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
}
