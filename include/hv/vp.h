/*
 * vp.h - partitions and virtual processors (TLFS 4, 7) as the Hv#1 modules
 * see them. Backend state (VMCB/VMCS) hangs off each context (struct vp_ctx)
 * and is opaque here.
 */
#ifndef HV_VP_H
#define HV_VP_H

#include "types.h"
#include "exit.h"
#include "spinlock.h"
#include "slat.h"
#include "boot_info.h"

struct backend;

/* x86 register numbers, the order the instruction encoding uses. */
enum gpr {
	GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
	GPR__COUNT
};
/* The run stubs index gpr[] with include/arch/gpr.inc's numbers. */
_Static_assert(GPR_RAX == 0 && GPR_RCX == 1 && GPR_RDX == 2 && GPR_RBX == 3 && GPR_RSP == 4 &&
		       GPR_RBP == 5 && GPR_RSI == 6 && GPR_RDI == 7 && GPR_R8 == 8 && GPR_R15 == 15 &&
		       GPR__COUNT == 16,
	       "include/arch/gpr.inc");

/* TLFS 15: VTL 0-2. */
#define HV_VTL_COUNT 3

#define HV_EXIT_RING 16

struct exit_ring_entry {
	u64 tsc;
	u64 rip;
	u64 raw;
	u64 qual;
	u8 reason;
};

struct mem_range;
struct synic_ctx;
struct stimer_set;

/* A GPA overlay page (TLFS 5.2.1): while active, the guest sees the
 * hypervisor's page `hpa` at `gpa` with access `acc`. */
struct overlay {
	u64 gpa;
	u64 hpa;
	u8 acc; /* enum slat_access */
	bool active;
	const char *name;
	/* The VTLs whose view shows it, bit v for VTL v (TLFS 15.11: the
	 * hypercall page, the VP assist page, the SynIC's pages and the
	 * reference TSC page are per VTL); 0: every view. */
	u8 vtls;
};

/* Partition-wide overlays (hypercall page, reference TSC page) plus, per
 * VP and VTL, the VP assist page and the SynIC's SIMP and SIEFP pages
 * (TLFS 11.9). */
#define HV_MAX_OVERLAYS (8 + 64 * 3 * HV_VTL_COUNT)
/* Protected pages (struct partition): the xAPIC page, and room. */
#define HV_MAX_PROTECTED 4

/*
 * A VP's execution context (per-context VP state): what one virtual trust
 * level (TLFS 15), or later one nested L2 guest, owns that the hypervisor
 * keeps outside the control structure. The GPRs are shared between VTLs
 * (TLFS 15.6.1) and stay in vp->gpr; the registers the TLFS makes private
 * per VTL (RIP, RSP, CRs, most MSRs, pending events) are in the backend's
 * control structure, which `be` holds together with its ASID/VPID and its
 * MSR/IO intercept bitmaps. The per-VP overlays of the VTL are here too
 * (the VP assist page; the SynIC pages next); the partition-wide ones of a
 * VTL (the hypercall page, the reference TSC page) are in struct
 * partition_vtl. TLFS 15.11.1.1 lists the synthetic MSRs private per VTL.
 */
struct vp_ctx {
	void *be;          /* the backend's per-context state (VMCB/VMCS, ...) */
	struct slat *slat; /* the second-level tables it runs on: part->slat[vtl] */
	u8 vtl;
	bool live;         /* created (ctx_create) */
	bool l2;           /* a nested guest's context (vp->l2, docs/nested.md) */
	/* TLFS 7.8.7: the VP assist page (HV_X64_MSR_VP_ASSIST_PAGE). All
	 * VPs share the VTL's second-level tables, so every VP sees each
	 * VP's page at its GPA. */
	u64 assist_msr;
	struct overlay assist_page;
	/* TLFS 11: the SynIC of this VP in this VTL (synic/synic.c). */
	struct synic_ctx *synic;
	/* TLFS 12.5: the synthetic timers of this VTL (synic/stimer.c, which
	 * allocates them in its VP hook); NULL without that module. */
	struct stimer_set *stimers;
};

/* What a partition keeps per VTL (TLFS 15.11.1.1: the guest OS ID, the
 * hypercall and reference TSC MSRs are private per VTL; TLFS 15.2.1: a
 * separate hypercall overlay page per VTL). VTL 0 only for now. */
