/*
 * fakes.h - the hardware seams of hv.h (CPUID, MSRs, port I/O, serial) and
 * a fake backend, so the Hv#1 modules run unchanged on the host.
 */
#ifndef FAKES_H
#define FAKES_H

/* Every public header of hv/: the tests reach into all of it. */
#include "vp.h"
#include "apic.h"
#include "backend.h"
#include "cpuid.h"
#include "dispatch.h"
#include "emulate.h"
#include "hw.h"
#include "hypercall.h"
#include "io.h"
#include "kick.h"
#include "module.h"
#include "msr.h"
#include "npf.h"
#include "overlay.h"
#include "gmem.h"
#include "walk.h"
#include "cpu_state.h"
#include "partition.h"
#include "pool.h"
#include "smp.h"
#include "time.h"
#include "translate.h"
#include "vpregs.h"
#include "vpset.h"
#include "xcall.h"
#include "boot_info.h"

/* Native CPUID answers: fake_cpuid_set(leaf, sub, a, b, c, d). Unset leaves
 * read as zeros. */
void fake_cpuid_reset(void);
void fake_cpuid_set(u32 leaf, u32 sub, u32 a, u32 b, u32 c, u32 d);

/* Native MSRs: fake_msr_set makes one exist; others fault. */
void fake_msr_reset(void);
void fake_msr_set(u32 msr, u64 val);
u64 fake_msr_get(u32 msr);

/* Port I/O log. */
extern u16 fake_io_last_port;
extern u32 fake_io_last_val;
extern int fake_io_writes;

/* Serial output captured by the fake UART. */
extern char fake_serial[16384];
extern size_t fake_serial_len;
void fake_serial_reset(void);
/* The log into fake_serial, level info (tests/host/main.c). */
void fake_log_init(void);

struct fake_flush {
	enum tlb_flush kind;
	u64 gva;
};

/* An intercept request (msr_intercept: index, access; io_intercept: port). */
struct fake_icpt {
	u32 index, access;
	bool on;
};

/* A VP with the fake backend; its state is inspectable. */
struct fake_be_state {
	struct guest_boot_state state; /* vp_get_state/vp_set_state */
	int states_set;
	struct fake_flush flushes[128]; /* tlb_flush calls, in order */
	int flush_count;
	u64 regs[GREG__COUNT];
	int injected_vector; /* -1: none */
	bool injected_has_error;
	u32 injected_error;
	int advanced;
	int slat_maps;
	int slat_fail;
	u64 last_slat_gpa;
	int dumps;
	int slat_sets;
	u64 last_set_gpa, last_set_hpa;
	int last_set_acc;
	/* Every slat_set_page call, in order (the last 32: index slat_sets - 1
	 * modulo 32 is the latest). */
	struct fake_set {
		u64 gpa, hpa;
		int acc;
	} set_log[32];
	int nmis_injected;
	int states_loaded;
	u64 loaded_rip, loaded_cs_base;
	u16 loaded_cs_sel;
	u64 loaded_cr0;
	int advance_fail;  /* advance_rip reports an unknown length */
	int irq_vector;    /* inject_irq's last vector */
	bool irq_window;   /* inject_irq answers "window requested" */
	u64 deadline;      /* set_deadline's value */
	struct fake_icpt msr_icpt[16], io_icpt[16];
	int msr_icpt_count, io_icpt_count;
	int icpt_fail;     /* io_intercept fails */
};
extern const struct backend fake_backend;
extern enum be_deadline fake_deadline_kind; /* what deadline_kind answers */
/* ctx_create's states (the first fake_ctx_created are in use); a nonzero
 * fake_ctx_fail makes it fail. */
extern struct fake_be_state fake_ctx_states[8];
extern int fake_ctx_created, fake_ctx_fail;
void fake_vp_init(struct vp *vp, struct partition *p, struct fake_be_state *s);

/* n VPs on the fake backend in one partition (36-bit GPAs, hypervisor
 * memory 0x200000-0x2FFFFF, TSC 1 GHz): APIC IDs 10 + i, 64-bit mode.
 * hw_cpu_relax serves every VP's cross-VP mailbox (fake_serve_all), as
 * their processors would before their next entry. */
void fake_smp_partition(struct partition *p, struct vp *vps, struct fake_be_state *bes, int n);
void fake_serve_all(void);
/* The hypercall page at page_gpa, enabled (guest OS ID set). */
void fake_enable_hypercalls(struct partition *p, u8 *page, u64 page_gpa);

/* Fake guest RAM: FAKE_RAM_SIZE bytes at guest-physical FAKE_RAM_BASE. */
#define FAKE_RAM_BASE 0x100000ull
#define FAKE_RAM_SIZE 0x10000ull
extern u8 fake_ram[FAKE_RAM_SIZE];
extern u64 fake_tsc, fake_tsc_step;
extern u8 fake_xmm[96];
extern u32 fake_apic[0x1000 / 4]; /* the local APIC page (registers by offset) */
extern u64 fake_icr_writes[8];
extern int fake_icr_count;
extern int fake_relax_count;
/* Called from every hw_cpu_relax (e.g. to serve other VPs' mailboxes). */
extern void (*fake_relax_hook)(void); /* hw_cpu_relax sets an IRR bit on its 3rd call */

/* vp_fatal() lands here in host tests: returns to the test via longjmp. */
#include <setjmp.h>
extern jmp_buf fake_fatal_jmp;
extern int fake_fatal_armed;
extern int fake_fatal_count;

#endif
