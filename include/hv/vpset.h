/*
 * vpset.h - processor sets (hv/vpset.c, TLFS 7.8.7.3-7.8.7.5).
 */
#ifndef HV_VPSET_H
#define HV_VPSET_H

#include "vp.h"

/* The partition's VPs as a mask of VP indexes, and the HV_VP_SET at set
 * (Format, ValidBanksMask, then `banks` bank words) parsed into *mask.
 * Statuses: INVALID_PARAMETER for an unknown format or a named VP that
 * does not exist, INVALID_HYPERCALL_INPUT when `banks` is not the number
 * of valid banks. */
u64 vpset_all(const struct partition *p);
u16 vpset_parse(const struct partition *p, const u8 *set, u32 banks, u64 *mask);
/* The 64-bit processor mask of the non-Ex calls (TLFS 9.4.2, 10.5.2). */
u16 vpset_mask_check(const struct partition *p, u64 mask);

#endif