struct partition_vtl {
	bool enabled;            /* TLFS 15.4.1: VTL 0 always; others by HvEnablePartitionVtl */
	bool mbec;               /* enabled with EnableMbec (TLFS 15.10.2): its protections of
				  * lower VTLs keep user and kernel execution apart */
	u64 guest_os_id;         /* TLFS 2.6 */
	u64 hypercall_msr;       /* TLFS 3.13 */
	struct overlay hypercall_page;
	u64 ref_tsc_msr;         /* TLFS 12.7.1 */
	struct overlay ref_tsc_page;
};

struct partition {
	struct spinlock lock; /* partition-wide synthetic state, overlays, SLAT */
	u64 privileges;      /* leaf 0x40000003 EBX:EAX (TLFS 4.2.2) */
	u32 features_edx;    /* leaf 0x40000003 EDX */
	u32 recommendations; /* leaf 0x40000004 EAX */
	u32 spin_retries;    /* leaf 0x40000004 EBX */
	u32 hw_features;     /* leaf 0x40000006 EAX */
	u32 phys_addr_bits;
	u32 vp_count;
	u64 hidden_base, hidden_size; /* hypervisor memory, never mapped */
	u16 pm1a_cnt_port, pm1b_cnt_port, reset_port;
	u8 reset_value;
	const struct backend *be;
	/* Guest RAM (TLFS 3.6: hypercall parameters must be ordinary RAM). */
	const struct mem_range *ranges;
	u32 range_count;
	volatile u32 range_hint; /* the range gmem_check_param matched last */
	u64 tsc_hz;           /* measured at start */
	bool invariant_tsc;   /* CPUID 0x80000007 EDX[8], or hv.cfg invariant_tsc=yes */
	/* HV_X64_MSR_TSC_INVARIANT_CONTROL (hv/time.c): bit 0 shows the
	 * guest CPUID 0x80000007 EDX[8] (hv/cpuid.c). */
	volatile u64 tsc_invariant_ctl;
	u64 hc_budget_ticks;  /* TLFS 3.3: about 50 us of TSC */
	/* Partition-wide synthetic state (TLFS 2.6, 3.13). */
	struct partition_vtl vtl[HV_VTL_COUNT];
	struct overlay *overlays[HV_MAX_OVERLAYS];
	u32 overlay_count;
	u64 overlay_filter; /* a bit per active overlay's page (hv/gmem.c) */
	/* Pages the guest sees with less than identity RWX, besides the
	 * hypervisor's memory (never mapped): the xAPIC page, read-only.
	 * gmem_protect_page registers them; gmem_base_access says what any
	 * GPA gets back when no overlay covers it (hv/gmem.c). */
	struct gmem_protected {
		u64 gpa;
		u8 acc; /* enum slat_access */
	} protected_pages[HV_MAX_PROTECTED];
	u32 protected_count;
	struct vp *vps[64];
	/* Every logical processor, virtualized or not yet (by processor
	 * number), for INIT/SIPI delivery. */
	u32 cpu_count;
	u32 cpu_apic[64];
	struct vp *cpu_vp[64];
	u64 apic_gpa; /* the xAPIC page, read-only for the guest */
	u64 spin_wait_notifications;
	u64 last_spin_count;
	/* Reference time (TLFS 12.4, 12.7). */
	u64 apic_hz;
	u64 tsc_scale;
	s64 tsc_offset;
	/* TSC ticks per reference unit (100 ns), integer and 64-bit
	 * fraction: time_ref_to_tsc without a division (hv/time.c). */
	u64 ref_tsc_int, ref_tsc_frac;
	u64 crash_p[5]; /* TLFS 4.3: guest crash parameters P0-P4 */
	/* Nested virtualization (docs/nested.md): hv.cfg nested=on and a
	 * backend that emulates it; CPUID 0x8000000A EDX as emulated. */
	bool nested;
	u32 nested_svm_edx;
	u32 nested_enl;      /* leaf 0x4000000A EAX offered (nested/, docs/nested.md) */
	/* Bumped when what a GPA maps to changes for the guest (overlays,
	 * protected pages, hv/gmem.c): shadow tables built before are stale. */
	volatile u32 slat_gen;
	/* An interrupt for VTL vtl > 0 of VP t (TLFS 15.12.2), set by the
	 * VSM module (vsm/vsm.c); NULL: no VTL above 0. */
	void (*vtl_irq)(struct vp *src, struct vp *t, u8 vtl, u8 vector);
	/* The VTL protections (TLFS 15.9), set by the VSM module: what a
	 * higher VTL leaves VTL vtl at gpa's page (SLAT_RWX: no restriction),
	 * applied on top of the base protection and the overlays in that
	 * VTL's own view (hv/gmem.c); and, for a second-level fault of VTL 0,
	 * the secure intercept to the VTL above when a protection denied the
	 * access (15.13; returns true with *act then). NULL: no VSM. */
	enum slat_access (*vtl_prot)(const struct partition *p, u8 vtl, u64 gpa);
	/* On VP t's own processor, after the views changed (slat_gen bumped):
	 * drop what was built from them and flush (TLFS 15.9: a protection
	 * takes effect for every VP before HvModifyVtlProtectionMask returns).
	 * Set by nested/ (its shadow tables are a TLB of the view); NULL: none. */
	void (*view_flush)(struct vp *t);
	bool (*vtl_fault)(struct vp *vp, struct hv_exit *e, enum hv_action *act);
	/* Secure register intercepts (TLFS 15.13.4), set by the VSM module:
	 * a write of VTL 0 that a higher VTL intercepts never completes
	 * (true, *act then). kind 0: CR `id` (0 or 4) from old to value by
	 * an instruction of len bytes (hv/cr.c); kind 1: MSR `id` (hv/msr.c). */
	bool (*vtl_write_icpt)(struct vp *vp, int kind, u32 id, u64 old, u64 value, u8 len,
			       enum hv_action *act);
	/* The guest debugger (debug/gdbstub.c, docs/debugging.md): hv.cfg
	 * gdb=, the UART the guest must not see (hv/io.c hides it), and the
	 * stub's work before every entry (hv/core.c); NULL: no debugger, and
	 * the exit path pays one load. */
	u16 gdb_port;
	void (*debug_hook)(struct vp *vp);
	/* Second-level tables per VTL, each with its own permissions (TLFS
	 * 15.9): slat[0] built by the backend's partition_create, slat[1] a
	 * copy made when VTL 1 is enabled (vsm/); root 0: not built. */
	struct slat slat[HV_VTL_COUNT];
};

