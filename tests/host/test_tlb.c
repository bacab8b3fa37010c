/* tests/host/test_tlb.c - placeholder, being written. */
#include "htest.h"
