/*
 * synic.c - the synthetic interrupt controller (TLFS 11) per VP and VTL
 * context: its MSRs (11.8), the SIM and SIEF pages (11.9), message slots
 * (11.4, 11.10.4) and event flags (11.5, 11.10.5). Interrupts go out
 * through synic/deliver.c; ports and connections are synic/port.c's.
 *
 * The registers follow TLFS 11.8: RsvdP bits are stored and read back,
 * SVERSION is read-only (#GP on write), EOM reads 0, and a SINT's vector
 * must be 16-255 (#GP otherwise) unless the SINT is written masked: the
 * reset value 0x10000 has vector 0, and guests write it back (KVM accepts
 * it for the same reason, for Hyper-V on Hyper-V).
 */
#include "synic_ctx.h"
#include "hw.h"
#include "log.h"
#include "module.h"
#include "overlay.h"
#include "pool.h"
#include "tlfs.h"
#include "vpregs.h"

#define SVERSION_1 1ull /* TLFS 11.8.2 */

static struct synic_ctx *cur_synic(const struct vp *vp)
{
	return vp->cur->synic;
}

u64 synic_sint(const struct vp *vp, u8 vtl, u32 sint)
{
	const struct synic_ctx *s = vtl < HV_VTL_COUNT ? vp->ctx[vtl].synic : NULL;
	return s && sint < HV_SINT_COUNT ? s->sint[sint] : HV_SINT_MASKED;
}

bool synic_simp_enabled(const struct vp *vp, u8 vtl)
{
	const struct synic_ctx *s = vtl < HV_VTL_COUNT ? vp->ctx[vtl].synic : NULL;
	return s && (s->scontrol & SYNIC_SCONTROL_ENABLE) && (s->simp & SYNIC_PAGE_ENABLE);
}

/* Raise the SINT as its register says: nothing when masked or polling
 * (TLFS 11.8.5: polling unmasks the source "except that an actual
 * interrupt is not generated"). */
static void raise_sint(struct vp *vp, u8 vtl, u64 sint)
{
	if (sint & (HV_SINT_MASKED | HV_SINT_POLLING))
		return;
	synic_raise(vp, vtl, (u8)(sint & HV_SINT_VECTOR_MASK), (sint & HV_SINT_AUTO_EOI) != 0);
}

/* TLFS 11.4: write the message into SINT sint's slot if it is empty
 * (MessageType HvMessageTypeNone). The slot is claimed with a
 * compare-and-exchange on its first quadword (type, size, flags), so two
 * processors posting to one slot, or the guest emptying it meanwhile,
 * never lose a message or a MessagePending flag. */
