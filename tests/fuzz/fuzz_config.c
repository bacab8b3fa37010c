/*
 * fuzz_config.c - the hv.cfg and command-line parser (boot/config.c):
 * the loader runs it on a file and on load options anyone who can write
 * the ESP or the boot entry controls.
 *
 * The text lies in a heap block of exactly its length (ASan sees a read
 * past it; the parser must stop at the length or at a NUL). Oracles: the
 * strings stay NUL-terminated inside their buffers; the log level is one
 * of the four; the return value is the number of errors this parse added;
 * an error leaves a first-error message; parsing is deterministic and a
 * parse of the same text after a NUL-cut copy agrees.
 */
#include "harness.h"
#include "config.h"
#include <stdlib.h>
#include <string.h>

static void sane(const struct hv_config *c)
{
	FZ_CHECK(memchr(c->guest, 0, sizeof(c->guest)), "guest path not terminated");
	FZ_CHECK(memchr(c->guest_args, 0, sizeof(c->guest_args)), "guest_args not terminated");
	FZ_CHECK(memchr(c->first_error, 0, sizeof(c->first_error)), "first_error not terminated");
	FZ_CHECK(c->log_level >= 0 && c->log_level <= 3, "log level %d", c->log_level);
	FZ_CHECK(c->errors >= 0, "errors %d", c->errors);
	FZ_CHECK(!c->errors || c->first_error[0], "%d errors without a message", c->errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	bool cmdline = data[0] & 1;
	size_t n = size - 1;
	char *text = malloc(n ? n : 1);
	memcpy(text, data + 1, n);
	struct hv_config a, b;
	memset(&a, 0x55, sizeof(a));
	config_defaults(&a);
	sane(&a);
	int ea = cmdline ? config_parse_cmdline(&a, text, n) : config_parse(&a, text, n);
	sane(&a);
	FZ_CHECK(ea == a.errors, "returned %d, counted %d", ea, a.errors);
	/* Deterministic, and blind to what follows a NUL. */
	size_t cut = strnlen(text, n);
	config_defaults(&b);
	int eb = cmdline ? config_parse_cmdline(&b, text, cut) : config_parse(&b, text, cut);
	FZ_CHECK(eb == ea, "%d errors, %d after cutting at the NUL", ea, eb);
	FZ_CHECK(!strcmp(a.guest, b.guest) && !strcmp(a.guest_args, b.guest_args) &&
			 a.log_level == b.log_level && a.serial_port == b.serial_port &&
			 a.invariant_tsc == b.invariant_tsc,
		 "a different result after cutting at the NUL");
	/* A second parse on top adds the same errors again. */
	int e2 = cmdline ? config_parse_cmdline(&a, text, n) : config_parse(&a, text, n);
	sane(&a);
	FZ_CHECK(e2 == ea && a.errors == 2 * ea, "second parse: %d errors (first %d)", e2, ea);
	free(text);
	return 0;
}
