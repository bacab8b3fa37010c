/*
 * spinlock.h - the one lock primitive of the hypervisor: a test-and-set
 * spinlock for the few shared structures (page pool, second-level tables,
 * partition-wide synthetic state, the serial log).
 */
#ifndef HV_SPINLOCK_H
#define HV_SPINLOCK_H

#include "types.h"

struct spinlock {
	volatile u32 locked;
};

static inline void spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (l->locked)
			__builtin_ia32_pause();
}

/* For paths that must make progress even if the holder died (panic
 * output): give up after `spins` tries. Returns true if acquired. */
static inline bool spin_trylock_bounded(struct spinlock *l, u32 spins)
{
	for (u32 i = 0; i < spins; i++) {
		if (!__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
			return true;
		__builtin_ia32_pause();
	}
	return false;
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
