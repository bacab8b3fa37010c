/*
 * svm_vmcb_check.c - the consistency checks VMRUN makes on the guest's
 * VMCB (AMD APM vol. 2, 15.5.1 "Basic Operation", the list under
 * "Canonicalization and Consistency Checks"). A VMCB that fails one makes
 * VMRUN exit at once with VMEXIT_INVALID (exit code -1) without running
 * the guest. svm_nested.c applies them to L1's VMCB (VMCB12) before
 * building L2's; pure, so the host tests run each check
 * (tests/host/test_nested.c).
 *
 * In the order of the APM's list:
 *   EFER.SVME is zero;
 *   CR0.CD is zero and CR0.NW is set;
 *   CR0[63:32] are not zero;
 *   any MBZ bit of CR3 is set (bits at or above MAXPHYADDR in long mode,
 *   bits 63:32 otherwise);
 *   any MBZ bit of CR4 is set (cr4_valid: the bits this CPU implements);
 *   DR6[63:32] or DR7[63:32] are not zero;
 *   any MBZ bit of EFER is set (efer_valid);
 *   EFER.LME and CR0.PG both set and CR4.PAE zero;
 *   EFER.LME and CR0.PG both set and CR0.PE zero;
 *   EFER.LME, CR0.PG, CR4.PAE, CS.L and CS.D all set;
 *   the VMRUN intercept bit is clear;
 *   the MSR or IOIO permission map (when intercepted) reaches an address
 *   at or above MAXPHYADDR;
 *   illegal event injection (15.20: a reserved type; an exception with
 *   vector 2 or above 31);
 *   ASID is zero.
 */
#include "svm.h"
#include "x86.h"

#define MSRPM_SIZE 0x2000ull
#define IOPM_SIZE 0x3000ull

static bool beyond(u64 pa, u64 len, u32 phys_bits)
{
	return pa + len < pa || pa + len > (1ull << phys_bits);
}

const char *svm_vmcb_check(const struct vmcb *v, u32 phys_bits, u64 efer_valid, u64 cr4_valid)
{
	const struct vmcb_control *c = &v->ctl;
	const struct vmcb_save *s = &v->save;
	bool lme_pg = (s->efer & EFER_LME) && (s->cr0 & CR0_PG);

	if (!(s->efer & EFER_SVME))
		return "EFER.SVME clear";
	if (!(s->cr0 & CR0_CD) && (s->cr0 & CR0_NW))
		return "CR0.NW without CR0.CD";
	if (s->cr0 >> 32)
		return "CR0[63:32] set";
	if (lme_pg ? (s->cr3 >> phys_bits) != 0 : (s->cr3 >> 32) != 0)
		return "CR3 reserved bits";
	if (s->cr4 & ~cr4_valid)
		return "CR4 reserved bits";
	if ((s->dr6 >> 32) || (s->dr7 >> 32))
		return "DR6/DR7[63:32] set";
	if (s->efer & ~efer_valid)
		return "EFER reserved bits";
	if (lme_pg && !(s->cr4 & CR4_PAE))
		return "long mode without CR4.PAE";
	if (lme_pg && !(s->cr0 & CR0_PE))
		return "long mode without CR0.PE";
	/* CS attributes: L is descriptor bit 53 (attrib bit 9), D bit 54 (10). */
	if (lme_pg && (s->cr4 & CR4_PAE) && (s->cs.attrib & BIT(9)) && (s->cs.attrib & BIT(10)))
		return "CS.L and CS.D both set";
	if (!(c->intercept_misc2 & SVM_INTERCEPT_VMRUN))
		return "VMRUN intercept clear";
	if ((c->intercept_misc1 & SVM_INTERCEPT_MSR) && beyond(c->msrpm_base_pa, MSRPM_SIZE, phys_bits))
		return "MSR permission map beyond MAXPHYADDR";
	if ((c->intercept_misc1 & SVM_INTERCEPT_IOIO) && beyond(c->iopm_base_pa, IOPM_SIZE, phys_bits))
		return "I/O permission map beyond MAXPHYADDR";
	if (c->eventinj & SVM_EVTINJ_VALID) {
		u64 type = (c->eventinj & SVM_EVTINJ_TYPE_MASK) >> 8;
		u8 vec = (u8)c->eventinj;
		if (type == 1 || type > 4)
			return "event injection of a reserved type";
		if (type == 3 && (vec == 2 || vec > 31))
			return "event injection of an exception with vector 2 or above 31";
	}
	if (c->guest_asid == 0)
		return "ASID 0";
	return NULL;
}
