/*
 * htest.h - a tiny unit-test framework for the host build of the Hv#1
 * logic (sanitizers on). TEST(name) registers a test; CHECK/CHECK_EQ record
 * failures with file:line. Output: one `PASS: host.<name>` or
 * `FAIL: host.<name>: <where>: <what>` line per test.
 */
#ifndef HTEST_H
#define HTEST_H

#include <stdint.h>
#include <stdio.h>

struct htest {
	const char *name;
	void (*fn)(void);
	struct htest *next;
};

void htest_register(struct htest *t);
void htest_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define TEST(n)                                                                \
	static void test_##n(void);                                            \
	static struct htest htest_##n = { #n, test_##n, 0 };                   \
	__attribute__((constructor)) static void reg_##n(void) { htest_register(&htest_##n); } \
	static void test_##n(void)

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			htest_fail(__FILE__, __LINE__, "%s", #c);              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
		if (_a != _b)                                                  \
			htest_fail(__FILE__, __LINE__, "%s == %s: got 0x%llx, expected 0x%llx", \
				   #a, #b, _a, _b);                            \
	} while (0)

#endif
