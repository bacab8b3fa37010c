/*
 * nested.h - nested virtualization, the Hv#1-neutral part (docs/nested.md):
 * the L2 context of a VP, the shadow of L1's nested page tables and the
 * exit handlers that route L2's exits. The VMCB side is svm/svm_nested.c,
 * reached through the backend's nested_* ops.
 */
#ifndef NESTED_NESTED_H
#define NESTED_NESTED_H

#include "vp.h"
#include "slat.h"

struct pool;

/*
 * The shadow nested page tables of one L2 context: L2 GPA -> host
 * physical, each 4K entry the composition of L1's nested page tables
 * (L2 GPA -> L1 GPA, walked with hv/walk.c) and what hv.efi lets L1 reach
 * at that L1 GPA (hv/gmem.c: never hypervisor memory; the xAPIC page
 * read-only; overlay pages). Built on demand, one page per L2 fault, from
 * a fixed set of pages; dropped whole when L1 changes its root, asks for a
 * TLB flush, or hv.efi's view of L1's memory changes (partition.slat_gen),
 * or when the pages run out.
 */
struct shadow {
	struct slat slat;   /* root: what the L2 context's nCR3 points at */
	u8 *pages;          /* npages 4K pages, pages[0] the root */
	u32 npages, used;
	u64 l1_root;        /* L1's nCR3 this shadows */
	u32 gen;            /* partition.slat_gen when built */
	u8 vtl;             /* the VTL of the L1 context: whose view is composed */
	bool gbpages;       /* 1 GiB pages in L1's tables (CPUID 0x80000001 EDX[26]) */
	bool l1_ept;        /* L1's tables are EPT (VMX), else long-mode format (SVM) */
	u32 maxphy;         /* MAXPHYADDR: EPT entry bits above it are reserved */
	u64 resets, faults, reflected, vtl_denied; /* vtl_denied: by a VTL protection */
};

int shadow_init(struct shadow *sh, struct pool *pool, u32 npages, const struct slat_fmt *fmt,
		bool gbpages);
/* Drop every entry; from now on shadow L1's tables at l1_root. */
void shadow_reset(struct shadow *sh, u64 l1_root, u32 gen);
/* Drop the shadow of t (on t's processor), flush L2's TLB if t is in L2. */
void nested_view_flush(struct vp *t);

enum shadow_result {
	SHADOW_MAPPED,   /* the page is mapped now: enter L2 again */
	SHADOW_REFLECT,  /* L1's tables do not allow it: an NPF for L1 (*info1) */
	SHADOW_DENIED,   /* L1 allows it, hv.efi does not (its memory, a
			  * read-only page): #GP into L2 */
	SHADOW_FULL,     /* out of pages: reset; enter L2 again */
	SHADOW_MISCONFIG, /* L1's EPT entry is misconfigured (SDM 29.3.3.1) */
};
/* An L2 access (write/exec: the kind; hw_info1: the CPU's EXITINFO1, for
 * its bits 32/33) to L2 GPA gpa faulted on the shadow: walk L1's tables,
 * compose, map. *info1 is the NPF error code for L1 (APM 15.25.6) on
 * SHADOW_REFLECT. */
enum shadow_result shadow_fault(const struct partition *p, struct shadow *sh, u64 gpa,
				bool write, bool exec, u64 hw_info1, u64 *info1);

/* L2 GPA gpa through L1's EPT (sh->l1_ept) for a read: the L1 GPA. */
bool shadow_ept_translate(const struct partition *p, const struct shadow *sh, u64 gpa, u64 *l1);

/* Per VP (vp->nested). */
struct nested_vp {
	struct shadow sh;
	u64 vmruns, invalid, reflected_exits, denied;
	u64 hv_flushes; /* shadow drops by the nested flush hypercalls */
	/* Direct virtual flush (dflush.c), as L1's last VMRUN set it. */
	bool dflush;           /* nested_flush_hypercall was set */
	bool np;               /* L2 on L1's nested paging (sh.l1_root) */
	bool l2_tlb_stale;     /* flushed while in L1: flush at the next VMRUN */
	bool dflush_logged;
	u32 l2_vp_id;
	u64 l2_vm_id, assist_pa;
	u64 dflush_calls, dflush_traps, dflush_targets;
	u64 evmcs_entries, evmcs_full; /* VMX: entries from the eVMCS, every group read */
};

/* dflush.c: an L2 TLB flush hypercall's header and target set (TLFS
 * 9.4.2-9.4.5; code 0x0002, 0x0003, 0x0013, 0x0014), public for host
 * tests. in: the input block; var_hdr: its variable header (8-byte
 * units). The status of the header; then is L2 VP id `id` a target? */
u16 nested_dflush_header(const struct partition *p, u16 code, const u8 *in, u16 var_hdr);
bool nested_dflush_targets(u16 code, const u8 *in, u16 var_hdr, u32 id);
bool nested_dflush_code(u16 code);

/* flush.c: the nested flush hypercalls' checks (TLFS 16.13), public for
 * host tests. mode: the caller's EFER (SVME: "in nested hypervisor
 * mode"), on VMX its CR4 (VMXE). */
u16 nested_flush_check(const struct partition *p, u64 mode, u64 space, u64 flags);
bool nested_gpa_range_ok(const struct partition *p, u64 gpa_range);
/* Leaf 0x4000000A EAX with nested=on (nested.c). */
u32 nested_optimizations(const struct partition *p);

#endif
