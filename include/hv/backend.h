/*
 * backend.h - the one interface between the Hv#1 logic (hv/, synic/, vsm/,
 * nested/) and a virtualization backend (svm/, vmx/). Chosen once at start
 * from the CPU vendor; the Hv#1 modules never see a VMCB or VMCS.
 */
#ifndef HV_BACKEND_H
#define HV_BACKEND_H

#include "types.h"
#include "exit.h"
#include "slat.h"

struct vp;
struct partition;
struct boot_info;
struct guest_boot_state;
struct vp_ctx;
struct pool;
struct nested_run;

/* Guest state a handler may need, read through the backend. */
enum guest_reg {
	GREG_RIP, GREG_RFLAGS, GREG_CR0, GREG_CR2, GREG_CR3, GREG_CR4,
	GREG_EFER, GREG_CPL, GREG_CS_L, /* 1 if CS.L (64-bit code) */
	GREG_CS_BASE,
	GREG_MODE, /* GMODE_* below: the mode checks of a hypercall in one call */
	GREG__COUNT
};

/* GREG_MODE bits: CPL, CR0.PE, RFLAGS.VM, EFER.LMA, CS.L. */
#define GMODE_CPL 3u
#define GMODE_PE BIT(2)
#define GMODE_VM BIT(3)
#define GMODE_LMA BIT(4)
#define GMODE_CS_L BIT(5)

/* Guest TLB invalidation on the VP's own processor (TLFS 9.4). Tagged by
 * the VP's ASID/VPID: never a flush of the host's or other tags. */
enum tlb_flush {
	TLB_FLUSH_ALL,       /* every translation of this VP */
	TLB_FLUSH_NONGLOBAL, /* may keep global translations */
	TLB_FLUSH_ADDR,      /* the page (or large page) holding gva */
};

/* Result of a backend's own MSR handling (its intercepts such as EFER). */
enum be_msr_result { BE_MSR_NOT_MINE, BE_MSR_OK, BE_MSR_GP };

/* debug_ctl flags. */
#define BE_DBG_BP 1u
#define BE_DBG_STEP 2u

/* msr_intercept access bits. */
#define BE_INTERCEPT_READ 1u
#define BE_INTERCEPT_WRITE 2u

/* How set_deadline's exit comes (docs/architecture.md, "Host deadline and
 * interrupt window"). */
enum be_deadline {
	/* A hard bound whatever the guest does (the VMX-preemption timer). */
	BE_DEADLINE_EXACT,
	/* At the guest's exits and at physical interrupts, which exit while
	 * a deadline is armed, even in HLT, before the guest takes them (SVM:
	 * the INTR intercept). Such an interrupt before the deadline is an
	 * early HV_EXIT_DEADLINE (the deadline stays armed; the guest takes
	 * the interrupt at the next entry): the handler checks the time. A
	 * caller that makes an interrupt come at the deadline
	 * (hv/apictimer.c) gets a hard bound. */
	BE_DEADLINE_ON_INTR,
	/* Only at the guest's exits (VMX without the preemption timer). */
	BE_DEADLINE_SOFT,
};

/*
 * A backend never calls into hv/: what it allocates comes from the pool
 * passed in, what it cannot do it returns as an error. Unless said
 * otherwise an op acts on the VP's current context (vp->cur, whose
 * backend state vp->be caches) on the VP's own processor.
 */
