/*
 * apboot.h - shared declarations of apboot.efi (issue 4, test (b)): the
 * trampoline's data area (tramp.asm), the per-AP results, and the local
 * APIC helpers (ipi.c).
 */
#ifndef APBOOT_H
#define APBOOT_H

#include "../payload/payload.h"

#define HIDDEN __attribute__((visibility("hidden")))

#define MAX_CPUS 64u
#define AP_STACK_SIZE 0x4000u /* 16 KiB per AP */

/* TLFS 4.2.2 (privilege flags, CPUID 0x40000003 EAX), 7.8.1 (VP index),
 * 12.4 (frequency MSRs). */
#define MSR_VP_INDEX 0x40000002u
#define MSR_TSC_FREQUENCY 0x40000022u
#define PRIV_VP_INDEX (1u << 6)
#define PRIV_FREQUENCY (1u << 11)

#define MSR_APIC_BASE 0x1Bu
#define MSR_EFER 0xC0000080u
#define EFER_LME (1ull << 8)
#define EFER_NXE (1ull << 11)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)

/* tramp.asm: the blob copied below 1 MiB, the targets of its two far
 * jumps, and its 32 exception stubs (16 bytes apart). */
extern char ap_tramp[] HIDDEN, ap_tramp_end[] HIDDEN, ap_tramp_stubs[] HIDDEN;
extern char ap_tramp_pm32[] HIDDEN, ap_tramp_64[] HIDDEN;

struct __attribute__((packed)) dtr32 {
	uint16_t limit;
	uint32_t base;
};
struct __attribute__((packed)) dtr64 {
	uint16_t limit;
	uint64_t base;
};
struct __attribute__((packed)) farptr32 {
	uint32_t offset;
	uint16_t sel;
};
struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, reserved;
};

/* At trampoline page + TRAMP_DATA; offsets are tramp.asm's D_* equates. */
#define TRAMP_DATA 0x800u
struct tramp_data {
	uint64_t gdt[4];            /* 0x00 null, 0x08 code32, 0x10 data, 0x18 code64 */
	struct dtr32 gdtr;          /* 0x20 */
	uint8_t pad0[10];
	struct dtr64 idtr;          /* 0x30 */
	uint8_t pad1[6];
	struct farptr32 ptr_pm32;   /* 0x40 */
	uint16_t pad2;
	struct farptr32 ptr_64;     /* 0x48 */
	uint16_t pad3;
	uint64_t cr3;               /* 0x50 */
	uint64_t cr4_set;           /* 0x58 */
	uint64_t efer_set;          /* 0x60 */
	uint64_t entry;             /* 0x68 */
	uint64_t stack;             /* 0x70 */
	uint64_t index;             /* 0x78 */
	volatile uint32_t init_edx; /* 0x80 */
	volatile uint32_t init_cr0; /* 0x84 */
	volatile uint32_t stage;    /* 0x88 */
	volatile uint32_t exc_count;/* 0x8C */
	volatile uint64_t exc_vec, exc_err, exc_rip, exc_cr2, exc_apic; /* 0x90.. */
	uint8_t pad4[0x100 - 0xB8];
	struct idt_gate idt[32];    /* 0x100 */
};
_Static_assert(offsetof(struct tramp_data, gdtr) == 0x20, "tramp.asm layout");
_Static_assert(offsetof(struct tramp_data, idtr) == 0x30, "tramp.asm layout");
_Static_assert(offsetof(struct tramp_data, ptr_pm32) == 0x40, "tramp.asm layout");
_Static_assert(offsetof(struct tramp_data, ptr_64) == 0x48, "tramp.asm layout");
_Static_assert(offsetof(struct tramp_data, cr3) == 0x50, "tramp.asm layout");
_Static_assert(offsetof(struct tramp_data, index) == 0x78, "tramp.asm layout");
_Static_assert(offsetof(struct tramp_data, init_edx) == 0x80, "tramp.asm layout");
_Static_assert(offsetof(struct tramp_data, stage) == 0x88, "tramp.asm layout");
_Static_assert(offsetof(struct tramp_data, exc_vec) == 0x90, "tramp.asm layout");
_Static_assert(offsetof(struct tramp_data, exc_apic) == 0xB0, "tramp.asm layout");
_Static_assert(offsetof(struct tramp_data, idt) == 0x100, "tramp.asm layout");
_Static_assert(TRAMP_DATA + sizeof(struct tramp_data) <= 4096, "one page");

/* What each AP reports from ap_main (ap.c), one slot per AP index. */
struct ap_result {
	volatile uint32_t runs;     /* incremented last, after the fields */
	uint32_t apic_id;
	uint32_t vendor_ok;         /* CPUID 0x40000000 is "Microsoft Hv" */
	uint32_t vendor[3];
	uint32_t privileges;        /* CPUID 0x40000003 EAX */
	uint32_t vp_index_ok;       /* the MSR was readable */
	uint64_t vp_index;
	uint32_t init_edx, init_cr0; /* from the trampoline, at the SIPI entry */
	uint32_t cpuid1_eax;
	uint32_t pad;
};

struct results {
	volatile uint32_t arrivals; /* every ap_main, all APs */
	uint32_t pad;
	struct ap_result ap[MAX_CPUS];
};

extern struct results *g_results HIDDEN;
extern struct tramp_data *g_tramp HIDDEN;
void ap_main(uint64_t index) HIDDEN __attribute__((noreturn));

/* ---- ap.c: CPU helpers ---------------------------------------------------- */
uint32_t apic_id_now(void) HIDDEN;
int hv_vendor_ok(struct cpuid_regs *r) HIDDEN;

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* ---- ipi.c: INIT-SIPI-SIPI through the local APIC (SDM 10.6.1) ---------- */
void tsc_set_hz(uint64_t hz) HIDDEN;
uint64_t tsc_hz(void) HIDDEN;
void udelay(uint64_t us) HIDDEN;
/* apic_base: IA32_APIC_BASE (x2APIC mode if bit 10). */
void ipi_setup(uint64_t apic_base) HIDDEN;
int ipi_x2apic(void) HIDDEN;
/* The universal start-up algorithm (SDM 8.4.4.1): INIT, 10 ms, SIPI,
 * 200 us, SIPI. Nonzero if the ICR never became idle. */
int ipi_init_sipi_sipi(uint32_t apic_id, uint8_t vector) HIDDEN;

#endif
