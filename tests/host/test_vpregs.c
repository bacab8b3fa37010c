/* tests/host/test_vpregs.c - placeholder, being written. */
#include "htest.h"
