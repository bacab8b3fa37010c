/*
 * vmx_nested.c - VMX for the guest (docs/nested.md, "Nested VMX"): the VMCS
 * side of nested virtualization on Intel. L1 (the guest) runs its own
 * guest L2 with VMLAUNCH/VMRESUME on a VMCS of its own; hv.efi keeps L1's
 * current VMCS in its memory (struct vmcs12, include/nested/vmcs12.h),
 * runs L2 on the L2 context's VMCS (vmcs02), built from vmcs12 with the
 * backend's own requirements merged in, and gives L1 the exits its
 * controls ask for as a VM exit: exit information and L2's state into
 * vmcs12, L1's host state from vmcs12 into L1's context (SDM 28.5).
 * The vendor-neutral part (the L2 context, the shadow of L1's EPT, the
 * exit handlers) is nested/; the pure checks and capabilities are
 * vmx_nested_check.c.
 *
 * Emulated for L1 (SDM vol. 3 chapter 31, the instruction pages): VMXON,
 * VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH, VMRESUME,
 * INVEPT, INVVPID with #UD outside VMX operation (and with CR4.VMXE
 * clear, in virtual-8086 or compatibility mode), #GP at CPL > 0,
 * VMfailInvalid/VMfailValid with the error numbers of SDM 31.4. VMFUNC is
 * not offered (#UD). The memory operands are L1 linear addresses (the
 * instruction-information field, SDM 28.2.5), translated through L1's
 * paging by vmx_nested_mem.c.
 */
#include "vmx.h"
#include "vmx_nested.h"
#include "arch.h"
#include "boot_info.h"
#include "log.h"
#include "tlfs.h"
#include "x86.h"

#define EXTRA_CR3_TARGET0 0x6008u
#define EXTRA_TSC_OFFSET 0x2010u
#define EXTRA_PDPTE0 0x280au
#define INVALID_PTR (~0ull)

/* RFLAGS arithmetic flags (SDM 31.2: VMsucceed clears them, VMfail sets
 * CF or ZF). */
#define RF_ARITH (BIT(0) | BIT(2) | BIT(4) | BIT(6) | BIT(7) | BIT(11))

static struct vmx_nested *nst(struct vp *vp)
{
	struct vmx_ctx *s2 = vp->l2.be;
	return s2 ? s2->nst : NULL;
}

u32 vmx_nested_features(void)
{
	vmx_nested_evmcs_init();
	return 0;
}

/* ---- results (SDM 31.2) ---------------------------------------------------- */

static void set_flags(u64 set)
{
	vmwrite(VMCS_GUEST_RFLAGS, (vmread(VMCS_GUEST_RFLAGS) & ~(u64)RF_ARITH) | set);
}

static enum hv_action succeed(void)
{
	set_flags(0);
	return HV_ACT_ADVANCE;
}

static enum hv_action fail_invalid(void)
{
	set_flags(BIT(0)); /* CF */
	return HV_ACT_ADVANCE;
}

/* VMfail: VMfailValid with the error number when there is a current
 * VMCS, else VMfailInvalid. */
static enum hv_action vmfail(struct vmx_nested *n, u32 err)
{
	if (n->current == INVALID_PTR && !n->ev.active)
		return fail_invalid();
	n->v12.vm_instruction_error = err;
	set_flags(BIT(6)); /* ZF */
	return HV_ACT_ADVANCE;
}

static enum hv_action inject(struct vp *vp, u8 vec)
{
	vmx_inject_exception(vp, vec, vec == X86_EXC_GP, 0);
	return HV_ACT_INJECTED;
}

/* The cache back into L1's region (the region was checked at VMPTRLD). */
static void write_back(struct vmx_nested *n)
{
	if (n->current != INVALID_PTR)
		__builtin_memcpy(vmx_l1_ptr(n->current), &n->v12, sizeof(n->v12));
}

/* A VMCS/VMXON pointer operand (m64): -1 with *act set if it faulted. */
static int read_ptr(struct vp *vp, const struct hv_exit *e, u32 info, u64 *pa, enum hv_action *act)
{
	if (info & BIT(10)) { /* register operand: #UD */
		*act = inject(vp, X86_EXC_UD);
		return -1;
	}
	if (vmx_l1_copy(vp, vmx_operand_gva(vp, info, e->qual[0]), pa, 8, false)) {
		*act = HV_ACT_INJECTED;
		return -1;
	}
	return 0;
}

static bool ptr_bad(const struct vp *vp, u64 pa)
{
	/* hv.efi reads and writes the region (VMCLEAR writes vmcs12 back): the
	 * calling VTL must be allowed both (TLFS 15.9). */
	return (pa & (PAGE_SIZE - 1)) || (pa >> vp->part->phys_addr_bits) || !vp_l1_ram(vp, pa, PAGE_SIZE) ||
	       !vp_vtl_allows(vp, pa, PAGE_SIZE, SLAT_ACC_W);
}

/* ---- VMLAUNCH / VMRESUME ---------------------------------------------------- */

/* L1's host state from vmcs12 into L1's context, which is current (SDM
 * 28.5: the state a VM exit loads; also after a VM-entry failure, 26.8). */
