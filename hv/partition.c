/*
 * partition.c - the root partition's properties (TLFS 4.2): privileges and
 * features are what the implementation tables say works, never more.
 */
#include "hv.h"

void partition_init(struct partition *p, const struct backend *be, u32 phys_bits,
		    u64 hidden_base, u64 hidden_size)
{
	p->be = be;
	p->privileges = hv_msr_implemented_privileges();
	p->features_edx = hv_msr_implemented_features_edx();
	p->recommendations = 0;
	/* TLFS 2.4.5: 0xFFFFFFFF = never notify; HvNotifyLongSpinWait is not
	 * implemented, so a guest must not be told to call it. */
	p->spin_retries = 0xffffffffu;
	p->hw_features = be->hw_features ? be->hw_features() : 0;
	p->phys_addr_bits = phys_bits;
	p->vp_count = 1;
	p->hidden_base = hidden_base;
	p->hidden_size = hidden_size;
}
