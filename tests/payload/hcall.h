/*
 * hcall.h - shared by checks_hypercall.c (MSRs, the page, setup),
 * checks_hcall_calls.c (the calls), checks_mode32.c (32-bit callers) and
 * checks_realmode.c (real mode): TLFS numbers, the state and helpers.
 */
#ifndef HCALL_H
#define HCALL_H

#include "payload.h"

#define HIDDEN __attribute__((visibility("hidden")))

/* hcall.asm */
struct hc_regs {
	uint64_t rcx, rdx, r8, rax;
	uint64_t xmm[6][2]; /* XMM0-XMM5, low and high quadword */
};
extern char hc_stubs[] HIDDEN;
extern uint64_t hc_fault[4] HIDDEN; /* vector, error code, RIP, CS */
int hc_call(struct hc_regs *r, void *page) HIDDEN;
/* Run at CPL 3 from rip until an exception: its vector (hc_fault has
 * RIP and CS), -2 when the set-up failed (*why). checks_hypercall.c. */
int hc_run_cpl3(uint64_t rip, struct hc_regs *r, const char **why) HIDDEN;
int hc_user(uint64_t rip, uint64_t rsp, uint64_t cs, uint64_t ss,
	    const struct hc_regs *r) HIDDEN;

/* TLFS 2.6, 3.13, appendix C: the MSRs. */
#define MSR_GUEST_OS_ID 0x40000000u
#define MSR_HYPERCALL 0x40000001u
#define MSR_VP_INDEX 0x40000002u
#define HC_MSR_ENABLE 1ull
#define HC_MSR_LOCKED 2ull
#define OS_ID 0x8100001234560001ull /* open source (bit 63), any vendor */

/* TLFS 3.7: the hypercall input value. */
#define HC_FAST (1ull << 16)
#define HC_VARHDR(n) ((uint64_t)(n) << 17)
#define HC_REPS(n) ((uint64_t)(n) << 32)
#define HC_START(n) ((uint64_t)(n) << 48)
#define CALL_SPIN_WAIT 0x0008u      /* TLFS 14.5.1 */
#define CALL_PARTITION_ID 0x0046u   /* TLFS 4.2.1: not granted, ACCESS_DENIED */
#define CALL_VP_FROM_APIC 0x009Au   /* TLFS 7.10.4 */
#define CALL_EXT_QUERY_CAPS 0x8001u /* TLFS 3.14.1 */

/* Appendix B: HV_STATUS. */
#define ST_OK 0x0u
#define ST_BAD_CODE 0x2u
#define ST_BAD_INPUT 0x3u
#define ST_BAD_ALIGN 0x4u
#define ST_BAD_PARAM 0x5u
#define ST_ACCESS_DENIED 0x6u
#define ST_BAD_PARTITION 0xDu

/* TLFS 4.2.2 privileges and 2.4.4 features this file needs. */
#define PRIV_HC_MSRS (1ull << 5)
#define PRIV_VP_INDEX (1ull << 6)
#define PRIV_PARTITION_ID (1ull << 33) /* never granted (checks_cpuid.c) */
#define PRIV_EXT_CALLS (1ull << 52)
#define FEAT_XMM_IN (1u << 4)
#define FEAT_XMM_OUT (1u << 15)
#define FEAT_MSR_LOCK (1u << 18)

#define PAGE 4096u
#define PAT_P 0x50A7000000000000ull /* fill of the page under the overlay */
#define PAT_Q 0x51A7000000000000ull
#define PREFILL 0xABABABABABABABABull
#define PARTITION_SELF 0xFFFFFFFFFFFFFFFFull
#define UNKNOWN_APIC 0xFFFFFFF0u

