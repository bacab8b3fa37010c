/*
 * regicpt.c - secure register intercepts (TLFS 15.13.4):
 * HvX64RegisterCrInterceptControl and its mask registers, set by VTL 1 on
 * a VP; VTL 0's writes they name never complete: the VP enters VTL 1 with
 * an intercept message in SINT0's slot (vsm_secure_intercept, prot.c):
 *   - CR0 and CR4 writes (MOV, LMSW, CLTS) that change a bit of the mask
 *     register (HvX64RegisterCrInterceptCr0Mask/Cr4Mask; 0: every bit):
 *     HvMessageTypeRegisterIntercept with the register name and the value
 *     the instruction would load. SVM hands every CR0/CR4 write to hv/cr.c
 *     already; VMX sends those that change a guarded bit (be->cr_guard:
 *     the bits join the VMCS guest/host mask);
 *   - the MSR writes the register defines (LSTAR, STAR, CSTAR, EFER,
 *     SYSENTER_CS/EIP/ESP, SFMASK, TSC_AUX): HvMessageTypeMsrIntercept
 *     with the MSR and EDX:EAX, on both backends (an MSR write exit
 *     requested in VTL 0's context, be->msr_intercept).
 * VTL 1 then performs the write (HvSetVpRegisters with input VTL 0) or
 * not, moves VTL 0's RIP past the instruction (its length is in the
 * message) and returns. The other bits (reads, XCR0, MISC_ENABLE, the APIC
 * base, descriptor tables, SGX) are not offered: setting them is
 * INVALID_PARAMETER.
 */
#include "vsm.h"
#include "backend.h"
#include "hv_abi.h"
#include "module.h"
#include "synic.h"
#include "tlfs.h"
#include "vpregs.h"
#include "x86.h"

#define R_CR_ICPT_CONTROL 0x000E0000u
#define R_CR_ICPT_CR0_MASK 0x000E0001u
#define R_CR_ICPT_CR4_MASK 0x000E0002u
#define R_CR0 0x00040000u /* HvX64RegisterCr0 */
#define R_CR4 0x00040003u /* HvX64RegisterCr4 */

#define MSG_REGISTER_INTERCEPT 0x80010006u
#define MSG_MSR_INTERCEPT 0x80010001u

#define C_CR0 BIT(0)
#define C_CR4 BIT(1)

/* The MSR-write bits of HV_REGISTER_CR_INTERCEPT_CONTROL (15.13.4). */
static const struct {
	u64 bit;
	u32 msr;
} msr_bits[] = {
	{ BIT(6), 0xc0000082u },  /* MsrLstarWrite */
	{ BIT(8), 0xc0000081u },  /* MsrStarWrite */
	{ BIT(10), 0xc0000083u }, /* MsrCstarWrite */
	{ BIT(14), 0xc0000080u }, /* MsrEferWrite */
	{ BIT(19), 0x174u },      /* MsrSysenterCsWrite */
	{ BIT(20), 0x176u },      /* MsrSysenterEipWrite */
	{ BIT(21), 0x175u },      /* MsrSysenterEspWrite */
	{ BIT(22), 0xc0000084u }, /* MsrSfmaskWrite */
	{ BIT(23), 0xc0000103u }, /* MsrTscAuxWrite */
};
#define N_MSR_BITS (sizeof(msr_bits) / sizeof(msr_bits[0]))

static struct {
	u64 ctl, cr0_mask, cr4_mask;
} ri[HV_MAX_VPS];

static bool vsm_write_icpt(struct vp *vp, int kind, u32 id, u64 old, u64 value, u8 len,
			   enum hv_action *act);

static u64 offered_bits(const struct partition *p)
{
	u64 b = 0;
	for (u32 i = 0; i < N_MSR_BITS; i++)
		b |= msr_bits[i].bit;
	/* CR writes reach the Hv#1 layer where the backend hands them all
	 * to hv/cr.c (cr_write: SVM) or the guarded ones (cr_guard: VMX). */
	if (p->be->cr_write || p->be->cr_guard)
		b |= C_CR0 | C_CR4;
	return b;
}

