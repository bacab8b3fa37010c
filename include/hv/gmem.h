/*
 * gmem.h - guest memory as the hypervisor sees it (hv/gmem.c): what a
 * guest-physical address is (ordinary RAM, firmware memory, MMIO or a
 * hole, the hypervisor's own hidden memory, an overlay page, or beyond
 * the GPA space), and reading, writing and mapping it for the guest.
 * Every test of "is this GPA guest memory" in hv/ goes through here. The
 * classification and the mapping are inline: the page walker and the
 * hypercall parameter checks run them on every exit of theirs.
 */
#ifndef HV_GMEM_H
#define HV_GMEM_H

#include "vp.h"
#include "backend.h"
#include "boot_info.h"
#include "hw.h"

enum gmem_type {
	GMEM_RAM,      /* ordinary guest RAM (TLFS 3.6) */
	GMEM_FIRMWARE, /* firmware memory: reserved, runtime services, ACPI NVS */
	GMEM_MMIO,     /* MMIO, or no memory at all (a hole in the memory map) */
	GMEM_HV,       /* the hypervisor's own memory: never mapped for the guest */
	GMEM_OVERLAY,  /* under an active overlay page (TLFS 5.2.1) */
	GMEM_OUTSIDE,  /* beyond the GPA space (the partition's phys_addr_bits) */
};

/* The GPA-width check: gpa is inside the partition's GPA space. */
static inline bool gmem_in_space(const struct partition *p, u64 gpa)
{
	return p->phys_addr_bits >= 64 || !(gpa >> p->phys_addr_bits);
}

/* The hidden-range check: gpa is the hypervisor's own memory. */
static inline bool gmem_hidden(const struct partition *p, u64 gpa)
{
	return gpa >= p->hidden_base && gpa - p->hidden_base < p->hidden_size;
}

/* Overlay pages change (hv/overlay.c tells): o became active (or was
 * registered active), or some overlay stopped being active.
 * overlay_filter: the bit (page number mod 64) of each active overlay's
 * page, perhaps more (a bit stays until the next gmem_overlays_changed):
 * a clear bit answers "no overlay here" without a scan; most pages the
 * walker and the parameter checks see are not overlays. */
static inline void gmem_overlay_on(struct partition *p, const struct overlay *o)
{
	p->overlay_filter |= 1ull << ((o->gpa >> 12) & 63);
}
void gmem_overlays_changed(struct partition *p);

/*
 * The base protection of a GPA: what the guest has at gpa's page when no
 * overlay covers it, and what an overlay gives back when it is disabled or
 * moved (TLFS 5.2.1: the underlying page is "uncovered"). The one rule:
 *   - the hypervisor's own memory: never mapped (SLAT_NONE);
 *   - a protected page (gmem_protect_page; the xAPIC page, SLAT_RX, so
 *     that every store to it is emulated, INIT and SIPI included): the
 *     access it was registered with;
 *   - everything else (RAM, firmware memory, MMIO, holes): the identity
 *     map, SLAT_RWX.
 * Nothing else in hv/ decides what an uncovered page gets.
 */
enum slat_access gmem_base_access(const struct partition *p, u64 gpa);
/* Register gpa's page as protected with access acc (again: the new
 * access) and show it (gmem_show_page). -1: no room, or the backend
 * failed. Partition set-up, before the guests run. */
int gmem_protect_page(struct vp *vp, u64 gpa, enum slat_access acc);
/* Point the second-level tables at what belongs at gpa's page now: the
 * top overlay there, else the page itself with its base access (unmapped
 * for SLAT_NONE). Every overlay change and protection goes through here. */
int gmem_show_page(struct vp *vp, u64 gpa);

/* The active overlay at gpa's page, the most recently enabled one when
 * several are stacked there (hv/overlay.c keeps the stack), or NULL. */
struct overlay *gmem_overlay_scan(const struct partition *p, u64 gpa);
/* The overlay VTL vtl's view shows at gpa's page (the top one of those
 * whose vtls has vtl, or that are for every VTL), or NULL. */
