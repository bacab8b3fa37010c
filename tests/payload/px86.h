/*
 * px86.h - x86 accessors and constants shared by the guest test payload's
 * checks: control registers, the TSC, the interrupt flag (RFLAGS.IF),
 * paging bits.
 *
 * The payload keeps its own small set rather than the hypervisor's
 * include/x86.h: it is the hypervisor's guest and tests it independently.
 * Included by the .c files that use it, not by payload.h or hcall.h: the
 * AP start-up and benchmark payloads include those and define some of
 * these names themselves.
 */
#ifndef PX86_H
#define PX86_H

#include <stdint.h>

#define CR0_WP (1ull << 16)
#define CR4_PGE (1ull << 7)
#define CR4_LA57 (1ull << 12)
#define RFLAGS_IF (1ull << 9)
/* Physical-address bits 51:12 of a paging-structure entry or of CR3. */
#define PTE_ADDR 0x000FFFFFFFFFF000ull

#define PX86_READ_CR(n)                                                       \
	static inline uint64_t read_cr##n(void)                               \
	{                                                                     \
		uint64_t v;                                                   \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));             \
		return v;                                                     \
	}
#define PX86_WRITE_CR(n)                                                      \
	static inline void write_cr##n(uint64_t v)                            \
	{                                                                     \
		__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory");    \
	}
PX86_READ_CR(0)
PX86_READ_CR(3)
PX86_READ_CR(4)
PX86_READ_CR(8)
PX86_WRITE_CR(0)
PX86_WRITE_CR(3)
PX86_WRITE_CR(4)
#undef PX86_READ_CR
#undef PX86_WRITE_CR

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Disable interrupts; returns RFLAGS from before, for irq_restore. */
static inline uint64_t irq_save(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(f) : : "memory");
	return f;
}

/* Re-enable interrupts if they were enabled at irq_save. */
static inline void irq_restore(uint64_t flags)
{
	if (flags & RFLAGS_IF)
		__asm__ volatile("sti" : : : "memory");
}

/* A 64-bit IDT gate (SDM vol. 3 6.14.1) and the IDTR image SIDT/LIDT use. */
struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, reserved;
};
struct idtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* A present DPL 0 interrupt gate (type 0x8E) to isr on the current CS
 * (pidt.c). */
struct idt_gate idt_gate_for(void (*isr)(void));

/* The firmware's IDT (as SIDT finds it) copied into idt[256], gates past
 * its limit zero, then vec[k] -> isr[k] for k < n. Returns the copy's
 * IDTR, not loaded: the caller loads it (and hands it to the APs) when
 * its vectors may start to arrive (pidt.c). */
struct idtr idt_clone(struct idt_gate idt[256], unsigned int n, const uint8_t *vec,
		      void (*const *isr)(void));

#endif