static void load_host_state(struct vp *vp, const struct vmcs12 *v)
{
	struct vmx_ctx *s = vmx_of(vp);
	bool as64 = v->vm_exit_controls & EXIT_HOST_ADDR_SPACE_SIZE;
	u64 cr0 = v->host_cr0, cr4 = v->host_cr4;
	vmwrite(VMCS_CR0_SHADOW, cr0);
	vmwrite(VMCS_GUEST_CR0, vmx_fixed_cr(cr0, vmx_guest_cr0_fixed0(&vmx.caps, true), vmx.caps.cr0_fixed1));
	vmwrite(VMCS_CR4_SHADOW, cr4);
	vmwrite(VMCS_GUEST_CR4, vmx_fixed_cr(cr4, vmx.caps.cr4_fixed0, vmx.caps.cr4_fixed1));
	if (vmread(VMCS_GUEST_CR3) != v->host_cr3)
		vmx_flush_vpid(s);
	vmwrite(VMCS_GUEST_CR3, v->host_cr3);
	vmwrite(VMCS_GUEST_DR7, 0x400);
	vmwrite(VMCS_GUEST_DEBUGCTL, 0);
	vmwrite(VMCS_GUEST_SYSENTER_CS, v->host_ia32_sysenter_cs);
	vmwrite(VMCS_GUEST_SYSENTER_ESP, v->host_ia32_sysenter_esp);
	vmwrite(VMCS_GUEST_SYSENTER_EIP, v->host_ia32_sysenter_eip);
	u64 efer = vmread(VMCS_GUEST_EFER);
	if (v->vm_exit_controls & EXIT_LOAD_IA32_EFER)
		efer = v->host_ia32_efer;
	else
		efer = as64 ? efer | EFER_LMA | EFER_LME : efer & ~(u64)(EFER_LMA | EFER_LME);
	vmwrite(VMCS_GUEST_EFER, efer);
	if (v->vm_exit_controls & EXIT_LOAD_IA32_PAT)
		vmwrite(VMCS_GUEST_PAT, v->host_ia32_pat);
	/* Segments (28.5.2): flat, DPL 0; a null data selector unusable. */
	const u16 sel[SEG__COUNT] = { v->host_es_selector, v->host_cs_selector, v->host_ss_selector,
				      v->host_ds_selector, v->host_fs_selector, v->host_gs_selector,
				      0, v->host_tr_selector };
	for (int i = 0; i < SEG__COUNT; i++) {
		u32 ar;
		u64 base = 0;
		u32 limit = 0xffffffffu;
		if (i == SEG_CS)
			ar = 0x809b | (as64 ? VMX_AR_L : BIT(14));
		else if (i == SEG_TR) {
			ar = VMX_AR_TSS64_BUSY;
			limit = 0x67;
			base = v->host_tr_base;
		} else if (i == SEG_LDTR || !sel[i])
			ar = VMX_AR_UNUSABLE;
		else
			ar = 0xc093;
		if (i == SEG_FS)
			base = v->host_fs_base;
		if (i == SEG_GS)
			base = v->host_gs_base;
		vmwrite(VMCS_SEG_SEL(i), sel[i]);
		vmwrite(VMCS_SEG_AR(i), ar);
		vmwrite(VMCS_SEG_LIMIT(i), limit);
		vmwrite(VMCS_SEG_BASE(i), base);
	}
	vmwrite(VMCS_GUEST_GDTR_BASE, v->host_gdtr_base);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmwrite(VMCS_GUEST_IDTR_BASE, v->host_idtr_base);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, 0xffff);
	vmwrite(VMCS_GUEST_RIP, v->host_rip);
	vmwrite(VMCS_GUEST_RFLAGS, 2);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(VMCS_GUEST_ACTIVITY, 0);
	vmwrite(VMCS_GUEST_PENDING_DBG, 0);
	vmwrite(VMCS_ENTRY_INTR_INFO, 0);
	s->reinject = 0;
	s->injected = false;
	vp->gpr[GPR_RSP] = v->host_rsp;
}

/* VM-entry failure (SDM 26.8): exit reason with bit 31, L1 at its host
 * state; the launch state is unchanged. */
static void entry_failure(struct vp *vp, struct vmx_nested *n, u32 reason, u64 qual)
{
	struct vmcs12 *v = &n->v12;
	v->vm_exit_reason = reason | BIT(31);
	v->exit_qualification = qual;
	v->vm_exit_intr_info = 0;
	v->idt_vectoring_info_field = 0;
	v->vm_entry_intr_info_field &= ~BIT(31);
	n->entry_failures++;
	load_host_state(vp, v);
}

static enum hv_action launch(struct vp *vp, struct vmx_nested *n, bool resume,
			     struct nested_run *run, int *enter)
{
	struct vmcs12 *v = &n->v12;
	if (n->current == INVALID_PTR && !n->ev.active)
		return fail_invalid();
	if (vmread(VMCS_GUEST_INTERRUPTIBILITY) & VMX_INTR_BLOCK_MOV_SS)
		return vmfail(n, 26);
	if (!resume && v->launched)
		return vmfail(n, 4);
	if (resume && !v->launched)
		return vmfail(n, 5);
	u32 maxphy = vp->part->phys_addr_bits;
	const char *why;
	u32 err = vmx_nested_check_controls(v, maxphy, &why);
	if (!err && (v->cpu_based_vm_exec_control & PROC_USE_IO_BITMAPS) &&
	    (!vp_l1_ram(vp, v->io_bitmap_a, PAGE_SIZE) || !vp_l1_ram(vp, v->io_bitmap_b, PAGE_SIZE))) {
		err = 7;
		why = "I/O bitmap not in guest RAM";
	}
	if (!err && (v->cpu_based_vm_exec_control & PROC_USE_MSR_BITMAPS) &&
	    !vp_l1_ram(vp, v->msr_bitmap, PAGE_SIZE)) {
		err = 7;
		why = "MSR bitmap not in guest RAM";
	}
	if (!err)
		err = vmx_nested_check_host(v, maxphy, vmx.caps.cr4_fixed1,
					    (vmread(VMCS_GUEST_EFER) & EFER_LMA) != 0, &why);
	if (err) {
		LOGD("nested: %s: VMfailValid %u (%s)", resume ? "VMRESUME" : "VMLAUNCH", err, why);
		run->invalid = true;
		return vmfail(n, err);
	}
	why = vmx_nested_check_guest(v, maxphy, vmx.caps.cr4_fixed1);
	if (why) {
		LOGD("nested: %s: VM-entry failure, invalid guest state (%s)",
		     resume ? "VMRESUME" : "VMLAUNCH", why);
		run->invalid = true;
		entry_failure(vp, n, VMX_EXIT_ENTRY_INVALID_GUEST,
			      v->vmcs_link_pointer != INVALID_PTR ? 4 : 0);
		return HV_ACT_RESUME;
	}
	u32 proc2 = (v->cpu_based_vm_exec_control & PROC_ACTIVATE_SECONDARY) ? v->secondary_vm_exec_control : 0;
	run->np = proc2 & PROC2_ENABLE_EPT;
	run->l1_root = v->ept_pointer & 0x000ffffffffff000ull;
	/* INVEPT since the last entry drops the shadow (nested/). */
	run->flush = n->invept_pending;
	n->invept_pending = false;
	/* L2's VPID: all of L1's share the L2 context's one. L1 without
	 * VPID expects a fresh TLB at every entry (SDM 29.4.3.3); a new
	 * VPID or an INVVPID flushes it too. */
	u16 vpid = (proc2 & PROC2_ENABLE_VPID) ? v->virtual_processor_id : 0;
	n->vpid_flush |= !vpid || vpid != n->last_vpid;
	n->last_vpid = vpid;
	n->prev_launched = v->launched;
	v->launched = 1;
	n->np = run->np;
	*enter = 1;
	return HV_ACT_RESUME;
}

