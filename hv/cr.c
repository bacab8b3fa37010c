/*
 * cr.c - guest writes to CR0 and CR4 that the backend intercepts without
 * decoding them (HV_EXIT_CR_WRITE; the SVM backend: QEMU's SVM has no
 * decode assists, so the instruction is fetched and decoded here: MOV to
 * CR0/CR4, LMSW, CLTS). The
 * processor would check the new value and raise #GP(0) for an invalid
 * one (AMD APM vol. 3 "MOV CRn", "LMSW"; SDM vol. 2 "MOV to CR0/CR4");
 * an emulator running the hypervisor may not (QEMU TCG loads PG without
 * PE, NW without CD, reserved CR4 bits, and the next VMRUN then fails),
 * so the checks are made here and the guest gets the #GP, on the
 * instruction, with nothing changed. A valid value is written through the
 * backend (cr_write), which keeps EFER.LMA and the TLB as the instruction
 * would. docs/svm.md "CR0 and CR4 writes" has the design and its cost.
 */
#include "cr.h"
#include "backend.h"
#include "emulate.h"
#include "gmem.h"
#include "hw.h"
#include "log.h"
#include "module.h"
#include "x86.h"

#define CR4_UMIP BIT(11)
#define CR4_FSGSBASE BIT(16)
#define CR4_CET BIT(23)
#define CR4_PKS BIT(24)

u64 cr4_valid_bits(u32 leaf1_ecx, u32 leaf7_ebx, u32 leaf7_ecx)
{
	/* VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT: every x86-64
	 * processor; the rest as CPUID says (APM vol. 2 3.1.3). */
	u64 v = 0x7ff;
	v |= (leaf7_ecx & BIT(2)) ? CR4_UMIP : 0;
	v |= (leaf7_ecx & BIT(16)) ? CR4_LA57 : 0;
	v |= (leaf7_ebx & BIT(0)) ? CR4_FSGSBASE : 0;
	v |= (leaf1_ecx & BIT(17)) ? CR4_PCIDE : 0;
	v |= (leaf1_ecx & BIT(26)) ? CR4_OSXSAVE : 0;
	v |= (leaf7_ebx & BIT(7)) ? CR4_SMEP : 0;
	v |= (leaf7_ebx & BIT(20)) ? CR4_SMAP : 0;
	v |= (leaf7_ecx & BIT(3)) ? CR4_PKE : 0;
	v |= (leaf7_ecx & BIT(7)) ? CR4_CET : 0;
	v |= (leaf7_ecx & BIT(31)) ? CR4_PKS : 0;
	return v;
}

bool cr0_write_faults(u64 cur, u64 v, u64 cr4, u64 efer, bool cs_l)
{
	if (v >> 32)                                 /* reserved bits 63:32 */
		return true;
	if ((v & CR0_PG) && !(v & CR0_PE))           /* paging without protection */
		return true;
	if ((v & CR0_NW) && !(v & CR0_CD))           /* not-write-through without CD */
		return true;
	/* Activating long mode (LME) needs PAE (APM 14.6.1). */
	if (!(cur & CR0_PG) && (v & CR0_PG) && (efer & EFER_LME) && !(cr4 & CR4_PAE))
		return true;
	/* Paging cannot be turned off in 64-bit mode, nor with PCIDE. */
	if ((cur & CR0_PG) && !(v & CR0_PG) && (((efer & EFER_LMA) && cs_l) || (cr4 & CR4_PCIDE)))
		return true;
	if (!(v & CR0_WP) && (cr4 & CR4_CET))        /* CET needs WP */
		return true;
	return false;
}

bool cr4_write_faults(u64 cur, u64 v, u64 valid, u64 efer, u64 cr3)
{
	if (v & ~valid)                              /* a bit the processor lacks */
		return true;
	if ((efer & EFER_LMA) && !(v & CR4_PAE))     /* PAE stays on in long mode */
		return true;
	if ((efer & EFER_LMA) && ((v ^ cur) & CR4_LA57)) /* no paging-depth change in long mode */
		return true;
	/* PCIDE: only in long mode, with CR3's PCID 0. */
	if (!(cur & CR4_PCIDE) && (v & CR4_PCIDE) && (!(efer & EFER_LMA) || (cr3 & 0xfff)))
		return true;
	return false;
}

