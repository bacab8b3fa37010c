/*
 * vmx_nested.h - nested VMX (docs/nested.md, "Nested VMX"): what hv.efi
 * offers L1 (the capability MSRs it reports, SDM vol. 3 appendix A) and
 * the pure VM-entry checks (vmx_nested_check.c, SDM 26.2-26.3), shared by
 * vmx_nested.c and the host unit tests. Only vmx/ and tests include this.
 */
#ifndef VMX_VMX_NESTED_H
#define VMX_VMX_NESTED_H

#include "types.h"
#include "vmcs.h"
#include "vmx_caps.h"
#include "vmcs12.h"
#include "evmcs.h"

/* Controls offered to L1 (allowed-1), kept small: exactly what
 * vmx_nested.c emulates. The "default1" bits (SDM A.2) that are reserved
 * must be 1 in the TRUE MSRs too; the non-TRUE MSRs also force the
 * default1 controls (CR3 exiting, save/load debug controls). */
#define NVMX_PIN_DEFAULT1 (BIT(1) | BIT(2) | BIT(4))
#define NVMX_PIN_VIRTUAL_NMIS BIT(5)
#define NVMX_PIN_OFFER (NVMX_PIN_DEFAULT1 | PIN_EXT_INTR_EXITING | PIN_NMI_EXITING | NVMX_PIN_VIRTUAL_NMIS)

#define NVMX_PROC_TSC_OFFSET BIT(3)
/* Exits L1 may ask for that hv.efi only passes on (SDM 25.6.2): INVLPG,
 * MWAIT, RDPMC, RDTSC, CR8 load/store, MOV DR, MONITOR, PAUSE (Linux's
 * KVM requires most of them). */
#define NVMX_PROC_PASS                                                                         \
	(BIT(9) | BIT(10) | BIT(11) | BIT(12) | BIT(19) | BIT(20) | BIT(23) | BIT(29) | BIT(30))
#define NVMX_PROC_CR8_LOAD BIT(19)
#define NVMX_PROC_CR8_STORE BIT(20)
#define NVMX_PROC_NMI_WINDOW BIT(22)
#define NVMX_PROC_UNCOND_IO BIT(24)
#define NVMX_PROC_RESERVED1 (BIT(1) | BIT(4) | BIT(5) | BIT(6) | BIT(8) | BIT(13) | BIT(14) | BIT(26))
#define NVMX_PROC_DEFAULT1 (NVMX_PROC_RESERVED1 | PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING)
#define NVMX_PROC_OFFER                                                                          \
	(NVMX_PROC_DEFAULT1 | PROC_INTR_WINDOW_EXITING | NVMX_PROC_TSC_OFFSET | PROC_HLT_EXITING | \
	 NVMX_PROC_NMI_WINDOW | NVMX_PROC_UNCOND_IO | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS |  \
	 PROC_ACTIVATE_SECONDARY | NVMX_PROC_PASS)

#define NVMX_PROC2_OFFER (PROC2_ENABLE_EPT | PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST)

#define NVMX_EXIT_ACK_INTR BIT(15)
#define NVMX_EXIT_RESERVED1                                                                  \
	(BIT(0) | BIT(1) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | BIT(10) |   \
	 BIT(11) | BIT(13) | BIT(14) | BIT(16) | BIT(17))
#define NVMX_EXIT_DEFAULT1 (NVMX_EXIT_RESERVED1 | EXIT_SAVE_DEBUG_CONTROLS)
#define NVMX_EXIT_OFFER                                                                       \
	(NVMX_EXIT_DEFAULT1 | EXIT_HOST_ADDR_SPACE_SIZE | NVMX_EXIT_ACK_INTR | EXIT_SAVE_IA32_PAT | \
	 EXIT_LOAD_IA32_PAT | EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER)

#define NVMX_ENTRY_RESERVED1 (BIT(0) | BIT(1) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | BIT(12))
#define NVMX_ENTRY_DEFAULT1 (NVMX_ENTRY_RESERVED1 | ENTRY_LOAD_DEBUG_CONTROLS)
#define NVMX_ENTRY_OFFER \
	(NVMX_ENTRY_DEFAULT1 | ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_IA32_PAT | ENTRY_LOAD_IA32_EFER)

/* IA32_VMX_EPT_VPID_CAP (A.10): 4-level walk, WB, 2 MiB pages, INVEPT
 * single/all, INVVPID individual-address/single/all. */
#define NVMX_EPT_VPID_OFFER                                                                   \
	(EPT_CAP_WALK_4 | EPT_CAP_WB | EPT_CAP_2M | EPT_CAP_INVEPT | EPT_CAP_INVEPT_SINGLE |      \
	 EPT_CAP_INVEPT_ALL | VPID_CAP_INVVPID | VPID_CAP_INVVPID_ADDR | VPID_CAP_INVVPID_SINGLE | \
	 VPID_CAP_INVVPID_ALL)

/* CR0 bits L1 must keep set in VMX operation (A.7): PE, NE, PG. */
#define NVMX_CR0_FIXED0 0x80000021ull
#define NVMX_CR4_FIXED0 0x2000ull /* VMXE */

/* Per VP, with the L2 context (vmx_ctx.nst): L1's VMX operation and
 * its current VMCS. */
