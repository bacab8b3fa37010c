/*
 * walk.c - the guest page walker (SDM 4.3-4.6, APM 5): a walk of the
 * guest's page tables with a VP's paging state, with or without the
 * permission checks of an access. HvTranslateVirtualAddress (TLFS 9.4.6,
 * hv/translate.c) and the instruction fetch of the xAPIC store emulation
 * (hv/emulate.c) both walk here; the result codes are TLFS 9.4.6's.
 *
 * Pure apart from guest-memory access through hv/gmem.c (gmem_map), and
 * compiles unchanged in the host tests. It
 * handles paging off (identity), 32-bit paging (4 MiB pages with CR4.PSE,
 * PSE-36), PAE paging (PDPTEs read from memory), 4-level and 5-level
 * (CR4.LA57) paging. Results:
 *   PageNotPresent        an entry with P = 0, a non-canonical GVA, or a GVA
 *                         beyond the paging mode's linear-address width;
 *   InvalidPageTableFlags a reserved bit set in a present entry: address
 *                         bits at or above MAXPHYADDR (the partition's
 *                         phys_addr_bits), XD with EFER.NXE = 0, PS in a
 *                         PML5E/PML4E (or in a PDPTE without 1 GiB pages),
 *                         the reserved bits of large-page entries, the
 *                         PAE PDPTE reserved bits;
 *   PrivilegeViolation    checked after a complete walk (SDM 4.6), for
 *                         the accesses named in the flags (none: no check): a user
 *                         access (CPL 3 without PRIVILEGE_EXEMPT) to a
 *                         supervisor page; a write to a read-only page by
 *                         a user access, or by a supervisor access with
 *                         CR0.WP = 1; an execute of an XD page (EFER.NXE);
 *                         SMEP (supervisor execute of a user page); SMAP
 *                         (CR4.SMAP, supervisor read/write of a user page
 *                         with RFLAGS.AC = 0);
 *   GpaUnmapped           a paging-structure page that is not guest memory
 *                         the hypervisor can read: hypervisor memory, MMIO,
 *                         a hole in the memory map, beyond the GPA space.
 *                         GpaPage is that page;
 *   GpaIllegalOverlayAccess  SET_PAGE_TABLE_BITS would have to write A/D
 *                         into a paging-structure page that is a read-only
 *                         overlay (the hypercall page). GpaPage is that page.
 * A paging-structure page under an active overlay is read from the overlay
 * (what the VP's own walk would see). The final GPA itself is not accessed:
 * a translation to hypervisor memory succeeds and reports the GPA.
 *
 * SET_PAGE_TABLE_BITS sets A in each entry used, as the walk proceeds (not
 * in PAE PDPTEs, which have none); the final entry's A, and D when
 * VALIDATE_WRITE, only after the permission checks passed. Bits already
 * set when a walk is aborted stay set (TLFS 9.4.6).
 *
 * CacheType: the PAT entry selected by the final entry's PAT, PCD and PWT
 * bits in the VP's IA32_PAT (SDM 11.12.3); UC- reads as Uncached; CR0.CD
 * gives Uncached; paging off gives WriteBack. MTRRs are not considered
 * (TLFS 9.4.6 allows that: "if supported by the hypervisor").
 *
 * Not modelled: protection keys (CR4.PKE/PKS: PKRU is not part of the VP
 * state we read), and the PAE PDPTE registers: the PDPTEs are read from
 * memory at CR3, not from the copies the CPU loaded at the last CR3 write
 * (TLFS 9.4.6: the walk need not be coherent with the TLB).
 */
#include "walk.h"
#include "gmem.h"
#include "tlfs.h"
#include "x86.h"

#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_US BIT(2)
#define PTE_PWT BIT(3)
#define PTE_PCD BIT(4)
#define PTE_A BIT(5)
#define PTE_D BIT(6)
#define PTE_PS BIT(7)
#define PTE_PAT BIT(7)       /* in a 4K PTE */
#define PTE_PAT_LARGE BIT(12) /* in a 2M/4M/1G page entry */
#define PTE_XD BIT(63)
#define ADDR_MASK 0x000ffffffffff000ull


#define F_READ HV_TRANSLATE_GVA_VALIDATE_READ
#define F_WRITE HV_TRANSLATE_GVA_VALIDATE_WRITE
#define F_EXEC HV_TRANSLATE_GVA_VALIDATE_EXECUTE
#define F_EXEMPT HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT
#define F_SETBITS HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS
#define F_CHECKS (F_READ | F_WRITE | F_EXEC) /* none: no permission checks */