/* The registers are VTL 1's (the VTL that is current while the FN rows
 * run); VTL 0 has none (INVALID_PARAMETER). */
static bool reg_ok(const struct vp *t)
{
	return (t->part->privileges & HV_ACCESS_VSM) && t->cur->vtl >= 1 && t->index < HV_MAX_VPS;
}

/* The bits the backend must send to hv/cr.c (cr_guard, VMX), in the
 * current context (VTL 0's): what vsm_write_icpt below intercepts. */
static void guard(struct vp *t)
{
	const struct backend *be = t->part->be;
	if (!be->cr_guard)
		return;
	u64 ctl = ri[t->index].ctl, m0 = ri[t->index].cr0_mask, m4 = ri[t->index].cr4_mask;
	be->cr_guard(t, 0, (ctl & C_CR0) ? (m0 ? m0 : 0xffffffffull) : 0);
	be->cr_guard(t, 4, (ctl & C_CR4) ? (m4 ? m4 : 0xffffffffull) : 0);
}

static u16 ctl_get(struct vp *t, u64 v[2])
{
	if (!reg_ok(t))
		return HV_STATUS_INVALID_PARAMETER;
	v[0] = ri[t->index].ctl;
	return HV_STATUS_SUCCESS;
}

/* The MSR write exits of VTL 0's context follow the bits: requested in
 * that context (made current for the call, then VTL 1's again). */
static u16 ctl_set(struct vp *t, const u64 v[2])
{
	if (!reg_ok(t) || (v[0] & ~offered_bits(t->part)))
		return HV_STATUS_INVALID_PARAMETER;
	const struct backend *be = t->part->be;
	u64 old = ri[t->index].ctl, val = v[0];
	struct vp_ctx *cur = t->cur;
	be->ctx_switch(t, &t->ctx[0]);
	for (u32 i = 0; i < N_MSR_BITS; i++)
		if ((old ^ val) & msr_bits[i].bit)
			be->msr_intercept(t, msr_bits[i].msr, BE_INTERCEPT_WRITE, val & msr_bits[i].bit);
	ri[t->index].ctl = val;
	guard(t);
	/* The hook is armed only while some VP has intercepts: the MSR and
	 * CR write exits pay nothing otherwise. */
	bool any = false;
	for (u32 i = 0; i < HV_MAX_VPS; i++)
		any |= ri[i].ctl != 0;
	t->part->vtl_write_icpt = any ? vsm_write_icpt : NULL;
	be->ctx_switch(t, cur);
	return HV_STATUS_SUCCESS;
}

/* After a mask change: VTL 0's context current for the guard. */
static void guard_vtl0(struct vp *t)
{
	const struct backend *be = t->part->be;
	struct vp_ctx *cur = t->cur;
	be->ctx_switch(t, &t->ctx[0]);
	guard(t);
	be->ctx_switch(t, cur);
}

static u16 cr0_mask_get(struct vp *t, u64 v[2])
{
	if (!reg_ok(t))
		return HV_STATUS_INVALID_PARAMETER;
	v[0] = ri[t->index].cr0_mask;
	return HV_STATUS_SUCCESS;
}
static u16 cr0_mask_set(struct vp *t, const u64 v[2])
{
	if (!reg_ok(t))
		return HV_STATUS_INVALID_PARAMETER;
	ri[t->index].cr0_mask = v[0];
	guard_vtl0(t);
	return HV_STATUS_SUCCESS;
}
static u16 cr4_mask_get(struct vp *t, u64 v[2])
{
	if (!reg_ok(t))
		return HV_STATUS_INVALID_PARAMETER;
	v[0] = ri[t->index].cr4_mask;
	return HV_STATUS_SUCCESS;
}
static u16 cr4_mask_set(struct vp *t, const u64 v[2])
{
	if (!reg_ok(t))
		return HV_STATUS_INVALID_PARAMETER;
	ri[t->index].cr4_mask = v[0];
	guard_vtl0(t);
	return HV_STATUS_SUCCESS;
}

