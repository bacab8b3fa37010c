/* tests/payload/checks_vpregs.c - placeholder, being written. */
#include "payload.h"