/* TLFS 12.7.2: HV_REFERENCE_TSC_PAGE. */
struct hv_ref_tsc_page {
	volatile u32 tsc_sequence;
	u32 reserved1;
	volatile u64 tsc_scale;
	volatile s64 tsc_offset;
	u64 reserved2[509];
};
_Static_assert(sizeof(struct hv_ref_tsc_page) == 4096, "TLFS 12.7.2");

/* The guest's local APIC timer lent to the hypervisor while the guest does
 * not use it (hv/apictimer.c): what the guest had, to give it back. */
struct apic_timer_loan {
	bool lent;        /* the APIC timer is the hypervisor's now */
	bool tsc_mode;    /* programmed in TSC-deadline mode (else one-shot count) */
	bool watching;    /* the x2APIC timer MSR intercepts are requested */
	bool fired_back;  /* it had fired when the guest took it back */
	u8 vector;
	u32 lvt, tdcr, tmict; /* the guest's LVT timer, divide, initial count */
	u64 loans, fired, given_back, refused; /* counters for the dump */
};

struct vp {
	struct vp *self; /* gs:0 in the host: the current VP */
	u32 index;       /* VP index (TLFS 7.8.1) */
	u32 apic_id;
	struct partition *part;
	void *be;        /* == cur->be, cached for the exit path */
	u64 gpr[GPR__COUNT]; /* guest GPRs (RAX/RSP mirrored by the backend) */
	u64 exits;
	u64 exit_count[HV_EXIT__COUNT];
	u32 *hc_count;   /* hypercalls by registered row (hv/hypercall.c) */
	u32 ring_next;
	struct exit_ring_entry ring[HV_EXIT_RING];
	u64 hidden_access_logged;
	/* TLFS 7.5, 7.9.1 */
	u64 start_tsc;  /* when the VP first ran */
	u64 idle_ticks; /* TSC spent idle in HV_X64_MSR_GUEST_IDLE */
	u64 idle_count;
	volatile u32 host_nmi; /* an NMI arrived while the host ran (VMX) */
	/* INIT/SIPI mailbox (hv/smp.c), written by other VPs. */
	volatile u32 init_pending;
	volatile u32 sipi;          /* vector | 0x100 */
	volatile u32 kicks_pending; /* NMIs other VPs sent to make us exit */
	bool wait_sipi;
	u32 icr_hi;                 /* the guest's xAPIC ICR high half */
	/* Cross-VP call mailbox (hv/xcall.c): a request another VP posted
	 * for this VP to run in its host context before its next entry. */
	struct xcall *volatile xcall;
	/* Modules whose before_entry hook runs before the next entry, a bit
	 * per registered module (hv/registry.c). */
	volatile u64 entry_work;
	volatile u32 parked;        /* vp_fatal parked this VP's processor */
	u64 xcalls_served, xcall_rekicks;
	u64 init_count, sipi_count, apic_writes, guest_nmis;
	/* Per-context state (struct vp_ctx): ctx[vtl], the one running is
	 * cur. ctx[0] only for now. */
	struct vp_ctx *cur;
	struct vp_ctx ctx[HV_VTL_COUNT];
	/* The nested guest (L2) of the VP's VTL 0 (docs/nested.md): its own
	 * control structure and ASID, on the shadow of L1's nested page
	 * tables; created with the VP when hv.cfg says nested=on. `nested`
	 * is nested/'s per-VP state (the shadow tables, counters). */
	struct vp_ctx l2;
	void *nested;
	void *be_cpu; /* the backend's per-physical-processor state (VMXON
		       * region, host save areas): shared by the contexts */
	struct apic_timer_loan apic_timer; /* hv/apictimer.c */
};

