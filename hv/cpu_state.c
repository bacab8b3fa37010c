/*
 * cpu_state.c - a virtual processor's architectural state as the TLFS
 * hands it in: the HV_INITIAL_VP_CONTEXT (TLFS 7.10.3; HvEnableVpVtl takes
 * the same structure, TLFS 15) parsed into a struct guest_boot_state, and
 * the checks of a whole state and of its parts (segments, RIP, CR3, PAT)
 * that HvStartVirtualProcessor and HvSetVpRegisters (hv/vpregs.c) apply.
 * Pure apart from one CPUID (NX support); compiles in the host tests.
 */
#include "cpu_state.h"
#include "gmem.h"
#include "hw.h"
#include "hypercall.h"
#include "walk.h"
#include "tlfs.h"

/* Segment attributes (TLFS 7.9.5 = VMX access rights 15:0). */
#define A_TYPE(a) ((a) & 0xf)
#define A_S BIT(4)
#define A_DPL(a) (((a) >> 5) & 3)
#define A_P BIT(7)
#define A_RSVD 0x0f00u
#define A_L BIT(13)
#define A_D BIT(14)
#define A_G BIT(15)

bool cpu_state_pat_valid(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 t = (u8)(pat >> (8 * i));
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

static bool limit_matches_g(const struct seg_state *s)
{
	return (s->attr & A_G) ? (s->limit & 0xfff) == 0xfff : !(s->limit >> 20);
}

/* One segment register in a VP whose EFER.LMA is lma (TLFS 7.9.5; the VM
 * entry checks of SDM 27.3.1.2, which SVM's are a subset of). */
u16 cpu_state_seg_check(int i, const struct seg_state *s, bool lma, bool la57)
{
	u16 a = s->attr;
	bool p = a & A_P;
	if (a & A_RSVD)
		return HV_STATUS_INVALID_PARAMETER;
	switch (i) {
	case SEG_CS:
		if (!p || !(a & A_S) || !(A_TYPE(a) & 8) || ((a & A_L) && ((a & A_D) || !lma)) ||
		    (s->base >> 32))
			return HV_STATUS_INVALID_REGISTER_VALUE;
		break;
	case SEG_SS:
		if (!p)
			return lma ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_REGISTER_VALUE;
		if (!(a & A_S) || (A_TYPE(a) & 0xa) != 2 || (s->base >> 32))
			return HV_STATUS_INVALID_REGISTER_VALUE;
		break;
	case SEG_TR:
		if (!a)
			return HV_STATUS_SUCCESS; /* none loaded: the backend supplies one */
		if (!p || (a & A_S) || (s->sel & 4) || !walk_canonical(s->base, la57) ||
		    (lma ? (A_TYPE(a) | 2) != 11 : (A_TYPE(a) & 5) != 1))
			return HV_STATUS_INVALID_REGISTER_VALUE;
		break;
	case SEG_LDTR:
		if (!p)
			return HV_STATUS_SUCCESS;
		if ((a & A_S) || A_TYPE(a) != 2 || (s->sel & 4) || !walk_canonical(s->base, la57))
			return HV_STATUS_INVALID_REGISTER_VALUE;
		break;
	default: /* ES, DS, FS, GS */
		if (!p)
			return HV_STATUS_SUCCESS;
		if (!(a & A_S) || ((A_TYPE(a) & 8) && !(A_TYPE(a) & 2)))
			return HV_STATUS_INVALID_REGISTER_VALUE;
		if ((i == SEG_FS || i == SEG_GS) ? !walk_canonical(s->base, la57) : (s->base >> 32) != 0)
			return HV_STATUS_INVALID_REGISTER_VALUE;
	}
	return limit_matches_g(s) ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_REGISTER_VALUE;
}

/* CS and SS together: the privilege levels (SDM 27.3.1.2). */
bool cpu_state_cs_ss_consistent(const struct guest_boot_state *g)
{
	/* A null SS (64-bit) keeps its DPL: the CPL. */
	u16 cs = g->seg[SEG_CS].attr, ss = g->seg[SEG_SS].attr;
	if ((A_TYPE(cs) & 0xc) == 8) /* non-conforming */
		return A_DPL(cs) == A_DPL(ss);
	return A_DPL(cs) <= A_DPL(ss);
}

bool cpu_state_rip_ok(const struct guest_boot_state *g, u64 rip)
{
	bool l = (g->efer & EFER_LMA) && (g->seg[SEG_CS].attr & A_L);
	return l ? walk_canonical(rip, g->cr4 & CR4_LA57) : !(rip >> 32);
}

bool cpu_state_nx_supported(void)
{
	u32 r[4];
	hw_cpuid(0x80000001u, 0, r);
	return r[3] & BIT(20);
}

bool cpu_state_cr3_ok(const struct partition *p, u64 cr3, bool lma)
{
	return gmem_in_space(p, cr3) && (lma || !(cr3 >> 32));
}

/*
 * A whole protected- or long-mode state (an HV_INITIAL_VP_CONTEXT): the
 * paging mode consistent (CR0.PG needs PE, LMA = LME & PG, long mode needs
 * PAE), no reserved or unknown control bits, CR4 bits limited to those
 * every x86-64 CPU has plus those set in `cr4_have` (the caller's CR4: a
 * bit it uses exists on this CPU model), no VMXE/SVME, segments per
 * cpu_state_seg_check, RIP canonical (or 32-bit), descriptor tables canonical.
 */
static bool state_ok(const struct partition *p, const struct guest_boot_state *g, u64 cr4_have)
{
	bool lma = g->efer & EFER_LMA, la57 = g->cr4 & CR4_LA57;
	if ((g->rflags & RFLAGS_RSVD) != 0 || !(g->rflags & RFLAGS_FIXED1) || (g->rflags & RFLAGS_VM))
		return false;
	if ((g->cr0 & ~CR0_DEFINED) || !(g->cr0 & CR0_PE) || ((g->cr0 & CR0_NW) && !(g->cr0 & CR0_CD)))
		return false;
	if ((g->cr4 & ~CR4_DEFINED) || (g->cr4 & (CR4_VMXE | CR4_SMXE)) ||
	    (g->cr4 & ~(CR4_BASE | CR4_PAE | cr4_have)) || ((g->cr4 & CR4_PCIDE) && !lma))
		return false;
	if ((g->efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) ||
	    ((g->efer & EFER_NXE) && !cpu_state_nx_supported()) ||
	    lma != ((g->efer & EFER_LME) && (g->cr0 & CR0_PG)) || (lma && !(g->cr4 & CR4_PAE)))
		return false;
	if (!cpu_state_cr3_ok(p, g->cr3, lma) || !cpu_state_pat_valid(g->pat))
		return false;
	for (int i = 0; i < SEG__COUNT; i++)
		if (cpu_state_seg_check(i, &g->seg[i], lma, la57))
			return false;
	return cpu_state_cs_ss_consistent(g) && cpu_state_rip_ok(g, g->rip) &&
	       walk_canonical(g->gdtr.base, la57) && walk_canonical(g->idtr.base, la57);
}

u16 cpu_state_check(const struct partition *p, const struct guest_boot_state *g, u64 cr4_have)
{
	return state_ok(p, g, cr4_have) ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_REGISTER_VALUE;
}

/* ---- HV_INITIAL_VP_CONTEXT (TLFS 7.10.3) ------------------------------- */

static struct seg_state ctx_seg(const u8 *p)
{
	u32 attr_sel = hc_rd32(p + 12);
	return (struct seg_state){ (u16)attr_sel, (u16)(attr_sel >> 16), hc_rd32(p + 8), hc_rd64(p) };
}

static struct dtr_state ctx_table(const u8 *p)
{
	return (struct dtr_state){ .limit = (u16)(hc_rd64(p) >> 48), .base = hc_rd64(p + 8) };
}

/* The HV_INITIAL_VP_CONTEXT at x over *g: Rip 0, Rsp 8, Rflags 16, then
 * Cs Ds Es Fs Gs Ss Tr Ldtr (16 bytes each) from 24, Idtr 152, Gdtr 168,
 * Efer 184, Cr0 192, Cr3 200, Cr4 208, MsrCrPat 216. */
void cpu_state_parse_initial_context(const u8 *x, struct guest_boot_state *g)
{
	static const u8 order[8] = { SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS, SEG_TR, SEG_LDTR };
	g->rip = hc_rd64(x + 0);
	g->rsp = hc_rd64(x + 8);
	g->rflags = hc_rd64(x + 16);
	for (int i = 0; i < 8; i++)
		g->seg[order[i]] = ctx_seg(x + 24 + 16 * i);
	g->idtr = ctx_table(x + 152);
	g->gdtr = ctx_table(x + 168);
	g->efer = hc_rd64(x + 184);
	g->cr0 = hc_rd64(x + 192);
	g->cr3 = hc_rd64(x + 200);
	g->cr4 = hc_rd64(x + 208);
	g->pat = hc_rd64(x + 216);
}