/* ---- INVEPT / INVVPID (SDM 31.3) ------------------------------------------- */

static enum hv_action inv(struct vp *vp, struct vmx_nested *n, const struct hv_exit *e, u32 info,
			  bool ept)
{
	u64 type = vp->gpr[(info >> 28) & 15];
	struct vmx_inv_desc d;
	if (!((vmread(VMCS_GUEST_EFER) & EFER_LMA) && (vmread(VMCS_GUEST_CS_AR) & VMX_AR_L)))
		type = (u32)type;
	if (vmx_l1_copy(vp, vmx_operand_gva(vp, info, e->qual[0]), &d, sizeof(d), false))
		return HV_ACT_INJECTED;
	if (ept) {
		if (type != INV_SINGLE_CONTEXT && type != INV_ALL_CONTEXT)
			return vmfail(n, 28);
		if (type == INV_SINGLE_CONTEXT &&
		    ((d.lo & 7) != EPTP_WB || ((d.lo >> 3) & 7) != 3 || (d.lo & 0xfc0) ||
		     (d.lo >> vp->part->phys_addr_bits)))
			return vmfail(n, 28);
		n->invept_pending = true;
		n->inveps++;
		return succeed();
	}
	if (type > INV_ALL_CONTEXT || (d.lo >> 16))
		return vmfail(n, 28);
	if (type != INV_ALL_CONTEXT && !(u16)d.lo)
		return vmfail(n, 28);
	if (type == INV_INDIVIDUAL_ADDR && (u64)((s64)(d.hi << 16) >> 16) != d.hi)
		return vmfail(n, 28);
	/* Every L1 VPID shares the L2 context's: flush all of it. */
	n->vpid_flush = true;
	return succeed();
}

/* ---- the instructions ------------------------------------------------------- */

int vmx_nested_insn(struct vp *vp, struct hv_exit *e, enum hv_action *act, struct nested_run *run)
{
	struct vmx_nested *n = nst(vp);
	u32 basic = VMX_EXIT_REASON_BASIC((u32)e->raw);
	u64 cr0 = vmx_read_reg(vp, GREG_CR0), cr4 = vmx_read_reg(vp, GREG_CR4);
	bool lma = vmread(VMCS_GUEST_EFER) & EFER_LMA;
	bool cs_l = vmread(VMCS_GUEST_CS_AR) & VMX_AR_L;
	int enter = 0;

	/* #UD: no VMX for L1 here (no L2 context), VMFUNC (not offered),
	 * CR4.VMXE clear, real/virtual-8086/compatibility mode, or outside
	 * VMX operation (all but VMXON). */
	if (!n || basic == VMX_EXIT_VMFUNC || !(cr4 & CR4_VMXE) || !(cr0 & CR0_PE) ||
	    (vmread(VMCS_GUEST_RFLAGS) & RFLAGS_VM) || (lma && !cs_l) ||
	    (basic != VMX_EXIT_VMXON && !n->vmxon)) {
		*act = inject(vp, X86_EXC_UD);
		return 0;
	}
	if (vmx_read_reg(vp, GREG_CPL)) {
		*act = inject(vp, X86_EXC_GP);
		return 0;
	}
	u32 info = (u32)vmread(VMCS_EXIT_INSN_INFO);
	u64 pa = 0, pa0 = 0;
	n->insns++;
	switch (basic) {
	case VMX_EXIT_VMXON:
		if (n->vmxon) {
			*act = vmfail(n, 15);
			break;
		}
		/* SDM 24.8: CR0/CR4 as VMX operation needs them (the
		 * feature control MSR is locked with VMXON enabled). */
		if ((cr0 & NVMX_CR0_FIXED0) != NVMX_CR0_FIXED0) {
			*act = inject(vp, X86_EXC_GP);
			break;
		}
		if (read_ptr(vp, e, info, &pa, act))
			break;
		if (ptr_bad(vp, pa) || (*(volatile u32 *)vmx_l1_ptr(pa) != VMCS12_REVISION)) {
			*act = fail_invalid();
			break;
		}
		n->vmxon = true;
		n->vmxon_ptr = pa;
		n->current = INVALID_PTR;
		evmcs_release(&n->ev);
		n->invept_pending = true;
		*act = succeed();
		break;
	case VMX_EXIT_VMXOFF:
		write_back(n);
		n->seg_sync = false;
		n->vmxon = false;
		n->current = INVALID_PTR;
		evmcs_release(&n->ev);
		*act = succeed();
		break;
	case VMX_EXIT_VMCLEAR:
		if (read_ptr(vp, e, info, &pa, act))
			break;
		if (ptr_bad(vp, pa)) {
			*act = vmfail(n, 2);
			break;
		}
		if (pa == n->vmxon_ptr) {
			*act = vmfail(n, 3);
			break;
		}
		if (pa == n->current) {
			n->v12.launched = 0;
			write_back(n);
			n->current = INVALID_PTR;
			n->seg_sync = false;
		} else if (vmx_evmcs_current(vp, &pa0)) {
			/* TLFS 16.5: VMCLEAR makes the eVMCS non-active; L1's
			 * page is an eVMCS, not ours to write (KVM). */
			if (pa == n->ev.gpa)
				evmcs_release(&n->ev);
		} else {
			((struct vmcs12 *)vmx_l1_ptr(pa))->launched = 0;
		}
		*act = succeed();
		break;
	case VMX_EXIT_VMPTRLD:
		if (read_ptr(vp, e, info, &pa, act))
			break;
		if (ptr_bad(vp, pa)) {
			*act = vmfail(n, 9);
			break;
		}
		if (pa == n->vmxon_ptr) {
			*act = vmfail(n, 10);
			break;
		}
		/* Bits 30:0 the revision, bit 31 a shadow VMCS (not offered). */
		if (*(volatile u32 *)vmx_l1_ptr(pa) != VMCS12_REVISION) {
			*act = vmfail(n, 11);
			break;
		}
		if (pa != n->current) {
			write_back(n);
			__builtin_memcpy(&n->v12, vmx_l1_ptr(pa), sizeof(n->v12));
			n->current = pa;
			n->seg_sync = false;
			/* vmcs12 no longer holds the eVMCS: its next entry
			 * reads every group (clean bits describe vmcs12). */
			evmcs_release(&n->ev);
		}
		*act = succeed();
		break;
	case VMX_EXIT_VMPTRST:
		pa = n->current;
		if (info & BIT(10)) {
			*act = inject(vp, X86_EXC_UD);
			break;
		}
		if (vmx_l1_copy(vp, vmx_operand_gva(vp, info, e->qual[0]), &pa, 8, true)) {
			*act = HV_ACT_INJECTED;
			break;
		}
		*act = succeed();
		break;
	case VMX_EXIT_VMREAD:
	case VMX_EXIT_VMWRITE: {
		bool lm64 = lma && cs_l;
		u32 size = lm64 ? 8 : 4;
		u64 enc = vp->gpr[(info >> 28) & 15];
		if (!lm64)
			enc = (u32)enc;
		if (n->current == INVALID_PTR) {
			*act = fail_invalid();
			break;
		}
		bool high;
		const struct vmcs12_field *f = enc >> 32 ? NULL : vmcs12_lookup((u32)enc, &high);
		if (!f) {
			*act = vmfail(n, 12);
			break;
		}
		u64 val = 0;
		if (basic == VMX_EXIT_VMREAD) {
			val = vmcs12_read(&n->v12, f, high);
			if (info & BIT(10)) {
				vp->gpr[(info >> 3) & 15] = lm64 ? val : (u32)val;
			} else if (vmx_l1_copy(vp, vmx_operand_gva(vp, info, e->qual[0]), &val, size, true)) {
				*act = HV_ACT_INJECTED;
				break;
			}
		} else {
			if (info & BIT(10))
				val = vp->gpr[(info >> 3) & 15];
			else if (vmx_l1_copy(vp, vmx_operand_gva(vp, info, e->qual[0]), &val, size, false)) {
				*act = HV_ACT_INJECTED;
				break;
			}
			if (!lm64)
				val = (u32)val;
			if (VMCS12_TYPE(f->enc) == VMCS12_TYPE_RO) {
				*act = vmfail(n, 13);
				break;
			}
			vmcs12_write(&n->v12, f, high, val);
			if (vmx_nested_seg_field(f->enc))
				n->seg_sync = false;
		}
		*act = succeed();
		break;
	}
	case VMX_EXIT_VMLAUNCH:
	case VMX_EXIT_VMRESUME: {
		/* The enlightened VMCS (TLFS 16.5, vmx_nested_evmcs.c): the
		 * eVMCS the VP assist page names replaces the VMPTRLD'd VMCS,
		 * which is written back and stops being current (KVM). */
		bool resume = basic == VMX_EXIT_VMRESUME;
		u64 egpa;
		bool ev = vmx_evmcs_current(vp, &egpa);
		if (!ev && n->ev.active)
			evmcs_release(&n->ev);
		if (ev) {
			write_back(n);
			n->current = INVALID_PTR;
			u32 err = vmx_nested_evmcs_load(vp, n, egpa, resume);
			if (err) {
				*act = err == 1 ? fail_invalid() : vmfail(n, err);
				vmx_nested_evmcs_exit(n);
				break;
			}
		}
		*act = launch(vp, n, resume, run, &enter);
		/* A VMfail or a failed entry: its error or exit into the eVMCS. */
		if (ev && !enter)
			vmx_nested_evmcs_exit(n);
		run->evmcs = ev && enter;
		run->evmcs_full = run->evmcs && n->ev.read == 0x1ffffu;
		/* Direct virtual flush (TLFS 16.8; nested/dflush.c): the eVMCS's
		 * NestedFlushVirtualHypercall with L2's VP and VM ids and the
		 * partition assist page (group ENLIGHTENMENTSCONTROL). */
		n->dflush = run->evmcs && (vp->part->nested_enl & HV_NESTED_DIRECT_FLUSH) &&
			    (n->ev.enl_ctl & EVMCS_ENL_NESTED_FLUSH_HYPERCALL);
		run->direct_flush = n->dflush;
		run->l2_vp_id = n->ev.vp_id;
		run->l2_vm_id = n->ev.vm_id;
		run->assist_pa = n->ev.assist_pa;
		break;
	}
	case VMX_EXIT_INVEPT:
	case VMX_EXIT_INVVPID:
		*act = inv(vp, n, e, info, basic == VMX_EXIT_INVEPT);
		break;
	default:
		*act = inject(vp, X86_EXC_UD);
		break;
	}
	return enter;
}

