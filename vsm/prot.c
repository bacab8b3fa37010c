/*
 * prot.c - VTL memory protections and secure memory intercepts (TLFS
 * 15.5.1, 15.9, 15.13, 15.15.2): HvModifyVtlProtectionMask, the
 * partition's HvRegisterVsmPartitionConfig, the per-VTL views of guest
 * memory, and the GPA intercept message to VTL 1.
 *
 * Views (docs/vsm.md "Memory protections"): when VTL 1 is enabled for the
 * partition, VTL 0's second-level tables (partition.slat[0]) are copied
 * into slat[1], which VTL 1's contexts run on; a VTL switch then swaps the
 * root with the control structure (nCR3 in the VMCB, the EPTP in the
 * VMCS, each context tagged by its own ASID/VPID: no flush). VTL 1 keeps
 * full access; VTL 0's view is restricted page by page by what VTL 1
 * asked: every page change goes through gmem_show_page (hv/gmem.c), which
 * gives each view the one rule (gmem_base_access, the overlays) narrowed
 * by partition.vtl_prot (here), so hypervisor memory stays unmapped and
 * the xAPIC page read-only in both views.
 *
 * A VTL 0 access a protection denies faults in the view; hv/npf.c asks
 * partition.vtl_fault (here) first: the access does not complete, VTL 1's
 * SynIC gets HvMessageTypeGpaIntercept in SINT0's slot, and the VP enters
 * VTL 1 with entry reason Intercept (15.6, 15.13.3). VTL 0 stays on the
 * faulting instruction: VTL 1 relaxes the protection or moves VTL 0's RIP
 * (HvSetVpRegisters with input VTL 0) and returns.
 */
#include "vsm.h"
#include "backend.h"
#include "emulate.h"
#include "gmem.h"
#include "hypercall.h"
#include "log.h"
#include "module.h"
#include "pool.h"
#include "synic.h"
#include "tlfs.h"
#include "vpregs.h"
#include "x86.h"
#include "xcall.h"

#define VSM_MAX_PROT 512 /* protected pages (a restriction each) */

static struct {
	struct vsm_prot_page {
		u64 gpa;
		u8 acc; /* enum slat_access: what VTL 0 keeps */
	} pages[VSM_MAX_PROT];
	u32 count;
	u64 config[HV_VTL_COUNT]; /* HvRegisterVsmPartitionConfig per VTL */
	u64 intercepts, lost, queued, redelivered;
} prot;

/* Per VP: the secure intercept message that found SINT0's slot busy
 * (TLFS 11.10.3: the slot's MessagePending is set, and the hypervisor
 * delivers the message when the guest frees the slot and writes EOM).
 * One deep: VTL 0 stays on the intercepted instruction until VTL 1
 * returns, so a newer intercept of the VP describes the current access
 * and replaces the older one. A page per VP, taken at its first busy
 * slot (prot_pool). */
#define PROT_MAX_VPS 64
static struct icpt_q {
	struct hv_message m;
	volatile bool full;
} *icpt_q[PROT_MAX_VPS];
static struct pool *prot_pool;

static int prot_find(u64 gpa)
{
	for (u32 i = 0; i < prot.count; i++)
		if (prot.pages[i].gpa == gpa)
			return (int)i;
	return -1;
}

/* partition.vtl_prot: VTL 1 restricts VTL 0 only (VTL 1 is the highest). */
static enum slat_access vsm_vtl_prot(const struct partition *p, u8 vtl, u64 gpa)
{
	if (vtl != 0 || !prot.count)
		return SLAT_RWX;
	int i = prot_find(ALIGN_DOWN(gpa, PAGE_SIZE));
	return i < 0 ? SLAT_RWX : (enum slat_access)prot.pages[i].acc;
}

/* ---- HvRegisterVsmPartitionConfig (TLFS 15.5.1) -------------------------- */

/* HvRegisterVsmPartitionConfig's layout in Hyper-V (the TLFS names the
 * fields, 15.5.1.1-5): EnableVtlProtection 0, DefaultVtlProtectionMask
 * 4:1, ZeroMemOnReset 5, DenyLowerVtlStartup 6, then intercept controls
 * not offered. One instance per VTL above 0 (VTL 0 has none:
 * INVALID_PARAMETER). EnableVtlProtection is write-once; the default mask
 * is taken with it and cannot change afterwards. Only the default of
 * full access (R, W, execute: 0x7, UMX as the caller likes without MBEC)
 * is implemented: a restrictive default would restrict every page of
 * VTL 0's view, which is not built (INVALID_PARAMETER, docs/vsm.md). */
