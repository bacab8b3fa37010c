/*
 * payload.h - shared declarations of the guest test payload (payload.efi).
 *
 * The payload is a gnu-efi application that the hypervisor starts as its
 * guest (or OVMF starts directly, as the negative control). It prints one
 * line per check to COM1:
 *     PASS: <check-name>
 *     FAIL: <check-name>: <detail>
 * between "PAYLOAD START" and "PAYLOAD DONE: N passed, M failed".
 */
#ifndef PAYLOAD_H
#define PAYLOAD_H

/* gnu-efi 3.0.15's efiapi.h has a "()" function type (EFI_RESERVED_SERVICE)
 * that -Wstrict-prototypes -Werror rejects: silence it for these headers. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <efi.h>
#include <efilib.h>
#pragma GCC diagnostic pop
#include <stddef.h>
#include <stdint.h>

#include "hv_abi.h"

/*
 * What this payload knows how to test (raised by later work as features
 * land). Anything the hypervisor advertises outside these masks is a FAIL:
 *   TESTED_PRIVILEGES      CPUID 0x40000003 EBX<<32 | EAX (TLFS 4.2.2)
 *   TESTED_FEATURES_EDX    CPUID 0x40000003 EDX (TLFS 2.4.4)
 *   TESTED_RECOMMENDATIONS CPUID 0x40000004 EAX (TLFS 2.4.5)
 */
/* checks_hypercall.c, checks_hcall_calls.c: AccessHypercallMsrs (5),
 * AccessVpIndex (6), EnableExtendedHypercalls (52); XMM fast input (EDX 4)
 * and output (15), hypercall MSR lock (18). AccessPartitionId (33) is not
 * in the mask: it is withheld by policy (checks_cpuid.c
 * no_access_partition_id), HvGetPartitionId answers ACCESS_DENIED. */
/* checks_stimer.c: AccessSyntheticTimerRegs (3), direct mode (EDX 19),
 * AccessTscInvariantControls (15). */
/* hypercall MSRs 5, VP index 6, reference counter 1, reference TSC 9,
 * frequencies 11, reset 7, APIC MSRs + VP assist 4, VP runtime 0, guest idle
 * 10; extended hypercalls 52. */
/* checks_vpregs.c: AccessVpRegisters (49, vpregs.self/remote/err),
 * StartVirtualProcessor (53, vpregs.start). */
/* checks_synic.c: AccessSynicRegs (2), PostMessages (36), SignalEvents
 * (37), CreatePort (38), ConnectPort (39); checks_stimer.c:
 * AccessSyntheticTimerRegs (3), AccessTscInvariantControls (15). */
/* checks_vsm.c: AccessVsm (48, vsm.*), offered only with AccessSynicRegs. */
#define TESTED_PRIVILEGES 0x003300f000008effull
/* XMM input 4, XMM output 15, hypercall MSR lock 18, frequency MSRs 8,
 * crash MSRs 10, guest idle 5. */
#define TESTED_FEATURES_EDX 0x000c8530u
/* Bit 3: use the APIC MSRs (tested by checks_apic.c: apic.eoi/icr/tpr);
 * bit 2: remote flushes by hypercall, bit 11: Ex processor sets
 * (checks_tlb.c: tlb.*); bit 10: synthetic cluster IPIs (checks_ipi.c:
 * ipi.*). */
#define TESTED_RECOMMENDATIONS 0xc0cu

/* Exception vectors the checks expect. */
#define VEC_NONE (-1)
#define VEC_UD 6
#define VEC_GP 13
#define VEC_PF 14