/* ---- into L2: vmcs02 ----------------------------------------------------------- */

static void copy_qwords(u64 *d, const u64 *s, u64 n)
{
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

static void fill_qwords(u64 *d, u64 v, u64 n)
{
	__asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(v) : "memory");
}

/* The qwords where our bitmaps have bits: few (FEATURE_CONTROL and the
 * VMX MSRs, the x2APIC ICR; the PM1 and reset ports), listed once per
 * change of L1's context's bitmaps (vmx_ctx.maps_gen). */
static u8 own_qwords(const u64 *m, u32 n, u16 *idx, bool *many)
{
	u8 k = 0;
	for (u32 i = 0; i < n; i++) {
		if (!m[i])
			continue;
		if (k == NVMX_OWN_MAX) {
			*many = true;
			return k;
		}
		idx[k++] = (u16)i;
	}
	return k;
}

/* One bitmap of vmcs02 (n qwords): all ones, ours alone, or L1's with
 * ours ORed in. L1's is copied at every entry (a plain VMCS has no clean
 * bits: L1 may have changed it); the other two only when they change. */
static void merge_bitmap(u64 *dst, const u64 *ours, const u64 *l1, bool all, u32 n, const u16 *idx,
			 u8 k, bool many, u64 *src, bool stale)
{
	if (all) {
		if (stale || *src != 2)
			fill_qwords(dst, ~0ull, n);
		*src = 2;
	} else if (!l1) {
		if (stale || *src != 1)
			copy_qwords(dst, ours, n);
		*src = 1;
	} else {
		copy_qwords(dst, l1, n);
		if (many)
			for (u32 i = 0; i < n; i++)
				dst[i] |= ours[i];
		else
			for (u8 i = 0; i < k; i++)
				dst[idx[i]] |= ours[idx[i]];
		*src = (u64)(uintptr_t)l1;
	}
}

