/*
 * hypercall.c - the hypercall interface (TLFS 3): the guest OS ID and
 * hypercall MSRs (TLFS 2.6, 3.13), the hypercall page overlay, and the
 * dispatcher for memory-based, register-based ("fast") and XMM fast calls
 * (TLFS 3.7-3.9), simple and rep, with continuation (TLFS 3.3).
 *
 * Error ordering (TLFS 3.12.2 asks that checks revealing less come first):
 *   #UD: CPL > 0, real or virtual-8086 mode, hypercall page not enabled;
 *   HV_STATUS_INVALID_HYPERCALL_CODE: unknown call code;
 *   HV_STATUS_ACCESS_DENIED: the partition lacks the call's privilege;
 *   HV_STATUS_INVALID_HYPERCALL_INPUT: reserved bits, rep count/start index
 *     on a simple call or out of range on a rep call, a variable header where
 *     none is accepted, fast for a memory-only call (or the reverse);
 *   #UD: XMM fast input/output used but not advertised (TLFS 3.7.2, 3.8.1);
 *   HV_STATUS_INVALID_ALIGNMENT: a parameter GPA unaligned, crossing a page,
 *     or outside the GPA space;
 *   HV_STATUS_INVALID_PARAMETER: a parameter GPA that is not ordinary RAM
 *     (hypervisor memory, MMIO, an overlay page), or input and output
 *     overlapping;
 *   HV_STATUS_ACCESS_DENIED: an input page the caller's VTL may not read or
 *     an output page it may not write (a higher VTL's protection, 15.9);
 *   then the call's own checks.
 */
#include "hypercall.h"
#include "backend.h"
#include "hw.h"
#include "log.h"
#include "module.h"
#include "vpregs.h"
#include "msr.h"
#include "overlay.h"
#include "gmem.h"
#include "pool.h"
#include "tlfs.h"
#include "x86.h"
#include "hv_abi.h"

/* TLFS 3.3: a rep call returns to the guest (continuation) after about
 * 50 us, or after this many elements in one exit, whichever comes first. */
#define HC_MAX_REPS_PER_EXIT 512
#define HC_FAST_BLOCK 112 /* RDX, R8, XMM0-XMM5 */

#define rd64 hc_rd64
#define rd32 hc_rd32

u16 hc_target_partition(u64 pid)
{
	return pid == HV_PARTITION_ID_SELF || pid == HV_PARTITION_ID_ROOT
		       ? HV_STATUS_SUCCESS
		       : HV_STATUS_INVALID_PARTITION_ID;
}

/* HV_INPUT_VTL (TLFS 15.x): bits 3:0 target VTL, bit 4 use it, 7:5 RsvdZ.
 * Only VTL 0 exists. */
u16 hc_target_vtl(u8 vtl)
{
	return (vtl & 0xe0) || ((vtl & 0x10) && (vtl & 0x0f)) ? HV_STATUS_INVALID_PARAMETER
							      : HV_STATUS_SUCCESS;
}

u16 hc_input_vtl(const struct vp *caller, u8 in, u8 *vtl)
{
	u8 cur = caller->cur->vtl, t = in & 0x0f;
	if (in & 0xe0)
		return HV_STATUS_INVALID_PARAMETER;
	if (!(in & 0x10)) {
		*vtl = cur;
		return HV_STATUS_SUCCESS;
	}
	/* TLFS 15.2.1: a VTL reaches its own and lower VTLs' state only. */
	if (t > cur || t >= HV_VTL_COUNT || (t && !caller->part->vtl[t].enabled))
		return HV_STATUS_INVALID_PARAMETER;
	*vtl = t;
	return HV_STATUS_SUCCESS;
}

u16 hc_target_vp(struct vp *caller, u32 index, struct vp **vp)
{
	const struct partition *p = caller->part;
	if (index == HV_VP_INDEX_SELF) { /* TLFS 7.8.1: the caller */
		*vp = caller;
		return HV_STATUS_SUCCESS;
	}
	struct vp *t = index < p->vp_count ? p->vps[index] : NULL;
	if (!t)
		return HV_STATUS_INVALID_VP_INDEX;
	*vp = t;
	return HV_STATUS_SUCCESS;
}