struct backend {
	const char *name;
	/* Is this backend usable on this CPU? 0 if yes, else a reason logged. */
	int (*probe)(void);
	/* Partition-wide setup: the VTL 0 second-level tables p->slat[0]
	 * (identity map below phys_top, the hypervisor's memory left out). */
	int (*partition_create)(struct partition *p, const struct boot_info *bi, struct pool *pool);
	/* Per-VP setup on its processor: the per-CPU state (vp->be_cpu) and
	 * the VTL 0 context vp->ctx[0] from the captured firmware state, made
	 * current. */
	int (*vp_init)(struct vp *vp, const struct guest_boot_state *gs, struct pool *pool);
	/* A new context c of vp (c->vtl and c->slat set by the caller: a
	 * VTL's table, or later an L2 guest's) from the initial state *gs,
	 * with its own control structure, ASID/VPID and intercept bitmaps
	 * (the backend's own intercepts only). Not made current. */
	int (*ctx_create)(struct vp *vp, struct vp_ctx *c, const struct guest_boot_state *gs,
			  struct pool *pool);
	/* Make c current: the next run enters it. The GPRs (vp->gpr) are
	 * shared (TLFS 15.6.1); the caller saves/swaps what is not. */
	void (*ctx_switch)(struct vp *vp, struct vp_ctx *c);
	/* Enter the guest, return when it exits, with *e decoded. */
	void (*run)(struct vp *vp, struct hv_exit *e);
	/* Skip the exiting instruction (nRIP/instruction length); nonzero if
	 * its length is unknown (the caller decides: vp_fatal). */
	int (*advance_rip)(struct vp *vp, const struct hv_exit *e);
	void (*inject_exception)(struct vp *vp, u8 vector, bool has_error, u32 error);
	void (*inject_nmi)(struct vp *vp);
	/* An external interrupt `vector` (>= 16): 0 if it is delivered at
	 * the next entry (RFLAGS.IF set, no interrupt shadow, no event
	 * already pending); else 1: an interrupt window is requested, and
	 * the run that sees it open returns HV_EXIT_INTR_WINDOW (one-shot):
	 * inject it then. */
	int (*inject_irq)(struct vp *vp, u8 vector);
	/* Bring the processor back to the hypervisor (HV_EXIT_DEADLINE, no
	 * guest instruction skipped) once the TSC reaches tsc, even if the
	 * guest does not exit; one-shot; 0 cancels. VMX: the preemption
	 * timer; SVM: see docs/architecture.md, "Host deadline and interrupt
	 * window"; it may come early there (BE_DEADLINE_ON_INTR). */
	void (*set_deadline)(struct vp *vp, u64 tsc);
	/* What kind of bound set_deadline gives on this CPU (above). */
	enum be_deadline (*deadline_kind)(void);
	/* Request (on) or drop the exit on RDMSR (BE_INTERCEPT_READ) and/or
	 * WRMSR (BE_INTERCEPT_WRITE) of msr, in the current context. An MSR
	 * outside the bitmap ranges (0-0x1FFF, 0xC0000000-0xC0001FFF, and
	 * on SVM 0xC0010000-0xC0011FFF) always exits: a request returns 0,
	 * a drop -1; so does a drop of an MSR the backend itself intercepts
	 * (EFER, VM_CR, IA32_FEATURE_CONTROL, ...), which stays intercepted. */
	int (*msr_intercept)(struct vp *vp, u32 msr, u32 access, bool on);
	/* The same for port I/O: every byte an access covers is checked,
	 * so a port intercepts the wider accesses that include it. */
	int (*io_intercept)(struct vp *vp, u16 port, bool on);
	/* Replace the guest's CPU state (registers other than the GPRs in
	 * vp->gpr) with *gs: the INIT/SIPI state of a restarted VP. */
	void (*vp_load_state)(struct vp *vp, const struct guest_boot_state *gs);
	u64 (*read_reg)(struct vp *vp, enum guest_reg r);
	/* The VP's architectural state (not the GPRs in vp->gpr) into *gs,
	 * and back: set_state writes registers only, keeping pending events,
	 * interruptibility and the TLB (HvGetVpRegisters/HvSetVpRegisters,
	 * TLFS 7.10.1-7.10.2). On the VP's own processor, in the host. */
	void (*vp_get_state)(struct vp *vp, struct guest_boot_state *gs);
	void (*vp_set_state)(struct vp *vp, const struct guest_boot_state *gs);
	/* Invalidate guest translations (see enum tlb_flush) of the current
	 * context's ASID/VPID; effective before the VP next runs guest code.
	 * On the VP's own processor. */
	void (*tlb_flush)(struct vp *vp, enum tlb_flush kind, u64 gva);
	/* Load CR0 or CR4 (cr) of the current context with v, already
	 * checked (hv/cr.c), with the side effects of the MOV: EFER.LMA
	 * follows CR0.PG, translations are flushed as the processor would.
	 * Only backends that return HV_EXIT_CR_WRITE need it. */
	void (*cr_write)(struct vp *vp, int cr, u64 v);
	/* Backends that handle CR0/CR4 writes themselves (VMX): a write of
	 * the current context that changes a bit of mask exits to the Hv#1
	 * layer as HV_EXIT_CR_WRITE instead (the secure register intercepts,
	 * TLFS 15.13.4); 0 drops it. NULL where every write exits (SVM). */
	void (*cr_guard)(struct vp *vp, int cr, u64 mask);
	/* MSRs the backend itself intercepts (EFER, VM_CR, ...). */
	enum be_msr_result (*msr_read)(struct vp *vp, u32 msr, u64 *val);
	enum be_msr_result (*msr_write)(struct vp *vp, u32 msr, u64 val);
	/* Identity-map the large page around gpa (lazy MMIO mapping) in the
	 * current context's second-level tables. */
	int (*slat_map_identity)(struct vp *vp, u64 gpa);
	/* Map the 4K guest page gpa to host page hpa with access acc
	 * (SLAT_NONE: unmapped) in the current context's tables, splitting
	 * large pages; effective before the guest runs again (overlay pages,
	 * TLFS 5.2.1). */
	int (*slat_set_page)(struct vp *vp, u64 gpa, u64 hpa, enum slat_access acc);
	/* The same in the tables s, one VTL's view (partition.slat[vtl],
	 * TLFS 15.9), whichever context runs: what this processor cached from
	 * them is invalidated before the guest runs again. NULL: one view. */
	int (*slat_view_set_page)(struct vp *vp, struct slat *s, u64 gpa, u64 hpa,
				  enum slat_access acc);
	/* On vp's own processor: drop every translation cached from any
	 * second-level table, before the guest runs again (another processor
	 * restricted a view every VP uses: HvModifyVtlProtectionMask). */
	void (*slat_flush)(struct vp *vp);
	/* Mode-based execute control is on in every context (VMX with MBEC,
	 * SDM 25.6.2): the second-level tables keep user-mode execution
	 * apart (TLFS 15.10). NULL or false: the kernel-execute right
	 * governs all execution. */
	bool (*mbec)(void);
	/* The vendor's hypercall instruction (VMMCALL or VMCALL), 3 bytes. */
	const u8 *hypercall_insn;
	/* Print control and guest state for a fatal error. */
	void (*dump)(struct vp *vp);
	/* Leaf 0x40000006 EAX bits for what this backend uses. */
	u32 (*hw_features)(void);
	/* The guest debugger (debug/, docs/debugging.md), on the VP's
	 * processor, for its current context. BE_DBG_BP: intercept #BP
	 * (HV_EXIT_EXCEPTION vector 3, RIP at the INT3; SVM: also at an INT n,
	 * which the caller tells by the instruction). BE_DBG_STEP: the
	 * guest runs one instruction and exits with HV_EXIT_EXCEPTION vector
	 * 1 (RFLAGS.TF with the #DB exit, the guest's own TF put back when
	 * the step is cleared). 0 drops both. NULL: not offered. */
	void (*debug_ctl)(struct vp *vp, u32 flags);

