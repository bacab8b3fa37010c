/* test_fmt.c - the freestanding printf (hv/fmt.c) and the log prefix. */
#include "htest.h"
#include "fakes.h"
#include "serial.h"
#include "log.h"
#include <string.h>

static const char *f(const char *fmt, ...)
{
	static char buf[128];
	va_list ap;
	va_start(ap, fmt);
	fmt_vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

TEST(fmt_integers)
{
	CHECK(!strcmp(f("%d %i %u", -5, 42, 7u), "-5 42 7"));
	CHECK(!strcmp(f("%x %X %lx", 0xabcu, 0xabcu, 0x123456789abcul), "abc ABC 123456789abc"));
	CHECK(!strcmp(f("%08x|%-4d|%4d", 0x1fu, 3, 3), "0000001f|3   |   3"));
	CHECK(!strcmp(f("%lld %llu", -9223372036854775807ll - 1, 18446744073709551615ull),
		      "-9223372036854775808 18446744073709551615"));
	CHECK(!strcmp(f("%hhx %hx", 0x1ff, 0x1ffff), "ff ffff"));
}

TEST(fmt_strings_and_edges)
{
	CHECK(!strcmp(f("%s|%5s|%-5s|%c|%%", "ab", "ab", "ab", 'z'), "ab|   ab|ab   |z|%"));
	CHECK(!strcmp(f("%s", (char *)0), "(null)"));
	CHECK(!strcmp(f("%p", (void *)0x10), "0x0000000000000010"));
	CHECK(!strcmp(f("trailing %"), "trailing "));
	CHECK(!strcmp(f("%q"), "%q"));
}

TEST(fmt_truncates_and_terminates)
{
	char buf[8];
	size_t n = fmt_format(buf, sizeof(buf), "%s", "0123456789");
	CHECK_EQ(n, 10);
	CHECK(!strcmp(buf, "0123456"));
	CHECK_EQ(fmt_format(buf, 0, "abc"), 3);
}

TEST(log_prefix_and_levels)
{
	fake_serial_reset();
	fake_log_init();
	LOGI("hello %d", 1);
	LOGD("hidden");
	LOGE("bad");
	CHECK(!strcmp(fake_serial, "[hv I cpu0] hello 1\r\n[hv E cpu0] bad\r\n"));
	log_init(0, LOG_DEBUG, serial_write, NULL); /* serial=none: nothing is written */
	fake_serial_reset();
	LOGE("x");
	CHECK_EQ(fake_serial_len, 0);
	fake_log_init();
}