#define CFG_ENABLE BIT(0)
#define CFG_MASK_SHIFT 1
#define CFG_ZERO_ON_RESET BIT(5)

static u16 reg_partition_config_get(struct vp *t, u64 v[2])
{
	u8 vtl = t->cur->vtl;
	if (!(t->part->privileges & HV_ACCESS_VSM) || vtl == 0)
		return HV_STATUS_INVALID_PARAMETER;
	v[0] = prot.config[vtl];
	return HV_STATUS_SUCCESS;
}

static u16 reg_partition_config_set(struct vp *t, const u64 v[2])
{
	u8 vtl = t->cur->vtl;
	u64 old = prot.config[vtl], val = v[0];
	u8 mask = (u8)((val >> CFG_MASK_SHIFT) & 0xf);
	if (!(t->part->privileges & HV_ACCESS_VSM) || vtl == 0)
		return HV_STATUS_INVALID_PARAMETER;
	if (val & ~(CFG_ENABLE | (0xfull << CFG_MASK_SHIFT) | CFG_ZERO_ON_RESET))
		return HV_STATUS_INVALID_PARAMETER; /* DenyLowerVtlStartup, intercepts: not offered */
	if ((old & CFG_ENABLE) && !(val & CFG_ENABLE))
		return HV_STATUS_INVALID_PARAMETER; /* write-once (15.5.1.1) */
	if ((old & CFG_ENABLE) && ((old ^ val) & (0xfull << CFG_MASK_SHIFT)))
		return HV_STATUS_INVALID_PARAMETER; /* fixed once set (15.5.1.2) */
	if ((val & CFG_ENABLE) && (mask & 7) != 7)
		return HV_STATUS_INVALID_PARAMETER;
	prot.config[vtl] = val;
	return HV_STATUS_SUCCESS;
}

HV_VPREG_FN_ROWS(vsm_prot_vpregs) = {
	{ HV_REGISTER_VSM_PARTITION_CONFIG, "VsmPartitionConfig", reg_partition_config_get,
	  reg_partition_config_set },
};

/* ---- HvModifyVtlProtectionMask (TLFS 15.15.2) ----------------------------- */

/* MapFlags (Hyper-V's HV_MAP_GPA_*): Readable 0, Writable 1,
 * KernelExecutable 2, UserExecutable 3. With MBEC enabled for the
 * caller's VTL (HvEnablePartitionVtl EnableMbec, where the backend has it)
 * the two execute rights stay apart in VTL 0's view; without, the
 * kernel-execute bit governs all execution and UserExecutable is ignored
 * (TLFS 15.10: "If MBEC is disabled, this setting is ignored"; KMX=1
 * UMX=0 is undefined there, here it is kernel-only execution). A writable
 * page that is not readable has no second-level encoding:
 * INVALID_PARAMETER. */
#define MAP_R BIT(0)
#define MAP_W BIT(1)
#define MAP_KX BIT(2)
#define MAP_UX BIT(3)

/* Input: TargetPartitionId 8, MapFlags 4, TargetVtl (HV_INPUT_VTL) 1,
 * RsvdZ 3; the rep elements are GPA page numbers. The caller's VTL must
 * be above the target (VTL 0: ACCESS_DENIED, a VTL for itself:
 * INVALID_PARAMETER) and must have set EnableVtlProtection
 * (INVALID_VTL_STATE). */
static u16 modify_check(struct hc_ctx *c)
{
	const u8 *in = c->in;
	struct vp *vp = c->vp;
	u8 caller = vp->cur->vtl, target;
	u32 flags = hc_rd32(in + 8);
	if (caller == 0)
		return HV_STATUS_ACCESS_DENIED;
	u16 st = hc_target_partition(hc_rd64(in));
	if (st)
		return st;
	if (in[13] || in[14] || in[15])
		return HV_STATUS_INVALID_PARAMETER;
	if ((st = hc_input_vtl(vp, in[12], &target)) != HV_STATUS_SUCCESS)
		return st;
	if (target >= caller)
		return HV_STATUS_INVALID_PARAMETER;
	if ((flags & ~(MAP_R | MAP_W | MAP_KX | MAP_UX)) || ((flags & MAP_W) && !(flags & MAP_R)))
		return HV_STATUS_INVALID_PARAMETER;
	if (!(prot.config[caller] & CFG_ENABLE) || !vp->part->slat[caller].root)
		return HV_STATUS_INVALID_VTL_STATE;
	u8 x = vp->part->vtl[caller].mbec ? (u8)((flags & MAP_KX ? SLAT_ACC_KX : 0) |
						 (flags & MAP_UX ? SLAT_ACC_UX : 0))
					  : (u8)(flags & MAP_KX ? SLAT_ACC_X : 0);
	c->scratch[0] = slat_acc_from_bits((u8)((flags & MAP_R ? SLAT_ACC_R : 0) |
						 (flags & MAP_W ? SLAT_ACC_W : 0) | x));
	return HV_STATUS_SUCCESS;
}

