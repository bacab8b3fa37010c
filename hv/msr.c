/*
 * msr.c - MSR exits. The backend first handles the MSRs it intercepts for
 * itself (EFER, VM_CR, ... in svm/). The hypervisor range 0x40000000-
 * 0x4FFFFFFF is a table of synthetic MSRs (TLFS appendix), each row gated by
 * its privilege (TLFS 4.2.2) or feature bit (TLFS 2.4.4): without it, or
 * without an implementation, any access raises #GP. Other MSRs that exit
 * (those outside the bitmap ranges) are passed to the hardware, with a #GP
 * to the guest if the hardware faults.
 *
 * The privileges the partition is offered are derived from this table: a
 * privilege is advertised only if every row that needs it is implemented.
 */
#include "hv.h"
#include "log.h"
#include "tlfs.h"

typedef int (*msr_read_fn)(struct vp *vp, u32 msr, u64 *val);
typedef int (*msr_write_fn)(struct vp *vp, u32 msr, u64 val);

struct synth_msr {
	u32 first, last;
	u64 privilege;    /* HV_ACCESS_* (TLFS 4.2.2), or 0 */
	u32 feature_edx;  /* leaf 0x40000003 EDX bit, or 0 */
	msr_read_fn read; /* NULL: not implemented yet */
	msr_write_fn write;
	const char *name;
};

/* Every synthetic MSR of TLFS 6.0. A row without handlers is known but not
 * implemented: it stays #GP and keeps its privilege unadvertised. Rows are
 * sorted, do not overlap and lie within the index below
 * (host.msr_table_sorted keeps it so). */
static const struct synth_msr synth_msrs[] = {
	{ HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_GUEST_OS_ID, HV_ACCESS_HYPERCALL_MSRS, 0,
	  hv_msr_guest_os_id_read, hv_msr_guest_os_id_write, "GUEST_OS_ID" },
	{ HV_X64_MSR_HYPERCALL, HV_X64_MSR_HYPERCALL, HV_ACCESS_HYPERCALL_MSRS, 0,
	  hv_msr_hypercall_read, hv_msr_hypercall_write, "HYPERCALL" },
	{ HV_X64_MSR_VP_INDEX, HV_X64_MSR_VP_INDEX, HV_ACCESS_VP_INDEX, 0,
	  hv_msr_vp_index_read, hv_msr_read_only, "VP_INDEX" },
	{ HV_X64_MSR_RESET, HV_X64_MSR_RESET, HV_ACCESS_RESET_REG, 0,
	  hv_msr_reset_read, hv_msr_reset_write, "RESET" },
	{ HV_X64_MSR_VP_RUNTIME, HV_X64_MSR_VP_RUNTIME, HV_ACCESS_VP_RUNTIME, 0,
	  hv_msr_vp_runtime_read, hv_msr_read_only, "VP_RUNTIME" },
	{ HV_X64_MSR_TIME_REF_COUNT, HV_X64_MSR_TIME_REF_COUNT, HV_ACCESS_PARTITION_REFERENCE_COUNTER, 0,
	  hv_msr_time_ref_count_read, hv_msr_read_only, "TIME_REF_COUNT" },
	{ HV_X64_MSR_REFERENCE_TSC, HV_X64_MSR_REFERENCE_TSC, HV_ACCESS_PARTITION_REFERENCE_TSC, 0,
	  hv_msr_reference_tsc_read, hv_msr_reference_tsc_write, "REFERENCE_TSC" },
	{ HV_X64_MSR_TSC_FREQUENCY, HV_X64_MSR_APIC_FREQUENCY, HV_ACCESS_FREQUENCY_REGS,
	  HV_FEATURE_FREQUENCY_MSRS,
	  hv_msr_frequency_read, hv_msr_read_only, "TSC/APIC_FREQUENCY" },
	{ HV_X64_MSR_EOI, HV_X64_MSR_TPR, HV_ACCESS_INTR_CTRL_REGS, 0,
	  hv_msr_apic_read, hv_msr_apic_write, "EOI/ICR/TPR" },
	{ HV_X64_MSR_VP_ASSIST_PAGE, HV_X64_MSR_VP_ASSIST_PAGE, HV_ACCESS_INTR_CTRL_REGS, 0,
	  hv_msr_vp_assist_read, hv_msr_vp_assist_write, "VP_ASSIST_PAGE" },
	{ HV_X64_MSR_SCONTROL, HV_X64_MSR_EOM, HV_ACCESS_SYNIC_REGS, 0, NULL, NULL, "SYNIC" },
	{ HV_X64_MSR_SINT0, HV_X64_MSR_SINT15, HV_ACCESS_SYNIC_REGS, 0, NULL, NULL, "SINTx" },
	{ HV_X64_MSR_STIMER0_CONFIG, HV_X64_MSR_STIMER3_COUNT, HV_ACCESS_SYNTHETIC_TIMER_REGS, 0, NULL, NULL, "STIMERx" },
	{ HV_X64_MSR_GUEST_IDLE, HV_X64_MSR_GUEST_IDLE, HV_ACCESS_GUEST_IDLE_REG,
	  HV_FEATURE_GUEST_IDLE_STATE, hv_msr_guest_idle_read, hv_msr_read_only, "GUEST_IDLE" },
	{ HV_X64_MSR_CRASH_P0, HV_X64_MSR_CRASH_CTL, 0, HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE,
	  hv_msr_crash_read, hv_msr_crash_write, "CRASH" },
	{ HV_X64_MSR_REENLIGHTENMENT_CONTROL, HV_X64_MSR_TSC_EMULATION_STATUS, HV_ACCESS_REENLIGHTENMENT_CONTROLS, 0, NULL, NULL, "REENLIGHTENMENT" },
};