static void merge_bitmaps(struct vmx_nested *n, const struct vmx_ctx *s1, struct vmx_ctx *s2,
			  const struct vmcs12 *v)
{
	const u32 q = PAGE_SIZE / 8;
	u32 proc = v->cpu_based_vm_exec_control;
	bool stale = n->own_for != s1 || n->own_gen != s1->maps_gen;
	if (stale) {
		n->own_many = false;
		n->n_own_msr = own_qwords((const u64 *)s1->msr_bitmap, q, n->own_msr, &n->own_many);
		n->n_own_io = own_qwords((const u64 *)s1->io_bitmap, 2 * q, n->own_io, &n->own_many);
		n->own_for = s1;
		n->own_gen = s1->maps_gen;
	}
	bool io_all = (proc & (NVMX_PROC_UNCOND_IO | PROC_USE_IO_BITMAPS)) == NVMX_PROC_UNCOND_IO;
	bool io_l1 = proc & PROC_USE_IO_BITMAPS;
	/* A and B are one 8 KiB run in vmcs02; L1's are two pages anywhere. */
	if (io_l1 && v->io_bitmap_b != v->io_bitmap_a + PAGE_SIZE) {
		copy_qwords((u64 *)s2->io_bitmap, vmx_l1_ptr(v->io_bitmap_a), q);
		copy_qwords((u64 *)(s2->io_bitmap + PAGE_SIZE), vmx_l1_ptr(v->io_bitmap_b), q);
		for (u32 i = 0; i < (n->own_many ? 2 * q : n->n_own_io); i++) {
			u32 j = n->own_many ? i : n->own_io[i];
			((u64 *)s2->io_bitmap)[j] |= ((const u64 *)s1->io_bitmap)[j];
		}
		n->src_io = 3;
	} else {
		merge_bitmap((u64 *)s2->io_bitmap, (const u64 *)s1->io_bitmap,
			     io_l1 ? vmx_l1_ptr(v->io_bitmap_a) : NULL, io_all, 2 * q, n->own_io,
			     n->n_own_io, n->own_many, &n->src_io, stale);
	}
	/* The enlightened MSR bitmap (TLFS 16.5.3): L1 clears the eVMCS's
	 * MSR_BITMAP clean bit whenever it changes its bitmap, so with the bit
	 * set (evmcs_enter: same eVMCS, not VMLAUNCH), the same bitmap and ours
	 * unchanged, vmcs02's merged one stands: 4 KiB not copied again. */
	if ((proc & PROC_USE_MSR_BITMAPS) && n->ev.active && n->ev.msr_bitmap_same && !stale &&
	    n->src_msr == (u64)(uintptr_t)vmx_l1_ptr(v->msr_bitmap)) {
		n->msr_merges_skipped++;
		return;
	}
	merge_bitmap((u64 *)s2->msr_bitmap, (const u64 *)s1->msr_bitmap,
		     (proc & PROC_USE_MSR_BITMAPS) ? vmx_l1_ptr(v->msr_bitmap) : NULL,
		     !(proc & PROC_USE_MSR_BITMAPS), q, n->own_msr, n->n_own_msr, n->own_many,
		     &n->src_msr, stale);
}

