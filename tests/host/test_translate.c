/* tests/host/test_translate.c - placeholder, being written. */
#include "htest.h"
