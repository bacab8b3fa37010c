/*
 * serial.c - polled 16550 UART output. The firmware (and later the guest OS)
 * owns the same UART; the hypervisor only writes bytes when the transmit
 * holding register is empty and never changes the line settings after the
 * firmware set them, except when it finds the UART unprogrammed.
 */
#include "serial.h"
#include "x86.h"

#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_DLL 0
#define UART_DLM 1
#define LSR_THRE 0x20

void serial_init(u16 port)
{
	/* Program 115200 8N1 only if nobody did: LCR reads 0 after reset. */
	if (inb(port + UART_LCR) != 0)
		return;
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, 0x80);
	outb(port + UART_DLL, 1);
	outb(port + UART_DLM, 0);
	outb(port + UART_LCR, 0x03);
	outb(port + UART_FCR, 0x07);
	outb(port + UART_MCR, 0x03);
}

static void serial_putc(u16 port, char c)
{
	/* Bounded wait: a missing UART reads 0xff (THRE set) and never hangs. */
	for (int i = 0; i < 100000 && !(inb(port + UART_LSR) & LSR_THRE); i++)
		cpu_relax();
	outb(port + UART_THR, (u8)c);
}

void serial_write(u16 port, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		serial_putc(port, s[i]);
}
