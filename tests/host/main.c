/*
 * main.c - runs every registered host test in registration order.
 */
#include "htest.h"
#include "fakes.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static struct htest *head, **tail = &head;
static int cur_failed;
static const char *cur_name;

void htest_register(struct htest *t)
{
	*tail = t;
	tail = &t->next;
}

void htest_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	if (!cur_failed)
		printf("FAIL: host.%s: %s:%d: ", cur_name, file, line);
	else
		printf("      also %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	cur_failed++;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	fake_log_init();
	for (struct htest *t = head; t; t = t->next) {
		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		cur_name = t->name;
		cur_failed = 0;
		t->fn();
		if (cur_failed) {
			failed++;
		} else {
			printf("PASS: host.%s\n", t->name);
			passed++;
		}
		fflush(stdout);
	}
	printf("host tests: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