/* TLFS 3.14.1: no extended hypercall other than this query exists. */
static u16 hc_ext_query_capabilities(struct hc_ctx *c)
{
	*(u64 *)c->out = 0;
	return HV_STATUS_SUCCESS;
}

/* TLFS 4.2.1: the root partition's own ID. */
static u16 hc_get_partition_id(struct hc_ctx *c)
{
	*(u64 *)c->out = HV_PARTITION_ID_ROOT;
	return HV_STATUS_SUCCESS;
}

/* TLFS 14.5.1: a VP spun HV_X64 leaf 0x40000004 EBX times on a lock. Each
 * VP has its own logical processor, so there is no one to yield to: count
 * it and return. */
static u16 hc_notify_long_spin_wait(struct hc_ctx *c)
{
	c->vp->part->spin_wait_notifications++;
	c->vp->part->last_spin_count = rd64(c->in);
	return HV_STATUS_SUCCESS;
}

/* TLFS 7.10.4: header {PartitionId, TargetVtl, pad[7]}, then APIC IDs. */
static u16 hc_vp_from_apic_check(struct hc_ctx *c)
{
	u16 st = hc_target_partition(rd64(c->in));
	return st ? st : hc_target_vtl(c->in[8]);
}

static u16 hc_vp_from_apic(struct hc_ctx *c, u32 i)
{
	const struct partition *p = c->vp->part;
	u32 apic = rd32(c->in + 16 + 8 * c->var_hdr + 4 * i);
	for (u32 v = 0; v < p->vp_count; v++)
		if (p->vps[v] && p->vps[v]->apic_id == apic) {
			*(u32 *)(c->out + 4 * i) = p->vps[v]->index;
			return HV_STATUS_SUCCESS;
		}
	return HV_STATUS_INVALID_PARAMETER;
}

/* This file's own calls (the others are in their modules' files). */
HV_HCALL_ROWS(hc_core_rows) = {
	/* TLFS 14.5.1 */
	{ HVCALL_NOTIFY_LONG_SPIN_WAIT, HC_SLOW | HC_FAST, 0, 8, 0, 0, 0,
	  hc_notify_long_spin_wait, NULL, NULL, "HvNotifyLongSpinWait", NULL, NULL },
	/* TLFS 4.2.1 */
	{ HVCALL_GET_PARTITION_ID, HC_SLOW | HC_FAST, HV_ACCESS_PARTITION_ID, 0, 0, 8, 0,
	  hc_get_partition_id, NULL, NULL, "HvGetPartitionId", NULL, NULL },
	/* TLFS 7.10.4 */
	{ HVCALL_GET_VP_INDEX_FROM_APIC_ID, HC_REP | HC_SLOW | HC_FAST, HV_ACCESS_VP_INDEX,
	  16, 4, 0, 4, NULL, hc_vp_from_apic_check, hc_vp_from_apic, "HvGetVpIndexFromApicId",
	  NULL, NULL },
	/* TLFS 3.14.1 */
	{ HVCALL_EXT_QUERY_CAPABILITIES, HC_SLOW | HC_FAST, HV_ENABLE_EXTENDED_HYPERCALLS, 0, 0, 8,
	  0, hc_ext_query_capabilities, NULL, NULL, "HvExtCallQueryCapabilities", NULL, NULL },
};

extern const struct hc_call __start_hv_hcall_rows[], __stop_hv_hcall_rows[];
#define HC_ROWS __start_hv_hcall_rows
#define HC_ROW_COUNT ((u32)(__stop_hv_hcall_rows - __start_hv_hcall_rows))

/* Row + 1 by call code (0: no such call): the simple calls 0x0001-0x00FF
 * and the extended ones 0x8001-0x80FF (TLFS 3.14), built once at start. */
#define HC_WIN_SPAN 0x100u
#define HC_EXT_FIRST 0x8000u
static u16 hc_index[HC_WIN_SPAN], hc_ext_index[HC_WIN_SPAN];

static u16 *hc_slot(u16 code)
{
	if (code < HC_WIN_SPAN)
		return &hc_index[code];
	if ((u16)(code - HC_EXT_FIRST) < HC_WIN_SPAN)
		return &hc_ext_index[code - HC_EXT_FIRST];
	return NULL;
}

