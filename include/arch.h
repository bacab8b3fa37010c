/*
 * arch.h - the host CPU environment of the core: per-CPU GDT/TSS/IDT,
 * exception handling with fixups, the current VP through GS.
 */
#ifndef HV_ARCH_H
#define HV_ARCH_H

#include "types.h"
#include "pool.h"

struct vp;

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
 * point GS at the VP. */
int arch_cpu_init(struct pool *pool, struct vp *vp);
void idt_load(void);
void trap_handler(struct trap_frame *f);

/* Access with an exception fixup: return 0, or 1 if it faulted. */
int rdmsr_safe(u32 msr, u64 *val);
int wrmsr_safe(u32 msr, u64 val);

/* The VP of this CPU, or NULL before arch_cpu_init ran on it. */
struct vp *hv_current_vp(void);

static inline struct vp *this_vp(void)
{
	struct vp *v;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(v));
	return v;
}

#endif