u64 cr_lmsw_value(u64 cur, u16 msw)
{
	return (cur & ~(u64)(CR0_MP | CR0_EM | CR0_TS)) | (msw & (CR0_PE | CR0_MP | CR0_EM | CR0_TS)) |
	       (cur & CR0_PE);
}

int cr_decode(const u8 *b, int n, int mode, struct cr_insn *d)
{
	int i = 0, asz = mode;
	u8 rex = 0;
	*d = (struct cr_insn){ .seg = -1, .base = -1, .index = -1 };
	for (;; i++) {
		if (i >= n)
			return i >= 15 ? EMUL_UNSUP : EMUL_SHORT;
		u8 c = b[i];
		if (mode == 8 && (c & 0xf0) == 0x40) {
			rex = c; /* counts only right before the opcode */
			continue;
		}
		if (c == 0x26 || c == 0x2e || c == 0x36 || c == 0x3e || c == 0x64 || c == 0x65) {
			static const int8_t segs[] = { [0] = SEG_ES, [1] = SEG_CS, [2] = SEG_SS, [3] = SEG_DS };
			d->seg = c >= 0x64 ? (c == 0x64 ? SEG_FS : SEG_GS) : segs[(c - 0x26) >> 3];
		} else if (c == 0x67) {
			asz = mode == 8 ? 4 : mode == 4 ? 2 : 4;
		} else if (c != 0x66 && c != 0xf0 && c != 0xf2 && c != 0xf3) {
			break;
		}
		rex = 0;
	}
	if (b[i] != 0x0f)
		return EMUL_UNSUP;
	if (i + 1 < n && b[i + 1] == 0x06) { /* CLTS */
		d->kind = CRI_CLTS;
		d->len = (u8)(i + 2);
		return EMUL_OK;
	}
	if (i + 2 >= n)
		return EMUL_SHORT;
	u8 op = b[i + 1], m = b[i + 2];
	u8 mod = m >> 6, reg = (m >> 3) & 7, rm = m & 7;
	i += 3;
	d->asz = (u8)asz;
	if (op == 0x22) { /* MOV CRn, r: the operand is always a register */
		d->kind = CRI_MOV;
		d->cr = (u8)(reg | ((rex & 4) ? 8 : 0));
		d->gpr = (u8)(rm | ((rex & 1) ? 8 : 0));
		d->len = (u8)i;
		return EMUL_OK;
	}
	if (op != 0x01 || reg != 6)
		return EMUL_UNSUP;
	d->kind = CRI_LMSW;
	if (mod == 3) {
		d->gpr = (u8)(rm | ((rex & 1) ? 8 : 0));
		d->len = (u8)i;
		return EMUL_OK;
	}
	d->mem = true;
	if (asz == 2) { /* 16-bit ModRM (SDM table 2-1) */
		static const int8_t bases[8] = { GPR_RBX, GPR_RBX, GPR_RBP, GPR_RBP, GPR_RSI, GPR_RDI, GPR_RBP, GPR_RBX };
		static const int8_t idx[8] = { GPR_RSI, GPR_RDI, GPR_RSI, GPR_RDI, -1, -1, -1, -1 };
		d->base = (mod == 0 && rm == 6) ? -1 : bases[rm];
		d->index = idx[rm];
		d->scale = 1;
		int dl = (mod == 0 && rm == 6) ? 2 : mod == 1 ? 1 : mod == 2 ? 2 : 0;
		if (i + dl > n)
			return EMUL_SHORT;
		d->disp = dl == 1 ? (int8_t)b[i] : dl == 2 ? (int16_t)(b[i] | (b[i + 1] << 8)) : 0;
		d->len = (u8)(i + dl);
		return EMUL_OK;
	}
	d->base = (int8_t)(rm | ((rex & 1) ? 8 : 0));
	d->scale = 1;
	if (rm == 4) { /* SIB */
		if (i >= n)
			return EMUL_SHORT;
		u8 sib = b[i++];
		u8 ix = (u8)(((sib >> 3) & 7) | ((rex & 2) ? 8 : 0));
		d->index = ix == 4 ? -1 : (int8_t)ix;
		d->scale = (u8)(1 << (sib >> 6));
		d->base = (int8_t)((sib & 7) | ((rex & 1) ? 8 : 0));
		if (mod == 0 && (sib & 7) == 5)
			d->base = -1, mod = 2; /* disp32, no base */
	} else if (mod == 0 && rm == 5) {
		d->base = -1;
		d->rip_rel = mode == 8;
		mod = 2;
	}
	int dl = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if (i + dl > n)
		return EMUL_SHORT;
	d->disp = dl == 1 ? (int8_t)b[i] : dl == 4 ? (int32_t)(b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | ((u32)b[i + 3] << 24)) : 0;
	d->len = (u8)(i + dl);
	return EMUL_OK;
}

