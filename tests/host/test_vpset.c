/* test_vpset.c - processor sets (hv/vpset.c, TLFS 7.8.7.3-7.8.7.5): the
 * 64-bit mask and the generic HV_VP_SET, including malformed sets and a
 * random sweep against a reference decoder. */
#include "htest.h"
#include "fakes.h"
#include "tlfs.h"
#include <stdlib.h>
#include <string.h>

static struct partition part;
static struct vp vps[5];
static struct fake_be_state bes[5];

static void setup(u32 n)
{
	memset(&part, 0, sizeof(part));
	partition_init(&part, &fake_backend, 36, 0x200000, 0x100000);
	for (u32 i = 0; i < n; i++) {
		fake_vp_init(&vps[i], &part, &bes[i]);
		partition_add_vp(&part, &vps[i]);
	}
}

static u16 parse(const u64 *set, u32 banks, u64 *mask)
{
	return vpset_parse(&part, (const u8 *)set, banks, mask);
}

TEST(vpset_all_and_mask)
{
	setup(4);
	CHECK_EQ(vpset_all(&part), 0xf);
	CHECK_EQ(vpset_mask_check(&part, 0x5), HV_STATUS_SUCCESS);
	CHECK_EQ(vpset_mask_check(&part, 0), HV_STATUS_SUCCESS);
	CHECK_EQ(vpset_mask_check(&part, 0x10), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(vpset_mask_check(&part, BIT(63)), HV_STATUS_INVALID_PARAMETER);
}

TEST(vpset_sparse)
{
	u64 m = 0;
	setup(4);
	/* TLFS 7.8.7.5's shape: bank 0 only. */
	u64 a[] = { HV_GENERIC_SET_SPARSE_4K, 0x1, 0x9 };
	CHECK_EQ(parse(a, 1, &m), HV_STATUS_SUCCESS);
	CHECK_EQ(m, 0x9);
	/* Empty banks are valid, also banks beyond our VPs when empty. */
	u64 b[] = { HV_GENERIC_SET_SPARSE_4K, 0x5, 0x2, 0x0 };
	CHECK_EQ(parse(b, 2, &m), HV_STATUS_SUCCESS);
	CHECK_EQ(m, 0x2);
	u64 c[] = { HV_GENERIC_SET_SPARSE_4K, 0x0 };
	CHECK_EQ(parse(c, 0, &m), HV_STATUS_SUCCESS);
	CHECK_EQ(m, 0);
	/* A VP that does not exist: in bank 0 beyond vp_count, or bank 2. */
	u64 d[] = { HV_GENERIC_SET_SPARSE_4K, 0x1, 0x10 };
	CHECK_EQ(parse(d, 1, &m), HV_STATUS_INVALID_PARAMETER);
	u64 e[] = { HV_GENERIC_SET_SPARSE_4K, 0x5, 0x1, 0x4 };
	CHECK_EQ(parse(e, 2, &m), HV_STATUS_INVALID_PARAMETER);
}

TEST(vpset_malformed)
{
	u64 m = 0x1234;
	setup(2);
	u64 a[] = { HV_GENERIC_SET_SPARSE_4K, 0x3, 0x1, 0x0 };
	CHECK_EQ(parse(a, 1, &m), HV_STATUS_INVALID_HYPERCALL_INPUT); /* too few */
	CHECK_EQ(parse(a, 3, &m), HV_STATUS_INVALID_HYPERCALL_INPUT); /* too many */
	u64 b[] = { 2, 0x1, 0x1 };
	CHECK_EQ(parse(b, 1, &m), HV_STATUS_INVALID_PARAMETER); /* format */
	u64 c[] = { ~0ull, 0, 0 };
	CHECK_EQ(parse(c, 0, &m), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(m, 0x1234); /* untouched on failure */
	/* HV_GENERIC_SET_ALL: every VP; the layout must still agree. */
	u64 d[] = { HV_GENERIC_SET_ALL, 0 };
	CHECK_EQ(parse(d, 0, &m), HV_STATUS_SUCCESS);
	CHECK_EQ(m, 0x3);
	u64 e[] = { HV_GENERIC_SET_ALL, 0x1, 0x0 };
	CHECK_EQ(parse(e, 0, &m), HV_STATUS_INVALID_HYPERCALL_INPUT);
}

/* Random sets against a straightforward reference. */
TEST(vpset_random)
{
	setup(5);
	srand(6);
	for (int iter = 0; iter < 20000; iter++) {
		u64 set[2 + 64];
		u64 valid = 0;
		for (int k = 0; k < 4; k++)
			valid |= BIT(rand() % 64) * (u64)(rand() & 1);
		if (rand() % 3 == 0)
			valid &= 0x7;
		set[0] = rand() % 5 == 0 ? (u64)(rand() % 3) : HV_GENERIC_SET_SPARSE_4K;
		set[1] = valid;
		u32 n = (u32)__builtin_popcountll(valid);
		for (u32 w = 0; w < n; w++) {
			int r = rand() % 4;
			set[2 + w] = r == 0 ? 0 : r == 1 ? (u64)(rand() & 0x1f) : (u64)(rand() & 0x3f) << (rand() % 59);
		}
		u32 banks = rand() % 8 == 0 ? n + 1 - 2 * (rand() & 1) : n;
		if (banks > 64)
			banks = n;
		/* reference */
		u16 want;
		u64 want_mask = 0;
		if (set[0] > 1)
			want = HV_STATUS_INVALID_PARAMETER;
		else if (banks != n)
			want = HV_STATUS_INVALID_HYPERCALL_INPUT;
		else if (set[0] == 1) {
			want = 0;
			want_mask = 0x1f;
		} else {
			want = 0;
			u32 w = 0;
			for (u32 b = 0; b < 64; b++) {
				if (!(valid & BIT(b)))
					continue;
				u64 bits = set[2 + w++];
				if (b == 0)
					want_mask = bits;
				else if (bits)
					want = HV_STATUS_INVALID_PARAMETER;
			}
			if (want_mask & ~0x1full)
				want = HV_STATUS_INVALID_PARAMETER;
		}
		u64 got_mask = ~0ull;
		u16 got = parse(set, banks, &got_mask);
		CHECK_EQ(got, want);
		if (got == 0)
			CHECK_EQ(got_mask, want_mask);
		if (got != want)
			break;
	}
}
