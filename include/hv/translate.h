/*
 * translate.h - the guest page walk of HvTranslateVirtualAddress (TLFS
 * 9.4.6) (hv/translate.c).
 */
#ifndef HV_TRANSLATE_H
#define HV_TRANSLATE_H

#include "vp.h"

/* With the VP's paging state; returns an HV_TRANSLATE_GVA_* result code
 * and fills *out (GPA page: the translation, or the table page that could
 * not be accessed). */
struct xlate_state {
	u64 cr0, cr3, cr4, efer, pat, rflags;
	u8 cpl;
	bool gbpages; /* 1 GiB pages exist (CPUID 0x80000001 EDX[26]) */
};
struct xlate_out {
	u64 gpa_page;
	u8 cache_type; /* HV_CACHE_TYPE_* (success only) */
	bool overlay;  /* the page is an overlay page (success only) */
};
u32 translate_gva(const struct partition *p, const struct xlate_state *s, u64 gva_page,
		  u64 flags, struct xlate_out *out);

#endif