HV_VPREG_FN_ROWS(vsm_regicpt_vpregs) = {
	{ R_CR_ICPT_CONTROL, "CrInterceptControl", ctl_get, ctl_set },
	{ R_CR_ICPT_CR0_MASK, "CrInterceptCr0Mask", cr0_mask_get, cr0_mask_set },
	{ R_CR_ICPT_CR4_MASK, "CrInterceptCr4Mask", cr4_mask_get, cr4_mask_set },
};

/* HV_X64_REGISTER_INTERCEPT_MESSAGE and HV_X64_MSR_INTERCEPT_MESSAGE
 * payloads (Hyper-V's layouts; TLFS 11.10.2 names the types), 64 bytes. */
struct reg_msg {
	struct vsm_icpt_hdr h;
	u8 flags; /* IsMemoryOp 0 */
	u8 rsvd8;
	u16 rsvd16;
	u32 name;
	u64 value[2];
};
struct msr_msg {
	struct vsm_icpt_hdr h;
	u32 msr, rsvd;
	u64 rdx, rax;
};
_Static_assert(sizeof(struct reg_msg) == 64 && sizeof(struct msr_msg) == 64, "payloads");

/* partition.vtl_write_icpt: kind 0 a CR write (id 0 or 4, value the new
 * CR, len the instruction's length), kind 1 an MSR write (id the MSR). */
static bool vsm_write_icpt(struct vp *vp, int kind, u32 id, u64 old, u64 value, u8 len,
			   enum hv_action *act)
{
	if (vp->cur->vtl != 0 || vp->index >= HV_MAX_VPS || !vp->ctx[1].live)
		return false;
	u64 ctl = ri[vp->index].ctl;
	if (!ctl)
		return false;
	struct hv_message m = { .h = { .payload_size = 64 } };
	if (kind == 0) {
		u64 mask = id == 0 ? ri[vp->index].cr0_mask : ri[vp->index].cr4_mask;
		if (!(ctl & (id == 0 ? C_CR0 : C_CR4)) || !((old ^ value) & (mask ? mask : ~0ull)))
			return false;
		struct reg_msg *q = (struct reg_msg *)m.payload;
		m.h.type = MSG_REGISTER_INTERCEPT;
		vsm_icpt_header(vp, (u8 *)q, 1, len);
		q->name = id == 0 ? R_CR0 : R_CR4;
		q->value[0] = value;
	} else {
		u32 i;
		for (i = 0; i < N_MSR_BITS && msr_bits[i].msr != id; i++)
			;
		if (i == N_MSR_BITS || !(ctl & msr_bits[i].bit))
			return false;
		struct msr_msg *q = (struct msr_msg *)m.payload;
		m.h.type = MSG_MSR_INTERCEPT;
		vsm_icpt_header(vp, (u8 *)q, 1, 2); /* WRMSR: 2 bytes (TLFS 13.2.2) */
		q->msr = id;
		q->rdx = value >> 32;
		q->rax = (u32)value;
	}
	vsm_secure_intercept(vp, &m);
	*act = HV_ACT_RESUME;
	return true;
}

static int regicpt_partition_init(struct partition *p, struct pool *pool)
{
	for (u32 i = 0; i < HV_MAX_VPS; i++)
		ri[i].ctl = ri[i].cr0_mask = ri[i].cr4_mask = 0;
	p->vtl_write_icpt = NULL; /* armed by the first CrInterceptControl bit */
	return 0;
}

HV_MODULE(vsm_regicpt, .on_partition = regicpt_partition_init);
