/*
 * msr.c - MSR exits. The backend first handles the MSRs it intercepts for
 * itself (EFER, VM_CR, ... in svm/). The hypervisor range 0x40000000-
 * 0x4FFFFFFF is a table of synthetic MSRs (TLFS appendix C), each row gated
 * by its privilege (TLFS 4.2.2) or feature bit (TLFS 2.4.4): without it, or
 * without a row, any access raises #GP. The rows are the modules' own
 * (HV_MSR_ROWS, include/hv/module.h), collected at start. Other MSRs that
 * exit (those outside the bitmap ranges) are passed to the hardware, with
 * a #GP to the guest if the hardware faults.
 *
 * The privileges the partition is offered are derived from the rows: a
 * privilege is advertised only when a registered row implements it.
 */
#include "msr.h"
#include "backend.h"
#include "hw.h"
#include "log.h"
#include "module.h"
#include "smp.h"
#include "apictimer.h"
#include "tlfs.h"
#include "x86.h"

extern const struct hv_msr_row __start_hv_msr_rows[], __stop_hv_msr_rows[];
/* The rows in use: the registered ones (host tests may index others). */
static const struct hv_msr_row *MSR_ROWS = __start_hv_msr_rows;
#define MSR_ROW_COUNT msr_row_count
static u32 msr_row_count;

/* Row + 1 of each MSR (0: no row) in the two windows the TLFS defines
 * synthetic MSRs in: 0x40000000-0x400001FF (appendix C) and the nested
 * SynIC MSRs 0x40001000-0x400010FF (TLFS 11.9.x). Built once at start:
 * one load per lookup, whatever the row (docs/performance.md item 3). */
#define MSR_WIN0_SPAN 0x200u
#define MSR_WIN1_FIRST 0x40001000u
#define MSR_WIN1_SPAN 0x100u
static u16 msr_index0[MSR_WIN0_SPAN];
static u16 msr_index1[MSR_WIN1_SPAN];

static u16 *index_slot(u32 msr)
{
	if (msr - HV_X64_MSR_RANGE_FIRST < MSR_WIN0_SPAN)
		return &msr_index0[msr - HV_X64_MSR_RANGE_FIRST];
	if (msr - MSR_WIN1_FIRST < MSR_WIN1_SPAN)
		return &msr_index1[msr - MSR_WIN1_FIRST];
	return NULL;
}

/* Every row within a window, with both handlers, not overlapping another
 * (in whatever order the linker put the modules' rows). */
int msr_table_init(void)
{
	return msr_rows_index(__start_hv_msr_rows, (u32)(__stop_hv_msr_rows - __start_hv_msr_rows));
}

int msr_rows_index(const struct hv_msr_row *rows, u32 n)
{
	MSR_ROWS = rows;
	msr_row_count = n;
	for (u32 m = 0; m < MSR_WIN0_SPAN; m++)
		msr_index0[m] = 0;
	for (u32 m = 0; m < MSR_WIN1_SPAN; m++)
		msr_index1[m] = 0;
	for (u32 i = 0; i < MSR_ROW_COUNT; i++) {
		const struct hv_msr_row *r = &MSR_ROWS[i];
		if (r->first > r->last || !index_slot(r->first) || !index_slot(r->last) ||
		    index_slot(r->last) - index_slot(r->first) != r->last - r->first || !r->read ||
		    !r->write) {
			LOGE("synthetic MSR row %s (%x-%x): outside the windows or without handlers",
			     r->name, r->first, r->last);
			return -1;
		}
		for (u32 m = r->first; m <= r->last; m++) {
			u16 *slot = index_slot(m);
			if (*slot) {
				LOGE("synthetic MSR %x: rows %s and %s overlap", m, MSR_ROWS[*slot - 1].name,
				     r->name);
				return -1;
			}
			*slot = (u16)(i + 1);
		}
	}
	return 0;
}