int hc_table_init(void)
{
	for (u32 i = 0; i < HC_WIN_SPAN; i++)
		hc_index[i] = hc_ext_index[i] = 0;
	for (u32 i = 0; i < HC_ROW_COUNT; i++) {
		const struct hc_call *c = &HC_ROWS[i];
		u16 *slot = hc_slot(c->code);
		bool handlers = (c->flags & HC_REP) ? c->rep != NULL : c->simple != NULL;
		/* HC_BARE: a simple call with its own completion, no parameters. */
		if ((c->flags & HC_BARE) && ((c->flags & HC_REP) || !c->complete || c->in_hdr ||
					     c->out_hdr || c->code >= HC_WIN_SPAN))
			handlers = false;
		if (!slot || !c->code || *slot || !handlers || !(c->flags & (HC_SLOW | HC_FAST))) {
			LOGE("hypercall row %s (code %x): out of range, duplicate or incomplete",
			     c->name, c->code);
			return -1;
		}
		*slot = (u16)(i + 1);
	}
	return 0;
}

u32 hc_row_count(void) { return HC_ROW_COUNT; }

/* Per-VP counters, one per registered row, for every VP the partition
 * can have: allocated once with the partition (a few KiB). */
static u32 *hc_counters;

static const struct hc_call *find_call(u16 code)
{
	u32 idx;
	if (code < HC_WIN_SPAN)
		idx = hc_index[code];
	else if ((u16)(code - HC_EXT_FIRST) < HC_WIN_SPAN)
		idx = hc_ext_index[code - HC_EXT_FIRST];
	else
		return NULL;
	return idx ? &HC_ROWS[idx - 1] : NULL;
}

/* Each VP's exit counters when the guest OS first identified itself
 * (HV_X64_MSR_GUEST_OS_ID, TLFS 2.6): the dump also prints the exits since
 * then, the guest OS's own without the firmware's before it (OVMF's idle
 * CPUIDs and CR writes grow with wall-clock time and blur
 * tests/linux/idle-exits.sh, docs/performance.md). */
static u64 os_mark[HV_MAX_VPS][HV_EXIT__COUNT + 1];
static bool os_marked[HV_MAX_VPS];

static void os_mark_take(const struct vp *vp)
{
	u32 i = vp->index;
	if (i >= HV_MAX_VPS || os_marked[i])
		return;
	for (u32 r = 0; r < HV_EXIT__COUNT; r++)
		os_mark[i][r] = vp->exit_count[r];
	os_mark[i][HV_EXIT__COUNT] = vp->exits;
	os_marked[i] = true;
}

static void os_mark_dump(const struct vp *vp)
{
	u32 i = vp->index;
	if (i >= HV_MAX_VPS || !os_marked[i])
		return;
	char line[240];
	size_t n = fmt_format(line, sizeof(line), "exit counters vp%u since the guest OS ID: total=%lu",
			      i, (unsigned long)(vp->exits - os_mark[i][HV_EXIT__COUNT]));
	for (u32 r = 1; r < HV_EXIT__COUNT && n < sizeof(line); r++)
		if (vp->exit_count[r] != os_mark[i][r])
			n += fmt_format(line + n, sizeof(line) - n, " %s=%lu", vp_exit_name(r),
					(unsigned long)(vp->exit_count[r] - os_mark[i][r]));
	LOGI("%s", line);
}

/* Per-VP hypercall counts by name, next to the exit counters. */
static void hc_dump_counters(const struct vp *vp)
{
	os_mark_dump(vp);
	char line[320];
	size_t n = fmt_format(line, sizeof(line), "hypercalls vp%u:", vp->index);
	bool any = false;
	if (!vp->hc_count)
		return;
	/* In call-code order, whatever the link order of the rows. */
	for (u32 code = 0; code < 2 * HC_WIN_SPAN && n < sizeof(line); code++) {
		u16 idx = code < HC_WIN_SPAN ? hc_index[code] : hc_ext_index[code - HC_WIN_SPAN];
		if (idx && vp->hc_count[idx - 1]) {
			n += fmt_format(line + n, sizeof(line) - n, " %s=%u", HC_ROWS[idx - 1].name,
					vp->hc_count[idx - 1]);
			any = true;
		}
	}
	if (any)
		LOGI("%s", line);
}

