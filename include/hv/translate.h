/*
 * translate.h - HvTranslateVirtualAddress (TLFS 9.4.6) (hv/translate.c).
 */
#ifndef HV_TRANSLATE_H
#define HV_TRANSLATE_H

#include "walk.h"

/* walk_gva (include/hv/walk.h), and out->overlay: the page reached is an
 * overlay page. */
u32 translate_gva(const struct partition *p, const struct xlate_state *s, u64 gva_page,
		  u64 flags, struct xlate_out *out);

#endif