/* Record acc for VTL 0 at gpa (full access: no entry) and show the page
 * in every view. The partition lock is held. */
static u16 prot_set(struct vp *vp, u64 gpa, enum slat_access acc)
{
	int i = prot_find(gpa);
	if (acc == SLAT_RWX) {
		if (i >= 0)
			prot.pages[i] = prot.pages[--prot.count];
	} else if (i >= 0) {
		prot.pages[i].acc = (u8)acc;
	} else if (prot.count == VSM_MAX_PROT) {
		return HV_STATUS_INSUFFICIENT_MEMORY;
	} else {
		prot.pages[prot.count++] = (struct vsm_prot_page){ gpa, (u8)acc };
	}
	vp->part->slat_gen++; /* nested/: shadows built on the old view are stale */
	return gmem_show_page(vp, gpa) ? HV_STATUS_INSUFFICIENT_MEMORY : HV_STATUS_SUCCESS;
}

/* One GPA page: inside the GPA space and ordinary RAM (TLFS 15.15.2: "Any
 * attempt to apply VTL protections on non-RAM ranges will fail with
 * HV_STATUS_INVALID_PARAMETER"; the hypervisor's own memory is not RAM to
 * the guest). */
static u16 modify_rep(struct hc_ctx *c, u32 i)
{
	struct partition *p = c->vp->part;
	u64 page = hc_rd64(c->in + 16 + 8 * c->var_hdr + 8 * (u64)i);
	u64 gpa = page << 12;
	if (page >> 52 || !gmem_in_space(p, gpa))
		return HV_STATUS_INVALID_PARAMETER;
	enum gmem_type t = gmem_classify(p, gpa, PAGE_SIZE);
	if (t != GMEM_RAM && t != GMEM_OVERLAY)
		return HV_STATUS_INVALID_PARAMETER;
	spin_lock(&p->lock);
	u16 st = prot_set(c->vp, gpa, (enum slat_access)c->scratch[0]);
	spin_unlock(&p->lock);
	return st;
}

static void flush_fn(struct vp *t, void *arg)
{
	t->part->be->slat_flush(t);
	if (t->part->view_flush)
		t->part->view_flush(t); /* nested/: the shadow of L2 is a TLB too */
}

/* The TLBs of every VP are flushed before the call returns (issue 15):
 * the caller's processor flushed with each page; the others drop what
 * they cached from the views on their processor, and xcall_mask returns
 * once each has. */
static u16 modify_round_end(struct hc_ctx *c, u32 done)
{
	struct vp *self = c->vp;
	const struct partition *p = self->part;
	if (done <= c->rep_start || !p->be->slat_flush)
		return HV_STATUS_SUCCESS;
	if (p->view_flush)
		p->view_flush(self);
	u64 mask = 0;
	for (u32 i = 0; i < p->vp_count && i < 64; i++)
		if (p->vps[i] && p->vps[i] != self)
			mask |= 1ull << i;
	if (mask)
		xcall_mask(self, mask, flush_fn, NULL);
	return HV_STATUS_SUCCESS;
}

HV_HCALL_ROWS(vsm_prot_hcalls) = {
	{ HVCALL_MODIFY_VTL_PROTECTION_MASK, HC_REP | HC_SLOW, HV_ACCESS_VSM, 16, 8, 0, 0, NULL,
	  modify_check, modify_rep, "HvModifyVtlProtectionMask", modify_round_end, NULL },
};

/* ---- secure memory intercepts (TLFS 15.13, 13.2) --------------------------- */

/* HV_X64_INTERCEPT_MESSAGE_HEADER (TLFS 13.2.2-13.2.3, Hyper-V's
 * layout): the first 40 bytes of every intercept message's payload. */
