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

#endif
