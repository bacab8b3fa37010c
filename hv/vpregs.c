/*
 * vpregs.c - virtual processor registers and start (TLFS 7.10.1-7.10.3):
 * HvGetVpRegisters, HvSetVpRegisters and HvStartVirtualProcessor.
 *
 * Registers are rows of a table (name range, kind, validation),
 * not a switch on names. What each kind reaches:
 *  - GPRs: vp->gpr (RSP is mirrored into the VMCB/VMCS by the backend).
 *  - RIP, RFLAGS, CR0/2/3/4, DR7, segments, GDTR/IDTR, EFER, PAT, the
 *    syscall/sysenter MSRs, KernelGsBase: through the backend's
 *    vp_get_state/vp_set_state (struct guest_boot_state). A Set reads the
 *    state, changes one register, checks it and writes it back; pending
 *    events, interruptibility and the TLB are left alone (TLFS 7.10.1:
 *    "side-effects of modifying a register are not performed").
 *  - CR8: the task priority of the VP's local APIC (TPR[7:4]); the guest
 *    owns its APIC, neither backend shadows the TPR.
 *  - ApicBase (read-only here), the synthetic registers (HvRegisterGuestOsId,
 *    Hypercall, VpIndex, VpRuntime, TimeRefCount, ReferenceTsc,
 *    VpAssistPage, GuestCrashP0-P4/Ctl, the two frequencies) through the
 *    synthetic MSR table (hv/msr.c: msr_synth_read/write), so the
 *    same privilege and feature gates and the partition lock apply. The CPUID-leaf registers (HypervisorVersion,
 *    PrivilegesAndFeaturesInfo ...) give the 128-bit leaf as the VP sees it.
 * Every access runs on the target VP's processor in its host context
 * (xcall_run), where its VMCS/VMCB, its CPU-held MSRs and its APIC are.
 * Each element is one such visit: a list is not an atomic snapshot of a VP
 * that runs between elements.
 *
 * Statuses: an unknown name, a read-only register written, a reserved bit
 * set or a value wider than the register: HV_STATUS_INVALID_PARAMETER. A
 * well-formed value the VP cannot take (non-canonical address, segment
 * attributes the mode forbids, a change of the paging mode: CR0.PE/PG/NE/
 * CD/NW/ET, CR4.PAE/LA57/PCIDE or a CR4 bit the CPU may lack, EFER bits
 * other than SCE/NXE): HV_STATUS_INVALID_REGISTER_VALUE. Segment registers
 * are set only on a VP in protected or long mode, and the caller cannot set
 * its own RIP (the call's completion moves it): HV_STATUS_INVALID_VP_STATE.
 *
 * HvStartVirtualProcessor: the VPs are the firmware's processors and all of
 * them run from the start, so "a VP that has not started" is a VP in
 * wait-for-SIPI (after an INIT, hv/smp.c). Starting one loads the
 * HV_INITIAL_VP_CONTEXT as an INIT+SIPI would load the real-mode state
 * (vp_load_state: pending events cleared, TLB flushed), on the target's
 * processor, and ends its wait; the other GPRs are zero, DR6/DR7 take
 * their INIT values and the MSRs the context lacks keep their values. The
 * context must describe protected or long mode, consistent with itself
 * (the checks of cpu_state_check, hv/cpu_state.c), else HV_STATUS_INVALID_REGISTER_VALUE.
 * A running VP, or the caller itself: HV_STATUS_INVALID_VP_STATE.
 */
#include "hypercall.h"
#include "vpregs.h"
#include "backend.h"
#include "cpuid.h"
#include "cpu_state.h"
#include "hw.h"
#include "msr.h"
#include "xcall.h"
#include "walk.h"
#include "boot_info.h"
#include "log.h"
#include "tlfs.h"
#include "x86.h"

#define rd64 hc_rd64
#define rd32 hc_rd32

