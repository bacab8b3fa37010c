/*
 * gfuzz.h - shared by the guest fuzzer's files (tests/gfuzz/): the run's
 * state, the random source, the probes of gfz.asm, the operation table.
 * docs/reliability.md ("Guest fuzzer") describes the whole.
 */
#ifndef GFUZZ_H
#define GFUZZ_H

#include "../payload/hcall.h"

/* gfz.asm */
struct fz_regs {
	uint64_t gpr[16];      /* RAX RCX RDX RBX RSP RBP RSI RDI R8-R15 */
	uint64_t xmm[16][2];   /* XMM0-XMM15 */
	uint64_t rsp_before;
};
_Static_assert(sizeof(struct fz_regs) == 392, "gfz.asm layout");
enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI, R_8, R_9 };

extern char fz_stubs[] HIDDEN;
extern uint64_t fz_fault[4] HIDDEN; /* vector, error code, RIP, CS */
extern volatile uint64_t fz_nmis HIDDEN;
extern volatile uint64_t fz_spurious HIDDEN; /* vector-15 interrupts (gfz.asm) */
int fz_call_vmmcall(struct fz_regs *r) HIDDEN;
int fz_call_vmcall(struct fz_regs *r) HIDDEN;
int fz_rdmsr(uint32_t msr, uint64_t *val) HIDDEN;
int fz_wrmsr(uint32_t msr, uint64_t val) HIDDEN;
int fz_read64(uint64_t addr, uint64_t *val) HIDDEN;
int fz_write64(uint64_t addr, uint64_t val) HIDDEN;
int fz_read32(uint64_t addr, uint32_t *val) HIDDEN;
int fz_write_cr0(uint64_t val) HIDDEN;
int fz_write_cr4(uint64_t val) HIDDEN;
int fz_write32(uint64_t addr, uint32_t val) HIDDEN;

/* TLFS numbers the fuzzer needs beyond hcall.h (appendix C, 7.8.2). */
#define MSR_RESET 0x40000003u
#define MSR_REF_TSC 0x40000021u
#define MSR_TSC_FREQ 0x40000022u
#define MSR_EOI 0x40000070u
#define MSR_ICR 0x40000071u
#define MSR_TPR 0x40000072u
#define MSR_VP_ASSIST 0x40000073u
#define MSR_SIEFP 0x40000082u
#define MSR_SIMP 0x40000083u
#define MSR_GUEST_IDLE 0x400000F0u
#define MSR_CRASH_CTL 0x40000105u
#define CALL_GET_VP_REGS 0x0050u
#define CALL_SET_VP_REGS 0x0051u
#define CALL_TRANSLATE 0x0052u
#define CALL_START_VP 0x0099u
#define REG_VP_INDEX 0x00090003u
#define VP_SELF 0xFFFFFFFEu
#define APIC_GPA 0xFEE00000ull

/* Where GPAs come from: the fuzzer's own scratch pages and the places a
 * hypervisor must handle with care (TLFS 5.2.1 overlays, the APIC page,
 * its own memory, MMIO, beyond the guest-physical space). */
#define N_OVL 4    /* scratch pages overlays may cover */
#define N_CANARY 16
#define N_SPECIAL 24

struct fz {
	uint64_t seed, rng, ops, op_index, lock_at;
	int amd, locked, lock_ok;
	uint64_t priv;
	uint32_t feat;
	unsigned int pa_bits;
	uint8_t *in, *out;         /* parameter pages for the fuzzed calls */
	uint8_t *kg_in, *kg_out;   /* the known-good call's pages */
	uint8_t *ovl[N_OVL];       /* scratch pages overlays may land on */
	uint8_t *canary;           /* N_CANARY pages nobody may touch */
	uint64_t special[N_SPECIAL];
	unsigned int n_special;
	uint64_t hv_base, hv_size, ram_top;
	/* counters */
	uint64_t n_hcall, n_msr, n_mem, n_ud, n_gp, n_status[128], n_batches;
	uint64_t fails;
};
extern struct fz g_fz;

/* Random source (splitmix64: a seed replays a run exactly). */
static inline uint64_t rnd(void)
{
	uint64_t z = (g_fz.rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}
static inline uint64_t rnd_below(uint64_t n) { return n ? rnd() % n : 0; }
static inline int chance(unsigned int pct) { return rnd_below(100) < pct; }
uint64_t rnd_value(void);         /* biased: 0, ~0, small, edges, random */
uint64_t rnd_overlay_gpa(void);   /* a safe place for an overlay */
uint64_t rnd_param_gpa(int output, uint64_t page);

/* One failed check: counted, the first ones printed with op and seed. */
void fz_fail(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The operation table (gfz_ops.c). Adding an operation (SynIC, timers,
 * VSM, as they land) is one row: a name, a weight, a function. */
struct fz_op {
	const char *name;
	unsigned int weight;
	void (*run)(void);
	uint64_t count;
};
extern struct fz_op fz_ops[];
extern const unsigned int fz_n_ops;

/* Checks shared by ops and the batch end (gfuzz.c). */
int fz_hcall(struct fz_regs *r);             /* the vendor's instruction */
void fz_check_status(uint64_t ctl, const struct fz_regs *before, const struct fz_regs *after,
		     int vec);
uint64_t fz_sanitize_msr(uint32_t msr, uint64_t val, int *skip);

#endif
