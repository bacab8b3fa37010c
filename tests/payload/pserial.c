/*
 * pserial.c - COM1 output, a small printf and the check reporting helpers
 * of the guest test payload.
 *
 * Results go straight to the 16550 at I/O port 0x3F8 (polling LSR bit 5,
 * "transmit holding register empty"), never through ConOut: OVMF's terminal
 * driver mirrors ConOut to COM1 with ANSI escape sequences. OVMF has already
 * programmed the UART (115200 8N1); the payload does not touch its setup.
 */
#include "payload.h"

#define COM1 0x3F8u
#define UART_LSR 5u
#define LSR_THRE 0x20u
#define LSR_TEMT 0x40u

unsigned int g_passed, g_failed;

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

void ser_putc(char c)
{
	/* Bounded wait: a missing or wedged UART must not hang the payload. */
	for (unsigned int i = 0; i < 1000000u; i++)
		if (inb(COM1 + UART_LSR) & LSR_THRE)
			break;
	outb(COM1, (uint8_t)c);
}

void ser_puts(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			ser_putc('\r');
		ser_putc(*s);
	}
}

static void ser_flush(void)
{
	for (unsigned int i = 0; i < 1000000u; i++)
		if (inb(COM1 + UART_LSR) & LSR_TEMT)
			break;
}

/* ---- a minimal formatter: %s %c %d %u %x %lx %lu %ld %llx %p %% ------- */
struct outbuf {
	char *p;
	size_t left; /* bytes still free, excluding the terminator */
};

static void ob_putc(struct outbuf *o, char c)
{
	if (o->left) {
		*o->p++ = c;
		o->left--;
	}
}

static void ob_num(struct outbuf *o, uint64_t v, unsigned int base, int neg)
{
	char tmp[24];
	int n = 0;

	do {
		unsigned int d = (unsigned int)(v % base);
		tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	if (neg)
		ob_putc(o, '-');
	while (n)
		ob_putc(o, tmp[--n]);
}

static void fmt_v(char *buf, size_t size, const char *fmt, __builtin_va_list ap)
{
	struct outbuf o = { buf, size - 1 };

	for (; *fmt; fmt++) {
		int lng = 0;

		if (*fmt != '%') {
			ob_putc(&o, *fmt);
			continue;
		}
		fmt++;
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = __builtin_va_arg(ap, const char *);
			for (s = s ? s : "(null)"; *s; s++)
				ob_putc(&o, *s);
			break;
		}
		case 'c': {
			int c = __builtin_va_arg(ap, int) & 0xFF;
			ob_putc(&o, (char)(c >= 0x20 && c < 0x7F ? c : '.'));
			break;
		}
		case 'd': {
			int64_t v = lng ? __builtin_va_arg(ap, int64_t)
					: __builtin_va_arg(ap, int);
			ob_num(&o, v < 0 ? (uint64_t)-v : (uint64_t)v, 10, v < 0);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = lng ? __builtin_va_arg(ap, uint64_t)
					 : __builtin_va_arg(ap, unsigned int);
			ob_num(&o, v, *fmt == 'x' ? 16 : 10, 0);
			break;
		}
		case 'p':
			ob_putc(&o, '0');
			ob_putc(&o, 'x');
			ob_num(&o, (uint64_t)(uintptr_t)__builtin_va_arg(ap, void *), 16, 0);
			break;
		case '%':
			ob_putc(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			ob_putc(&o, '%');
			ob_putc(&o, *fmt);
			break;
		}
	}
	*o.p = '\0';
}

/* Format a check name (or any short string) into buf. */
void fmt_va(char *buf, size_t size, const char *fmt, __builtin_va_list ap)
{
	fmt_v(buf, size, fmt, ap);
}

void fmt_name(char *buf, size_t size, const char *fmt, ...)
{
	__builtin_va_list ap;
	__builtin_va_start(ap, fmt);
	fmt_v(buf, size, fmt, ap);
	__builtin_va_end(ap);
}

void ser_printf(const char *fmt, ...)
{
	char buf[256];
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	fmt_v(buf, sizeof(buf), fmt, ap);
	__builtin_va_end(ap);
	ser_puts(buf);
}

/* ---- check reporting ----------------------------------------------------- */
int check(const char *name, int ok, const char *fmt, ...)
{
	if (ok) {
		g_passed++;
		ser_printf("PASS: %s\n", name);
		return 1;
	}
	char buf[200];
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	fmt_v(buf, sizeof(buf), fmt, ap);
	__builtin_va_end(ap);
	g_failed++;
	ser_printf("FAIL: %s: %s\n", name, buf);
	return 0;
}

int check_eq(const char *name, uint64_t got, uint64_t expected)
{
	return check(name, got == expected, "got 0x%lx expected 0x%lx",
		     (unsigned long)got, (unsigned long)expected);
}

const char *vec_name(int vec)
{
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "#09", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
		"#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
	};
	if (vec == VEC_NONE)
		return "no exception";
	if (vec >= 0 && vec < 32)
		return names[vec];
	return "?";
}

int check_vec(const char *name, int got, int expected)
{
	return check(name, got == expected, "got %s (vector 0x%x) expected %s (vector 0x%x)",
		     vec_name(got), (unsigned int)got, vec_name(expected),
		     (unsigned int)expected);
}

/* ---- power off ------------------------------------------------------------ */
void payload_poweroff(void)
{
	ser_flush();
	if (RT)
		uefi_call_wrapper(RT->ResetSystem, 4, EfiResetShutdown, EFI_SUCCESS,
				  0, NULL);
	/* Bochs/QEMU "Shutdown" port, then QEMU isa-debug-exit. */
	for (const char *s = "Shutdown"; *s; s++)
		outb(0x8900, (uint8_t)*s);
	outl(0xf4, 0x31);
	for (;;)
		__asm__ volatile("cli; hlt");
}
