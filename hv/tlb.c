/*
 * tlb.c - the virtual TLB and IPI hypercalls: HvSwitchVirtualAddressSpace,
 * HvFlushVirtualAddressSpace/List and their Ex forms (TLFS 9.4.1-9.4.5),
 * HvCallSendSyntheticClusterIpi/Ex (TLFS 10.5.2-10.5.3).
 *
 * A flush runs on each target VP's own processor through a cross-VP call
 * (hv/xcall.c): the caller returns only when every target has flushed, or
 * is in the host with the flush done before it next enters the guest.
 * Flushes are tagged by the VP's ASID/VPID (backend tlb_flush): a list of
 * up to FLUSH_ADDR_MAX pages is flushed page by page (INVLPGA, INVVPID
 * individual-address), a longer list or a whole space flushes the VP's
 * tag, keeping global translations when the guest allows it.
 */
#include "hypercall.h"
#include "backend.h"
#include "gmem.h"
#include "walk.h"
#include "kick.h"
#include "vpset.h"
#include "xcall.h"
#include "boot_info.h"
#include "log.h"
#include "tlfs.h"
#include "x86.h"

#define FLUSH_ADDR_MAX 64

struct flush_req {
	bool nonglobal;
	u32 n;                    /* pages in addr[]; n > FLUSH_ADDR_MAX: all */
	u64 addr[FLUSH_ADDR_MAX];
};

static void flush_on(struct vp *t, void *arg)
{
	const struct flush_req *r = arg;
	const struct backend *be = t->part->be;
	if (r->n && r->n <= FLUSH_ADDR_MAX) {
		for (u32 i = 0; i < r->n; i++)
			be->tlb_flush(t, TLB_FLUSH_ADDR, r->addr[i]);
	} else {
		be->tlb_flush(t, r->nonglobal ? TLB_FLUSH_NONGLOBAL : TLB_FLUSH_ALL, 0);
	}
}

/* An address space ID is a CR3 value (TLFS 9.3.1): no bits above the
 * physical address width. */
static inline bool bad_cr3(const struct partition *p, u64 cr3)
{
	return !gmem_in_space(p, cr3);
}

/* The header common to the four flush calls: AddressSpace, Flags (TLFS
 * 9.3.2, 9.4.2). */
static u16 check_flags(const struct partition *p, const u8 *in, bool list)
{
	u64 space = hc_rd64(in), flags = hc_rd64(in + 8);
	u64 ok = HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES |
		 (list ? 0 : HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY);
	if (flags & ~ok)
		return HV_STATUS_INVALID_PARAMETER;
	if (!(flags & HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES) && bad_cr3(p, space))
		return HV_STATUS_INVALID_PARAMETER;
	return HV_STATUS_SUCCESS;
}

/* The target VPs: all, the 64-bit ProcessorMask at in + 16, or (ex) the
 * HV_VP_SET there with `banks` bank words. An empty set without
 * HV_FLUSH_ALL_PROCESSORS is invalid (TLFS 9.4.2). */
static u16 flush_targets(const struct hc_ctx *c, bool ex, u64 *mask)
{
	const struct partition *p = c->vp->part;
	if (hc_rd64(c->in + 8) & HV_FLUSH_ALL_PROCESSORS) {
		*mask = vpset_all(p);
		return HV_STATUS_SUCCESS;
	}
	u16 st = ex ? vpset_parse(p, c->in + 16, c->var_hdr, mask)
		    : vpset_mask_check(p, *mask = hc_rd64(c->in + 16));
	if (st)
		return st;
	return *mask ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
}

static u16 flush_space(struct hc_ctx *c, bool ex)
{
	u64 mask;
	u16 st = check_flags(c->vp->part, c->in, false);
	if (!st)
		st = flush_targets(c, ex, &mask);
	if (st)
		return st;
	struct flush_req r; /* addr[] unused: not cleared (a whole-tag flush) */
	r.nonglobal = (hc_rd64(c->in + 8) & HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY) != 0;
	r.n = 0;
	xcall_mask(c->vp, mask, flush_on, &r);
	return HV_STATUS_SUCCESS;
}

static u16 hc_flush_space(struct hc_ctx *c) { return flush_space(c, false); }
static u16 hc_flush_space_ex(struct hc_ctx *c) { return flush_space(c, true); }

/* The list calls: the header is checked once per round and the targets
 * kept in scratch[0]; the GVA ranges of the round are flushed together at
 * its end (round_end), so a continuation has flushed what it reports. */
static u16 flush_list_check(struct hc_ctx *c, bool ex)
{
	u16 st = check_flags(c->vp->part, c->in, true);
	if (!st)
		st = flush_targets(c, ex, &c->scratch[0]);
	c->scratch[1] = ex ? 32 + 8ull * c->var_hdr : 24; /* where the list starts */
	return st;
}

static u16 hc_flush_list_check(struct hc_ctx *c) { return flush_list_check(c, false); }
static u16 hc_flush_list_ex_check(struct hc_ctx *c) { return flush_list_check(c, true); }

/* Every GVA range is valid: addresses beyond the GVA space are ignored
 * (TLFS 9.4.4); round_end flushes. */
static u16 hc_flush_list_elem(struct hc_ctx *c, u32 i) { return HV_STATUS_SUCCESS; }