enum reg_kind {
	RK_GPR,    /* vp->gpr[arg] */
	RK_FIELD,  /* u64 at offset arg of guest_boot_state */
	RK_RFLAGS,
	RK_CR0,
	RK_CR3,
	RK_CR4,
	RK_CR8,
	RK_EFER,
	RK_SEG,    /* seg[arg] */
	RK_TABLE,  /* arg 0: IDTR, 1: GDTR */
	RK_APIC_BASE,
	RK_SYNTH,  /* synthetic MSR arg */
	RK_CPUID,  /* CPUID leaf arg, 128 bits */
	RK_FN,     /* a module's get/set (struct hv_vpreg_row) */
};

/* How a RK_FIELD value is checked. */
enum reg_check { V_ANY, V_RIP, V_CANON, V_LOW32, V_PAT, V_DR7 };

struct vp_reg {
	u32 first, last; /* register names */
	u8 kind;
	u8 check;
	u32 arg;
	bool read_only;  /* RK_SYNTH: Set is INVALID_PARAMETER */
	const char *name;
	const struct hv_vpreg_fn_row *fn; /* RK_FN */
};

#define GS_OFF(f) ((u32)offsetof(struct guest_boot_state, f))
#define ARCH(n, k, c, a, nm) { n, n, k, c, a, false, nm, NULL }

/* TLFS 7.8.2 register names. */
static const struct vp_reg vp_regs[] = {
	{ 0x00020000, 0x0002000f, RK_GPR, V_ANY, 0, false, "Rax-R15", NULL },
	ARCH(0x00020010, RK_FIELD, V_RIP, GS_OFF(rip), "Rip"),
	ARCH(0x00020011, RK_RFLAGS, V_ANY, 0, "Rflags"),
	ARCH(0x00040000, RK_CR0, V_ANY, 0, "Cr0"),
	ARCH(0x00040001, RK_FIELD, V_ANY, GS_OFF(cr2), "Cr2"),
	ARCH(0x00040002, RK_CR3, V_ANY, 0, "Cr3"),
	ARCH(0x00040003, RK_CR4, V_ANY, 0, "Cr4"),
	ARCH(0x00040004, RK_CR8, V_ANY, 0, "Cr8"),
	ARCH(0x00050005, RK_FIELD, V_DR7, GS_OFF(dr7), "Dr7"),
	{ 0x00060000, 0x00060007, RK_SEG, V_ANY, 0, false, "Es-Tr", NULL },
	{ 0x00070000, 0x00070001, RK_TABLE, V_ANY, 0, false, "Idtr/Gdtr", NULL },
	ARCH(0x00080001, RK_EFER, V_ANY, 0, "Efer"),
	ARCH(0x00080002, RK_FIELD, V_CANON, GS_OFF(kernel_gs_base), "KernelGsBase"),
	ARCH(0x00080003, RK_APIC_BASE, V_ANY, 0, "ApicBase"),
	ARCH(0x00080004, RK_FIELD, V_PAT, GS_OFF(pat), "Pat"),
	ARCH(0x00080005, RK_FIELD, V_LOW32, GS_OFF(sysenter_cs), "SysenterCs"),
	ARCH(0x00080006, RK_FIELD, V_CANON, GS_OFF(sysenter_eip), "SysenterRip"),
	ARCH(0x00080007, RK_FIELD, V_CANON, GS_OFF(sysenter_esp), "SysenterRsp"),
	ARCH(0x00080008, RK_FIELD, V_ANY, GS_OFF(star), "Star"),
	ARCH(0x00080009, RK_FIELD, V_CANON, GS_OFF(lstar), "Lstar"),
	ARCH(0x0008000a, RK_FIELD, V_CANON, GS_OFF(cstar), "Cstar"),
	ARCH(0x0008000b, RK_FIELD, V_LOW32, GS_OFF(sfmask), "Sfmask"),
	/* 128-bit CPUID leaves 0x40000002-0x40000006. */
	ARCH(0x00000100, RK_CPUID, V_ANY, 0x40000002u, "HypervisorVersion"),
	{ 0x00000200, 0x00000203, RK_CPUID, V_ANY, 0x40000003u, false, "FeaturesInfo", NULL },
};