/* ---- pserial.c: COM1 output and check reporting ------------------------ */
void ser_putc(char c);
void ser_puts(const char *s);
void ser_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fmt_name(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fmt_va(char *buf, size_t size, const char *fmt, __builtin_va_list ap); /* the same, va_list */

/* Report one check. ok != 0 prints "PASS: name"; otherwise
 * "FAIL: name: <detail formatted from fmt>". Returns ok. */
int check(const char *name, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* got == expected, detail "got 0x.. expected 0x..". */
int check_eq(const char *name, uint64_t got, uint64_t expected);
/* An instruction raised exactly the expected vector (VEC_NONE: none). */
int check_vec(const char *name, int got, int expected);
/* Format "#GP(13)" or "no exception" for details. */
const char *vec_name(int vec);

extern unsigned int g_passed, g_failed;

/* Power off: ResetSystem, then Bochs port 0x8900, then isa-debug-exit,
 * then cli; hlt forever. */
void payload_poweroff(void) __attribute__((noreturn));

/* ---- ptrap.asm + payload.c: exception-catching probes ----------------- */
/* Each returns VEC_NONE (-1) if no exception happened, else the vector. */
int trap_rdmsr(uint32_t msr, uint64_t *val);
int trap_wrmsr(uint32_t msr, uint64_t val);
int trap_read64(uint64_t addr, uint64_t *val);
int trap_write64(uint64_t addr, uint64_t val);
/* REP INSB of count bytes from port into buf. */
int trap_insb(uint16_t port, void *buf, uint64_t count);
int trap_write32(uint64_t addr, uint32_t val);
/* Call code at fn with RDI = a, RSI = b (it must keep RBX). */
int trap_call(uint64_t fn, uint64_t a, uint64_t b);
int trap_ud2(void);

/* Virtualization instructions, executed with RAX = page, ECX = 0. */
enum virt_insn {
	INSN_VMRUN,
	INSN_VMMCALL,
	INSN_VMLOAD,
	INSN_VMSAVE,
	INSN_STGI,
	INSN_CLGI,
	INSN_SKINIT,
	INSN_INVLPGA,
	INSN_VMCALL,
	/* Intel VMX */
	INSN_VMXON,
	INSN_VMXOFF,
	INSN_VMCLEAR,
	INSN_VMPTRLD,
	INSN_VMPTRST,
	INSN_VMREAD,
	INSN_VMWRITE,
	INSN_VMLAUNCH,
	INSN_VMRESUME,
	INSN_INVEPT,
	INSN_INVVPID,
	INSN_COUNT
};
int trap_insn(enum virt_insn insn, void *page);

/* MOV to CR4. */
int trap_write_cr4(uint64_t val);

/* The exception window around a probe: load an IDT whose vectors 0-31 are
 * stubs (32 entry points, 16 bytes apart), interrupts disabled; leave
 * restores the firmware IDT and the interrupt flag. */
uint64_t trap_window_enter(const char *stubs);
void trap_window_leave(uint64_t flags);

/* Error code of the last caught exception (0 if it pushes none). */
uint64_t trap_last_errcode(void);

/* ---- helpers ----------------------------------------------------------- */
struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

enum cpu_vendor { VENDOR_OTHER, VENDOR_AMD, VENDOR_INTEL };
enum cpu_vendor cpu_vendor(void);

/* The hypervisor's info table (NULL if absent or malformed). */
const struct hv_info_table *find_hv_info(void);

/* ---- checks_mp.c: the firmware's MP services --------------------------- */
/* EFI_MP_SERVICES_PROTOCOL (PI spec vol. 2, 13.4). */
struct efi_mp_services {
	void *get_number_of_processors, *get_processor_info, *startup_all_aps,
		*startup_this_ap, *switch_bsp, *enable_disable_ap, *who_am_i;
};
/* Locate the protocol and ask it for the number of processors: on success
 * stores it in *n (the enabled ones in *enabled unless that is NULL) and
 * returns the protocol; else returns NULL and leaves both unchanged. */
struct efi_mp_services *find_mp_services(UINTN *n, UINTN *enabled);
/* mp.asm: the EFI_AP_PROCEDURE that runs mp_ap_check (checks_mp.c). */
void mp_ap_thunk(void *arg);

/* ---- check groups ------------------------------------------------------ */
void checks_cpuid(void);            /* checks_cpuid.c */
void checks_msr(void);              /* checks_msr.c: synthetic MSRs */
void checks_io(void);               /* checks_io.c: string I/O on an intercepted port */
int checks_svm_msrs(void);          /* checks_msr.c: EFER/VM_CR/HSAVE (AMD);
				       nonzero if EFER.SVME reads clear after */
void checks_mem(void);              /* checks_mem.c: hypervisor memory */
void checks_vmx(void *page);        /* checks_vmx.c: VMX hidden (Intel) */
void checks_hypercall(void);        /* checks_hypercall.c: TLFS 3 hypercalls */
void checks_mp(void);               /* checks_mp.c: every processor (issue 4) */
void checks_time(void);             /* checks_time.c: TLFS 12.4, 12.7 */
void checks_apic(void);             /* checks_apic.c: TLFS 10.2.3, 7.8.7, 4.3 */
void checks_apic_store(void);       /* checks_apic_store.c: stores to the xAPIC page */
void checks_mode32(void);           /* checks_mode32.c: 32-bit callers (TLFS 3.7) */
void checks_realmode(void);         /* checks_realmode.c: #UD in real mode (TLFS 3.5) */
void checks_vpregs(void);           /* checks_vpregs.c: TLFS 7.10.1-7.10.3 */
void checks_translate(void);        /* checks_translate.c: TLFS 9.4.6 */
void checks_tlb(void);              /* checks_tlb.c: TLFS 9.4 TLB flushes */
void checks_ipi(void);              /* checks_ipi.c: TLFS 10.5 synthetic IPIs */
void checks_overlay(void);          /* checks_overlay.c: what an overlay uncovers (TLFS 5.2.1) */
void checks_overlay_lock(void);     /* checks_overlay.c: the lock vs the guest OS ID (2.6, 3.13) */
void checks_cr(void);               /* checks_cr.c: CR0/CR4 as on hardware */
void checks_synic(void);            /* checks_synic.c: TLFS 11 SynIC, ports, messages, events */
void checks_stimer(void);           /* checks_stimer.c: TLFS 12.5 timers, TSC invariant control */
void checks_stimer_msg(void);       /* checks_stimsg.c: TLFS 12.1.3 timers in message mode */
/* checks_nested_svm.c: the payload as a hypervisor (nested=on, issue 16) */
void checks_nested_svm(int expected);
/* checks_nested_vmx.c: the payload as a VMX hypervisor (nested=on, issue 18) */
void checks_nested_vmx(int expected);
/* checks_nested_enl.c: the nested enlightenments (needs the hypercall page) */
void checks_nested_enl(int nested_on);
/* checks_nested_evmcs.c: the enlightened VMCS (nested=on on Intel; the hypercall page) */
void checks_nested_evmcs(int nested_on);
/* The load options say nested=on (hv.cfg offers SVM to the guest). */
extern int g_nested_on;
extern uint32_t g_vsm_mbec; /* MbecVtlMask (checks_vsm.c) */
void checks_vsm(void);              /* checks_vsm.c: TLFS 15 virtual secure mode */

#endif