static const struct hv_msr_row *find_synth(u32 msr)
{
	u32 idx;
	if (msr - HV_X64_MSR_RANGE_FIRST < MSR_WIN0_SPAN)
		idx = msr_index0[msr - HV_X64_MSR_RANGE_FIRST];
	else if (msr - MSR_WIN1_FIRST < MSR_WIN1_SPAN)
		idx = msr_index1[msr - MSR_WIN1_FIRST];
	else
		return NULL;
	return idx ? &MSR_ROWS[idx - 1] : NULL;
}

/* A privilege or feature is offered when some row needs it: every row is
 * implemented (msr_table_init refuses one without handlers), so a TLFS MSR
 * nobody registered keeps its privilege unadvertised. */
u64 msr_privileges(void)
{
	u64 have = 0;
	for (u32 i = 0; i < MSR_ROW_COUNT; i++)
		have |= MSR_ROWS[i].privilege;
	return have;
}

u32 msr_features_edx(void)
{
	u32 have = 0;
	for (u32 i = 0; i < MSR_ROW_COUNT; i++)
		have |= MSR_ROWS[i].feature_edx;
	return have;
}

int msr_read_only(struct vp *vp, u32 msr, u64 val) { return 1; }

static bool is_synthetic(u32 msr) { return msr >= HV_X64_MSR_RANGE_FIRST && msr <= HV_X64_MSR_RANGE_LAST; }

/* The row for msr if the partition may use it, else NULL (#GP). */
static const struct hv_msr_row *allowed_in(const struct partition *p, u32 msr)
{
	const struct hv_msr_row *m = find_synth(msr);
	if (!m)
		return NULL;
	if (m->privilege && !(p->privileges & m->privilege))
		return NULL;
	if (m->feature_edx && !(p->features_edx & m->feature_edx))
		return NULL;
	return m;
}

static const struct hv_msr_row *allowed(const struct vp *vp, u32 msr)
{
	return allowed_in(vp->part, msr);
}

bool msr_synth_available(const struct partition *p, u32 msr)
{
	return allowed_in(p, msr) != NULL;
}

int msr_synth_read(struct vp *vp, u32 msr, u64 *val)
{
	const struct hv_msr_row *m = allowed(vp, msr);
	return m ? m->read(vp, msr, val) : 1;
}

int msr_synth_write(struct vp *vp, u32 msr, u64 val)
{
	const struct hv_msr_row *m = allowed(vp, msr);
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
			const struct hv_msr_row *m = allowed(vp, msr);
			fault = m ? m->read(vp, msr, &val) : 1;
		} else if (apictimer_is_msr(msr)) { /* intercepted while lent */
			fault = apictimer_msr_read(vp, msr, &val);
		} else {
			fault = hw_rdmsr(msr, &val);
		}
	}
	if (fault) {
		LOGD("rdmsr %x: #GP", msr);
		vp_inject_gp(vp);
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
	enum hv_action act;

	/* TLFS 15.13.4: a write VTL 1 intercepts goes there instead. */
	if (vp->part->vtl_write_icpt && !vp->cur->l2 &&
	    vp->part->vtl_write_icpt(vp, 1, msr, 0, val, 2, &act))
		return act;
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
			const struct hv_msr_row *m = allowed(vp, msr);
			spin_lock(&vp->part->lock);
			fault = m ? m->write(vp, msr, val) : 1;
			spin_unlock(&vp->part->lock);
		} else if (msr == X2APIC_MSR_ICR) { /* INIT/SIPI (hv/smp.c) */
			fault = smp_x2apic_icr_write(vp, val);
		} else if (apictimer_is_msr(msr)) { /* the APIC timer (hv/apictimer.c) */
			fault = apictimer_msr_write(vp, msr, val);
		} else {
			fault = hw_wrmsr(msr, val);
		}
	}
	if (fault) {
		LOGD("wrmsr %x <- %lx: #GP", msr, (unsigned long)val);
		vp_inject_gp(vp);
		return HV_ACT_INJECTED;
	}
	return HV_ACT_ADVANCE;
}

HV_EXIT_HANDLER(exit_msr_read, HV_EXIT_MSR_READ, hv_handle_msr_read);
HV_EXIT_HANDLER(exit_msr_write, HV_EXIT_MSR_WRITE, hv_handle_msr_write);
