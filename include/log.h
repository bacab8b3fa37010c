/*
 * log.h - levelled serial log. Every line carries a level and a CPU prefix:
 *   [hv I cpu0] message
 * The loader uses "ldr" in place of the CPU. Output goes to the 16550 UART
 * chosen in hv.cfg (serial=, default COM1 0x3f8).
 */
#ifndef HV_LOG_H
#define HV_LOG_H

#include "types.h"
#include <stdarg.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

size_t fmt_vformat(char *buf, size_t size, const char *fmt, va_list ap);
size_t fmt_format(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void log_init(u16 port, int level);
int log_level(void);
void hv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raw text without prefix, for multi-part dumps. */
void log_raw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Supplied by the build: the CPU number for the prefix, -1 in the loader,
 * -2 in the core before the CPU has its VP. */
int log_cpu_id(void);

#define LOGE(...) hv_log(LOG_ERROR, __VA_ARGS__)
#define LOGW(...) hv_log(LOG_WARN, __VA_ARGS__)
#define LOGI(...) hv_log(LOG_INFO, __VA_ARGS__)
#define LOGD(...) do { if (log_level() >= LOG_DEBUG) hv_log(LOG_DEBUG, __VA_ARGS__); } while (0)

void serial_init(u16 port);
void serial_write(u16 port, const char *s, size_t n);

#endif
