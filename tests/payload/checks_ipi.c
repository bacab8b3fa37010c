/* tests/payload/checks_ipi.c - placeholder, being written. */
#include "payload.h"
