/* tests/payload/checks_translate.c - placeholder, being written. */
#include "payload.h"