/* ---- VP services (hv/vp.c) ------------------------------------------- */

/* The partition's state for the VTL the VP runs in now. */
static inline struct partition_vtl *vp_pvtl(const struct vp *vp)
{
	return &vp->part->vtl[vp->cur->vtl];
}

/* May the VTL the VP runs in now reach [gpa, gpa+len) with the access
 * bits `need` (SLAT_ACC_R, SLAT_ACC_W) under the VTL protections (TLFS
 * 15.9)? For guest memory the hypervisor reads or writes on the VP's
 * behalf outside the hypercall path (the nested backends' VMCS and VMCB
 * regions, bitmaps, memory operands and page walks): "a lower VTL cannot
 * use the hypervisor to access memory it cannot access itself". */
static inline bool vp_vtl_allows(const struct vp *vp, u64 gpa, u64 len, u8 need)
{
	const struct partition *p = vp->part;
	if (!p->vtl_prot || !len)
		return true;
	for (u64 pg = gpa & ~(u64)(PAGE_SIZE - 1); pg < gpa + len; pg += PAGE_SIZE)
		if ((slat_acc_bits(p->vtl_prot(p, vp->cur->vtl, pg)) & need) != need)
			return false;
	return true;
}

/* Is [gpa, gpa+len) ordinary guest RAM (below MAXPHYADDR, not hypervisor
 * memory) that the VP's current VTL may read? The nested backends read
 * and write such pages of L1's (VMCS and VMCB regions, bitmaps, operands,
 * page tables) through the host's identity map; a write needs
 * vp_vtl_allows(..., SLAT_ACC_W) as well. */
static inline bool vp_l1_ram(const struct vp *vp, u64 gpa, u64 len)
{
	const struct partition *p = vp->part;
	if (gpa + len < gpa || (gpa >> p->phys_addr_bits))
		return false;
	if (gpa < p->hidden_base + p->hidden_size && gpa + len > p->hidden_base)
		return false;
	for (u32 i = 0; i < p->range_count; i++) {
		const struct mem_range *r = &p->ranges[i];
		if (r->type == MEM_RAM && gpa >= r->base && gpa + len <= r->base + r->size)
			return vp_vtl_allows(vp, gpa, len, SLAT_ACC_R);
	}
	return false;
}

/* Something for the host to do before the VP's next entry: its mailbox
 * (INIT, SIPI, a cross-VP call, an NMI taken in the host) or a module's
 * requested work. Plain loads: this runs before every entry. */
static inline bool vp_entry_pending(const struct vp *vp)
{
	return (vp->init_pending | vp->sipi | vp->host_nmi | (u32)vp->wait_sipi |
		(vp->xcall != NULL)) || vp->entry_work;
}

/* The VP of this processor, or NULL before it has one (GS). */
struct vp *vp_current(void);
/* From the first VP on, GS of a processor that has a VP points at it,
 * and VPs live in [base, base + size) (the log and the host exception
 * handler then look at GS). */
bool vp_cpu_ready(void);
void vp_set_cpu_ready(u64 base, u64 size);
void vp_inject_gp(struct vp *vp);
void vp_inject_ud(struct vp *vp);
/* #PF with error code err for linear address la (CR2 = la). */
void vp_inject_pf(struct vp *vp, u64 la, u32 err);
/* Log what went wrong, dump state, park this processor: only for states
 * the hypervisor cannot explain, never for a guest's legal instruction. */
NORETURN void vp_fatal(struct vp *vp, const struct hv_exit *e, const char *why);
void vp_dump_counters(const struct vp *vp);
void vp_dump_recent(const struct vp *vp);
void vp_dump_others(const struct vp *self);
/* The hooks of the host exception handler (arch/x86_64/hw.c). */
void vp_hw_nmi(void);
void vp_hw_panic(void);

#endif
