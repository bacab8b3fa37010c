/*
 * flush.c - the nested flush hypercalls (TLFS 16.13.1-16.13.2;
 * docs/nested.md, "Enlightenments"): L1 tells hv.efi that it changed its
 * nested page tables, instead of relying on TLB_CONTROL or an ASID change
 * (Linux's KVM with the enlightened NPT TLB, leaf 0x4000000A bit 22:
 * kvm_onhyperv.c, hv_remote_flush_tlb).
 *
 *   HvFlushGuestPhysicalAddressSpace (0x00AF)  AddressSpace, Flags
 *   HvFlushGuestPhysicalAddressList (0x00B0)   AddressSpace, Flags; rep
 *                                              GpaRange elements
 *
 * "The virtual TLB invalidation operation acts on all processors" and is
 * complete when the call returns: each VP drops its shadow of L1's tables
 * on its own processor (xcall), and a VP that is in L2 at that moment
 * also flushes its L2 ASID before it runs L2 again. The shadow caches
 * L2 GPA -> GPA mappings of every L1 root it follows, so flushing more
 * than asked (every root, the whole space for a list) is allowed: a TLB
 * may always be flushed more (TLFS 16.9.1, "shadow page tables appear
 * to software as large TLBs").
 *
 * Statuses, in the order of the checks (TLFS 3.12 for what the dispatcher
 * checks first; 16.13 for these):
 *   HV_STATUS_INVALID_VP_STATE    nested=off, or the caller's EFER.SVME
 *                                 (VMX: CR4.VMXE) is clear ("not in
 *                                 nested hypervisor mode")
 *   HV_STATUS_INVALID_PARAMETER   Flags not 0 (all reserved); an
 *                                 AddressSpace that is no nCR3 (bits
 *                                 other than PWT/PCD below bit 12, or
 *                                 bits at or above the physical address
 *                                 width, APM 15.25.4); on VMX no EPT root
 *                                 (16.9: "the address of the EPT PML4
 *                                 table": bare, as Linux passes it, or as
 *                                 an EPTP with WB/UC and a 4-level walk,
 *                                 SDM 25.6.11); a list element
 *                                 whose range leaves the L2 GPA space
 *                                 (the elements before it are done)
 */
#include "nested.h"
#include "backend.h"
#include "hypercall.h"
#include "tlfs.h"
#include "x86.h"
#include "xcall.h"

/* A GpaRange element (TLFS 16.13.2; Linux's hv_gpa_page_range): bits
 * 10:0 additional pages, bit 11 large page (2 MiB units), 63:12 the base
 * page number. */
#define GPA_RANGE_ADDITIONAL 0x7ffull
#define GPA_RANGE_LARGE BIT(11)

/* nCR3: PWT and PCD may be set (APM 15.25.4: the format of CR3). */
#define NCR3_LOW_OK (BIT(3) | BIT(4))

/* An EPTP's low 12 bits (SDM 25.6.11): memory type UC (0) or WB (6) in
 * 2:0, a 4-level walk (3) in 5:3, A/D in 6, 11:7 reserved; or none. */
static bool eptp_low_ok(u64 low)
{
	if (!low)
		return true;
	u64 type = low & 7;
	return (type == 0 || type == 6) && ((low >> 3) & 7) == 3 && !(low & 0xf80);
}

/* Also used by host tests (tests/host/test_nested.c). mode: the
 * caller's EFER (SVM) or CR4 as it reads it (VMX). */
u16 nested_flush_check(const struct partition *p, u64 mode, u64 space, u64 flags)
{
	bool vmx = p->be->nested_vmx;
	if (!p->nested || !(mode & (vmx ? CR4_VMXE : EFER_SVME)))
		return HV_STATUS_INVALID_VP_STATE;
	if (flags)
		return HV_STATUS_INVALID_PARAMETER;
	if (vmx ? !eptp_low_ok(space & 0xfff) : (space & 0xfff & ~NCR3_LOW_OK))
		return HV_STATUS_INVALID_PARAMETER;
	if (p->phys_addr_bits < 64 && (space >> p->phys_addr_bits))
		return HV_STATUS_INVALID_PARAMETER;
	return HV_STATUS_SUCCESS;
}

bool nested_gpa_range_ok(const struct partition *p, u64 e)
{
	u64 unit = (e & GPA_RANGE_LARGE) ? 0x200000ull : 0x1000ull;
	u64 base = e & ~0xfffull, pages = (e & GPA_RANGE_ADDITIONAL) + 1;
	if ((e & GPA_RANGE_LARGE) && (base & (unit - 1)))
		return false; /* a large page's base is 2 MiB aligned */
	u64 end = base + pages * unit; /* at most 2^52 + 2^32: no overflow */
	return end > base && (p->phys_addr_bits >= 64 || end <= (1ull << p->phys_addr_bits));
}

/* On each VP's own processor: drop its shadow; in L2, flush its ASID. */
static void flush_on(struct vp *t, void *arg)
{
	struct nested_vp *n = t->nested;
	if (!n)
		return;
	shadow_reset(&n->sh, n->sh.l1_root, t->part->slat_gen);
	n->hv_flushes++;
	if (t->cur->l2)
		t->part->be->tlb_flush(t, TLB_FLUSH_ALL, 0);
}

static void flush_all(struct vp *self)
{
	const struct partition *p = self->part;
	u64 mask = p->vp_count >= 64 ? ~0ull : (1ull << p->vp_count) - 1;
	xcall_mask(self, mask, flush_on, NULL);
}

static u16 header(struct hc_ctx *c)
{
	struct vp *vp = c->vp;
	const struct backend *be = vp->part->be;
	return nested_flush_check(vp->part, be->read_reg(vp, be->nested_vmx ? GREG_CR4 : GREG_EFER),
				  hc_rd64(c->in), hc_rd64(c->in + 8));
}

static u16 hc_flush_gpa_space(struct hc_ctx *c)
{
	u16 st = header(c);
	if (!st)
		flush_all(c->vp);
	return st;
}

static u16 hc_flush_gpa_list_elem(struct hc_ctx *c, u32 i)
{
	return nested_gpa_range_ok(c->vp->part, hc_rd64(c->in + 16 + 8ull * i))
		       ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
}

/* The ranges of the round that were valid are flushed before the call
 * returns (or continues): the whole shadow, see the top. */
static u16 hc_flush_gpa_list_round(struct hc_ctx *c, u32 done)
{
	if (done > c->rep_start)
		flush_all(c->vp);
	return HV_STATUS_SUCCESS;
}

HV_HCALL_ROWS(nested_hcalls) = {
	{ HVCALL_FLUSH_GUEST_PHYSICAL_ADDRESS_SPACE, HC_SLOW | HC_FAST, 0, 16, 0, 0, 0,
	  hc_flush_gpa_space, NULL, NULL, "HvFlushGuestPhysicalAddressSpace", NULL, NULL },
	{ HVCALL_FLUSH_GUEST_PHYSICAL_ADDRESS_LIST, HC_REP | HC_SLOW, 0, 16, 8, 0, 0, NULL, header,
	  hc_flush_gpa_list_elem, "HvFlushGuestPhysicalAddressList", hc_flush_gpa_list_round, NULL },
};
