/*
 * vmx_caps.h - VMX capability arithmetic, pure (no VMCS, no MSR access):
 * the VM-execution/exit/entry controls from the allowed-0/allowed-1
 * settings of the capability MSRs (SDM 25.6-25.8, appendix A.3-A.5, with
 * the TRUE_* MSRs when IA32_VMX_BASIC bit 55 says so, A.2), and the CR0/CR4
 * fixed bits (A.7, A.8). Compiled into the core and into host unit tests.
 */
#ifndef VMX_VMX_CAPS_H
#define VMX_VMX_CAPS_H

#include "types.h"

/* The capability MSR values as read from the CPU (index: MSR - 0x480). */
struct vmx_caps {
	u64 basic;                 /* 0x480 */
	u64 pin, proc, exit, entry; /* 0x481-0x484 */
	u64 misc;                  /* 0x485 */
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1; /* 0x486-0x489 */
	u64 proc2;                 /* 0x48B (0 if secondary controls absent) */
	u64 ept_vpid;              /* 0x48C (0 if neither EPT nor VPID) */
	u64 true_pin, true_proc, true_exit, true_entry; /* 0x48D-0x490 */
};

enum { VMX_CTL_PIN, VMX_CTL_PROC, VMX_CTL_PROC2, VMX_CTL_EXIT, VMX_CTL_ENTRY };

/* What the backend needs (required) and would like (optional). */
struct vmx_ctl_want {
	u32 required, optional;
};

struct vmx_controls {
	u32 pin, proc, proc2, exit, entry;
};

/* One control word: the bits the CPU forces to 1 (allowed-0, low half of
 * cap), the required bits, and the optional bits it allows (allowed-1, high
 * half). Returns 0 and *out, or -1 with *missing = the required bits the CPU
 * cannot set. */
int vmx_adjust_ctl(u64 cap, struct vmx_ctl_want want, u32 *out, u32 *missing);

/* All five control words from the capabilities. Returns 0, or -1 with *why
 * naming the control word and *missing the bits it lacks. */
int vmx_compute_controls(const struct vmx_caps *c, const struct vmx_ctl_want want[5],
			 struct vmx_controls *out, const char **why, u32 *missing);

/* The VMX backend's wants, indexed by VMX_CTL_* (vmx_caps.c). */
extern const struct vmx_ctl_want vmx_ctl_wanted[5];

/* A CR0/CR4 value made legal for VMX operation: (v | fixed0) & fixed1. */
u64 vmx_fixed_cr(u64 v, u64 fixed0, u64 fixed1);
/* CR0 bits the guest must keep set; with unrestricted guest PE and PG may
 * be clear (SDM 27.3.1.1). */
u64 vmx_guest_cr0_fixed0(const struct vmx_caps *c, bool unrestricted);

/*
 * CR0/CR4 ownership (SDM 25.6.6): a bit set in a guest/host mask is the
 * hypervisor's; the guest reads it from the read shadow, and a MOV to CR
 * that would give it a value other than the shadow's exits (26.1.3);
 * CLTS and LMSW exit only on owned TS and PE/MP/EM/TS (26.1.3). The
 * owned bits are the ones VMX pins: CR0 the fixed-1 bits the guest may
 * not clear (NE; PE and PG too without unrestricted guest), CR4 the
 * fixed-1 bits (VMXE). The real register keeps them as VMX requires.
 */
u64 vmx_cr0_mask(const struct vmx_caps *c, bool unrestricted);
u64 vmx_cr4_mask(const struct vmx_caps *c);

/* The guest's view of a control register: the owned bits from the
 * shadow, the rest from the real register (SDM 25.3, MOV from CR). */
static inline u64 vmx_cr_view(u64 real, u64 shadow, u64 mask)
{
	return (real & ~mask) | (shadow & mask);
}

/* The guest CR0 after a CR-access exit of type (qualification bits 5:4:
 * 0 MOV to CR0 with src the register, 2 CLTS, 3 LMSW with src its
 * 16-bit source; SDM 28.2.1 table 28-3) from the guest's view cur: CLTS
 * clears TS; LMSW loads PE, MP, EM and TS but cannot clear PE. */
u64 vmx_cr0_new_value(u64 cur, unsigned type, u64 src);

/* MOV to CR0 of v from the guest's view cur raises #GP(0) on a processor
 * (SDM vol. 2 MOV to/from CR, vol. 3 2.5, 10.8.5): bits 63:32 set; PG
 * without PE; NW without CD; activating IA-32e mode (PG 0->1 with
 * EFER.LME) without CR4.PAE or from a 64-bit code segment; clearing PG
 * in 64-bit mode or with CR4.PCIDE set; clearing WP with CR4.CET set.
 * cr4 is the guest's view, cs_l the code segment's L bit. */
bool vmx_cr0_write_gp(u64 cur, u64 v, u64 cr4, u64 efer, bool cs_l);

/* MOV to CR4 of v raises #GP(0) for a guest that has no VMX: VMXE set
 * (reserved on a CPU without VMX, SDM 2.5), or a bit the CPU does not
 * allow in VMX operation (IA32_VMX_CR4_FIXED1 clear: reserved or
 * unsupported, A.8). */
bool vmx_cr4_write_gp(const struct vmx_caps *c, u64 v);

/* The allowed-1 settings of one control word (VMX_CTL_*): the bits it
 * may set (the TRUE_* MSR when IA32_VMX_BASIC bit 55 says so, A.2). */
u32 vmx_allowed1(const struct vmx_caps *c, int ctl);

/* The VMX-preemption timer value that expires at TSC `deadline` from
 * `now` (SDM 26.5.1): it counts down by one each time TSC bit X changes,
 * X = IA32_VMX_MISC[4:0]; rounded up, 0 when due, saturated at 32 bits
 * (the timer then expires early and is armed again). */
u32 vmx_preempt_ticks(u64 deadline, u64 now, u64 misc);

/* The MSR bitmap (SDM 25.6.9): read-low at 0, read-high at 1 KiB,
 * write-low at 2 KiB, write-high at 3 KiB; low = 0-0x1FFF, high =
 * 0xC0000000-0xC0001FFF. The read bit's index (add 2048 * 8 for the write
 * bit), or -1 outside both ranges: such an MSR always exits. */
int vmx_msr_bitmap_bit(u32 msr);

#endif
