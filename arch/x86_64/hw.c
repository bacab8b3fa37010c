/*
 * hw.c - the hardware seams of include/arch/hw.h on the real processor,
 * and the hooks through which the host exception handler reaches the
 * layers above (arch/ uses nothing above lib/).
 */
#include "hw.h"
#include "arch.h"
#include "x86.h"

void hw_cpuid(u32 leaf, u32 sub, u32 r[4]) { cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3]); }
int hw_rdmsr(u32 msr, u64 *val) { return rdmsr_safe(msr, val); }
int hw_wrmsr(u32 msr, u64 val) { return wrmsr_safe(msr, val); }

u32 hw_io_in(u16 port, u8 size)
{
	return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}

void hw_io_out(u16 port, u8 size, u32 val)
{
	if (size == 1)
		outb(port, (u8)val);
	else if (size == 2)
		outw(port, (u16)val);
	else
		outl(port, val);
}

void *hw_gpa_ptr(u64 gpa) { return (void *)(uintptr_t)gpa; } /* identity map */
u64 hw_rdtsc(void) { return rdtsc(); }
void hw_cpu_relax(void) { cpu_relax(); }

/* The guest's XMM0-XMM5 are live in the CPU: the hypervisor is built
 * without SSE, so nothing else touches them during an exit. */
void hw_xmm_read(u8 out[96])
{
	__asm__ volatile("movdqu %%xmm0, 0(%0)\n\tmovdqu %%xmm1, 16(%0)\n\t"
			 "movdqu %%xmm2, 32(%0)\n\tmovdqu %%xmm3, 48(%0)\n\t"
			 "movdqu %%xmm4, 64(%0)\n\tmovdqu %%xmm5, 80(%0)"
			 :: "r"(out) : "memory");
}

void hw_xmm_write(const u8 in[96])
{
	__asm__ volatile("movdqu 0(%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\t"
			 "movdqu 32(%0), %%xmm2\n\tmovdqu 48(%0), %%xmm3\n\t"
			 "movdqu 64(%0), %%xmm4\n\tmovdqu 80(%0), %%xmm5"
			 :: "r"(in) : "memory");
}

/* The local APIC as the guest set it up (IA32_APIC_BASE, SDM 10.4.4):
 * x2APIC registers are MSRs 0x800 + offset/16; xAPIC ones are MMIO at the
 * base, which the host identity-maps (the MTRRs make it uncached). */
static u64 apic_base(bool *x2)
{
	u64 b = rdmsr(MSR_IA32_APIC_BASE);
	*x2 = b & BIT(10);
	return b & 0x000ffffffffff000ull;
}

bool hw_x2apic_mode(void)
{
	bool x2;
	apic_base(&x2);
	return x2;
}

u32 hw_apic_read(u32 reg)
{
	bool x2;
	u64 base = apic_base(&x2);
	return x2 ? (u32)rdmsr(0x800 + reg / 16) : *(volatile u32 *)(uintptr_t)(base + reg);
}

void hw_apic_write(u32 reg, u32 val)
{
	bool x2;
	u64 base = apic_base(&x2);
	if (x2)
		wrmsr(0x800 + reg / 16, val);
	else
		*(volatile u32 *)(uintptr_t)(base + reg) = val;
}

u64 hw_apic_read_icr(void)
{
	bool x2;
	u64 base = apic_base(&x2);
	if (x2)
		return rdmsr(0x830);
	return ((u64) * (volatile u32 *)(uintptr_t)(base + 0x310) << 32) |
	       *(volatile u32 *)(uintptr_t)(base + 0x300);
}

/* xAPIC: the high half first, the low write sends the IPI (SDM 10.6.1). */
void hw_apic_write_icr(u64 val)
{
	bool x2;
	u64 base = apic_base(&x2);
	if (x2) {
		wrmsr(0x830, val);
		return;
	}
	/* The previous IPI from this APIC may still be in delivery (ICR bit
	 * 12, SDM 10.6.1): wait for it, boundedly, so back-to-back sends (a
	 * cluster IPI to several VPs) are not lost on older processors. */
	for (int i = 0; i < 100000 && (*(volatile u32 *)(uintptr_t)(base + 0x300) & BIT(12)); i++)
		__builtin_ia32_pause();
	*(volatile u32 *)(uintptr_t)(base + 0x310) = (u32)(val >> 32);
	*(volatile u32 *)(uintptr_t)(base + 0x300) = (u32)val;
}

NORETURN void hw_park(void) { cpu_park(); }

static struct hw_hooks hooks;
void hw_set_hooks(const struct hw_hooks *h) { hooks = *h; }
void hw_hook_nmi(void)
{
	if (hooks.nmi)
		hooks.nmi();
}
void hw_hook_panic(void)
{
	if (hooks.panic)
		hooks.panic();
}
