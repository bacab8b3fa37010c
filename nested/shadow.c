/*
 * shadow.c - the shadow of L1's nested page tables (docs/nested.md,
 * "Memory"). L2 runs on tables that map L2 GPA -> host physical; each
 * entry is made on L2's first fault on the page by composing
 *   L1's nested page tables: L2 GPA -> L1 GPA, walked with the one guest
 *     walker (hv/walk.c) in the mode of a nested walk: 4-level long-mode
 *     format, every access a user access (APM 15.25.5), A and D set in
 *     L1's entries as the CPU would (15.25.?: "nested page table entries
 *     are updated with accessed and dirty bits");
 *   hv.efi's view of L1's memory at that L1 GPA (hv/gmem.c), the view of
 *     the L1 context's VTL (VSM: what VTL 1's protections leave VTL 0,
 *     partition.vtl_prot, docs/nested.md "VSM"): an overlay
 *     page (the hypercall page, a VP assist page) is the overlay's host
 *     page with its access; hypervisor memory and GPAs beyond the guest's
 *     space are never mapped (the access is refused: #GP into L2, as L1
 *     gets for the same access, hv/npf.c); the xAPIC page stays read-only.
 * So L2 reaches only what L1 maps AND hv.efi allows L1.
 *
 * Entries are 4K and carry the least access the faults needed: a read
 * or fetch maps the page read-only, a write maps it writable (and the
 * walk sets D in L1's entry then, not before). L1's NX is checked on the
 * walk of an instruction-fetch fault; a page first mapped by a read is
 * then executable for L2 (not tracked: the shadow entries carry no NX).
 *
 * What makes L1's edits take effect: a new nCR3 at VMRUN, TLB_CONTROL in
 * L1's VMCB, and INVLPGA (svm_nested.c) flush; a changed nCR3 or
 * TLB_CONTROL drops the shadow (shadow_reset). L1 edits to its tables
 * without one of these are not seen until then, which the APM allows (a
 * stale TLB entry may be used until the flush).
 */
#include "nested.h"
#include "gmem.h"
#include "walk.h"
#include "tlfs.h"
#include "x86.h"
#include "log.h"
#include "pool.h"

/* NPF error code bits (APM 15.25.6: a #PF error code, plus 32: the fault
 * was on the final translation, 33: on a guest page-table access). */
#define NPF_P BIT(0)
#define NPF_W BIT(1)
#define NPF_U BIT(2)
#define NPF_RSV BIT(3)
#define NPF_ID BIT(4)
#define NPF_WALK_BITS (3ull << 32)

static void *shadow_alloc(void *ctx)
{
	struct shadow *sh = ctx;
	if (sh->used >= sh->npages)
		return NULL;
	u8 *pg = sh->pages + (u64)sh->used++ * PAGE_SIZE;
	__builtin_memset(pg, 0, PAGE_SIZE);
	return pg;
}

int shadow_init(struct shadow *sh, struct pool *pool, u32 npages, const struct slat_fmt *fmt,
		bool gbpages)
{
	sh->pages = pool_alloc_pages(pool, npages);
	if (!sh->pages || npages < 8)
		return -1;
	sh->npages = npages;
	sh->gbpages = gbpages;
	sh->used = 0;
	if (slat_init(&sh->slat, fmt, shadow_alloc, sh))
		return -1;
	return 0;
}

void shadow_reset(struct shadow *sh, u64 l1_root, u32 gen)
{
	/* Page 0 is the root (slat_init allocated it first). */
	__builtin_memset(sh->pages, 0, PAGE_SIZE);
	sh->used = 1;
	sh->l1_root = l1_root;
	sh->gen = gen;
	sh->resets++;
}

/* EPT entry bits (SDM 29.3.2): read, write, execute; memory type 5:3 in
 * a leaf; 7 a large page. */
#define EPTE_R BIT(0)
#define EPTE_W BIT(1)
#define EPTE_X BIT(2)
#define EPTE_LARGE BIT(7)
#define EPTE_ADDR 0x000ffffffffff000ull
/* EPT violation qualification (SDM 28.2.1 table 28-7): the access
 * (bits 2:0), what the translation allowed (5:3), and from the CPU's own
 * exit: guest-linear-address valid (7), a final translation (8), NMI
 * unblocking by IRET (12). */