/* Hypercall privileges (the high word of TLFS 4.2.2) of implemented calls. */
u64 hc_privileges(void)
{
	u64 m = 0;
	for (u32 i = 0; i < HC_ROW_COUNT; i++)
		m |= HC_ROWS[i].privilege;
	return m & ~0xffffffffull; /* MSR privileges come from the MSR rows */
}

u32 hc_features_edx(void)
{
	return HV_FEATURE_XMM_HYPERCALL_INPUT | HV_FEATURE_XMM_HYPERCALL_OUTPUT |
	       HV_FEATURE_HYPERCALL_MSR_LOCK;
}

/* ---- the MSRs (TLFS 2.6, 3.13, 7.8.1) --------------------------------- */

static const u8 endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

/* The partition's hypercall page and the per-VP counters (a module
 * hook, include/hv/module.h). */
static int hc_partition_init(struct partition *p, struct pool *pool)
{
	u64 bytes = (u64)ARRAY_SIZE(p->vps) * HC_ROW_COUNT * sizeof(*hc_counters);
	hc_counters = pool_alloc_pages(pool, ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE);
	if (!hc_counters)
		return -1;
	if (!p->be->hypercall_insn || !p->be->slat_set_page)
		return 0; /* no hypercall interface (hv/partition.c) */
	u8 *page = pool_alloc_pages(pool, 1);
	if (!page)
		return -1;
	return hc_setup(p, page);
}

int hc_setup(struct partition *p, u8 *page)
{
	/* TLFS 3.3: return to the guest after about 50 us. */
	p->hc_budget_ticks = p->tsc_hz ? p->tsc_hz / 20000 : ~0ull;
	/* The page: ENDBR64 (for guests with indirect-branch tracking), the
	 * vendor's hypercall instruction, RET; the rest traps (INT3). */
	for (int i = 0; i < (int)PAGE_SIZE; i++)
		page[i] = 0xcc;
	for (int i = 0; i < 4; i++)
		page[i] = endbr64[i];
	for (int i = 0; i < 3; i++)
		page[4 + i] = p->be->hypercall_insn[i];
	page[7] = 0xc3;
	struct partition_vtl *v = &p->vtl[0];
	v->hypercall_page = (struct overlay){ 0, (u64)(uintptr_t)page, SLAT_RX, false, "hypercall", 1 };
	return overlay_register(p, &v->hypercall_page);
}

static int hc_msr_guest_os_id_read(struct vp *vp, u32 msr, u64 *val)
{
	*val = vp_pvtl(vp)->guest_os_id;
	return 0;
}

static int hc_msr_guest_os_id_write(struct vp *vp, u32 msr, u64 val)
{
	struct partition_vtl *p = vp_pvtl(vp);
	p->guest_os_id = val;
	if (val)
		os_mark_take(vp);
	/* TLFS 2.6 (and 3.13): zeroing the ID disables the hypercall page;
	 * but TLFS 3.13 makes a locked hypercall MSR immutable ("Once set,
	 * only system reset can clear this bit"; the lock prevents relocating
	 * the page). The more specific rule wins: the ID itself is written
	 * (it is not locked), a locked hypercall MSR and its page stay as
	 * they are. */
	if (!val && (p->hypercall_msr & HV_HYPERCALL_ENABLE) &&
	    !(p->hypercall_msr & HV_HYPERCALL_LOCKED)) {
		p->hypercall_msr &= ~HV_HYPERCALL_ENABLE;
		if (overlay_disable(vp, &p->hypercall_page))
			return 1;
	}
	return 0;
}

static int hc_msr_hypercall_read(struct vp *vp, u32 msr, u64 *val)
{
	*val = vp_pvtl(vp)->hypercall_msr;
	return 0;
}

static int hc_msr_hypercall_write(struct vp *vp, u32 msr, u64 val)
{
	struct partition_vtl *p = vp_pvtl(vp);

	if (p->hypercall_msr & HV_HYPERCALL_LOCKED)
		return 0; /* immutable until reset: writes are ignored */
	if (!p->guest_os_id)
		val &= ~HV_HYPERCALL_ENABLE; /* no OS identity yet: stays off */
	/* TLFS 3.13: a GPA beyond the GPA space is #GP. */
	if (overlay_msr_write(vp, &p->hypercall_page, val, true))
		return 1;
	p->hypercall_msr = val;
	return 0;
}

