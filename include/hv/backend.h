/*
 * backend.h - the one interface between the Hv#1 logic (hv/, synic/, vsm/,
 * nested/) and a virtualization backend (svm/, vmx/). Chosen once at start
 * from the CPU vendor; the Hv#1 modules never see a VMCB or VMCS.
 */
#ifndef HV_BACKEND_H
#define HV_BACKEND_H

#include "types.h"
#include "exit.h"

struct vp;
struct partition;
struct boot_info;
struct guest_boot_state;

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

/* Guest access to a 4K page in the second-level tables. */
enum slat_access { SLAT_NONE, SLAT_RX, SLAT_RWX };

/* Result of a backend's own MSR handling (its intercepts such as EFER). */
enum be_msr_result { BE_MSR_NOT_MINE, BE_MSR_OK, BE_MSR_GP };

struct backend {
	const char *name;
	u32 info_vendor;     /* HV_INFO_VENDOR_* */
	/* Is this backend usable on this CPU? 0 if yes, else a reason logged. */
	int (*probe)(void);
	/* Partition-wide setup: second-level tables, MSR/IO bitmaps. */
	int (*partition_init)(struct partition *p, const struct boot_info *bi);
	/* Per-VP setup from the captured firmware state. */
	int (*vp_init)(struct vp *vp, const struct guest_boot_state *gs);
	/* Enter the guest, return when it exits, with *e decoded. */
	void (*run)(struct vp *vp, struct hv_exit *e);
	/* Skip the exiting instruction (nRIP/instruction length). */
	void (*advance_rip)(struct vp *vp, const struct hv_exit *e);
	void (*inject_exception)(struct vp *vp, u8 vector, bool has_error, u32 error);
	void (*inject_nmi)(struct vp *vp);
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
	/* Invalidate guest translations (see enum tlb_flush); effective
	 * before the VP next runs guest code. On the VP's own processor. */
	void (*tlb_flush)(struct vp *vp, enum tlb_flush kind, u64 gva);
	/* MSRs the backend itself intercepts (EFER, VM_CR, ...). */
	enum be_msr_result (*msr_read)(struct vp *vp, u32 msr, u64 *val);
	enum be_msr_result (*msr_write)(struct vp *vp, u32 msr, u64 val);
	/* Identity-map the large page around gpa (lazy MMIO mapping). */
	int (*slat_map_identity)(struct vp *vp, u64 gpa);
	/* Map the 4K guest page gpa to host page hpa with access acc
	 * (SLAT_NONE: unmapped), splitting large pages; effective before the
	 * guest runs again (overlay pages, TLFS 5.2.1). */
	int (*slat_set_page)(struct vp *vp, u64 gpa, u64 hpa, enum slat_access acc);
	/* The vendor's hypercall instruction (VMMCALL or VMCALL), 3 bytes. */
	const u8 *hypercall_insn;
	/* Print control and guest state for a fatal error. */
	void (*dump)(struct vp *vp);
	/* Leaf 0x40000006 EAX bits for what this backend uses. */
	u32 (*hw_features)(void);
};

extern const struct backend svm_backend;
extern const struct backend vmx_backend;

#endif