struct overlay *gmem_overlay_scan_vtl(const struct partition *p, u64 gpa, u8 vtl);
static inline struct overlay *gmem_overlay_vtl(const struct partition *p, u64 gpa, u8 vtl)
{
	if (!(p->overlay_filter & (1ull << ((gpa >> 12) & 63))))
		return NULL;
	return gmem_overlay_scan_vtl(p, gpa, vtl);
}
static inline struct overlay *gmem_overlay_at(const struct partition *p, u64 gpa)
{
	if (!(p->overlay_filter & (1ull << ((gpa >> 12) & 63))))
		return NULL;
	return gmem_overlay_scan(p, gpa);
}

/* The memory-map range holding [gpa, gpa + len), or NULL. The range that
 * matched last time first: a guest passes its parameters (and keeps its
 * page tables) in the same few places (docs/performance.md item 5). The
 * hint is shared by all VPs; a stale one only costs the scan. */
const struct mem_range *gmem_range_scan(const struct partition *p, u64 gpa, u64 len);
static inline const struct mem_range *gmem_range(const struct partition *p, u64 gpa, u64 len)
{
	u32 h = p->range_hint;
	if (h < p->range_count) {
		const struct mem_range *r = &p->ranges[h];
		if (gpa >= r->base && gpa + len <= r->base + r->size)
			return r;
	}
	return gmem_range_scan(p, gpa, len);
}

/* What the guest has at [gpa, gpa + len) (len >= 1): beyond the space,
 * an overlay page (*ov set), hypervisor memory, else the type of the
 * memory-map range holding all of it (GMEM_MMIO when no one range
 * does). */
static inline enum gmem_type gmem_classify_ov(const struct partition *p, u64 gpa, u64 len,
					      struct overlay **ov)
{
	if (!gmem_in_space(p, gpa))
		return GMEM_OUTSIDE;
	struct overlay *o = gmem_overlay_at(p, gpa);
	if (o) {
		*ov = o;
		return GMEM_OVERLAY;
	}
	if (gmem_hidden(p, gpa))
		return GMEM_HV;
	const struct mem_range *r = gmem_range(p, gpa, len);
	if (!r)
		return GMEM_MMIO;
	switch (r->type) {
	case MEM_RAM: return GMEM_RAM;
	case MEM_RESERVED: return GMEM_FIRMWARE;
	case MEM_HV: return GMEM_HV;
	default: return GMEM_MMIO;
	}
}

static inline enum gmem_type gmem_classify(const struct partition *p, u64 gpa, u64 len)
{
	struct overlay *o;
	return gmem_classify_ov(p, gpa, len, &o);
}

/* The hypervisor's pointer to [gpa, gpa + len) (inside one page) as the
 * guest sees it: RAM and firmware memory through the identity map, an
 * overlay page from the overlay's own page (identity-mapped pool pages in
 * the core, host buffers in the tests); NULL for anything else. *ro: the
 * hypervisor must not write there (a read-only overlay). Out of line on
 * purpose: inlined into the walker it cost the xAPIC store emulation
 * about 100 Bochs ticks (register pressure in the walk). */
void *gmem_map(const struct partition *p, u64 gpa, u32 len, bool *ro);
/* Copy len bytes (inside one page) from or to what gmem_map reaches.
 * false: not guest memory (or read-only, for a write); nothing copied. */
bool gmem_read(const struct partition *p, u64 gpa, void *out, u32 len);
/* The same for instruction bytes the processor just executed: also the
 * legacy area below 1 MiB that the firmware's map leaves out (it is RAM
 * or ROM there: OVMF under Bochs omits the page below the EBDA, 0x9F000,
 * where real-mode trampolines run). Other MMIO is never read. */
bool gmem_read_code(const struct partition *p, u64 gpa, void *out, u32 len);
bool gmem_write(const struct partition *p, u64 gpa, const void *in, u32 len);

/* TLFS 3.6, 3.12.3: a hypercall parameter block (or any block the guest
 * hands the hypervisor to read or write: the crash message) must be
 * 8-byte aligned, inside one page and inside the GPA space (else
 * HV_STATUS_INVALID_ALIGNMENT), and ordinary guest RAM: never hypervisor
 * memory, MMIO, firmware memory or an overlay page (else
 * HV_STATUS_INVALID_PARAMETER). len 0: HV_STATUS_SUCCESS. */
u16 gmem_check_param(struct partition *p, u64 gpa, u64 len);

#endif