u16 synic_post_message(struct vp *vp, u8 vtl, u32 sint, const struct hv_message *msg)
{
	struct synic_ctx *s = vtl < HV_VTL_COUNT ? vp->ctx[vtl].synic : NULL;
	if (sint >= HV_SINT_COUNT || !msg->h.type || msg->h.payload_size > HV_MESSAGE_PAYLOAD_BYTES)
		return HV_STATUS_INVALID_PARAMETER;
	if (!s || !synic_simp_enabled(vp, vtl))
		return HV_STATUS_INVALID_SYNIC_STATE;
	volatile struct hv_message *slot = &s->msg[sint];
	volatile u64 *head = (volatile u64 *)slot;
	/* A claim marker no guest can post: type 0xFFFFFFFF (hypervisor
	 * range) while the payload is copied; the real type goes in last. */
	const u64 claim = 0xffffffffull;
	for (;;) {
		u64 old = __atomic_load_n(head, __ATOMIC_ACQUIRE);
		if ((u32)old != 0) {
			/* Busy: TLFS 11.10.3, MessagePending tells the guest to
			 * write EOM once it emptied the slot. */
			u64 want = old | ((u64)HV_MESSAGE_FLAG_PENDING << 40);
			if (old == want ||
			    __atomic_compare_exchange_n(head, &old, want, false, __ATOMIC_SEQ_CST,
							__ATOMIC_SEQ_CST)) {
				__atomic_add_fetch(&s->busy, 1, __ATOMIC_RELAXED);
				return HV_STATUS_INSUFFICIENT_BUFFERS;
			}
			continue;
		}
		if (__atomic_compare_exchange_n(head, &old, claim, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			break;
	}
	slot->h.origin = msg->h.origin;
	u32 qw = (msg->h.payload_size + 7u) / 8u;
	for (u32 i = 0; i < qw; i++)
		slot->payload[i] = msg->payload[i];
	/* Type, size, flags (MessagePending clear), reserved: in one store,
	 * after the payload (release). */
	u64 h = (u64)msg->h.type | ((u64)msg->h.payload_size << 32);
	__atomic_store_n(head, h, __ATOMIC_RELEASE);
	__atomic_add_fetch(&s->posted, 1, __ATOMIC_RELAXED);
	raise_sint(vp, vtl, s->sint[sint]);
	return HV_STATUS_SUCCESS;
}

/* TLFS 11.5.1: set the flag atomically; raise the SINT only if it was
 * clear. */
u16 synic_signal_event(struct vp *vp, u8 vtl, u32 sint, u32 flag, bool *was_set)
{
	struct synic_ctx *s = vtl < HV_VTL_COUNT ? vp->ctx[vtl].synic : NULL;
	if (sint >= HV_SINT_COUNT || flag >= 256 * 8)
		return HV_STATUS_INVALID_PARAMETER;
	if (!s || !(s->scontrol & SYNIC_SCONTROL_ENABLE) || !(s->siefp & SYNIC_PAGE_ENABLE) ||
	    (s->sint[sint] & HV_SINT_MASKED))
		return HV_STATUS_INVALID_SYNIC_STATE;
	volatile u64 *w = &s->flags[sint * 32 + flag / 64];
	u64 bit = 1ull << (flag % 64);
	bool set = (__atomic_fetch_or(w, bit, __ATOMIC_SEQ_CST) & bit) != 0;
	if (was_set)
		*was_set = set;
	__atomic_add_fetch(&s->events, 1, __ATOMIC_RELAXED);
	if (!set)
		raise_sint(vp, vtl, s->sint[sint]);
	return HV_STATUS_SUCCESS;
}

/* ---- the MSRs (TLFS 11.8), on the VP's own processor, partition lock held */

static int synic_msr_read(struct vp *vp, u32 msr, u64 *val)
{
	const struct synic_ctx *s = cur_synic(vp);
	if (!s)
		return 1;
	switch (msr) {
	case HV_X64_MSR_SCONTROL: *val = s->scontrol; return 0;
	case HV_X64_MSR_SVERSION: *val = SVERSION_1; return 0;
	case HV_X64_MSR_SIEFP: *val = s->siefp; return 0;
	case HV_X64_MSR_SIMP: *val = s->simp; return 0;
	case HV_X64_MSR_EOM: *val = 0; return 0; /* 11.8.6: reads return zeros */
	default:
		if (msr >= HV_X64_MSR_SINT0 && msr <= HV_X64_MSR_SINT15) {
			*val = s->sint[msr - HV_X64_MSR_SINT0];
			return 0;
		}
		return 1;
	}
}

static int synic_msr_write(struct vp *vp, u32 msr, u64 val)
{
	struct synic_ctx *s = cur_synic(vp);
	if (!s)
		return 1;
	switch (msr) {
	case HV_X64_MSR_SCONTROL:
		s->scontrol = val;
		return 0;
	case HV_X64_MSR_SVERSION:
		return 1; /* 11.8.2: read-only */
	case HV_X64_MSR_SIEFP:
	case HV_X64_MSR_SIMP: {
		/* 11.8.3/11.8.4: a GPA beyond the GPA space is accepted, the
		 * page is then not accessible. */
		bool simp = msr == HV_X64_MSR_SIMP;
		if (overlay_msr_write(vp, simp ? &s->simp_page : &s->siefp_page, val, false))
			return 1;
		*(simp ? &s->simp : &s->siefp) = val;
		return 0;
	}
	case HV_X64_MSR_EOM:
		/* 11.8.6: a trigger; the value is ignored (RsvdZ "should be
		 * set to zero", as KVM and Xen accept any). */
		synic_eom_request(vp, vp->cur->vtl);
		return 0;
	default:
		break;
	}
	if (msr < HV_X64_MSR_SINT0 || msr > HV_X64_MSR_SINT15)
		return 1;
	/* 11.8.5: vectors 16-255; see the comment at the top for masked. */
	if ((val & HV_SINT_VECTOR_MASK) < 16 && !(val & HV_SINT_MASKED))
		return 1;
	s->sint[msr - HV_X64_MSR_SINT0] = val;
	return 0;
}

HV_MSR_ROWS(synic_msrs) = {
	{ HV_X64_MSR_SCONTROL, HV_X64_MSR_EOM, HV_ACCESS_SYNIC_REGS, 0, synic_msr_read,
	  synic_msr_write, "SCONTROL-EOM" },
	{ HV_X64_MSR_SINT0, HV_X64_MSR_SINT15, HV_ACCESS_SYNIC_REGS, 0, synic_msr_read,
	  synic_msr_write, "SINT0-15" },
};

/* TLFS 7.8.2 (HV_REGISTER_NAME): the SynIC registers as VP registers,
 * HvRegisterSint0-15 0x000A0000-F, Scontrol-Eom 0x000A0010-14. */
HV_VPREG_ROWS(synic_vpregs) = {
	{ 0x000A0010, HV_X64_MSR_SCONTROL, false, "Scontrol" },
	{ 0x000A0011, HV_X64_MSR_SVERSION, true, "Sversion" },
	{ 0x000A0012, HV_X64_MSR_SIEFP, false, "Sifp" },
	{ 0x000A0013, HV_X64_MSR_SIMP, false, "Sipp" },
	{ 0x000A0014, HV_X64_MSR_EOM, false, "Eom" },
	{ 0x000A0000, HV_X64_MSR_SINT0 + 0, false, "Sint0" },
	{ 0x000A0001, HV_X64_MSR_SINT0 + 1, false, "Sint1" },
	{ 0x000A0002, HV_X64_MSR_SINT0 + 2, false, "Sint2" },
	{ 0x000A0003, HV_X64_MSR_SINT0 + 3, false, "Sint3" },
	{ 0x000A0004, HV_X64_MSR_SINT0 + 4, false, "Sint4" },
	{ 0x000A0005, HV_X64_MSR_SINT0 + 5, false, "Sint5" },
	{ 0x000A0006, HV_X64_MSR_SINT0 + 6, false, "Sint6" },
	{ 0x000A0007, HV_X64_MSR_SINT0 + 7, false, "Sint7" },
	{ 0x000A0008, HV_X64_MSR_SINT0 + 8, false, "Sint8" },
	{ 0x000A0009, HV_X64_MSR_SINT0 + 9, false, "Sint9" },
	{ 0x000A000A, HV_X64_MSR_SINT0 + 10, false, "Sint10" },
	{ 0x000A000B, HV_X64_MSR_SINT0 + 11, false, "Sint11" },
	{ 0x000A000C, HV_X64_MSR_SINT0 + 12, false, "Sint12" },
	{ 0x000A000D, HV_X64_MSR_SINT0 + 13, false, "Sint13" },
	{ 0x000A000E, HV_X64_MSR_SINT0 + 14, false, "Sint14" },
	{ 0x000A000F, HV_X64_MSR_SINT0 + 15, false, "Sint15" },
};

/* ---- set-up: VTL 0's SynIC of each VP (the others with their VTL) ---- */

/* The state in one page, the SIM and SIEF pages in two more (zeroed by
 * the pool: TLFS 11.9, "cleared to zero" at creation). Public for host
 * tests, which pass their own pages. Under the partition lock. */
int synic_ctx_setup(struct vp *vp, u8 vtl, struct synic_ctx *s, void *simp, void *siefp)
{
	*s = (struct synic_ctx){ 0 };
	for (u32 i = 0; i < HV_SINT_COUNT; i++)
		s->sint[i] = HV_SINT_MASKED; /* 11.8.5: masked at creation */
	s->msg = simp;
	s->flags = siefp;
	s->simp_page = (struct overlay){ 0, (u64)(uintptr_t)simp, SLAT_RWX, false, "SIMP",
					 (u8)(1u << vtl) };
	s->siefp_page = (struct overlay){ 0, (u64)(uintptr_t)siefp, SLAT_RWX, false, "SIEFP",
					  (u8)(1u << vtl) };
	vp->ctx[vtl].synic = s;
	if (overlay_register(vp->part, &s->simp_page) || overlay_register(vp->part, &s->siefp_page))
		return -1;
	return 0;
}

int synic_vtl_create(struct vp *vp, u8 vtl, struct pool *pool)
{
	_Static_assert(sizeof(struct synic_ctx) <= PAGE_SIZE, "one page");
	u8 *pg = pool_alloc_pages(pool, 3);
	if (!pg || vtl >= HV_VTL_COUNT)
		return -1;
	return synic_ctx_setup(vp, vtl, (struct synic_ctx *)pg, pg + PAGE_SIZE, pg + 2 * PAGE_SIZE);
}

/* The core calls on_vp under the partition lock (the overlay list). */
static int synic_vp_init(struct vp *vp, struct pool *pool) { return synic_vtl_create(vp, 0, pool); }

static void synic_dump(const struct vp *vp)
{
	const struct synic_ctx *s = vp->ctx[0].synic;
	if (!s || !(s->raised | s->raised_aeoi | s->posted | s->busy | s->events | s->eoms))
		return;
	LOGI("  synic: SINTs raised %lu (AutoEOI %lu, held by PPR %lu), messages %lu, slot busy %lu, "
	     "events %lu, EOMs %lu",
	     (unsigned long)s->raised, (unsigned long)s->raised_aeoi, (unsigned long)s->aeoi_blocked,
	     (unsigned long)s->posted, (unsigned long)s->busy, (unsigned long)s->events,
	     (unsigned long)s->eoms);
}

HV_MODULE(synic, .on_vp = synic_vp_init, .on_dump = synic_dump);