struct hc_state {
	uint64_t priv;
	uint32_t feat;
	uint8_t insn[3];   /* the vendor's hypercall instruction */
	int amd;
	uint32_t apic;     /* own APIC ID */
	unsigned int pa_bits;
	uint8_t *p, *q;    /* hypercall page GPAs (EfiBootServicesCode) */
	uint8_t *buf;      /* 6 data pages: P_IN P_OUT P_IN2 P_OUT2 P_USTACK, spare */
	int page_ok;       /* the page at p verified: calls allowed */
};
extern struct hc_state g_hc;

#define P_IN (g_hc.buf)
#define P_OUT (g_hc.buf + PAGE)
#define P_IN2 (g_hc.buf + 2 * PAGE)
#define P_OUT2 (g_hc.buf + 3 * PAGE)
#define P_USTACK (g_hc.buf + 4 * PAGE)

static inline uint64_t pa(const void *p) { return (uint64_t)(uintptr_t)p; }
void fill64(void *p, uint64_t v, unsigned int bytes, int count_up);
long diff64(const void *p, uint64_t v, unsigned int bytes, int count_up);
long page_diff(const uint8_t *p);
int call_page(struct hc_regs *r, void *page);
int call(struct hc_regs *r);
int call_slow(struct hc_regs *r, uint64_t ctl, uint64_t in, uint64_t out);
int expect(const char *name, int vec, const struct hc_regs *r, unsigned int st,
	   unsigned int reps, const char *what, uint64_t got, uint64_t want);
void checks_simple(void);
void checks_vp_index(void);
void checks_errors(void);

/* checks_tlb.c, checks_ipi.c: TLFS 9.4.2-9.4.5, 10.5.2-10.5.3, 7.8.7.3. */
#define CALL_SWITCH_SPACE 0x0001u
#define CALL_FLUSH_SPACE 0x0002u
#define CALL_FLUSH_LIST 0x0003u
#define CALL_SEND_IPI 0x000Bu
#define CALL_FLUSH_SPACE_EX 0x0013u
#define CALL_FLUSH_LIST_EX 0x0014u
#define CALL_SEND_IPI_EX 0x0015u
#define FLUSH_ALL_PROCESSORS 1ull
#define FLUSH_ALL_SPACES 2ull
#define FLUSH_NON_GLOBAL 4ull
#define SET_SPARSE 0ull
#define SET_ALL 1ull
/* A call whose input is the n words w: memory-based from P_IN, or fast
 * (RDX, R8, then XMM0-XMM5 low/high, TLFS 3.7.2.2). */
int call_words(struct hc_regs *r, uint64_t ctl, const uint64_t *w, unsigned int n, int fast);
/* checks_tlb.c: a worker on every AP (MP services, non-blocking), driven
 * through shared memory; see apw_main. */
enum apw_op { APW_RELOAD = 1, APW_READ, APW_IPI_ON, APW_IPI_OFF, APW_EXIT, APW_CALL, APW_FN };
uint64_t apw_start(const char *group); /* VP index mask of the running APs */
int apw_cmd(unsigned int vp, enum apw_op op);
void apw_stop(const char *group);
void apw_set_idt(uint64_t base, uint16_t limit); /* loaded by APW_IPI_ON */
void apw_halt(unsigned int vp, int on);          /* idle in HLT (needs IPI_ON) */
/* APW_CALL: iters memory-based calls (ctl, input GPA in) on an AP, posted
 * without waiting; wait: calls done and the last result. */
void apw_call_post(unsigned int vp, uint64_t ctl, uint64_t in, uint32_t iters);
int apw_call_wait(unsigned int vp, uint32_t *done, uint64_t *result);
uint64_t apw_ticks(unsigned int ms);              /* TSC ticks, for waits */
/* APW_FN: fn(vp) on VP vp's worker; 1 once it returned (within 30 s). */
int apw_run(unsigned int vp, void (*fn)(unsigned int vp));
extern volatile uint64_t apw_ipi_count[64];       /* ptlb.asm, by VP index */
void apw_isr(void);                               /* ptlb.asm */

#endif