void vsm_icpt_header(struct vp *vp, u8 *payload, u8 access, u8 insn_len)
{
	const struct backend *be = vp->part->be;
	struct guest_boot_state g;
	be->vp_get_state(vp, &g);
	struct vsm_icpt_hdr *h = (struct vsm_icpt_hdr *)payload;
	u64 cpl = be->read_reg(vp, GREG_CPL);
	h->vp_index = vp->index;
	h->insn_len_cr8 = insn_len & 0xf;
	h->access = access;
	h->exec_state = (u16)((cpl & 3) | ((g.cr0 & CR0_PE) ? 4 : 0) | ((g.cr0 & CR0_AM) ? 8 : 0) |
			      ((g.efer & EFER_LMA) ? 16 : 0));
	h->cs_base = g.seg[SEG_CS].base;
	h->cs_limit = g.seg[SEG_CS].limit;
	h->cs_sel = g.seg[SEG_CS].sel;
	h->cs_attr = g.seg[SEG_CS].attr;
	h->rip = g.rip;
	h->rflags = g.rflags;
}

/* TLFS 15.13: the message goes to SINT0's slot of VTL 1's SynIC (the
 * intercept slot), and the VP enters VTL 1 with reason Intercept; the
 * lower VTL stays on the instruction. A busy slot keeps the message
 * pending (icpt_q) until VTL 1 frees it and writes EOM (icpt_eom); with
 * VTL 1's SIMP or SynIC off there is no slot: the message is lost (VTL 1
 * is still entered, and if it returns with nothing changed the
 * instruction exits again and is sent again). */
void vsm_secure_intercept(struct vp *vp, const struct hv_message *m)
{
	u16 st = synic_post_message(vp, 1, 0, m);
	if (st == HV_STATUS_INSUFFICIENT_BUFFERS) {
		struct icpt_q **q = &icpt_q[vp->index % PROT_MAX_VPS];
		if (!*q)
			*q = pool_alloc_pages(prot_pool, 1);
		if (*q) {
			(*q)->m = *m;
			(*q)->full = true;
			prot.queued++;
		} else {
			prot.lost++;
		}
	} else if (st != HV_STATUS_SUCCESS) {
		prot.lost++;
	}
	prot.intercepts++;
	vsm_switch(vp, 1, VSM_ENTRY_INTERCEPT, false);
}

/* VTL 1 of vp wrote EOM (on vp's processor, before its next entry): the
 * pending message into the slot if it is free now; if not, the post sets
 * MessagePending again and it stays pending (TLFS 11.10.3). */
static void icpt_eom(struct vp *vp, u8 vtl)
{
	struct icpt_q *q = icpt_q[vp->index % PROT_MAX_VPS];
	if (vtl != 1 || !q || !q->full)
		return;
	u16 st = synic_post_message(vp, 1, 0, &q->m);
	if (st == HV_STATUS_INSUFFICIENT_BUFFERS)
		return;
	q->full = false;
	if (st == HV_STATUS_SUCCESS)
		prot.redelivered++;
	else
		prot.lost++; /* its SIMP or SynIC went off meanwhile */
}

/* HV_X64_MEMORY_INTERCEPT_MESSAGE payload: the header, then CacheType,
 * InstructionByteCount, MemoryAccessInfo, TprPriority,
 * GuestVirtualAddress, GuestPhysicalAddress, InstructionBytes[16]. */
struct gpa_intercept {
	struct vsm_icpt_hdr h;
	u32 cache_type;
	u8 insn_count, access_info, tpr, rsvd;
	u64 gva, gpa;
	u8 insn[16];
};
_Static_assert(sizeof(struct gpa_intercept) == VSM_GPA_INTERCEPT_BYTES, "payload");

/* partition.vtl_fault: a second-level fault of VTL 0 on a page VTL 1
 * restricted. Intercepted when the protection denies the access, or when
 * the view cannot express what it allows (execute-only on NPT, which has
 * no read bit: the page is not mapped there). */
