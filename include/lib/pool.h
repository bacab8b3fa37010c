/*
 * pool.h - page allocator over the hypervisor's resident memory. The loader
 * and the core share one pool (its state lives in boot_info). Pages are
 * identity-mapped in the host page tables, so an allocation's address is
 * both its virtual and physical address. Never freed: the hypervisor's
 * footprint only grows at start-up and on lazy second-level mapping.
 */
#ifndef HV_POOL_H
#define HV_POOL_H

#include "types.h"
#include "spinlock.h"

struct pool {
	u64 base, size, used;
	struct spinlock lock;
};

void pool_init(struct pool *p, u64 base, u64 size, u64 used);
/* n zeroed pages, or NULL when the pool is exhausted. */
void *pool_alloc_pages(struct pool *p, u64 n);
void *pool_alloc_page(void *pool); /* slat allocator callback */

#endif