extern const struct hv_vpreg_row __start_hv_vpreg_rows[], __stop_hv_vpreg_rows[];
extern const struct hv_vpreg_fn_row __start_hv_vpreg_fn_rows[], __stop_hv_vpreg_fn_rows[];

/* The architectural rows above, then the modules' registered synthetic
 * registers (HV_VPREG_ROWS, include/hv/vpregs.h), copied into *row. */
static const struct vp_reg *find_reg(const struct partition *p, u32 name, struct vp_reg *row)
{
	const struct vp_reg *r = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(vp_regs) && !r; i++)
		if (name >= vp_regs[i].first && name <= vp_regs[i].last)
			r = &vp_regs[i];
	for (const struct hv_vpreg_row *m = __start_hv_vpreg_rows; m < __stop_hv_vpreg_rows && !r; m++)
		if (name == m->name) {
			*row = (struct vp_reg){ name, name, RK_SYNTH, V_ANY, m->msr, m->read_only, m->label, NULL };
			r = row;
		}
	for (const struct hv_vpreg_fn_row *f = __start_hv_vpreg_fn_rows; f < __stop_hv_vpreg_fn_rows && !r; f++)
		if (name == f->name) {
			*row = (struct vp_reg){ name, name, RK_FN, V_ANY, 0, !f->set, f->label, f };
			r = row;
		}
	if (r && r->kind == RK_SYNTH && !msr_synth_available(p, r->arg))
		return NULL; /* not available to this partition */
	return r;
}

/* No register name twice, none registered by a module that the
 * architectural table has (checked at start). */
int vpregs_table_init(void)
{
	for (const struct hv_vpreg_row *m = __start_hv_vpreg_rows; m < __stop_hv_vpreg_rows; m++) {
		bool dup = false;
		for (size_t i = 0; i < ARRAY_SIZE(vp_regs); i++)
			dup |= m->name >= vp_regs[i].first && m->name <= vp_regs[i].last;
		for (const struct hv_vpreg_row *o = __start_hv_vpreg_rows; o < m; o++)
			dup |= o->name == m->name;
		/* A zero row (padding between modules' arrays) fails here too. */
		for (const struct hv_vpreg_fn_row *f = __start_hv_vpreg_fn_rows; f < __stop_hv_vpreg_fn_rows; f++)
			dup |= f->name == m->name;
		if (dup || !m->label || m->msr < HV_X64_MSR_RANGE_FIRST || m->msr > HV_X64_MSR_RANGE_LAST) {
			LOGE("VP register row %s (%x): registered twice or not a synthetic MSR",
			     m->label ? m->label : "?", m->name);
			return -1;
		}
	}
	for (const struct hv_vpreg_fn_row *f = __start_hv_vpreg_fn_rows; f < __stop_hv_vpreg_fn_rows; f++) {
		bool dup = false;
		for (size_t i = 0; i < ARRAY_SIZE(vp_regs); i++)
			dup |= f->name >= vp_regs[i].first && f->name <= vp_regs[i].last;
		for (const struct hv_vpreg_fn_row *o = __start_hv_vpreg_fn_rows; o < f; o++)
			dup |= o->name == f->name;
		if (dup || !f->label || !f->get) {
			LOGE("VP register row %s (%x): registered twice or without get",
			     f->label ? f->label : "?", f->name);
			return -1;
		}
	}
	return 0;
}

/* ---- one register on the target's processor --------------------------- */

struct reg_op {
	const struct vp_reg *r;
	struct vp_reg row; /* r, when a module registered the register */
	u32 name;
	bool write;
	bool self;   /* the target is the caller, in the VTL it runs */
	u8 vtl;      /* the VTL whose context is read or written */
	u64 v[2];    /* the value (low, high) */
	u16 status;
};