static bool vsm_vtl_fault(struct vp *vp, struct hv_exit *e, enum hv_action *act)
{
	struct partition *p = vp->part;
	u64 gpa = e->u.npf.gpa;
	if (vp->cur->vtl != 0)
		return false;
	int i = prot_find(ALIGN_DOWN(gpa, PAGE_SIZE));
	if (i < 0) {
		/* VTL 1 relaxed the page while this access faulted (another
		 * VP's HvModifyVtlProtectionMask, before its flush reached us):
		 * a fault on a present RAM page of VTL 0's view has no other
		 * cause; run the instruction again on the new view. */
		if (e->u.npf.present && p->slat[1].root && !gmem_overlay_vtl(p, gpa, 0) &&
		    gmem_classify(p, gpa, 1) == GMEM_RAM) {
			*act = HV_ACT_RESUME;
			return true;
		}
		return false;
	}
	u8 bits = slat_acc_bits((enum slat_access)prot.pages[i].acc);
	/* With MBEC a fetch at CPL 3 needs the user-execute right, at CPL 0-2
	 * the kernel one (TLFS 15.10; without MBEC both rights are equal). */
	bool user = e->u.npf.exec && vsm_vp_mbec(vp) && (p->be->read_reg(vp, GREG_CPL) & 3) == 3;
	u8 need = e->u.npf.exec ? (user ? SLAT_ACC_UX : SLAT_ACC_KX)
				: e->u.npf.write ? SLAT_ACC_W : SLAT_ACC_R;
	if (bits & need) {
		/* The access type reported is allowed: the fault came from what
		 * the view lacks (an emulator that does not report fetches, an
		 * execute-only page on NPT, EPT judging user execution by the
		 * guest page's U/S bit, SDM 29.3.3, where CPL said kernel): the
		 * first thing the mask denies. */
		if (bits == SLAT_ACC_ALL)
			return false;
		need = !(bits & SLAT_ACC_KX) ? SLAT_ACC_KX : !(bits & SLAT_ACC_UX) ? SLAT_ACC_UX
			: !(bits & SLAT_ACC_W) ? SLAT_ACC_W : SLAT_ACC_R;
	}
	if (!vp->ctx[1].live) {
		/* A VP without VTL 1 has nowhere to send it: the access fails
		 * as a #GP (logged), it never completes. */
		if (prot.lost++ < 8)
			LOGW("vp%u: VTL 0 access to protected %lx without VTL 1 on the VP: #GP",
			     vp->index, (unsigned long)gpa);
		vp_inject_gp(vp);
		*act = HV_ACT_INJECTED;
		return true;
	}
	struct hv_message m = { .h = { .type = HV_MESSAGE_GPA_INTERCEPT,
				       .payload_size = VSM_GPA_INTERCEPT_BYTES } };
	struct gpa_intercept *q = (struct gpa_intercept *)m.payload;
	/* The instruction length is not known at a second-level fault (no
	 * nRIP or exit length for it): 0, with the bytes (TLFS 13.2.2). */
	vsm_icpt_header(vp, (u8 *)q, (need & SLAT_ACC_X) ? 2 : need == SLAT_ACC_W ? 1 : 0, 0);
	q->cache_type = 6; /* write-back: the views map RAM WB */
	q->gpa = gpa;
	const struct backend *be = p->be;
	struct gwalk_regs w = { be->read_reg(vp, GREG_CR0), be->read_reg(vp, GREG_CR3),
				be->read_reg(vp, GREG_CR4), be->read_reg(vp, GREG_EFER) };
	q->insn_count = (u8)emulate_fetch(p, &w, q->h.cs_base + q->h.rip, q->insn);
	vsm_secure_intercept(vp, &m);
	*act = HV_ACT_RESUME;
	return true;
}

static void prot_dump(const struct vp *vp)
{
	if (vp->index == 0 && (prot.count || prot.intercepts))
		LOGI("vsm: %u pages protected, %lu secure intercepts (%lu not delivered, %lu "
		     "kept for a busy slot, %lu of them delivered at EOM)",
		     prot.count, (unsigned long)prot.intercepts, (unsigned long)prot.lost,
		     (unsigned long)prot.queued, (unsigned long)prot.redelivered);
}

/* The partition's hooks, whatever VSM offers: with no protection they
 * answer at once (full access, no intercept). */
static int prot_partition_init(struct partition *p, struct pool *pool)
{
	prot.count = 0;
	prot.intercepts = prot.lost = prot.queued = prot.redelivered = 0;
	prot_pool = pool;
	for (u32 i = 0; i < PROT_MAX_VPS; i++)
		if (icpt_q[i])
			icpt_q[i]->full = false;
	if (synic_add_eom_handler(icpt_eom))
		return -1;
	for (u32 i = 0; i < HV_VTL_COUNT; i++)
		prot.config[i] = 0;
	p->vtl_prot = vsm_vtl_prot;
	p->vtl_fault = vsm_vtl_fault;
	return 0;
}

HV_MODULE(vsm_prot, .on_partition = prot_partition_init, .on_dump = prot_dump);