	/* ---- nested virtualization (docs/nested.md); NULL: not offered ---- */
	/* CPUID 0x8000000A EDX: the SVM features the emulation offers. */
	u32 (*nested_features)(void);
	/* Leaf 0x4000000A EAX (TLFS 2.4.11): the nested enlightenments whose
	 * VMCB/VMCS half this backend implements and a guest check proves
	 * (SVM: the VMCB's Hyper-V area; VMX: the enlightened VMCS, its
	 * version range in bits 15:0). nested/ offers exactly these with
	 * nested=on (nested_optimizations). */
	u32 nested_enl;
	/* L1's SVM instruction e (HV_EXIT_VIRT_INSN in L1's context),
	 * emulated: *act is the dispatcher's action. Returns 1 for a VMRUN
	 * that passed its checks (L1's RIP is past it): *run says what L2
	 * runs on; the caller sets l2->slat and calls nested_enter. */
	int (*nested_insn)(struct vp *vp, struct hv_exit *e, enum hv_action *act,
			   struct nested_run *run);
	/* Enter L2: l2's control structure from L1's VMCB and the backend's
	 * own intercepts, l2 made current; flush: its ASID's TLB first. */
	void (*nested_enter)(struct vp *vp, struct vp_ctx *l2, bool flush);
	/* Leave L2 for L1 with L2's exit as it happened (code 0), or with
	 * (code, info1, info2) in its place; L1 becomes current. */
	void (*nested_exit)(struct vp *vp, u64 code, u64 info1, u64 info2);
	/* The vendor: VMX (CPUID.1:ECX[5], the VMX capability MSRs) or SVM. */
	bool nested_vmx;
	/* nested_exit's code for a fault of L1's nested tables (0: SVM's
	 * NPF, 0x400) and for a misconfigured entry of them (VMX only). */
	u32 nested_npf_code, nested_misconfig_code;
};

/* What L1's accepted VMRUN asks for (backend nested_insn). */
struct nested_run {
	u64 l1_root; /* L1's nested page table root (nCR3), when np */
	bool np;     /* L1 enabled nested paging for L2 */
	bool asid_changed; /* L1's ASID for L2 is another than at its last
			    * VMRUN: a fresh TLB for L2 (APM 15.16) */
	bool enl_npt_tlb;  /* L1 set the enlightened NPT TLB in its VMCB
			    * (TLFS nested enlightenments; Linux's
			    * hv_enlightenments_control.enlightened_npt_tlb) */
	bool flush;  /* L1 asked for a TLB flush (TLB_CONTROL) */
	/* Direct virtual flush (leaf 0x4000000A bit 17): L1 set
	 * nested_flush_hypercall in its VMCB's Hyper-V area, with L2's VM
	 * and VP ids and its partition assist page (an L1 GPA). */
	bool direct_flush;
	u32 l2_vp_id;
	u64 l2_vm_id, assist_pa;
	bool invalid; /* the VMCB failed its checks: VMEXIT_INVALID (counters) */
	/* VMX: the entry came from L1's enlightened VMCS (TLFS 16.5), and
	 * read every group of it (a VMLAUNCH, another eVMCS) (counters). */
	bool evmcs, evmcs_full;
};

/* ASIDs (SVM) and VPIDs (VMX) tag a context's translations; 0 is the
 * host's. The next free tag from *next (atomically: the processors set
 * up their VPs concurrently), or 0 when the limit is reached. */
static inline u32 be_tag_alloc(u32 *next, u32 limit)
{
	u32 t = __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
	return t && t < limit ? t : 0;
}

extern const struct backend svm_backend;
extern const struct backend vmx_backend;

#endif