static int hc_msr_vp_index_read(struct vp *vp, u32 msr, u64 *val)
{
	*val = vp->index;
	return 0;
}

HV_MSR_ROWS(hc_msrs) = {
	{ HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_GUEST_OS_ID, HV_ACCESS_HYPERCALL_MSRS, 0,
	  hc_msr_guest_os_id_read, hc_msr_guest_os_id_write, "GUEST_OS_ID" },
	{ HV_X64_MSR_HYPERCALL, HV_X64_MSR_HYPERCALL, HV_ACCESS_HYPERCALL_MSRS, 0,
	  hc_msr_hypercall_read, hc_msr_hypercall_write, "HYPERCALL" },
	{ HV_X64_MSR_VP_INDEX, HV_X64_MSR_VP_INDEX, HV_ACCESS_VP_INDEX, 0,
	  hc_msr_vp_index_read, msr_read_only, "VP_INDEX" },
};

static int hc_vp_init(struct vp *vp, struct pool *pool)
{
	vp->hc_count = hc_counters ? hc_counters + (u64)vp->index * HC_ROW_COUNT : NULL;
	return 0;
}

HV_MODULE(hypercall, .on_partition = hc_partition_init, .on_vp = hc_vp_init,
	  .on_dump = hc_dump_counters);

/* ---- the dispatcher: decode -> validate -> execute -> complete ---------
 *
 * Each step a static function of this file (inlined: this is the path of
 * every hypercall, docs/performance.md). decode reads the input value and
 * the parameter registers; validate applies the TLFS 3.12 ordering (the
 * file header) and sets up the parameter blocks; execute runs a simple
 * call or the elements of a rep call up to the time budget; complete
 * writes the result (or the continuation) and says how the exit ends. A
 * row with a complete callback (include/hv/hypercall.h) ends the call its
 * own way once its handler ran. */

/* A call as the guest's registers give it (TLFS 3.7). */
struct hc_regs {
	bool mode64;
	bool fast;
	u16 code;
	u16 var_hdr;
	u32 count, start;
	u64 input, in_gpa, out_gpa;
};

static inline void decode(const struct vp *vp, bool mode64, struct hc_regs *h)
{
	const u64 *r = vp->gpr;
	h->mode64 = mode64;
	if (mode64) {
		h->input = r[GPR_RCX];
		h->in_gpa = r[GPR_RDX];
		h->out_gpa = r[GPR_R8];
	} else { /* TLFS 3.7: EDX:EAX, EBX:ECX, EDI:ESI */
		h->input = ((r[GPR_RDX] & 0xffffffff) << 32) | (r[GPR_RAX] & 0xffffffff);
		h->in_gpa = ((r[GPR_RBX] & 0xffffffff) << 32) | (r[GPR_RCX] & 0xffffffff);
		h->out_gpa = ((r[GPR_RDI] & 0xffffffff) << 32) | (r[GPR_RSI] & 0xffffffff);
	}
	h->code = (u16)(h->input & HV_HC_CODE_MASK);
	h->fast = h->input & HV_HC_FAST;
	h->count = (u32)((h->input >> HV_HC_REP_COUNT_SHIFT) & HV_HC_REP_MASK);
	h->start = (u32)((h->input >> HV_HC_REP_START_SHIFT) & HV_HC_REP_MASK);
	h->var_hdr = (u16)((h->input & HV_HC_VARHDR_MASK) >> HV_HC_VARHDR_SHIFT);
}

/* Result value, or updated input value on continuation (TLFS 3.8, 3.9). */
static void write_result(struct vp *vp, bool mode64, u64 v, bool to_input)
{
	if (mode64) {
		vp->gpr[to_input ? GPR_RCX : GPR_RAX] = v;
	} else {
		vp->gpr[GPR_RDX] = v >> 32;
		vp->gpr[GPR_RAX] = v & 0xffffffff;
	}
}