/* The 16-bit source of a memory-form LMSW (segment base, address-size
 * wrap; no limit checks: the processor made them before the exit). */
static bool lmsw_read(struct vp *vp, const struct cr_insn *d, const struct gwalk_regs *r,
		      const struct guest_boot_state *gs, u64 rip, u16 *out)
{
	u64 ea = (u64)d->disp;
	if (d->base >= 0)
		ea += vp->gpr[d->base];
	if (d->index >= 0)
		ea += vp->gpr[d->index] * d->scale;
	if (d->rip_rel)
		ea += rip + d->len;
	ea &= d->asz == 8 ? ~0ull : d->asz == 4 ? 0xffffffffull : 0xffffull;
	int seg = d->seg >= 0 ? d->seg : (d->base == GPR_RSP || d->base == GPR_RBP) ? SEG_SS : SEG_DS;
	bool lm = (gs->efer & EFER_LMA) && (gs->seg[SEG_CS].attr & BIT(13));
	u64 la = (lm && seg != SEG_FS && seg != SEG_GS) ? ea : ea + gs->seg[seg].base;
	if (!lm)
		la = (u32)la;
	u8 v[2];
	for (int k = 0; k < 2; k++) {
		u64 gpa;
		if (emulate_walk(vp->part, r, la + (u64)k, &gpa) || !gmem_read(vp->part, gpa, &v[k], 1))
			return false;
	}
	*out = (u16)(v[0] | (v[1] << 8));
	return true;
}

static u64 cr4_valid(void)
{
	static u64 valid;
	if (!valid) {
		u32 l1[4], l7[4] = { 0 }, l0[4];
		hw_cpuid(0, 0, l0);
		hw_cpuid(1, 0, l1);
		if (l0[0] >= 7)
			hw_cpuid(7, 0, l7);
		valid = cr4_valid_bits(l1[2], l7[1], l7[2]);
	}
	return valid;
}

static u32 cr_logged; /* warnings so far (at most 8) */

