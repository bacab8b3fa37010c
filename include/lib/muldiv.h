/*
 * muldiv.h - 64x64 -> 128-bit multiplication and 128/64 division in plain
 * C (the core links no libgcc): reference time (hv/time.c) and the APIC
 * timer's counts (hv/apictimer.c).
 */
#ifndef LIB_MULDIV_H
#define LIB_MULDIV_H

#include "types.h"

/* The high 64 bits of a * b. */
static inline u64 mul_hi64(u64 a, u64 b)
{
	u64 a_lo = (u32)a, a_hi = a >> 32, b_lo = (u32)b, b_hi = b >> 32;
	u64 lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
	u64 cross = (lo_lo >> 32) + (u32)hi_lo + lo_hi;
	return hi_hi + (hi_lo >> 32) + (cross >> 32);
}

/* (hi:lo) / d, for hi < d (the quotient fits in 64 bits). */
static inline u64 div128_64(u64 hi, u64 lo, u64 d)
{
	u64 q = 0;
	for (int i = 0; i < 64; i++) {
		bool carry = hi >> 63;
		hi = (hi << 1) | (lo >> 63);
		lo <<= 1;
		q <<= 1;
		if (carry || hi >= d) {
			hi -= d;
			q |= 1;
		}
	}
	return q;
}

#endif