static u16 get_one(struct vp *t, struct reg_op *op)
{
	const struct vp_reg *r = op->r;
	const struct backend *be = t->part->be;
	u32 idx = op->name - r->first;
	struct guest_boot_state g;
	op->v[0] = op->v[1] = 0;
	switch (r->kind) {
	case RK_GPR:
		op->v[0] = t->gpr[idx];
		return HV_STATUS_SUCCESS;
	case RK_CR8:
		op->v[0] = (hw_apic_read(0x80) >> 4) & 0xf;
		return HV_STATUS_SUCCESS;
	case RK_APIC_BASE:
		if (hw_rdmsr(MSR_IA32_APIC_BASE, &op->v[0]))
			op->v[0] = 0;
		return HV_STATUS_SUCCESS;
	case RK_SYNTH:
		return msr_synth_read(t, r->arg, &op->v[0]) ? HV_STATUS_INVALID_PARAMETER
								: HV_STATUS_SUCCESS;
	case RK_FN:
		return r->fn->get(t, op->v);
	case RK_CPUID: {
		u32 q[4];
		hw_cpuid(r->arg + idx, 0, q);
		cpuid_adjust(t->part, r->arg + idx, 0, be->read_reg(t, GREG_CR4), q);
		op->v[0] = q[0] | ((u64)q[1] << 32);
		op->v[1] = q[2] | ((u64)q[3] << 32);
		return HV_STATUS_SUCCESS;
	}
	default:
		break;
	}
	be->vp_get_state(t, &g);
	switch (r->kind) {
	case RK_FIELD:
		op->v[0] = *(const u64 *)((const u8 *)&g + r->arg);
		break;
	case RK_RFLAGS: op->v[0] = g.rflags; break;
	case RK_CR0: op->v[0] = g.cr0; break;
	case RK_CR3: op->v[0] = g.cr3; break;
	case RK_CR4: op->v[0] = g.cr4; break;
	case RK_EFER: op->v[0] = g.efer; break;
	case RK_SEG: {
		/* HV_X64_SEGMENT_REGISTER: Base, Limit, Selector, Attributes. */
		const struct seg_state *s = &g.seg[idx];
		op->v[0] = s->base;
		op->v[1] = s->limit | ((u64)s->sel << 32) | ((u64)s->attr << 48);
		break;
	}
	case RK_TABLE: {
		/* HV_X64_TABLE_REGISTER: Pad[3], Limit, Base. */
		const struct dtr_state *d = idx ? &g.gdtr : &g.idtr;
		op->v[0] = (u64)d->limit << 48;
		op->v[1] = d->base;
		break;
	}
	}
	return HV_STATUS_SUCCESS;
}

