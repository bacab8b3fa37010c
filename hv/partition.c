/*
 * partition.c - the root partition's properties (TLFS 4.2): privileges and
 * features are what the registered rows implement, never more. Collects
 * the modules' rows (include/hv/module.h) before anything uses them.
 */
#include "partition.h"
#include "backend.h"
#include "dispatch.h"
#include "hypercall.h"
#include "module.h"
#include "msr.h"
#include "tlfs.h"
#include "vpregs.h"

int partition_init(struct partition *p, const struct backend *be, u32 phys_bits,
		   u64 hidden_base, u64 hidden_size)
{
	*p = (struct partition){ 0 };
	if (msr_table_init() || hc_table_init() || vpregs_table_init() || dispatch_table_init() ||
	    registry_init())
		return -1;
	p->be = be;
	p->privileges = msr_privileges() | hc_privileges();
	p->features_edx = msr_features_edx() | hc_features_edx();
	/* The hypercall page is an overlay: without a backend that can map
	 * one, there is no hypercall interface and nothing that needs it. */
	if (!be->slat_set_page || !be->hypercall_insn) {
		p->privileges &= ~(HV_ACCESS_HYPERCALL_MSRS | ~0xffffffffull);
		p->features_edx &= ~hc_features_edx();
	}
	/* Implemented but not granted: Linux 6.1 (arch/x86/hyperv/hv_init.c)
	 * calls HvGetPartitionId when it sees AccessPartitionId, with an
	 * output page only a root partition it manages allocates, and BUG()s
	 * when the call fails. Hyper-V grants it to no guest either (the
	 * reference profile in shared/docs/linux-guest.md has no such bit). The
	 * call answers HV_STATUS_ACCESS_DENIED. */
	p->privileges &= ~HV_ACCESS_PARTITION_ID;
	p->recommendations = 0;
	/* TLFS 2.4.5 bit 3: use the EOI/ICR/TPR MSRs (TLFS 10.2.3) instead of
	 * the xAPIC page, whose stores the hypervisor must emulate (hv/smp.c):
	 * 1.4x a null exit instead of 4.1x (docs/performance.md). */
	if (p->privileges & HV_ACCESS_INTR_CTRL_REGS)
		p->recommendations |= HV_RECOMMEND_APIC_MSRS;
	/* TLFS 2.4.5 bits 2, 10, 11 (9.1.3, 10.5.2): remote flushes and IPIs
	 * by hypercall (hv/tlb.c), with sparse sets: one exit for the sender
	 * instead of one IPI per target plus an interrupt and an INVLPG storm
	 * on each. Not bit 1 (local flush by hypercall): with NPT/EPT the
	 * guest's INVLPG and MOV to CR3 run without an exit, so a hypercall
	 * would be slower (Hyper-V leaves it clear too, linux-guest.md). */
	if (p->privileges & HV_ACCESS_HYPERCALL_MSRS)
		p->recommendations |= HV_RECOMMEND_REMOTE_FLUSH | HV_RECOMMEND_CLUSTER_IPI |
				      HV_RECOMMEND_EX_PROCESSOR_MASKS;
	/* TLFS 2.4.5: spin this often before HvNotifyLongSpinWait (0xFFFFFFFF
	 * = never, when there is no hypercall interface). */
	p->spin_retries = (p->privileges & HV_ACCESS_HYPERCALL_MSRS) ? 0xfff : 0xffffffffu;
	p->hw_features = be->hw_features ? be->hw_features() : 0;
	p->phys_addr_bits = phys_bits;
	p->vp_count = 0;
	p->hidden_base = hidden_base;
	p->hidden_size = hidden_size;
	p->hc_budget_ticks = ~0ull;
	return 0;
}

int partition_setup_modules(struct partition *p, struct pool *pool)
{
	return registry_partition_init(p, pool);
}

int partition_add_vp(struct partition *p, struct vp *vp)
{
	if (p->vp_count >= ARRAY_SIZE(p->vps))
		return -1;
	vp->index = p->vp_count;
	vp->part = p;
	p->vps[p->vp_count++] = vp;
	return 0;
}
