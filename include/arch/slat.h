/*
 * slat.h - builder for 4-level x86-64 style page tables: the host's own page
 * tables and the AMD nested page tables share the format (APM 15.25: NPT
 * uses the legacy long-mode format; every nested access is a user access,
 * so NPT entries need U=1). The Intel EPT format plugs in through the same
 * entry-encoding hooks.
 *
 * Tables are reached through their physical address, which is also their
 * virtual address (pool memory is identity-mapped in the host).
 */
#ifndef HV_SLAT_H
#define HV_SLAT_H

#include "types.h"

struct slat_fmt {
	u64 table_flags;  /* flags of an entry pointing to a lower table */
	u64 leaf_flags;   /* flags of a 4K/2M/1G leaf */
	u64 large_flag;   /* PS bit for 2M/1G leaves */
	u64 present_mask; /* bits that make an entry present */
	bool has_1g;      /* 1 GiB leaves allowed */
	u64 write_flag;   /* cleared in a read-only leaf */
	/* The VTL protections (TLFS 15.9) need reads and execution apart:
	 * read_flag is cleared in an execute-only leaf (EPT; 0: the format
	 * has none, such a page is not mapped), exec_flag cleared and
	 * nx_flag set in a no-execute leaf (EPT X; NPT NX, bit 63).
	 * uexec_flag: user-mode execute apart (EPT bit 10 with mode-based
	 * execute control, SDM 29.3.3, TLFS 15.10 MBEC; set in every entry
	 * that has execute, ignored by a CPU without MBEC on); 0: the format
	 * has none, the kernel-execute right governs all execution. */
	u64 read_flag, exec_flag, nx_flag, uexec_flag;
};

struct slat {
	u64 root; /* PML4 */
	const struct slat_fmt *fmt;
	void *(*alloc_page)(void *ctx); /* zeroed 4K page, identity address */
	void *alloc_ctx;
};

#define SLAT_ADDR_MASK 0x000ffffffffff000ull

/* Guest access to a 4K page in the second-level tables. The first three
 * are the base protections (hv/gmem.c); the others come from the VTL
 * protections of TLFS 15.9 (read-only, read/write without execute,
 * execute-only). X is execution in both modes; the _KX/_UX ones are
 * MBEC's kernel-only and user-only execution (TLFS 15.10). */
enum slat_access {
	SLAT_NONE, SLAT_RX, SLAT_RWX, SLAT_R, SLAT_RW, SLAT_X,
	SLAT_R_KX, SLAT_RW_KX, SLAT_KX, SLAT_R_UX, SLAT_RW_UX, SLAT_UX,
};

/* Rights as bits: read 1, write 2, kernel execute 4, user execute 8
 * (SLAT_ACC_X both); and back. */
#define SLAT_ACC_R 1u
#define SLAT_ACC_W 2u
#define SLAT_ACC_KX 4u
#define SLAT_ACC_UX 8u
#define SLAT_ACC_X (SLAT_ACC_KX | SLAT_ACC_UX)
#define SLAT_ACC_ALL 15u
static inline u8 slat_acc_bits(enum slat_access a)
{
	static const u8 bits[] = { 0, 13, 15, 1, 3, 12, 5, 7, 4, 9, 11, 8 };
	return (unsigned)a < sizeof(bits) ? bits[a] : 0;
}
static inline enum slat_access slat_acc_from_bits(u8 b)
{
	/* write without read: only what is left (execute or none) */
	static const u8 acc[16] = { SLAT_NONE, SLAT_R,     SLAT_NONE, SLAT_RW,    SLAT_KX, SLAT_R_KX,
				    SLAT_KX,   SLAT_RW_KX, SLAT_UX,   SLAT_R_UX,  SLAT_UX, SLAT_RW_UX,
				    SLAT_X,    SLAT_RX,    SLAT_X,    SLAT_RWX };
	return (enum slat_access)acc[b & 15];
}
/* What both allow. */
static inline enum slat_access slat_acc_min(enum slat_access a, enum slat_access b)
{
	return slat_acc_from_bits(slat_acc_bits(a) & slat_acc_bits(b));
}

/* Map [va, va+len) to [pa, pa+len) with the largest pages that fit.
 * Returns 0, or -1 when out of memory or on a conflicting entry. */
int slat_map(struct slat *s, u64 va, u64 pa, u64 len, u64 max_page);
/* Identity-map [base, end) leaving [hole, hole_end) unmapped. */
int slat_identity_with_hole(struct slat *s, u64 base, u64 end, u64 hole, u64 hole_end);
/* Walk: 0 with the mapping in pa and page_size, or -1 if unmapped. */
int slat_lookup(const struct slat *s, u64 va, u64 *pa, u64 *page_size);
/* Point the 4K page at va to pa with leaf flags `flags` (0 = unmapped),
 * splitting a large leaf on the way into equivalent smaller ones. */
int slat_set_4k(struct slat *s, u64 va, u64 pa, u64 flags);
int slat_init(struct slat *s, const struct slat_fmt *fmt, void *(*alloc)(void *), void *ctx);

/* The second-level table operations of both backends (svm/, vmx/), which
 * add only their vendor's TLB invalidation:
 * slat_map_identity_large identity-maps the largest page the format has
 * (1G, else 2M) around gpa, for MMIO mapped on first touch, and returns
 * what it mapped in *base and *size; slat_set_access points the 4K page gpa
 * at hpa with access acc (SLAT_NONE: unmapped), splitting large pages
 * (overlay pages, TLFS 5.2.1). Both return 0 or -1 (out of memory, or a
 * conflicting entry). */
int slat_map_identity_large(struct slat *s, u64 gpa, u64 *base, u64 *size);
int slat_set_access(struct slat *s, u64 gpa, u64 hpa, enum slat_access acc);
/* The leaf flags of a 4K page with access acc in format f (0: unmapped). */
u64 slat_leaf_flags(const struct slat_fmt *f, enum slat_access acc);
/* dst (initialised, empty root) becomes a copy of src: its own table
 * pages with the same entries (a second view of the same memory, TLFS
 * 15.9: one table per VTL). 0, or -1 when out of memory. */
int slat_clone(struct slat *dst, const struct slat *src);

/* Formats. */
extern const struct slat_fmt slat_fmt_host;    /* P|RW, supervisor */
extern const struct slat_fmt slat_fmt_host_1g;
extern const struct slat_fmt slat_fmt_npt;     /* P|RW|U */
extern const struct slat_fmt slat_fmt_npt_1g;
extern const struct slat_fmt slat_fmt_ept;     /* R|W|X, leaves WB */
extern const struct slat_fmt slat_fmt_ept_1g;

#endif
