/* tests/payload/checks_tlb.c - placeholder, being written. */
#include "payload.h"
