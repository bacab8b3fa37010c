/*
 * log.c - levelled, CPU-prefixed log lines to the sink log_init names.
 * A line is formatted into a stack buffer first, so a line from one CPU is
 * written in one piece.
 */
#include "log.h"
#include "spinlock.h"

static u16 log_port;
static int log_lvl = LOG_INFO;
static log_write_fn log_write;
static log_cpu_fn log_cpu;
static const char level_char[] = { 'E', 'W', 'I', 'D' };

void log_init(u16 port, int level, log_write_fn write, log_cpu_fn cpu_id)
{
	log_write = write;
	log_cpu = cpu_id;
	log_port = write ? port : 0;
	log_lvl = level;
}

int log_level(void) { return log_lvl; }
void log_set_level(int level) { log_lvl = level; }

/* One line at a time across CPUs; a CPU that died holding the lock must
 * not silence the others' panic dumps, hence the bounded wait. */
static struct spinlock log_lock;

static void emit(const char *s, size_t n)
{
	if (!log_port)
		return;
	bool locked = spin_trylock_bounded(&log_lock, 10000000);
	log_write(log_port, s, n);
	if (locked)
		spin_unlock(&log_lock);
}

void log_line(int level, const char *fmt, ...)
{
	char line[256];
	size_t n;
	int cpu = log_cpu ? log_cpu() : -2;

	if (level > log_lvl)
		return;
	if (level < 0)
		level = 0;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	if (cpu == -1)
		n = fmt_format(line, sizeof(line), "[hv %c ldr] ", level_char[level]);
	else if (cpu < 0)
		n = fmt_format(line, sizeof(line), "[hv %c cpu-] ", level_char[level]);
	else
		n = fmt_format(line, sizeof(line), "[hv %c cpu%d] ", level_char[level], cpu);
	va_list ap;
	va_start(ap, fmt);
	n += fmt_vformat(line + n, sizeof(line) - n - 2, fmt, ap);
	va_end(ap);
	if (n > sizeof(line) - 3)
		n = sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	emit(line, n);
}

void log_raw(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	size_t n = fmt_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > sizeof(line) - 1)
		n = sizeof(line) - 1;
	emit(line, n);
}