struct walk {
	const struct partition *p;
	u64 flags;
	u64 fail_gpa; /* the table page of a GPA access failure */
	u8 prot_vtl1; /* xlate_state.prot_vtl1 */
};

/* What the walk's VTL may do at gpa's page (SLAT_ACC_* bits; all without
 * a VTL or without VTL protections). */
static u8 vtl_acc(const struct walk *w, u64 gpa)
{
	if (!w->prot_vtl1 || !w->p->vtl_prot)
		return SLAT_ACC_R | SLAT_ACC_W;
	return slat_acc_bits(w->p->vtl_prot(w->p, (u8)(w->prot_vtl1 - 1), ALIGN_DOWN(gpa, PAGE_SIZE)));
}

/* Read the entry at gpa (4 or 8 bytes). A paging-structure page the walk
 * may read is ordinary guest RAM or firmware memory (reserved, runtime,
 * ACPI NVS), or an overlay page (read from the overlay; *ro: a read-only
 * one, whose entries must not be written). Returns the pointer for A/D
 * updates, or NULL: not guest memory (GpaUnmapped; fail_gpa set, *code
 * set). */
static void *read_entry(struct walk *w, u64 gpa, u32 size, u64 *e, bool *ro, u32 *code)
{
	void *q = gmem_map(w->p, gpa, size, ro);
	if (!q) {
		w->fail_gpa = ALIGN_DOWN(gpa, PAGE_SIZE);
		*code = HV_TRANSLATE_GVA_GPA_UNMAPPED;
		return NULL;
	}
	if (!(vtl_acc(w, gpa) & SLAT_ACC_R)) {
		w->fail_gpa = ALIGN_DOWN(gpa, PAGE_SIZE);
		*code = HV_TRANSLATE_GVA_GPA_NO_READ_ACCESS;
		return NULL;
	}
	*e = size == 8 ? __atomic_load_n((u64 *)q, __ATOMIC_RELAXED)
		       : __atomic_load_n((u32 *)q, __ATOMIC_RELAXED);
	return q;
}

