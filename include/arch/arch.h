/*
 * arch.h - the host CPU environment of the core: per-CPU GDT/TSS/IDT,
 * exception handling with fixups, a per-CPU pointer through GS.
 */
#ifndef HV_ARCH_H
#define HV_ARCH_H

#include "types.h"
#include "pool.h"

#define HOST_CS 0x08
#define HOST_DS 0x10
#define HOST_TSS 0x18

/* Registers pushed by the exception stubs (isr.asm), then the CPU frame. */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;
};

/* Load this CPU's GDT, TSS (IST stacks for #DF, NMI, #MC) and IDT, and
 * point GS at `percpu` (the core's per-CPU pointer: its VP). */
int arch_cpu_init(struct pool *pool, void *percpu);
void idt_load(void);
void trap_handler(struct trap_frame *f);

/* Access with an exception fixup: return 0, or 1 if it faulted. */
int rdmsr_safe(u32 msr, u64 *val);
int wrmsr_safe(u32 msr, u64 val);

/* hw.c: the hooks of hw_set_hooks, called by trap.c. */
void hw_hook_nmi(void);
void hw_hook_panic(void);

#endif
