/*
 * gdbt.c - the guest of the debugger tests (tests/run-gdb.sh,
 * docs/debugging.md): a UEFI application that calls gdbt_tick() in a loop
 * until a debugger writes gdbt_done, then says how far it got and powers
 * off. It prints the addresses the tests need (the symbols' load offset)
 * on COM1; the debugger talks to hv.efi on COM2, which the guest cannot
 * see (gdbt checks that too: COM2's LSR reads 0xff).
 */
#include "../payload/payload.h"

volatile uint64_t gdbt_done;
volatile uint64_t gdbt_count;
volatile uint64_t gdbt_magic = 0x1122334455667788ull;
volatile uint64_t gdbt_scratch;

__attribute__((noinline)) void gdbt_tick(uint64_t i)
{
	gdbt_count = i;
	__asm__ volatile("" : : : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	InitializeLib(image, systab);
	uefi_call_wrapper(BS->SetWatchdogTimer, 4, 0, 0, 0, NULL);
	ser_puts("\r\nPAYLOAD START\n");
	/* hv.efi hides the debugger's UART: no device at COM2 (all 0xFF but
	 * the LSR: transmitter empty, no data; docs/debugging.md). */
	uint8_t ier = inb(0x2f8 + 1), lsr = inb(0x2f8 + 5), scr = inb(0x2f8 + 7);
	ser_printf("GDBT COM2 ier=%x lsr=%x scr=%x\n", ier, lsr, scr);
	ser_printf("GDBT READY tick=%lx done=%lx magic=%lx scratch=%lx count=%lx\n",
		   (unsigned long)(uintptr_t)gdbt_tick, (unsigned long)(uintptr_t)&gdbt_done,
		   (unsigned long)(uintptr_t)&gdbt_magic, (unsigned long)(uintptr_t)&gdbt_scratch,
		   (unsigned long)(uintptr_t)&gdbt_count);
	uint64_t t0 = rdtsc();
	uint64_t i;
	for (i = 0; !gdbt_done; i++) {
		gdbt_tick(i);
		/* About 100 ticks a second, and a bound: 10^11 TSC ticks. */
		for (uint64_t t = rdtsc(); rdtsc() - t < 10000000ull;)
			__asm__ volatile("pause");
		if (rdtsc() - t0 > 100000000000ull) {
			ser_puts("GDBT TIMEOUT\n");
			break;
		}
	}
	ser_printf("GDBT DONE ticks=%lu scratch=%lx\n", (unsigned long)i, (unsigned long)gdbt_scratch);
	ser_puts("PAYLOAD DONE\n");
	payload_poweroff();
}