static bool ranges_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* The fast register block: RDX, R8 (EBX:ECX, EDI:ESI for a 32-bit
 * caller, TLFS 3.7), then XMM0-XMM5 (TLFS 3.7.2.2). */
static void fast_block_read(struct vp *vp, u8 *blk, bool mode64, bool xmm)
{
	const u64 *r = vp->gpr;
	*(u64 *)blk = mode64 ? r[GPR_RDX] : ((r[GPR_RBX] & 0xffffffff) << 32) | (u32)r[GPR_RCX];
	*(u64 *)(blk + 8) = mode64 ? r[GPR_R8] : ((r[GPR_RDI] & 0xffffffff) << 32) | (u32)r[GPR_RSI];
	if (xmm)
		hw_xmm_read(blk + 16);
}

static void fast_block_write(struct vp *vp, const u8 *blk)
{
	vp->gpr[GPR_RDX] = *(const u64 *)blk;
	vp->gpr[GPR_R8] = *(const u64 *)(blk + 8);
	hw_xmm_write(blk + 16);
}

/* How a call ends, besides its status. */
enum hc_end {
	HC_END_STATUS,   /* status and reps completed to the guest, RIP advanced */
	HC_END_UD,       /* #UD (XMM fast input/output not advertised) */
	HC_END_CONTINUE, /* TLFS 3.3: the updated input value, RIP stays */
};

/* One call on its way through the steps. The handler's context and the
 * fast register block live apart (the handler sees them), so that the
 * compiler keeps the rest in registers. */
struct hc_call_state {
	struct hc_regs h;
	const struct hc_call *c; /* the row, once found */
	struct hc_ctx *ctx;
	u8 *blk;                 /* the fast register block */
	u32 done;                /* rep elements completed */
	bool xmm_out;            /* fast output in XMM registers */
};

/* TLFS 3.12 ordering, up to the parameter blocks (ctx.in, ctx.out ready
 * on success). */
static inline u16 validate(struct vp *vp, struct hc_call_state *s, enum hc_end *end)
{
	const struct partition *p = vp->part;
	const struct hc_regs *h = &s->h;
	const struct hc_call *c = find_call(h->code);

	s->c = c;
	if (!c)
		return HV_STATUS_INVALID_HYPERCALL_CODE;
	if (vp->hc_count)
		vp->hc_count[c - HC_ROWS]++;
	if (c->privilege && !(p->privileges & c->privilege))
		return HV_STATUS_ACCESS_DENIED;
	if (h->input & HV_HC_RSVD_MASK)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if ((c->flags & HC_REP) ? (h->count == 0 || h->start >= h->count) : (h->count || h->start))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (h->var_hdr && !(c->flags & HC_VARHDR))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (!(c->flags & (h->fast ? HC_FAST : HC_SLOW)))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;

	u32 reps = (c->flags & HC_REP) ? h->count : 0;
	u64 in_len = c->in_hdr + 8ull * h->var_hdr + (u64)reps * c->in_elem;
	u64 out_len = c->out_hdr + (u64)reps * c->out_elem;
	*s->ctx = (struct hc_ctx){ vp, NULL, NULL, h->var_hdr, h->count, h->start, { 0, 0 }, NULL, NULL };

	if (h->fast) {
		bool xmm_in = in_len > 16;
		s->xmm_out = out_len > 0;
		if ((xmm_in && !(p->features_edx & HV_FEATURE_XMM_HYPERCALL_INPUT)) ||
		    (s->xmm_out && !(p->features_edx & HV_FEATURE_XMM_HYPERCALL_OUTPUT))) {
			*end = HC_END_UD;
			return HV_STATUS_SUCCESS;
		}
		/* Output follows the input, from the next 16-byte boundary;
		 * XMM output exists for 64-bit callers only (TLFS 3.8.1). */
		if (in_len > HC_FAST_BLOCK || ALIGN_UP(in_len, 16) + out_len > HC_FAST_BLOCK ||
		    (s->xmm_out && !h->mode64))
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		fast_block_read(vp, s->blk, h->mode64, xmm_in || s->xmm_out);
		s->ctx->in = s->blk;
		s->ctx->out = s->blk + ALIGN_UP(in_len, 16);
		return HV_STATUS_SUCCESS;
	}
	u16 s1 = gmem_check_param(vp->part, h->in_gpa, in_len);
	u16 s2 = gmem_check_param(vp->part, h->out_gpa, out_len);
	if (s1 == HV_STATUS_INVALID_ALIGNMENT || s2 == HV_STATUS_INVALID_ALIGNMENT)
		return HV_STATUS_INVALID_ALIGNMENT;
	if (s1 || s2 || ranges_overlap(h->in_gpa, in_len, h->out_gpa, out_len))
		return HV_STATUS_INVALID_PARAMETER;
	/* A lower VTL cannot have the hypervisor read or write for it what a
	 * higher VTL's protection denies it (TLFS 15.9): input must be
	 * readable and output writable in the caller's view, else
	 * ACCESS_DENIED (3.12.2: the status that reveals least). */
	if (p->vtl_prot) {
		u8 vtl = vp->cur->vtl;
		if ((in_len && !(slat_acc_bits(p->vtl_prot(p, vtl, h->in_gpa)) & SLAT_ACC_R)) ||
		    (out_len && (slat_acc_bits(p->vtl_prot(p, vtl, h->out_gpa)) & (SLAT_ACC_R | SLAT_ACC_W)) !=
				       (SLAT_ACC_R | SLAT_ACC_W)))
			return HV_STATUS_ACCESS_DENIED;
	}
	s->ctx->in = in_len ? hw_gpa_ptr(h->in_gpa) : NULL;
	s->ctx->out = out_len ? hw_gpa_ptr(h->out_gpa) : NULL;
	return HV_STATUS_SUCCESS;
}