#define EPTQ_FROM_HW (BIT(7) | BIT(8) | BIT(12))

/* Walk L1's EPT (4 levels; 2 MiB pages as offered in IA32_VMX_EPT_VPID_CAP,
 * no 1 GiB pages, no execute-only, no A/D flags: vmx/vmx_nested.h) for an
 * access to L2 GPA gpa. SHADOW_MAPPED with the L1 GPA in *l1;
 * SHADOW_REFLECT with the EPT violation's qualification in *q;
 * SHADOW_MISCONFIG for a misconfigured entry (29.3.3.1). */
static enum shadow_result ept_walk(const struct partition *p, const struct shadow *sh, u64 gpa,
				   bool write, bool exec, u64 hw_q, u64 *l1, u64 *q)
{
	u64 t = sh->l1_root & EPTE_ADDR, allow = EPTE_R | EPTE_W | EPTE_X;
	u64 access = write ? EPTE_W : exec ? EPTE_X : EPTE_R;
	u64 rsv = sh->maxphy < 52 ? (EPTE_ADDR & ~((1ull << sh->maxphy) - 1)) : 0;
	*q = (write ? BIT(1) : exec ? BIT(2) : BIT(0)) | (hw_q & EPTQ_FROM_HW);
	for (int level = 3; level >= 0; level--) {
		u64 e;
		if (!gmem_read(p, t + ((gpa >> (12 + 9 * level)) & 511) * 8, &e, 8))
			return SHADOW_REFLECT; /* L1's table is not in its RAM: not present */
		if (!(e & 7)) {
			*q |= 0; /* not present: bits 5:3 clear */
			return SHADOW_REFLECT;
		}
		/* Write without read, execute-only (not offered), reserved
		 * address bits, bit 7 where no large page is offered, a leaf
		 * memory type 2, 3 or 7, a 2 MiB page's address bits 20:12. */
		bool leaf = level == 0 || (level == 1 && (e & EPTE_LARGE));
		u64 mt = (e >> 3) & 7;
		if ((e & 3) == EPTE_W || (e & 7) == EPTE_X || (e & rsv) ||
		    ((level == 3 || level == 2) && (e & EPTE_LARGE)) || (level == 3 && (e & 0x78)) ||
		    (leaf && (mt == 2 || mt == 3 || mt == 7)) ||
		    (level == 1 && leaf && (e & 0x1ff000)))
			return SHADOW_MISCONFIG;
		allow &= e;
		if (leaf) {
			u64 sz = 1ull << (12 + 9 * level);
			*l1 = (e & EPTE_ADDR & ~(sz - 1)) | (gpa & (sz - 1) & ~(u64)(PAGE_SIZE - 1));
			break;
		}
		t = e & EPTE_ADDR;
	}
	*q |= (allow & 7) << 3;
	if (!(allow & access))
		return SHADOW_REFLECT;
	return SHADOW_MAPPED;
}

/* L2 GPA gpa through L1's EPT for a read (nested/dflush.c: an L2
 * hypercall's input): true with the L1 GPA (its page offset kept). */
bool shadow_ept_translate(const struct partition *p, const struct shadow *sh, u64 gpa, u64 *l1)
{
	u64 q;
	if (ept_walk(p, sh, gpa, false, false, 0, l1, &q) != SHADOW_MAPPED)
		return false;
	*l1 |= gpa & (PAGE_SIZE - 1);
	return true;
}

