/*
 * gdt.c - the host's own descriptor tables, per CPU (SDM 3.4-3.5, 8.2.3).
 * The TSS exists for its interrupt stack table: #DF, NMI and #MC run on
 * known-good stacks even if the host stack is damaged.
 */
#include "arch.h"
#include "x86.h"
#include "log.h"

struct PACKED tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
};
_Static_assert(sizeof(struct tss64) == 104, "TSS size (SDM 8.7)");

#define IST_STACK_PAGES 1

int arch_cpu_init(struct pool *pool, void *percpu)
{
	/* One page: GDT (5 slots) at 0, TSS at 64. */
	u8 *page = pool_alloc_pages(pool, 1);
	if (!page)
		return -1;
	u64 *gdt = (u64 *)page;
	struct tss64 *tss = (struct tss64 *)(page + 64);

	for (int i = 0; i < 3; i++) {
		u8 *stack = pool_alloc_pages(pool, IST_STACK_PAGES);
		if (!stack)
			return -1;
		tss->ist[i] = (u64)(uintptr_t)(stack + IST_STACK_PAGES * PAGE_SIZE);
	}
	tss->iomap_base = sizeof(*tss);

	u64 tb = (u64)(uintptr_t)tss;
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull; /* 64-bit code, DPL0 */
	gdt[2] = 0x00cf93000000ffffull; /* data, DPL0 */
	gdt[3] = (sizeof(*tss) - 1) | ((tb & 0xffffff) << 16) | (0x89ull << 40) |
		 ((tb >> 24) & 0xff) << 56; /* available 64-bit TSS */
	gdt[4] = tb >> 32;

	struct desc_ptr gdtr = { 5 * 8 - 1, (u64)(uintptr_t)gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\t"
			 "mov %2, %%es\n\t"
			 "mov %2, %%ss\n\t"
			 "ltr %w3\n\t"
			 :
			 : "m"(gdtr), "i"(HOST_CS), "r"((u64)HOST_DS), "r"((u64)HOST_TSS)
			 : "rax", "memory");
	idt_load();
	wrmsr(MSR_GS_BASE, (u64)(uintptr_t)percpu);
	return 0;
}
