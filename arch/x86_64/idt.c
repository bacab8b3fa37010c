/*
 * idt.c - the host IDT (SDM 6.14). The host never enables interrupts (a
 * physical interrupt during an exit stays pending for the guest), so only
 * the 32 exception vectors have handlers. #DF, NMI and #MC run on IST stacks.
 */
#include "arch.h"
#include "x86.h"

extern const u64 isr_table[32];

struct PACKED idt_gate {
	u16 off0;
	u16 sel;
	u8 ist;
	u8 type;
	u16 off1;
	u32 off2;
	u32 reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate (SDM 6.14.1)");

static struct idt_gate idt[32];

void idt_load(void)
{
	if (!idt[0].type) {
		for (int v = 0; v < 32; v++) {
			u64 h = isr_table[v];
			idt[v].off0 = (u16)h;
			idt[v].sel = HOST_CS;
			idt[v].ist = v == X86_EXC_DF ? 1 : v == X86_EXC_NMI ? 2 : v == 18 ? 3 : 0;
			idt[v].type = 0x8e; /* present, DPL0, 64-bit interrupt gate */
			idt[v].off1 = (u16)(h >> 16);
			idt[v].off2 = (u32)(h >> 32);
		}
	}
	struct desc_ptr idtr = { sizeof(idt) - 1, (u64)(uintptr_t)idt };
	__asm__ volatile("lidt %0" ::"m"(idtr));
}
