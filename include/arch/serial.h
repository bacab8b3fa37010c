/*
 * serial.h - polled 16550 UART output (arch/x86_64/serial.c): the sink the
 * loader and the core give the log (lib/log.c).
 */
#ifndef HV_SERIAL_H
#define HV_SERIAL_H

#include "types.h"

void serial_init(u16 port);
void serial_write(u16 port, const char *s, size_t n);

#endif
