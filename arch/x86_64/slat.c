/*
 * slat.c - 4-level page-table builder shared by the host page tables (built
 * by the loader), the AMD nested page tables and the Intel EPT (SDM 4.5,
 * 29.3, APM 5.3 and 15.25).
 * Pure logic: it reaches memory only through identity addresses handed out
 * by the allocator callback, so host unit tests run it against malloc.
 */
#include "slat.h"

#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_US BIT(2)
#define PTE_PS BIT(7)

const struct slat_fmt slat_fmt_host = { PTE_P | PTE_RW, PTE_P | PTE_RW, PTE_PS, PTE_P, false, PTE_RW, 0, 0, 0, 0 };
const struct slat_fmt slat_fmt_host_1g = { PTE_P | PTE_RW, PTE_P | PTE_RW, PTE_PS, PTE_P, true, PTE_RW, 0, 0, 0, 0 };
/* NPT: no read bit (no execute-only page); NX (bit 63) needs the host's
 * EFER.NXE (APM 15.25.5; svm_vp_init sets it). */
#define PTE_NX BIT(63)
const struct slat_fmt slat_fmt_npt = { PTE_P | PTE_RW | PTE_US, PTE_P | PTE_RW | PTE_US,
				       PTE_PS, PTE_P, false, PTE_RW, 0, 0, PTE_NX, 0 };
const struct slat_fmt slat_fmt_npt_1g = { PTE_P | PTE_RW | PTE_US, PTE_P | PTE_RW | PTE_US,
					  PTE_PS, PTE_P, true, PTE_RW, 0, 0, PTE_NX, 0 };

/* EPT (SDM 29.3.2): an entry is present if any of R/W/X (bits 2:0) is set;
 * leaves carry the memory type in bits 5:3 (6 = write-back) and 2M/1G
 * leaves bit 7. Table entries leave bits 7:3 zero (reserved). */
#define EPT_R BIT(0)
#define EPT_W BIT(1)
#define EPT_X BIT(2)
#define EPT_RWX (EPT_R | EPT_W | EPT_X)
/* User-mode execute (SDM 29.3.3: with the mode-based execute control
 * bit 2 governs supervisor-mode linear addresses, bit 10 user-mode ones,
 * in every entry of the walk; ignored without it). Set wherever X is, so
 * the tables mean the same with MBEC on or off until a VTL protection
 * (TLFS 15.10) takes one of the two away. */
#define EPT_UX BIT(10)
#define EPT_MT_WB (6ull << 3)
#define EPT_LARGE BIT(7)
const struct slat_fmt slat_fmt_ept = {
	.table_flags = EPT_RWX | EPT_UX, .leaf_flags = EPT_RWX | EPT_UX | EPT_MT_WB,
	.large_flag = EPT_LARGE, .present_mask = EPT_RWX | EPT_UX, .has_1g = false,
	.write_flag = EPT_W, .read_flag = EPT_R, .exec_flag = EPT_X, .uexec_flag = EPT_UX,
};
const struct slat_fmt slat_fmt_ept_1g = {
	.table_flags = EPT_RWX | EPT_UX, .leaf_flags = EPT_RWX | EPT_UX | EPT_MT_WB,
	.large_flag = EPT_LARGE, .present_mask = EPT_RWX | EPT_UX, .has_1g = true,
	.write_flag = EPT_W, .read_flag = EPT_R, .exec_flag = EPT_X, .uexec_flag = EPT_UX,
};

static inline u64 *tbl(u64 pa) { return (u64 *)(uintptr_t)pa; }
static inline unsigned idx(u64 va, int level) { return (unsigned)((va >> (12 + 9 * level)) & 511); }
static inline u64 level_size(int level) { return 1ull << (12 + 9 * level); }

int slat_init(struct slat *s, const struct slat_fmt *fmt, void *(*alloc)(void *), void *ctx)
{
	s->fmt = fmt;
	s->alloc_page = alloc;
	s->alloc_ctx = ctx;
	void *root = alloc(ctx);
	if (!root)
		return -1;
	s->root = (u64)(uintptr_t)root;
	return 0;
}

/* Map one leaf of level `level` (0 = 4K, 1 = 2M, 2 = 1G). */
static int map_one(struct slat *s, u64 va, u64 pa, int level)
{
	u64 table = s->root;
	for (int l = 3; l > level; l--) {
		u64 *e = &tbl(table)[idx(va, l)];
		if (!(*e & s->fmt->present_mask)) {
			void *n = s->alloc_page(s->alloc_ctx);
			if (!n)
				return -1;
			*e = ((u64)(uintptr_t)n & SLAT_ADDR_MASK) | s->fmt->table_flags;
		} else if (l < 3 && (*e & s->fmt->large_flag)) {
			return -1; /* a large leaf is in the way */
		}
		table = *e & SLAT_ADDR_MASK;
	}
	u64 *e = &tbl(table)[idx(va, level)];
	if (*e & s->fmt->present_mask)
		return -1;
	*e = (pa & SLAT_ADDR_MASK) | s->fmt->leaf_flags | (level ? s->fmt->large_flag : 0);
	return 0;
}

int slat_map(struct slat *s, u64 va, u64 pa, u64 len, u64 max_page)
{
	u64 end = va + len;
	if ((va | pa | len) & (PAGE_SIZE - 1))
		return -1;
	while (va < end) {
		int level = 0;
		for (int l = (s->fmt->has_1g ? 2 : 1); l > 0; l--) {
			u64 sz = level_size(l);
			if (sz <= max_page && !(va & (sz - 1)) && !(pa & (sz - 1)) && end - va >= sz) {
				level = l;
				break;
			}
		}
		if (map_one(s, va, pa, level))
			return -1;
		va += level_size(level);
		pa += level_size(level);
	}
	return 0;
}