void vmx_nested_enter(struct vp *vp, struct vp_ctx *l2, bool flush)
{
	struct vmx_ctx *s1 = vmx_of(vp), *s2 = l2->be;
	struct vmx_nested *n = s2->nst;
	const struct vmcs12 *v = &n->v12;
	u32 proc12 = v->cpu_based_vm_exec_control;
	u32 proc2_12 = (proc12 & PROC_ACTIVATE_SECONDARY) ? v->secondary_vm_exec_control : 0;
	bool ia32e = v->vm_entry_controls & ENTRY_IA32E_MODE_GUEST;

	/* What L2 inherits from L1 when vmcs12 does not load it. */
	u64 l1_pat = vmread(VMCS_GUEST_PAT), l1_efer = vmread(VMCS_GUEST_EFER);
	u64 l1_dr7 = vmread(VMCS_GUEST_DR7), l1_debugctl = vmread(VMCS_GUEST_DEBUGCTL);
	u64 deadline = s1->deadline;
	if (deadline)
		vmx_set_deadline_ctx(s1, 0);
	/* The registers VMX does not switch are the processor's. */
	vmx_cpu_regs_save(&s2->regs);
	n->l1 = vp->cur;

	/* Bitmaps: L1's OR ours (L1's context's, with what hv/ asked for). */
	merge_bitmaps(n, s1, s2, v);

	vmx_ctx_switch(vp, l2);
	s2->deadline = 0;
	s2->reinject = 0;

	/* Controls: ours with L1's. */
	u32 pin = vmx.ctl.pin | (v->pin_based_vm_exec_control &
				 (PIN_EXT_INTR_EXITING | PIN_NMI_EXITING | NVMX_PIN_VIRTUAL_NMIS));
	vmwrite(VMCS_PIN_CTLS, pin & ~(u64)PIN_PREEMPT_TIMER);
	u32 proc = vmx.ctl.proc | (proc12 & (PROC_INTR_WINDOW_EXITING | NVMX_PROC_TSC_OFFSET |
					     PROC_HLT_EXITING | NVMX_PROC_NMI_WINDOW |
					     PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING |
					     NVMX_PROC_PASS));
	vmwrite(VMCS_PROC_CTLS, proc);
	u32 proc2 = PROC2_ENABLE_EPT | (vmx.ctl.proc2 & PROC2_ENABLE_VPID) |
		    (proc2_12 & PROC2_UNRESTRICTED_GUEST);
	vmwrite(VMCS_PROC2_CTLS, proc2);
	vmwrite(VMCS_EXIT_CTLS, vmx.ctl.exit | ((v->pin_based_vm_exec_control & PIN_EXT_INTR_EXITING)
						  ? (v->vm_exit_controls & NVMX_EXIT_ACK_INTR) : 0));
	u32 entry = vmx.ctl.entry & ~(u32)ENTRY_IA32E_MODE_GUEST;
	vmwrite(VMCS_ENTRY_CTLS, entry | (ia32e ? ENTRY_IA32E_MODE_GUEST : 0));
	s2->ia32e = ia32e;
	vmwrite(VMCS_EXCEPTION_BITMAP, v->exception_bitmap);
	vmwrite(VMCS_PF_ERROR_MASK, v->page_fault_error_code_mask);
	vmwrite(VMCS_PF_ERROR_MATCH, v->page_fault_error_code_match);
	vmwrite(VMCS_CR3_TARGET_COUNT, v->cr3_target_count);
	const u64 *tgt = &v->cr3_target_value0;
	for (u32 i = 0; i < 4; i++)
		vmwrite(EXTRA_CR3_TARGET0 + 2 * i, tgt[i]);
	if (proc12 & NVMX_PROC_TSC_OFFSET)
		vmwrite(EXTRA_TSC_OFFSET, v->tsc_offset);
	s2->slat = l2->slat;
	s2->eptp = l2->slat->root | EPTP_WALK_4 | EPTP_WB;
	vmwrite(VMCS_EPT_POINTER, s2->eptp);

	/* CR0/CR4: L1's mask OR ours; the bits only we own hold L2's own
	 * value in the shadow (read back at the exit). */
	n->cr0_ours = vmx.cr0_mask & ~v->cr0_guest_host_mask;
	n->cr4_ours = vmx.cr4_mask & ~v->cr4_guest_host_mask;
	vmwrite(VMCS_CR0_MASK, v->cr0_guest_host_mask | vmx.cr0_mask);
	vmwrite(VMCS_CR4_MASK, v->cr4_guest_host_mask | vmx.cr4_mask);
	vmwrite(VMCS_CR0_SHADOW, (v->cr0_read_shadow & v->cr0_guest_host_mask) |
					 (v->guest_cr0 & ~v->cr0_guest_host_mask));
	vmwrite(VMCS_CR4_SHADOW, (v->cr4_read_shadow & v->cr4_guest_host_mask) |
					 (v->guest_cr4 & ~v->cr4_guest_host_mask));
	vmwrite(VMCS_GUEST_CR0, vmx_fixed_cr(v->guest_cr0,
					     vmx_guest_cr0_fixed0(&vmx.caps, proc2 & PROC2_UNRESTRICTED_GUEST),
					     vmx.caps.cr0_fixed1));
	vmwrite(VMCS_GUEST_CR4, vmx_fixed_cr(v->guest_cr4, vmx.caps.cr4_fixed0, vmx.caps.cr4_fixed1));
	vmwrite(VMCS_GUEST_CR3, v->guest_cr3);

	/* Guest state (26.3.2). */
	/* Segments and descriptor tables: only when vmcs12's may differ from
	 * what vmcs02 holds since the last exit read them back (seg_sync). */
	if (!n->seg_sync) {
		const u16 *sel = &v->guest_es_selector;
		const u32 *lim = &v->guest_es_limit, *ar = &v->guest_es_ar_bytes;
		const u64 *base = &v->guest_es_base;
		for (int i = 0; i < SEG__COUNT; i++) {
			vmwrite(VMCS_SEG_SEL(i), sel[i]);
			vmwrite(VMCS_SEG_LIMIT(i), lim[i]);
			vmwrite(VMCS_SEG_AR(i), ar[i]);
			vmwrite(VMCS_SEG_BASE(i), base[i]);
		}
		vmwrite(VMCS_GUEST_GDTR_BASE, v->guest_gdtr_base);
		vmwrite(VMCS_GUEST_GDTR_LIMIT, v->guest_gdtr_limit);
		vmwrite(VMCS_GUEST_IDTR_BASE, v->guest_idtr_base);
		vmwrite(VMCS_GUEST_IDTR_LIMIT, v->guest_idtr_limit);
	} else {
		n->seg_writes_skipped++;
	}
	bool ld = v->vm_entry_controls & ENTRY_LOAD_DEBUG_CONTROLS;
	vmwrite(VMCS_GUEST_DR7, ld ? v->guest_dr7 : l1_dr7);
	vmwrite(VMCS_GUEST_DEBUGCTL, ld ? v->guest_ia32_debugctl : l1_debugctl);
	vmwrite(VMCS_GUEST_RIP, v->guest_rip);
	vmwrite(VMCS_GUEST_RFLAGS, v->guest_rflags);
	u64 efer = (v->vm_entry_controls & ENTRY_LOAD_IA32_EFER)
			   ? v->guest_ia32_efer
			   : (ia32e ? l1_efer | EFER_LMA | EFER_LME : l1_efer & ~(u64)(EFER_LMA | EFER_LME));
	vmwrite(VMCS_GUEST_EFER, efer);
	vmwrite(VMCS_GUEST_PAT, (v->vm_entry_controls & ENTRY_LOAD_IA32_PAT) ? v->guest_ia32_pat : l1_pat);
	vmwrite(VMCS_GUEST_SYSENTER_CS, v->guest_sysenter_cs);
	vmwrite(VMCS_GUEST_SYSENTER_ESP, v->guest_sysenter_esp);
	vmwrite(VMCS_GUEST_SYSENTER_EIP, v->guest_sysenter_eip);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, v->guest_interruptibility_info);
	vmwrite(VMCS_GUEST_ACTIVITY, v->guest_activity_state);
	vmwrite(VMCS_GUEST_PENDING_DBG, v->guest_pending_dbg_exceptions);
	vmwrite(VMCS_LINK_POINTER, ~0ull);
	/* PAE paging outside IA-32e mode with EPT: the PDPTEs come from the
	 * VMCS (26.3.2.4): L1's with its EPT, else read at L2's CR3. */
	if ((v->guest_cr0 & CR0_PG) && (v->guest_cr4 & CR4_PAE) && !ia32e) {
		u64 pd[4] = { v->guest_pdptr0, v->guest_pdptr1, v->guest_pdptr2, v->guest_pdptr3 };
		u64 at = v->guest_cr3 & 0xffffffe0ull;
		if (!(proc2_12 & PROC2_ENABLE_EPT) && vp_l1_ram(vp, at, 32))
			__builtin_memcpy(pd, vmx_l1_ptr(at), 32);
		for (u32 i = 0; i < 4; i++)
			vmwrite(EXTRA_PDPTE0 + 2 * i, pd[i]);
	}
	vp->gpr[GPR_RSP] = v->guest_rsp;

	/* Event injection into L2 (26.6), as L1 asked. */
	u32 ii = v->vm_entry_intr_info_field;
	vmwrite(VMCS_ENTRY_INTR_INFO, (ii & BIT(31)) ? ii : 0);
	if (ii & BIT(31)) {
		vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, v->vm_entry_exception_error_code);
		vmwrite(VMCS_ENTRY_INSN_LEN, v->vm_entry_instruction_len);
	}
	s2->injected = (ii & BIT(31)) != 0;

	if (flush)
		invept((vmx.caps.ept_vpid & EPT_CAP_INVEPT_SINGLE) ? INV_SINGLE_CONTEXT : INV_ALL_CONTEXT,
		       s2->eptp);
	if (flush || n->vpid_flush)
		vmx_flush_vpid(s2);
	n->vpid_flush = false;
	n->entries++;
	if (deadline)
		vmx_set_deadline_ctx(s2, deadline);
}

/* ---- out of L2: the VM exit into L1 ---------------------------------------------- */

