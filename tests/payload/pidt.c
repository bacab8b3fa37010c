/*
 * pidt.c - the IDT helpers of px86.h: the checks that take interrupts at
 * their own vectors (SynIC SINTs, timers, IPIs) run on a copy of the
 * firmware's IDT with their gates added, so that OVMF's handlers for
 * everything else stay in place (SDM vol. 3 6.10, 6.14.1).
 */
#include "px86.h"

struct idt_gate idt_gate_for(void (*isr)(void))
{
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	uint64_t h = (uint64_t)(uintptr_t)isr;
	return (struct idt_gate){ (uint16_t)h, cs, 0, 0x8e, (uint16_t)(h >> 16), (uint32_t)(h >> 32),
				  0 };
}

struct idtr idt_clone(struct idt_gate idt[256], unsigned int n, const uint8_t *vec,
		      void (*const *isr)(void))
{
	struct idtr fw;
	__asm__ volatile("sidt %0" : "=m"(fw));
	const uint8_t *src = (const uint8_t *)(uintptr_t)fw.base;
	uint8_t *dst = (uint8_t *)idt;
	for (unsigned int i = 0; i < 256 * sizeof(*idt); i++)
		dst[i] = i <= fw.limit ? src[i] : 0;
	for (unsigned int k = 0; k < n; k++)
		idt[vec[k]] = idt_gate_for(isr[k]);
	return (struct idtr){ (uint16_t)(256 * sizeof(*idt) - 1), (uint64_t)(uintptr_t)idt };
}