int slat_identity_with_hole(struct slat *s, u64 base, u64 end, u64 hole, u64 hole_end)
{
	const u64 any = ~0ull;
	if (hole >= end || hole_end <= base || hole == hole_end)
		return slat_map(s, base, base, end - base, any);
	if (hole > base && slat_map(s, base, base, hole - base, any))
		return -1;
	if (hole_end < end && slat_map(s, hole_end, hole_end, end - hole_end, any))
		return -1;
	return 0;
}

int slat_lookup(const struct slat *s, u64 va, u64 *pa, u64 *page_size)
{
	u64 table = s->root;
	for (int l = 3; l >= 0; l--) {
		u64 e = tbl(table)[idx(va, l)];
		if (!(e & s->fmt->present_mask))
			return -1;
		if (l == 0 || (l <= 2 && (e & s->fmt->large_flag))) {
			u64 sz = level_size(l);
			if (pa)
				*pa = (e & SLAT_ADDR_MASK & ~(sz - 1)) | (va & (sz - 1));
			if (page_size)
				*page_size = sz;
			return 0;
		}
		table = e & SLAT_ADDR_MASK;
	}
	return -1;
}

/* Replace the large leaf *e (covering 2^(12+9*level) bytes) with a table of
 * 512 leaves one level down carrying the same flags (SDM 4.5, APM 15.25). */
static int split(struct slat *s, u64 *e, int level)
{
	u64 *t = s->alloc_page(s->alloc_ctx);
	if (!t)
		return -1;
	u64 sz = level_size(level - 1);
	u64 base = *e & SLAT_ADDR_MASK & ~(level_size(level) - 1);
	u64 flags = *e & ~SLAT_ADDR_MASK & ~s->fmt->large_flag;
	for (int i = 0; i < 512; i++)
		t[i] = (base + (u64)i * sz) | flags | (level - 1 ? s->fmt->large_flag : 0);
	*e = ((u64)(uintptr_t)t & SLAT_ADDR_MASK) | s->fmt->table_flags;
	return 0;
}

int slat_set_4k(struct slat *s, u64 va, u64 pa, u64 flags)
{
	u64 table = s->root;
	if ((va | pa) & (PAGE_SIZE - 1))
		return -1;
	for (int l = 3; l > 0; l--) {
		u64 *e = &tbl(table)[idx(va, l)];
		if (!(*e & s->fmt->present_mask)) {
			if (!flags)
				return 0; /* already unmapped */
			void *n = s->alloc_page(s->alloc_ctx);
			if (!n)
				return -1;
			*e = ((u64)(uintptr_t)n & SLAT_ADDR_MASK) | s->fmt->table_flags;
		} else if (l < 3 && (*e & s->fmt->large_flag) && split(s, e, l)) {
			return -1;
		}
		table = *e & SLAT_ADDR_MASK;
	}
	tbl(table)[idx(va, 0)] = flags ? (pa & SLAT_ADDR_MASK) | flags : 0;
	return 0;
}

int slat_map_identity_large(struct slat *s, u64 gpa, u64 *base, u64 *size)
{
	u64 sz = s->fmt->has_1g ? PAGE_1G : PAGE_2M;
	u64 b = ALIGN_DOWN(gpa, sz);
	*base = b;
	*size = sz;
	return slat_map(s, b, b, sz, sz);
}

u64 slat_leaf_flags(const struct slat_fmt *f, enum slat_access acc)
{
	u8 b = slat_acc_bits(acc);
	if (!b || (!(b & 1) && !f->read_flag))
		return 0; /* nothing, or execute-only where the format has no read bit */
	u64 flags = f->leaf_flags;
	if (!(b & 1))
		flags &= ~f->read_flag;
	if (!(b & 2))
		flags &= ~f->write_flag;
	if (!f->uexec_flag) {
		/* No user-execute bit: kernel execute governs (TLFS 15.10,
		 * MBEC off); prot.c makes the two equal then. */
		if (!(b & SLAT_ACC_KX))
			flags = (flags & ~f->exec_flag) | f->nx_flag;
		return flags;
	}
	if (!(b & SLAT_ACC_KX))
		flags &= ~f->exec_flag;
	if (!(b & SLAT_ACC_UX))
		flags &= ~f->uexec_flag;
	return flags;
}

int slat_set_access(struct slat *s, u64 gpa, u64 hpa, enum slat_access acc)
{
	return slat_set_4k(s, gpa, hpa, slat_leaf_flags(s->fmt, acc));
}

/* Copy the table at `from` (level l: 3 = PML4) into the fresh table at
 * `to`: leaves as they are, lower tables copied. */
static int clone_table(struct slat *dst, const struct slat_fmt *f, u64 from, u64 to, int l)
{
	for (int i = 0; i < 512; i++) {
		u64 e = tbl(from)[i];
		if (!(e & f->present_mask) || l == 0 || (l <= 2 && (e & f->large_flag))) {
			tbl(to)[i] = e;
			continue;
		}
		void *n = dst->alloc_page(dst->alloc_ctx);
		if (!n)
			return -1;
		tbl(to)[i] = ((u64)(uintptr_t)n & SLAT_ADDR_MASK) | (e & ~SLAT_ADDR_MASK);
		if (clone_table(dst, f, e & SLAT_ADDR_MASK, (u64)(uintptr_t)n, l - 1))
			return -1;
	}
	return 0;
}

int slat_clone(struct slat *dst, const struct slat *src)
{
	if (dst->fmt != src->fmt)
		return -1;
	return clone_table(dst, src->fmt, src->root, dst->root, 3);
}