/* Run the call: a simple call, or rep elements from start until all are
 * done, one fails, or the round's budget is spent (*end =
 * HC_END_CONTINUE, s->done the next start index). */
static inline u16 execute(struct vp *vp, struct hc_call_state *s, enum hc_end *end)
{
	const struct hc_call *c = s->c;
	struct hc_ctx *ctx = s->ctx;

	if (!(c->flags & HC_REP))
		return c->simple(ctx);
	u16 status = c->check ? c->check(ctx) : HV_STATUS_SUCCESS;
	const u32 start = s->h.start, count = s->h.count;
	const u64 budget = vp->part->hc_budget_ticks;
	u32 done = start;
	u64 t0 = hw_rdtsc();
	bool checked = status == HV_STATUS_SUCCESS;
	while (status == HV_STATUS_SUCCESS && done < count) {
		status = c->rep(ctx, done);
		if (status != HV_STATUS_SUCCESS)
			break;
		done++;
		/* TLFS 3.3: continuation: RIP stays on the call, the new
		 * start index goes back in the input value. */
		if (done < count && (done - start >= HC_MAX_REPS_PER_EXIT ||
				     hw_rdtsc() - t0 > budget)) {
			u16 st = c->round_end ? c->round_end(ctx, done) : HV_STATUS_SUCCESS;
			if (st != HV_STATUS_SUCCESS) {
				status = st;
				checked = false; /* round ended already */
				break;
			}
			s->done = done;
			*end = HC_END_CONTINUE;
			return HV_STATUS_SUCCESS;
		}
	}
	s->done = done;
	/* The elements that succeeded take effect even when a later one
	 * failed (TLFS 3.8: reps complete counts them). */
	if (checked && c->round_end) {
		u16 st = c->round_end(ctx, done);
		if (status == HV_STATUS_SUCCESS)
			status = st;
	}
	return status;
}

/* The guest sees the outcome. */
static inline enum hv_action complete(struct vp *vp, struct hc_call_state *s, u16 status,
				      enum hc_end end)
{
	const struct hc_regs *h = &s->h;
	switch (end) {
	case HC_END_UD:
		vp_inject_ud(vp);
		return HV_ACT_INJECTED;
	case HC_END_CONTINUE: {
		u64 in = (h->input & ~(HV_HC_REP_MASK << HV_HC_REP_START_SHIFT)) |
			 ((u64)s->done << HV_HC_REP_START_SHIFT);
		write_result(vp, h->mode64, in, true);
		if (h->fast && s->xmm_out) /* keep the outputs so far */
			fast_block_write(vp, s->blk);
		return HV_ACT_RESUME;
	}
	case HC_END_STATUS:
		break;
	}
	if (h->fast && s->xmm_out && status == HV_STATUS_SUCCESS)
		fast_block_write(vp, s->blk);
	write_result(vp, h->mode64, status | ((u64)s->done << HV_HC_RESULT_REPS_SHIFT), false);
	return HV_ACT_ADVANCE;
}

