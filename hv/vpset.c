/*
 * vpset.c - processor sets (TLFS 7.8.7.3-7.8.7.5): the 64-bit processor
 * mask of HvFlushVirtualAddressSpace/List and HvSendSyntheticClusterIpi,
 * and the generic HV_VP_SET of their Ex forms. Pure functions of guest
 * input: nothing here trusts a length or an index it did not check.
 *
 * Policy (the TLFS leaves it open): naming a VP the partition does not
 * have is HV_STATUS_INVALID_PARAMETER, checked before any VP is touched;
 * a sparse set whose bank words do not match ValidBanksMask (too few or
 * too many in the variable header) is HV_STATUS_INVALID_HYPERCALL_INPUT,
 * the status for a malformed input layout (TLFS 3.12).
 */
#include "vpset.h"
#include "tlfs.h"

/* No libgcc in the core: count bits by hand. */
static u32 popcount64(u64 v)
{
	u32 n = 0;
	for (; v; v &= v - 1)
		n++;
	return n;
}

u64 vpset_all(const struct partition *p)
{
	u64 m = 0;
	for (u32 i = 0; i < p->vp_count && i < 64; i++)
		if (p->vps[i])
			m |= BIT(i);
	return m;
}

u16 vpset_mask_check(const struct partition *p, u64 mask)
{
	return (mask & ~vpset_all(p)) ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS;
}

u16 vpset_parse(const struct partition *p, const u8 *set, u32 banks, u64 *mask)
{
	u64 format = *(const u64 *)set;
	u64 valid = *(const u64 *)(set + 8);

	if (format != HV_GENERIC_SET_SPARSE_4K && format != HV_GENERIC_SET_ALL)
		return HV_STATUS_INVALID_PARAMETER;
	/* One bank word per valid bank, in the variable header (TLFS
	 * 7.8.7.4), for either format: the layout must be self-consistent. */
	if (popcount64(valid) != banks)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (format == HV_GENERIC_SET_ALL) {
		*mask = vpset_all(p);
		return HV_STATUS_SUCCESS;
	}
	u64 m = 0;
	u32 w = 0;
	for (u32 bank = 0; bank < 64; bank++) {
		if (!(valid & BIT(bank)))
			continue;
		u64 bits = *(const u64 *)(set + 16 + 8 * w++);
		if (!bits)
			continue; /* an empty bank is valid (TLFS 7.8.7.4) */
		if (bank)
			return HV_STATUS_INVALID_PARAMETER; /* VP index >= 64 */
		m = bits;
	}
	if (vpset_mask_check(p, m))
		return HV_STATUS_INVALID_PARAMETER;
	*mask = m;
	return HV_STATUS_SUCCESS;
}