struct vmx_nested {
	bool vmxon;            /* L1 is in VMX operation */
	bool np;               /* L2 runs on L1's EPT (the shadow) */
	bool invept_pending;   /* INVEPT (or VMXON) since the last entry: drop the shadow */
	bool vpid_flush;       /* flush L2's VPID at the next entry */
	u16 last_vpid;         /* L1's VPID for L2 at the last entry (0: none) */
	u32 prev_launched;     /* vmcs12's launch state before the last entry */
	u32 fail_reason;       /* vmcs02's entry failed: reflect this */
	u64 vmxon_ptr;
	u64 current;           /* L1's current-VMCS pointer, ~0: none */
	struct vp_ctx *l1;     /* L1's context while L2 runs */
	u64 cr0_ours, cr4_ours; /* CR bits only hv.efi owns in vmcs02 */
	u64 insns, entries, exits, entry_failures, inveps, irq_exits;
	/* The bitmap merge (vmx_nested.c): our bits' qwords and what vmcs02's
	 * bitmaps hold now (1 ours, 2 all ones, else L1's address). */
#define NVMX_OWN_MAX 32
	const struct vmx_ctx *own_for;
	u32 own_gen;
	bool own_many;
	u8 n_own_msr, n_own_io;
	u16 own_msr[NVMX_OWN_MAX], own_io[NVMX_OWN_MAX];
	u64 src_msr, src_io;
	/* The enlightened VMCS (TLFS 16.5; vmx_evmcs.c): L1's current one
	 * while ev.active (then `current` is none); the merges of L1's MSR
	 * bitmap it saved (the enlightened MSR bitmap, 16.5.3). */
	struct evmcs_vp ev;
	u64 msr_merges_skipped;
	bool dflush;           /* L2 runs with direct virtual flush (TLFS 16.8) */
	/* vmcs02's segment and descriptor-table fields (the eVMCS's group
	 * GUEST_GRP2, TLFS 16.11.3) equal vmcs12's: true after an exit read
	 * them back, false after L1 could change vmcs12's (a VMWRITE of one,
	 * an eVMCS entry that read the group, VMPTRLD/VMCLEAR/VMXOFF, INIT).
	 * VMRESUME then skips their 36 VMWRITEs. */
	bool seg_sync;
	u64 seg_writes_skipped;
	struct vmcs12 v12;     /* the cache of L1's current VMCS */
};

/* A guest segment or descriptor-table field (SDM appendix B: selectors
 * 0x0800-0x080e, limits and access rights 0x4800-0x4822, bases
 * 0x6806-0x6818; the eVMCS's group GUEST_GRP2): what seg_sync covers. */
static inline bool vmx_nested_seg_field(u32 enc)
{
	return (enc >= 0x0800 && enc <= 0x080e) || (enc >= 0x4800 && enc <= 0x4822) ||
	       (enc >= 0x6806 && enc <= 0x6818);
}

/* vmx_nested_route.c: does L1 want L2's exit with basic reason `basic`
 * and qualification q (its vmcs12 controls, SDM 26.1-26.2)? */
struct vp;
bool vmx_l1_wants(struct vp *vp, const struct vmcs12 *v, u32 basic, u64 q);

/* vmx_nested_mem.c (not in the host tests: it reads guest memory).
 * Copy between L1 linear memory and buf
 * (0; else the #PF or #GP is injected and the result is negative). The
 * memory operand's linear address. */
struct vp;
int vmx_l1_copy(struct vp *vp, u64 gva, void *buf, u32 len, bool write);
u64 vmx_operand_gva(struct vp *vp, u32 info, u64 disp);
static inline void *vmx_l1_ptr(u64 gpa) { return (void *)(uintptr_t)gpa; }

/* The capability MSR msr (0x480-0x493) as L1 reads it: 0, or -1 for an
 * MSR that does not exist with what is offered (#GP). host: the CPU's
 * capabilities (CR0/CR4 fixed-1 come from them). */
int vmx_nested_msr(const struct vmx_caps *host, u32 msr, u64 *val);

/* VM-entry checks on L1's VMCS (SDM 26.2, 26.3.1), on the fields hv.efi
 * offers; maxphy: MAXPHYADDR. Controls and host state return the
 * VM-instruction error (7, 8; 0 if fine) and name the failed check in
 * *why; the guest state returns NULL or the failed check's name (a
 * VM-entry failure: exit reason 33 with bit 31, qualification 0). */
u32 vmx_nested_check_controls(const struct vmcs12 *v, u32 maxphy, const char **why);
u32 vmx_nested_check_host(const struct vmcs12 *v, u32 maxphy, u64 cr4_fixed1, bool l1_lma,
			  const char **why);
const char *vmx_nested_check_guest(const struct vmcs12 *v, u32 maxphy, u64 cr4_fixed1);

/* vmx_nested_evmcs.c: the enlightened VMCS (TLFS 16.5). */
void vmx_nested_evmcs_init(void);
/* L1 set EnlightenVmEntry in its VP assist page and an eVMCS version is
 * offered: *gpa its CurrentNestedVmcs. */
bool vmx_evmcs_current(const struct vp *vp, u64 *gpa);
/* The eVMCS at gpa into n->v12 for VMLAUNCH (!resume) / VMRESUME: 0, 1
 * (VMfailInvalid: bad GPA or version; released) or 7 (VMfailValid: a
 * control eVMCS v1 cannot express). */
u32 vmx_nested_evmcs_load(struct vp *vp, struct vmx_nested *n, u64 gpa, bool resume);
/* The exit (or VMfail) into the active eVMCS, if any. */
void vmx_nested_evmcs_exit(struct vmx_nested *n);

#endif