static u16 set_state_reg(struct vp *t, struct reg_op *op, struct guest_boot_state *g)
{
	const struct vp_reg *r = op->r;
	const struct partition *p = t->part;
	u32 idx = op->name - r->first;
	u64 v = op->v[0];
	bool lma = g->efer & EFER_LMA, la57 = g->cr4 & CR4_LA57;

	if (r->kind != RK_SEG && r->kind != RK_TABLE && op->v[1])
		return HV_STATUS_INVALID_PARAMETER; /* beyond a 64-bit register */
	switch (r->kind) {
	case RK_FIELD:
		switch (r->check) {
		case V_RIP:
			if (op->self)
				return HV_STATUS_INVALID_VP_STATE;
			if (!cpu_state_rip_ok(g, v))
				return HV_STATUS_INVALID_REGISTER_VALUE;
			break;
		case V_CANON:
			if (!walk_canonical(v, la57))
				return HV_STATUS_INVALID_REGISTER_VALUE;
			break;
		case V_LOW32:
			if (v >> 32)
				return HV_STATUS_INVALID_PARAMETER;
			break;
		case V_PAT:
			if (!cpu_state_pat_valid(v))
				return HV_STATUS_INVALID_PARAMETER;
			break;
		case V_DR7:
			if ((v & DR7_RSVD) || !(v & BIT(10)))
				return HV_STATUS_INVALID_PARAMETER;
			break;
		}
		*(u64 *)((u8 *)g + r->arg) = v;
		return HV_STATUS_SUCCESS;
	case RK_RFLAGS:
		if ((v & RFLAGS_RSVD) || !(v & RFLAGS_FIXED1))
			return HV_STATUS_INVALID_PARAMETER;
		if ((v & RFLAGS_VM) && lma)
			return HV_STATUS_INVALID_REGISTER_VALUE;
		g->rflags = v;
		return HV_STATUS_SUCCESS;
	case RK_CR0:
		if (v & ~CR0_DEFINED)
			return HV_STATUS_INVALID_PARAMETER;
		if ((v ^ g->cr0) & ~CR0_FREE)
			return HV_STATUS_INVALID_REGISTER_VALUE;
		g->cr0 = v;
		return HV_STATUS_SUCCESS;
	case RK_CR3:
		if (!cpu_state_cr3_ok(p, v, lma))
			return HV_STATUS_INVALID_PARAMETER;
		g->cr3 = v;
		return HV_STATUS_SUCCESS;
	case RK_CR4:
		if ((v & ~CR4_DEFINED) || (v & CR4_VMXE))
			return HV_STATUS_INVALID_PARAMETER;
		if (((v ^ g->cr4) & (CR4_MODE | CR4_SMXE)) || (v & ~(g->cr4 | CR4_BASE)))
			return HV_STATUS_INVALID_REGISTER_VALUE;
		g->cr4 = v;
		return HV_STATUS_SUCCESS;
	case RK_EFER:
		if (v & ~EFER_DEFINED)
			return HV_STATUS_INVALID_PARAMETER;
		if (((v ^ g->efer) & ~(EFER_SCE | EFER_NXE)) || ((v & EFER_NXE) && !cpu_state_nx_supported()))
			return HV_STATUS_INVALID_REGISTER_VALUE;
		g->efer = v;
		return HV_STATUS_SUCCESS;
	case RK_SEG: {
		if (!(g->cr0 & CR0_PE) || (g->rflags & RFLAGS_VM))
			return HV_STATUS_INVALID_VP_STATE;
		struct seg_state s = { (u16)(op->v[1] >> 32), (u16)(op->v[1] >> 48), (u32)op->v[1],
				       op->v[0] };
		u16 st = cpu_state_seg_check((int)idx, &s, lma, la57);
		if (st)
			return st;
		struct seg_state old = g->seg[idx];
		g->seg[idx] = s;
		if (!cpu_state_cs_ss_consistent(g) || (idx == SEG_CS && !cpu_state_rip_ok(g, g->rip))) {
			g->seg[idx] = old;
			return HV_STATUS_INVALID_REGISTER_VALUE;
		}
		return HV_STATUS_SUCCESS;
	}
	case RK_TABLE: {
		u64 base = op->v[1];
		if (!walk_canonical(base, la57))
			return HV_STATUS_INVALID_REGISTER_VALUE;
		struct dtr_state *d = idx ? &g->gdtr : &g->idtr;
		d->base = base;
		d->limit = (u16)(op->v[0] >> 48);
		return HV_STATUS_SUCCESS;
	}
	}
	return HV_STATUS_INVALID_PARAMETER;
}