/* TLFS 3.5, 3.13: only CPL 0 in protected mode, through an enabled
 * hypercall page; anything else is an undefined opcode (false, #UD
 * queued). *mode64: a 64-bit caller. One backend call for the mode
 * (docs/performance.md). */
static inline bool hc_mode_ok(struct vp *vp, bool *mode64)
{
	u64 mode = vp->part->be->read_reg(vp, GREG_MODE);
	if ((mode & GMODE_CPL) || !(mode & GMODE_PE) || (mode & GMODE_VM) ||
	    !(vp_pvtl(vp)->hypercall_msr & HV_HYPERCALL_ENABLE)) {
		vp_inject_ud(vp);
		return false;
	}
	*mode64 = (mode & GMODE_LMA) && (mode & GMODE_CS_L);
	return true;
}

/* decode -> validate -> execute -> complete. */
static __attribute__((noinline)) enum hv_action hc_dispatch(struct vp *vp, struct hv_exit *e)
{
	bool mode64;
	if (!hc_mode_ok(vp, &mode64))
		return HV_ACT_INJECTED;
	struct hc_ctx ctx;
	u8 blk[HC_FAST_BLOCK] __attribute__((aligned(16)));
	struct hc_call_state s;
	enum hc_end end = HC_END_STATUS;
	decode(vp, mode64, &s.h);
	s.ctx = &ctx;
	s.blk = blk;
	s.done = 0;
	s.xmm_out = false;
	u16 status = validate(vp, &s, &end);
	if (status != HV_STATUS_SUCCESS || end != HC_END_STATUS)
		return complete(vp, &s, status, end);
	ctx.exit = e;
	status = execute(vp, &s, &end);
	if (s.c->complete && end == HC_END_STATUS)
		return s.c->complete(&ctx, status, s.done);
	return complete(vp, &s, status, end);
}

/* An HC_BARE row's code as the whole input value: a 64-bit caller with
 * the privilege goes straight to the row (no parameters, so none of the
 * input-value checks can fail), with only vp and exit set in its ctx;
 * anything else takes the full path. Out of line, like hc_dispatch, so
 * that neither pays for the other's frame (the fast register block): the
 * VTL call and return are a round trip of two exits (docs/performance.md). */
static __attribute__((noinline)) enum hv_action hc_bare(struct vp *vp, struct hv_exit *e,
							const struct hc_call *c)
{
	bool mode64;
	if (!hc_mode_ok(vp, &mode64))
		return HV_ACT_INJECTED;
	if (!mode64 || (vp->part->privileges & c->privilege) != c->privilege)
		return hc_dispatch(vp, e);
	if (vp->hc_count)
		vp->hc_count[c - HC_ROWS]++;
	struct hc_ctx ctx;
	ctx.vp = vp;
	ctx.exit = e;
	return c->complete(&ctx, c->simple(&ctx), 0);
}

/* Both paths are tail calls from here (no frame). */
enum hv_action hv_handle_hypercall(struct vp *vp, struct hv_exit *e)
{
	u64 in = vp->gpr[GPR_RCX];
	if (in < HC_WIN_SPAN) {
		const struct hc_call *c = find_call((u16)in);
		if (c && (c->flags & HC_BARE))
			return hc_bare(vp, e, c);
	}
	return hc_dispatch(vp, e);
}

HV_EXIT_HANDLER(exit_hypercall, HV_EXIT_HYPERCALL, hv_handle_hypercall);

HV_VPREG_ROWS(hc_vpregs) = {
	{ 0x00090001, HV_X64_MSR_HYPERCALL, false, "Hypercall" },
	{ 0x00090002, HV_X64_MSR_GUEST_OS_ID, false, "GuestOsId" },
	{ 0x00090003, HV_X64_MSR_VP_INDEX, true, "VpIndex" },
};