static void to_l1(struct vp *vp, struct vmx_nested *n, u32 reason, u64 qual, u64 gpa, u32 intr_info,
		  u32 intr_err)
{
	struct vmx_ctx *s2 = vmx_of(vp), *s1 = n->l1->be;
	struct vmcs12 *v = &n->v12;

	/* Exit information (28.2). */
	v->vm_exit_reason = reason;
	v->exit_qualification = qual;
	v->guest_physical_address = gpa;
	v->guest_linear_address = vmread(VMCS_GUEST_LINEAR_ADDR);
	v->vm_exit_intr_info = intr_info;
	v->vm_exit_intr_error_code = intr_err;
	v->idt_vectoring_info_field = (u32)vmread(VMCS_IDT_VECTORING_INFO);
	v->idt_vectoring_error_code = (u32)vmread(VMCS_IDT_VECTORING_ERROR);
	v->vm_exit_instruction_len = (u32)vmread(VMCS_EXIT_INSN_LEN);
	v->vmx_instruction_info = (u32)vmread(VMCS_EXIT_INSN_INFO);
	v->vm_entry_intr_info_field &= ~BIT(31);
	/* A failed entry of vmcs02 leaves the launch state as it was (26.8). */
	if (reason & BIT(31))
		v->launched = n->prev_launched;

	/* L2's state (28.3). */
	u64 cr0 = vmread(VMCS_GUEST_CR0), cr4 = vmread(VMCS_GUEST_CR4);
	v->guest_cr0 = vmx_cr_view(cr0, vmread(VMCS_CR0_SHADOW), n->cr0_ours);
	v->guest_cr4 = vmx_cr_view(cr4, vmread(VMCS_CR4_SHADOW), n->cr4_ours);
	v->guest_cr3 = vmread(VMCS_GUEST_CR3);
	u16 *sel = &v->guest_es_selector;
	u32 *lim = &v->guest_es_limit, *ar = &v->guest_es_ar_bytes;
	u64 *base = &v->guest_es_base;
	for (int i = 0; i < SEG__COUNT; i++) {
		sel[i] = (u16)vmread(VMCS_SEG_SEL(i));
		lim[i] = (u32)vmread(VMCS_SEG_LIMIT(i));
		ar[i] = (u32)vmread(VMCS_SEG_AR(i));
		base[i] = vmread(VMCS_SEG_BASE(i));
	}
	v->guest_gdtr_base = vmread(VMCS_GUEST_GDTR_BASE);
	v->guest_gdtr_limit = (u32)vmread(VMCS_GUEST_GDTR_LIMIT);
	v->guest_idtr_base = vmread(VMCS_GUEST_IDTR_BASE);
	v->guest_idtr_limit = (u32)vmread(VMCS_GUEST_IDTR_LIMIT);
	/* L2 changes these without exits (MOV Sreg, LGDT, ...): read back at
	 * every exit (SDM 28.3.2), after which vmcs02 and vmcs12 agree. */
	n->seg_sync = true;
	v->guest_rip = vmread(VMCS_GUEST_RIP);
	v->guest_rsp = vp->gpr[GPR_RSP];
	v->guest_rflags = vmread(VMCS_GUEST_RFLAGS);
	v->guest_sysenter_cs = (u32)vmread(VMCS_GUEST_SYSENTER_CS);
	v->guest_sysenter_esp = vmread(VMCS_GUEST_SYSENTER_ESP);
	v->guest_sysenter_eip = vmread(VMCS_GUEST_SYSENTER_EIP);
	v->guest_interruptibility_info = (u32)vmread(VMCS_GUEST_INTERRUPTIBILITY);
	v->guest_activity_state = (u32)vmread(VMCS_GUEST_ACTIVITY);
	v->guest_pending_dbg_exceptions = vmread(VMCS_GUEST_PENDING_DBG);
	u64 efer = vmread(VMCS_GUEST_EFER);
	if (v->vm_exit_controls & EXIT_SAVE_IA32_EFER)
		v->guest_ia32_efer = efer;
	if (v->vm_exit_controls & EXIT_SAVE_IA32_PAT)
		v->guest_ia32_pat = vmread(VMCS_GUEST_PAT);
	if (v->vm_exit_controls & EXIT_SAVE_DEBUG_CONTROLS) {
		v->guest_dr7 = vmread(VMCS_GUEST_DR7);
		v->guest_ia32_debugctl = vmread(VMCS_GUEST_DEBUGCTL);
	}
	/* IA32_VMX_MISC bit 5: the IA-32e mode guest control follows LMA. */
	v->vm_entry_controls = (v->vm_entry_controls & ~(u32)ENTRY_IA32E_MODE_GUEST) |
			       ((efer & EFER_LMA) ? ENTRY_IA32E_MODE_GUEST : 0);

	/* An event whose delivery the exit cut short is L1's to deliver
	 * again (from the IDT-vectoring field), not ours. */
	s2->reinject = 0;
	s2->injected = false;
	vmwrite(VMCS_ENTRY_INTR_INFO, 0);
	u64 deadline = s2->deadline;
	if (deadline)
		vmx_set_deadline_ctx(s2, 0);
	vmx_cpu_regs_save(&s1->regs);
	vmx_ctx_switch(vp, n->l1);
	load_host_state(vp, v);
	if (deadline)
		vmx_set_deadline_ctx(s1, deadline);
	n->exits++;
	/* L1 reads the exit in its eVMCS, without VMREAD (TLFS 16.5). */
	vmx_nested_evmcs_exit(n);
}

/* nested/'s op: L2's exit as it happened (code 0), or the exit `code`
 * with qualification info1 and guest-physical address info2 (an EPT
 * violation or misconfiguration of L1's EPT, nested/shadow.c). */
void vmx_nested_exit(struct vp *vp, u64 code, u64 info1, u64 info2)
{
	struct vmx_nested *n = nst(vp);
	if (n->fail_reason) {
		u32 r = n->fail_reason;
		n->fail_reason = 0;
		n->entry_failures++;
		to_l1(vp, n, r, 0, 0, 0, 0);
	} else if (code)
		to_l1(vp, n, (u32)code, info1, info2, 0, 0);
	else
		to_l1(vp, n, (u32)vmread(VMCS_EXIT_REASON), vmread(VMCS_EXIT_QUAL),
		      vmread(VMCS_GUEST_PHYS_ADDR), (u32)vmread(VMCS_EXIT_INTR_INFO),
		      (u32)vmread(VMCS_EXIT_INTR_ERROR));
}

