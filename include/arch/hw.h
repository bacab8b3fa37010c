/*
 * hw.h - the hardware seams (arch/x86_64/hw.c): everything the Hv#1 logic
 * needs from the processor it runs on, other than the backend. The host
 * unit tests supply fakes (tests/host/fakes.c), so hv/ compiles unchanged
 * for them.
 */
#ifndef HV_HW_H
#define HV_HW_H

#include "types.h"

void hw_cpuid(u32 leaf, u32 sub, u32 r[4]);
/* 0, or 1 if the access faulted (#GP). */
int hw_rdmsr(u32 msr, u64 *val);
int hw_wrmsr(u32 msr, u64 val);
u32 hw_io_in(u16 port, u8 size);
void hw_io_out(u16 port, u8 size, u32 val);
u64 hw_rdtsc(void);
void hw_cpu_relax(void);
/* Stop this processor for good (a fatal error). */
NORETURN void hw_park(void);

/* Guest physical memory: the host identity-maps it. */
void *hw_gpa_ptr(u64 gpa);

/* The guest's XMM0-XMM5, live in the CPU across an exit. */
void hw_xmm_read(u8 out[96]);
void hw_xmm_write(const u8 in[96]);

/* This processor's local APIC in the mode the guest put it in (the guest
 * owns it): registers by xAPIC offset, the ICR as one 64-bit value. */
bool hw_x2apic_mode(void);
u32 hw_apic_read(u32 reg);
void hw_apic_write(u32 reg, u32 val);
u64 hw_apic_read_icr(void);
void hw_apic_write_icr(u64 val);

/* What the host exception handler (arch/x86_64/trap.c) asks of the layers
 * above it, registered once by the core: an NMI arrived in the host; a
 * host exception is about to park the CPU (dump what you know). */
struct hw_hooks {
	void (*nmi)(void);
	void (*panic)(void);
};
void hw_set_hooks(const struct hw_hooks *h);

#endif
