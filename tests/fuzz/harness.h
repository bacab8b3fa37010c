/*
 * harness.h - what the libFuzzer targets of tests/fuzz share (docs/reliability.md).
 *
 * A target is one file, fuzz_<name>.c, that defines LLVMFuzzerTestOneInput
 * (the Makefile builds build/fuzz/fuzz_<name> from it, the harness and the
 * host build of hv/ on the fake backend of tests/host/fakes.c; the seed
 * corpus is tests/fuzz/corpus/<name>/). The harness gives it:
 *  - a reader over the fuzz bytes (struct fz): numbers, choices, and
 *    values biased to the GPAs, MSRs and call codes worth trying;
 *  - a world (struct fz_world): a partition of 1-4 VPs on the fake backend
 *    whose second-level tables are real (arch/x86_64/slat.c in host
 *    memory), with the hypercall page, the reference TSC page, a VP assist
 *    page per VP, the xAPIC page protected read-only, and guest RAM
 *    (fake_ram) plus firmware, MMIO and hypervisor ranges;
 *  - the oracles beyond the sanitizers: every hypercall status is a TLFS
 *    status (fz_status_valid, the one list); guest memory changed only
 *    where a call may write (fz_ram_*); the second-level tables hold
 *    exactly what hv/gmem.c's rule says (fz_check_slat): never hypervisor
 *    memory, never a writable APIC page, each GPA mapped to itself or to
 *    the overlay frame on top there;
 *  - FZ_CHECK: a failed oracle prints what and aborts (libFuzzer then
 *    keeps the input as a reproducer).
 */
#ifndef FUZZ_HARNESS_H
#define FUZZ_HARNESS_H

#include "fakes.h"
#include "tlfs.h"
#include "x86.h"
#include <stddef.h>
#include <stdint.h>

struct fz_world;

/* ---- the fuzz bytes ------------------------------------------------------ */
struct fz {
	const u8 *p;
	size_t n;
};
static inline size_t fz_left(const struct fz *f) { return f->n; }
u8 fz_u8(struct fz *f);
u16 fz_u16(struct fz *f);
u32 fz_u32(struct fz *f);
u64 fz_u64(struct fz *f);
bool fz_bool(struct fz *f);
u32 fz_below(struct fz *f, u32 n); /* 0..n-1 */
/* Copy up to n bytes (zeros once the input is used up). */
void fz_bytes(struct fz *f, void *out, size_t n);

/* Values worth trying: a GPA near a page edge of guest RAM, firmware
 * memory, the hypercall/TSC/assist overlays, the APIC page, MMIO,
 * hypervisor memory, or beyond the GPA space; an MSR of the synthetic
 * windows (every registered row is reached, new modules' too) or an
 * architectural one; a call code of a registered row or any. */
u64 fz_gpa(struct fz *f, struct fz_world *w);
u32 fz_msr(struct fz *f);
u16 fz_call_code(struct fz *f);

/* ---- the world ------------------------------------------------------------ */
#define FZ_MAX_VPS 4
#define FZ_HIDDEN_BASE 0x200000ull
#define FZ_HIDDEN_SIZE 0x100000ull
#define FZ_FW_BASE (FAKE_RAM_BASE + 0xc000) /* last 4 pages of fake_ram */
#define FZ_MMIO 0xfec00000ull
#define FZ_APIC 0xfee00000ull
#define FZ_PHYS_BITS 36
/* phys_top: identity-mapped at start; above it (the APIC and MMIO pages
 * too) pages are mapped on first touch (hv/npf.c), as on a machine whose
 * memory map ends below them. */
#define FZ_MAPPED_TOP (64ull << 20)

struct fz_world {
	struct partition p;
	struct vp vps[FZ_MAX_VPS];
	struct fake_be_state bes[FZ_MAX_VPS];
	int n;
	u8 *hc_page, *tsc_page, *assist[FZ_MAX_VPS];
};

/* A fresh world of n VPs (1..FZ_MAX_VPS): everything of the last input
 * is gone (tables, overlays, guest RAM zeroed, fakes reset). */
struct fz_world *fz_world_new(int n);
/* Guest OS ID set, hypercall page enabled at gpa (through the MSRs). */
void fz_enable_hypercalls(struct fz_world *w, u64 gpa);
/* The VP's mode: 64-bit, or 32-bit protected (mode32), CPL. */
void fz_set_mode(struct fz_world *w, int vp, bool mode32, u8 cpl);

/* RDMSR/WRMSR exits: the handler's action; *val the value read. The
 * oracle: ADVANCE, or INJECTED with #GP and nothing else. */
enum hv_action fz_msr_read(struct fz_world *w, int vp, u32 msr, u64 *val);
enum hv_action fz_msr_write(struct fz_world *w, int vp, u32 msr, u64 val);

/* A fuzzed VP state change: INIT taken (wait-for-SIPI), paging registers,
 * privileges and features withdrawn, TSC speed, x2APIC mode. */
void fz_op_state(struct fz *f, struct fz_world *w);
/* A synthetic (or other) MSR read or write, values biased to overlay
 * GPAs; oracles: #GP is the only fault, guest memory unchanged, what the
 * overlay MSRs accepted reads back. */
void fz_op_msr(struct fz *f, struct fz_world *w);
/* A second-level fault where the world's tables fault (a fetch, read or
 * write of a fuzzed GPA); oracles: no park, #GP (or #UD from the xAPIC
 * store emulation) the only exceptions, a resumed access no longer
 * faults. */
void fz_op_npf(struct fz *f, struct fz_world *w);
/* A port I/O exit on an intercepted port (PM1 control, reset) or any:
 * IN/OUT of each size, INS/OUTS, REP; oracles: RIP advanced or #GP(0),
 * guest memory unchanged. */
void fz_op_io(struct fz *f, struct fz_world *w);
/* Fuzzed bytes into guest RAM (page tables, parameter blocks). */
void fz_op_poke(struct fz *f, struct fz_world *w);

/* ---- oracles -------------------------------------------------------------- */
void fz_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
#define FZ_CHECK(c, ...)                                                       \
	do {                                                                   \
		if (!(c))                                                      \
			fz_fail(__FILE__, __LINE__, "" __VA_ARGS__);           \
	} while (0)

/* A status the TLFS defines (section 3.12 and the calls' own lists). */
bool fz_status_valid(u16 status);

/* Guest RAM before an operation, and the check after it: every byte that
 * changed is inside [lo, hi), or (ad_bits) only the accessed/dirty bits
 * of a page-table entry changed (HvTranslateVirtualAddress with
 * SET_PAGE_TABLE_BITS, TLFS 9.4.6). */
void fz_ram_snapshot(void);
void fz_ram_check(u64 lo, u64 hi, bool ad_bits);
/* Guest RAM differs from the snapshot. */
bool fz_ram_changed(void);

/* The second-level tables against the rule of hv/gmem.c (see above),
 * and the overlay filter against a scan. */
void fz_check_slat(struct fz_world *w);

#endif