/* An exception hv.efi injects into L2 (a #GP for memory L1 may not
 * reach, ...): L1's exit if its exception bitmap asks (injected events
 * are not intercepted on the hardware, so this is the only place). */
bool vmx_nested_exception(struct vp *vp, u8 vector, bool has_error, u32 error)
{
	struct vmx_nested *n = nst(vp);
	const struct vmcs12 *v = &n->v12;
	if (!((v->exception_bitmap >> vector) & 1))
		return false;
	u32 info = vector | (VMX_INTR_TYPE_HW_EXC << VMX_INTR_TYPE_SHIFT) | VMX_INTR_INFO_VALID |
		   (has_error ? VMX_INTR_INFO_ERROR : 0);
	to_l1(vp, n, VMX_EXIT_EXCEPTION_NMI, 0, 0, info, has_error ? error : 0);
	return true;
}

/* An exit of L2 (vmx_decode_exit): L1's (HV_EXIT_NESTED), a fault on
 * the shadow of L1's EPT (HV_EXIT_NESTED_NPF), or hv.efi's own in L2's
 * context (its MSRs and ports L1 does not intercept, NMIs, the
 * preemption timer). A failed entry of vmcs02 is L1's too. */
void vmx_decode_l2(struct vp *vp, struct hv_exit *e)
{
	struct vmx_nested *n = nst(vp);
	u32 basic = VMX_EXIT_REASON_BASIC((u32)e->raw);
	if (e->reason == HV_EXIT_ENTRY_FAIL) {
		e->reason = HV_EXIT_NESTED;
		return;
	}
	if (basic == VMX_EXIT_EPT_VIOLATION && n->np) {
		e->reason = HV_EXIT_NESTED_NPF;
		return;
	}
	/* L2's VMCALL with direct virtual flush on: nested/dflush.c answers
	 * the flush calls, reflects the rest (VMCALL always exits to L1). */
	if (basic == VMX_EXIT_VMCALL && n->dflush) {
		e->reason = HV_EXIT_NESTED_HCALL;
		e->qual[1] = 1;
		return;
	}
	if (vmx_l1_wants(vp, &n->v12, basic, e->qual[0]))
		e->reason = HV_EXIT_NESTED;
}

/* The guest's own NMI while L2 runs (hv/smp.c, after its kicks): an NMI
 * exit for L1 if it set NMI exiting (26.1: NMIs then exit), else false:
 * it goes into L2. */
bool vmx_nested_nmi(struct vp *vp)
{
	struct vmx_nested *n = nst(vp);
	if (!(n->v12.pin_based_vm_exec_control & PIN_NMI_EXITING))
		return false;
	to_l1(vp, n, VMX_EXIT_EXCEPTION_NMI, 0, 0,
	      2 | (VMX_INTR_TYPE_NMI << VMX_INTR_TYPE_SHIFT) | VMX_INTR_INFO_VALID, 0);
	return true;
}

/* An interrupt of hv.efi for L1 (the SynIC's vectors, synic/deliver.c)
 * while L2 runs. With L1's external-interrupt exiting it is an external
 * interrupt exit to L1 (SDM 25.6.1), as a physical one would be: with
 * acknowledge-on-exit the vector is in the exit interruption information
 * (28.2.2) and the interrupt is delivered (0); without, L1 is current now
 * and takes it through the caller's injection (1). Linux's KVM depends on
 * it: an interrupt of L1 must never land in L2. Without L1's exiting: -1,
 * L2 takes it (as it would take a physical interrupt). */
int vmx_nested_irq(struct vp *vp, u8 vector)
{
	struct vmx_nested *n = nst(vp);
	const struct vmcs12 *v = &n->v12;
	if (!(v->pin_based_vm_exec_control & PIN_EXT_INTR_EXITING))
		return -1;
	bool ack = v->vm_exit_controls & NVMX_EXIT_ACK_INTR;
	to_l1(vp, n, VMX_EXIT_EXTERNAL_INTR, 0, 0,
	      ack ? vector | (VMX_INTR_TYPE_EXT_INTR << VMX_INTR_TYPE_SHIFT) | VMX_INTR_INFO_VALID : 0, 0);
	n->irq_exits++;
	return ack ? 0 : 1;
}

/* vmcs02's VMLAUNCH/VMRESUME failed on the CPU (a check hv.efi missed):
 * L1 sees a VM-entry failure (SDM 26.8) at the next reflection. */
void vmx_nested_entry_failed(struct vp *vp, u32 reason)
{
	nst(vp)->fail_reason = reason | BIT(31);
}

/* INIT/SIPI (hv/smp.c, vp_load_state): a VP in L2 leaves it (no exit to
 * L1: L1's view of INIT in VMX operation, SDM 26.1 / 24.8 "INIT is
 * blocked in VMX root operation", is not emulated), and L1 is out of
 * VMX operation: the restarted processor starts clean, as on SVM
 * (docs/nested.md). */
void vmx_nested_init(struct vp *vp)
{
	struct vmx_nested *n = nst(vp);
	if (!n)
		return;
	if (vp->cur->l2) {
		struct vmx_ctx *s2 = vmx_of(vp), *s1 = n->l1->be;
		u64 deadline = s2->deadline;
		if (deadline)
			vmx_set_deadline_ctx(s2, 0);
		s2->reinject = 0;
		s2->injected = false;
		vmwrite(VMCS_ENTRY_INTR_INFO, 0);
		vmx_cpu_regs_save(&s1->regs);
		vmx_ctx_switch(vp, n->l1);
		if (deadline)
			vmx_set_deadline_ctx(s1, deadline);
	}
	n->vmxon = false;
	n->current = INVALID_PTR;
	n->seg_sync = false;
}

/* Is L1 in VMX operation (CR4.VMXE may not be cleared then, SDM 24.8)? */
bool vmx_nested_vmxon(struct vp *vp)
{
	struct vmx_nested *n = nst(vp);
	return n && n->vmxon;
}

/* IA32_FEATURE_CONTROL and the VMX capability MSRs with nested=on:
 * locked with VMXON outside SMX enabled (SDM 24.7), the capabilities
 * of what is emulated (vmx_nested_msr). Writes: #GP (locked, read-only). */
enum be_msr_result vmx_nested_msr_read(struct vp *vp, u32 msr, u64 *val)
{
	if (msr == MSR_IA32_FEATURE_CONTROL) {
		*val = FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMXON_OUTSIDE_SMX;
		return BE_MSR_OK;
	}
	return vmx_nested_msr(&vmx.caps, msr, val) ? BE_MSR_GP : BE_MSR_OK;
}
