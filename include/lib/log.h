/*
 * log.h - levelled log lines (lib/log.c) and the formatter (lib/fmt.c).
 * Every line carries a level and a CPU prefix:
 *   [hv I cpu0] message
 * The loader uses "ldr" in place of the CPU. The library depends on
 * nothing: the caller of log_init names the sink (the 16550 UART of
 * arch/x86_64/serial.c, chosen in hv.cfg: serial=, default COM1 0x3f8) and
 * the function that tells the CPU for the prefix.
 */
#ifndef HV_LOG_H
#define HV_LOG_H

#include "types.h"
#include <stdarg.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

size_t fmt_vformat(char *buf, size_t size, const char *fmt, va_list ap);
size_t fmt_format(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* write(port, s, n) puts out n bytes; cpu_id() is the CPU number for the
 * prefix, -1 in the loader, -2 in the core before the CPU has its VP.
 * port 0: no output. */
typedef void (*log_write_fn)(u16 port, const char *s, size_t n);
typedef int (*log_cpu_fn)(void);
void log_init(u16 port, int level, log_write_fn write, log_cpu_fn cpu_id);
int log_level(void);
void log_set_level(int level); /* the debugger: monitor log */
void log_line(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raw text without prefix, for multi-part dumps. */
void log_raw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define LOGE(...) log_line(LOG_ERROR, __VA_ARGS__)
#define LOGW(...) log_line(LOG_WARN, __VA_ARGS__)
#define LOGI(...) log_line(LOG_INFO, __VA_ARGS__)
#define LOGD(...) do { if (log_level() >= LOG_DEBUG) log_line(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