/* hv.efi's view of L1 GPA l1 composed into the shadow (see the top). */
static enum shadow_result compose(const struct partition *p, struct shadow *sh, u64 page, u64 l1,
				  bool write, bool exec)
{
	u64 hpa = l1;
	enum slat_access acc;
	struct overlay *o = gmem_overlay_vtl(p, l1, sh->vtl); /* that VTL's overlays (15.11) */
	if (o) {
		hpa = o->hpa;
		acc = (enum slat_access)o->acc;
	} else if (!gmem_in_space(p, l1) || gmem_hidden(p, l1)) {
		return SHADOW_DENIED;
	} else {
		acc = gmem_base_access(p, l1);
	}
	/* L2's access is an access of L1's VTL (TLFS 15.9: the protections
	 * a higher VTL set hold for everything the lower VTL runs): the
	 * shadow gets no more than that VTL's own view has (hv/gmem.c
	 * gmem_show_page). */
	enum slat_access vacc = p->vtl_prot ? p->vtl_prot(p, sh->vtl, l1) : SLAT_RWX;
	const struct slat_fmt *f = sh->slat.fmt;
	u64 leaf;
	if (vacc != SLAT_RWX) {
		/* A restricted page: the access needs its right in the view
		 * (a fetch: execute; a read: read), and the entry carries the
		 * view's rights less write for a read or fetch, so a page
		 * first read is not executable unless the view allows it. */
		u8 bits = slat_acc_bits(slat_acc_min(acc, vacc));
		u8 need = write ? SLAT_ACC_W : exec ? SLAT_ACC_X : SLAT_ACC_R;
		leaf = (bits & need) ? slat_leaf_flags(f, slat_acc_from_bits(write ? bits
							: (u8)(bits & ~SLAT_ACC_W)))
				     : 0;
		if (!leaf) {
			sh->vtl_denied++;
			return SHADOW_DENIED;
		}
	} else {
		if (acc == SLAT_NONE || (write && acc != SLAT_RWX))
			return SHADOW_DENIED;
		leaf = write ? f->leaf_flags : (f->leaf_flags & ~f->write_flag);
	}
	if (slat_set_4k(&sh->slat, page, hpa, leaf))
		return SHADOW_FULL;
	return SHADOW_MAPPED;
}

enum shadow_result shadow_fault(const struct partition *p, struct shadow *sh, u64 gpa,
				bool write, bool exec, u64 hw_info1, u64 *info1)
{
	if (sh->l1_ept) {
		u64 l1 = 0;
		sh->faults++;
		enum shadow_result r = ept_walk(p, sh, gpa, write, exec, hw_info1, &l1, info1);
		if (r != SHADOW_MAPPED) {
			sh->reflected++;
			LOGD("nested: L2 GPA %lx: L1's EPT at %lx: %s", (unsigned long)gpa,
			     (unsigned long)sh->l1_root, r == SHADOW_REFLECT ? "violation" : "misconfiguration");
			return r;
		}
		return compose(p, sh, ALIGN_DOWN(gpa, PAGE_SIZE), l1, write, exec);
	}
	struct xlate_state st = {
		.cr0 = CR0_PE | CR0_PG | CR0_WP,
		.cr3 = sh->l1_root,
		.cr4 = CR4_PAE,
		.efer = EFER_LME | EFER_LMA | EFER_NXE,
		.cpl = 3, /* nested walks are user accesses (APM 15.25.5) */
		.gbpages = sh->gbpages,
	};
	u64 flags = HV_TRANSLATE_GVA_VALIDATE_READ | HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS |
		    (write ? HV_TRANSLATE_GVA_VALIDATE_WRITE : 0) |
		    (exec ? HV_TRANSLATE_GVA_VALIDATE_EXECUTE : 0);
	struct xlate_out out = { 0 };
	u64 page = ALIGN_DOWN(gpa, PAGE_SIZE);

	sh->faults++;
	u32 r = walk_gva(p, &st, page >> 12, flags, &out); /* page numbers */
	if (r != HV_TRANSLATE_GVA_SUCCESS) {
		u64 code = NPF_U | (write ? NPF_W : 0) | (exec ? NPF_ID : 0) | (hw_info1 & NPF_WALK_BITS);
		if (r == HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION || r == HV_TRANSLATE_GVA_GPA_ILLEGAL_OVERLAY_ACCESS)
			code |= NPF_P;
		else if (r == HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS)
			code |= NPF_P | NPF_RSV;
		/* not present, or L1's tables are not in its RAM: not present */
		*info1 = code;
		sh->reflected++;
		LOGD("nested: L2 GPA %lx: L1's tables at %lx say %u: NPF to L1", (unsigned long)gpa,
		     (unsigned long)sh->l1_root, r);
		return SHADOW_REFLECT;
	}

	return compose(p, sh, page, out.gpa_page << 12, write, exec);
}