static u16 hc_flush_list_round(struct hc_ctx *c, u32 done)
{
	struct flush_req r; /* addr[0, n) filled below, the rest unused */
	r.nonglobal = false;
	r.n = 0;
	const u8 *list = c->in + c->scratch[1];

	/* Each element: a page number in 63:12, additional pages in 11:0
	 * (TLFS 9.4.4). Too many pages, or an address that may be beyond a
	 * 4-level GVA space (5-level paging), flush the whole tag instead. */
	for (u32 i = c->rep_start; i < done && r.n <= FLUSH_ADDR_MAX; i++) {
		u64 e = hc_rd64(list + 8ull * i);
		u64 base = e & ~0xfffull, pages = (e & 0xfff) + 1;
		for (u64 k = 0; k < pages && r.n <= FLUSH_ADDR_MAX; k++) {
			u64 va = base + (k << 12);
			if (!walk_canonical(va, false))
				r.n = FLUSH_ADDR_MAX + 1;
			else if (r.n < FLUSH_ADDR_MAX)
				r.addr[r.n++] = va;
			else
				r.n++;
		}
	}
	if (r.n)
		xcall_mask(c->vp, c->scratch[0], flush_on, &r);
	return HV_STATUS_SUCCESS;
}

/* TLFS 9.4.1: load CR3 without the flush a MOV to CR3 implies. */
static u16 hc_switch_address_space(struct hc_ctx *c)
{
	struct vp *vp = c->vp;
	const struct backend *be = vp->part->be;
	u64 cr3 = hc_rd64(c->in);
	bool lma = be->read_reg(vp, GREG_EFER) & EFER_LMA;
	if (bad_cr3(vp->part, cr3) || (!lma && (cr3 >> 32)))
		return HV_STATUS_INVALID_PARAMETER;
	struct guest_boot_state gs;
	be->vp_get_state(vp, &gs);
	gs.cr3 = cr3;
	be->vp_set_state(vp, &gs);
	return HV_STATUS_SUCCESS;
}

/* TLFS 10.5.2-10.5.3: Vector (4 bytes), TargetVtl (1, HV_INPUT_VTL:
 * the caller's VTL or a lower enabled one, TLFS 15.15.1), RsvdZ (3). */
static u16 ipi_header(const struct hc_ctx *c, u8 *vector, u8 *vtl)
{
	u32 v = hc_rd32(c->in);
	if (v < 0x10 || v > 0xff || c->in[5] || c->in[6] || c->in[7])
		return HV_STATUS_INVALID_PARAMETER;
	*vector = (u8)v;
	return hc_input_vtl(c->vp, c->in[4], vtl);
}

/* VTL 0's interrupts go through the (shared) local APIC; a higher VTL's
 * to the VSM module, which switches the target to it (TLFS 15.12.2). */
static u16 send_ipi(struct hc_ctx *c, u64 mask, u8 vector, u8 vtl)
{
	struct partition *p = c->vp->part;
	for (u32 i = 0; i < p->vp_count; i++)
		if ((mask & BIT(i)) && p->vps[i]) {
			if (!vtl)
				kick_fixed_ipi(c->vp, p->vps[i], vector);
			else if (p->vtl_irq)
				p->vtl_irq(c->vp, p->vps[i], vtl, vector);
		}
	return HV_STATUS_SUCCESS;
}

static u16 hc_send_ipi(struct hc_ctx *c)
{
	u8 vector, vtl = 0;
	u64 mask = hc_rd64(c->in + 8);
	u16 st = ipi_header(c, &vector, &vtl);
	if (!st)
		st = vpset_mask_check(c->vp->part, mask);
	return st ? st : send_ipi(c, mask, vector, vtl);
}

static u16 hc_send_ipi_ex(struct hc_ctx *c)
{
	u8 vector, vtl = 0;
	u64 mask;
	u16 st = ipi_header(c, &vector, &vtl);
	if (!st)
		st = vpset_parse(c->vp->part, c->in + 8, c->var_hdr, &mask);
	return st ? st : send_ipi(c, mask, vector, vtl);
}

/* TLFS 9.4.1-9.4.5, 10.5.2-10.5.3. The Ex forms carry an HV_VP_SET whose
 * banks are the variable header (TLFS 7.8.7.3). */
HV_HCALL_ROWS(tlb_hcalls) = {
	{ HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE, HC_SLOW | HC_FAST, 0, 8, 0, 0, 0,
	  hc_switch_address_space, NULL, NULL, "HvSwitchVirtualAddressSpace", NULL, NULL },
	{ HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, HC_SLOW | HC_FAST, 0, 24, 0, 0, 0, hc_flush_space,
	  NULL, NULL, "HvFlushVirtualAddressSpace", NULL, NULL },
	{ HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, HC_REP | HC_SLOW | HC_FAST, 0, 24, 8, 0, 0, NULL,
	  hc_flush_list_check, hc_flush_list_elem, "HvFlushVirtualAddressList", hc_flush_list_round,
	  NULL },
	{ HVCALL_SEND_IPI, HC_SLOW | HC_FAST, 0, 16, 0, 0, 0, hc_send_ipi, NULL, NULL,
	  "HvCallSendSyntheticClusterIpi", NULL, NULL },
	{ HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, HC_SLOW | HC_FAST | HC_VARHDR, 0, 32, 0, 0, 0,
	  hc_flush_space_ex, NULL, NULL, "HvFlushVirtualAddressSpaceEx", NULL, NULL },
	{ HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX, HC_REP | HC_SLOW | HC_FAST | HC_VARHDR, 0, 32, 8, 0,
	  0, NULL, hc_flush_list_ex_check, hc_flush_list_elem, "HvFlushVirtualAddressListEx",
	  hc_flush_list_round, NULL },
	{ HVCALL_SEND_IPI_EX, HC_SLOW | HC_FAST | HC_VARHDR, 0, 24, 0, 0, 0, hc_send_ipi_ex, NULL,
	  NULL, "HvCallSendSyntheticClusterIpiEx", NULL, NULL },
};