enum hv_action hv_handle_cr_write(struct vp *vp, struct hv_exit *e)
{
	const struct backend *be = vp->part->be;
	/* 64-bit code (the frequent case: a kernel's CR4.PGE toggles) needs
	 * a few registers; other modes the segments too (vp_get_state). */
	struct gwalk_regs r = { be->read_reg(vp, GREG_CR0), be->read_reg(vp, GREG_CR3),
				be->read_reg(vp, GREG_CR4), be->read_reg(vp, GREG_EFER) };
	u64 rip = be->read_reg(vp, GREG_RIP);
	bool cs_l = (r.efer & EFER_LMA) && be->read_reg(vp, GREG_CS_L);
	struct guest_boot_state gs;
	bool have_gs = !cs_l;
	int mode = 8;
	u64 la = rip;
	if (have_gs) {
		be->vp_get_state(vp, &gs);
		mode = ((gs.rflags & RFLAGS_VM) || !(gs.seg[SEG_CS].attr & BIT(14))) ? 2 : 4;
		la = (u32)(rip + gs.seg[SEG_CS].base);
	}
	u8 insn[15];
	struct cr_insn d;
	int n = emulate_fetch(vp->part, &r, la, insn);
	int rc = cr_decode(insn, n, mode, &d);
	if (rc == EMUL_SHORT) {
		if (__atomic_fetch_add(&cr_logged, 1, __ATOMIC_RELAXED) < 8) {
			u64 gpa = ~0ull;
			int w = emulate_walk(vp->part, &r, la + (u64)n, &gpa);
			LOGW("CR%u write at rip %lx (la %lx): only %d instruction bytes fetched "
			     "(walk %d gpa %lx, cr0 %lx cr3 %lx cr4 %lx efer %lx)",
			     e->u.cr.cr, (unsigned long)rip, (unsigned long)la, n, w,
			     (unsigned long)gpa, (unsigned long)r.cr0, (unsigned long)r.cr3,
			     (unsigned long)r.cr4, (unsigned long)r.efer);
		}
		return emulate_fetch_failed(vp, &r, la + (u64)n);
	}
	if (rc != EMUL_OK || (d.kind == CRI_MOV ? d.cr != e->u.cr.cr : e->u.cr.cr != 0)) {
		/* Not the instruction that exited: another processor rewrote
		 * it. Run it again (the new bytes are what executes). */
		if (__atomic_fetch_add(&cr_logged, 1, __ATOMIC_RELAXED) < 8)
			LOGW("CR%u write exit at rip %lx (mode %d): %02x %02x %02x %02x %02x is no "
			     "MOV to CR%u, LMSW or CLTS: run again", e->u.cr.cr, (unsigned long)rip,
			     mode, insn[0], insn[1], insn[2], insn[3], insn[4], e->u.cr.cr);
		return HV_ACT_RESUME;
	}
	u64 v;
	if (d.kind == CRI_CLTS) {
		v = r.cr0 & ~(u64)CR0_TS;
	} else if (d.kind == CRI_LMSW) {
		u16 msw = (u16)vp->gpr[d.gpr];
		if (d.mem) {
			if (!have_gs)
				be->vp_get_state(vp, &gs);
			if (!lmsw_read(vp, &d, &r, &gs, rip, &msw)) {
				vp_inject_gp(vp); /* its operand is not guest RAM */
				return HV_ACT_INJECTED;
			}
		}
		v = cr_lmsw_value(r.cr0, msw);
	} else {
		v = mode == 8 ? vp->gpr[d.gpr] : (u32)vp->gpr[d.gpr];
	}
	bool bad = d.cr == 0 ? cr0_write_faults(r.cr0, v, r.cr4, r.efer, cs_l)
			     : cr4_write_faults(r.cr4, v, cr4_valid(), r.efer, r.cr3);
	if (bad) {
		if (__atomic_fetch_add(&cr_logged, 1, __ATOMIC_RELAXED) < 8)
			LOGI("MOV CR%u <- %lx at rip %lx (CR0 %lx CR4 %lx EFER %lx): #GP, as the processor",
			     d.cr, (unsigned long)v, (unsigned long)rip, (unsigned long)r.cr0,
			     (unsigned long)r.cr4, (unsigned long)r.efer);
		vp_inject_gp(vp);
		return HV_ACT_INJECTED;
	}
	/* TLFS 15.13.4: a write VTL 1 intercepts goes there instead. */
	enum hv_action act;
	if (vp->part->vtl_write_icpt && !vp->cur->l2 &&
	    vp->part->vtl_write_icpt(vp, 0, d.cr, d.cr == 0 ? r.cr0 : r.cr4, v, d.len, &act))
		return act;
	if (!be->cr_write) {
		/* A backend that loads CR writes itself (VMX) sent this one for
		 * the intercept above, which did not take it: its guard is stale;
		 * drop it and let the instruction run again natively. */
		if (__atomic_fetch_add(&cr_logged, 1, __ATOMIC_RELAXED) < 8)
			LOGW("CR%u write at rip %lx: guarded but not intercepted: guard dropped", d.cr,
			     (unsigned long)rip);
		if (be->cr_guard)
			be->cr_guard(vp, d.cr, 0);
		return HV_ACT_RESUME;
	}
	be->cr_write(vp, d.cr, v);
	e->insn_len = d.len;
	return HV_ACT_ADVANCE;
}

HV_EXIT_HANDLER(exit_cr_write, HV_EXIT_CR_WRITE, hv_handle_cr_write);
