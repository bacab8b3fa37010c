/* tests/host/test_vpset.c - placeholder, being written. */
#include "htest.h"
