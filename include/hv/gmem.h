/*
 * gmem.h - guest memory as the hypervisor sees it (hv/gmem.c): what a
 * guest-physical address is (ordinary RAM, firmware memory, MMIO or a
 * hole, the hypervisor's own hidden memory, an overlay page, or beyond
 * the GPA space), and reading, writing and mapping it for the guest.
 * Every test of "is this GPA guest memory" in hv/ goes through here.
 */
#ifndef HV_GMEM_H
#define HV_GMEM_H

#include "vp.h"

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

/* The active overlay at gpa's page, the most recently enabled one when
 * several are stacked there (hv/overlay.c keeps the stack), or NULL. */
struct overlay *gmem_overlay_at(const struct partition *p, u64 gpa);

/* What the guest has at [gpa, gpa + len) (len >= 1): beyond the space,
 * an overlay page, hypervisor memory, else the type of the memory-map
 * range holding all of it (GMEM_MMIO when no one range does). */
enum gmem_type gmem_classify(const struct partition *p, u64 gpa, u64 len);

/* The hypervisor's pointer to [gpa, gpa + len) (inside one page) as the
 * guest sees it: RAM and firmware memory through the identity map, an
 * overlay page from the overlay's own page; NULL for anything else.
 * *ro: the hypervisor must not write there (a read-only overlay). */
void *gmem_map(const struct partition *p, u64 gpa, u32 len, bool *ro);
/* Copy len bytes (inside one page) from or to what gmem_map reaches.
 * false: not guest memory (or read-only, for a write); nothing copied. */
bool gmem_read(const struct partition *p, u64 gpa, void *out, u32 len);
bool gmem_write(const struct partition *p, u64 gpa, const void *in, u32 len);

/* TLFS 3.6, 3.12.3: a hypercall parameter block (or any block the guest
 * hands the hypervisor to read or write: the crash message) must be
 * 8-byte aligned, inside one page and inside the GPA space (else
 * HV_STATUS_INVALID_ALIGNMENT), and ordinary guest RAM: never hypervisor
 * memory, MMIO, firmware memory or an overlay page (else
 * HV_STATUS_INVALID_PARAMETER). len 0: HV_STATUS_SUCCESS. */
u16 gmem_check_param(struct partition *p, u64 gpa, u64 len);

#endif
