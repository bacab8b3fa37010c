/* test_pool.c - the resident page pool (hv/pool.c). */
#include "htest.h"
#include "pool.h"
#include <stdlib.h>
#include <string.h>

TEST(pool_alloc_zeroed_and_bounded)
{
	u8 *mem = aligned_alloc(4096, 4 * 4096);
	memset(mem, 0xaa, 4 * 4096);
	struct pool p;
	pool_init(&p, (u64)(uintptr_t)mem, 4 * 4096, 0);
	u8 *a = pool_alloc_pages(&p, 1);
	u8 *b = pool_alloc_pages(&p, 2);
	CHECK(a == mem && b == mem + 4096);
	for (int i = 0; i < 3 * 4096; i++)
		if (a[i] != 0) {
			CHECK(a[i] == 0);
			break;
		}
	CHECK(pool_alloc_pages(&p, 2) == NULL); /* only one left */
	CHECK(pool_alloc_pages(&p, 0) == NULL);
	CHECK(pool_alloc_page(&p) == mem + 3 * 4096);
	CHECK(pool_alloc_page(&p) == NULL);
	CHECK(pool_alloc_pages(&p, ~0ull) == NULL); /* no overflow */
	free(mem);
}
