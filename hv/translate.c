/* hv/translate.c - placeholder, being written. */
#include "hypercall.h"
