/*
 * ipi.c - INIT-SIPI-SIPI through the BSP's local APIC, as an OS sends it
 * (SDM vol. 3A 8.4.4.1 "Typical BSP initialization sequence", 10.6.1
 * "Interrupt Command Register"), and TSC-based delays.
 *
 * xAPIC: the ICR is two 32-bit registers in the APIC page at the
 * IA32_APIC_BASE address, high half (0x310, destination in bits 24-31)
 * first, the write of the low half (0x300) sends. Under hv.efi that page is
 * read-only in the second-level tables and every write is emulated (plain
 * 32-bit MOV stores, as the compiler emits them for volatile accesses).
 * x2APIC: one WRMSR to 0x830, destination in bits 32-63 (SDM 10.12.9).
 */
#include "apboot.h"

#define ICR_LO 0x300u
#define ICR_HI 0x310u
#define ICR_BUSY (1u << 12)          /* delivery status: send pending */
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)
#define MSR_X2APIC_ICR 0x830u

static uint64_t g_tsc_hz = 1000000000ull; /* until calibrated */
static volatile uint32_t *g_apic;         /* xAPIC registers, or NULL */
static int g_x2;

void tsc_set_hz(uint64_t hz)
{
	if (hz)
		g_tsc_hz = hz;
}

uint64_t tsc_hz(void)
{
	return g_tsc_hz;
}

void udelay(uint64_t us)
{
	uint64_t t0 = rdtsc(), ticks = g_tsc_hz / 1000000u * us + (g_tsc_hz % 1000000u) * us / 1000000u;
	while (rdtsc() - t0 < ticks)
		__asm__ volatile("pause");
}

void ipi_setup(uint64_t apic_base)
{
	g_x2 = (apic_base & (1u << 10)) != 0;
	g_apic = g_x2 ? NULL : (volatile uint32_t *)(uintptr_t)(apic_base & 0xFFFFFF000ull);
}

int ipi_x2apic(void)
{
	return g_x2;
}

/* Wait (up to 20 ms) until the previous IPI has left (SDM 10.6.1: check
 * the delivery status before the next write). x2APIC has no such bit. */
static int icr_wait_idle(void)
{
	if (g_x2)
		return 0;
	uint64_t t0 = rdtsc(), limit = g_tsc_hz / 50;
	while (g_apic[ICR_LO / 4] & ICR_BUSY)
		if (rdtsc() - t0 > limit)
			return -1;
	return 0;
}

static int icr_send(uint32_t apic_id, uint32_t lo)
{
	int busy = icr_wait_idle();
	if (g_x2) {
		wrmsr(MSR_X2APIC_ICR, ((uint64_t)apic_id << 32) | lo);
		return busy;
	}
	g_apic[ICR_HI / 4] = apic_id << 24;
	g_apic[ICR_LO / 4] = lo;
	return busy | icr_wait_idle();
}

int ipi_init_sipi_sipi(uint32_t apic_id, uint8_t vector)
{
	int busy = 0;
	/* INIT, level-triggered assert, then de-assert, as Linux sends it
	 * (the de-assert does nothing since the Pentium 4, SDM 10.6.1). */
	busy |= icr_send(apic_id, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
	busy |= icr_send(apic_id, ICR_INIT | ICR_LEVEL);
	udelay(10000);
	/* Start-up: vector = page number of the entry point (SDM 8.4.4.1). */
	busy |= icr_send(apic_id, ICR_STARTUP | vector);
	udelay(200);
	busy |= icr_send(apic_id, ICR_STARTUP | vector);
	udelay(200);
	return busy;
}