/* Row + 1 of each MSR in 0x40000000-0x4000010F (0: no row), built once
 * at partition set-up: one load per lookup, whatever the row
 * (docs/performance.md item 3). */
#define SYNTH_INDEX_SPAN 0x110u
static u8 synth_index[SYNTH_INDEX_SPAN];

void hv_msr_build_index(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(synth_msrs); i++)
		for (u32 m = synth_msrs[i].first; m <= synth_msrs[i].last; m++)
			if (m - HV_X64_MSR_RANGE_FIRST < SYNTH_INDEX_SPAN)
				synth_index[m - HV_X64_MSR_RANGE_FIRST] = (u8)(i + 1);
}

static const struct synth_msr *find_synth(u32 msr)
{
	u32 off = msr - HV_X64_MSR_RANGE_FIRST;
	if (off >= SYNTH_INDEX_SPAN || !synth_index[off])
		return NULL;
	return &synth_msrs[synth_index[off] - 1];
}

/* The index covers every row, and rows do not overlap. */
bool hv_msr_table_sorted(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(synth_msrs); i++)
		if (synth_msrs[i].first > synth_msrs[i].last ||
		    synth_msrs[i].last - HV_X64_MSR_RANGE_FIRST >= SYNTH_INDEX_SPAN ||
		    (i && synth_msrs[i - 1].last >= synth_msrs[i].first))
			return false;
	return true;
}

static bool implemented(const struct synth_msr *m) { return m->read && m->write; }

u64 hv_msr_implemented_privileges(void)
{
	u64 have = 0, missing = 0;
	for (size_t i = 0; i < ARRAY_SIZE(synth_msrs); i++)
		*(implemented(&synth_msrs[i]) ? &have : &missing) |= synth_msrs[i].privilege;
	return have & ~missing;
}

u32 hv_msr_implemented_features_edx(void)
{
	u32 have = 0, missing = 0;
	for (size_t i = 0; i < ARRAY_SIZE(synth_msrs); i++)
		*(implemented(&synth_msrs[i]) ? &have : &missing) |= synth_msrs[i].feature_edx;
	return have & ~missing;
}

