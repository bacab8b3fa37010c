/*
 * walk.h - the guest page walker (hv/walk.c), shared by
 * HvTranslateVirtualAddress (hv/translate.c) and the xAPIC store
 * emulation's instruction fetch (hv/emulate.c), and the canonical-address
 * check.
 */
#ifndef HV_WALK_H
#define HV_WALK_H

#include "vp.h"

/* The paging state a walk uses (the VP's). */
struct xlate_state {
	u64 cr0, cr3, cr4, efer, pat, rflags;
	u8 cpl;
	bool gbpages; /* 1 GiB pages exist (CPUID 0x80000001 EDX[26]) */
	/* The VTL on whose behalf the tables are read, plus one (0: the
	 * hypervisor's own walk, no VTL protection applies): a table page
	 * that VTL may not read is GpaNoReadAccess, one whose A/D bits it may
	 * not write GpaNoWriteAccess (TLFS 9.4.6, 15.9: a lower VTL cannot
	 * have the hypervisor access what it cannot). */
	u8 prot_vtl1;
};
struct xlate_out {
	u64 gpa_page;
	u8 cache_type; /* HV_CACHE_TYPE_* (success only) */
	bool overlay;  /* the page is an overlay page (success only; translate_gva) */
};

/* Walk the guest's page tables for the linear page gva_page with the
 * state s. flags: HV_TRANSLATE_GVA_VALIDATE_* for the permission checks
 * of those accesses (none of them: no permission checks at all, not even
 * user/supervisor), HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT,
 * HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS. Returns an HV_TRANSLATE_GVA_*
 * result code (TLFS 9.4.6) and fills out->gpa_page (the translation, or
 * the table page that could not be accessed) and out->cache_type. */
u32 walk_gva(const struct partition *p, const struct xlate_state *s, u64 gva_page, u64 flags,
	     struct xlate_out *out);

/* The one canonical-address check (SDM 3.3.7.1): bits 63:47 (63:56 with
 * 5-level paging, CR4.LA57) all equal. */
static inline bool walk_canonical(u64 va, bool la57)
{
	int sh = la57 ? 7 : 16;
	return (u64)((s64)(va << sh) >> sh) == va;
}

#endif
