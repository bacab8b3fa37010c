/*
 * cpu_state.h - a VP's architectural state from the TLFS's structures:
 * the HV_INITIAL_VP_CONTEXT parse (HvStartVirtualProcessor, TLFS 7.10.3;
 * HvEnableVpVtl, TLFS 15) and the checks of a state and of its registers
 * (hv/cpu_state.c).
 */
#ifndef HV_CPU_STATE_H
#define HV_CPU_STATE_H

#include "vp.h"
#include "boot_info.h"
#include "x86.h"

/* Architectural masks (SDM vol. 3 2.5, 2.2.1); the bits are in x86.h. */
#define CR0_DEFINED (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | \
		     CR0_NW | CR0_CD | CR0_PG)
#define CR0_FREE (CR0_MP | CR0_EM | CR0_TS | CR0_WP | CR0_AM) /* Set may change these */
#define CR4_DEFINED 0x03ff7fffull /* bits 0-14, 16-25 */
/* CR4 bits every x86-64 CPU has: may be set even if the VP has them clear. */
#define CR4_BASE (CR4_TSD | CR4_DE | CR4_PSE | CR4_MCE | CR4_PGE | CR4_PCE | CR4_OSFXSR | \
		  CR4_OSXMMEXCPT)
#define CR4_MODE (CR4_PAE | CR4_LA57 | CR4_PCIDE)
#define EFER_DEFINED (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | EFER_SVME | BIT(13) | BIT(14) | \
		      BIT(15))
#define RFLAGS_FIXED1 BIT(1)
#define RFLAGS_RSVD (~0x3fffffull | BIT(15) | BIT(5) | BIT(3))
#define DR7_RSVD (0xffffffff00000000ull | BIT(11) | BIT(12) | BIT(14) | BIT(15))

/* HV_INITIAL_VP_CONTEXT (224 bytes at x) over *g: RIP, RSP, RFLAGS, the
 * segments, IDTR, GDTR, EFER, CR0, CR3, CR4, PAT. The rest of *g (DRs,
 * the other MSRs) is left as it was. */
void cpu_state_parse_initial_context(const u8 *x, struct guest_boot_state *g);

/* A whole protected- or long-mode state, consistent with itself, for a VP
 * of p; cr4_have: CR4 bits known to exist on this CPU model (the
 * caller's CR4). HV_STATUS_SUCCESS or HV_STATUS_INVALID_REGISTER_VALUE. */
u16 cpu_state_check(const struct partition *p, const struct guest_boot_state *g, u64 cr4_have);

/* Parts of it, for a register at a time (HvSetVpRegisters). */
u16 cpu_state_seg_check(int seg, const struct seg_state *s, bool lma, bool la57);
bool cpu_state_cs_ss_consistent(const struct guest_boot_state *g);
bool cpu_state_rip_ok(const struct guest_boot_state *g, u64 rip);
bool cpu_state_pat_valid(u64 pat);
bool cpu_state_cr3_ok(const struct partition *p, u64 cr3, bool lma);
bool cpu_state_nx_supported(void);

#endif
