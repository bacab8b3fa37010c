/*
 * config.h - hv.cfg, the hypervisor's configuration (README "Configuration").
 * One `key=value` per line; '#' starts a comment; blank lines ignored.
 * hv.efi's own command line may hold further `key=value` items separated by
 * ';' that override the file.
 */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#include "types.h"

#define CFG_PATH_MAX 256
#define CFG_ARGS_MAX 512

struct hv_config {
	char guest[CFG_PATH_MAX];      /* EFI image to start as the guest */
	char guest_args[CFG_ARGS_MAX]; /* its load options */
	int log_level;                 /* error|warn|info|debug */
	u16 serial_port;               /* I/O port of the log UART, 0 = off */
	u16 gdb_port;                  /* gdb=<port>: the debugger's UART (docs/debugging.md), 0 = off */
	bool invariant_tsc;            /* assert a constant-rate TSC (TLFS 12.3) */
	bool nested;                   /* nested=on: SVM offered to the guest (docs/nested.md) */
	int errors;                    /* lines that could not be applied */
	char first_error[96];
};

void config_defaults(struct hv_config *c);
/* Parse hv.cfg text (lines) into c; returns the number of bad lines. */
int config_parse(struct hv_config *c, const char *text, size_t len);
/* Parse a command line: an optional leading program name (a word without
 * '='), then `key=value` items separated by ';'. */
int config_parse_cmdline(struct hv_config *c, const char *text, size_t len);

#endif
