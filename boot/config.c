/*
 * config.c - parser for hv.cfg and hv.efi's command line. Pure: no firmware
 * calls, so it is unit-tested on the host.
 *
 * Keys: guest=<path>, guest_args=<load options>, log=error|warn|info|debug,
 * serial=<hex I/O port>|none, gdb=<hex I/O port>|none (docs/debugging.md), invariant_tsc=yes|no, nested=on|off. Unknown keys and bad values are counted as
 * errors (reported by the loader) and otherwise ignored.
 */
#include "config.h"
#include "log.h"

void config_defaults(struct hv_config *c)
{
	c->guest[0] = '\0';
	c->guest_args[0] = '\0';
	c->log_level = LOG_INFO;
	c->serial_port = 0x3f8;
	c->gdb_port = 0;
	c->invariant_tsc = false;
	c->nested = false; /* today's behaviour: SVM hidden (README) */
	c->errors = 0;
	c->first_error[0] = '\0';
}

static bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

static bool key_is(const char *k, size_t klen, const char *name)
{
	size_t i = 0;
	for (; i < klen && name[i]; i++)
		if (k[i] != name[i])
			return false;
	return i == klen && name[i] == '\0';
}

static bool copy_value(char *dst, size_t cap, const char *v, size_t vlen)
{
	if (vlen >= cap)
		return false;
	for (size_t i = 0; i < vlen; i++)
		dst[i] = v[i];
	dst[vlen] = '\0';
	return true;
}

static bool parse_hex16(const char *v, size_t n, u16 *out)
{
	u32 x = 0;
	if (n > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		v += 2;
		n -= 2;
	}
	if (n == 0 || n > 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];
		u32 d;
		if (ch >= '0' && ch <= '9')
			d = (u32)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (u32)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (u32)(ch - 'A' + 10);
		else
			return false;
		x = x * 16 + d;
	}
	*out = (u16)x;
	return true;
}

static void error(struct hv_config *c, const char *what, const char *s, size_t n)
{
	if (c->errors++ == 0) {
		if (n > 40)
			n = 40;
		char tmp[48];
		copy_value(tmp, sizeof(tmp), s, n);
		fmt_format(c->first_error, sizeof(c->first_error), "%s: '%s'", what, tmp);
	}
}

/* Apply one `key=value` item (already trimmed). */
static void apply(struct hv_config *c, const char *s, size_t n)
{
	size_t eq = 0;
	while (eq < n && s[eq] != '=')
		eq++;
	if (eq == n) {
		error(c, "missing '='", s, n);
		return;
	}
	size_t klen = eq;
	while (klen && is_space(s[klen - 1]))
		klen--;
	const char *v = s + eq + 1;
	size_t vlen = n - eq - 1;
	while (vlen && is_space(*v)) {
		v++;
		vlen--;
	}
	if (key_is(s, klen, "guest")) {
		if (!copy_value(c->guest, sizeof(c->guest), v, vlen))
			error(c, "guest path too long", s, n);
	} else if (key_is(s, klen, "guest_args")) {
		if (!copy_value(c->guest_args, sizeof(c->guest_args), v, vlen))
			error(c, "guest_args too long", s, n);
	} else if (key_is(s, klen, "log")) {
		static const char *const names[] = { "error", "warn", "info", "debug" };
		for (int i = 0; i < 4; i++)
			if (key_is(v, vlen, names[i])) {
				c->log_level = i;
				return;
			}
		error(c, "bad log level", s, n);
	} else if (key_is(s, klen, "serial")) {
		u16 port;
		if (key_is(v, vlen, "none"))
			c->serial_port = 0;
		else if (parse_hex16(v, vlen, &port) && port)
			c->serial_port = port;
		else
			error(c, "bad serial port", s, n);
	} else if (key_is(s, klen, "gdb")) {
		/* The GDB stub's 16550 UART (docs/debugging.md); not the log's. */
		u16 port;
		if (key_is(v, vlen, "none"))
			c->gdb_port = 0;
		else if (parse_hex16(v, vlen, &port) && port && port <= 0xfff8)
			c->gdb_port = port;
		else
			error(c, "bad gdb port", s, n);
	} else if (key_is(s, klen, "invariant_tsc")) {
		if (key_is(v, vlen, "yes"))
			c->invariant_tsc = true;
		else if (key_is(v, vlen, "no"))
			c->invariant_tsc = false;
		else
			error(c, "invariant_tsc must be yes or no", s, n);
	} else if (key_is(s, klen, "nested")) {
		/* docs/nested.md: SVM for the guest (AMD only) */
		if (key_is(v, vlen, "on"))
			c->nested = true;
		else if (key_is(v, vlen, "off"))
			c->nested = false;
		else
			error(c, "nested must be on or off", s, n);
	} else {
		error(c, "unknown key", s, n);
	}
}

/* Split text at any of `seps`, trim, skip blanks and comments, apply. */
static int parse_items(struct hv_config *c, const char *text, size_t len, const char *seps)
{
	int before = c->errors;
	size_t i = 0;
	while (i < len) {
		size_t start = i;
		while (i < len && text[i] != '\0') {
			bool sep = false;
			for (const char *p = seps; *p; p++)
				sep |= text[i] == *p;
			if (sep)
				break;
			i++;
		}
		size_t end = i;
		if (i < len && text[i] == '\0')
			len = i; /* NUL ends the text */
		i++;
		while (start < end && is_space(text[start]))
			start++;
		while (end > start && is_space(text[end - 1]))
			end--;
		if (start == end || text[start] == '#')
			continue;
		apply(c, text + start, end - start);
	}
	return c->errors - before;
}

int config_parse(struct hv_config *c, const char *text, size_t len)
{
	return parse_items(c, text, len, "\n");
}

int config_parse_cmdline(struct hv_config *c, const char *text, size_t len)
{
	size_t i = 0;
	while (i < len && is_space(text[i]))
		i++;
	/* Skip the program name the UEFI shell puts first (a word, no '='). */
	size_t w = i;
	bool has_eq = false;
	while (w < len && text[w] && !is_space(text[w]) && text[w] != ';')
		has_eq |= text[w++] == '=';
	if (!has_eq)
		i = w;
	return parse_items(c, text + i, len - i, ";");
}
