/*
 * pool.c - bump allocator of zeroed pages from the resident region.
 */
#include "pool.h"

void pool_init(struct pool *p, u64 base, u64 size, u64 used)
{
	p->base = base;
	p->size = size;
	p->used = used;
	p->lock.locked = 0;
}

void *pool_alloc_pages(struct pool *p, u64 n)
{
	spin_lock(&p->lock);
	if (n == 0 || n > (p->size - p->used) / PAGE_SIZE) {
		spin_unlock(&p->lock);
		return NULL;
	}
	u8 *m = (u8 *)(uintptr_t)(p->base + p->used);
	p->used += n * PAGE_SIZE;
	spin_unlock(&p->lock);
	for (u64 i = 0; i < n * PAGE_SIZE; i++)
		m[i] = 0;
	return m;
}

void *pool_alloc_page(void *pool) { return pool_alloc_pages(pool, 1); }