static bool is_synthetic(u32 msr) { return msr >= HV_X64_MSR_RANGE_FIRST && msr <= HV_X64_MSR_RANGE_LAST; }

/* The row for msr if the partition may use it, else NULL (#GP). */
static const struct synth_msr *allowed_in(const struct partition *p, u32 msr)
{
	const struct synth_msr *m = find_synth(msr);
	if (!m || !implemented(m))
		return NULL;
	if (m->privilege && !(p->privileges & m->privilege))
		return NULL;
	if (m->feature_edx && !(p->features_edx & m->feature_edx))
		return NULL;
	return m;
}

static const struct synth_msr *allowed(const struct vp *vp, u32 msr)
{
	return allowed_in(vp->part, msr);
}

/* The synthetic MSRs as VP registers (HvGetVpRegisters/HvSetVpRegisters,
 * TLFS 7.10): the same rows and gates as RDMSR/WRMSR. Nonzero: the MSR is
 * not available to the partition, or the access faulted. */
bool hv_synth_msr_available(const struct partition *p, u32 msr)
{
	return allowed_in(p, msr) != NULL;
}

int hv_synth_msr_read(struct vp *vp, u32 msr, u64 *val)
{
	const struct synth_msr *m = allowed(vp, msr);
	return m ? m->read(vp, msr, val) : 1;
}

int hv_synth_msr_write(struct vp *vp, u32 msr, u64 val)
{
	const struct synth_msr *m = allowed(vp, msr);
	if (!m)
		return 1;
	spin_lock(&vp->part->lock);
	int fault = m->write(vp, msr, val);
	spin_unlock(&vp->part->lock);
	return fault;
}

enum hv_action hv_handle_msr_read(struct vp *vp, struct hv_exit *e)
{
	u32 msr = e->u.msr.index;
	u64 val = 0;
	int fault;

	switch (vp->part->be->msr_read(vp, msr, &val)) {
	case BE_MSR_OK:
		fault = 0;
		break;
	case BE_MSR_GP:
		fault = 1;
		break;
	default:
		if (is_synthetic(msr)) {
			const struct synth_msr *m = allowed(vp, msr);
			fault = m ? m->read(vp, msr, &val) : 1;
		} else {
			fault = hv_native_rdmsr(msr, &val);
		}
	}
	if (fault) {
		LOGD("rdmsr %x: #GP", msr);
		hv_inject_gp(vp);
		return HV_ACT_INJECTED;
	}
	vp->gpr[GPR_RAX] = (u32)val;
	vp->gpr[GPR_RDX] = val >> 32;
	return HV_ACT_ADVANCE;
}

enum hv_action hv_handle_msr_write(struct vp *vp, struct hv_exit *e)
{
	u32 msr = e->u.msr.index;
	u64 val = e->u.msr.value;
	int fault;

	switch (vp->part->be->msr_write(vp, msr, val)) {
	case BE_MSR_OK:
		fault = 0;
		break;
	case BE_MSR_GP:
		fault = 1;
		break;
	default:
		if (is_synthetic(msr)) {
			/* Partition-wide state and the second-level tables
			 * (overlays) change under the partition lock. */
			const struct synth_msr *m = allowed(vp, msr);
			spin_lock(&vp->part->lock);
			fault = m ? m->write(vp, msr, val) : 1;
			spin_unlock(&vp->part->lock);
		} else if (msr == 0x830) { /* x2APIC ICR: INIT/SIPI (hv/smp.c) */
			fault = hv_x2apic_icr_write(vp, val);
		} else {
			fault = hv_native_wrmsr(msr, val);
		}
	}
	if (fault) {
		LOGD("wrmsr %x <- %lx: #GP", msr, (unsigned long)val);
		hv_inject_gp(vp);
		return HV_ACT_INJECTED;
	}
	return HV_ACT_ADVANCE;
}
