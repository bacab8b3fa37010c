/* hv/vpregs.c - placeholder, being written. */
#include "hypercall.h"