/* Set bits in an entry (SET_PAGE_TABLE_BITS). 0, or a result code. */
static u32 set_bits(struct walk *w, void *q, u64 gpa, u32 size, u64 e, bool ro, u64 bits)
{
	if (!(w->flags & F_SETBITS) || (e & bits) == bits)
		return HV_TRANSLATE_GVA_SUCCESS;
	if (ro) {
		w->fail_gpa = ALIGN_DOWN(gpa, PAGE_SIZE);
		return HV_TRANSLATE_GVA_GPA_ILLEGAL_OVERLAY_ACCESS;
	}
	if (!(vtl_acc(w, gpa) & SLAT_ACC_W)) {
		w->fail_gpa = ALIGN_DOWN(gpa, PAGE_SIZE);
		return HV_TRANSLATE_GVA_GPA_NO_WRITE_ACCESS;
	}
	if (size == 8)
		__atomic_fetch_or((u64 *)q, bits, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_or((u32 *)q, (u32)bits, __ATOMIC_SEQ_CST);
	return HV_TRANSLATE_GVA_SUCCESS;
}

static u8 cache_type(const struct xlate_state *s, unsigned int pat_index)
{
	if (s->cr0 & CR0_CD)
		return HV_CACHE_TYPE_UNCACHED;
	u8 t = (u8)((s->pat >> (8 * pat_index)) & 7);
	switch (t) {
	case 1: return HV_CACHE_TYPE_WRITE_COMBINING;
	case 4: return HV_CACHE_TYPE_WRITE_THROUGH;
	case 5: return HV_CACHE_TYPE_WRITE_PROTECTED;
	case 6: return HV_CACHE_TYPE_WRITE_BACK;
	default: return HV_CACHE_TYPE_UNCACHED; /* UC, UC- (and reserved) */
	}
}

/* SDM 4.6: the access rights of the complete translation. */
static bool allowed(const struct xlate_state *s, u64 flags, bool rw, bool us, bool xd)
{
	bool user = s->cpl == 3 && !(flags & F_EXEMPT);
	if (user) {
		if (!us)
			return false;
		if ((flags & F_WRITE) && !rw)
			return false;
	} else {
		if ((flags & F_WRITE) && !rw && (s->cr0 & CR0_WP))
			return false;
		if ((flags & F_EXEC) && us && (s->cr4 & CR4_SMEP))
			return false;
		if ((flags & (F_READ | F_WRITE)) && us && (s->cr4 & CR4_SMAP) &&
		    !(s->rflags & RFLAGS_AC))
			return false;
	}
	if ((flags & F_EXEC) && xd && (s->efer & EFER_NXE))
		return false;
	return true;
}

/* Address bits [51:M] of a 64-bit entry (M = MAXPHYADDR). */
static u64 above_maxphy(const struct partition *p)
{
	u32 m = p->phys_addr_bits > 52 ? 52 : p->phys_addr_bits;
	return ((1ull << 52) - 1) & ~((1ull << m) - 1);
}

static u32 walk64(struct walk *w, const struct xlate_state *s, u64 gva, struct xlate_out *out)
{
	const struct partition *p = w->p;
	bool lm = s->efer & EFER_LMA;
	bool nxe = s->efer & EFER_NXE;
	u64 maxphy = above_maxphy(p);
	u64 xd_rsvd = nxe ? 0 : PTE_XD;
	int levels;
	u64 table;
	u32 code;

	if (lm) {
		levels = (s->cr4 & CR4_LA57) ? 5 : 4;
		if (!walk_canonical(gva, levels == 5))
			return HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
		table = s->cr3 & ADDR_MASK & ~maxphy;
	} else {
		if (gva >> 32)
			return HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
		/* PAE: four PDPTEs at CR3[31:5]. */
		u64 gpa = (s->cr3 & 0xffffffe0u) + ((gva >> 30) & 3) * 8;
		u64 e;
		bool ro;
		void *q = read_entry(w, gpa, 8, &e, &ro, &code);
		if (!q)
			return code;
		if (!(e & PTE_P))
			return HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
		/* SDM table 4-8: 63:M, 8:5, 2:1 reserved (bit 63 too). */
		if (e & ((~0ull << (p->phys_addr_bits > 52 ? 52 : p->phys_addr_bits)) | 0x1e6))
			return HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS;
		levels = 2;
		table = e & ADDR_MASK;
	}

	bool rw = true, us = true, xd = false;
	for (int l = levels - 1; l >= 0; l--) {
		u64 gpa = table + ((gva >> (12 + 9 * l)) & 511) * 8;
		u64 e;
		bool ro;
		void *q = read_entry(w, gpa, 8, &e, &ro, &code);
		if (!q)
			return code;
		if (!(e & PTE_P))
			return HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
		/* Reserved bits: address bits above MAXPHYADDR; XD without
		 * NXE; outside long mode (PAE) bits 62:52 too. */
		u64 rsvd = maxphy | xd_rsvd | (lm ? 0 : 0x7ff0000000000000ull);
		bool large = false;
		if (l >= 3 || (l == 2 && !s->gbpages)) {
			rsvd |= PTE_PS; /* PML5E, PML4E; a PDPTE without 1G pages */
		} else if ((l == 2 || l == 1) && (e & PTE_PS)) {
			large = true;
			/* Address bits below the page size, above the PAT bit. */
			rsvd |= ((1ull << (12 + 9 * l)) - 1) & ~0x1fffull;
		}
		if (e & rsvd)
			return HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS;
		rw &= !!(e & PTE_RW);
		us &= !!(e & PTE_US);
		xd |= !!(e & PTE_XD);
		if (large || l == 0) {
			u64 size = 1ull << (12 + 9 * l);
			if ((w->flags & F_CHECKS) && !allowed(s, w->flags, rw, us, xd))
				return HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
			u64 bits = PTE_A | ((w->flags & F_WRITE) ? PTE_D : 0);
			code = set_bits(w, q, gpa, 8, e, ro, bits);
			if (code)
				return code;
			u64 base = e & ADDR_MASK & ~(size - 1);
			out->gpa_page = (base | (gva & (size - 1))) >> 12;
			bool pat = large ? (e & PTE_PAT_LARGE) : (e & PTE_PAT);
			out->cache_type = cache_type(s, (pat ? 4 : 0) | (e & PTE_PCD ? 2 : 0) |
							     (e & PTE_PWT ? 1 : 0));
			return HV_TRANSLATE_GVA_SUCCESS;
		}
		/* A non-leaf entry used: its accessed flag. */
		code = set_bits(w, q, gpa, 8, e, ro, PTE_A);
		if (code)
			return code;
		table = e & ADDR_MASK;
	}
	return HV_TRANSLATE_GVA_PAGE_NOT_PRESENT; /* not reached */
}

/* 32-bit paging (SDM 4.3): 4-byte entries, 4 MiB pages with CR4.PSE. */
static u32 walk32(struct walk *w, const struct xlate_state *s, u64 gva, struct xlate_out *out)
{
	const struct partition *p = w->p;
	u64 e;
	bool ro;
	u32 code;

	if (gva >> 32)
		return HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
	u64 gpa = (s->cr3 & 0xfffff000u) + ((gva >> 22) & 1023) * 4;
	void *q = read_entry(w, gpa, 4, &e, &ro, &code);
	if (!q)
		return code;
	if (!(e & PTE_P))
		return HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
	bool rw = e & PTE_RW, us = e & PTE_US;
	if ((e & PTE_PS) && (s->cr4 & CR4_PSE)) {
		/* PSE-36: bits 20:13 are physical-address bits 39:32; bit 21
		 * and the bits above MAXPHYADDR (at most 40) are reserved. */
		u32 m = p->phys_addr_bits > 40 ? 40 : p->phys_addr_bits < 32 ? 32 : p->phys_addr_bits;
		u64 rsvd = BIT(21) | (((1ull << 21) - 1) & ~((1ull << (13 + (m - 32))) - 1));
		if (e & rsvd)
			return HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS;
		if ((w->flags & F_CHECKS) && !allowed(s, w->flags, rw, us, false))
			return HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
		code = set_bits(w, q, gpa, 4, e, ro, PTE_A | ((w->flags & F_WRITE) ? PTE_D : 0));
		if (code)
			return code;
		u64 base = (e & 0xffc00000u) | (((e >> 13) & 0xff) << 32);
		out->gpa_page = (base | (gva & 0x3fffff)) >> 12;
		out->cache_type = cache_type(s, (e & PTE_PAT_LARGE ? 4 : 0) |
						     (e & PTE_PCD ? 2 : 0) | (e & PTE_PWT ? 1 : 0));
		return HV_TRANSLATE_GVA_SUCCESS;
	}
	code = set_bits(w, q, gpa, 4, e, ro, PTE_A);
	if (code)
		return code;
	gpa = (e & 0xfffff000u) + ((gva >> 12) & 1023) * 4;
	q = read_entry(w, gpa, 4, &e, &ro, &code);
	if (!q)
		return code;
	if (!(e & PTE_P))
		return HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
	rw &= !!(e & PTE_RW);
	us &= !!(e & PTE_US);
	if ((w->flags & F_CHECKS) && !allowed(s, w->flags, rw, us, false))
		return HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
	code = set_bits(w, q, gpa, 4, e, ro, PTE_A | ((w->flags & F_WRITE) ? PTE_D : 0));
	if (code)
		return code;
	out->gpa_page = (e & 0xfffff000u) >> 12;
	out->cache_type = cache_type(s, (e & PTE_PAT ? 4 : 0) | (e & PTE_PCD ? 2 : 0) |
					     (e & PTE_PWT ? 1 : 0));
	return HV_TRANSLATE_GVA_SUCCESS;
}

u32 walk_gva(const struct partition *p, const struct xlate_state *s, u64 gva_page, u64 flags,
	     struct xlate_out *out)
{
	struct walk w = { p, flags, 0, s->prot_vtl1 };
	u32 code;

	*out = (struct xlate_out){ 0, 0, false };
	/* A page number beyond 52 bits names no linear address. */
	if (gva_page >> 52)
		return HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
	u64 gva = gva_page << 12;
	if (!(s->cr0 & CR0_PG)) {
		/* TLFS 9.4.6: success is guaranteed; linear addresses are 32
		 * bits wide without paging. */
		out->gpa_page = (gva & 0xffffffffull) >> 12;
		out->cache_type = (s->cr0 & CR0_CD) ? HV_CACHE_TYPE_UNCACHED : HV_CACHE_TYPE_WRITE_BACK;
		code = HV_TRANSLATE_GVA_SUCCESS;
	} else if ((s->efer & EFER_LMA) || (s->cr4 & CR4_PAE)) {
		code = walk64(&w, s, gva, out);
	} else {
		code = walk32(&w, s, gva, out);
	}
	if (code != HV_TRANSLATE_GVA_SUCCESS) {
		out->cache_type = 0;
		out->gpa_page = (code >= HV_TRANSLATE_GVA_GPA_UNMAPPED) ? w.fail_gpa >> 12 : 0;
	}
	return code;
}