static u16 set_one(struct vp *t, struct reg_op *op)
{
	const struct vp_reg *r = op->r;
	const struct backend *be = t->part->be;
	u32 idx = op->name - r->first;
	u64 v = op->v[0];

	switch (r->kind) {
	case RK_GPR:
		if (op->v[1])
			return HV_STATUS_INVALID_PARAMETER;
		t->gpr[idx] = v;
		return HV_STATUS_SUCCESS;
	case RK_CR8:
		if (op->v[1] || v > 15)
			return HV_STATUS_INVALID_PARAMETER;
		hw_apic_write(0x80, (u32)v << 4);
		return HV_STATUS_SUCCESS;
	case RK_APIC_BASE:
	case RK_CPUID:
		return HV_STATUS_INVALID_PARAMETER; /* read-only */
	case RK_FN:
		return r->read_only ? HV_STATUS_INVALID_PARAMETER : r->fn->set(t, op->v);
	case RK_SYNTH: {
		if (r->read_only || op->v[1])
			return HV_STATUS_INVALID_PARAMETER;
		return msr_synth_write(t, r->arg, v) ? HV_STATUS_INVALID_REGISTER_VALUE
							: HV_STATUS_SUCCESS;
	}
	default:
		break;
	}
	struct guest_boot_state g;
	be->vp_get_state(t, &g);
	u16 st = set_state_reg(t, op, &g);
	if (st == HV_STATUS_SUCCESS)
		be->vp_set_state(t, &g);
	return st;
}

/* On the target's processor. A VTL other than the one it runs (a higher
 * VTL reaching a lower VTL's private state, TLFS 15.11) is made current
 * for the access and the running one restored: the backend ops act on
 * the current context. */
static void reg_op_fn(struct vp *t, void *arg)
{
	struct reg_op *op = arg;
	struct vp_ctx *run = t->cur;
	const struct backend *be = t->part->be;
	if (op->vtl != run->vtl)
		be->ctx_switch(t, &t->ctx[op->vtl]);
	op->status = op->write ? set_one(t, op) : get_one(t, op);
	if (op->vtl != run->vtl)
		be->ctx_switch(t, run);
}

/* ---- the hypercalls --------------------------------------------------- */

/* Header (TLFS 7.10.1-7.10.2): PartitionId 8, VpIndex 4, TargetVtl 1
 * (HV_INPUT_VTL, TLFS 15.15.1), RsvdZ 3. The target goes to c->target,
 * the VTL to c->scratch[0]. A VTL the target VP has not enabled:
 * HV_STATUS_INVALID_VTL_STATE. */
static u16 regs_header(struct hc_ctx *c)
{
	const u8 *in = c->in;
	struct vp *t = NULL;
	u8 vtl = 0;
	u16 st = hc_target_partition(rd64(in));
	if (st)
		return st;
	if ((st = hc_input_vtl(c->vp, in[12], &vtl)) != HV_STATUS_SUCCESS)
		return st;
	if (in[13] || in[14] || in[15])
		return HV_STATUS_INVALID_PARAMETER;
	if ((st = hc_target_vp(c->vp, rd32(in + 8), &t)) != HV_STATUS_SUCCESS)
		return st;
	if (!t->ctx[vtl].live)
		return HV_STATUS_INVALID_VTL_STATE;
	c->target = t;
	c->scratch[0] = vtl;
	return HV_STATUS_SUCCESS;
}

static u16 hc_vp_regs_check(struct hc_ctx *c) { return regs_header(c); }

static u16 do_op(struct hc_ctx *c, struct reg_op *op)
{
	struct vp *t = c->target;
	op->r = find_reg(c->vp->part, op->name, &op->row);
	if (!op->r)
		return HV_STATUS_INVALID_PARAMETER;
	op->vtl = (u8)c->scratch[0];
	op->self = t == c->vp && op->vtl == c->vp->cur->vtl;
	op->status = HV_STATUS_INVALID_VP_STATE; /* a parked target never answers */
	xcall_run(c->vp, t, reg_op_fn, op);
	return op->status;
}

static u16 hc_get_vp_regs_elem(struct hc_ctx *c, u32 i)
{
	struct reg_op op = { .name = rd32(c->in + 16 + 4ull * i), .write = false };
	u16 st = do_op(c, &op);
	if (st == HV_STATUS_SUCCESS) {
		*(u64 *)(c->out + 16ull * i) = op.v[0];
		*(u64 *)(c->out + 16ull * i + 8) = op.v[1];
	}
	return st;
}

static u16 hc_set_vp_regs_elem(struct hc_ctx *c, u32 i)
{
	const u8 *e = c->in + 16 + 32ull * i;
	struct reg_op op = { .name = rd32(e), .write = true, .v = { rd64(e + 16), rd64(e + 24) } };
	return do_op(c, &op);
}

/* ---- HvStartVirtualProcessor (TLFS 7.10.3) ----------------------------- */

struct start_op {
	const u8 *ctx; /* HV_INITIAL_VP_CONTEXT */
	u16 status;
};

static void start_fn(struct vp *t, void *arg)
{
	struct start_op *op = arg;
	const u8 *x = op->ctx;
	const struct backend *be = t->part->be;
	if (!t->wait_sipi) {
		op->status = HV_STATUS_INVALID_VP_STATE;
		return;
	}
	struct guest_boot_state g;
	be->vp_get_state(t, &g); /* MSRs the context lacks keep their values */
	cpu_state_parse_initial_context(x, &g);
	g.dr6 = 0xffff0ff0;
	g.dr7 = 0x400;
	for (int i = 0; i < GPR__COUNT; i++)
		t->gpr[i] = 0;
	be->vp_load_state(t, &g);
	t->gpr[GPR_RSP] = g.rsp;
	t->gpr[GPR_RAX] = 0;
	__atomic_store_n(&t->sipi, 0, __ATOMIC_SEQ_CST);
	t->wait_sipi = false;
	t->sipi_count++;
	LOGD("VP %u started at %lx (HvStartVirtualProcessor)", t->index, (unsigned long)g.rip);
	op->status = HV_STATUS_SUCCESS;
}

/* Input: PartitionId 8, VpIndex 4, TargetVtl 1, padding 3, then the
 * HV_INITIAL_VP_CONTEXT (224 bytes) at 16. */
static u16 hc_start_vp(struct hc_ctx *c)
{
	const u8 *in = c->in;
	struct vp *self = c->vp, *t = NULL;
	const struct backend *be = self->part->be;
	u16 st = hc_target_partition(rd64(in));
	if (st)
		return st;
	if ((st = hc_target_vtl(in[12])) != HV_STATUS_SUCCESS)
		return st;
	if ((st = hc_target_vp(self, rd32(in + 8), &t)) != HV_STATUS_SUCCESS)
		return st;

	/* The context alone is checked here; the MSRs it lacks don't matter. */
	const u8 *x = in + 16;
	struct guest_boot_state g = { 0 };
	cpu_state_parse_initial_context(x, &g);
	st = cpu_state_check(self->part, &g, be->read_reg(self, GREG_CR4));
	if (st)
		return st;
	if (t == self)
		return HV_STATUS_INVALID_VP_STATE;
	struct start_op op = { x, HV_STATUS_INVALID_VP_STATE };
	xcall_run(self, t, start_fn, &op);
	return op.status;
}

/* TLFS 7.10.1-7.10.3 */
HV_HCALL_ROWS(vpregs_hcalls) = {
	{ HVCALL_GET_VP_REGISTERS, HC_REP | HC_SLOW | HC_FAST, HV_ACCESS_VP_REGISTERS, 16, 4, 0, 16,
	  NULL, hc_vp_regs_check, hc_get_vp_regs_elem, "HvGetVpRegisters", NULL, NULL },
	{ HVCALL_SET_VP_REGISTERS, HC_REP | HC_SLOW | HC_FAST, HV_ACCESS_VP_REGISTERS, 16, 32, 0, 0,
	  NULL, hc_vp_regs_check, hc_set_vp_regs_elem, "HvSetVpRegisters", NULL, NULL },
	{ HVCALL_START_VIRTUAL_PROCESSOR, HC_SLOW, HV_START_VIRTUAL_PROCESSOR, 240, 0, 0, 0,
	  hc_start_vp, NULL, NULL, "HvStartVirtualProcessor", NULL, NULL },
};
