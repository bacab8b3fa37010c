/*
 * bench.c - the benchmark guest payload (bench.efi, issue 8). hv.efi starts
 * it as its guest (hv.cfg guest=\EFI\hv\bench.efi); tests/run-bench.sh
 * (`make bench`) runs it on Bochs VMX, Bochs SVM and QEMU SVM and turns its
 * output into one table. docs/performance.md explains the numbers.
 *
 * For each operation in ops[] below: one checked call where there is a
 * result to check, then, with interrupts disabled, WARMUP iterations and
 * ROUNDS rounds of ITERS iterations, each round timed with RDTSC around a
 * tight loop (bloops.asm). The result is the median round, minus the
 * median of the same loop with no operation in it, per iteration, in TSC
 * ticks with one decimal. Under Bochs (clock: sync=none) a tick is one
 * emulated instruction, so the numbers are exact path lengths; under QEMU
 * they are wall-clock TSC and only a reference.
 *
 * Exit accounting: around each operation's timed window the payload writes
 * HV_X64_MSR_CRASH_CTL with CrashNotify (TLFS 4.3, if advertised). hv.efi
 * logs a "guest crash notification" and then its per-VP exit counters, so
 * the harness sees exactly how many exits, of which reason, the window
 * took: (post - pre - 1) / iterations exits per operation (the 1 is the
 * post snapshot's own WRMSR). This is how the no-exit target of the
 * reference TSC page is verified. Such a dump also comes at the start
 * (exits of the boot up to here) and at the end.
 *
 * Output (COM1), one line each:
 *   BENCH START
 *   BENCH-INFO: <free text>
 *   BENCH-SNAP: boot|pre|post|end <op> <iterations in the window>
 *   BENCH: <op> <ticks>                 median ticks per operation
 *   BENCH-ROUNDS: <op> <ticks> x ROUNDS  each round, per operation
 *   BENCH-SKIP: <op> <why>
 *   BENCH DONE
 * then power off.
 *
 * guest_args=profile=<op> or profile=all (tests/bench/profile-bochs.sh):
 * instead of the benchmark, run each op once between two Bochs magic
 * breakpoints (XCHG BX, BX), so the Bochs debugger can trace every
 * instruction of one round trip, guest and hypervisor; then power off.
 *
 * Helpers come from the test payload: COM1 output and power-off
 * (pserial.c), hc_call (hcall.asm) for the checked calls, and the TLFS
 * numbers in hcall.h.
 */
#include "../payload/hcall.h"

/* bloops.asm: each returns the TSC ticks of n iterations. */
uint64_t bl_empty(uint64_t n) HIDDEN;
uint64_t bl_cpuid(uint64_t n, uint32_t leaf) HIDDEN;
uint64_t bl_nested_cpuid(uint64_t n, uint64_t vmcb_pa) HIDDEN;
uint64_t bl_nvmx_cpuid(uint64_t n, uint64_t launch) HIDDEN;
uint64_t bl_evmcs_cpuid(uint64_t n, uint8_t *evmcs) HIDDEN;
static uint64_t evmcs_cpuid(uint64_t n);
static void setup_evmcs(uint8_t *ev, uint8_t *assist, uint64_t vmcs_pa);
extern const char bl_l2_code[] HIDDEN, bl_l2_code_end[] HIDDEN;
uint64_t bl_rdmsr(uint64_t n, uint32_t msr) HIDDEN;
uint64_t bl_wrmsr(uint64_t n, uint32_t msr, uint64_t val) HIDDEN;
uint64_t bl_hcall(uint64_t n, void *page, uint64_t rcx, uint64_t rdx, uint64_t r8) HIDDEN;
uint64_t bl_hcall_clear(uint64_t n, void *page, uint64_t rcx, uint64_t rdx, uint64_t r8,
			volatile uint32_t *clear) HIDDEN;
uint64_t bl_tsc_page(uint64_t n, const void *page) HIDDEN;
uint64_t bl_store32(uint64_t n, volatile uint32_t *addr, uint32_t val) HIDDEN;
uint64_t bl_cr4_pge(uint64_t n) HIDDEN;
void ptrap_unexpected(uint64_t *frame);
extern char bench_v1_entry[] HIDDEN;
extern uint64_t bench_v1_ret HIDDEN, bench_v1_msrs[3] HIDDEN;
extern volatile uint64_t bench_v1_op HIDDEN, bench_v1_hc[7] HIDDEN;
extern char bl_store32_insn[] HIDDEN;

#define WARMUP 1000u
#define ROUNDS 5u
#define ITERS 1000u

/* TLFS numbers not in hcall.h (4.2.2 privileges, 2.4.4 features, 12, 4.3). */
#define MSR_TIME_REF_COUNT 0x40000020u
#define MSR_REFERENCE_TSC 0x40000021u
#define MSR_CRASH_CTL 0x40000105u
#define CRASH_CTL_NOTIFY (1ull << 63)
#define PRIV_REF_COUNTER (1ull << 1)
#define PRIV_REF_TSC (1ull << 9)
#define FEAT_CRASH_MSRS (1u << 10)
/* TLFS 11: the SynIC MSRs, AccessSynicRegs (2), PostMessages (36),
 * SignalEvents (37), CreatePort (38), ConnectPort (39). */
#define MSR_SCONTROL 0x40000080u
#define MSR_SIEFP 0x40000082u
#define MSR_SIMP 0x40000083u
#define MSR_SINT0 0x40000090u
#define PRIV_SYNIC (1ull << 2)
#define PRIV_POST (PRIV_SYNIC | (1ull << 36))
#define PRIV_SIGNAL (PRIV_SYNIC | (1ull << 37))
#define PRIV_PORTS ((1ull << 38) | (1ull << 39))
#define BENCH_SINT 2
/* TLFS 15: AccessVsm (48), the calls and registers the set-up uses. */
#define PRIV_VSM (1ull << 48)
#define CALL_GET_REGS 0x0050u
#define CALL_ENABLE_PARTITION_VTL 0x000Du
#define CALL_ENABLE_VP_VTL 0x000Fu
#define BENCH_MSG_CONN 0x200u
#define BENCH_EVT_CONN 0x201u
#define BENCH_RMSG_CONN 0x202u /* a message port on VP 1 (2 processors) */
#define PRIV_VP_REGS (1ull << 49)
#define CALL_SET_REGS 0x0051u

/* Markers in struct op for addresses only known at run time. */
#define IN_GPA 0xFFFFFFFFFFFF1000ull  /* the input page */
#define OUT_GPA 0xFFFFFFFFFFFF2000ull /* the output page */
#define REF_FUTURE 0xFFFFFFFFFFFF3000ull /* reference time 100 s from now */
#define MSR_STIMER0_CONFIG 0x400000B0u
#define MSR_STIMER0_COUNT 0x400000B1u
#define PRIV_STIMER (1ull << 3)

/* K_HCALL_CLEAR: a SynIC call, then the guest empties what it filled
 * (bl_hcall_clear): `clear` says what. */
enum kind { K_EMPTY, K_CPUID, K_RDMSR, K_WRMSR, K_HCALL, K_TSC_PAGE, K_XAPIC_STORE, K_HCALL_CLEAR,
	    K_NESTED_CPUID, K_NVMX_CPUID, K_NVMX_EVMCS, K_VTL_CALL, K_CR4_PGE, K_VTL_PROT };
enum clear { CLR_NONE, CLR_SLOT, CLR_FLAGS, CLR_RSLOT };

struct op {
	const char *name;      /* BENCH: <name> */
	enum kind kind;
	uint64_t a;            /* CPUID leaf | MSR | hypercall input value (RCX) */
	uint64_t b;            /* WRMSR value | hypercall RDX (fast input, or IN_GPA) */
	uint64_t c;            /* hypercall R8 (fast input, or OUT_GPA) */
	uint64_t priv;         /* privileges (CPUID 0x40000003 EBX:EAX) it needs */
	uint64_t in[3];        /* memory-based hypercall: start of the input block */
	void (*fill)(uint8_t *in); /* then this, if set (rep elements) */
	enum clear clear;      /* K_HCALL_CLEAR */
};

static void fill_apic_ids(uint8_t *in);
static void fill_gva(uint8_t *in);

/*
 * The operations, in output order. Adding one is adding a row (and, for a
 * new kind of instruction, a loop in bloops.asm); tests/run-bench.sh picks
 * up any new BENCH: line by itself. Not here yet: a remote TLB flush (it
 * needs a second processor running guest code; Bochs with 2 processors
 * does not count instructions per processor).
 *
 * SynIC (TLFS 11): bench.c sets up VP 0's SynIC with SINT 2 in polling
 * mode (no interrupt: the loop runs with interrupts disabled) and a message
 * port and an event port to VP 0 itself (the bench runs on one processor:
 * delivery to self). The ICR write of a non-polling SINT is left out.
 */
static const struct op ops[] = {
	{ "cpuid_unknown", K_CPUID, .a = 0x4FFFFFFFu },
	{ "cpuid_40000000", K_CPUID, .a = 0x40000000u },
	{ "cpuid_1", K_CPUID, .a = 1 },
	{ "rdmsr_vp_index", K_RDMSR, .a = MSR_VP_INDEX, .priv = PRIV_VP_INDEX },
	{ "wrmsr_guest_os_id", K_WRMSR, .a = MSR_GUEST_OS_ID, .b = OS_ID, .priv = PRIV_HC_MSRS },
	{ "hcall_fast", K_HCALL, .a = CALL_SPIN_WAIT | HC_FAST, .b = 1 },
	{ "hcall_memory", K_HCALL, .a = CALL_PARTITION_ID, .c = OUT_GPA, .priv = PRIV_PARTITION_ID },
	{ "hcall_memory_in", K_HCALL, .a = CALL_SPIN_WAIT, .b = IN_GPA, .in = { 1 } },
	{ "hcall_rep_1", K_HCALL, .a = CALL_VP_FROM_APIC | HC_REPS(1), .b = IN_GPA, .c = OUT_GPA,
	  .priv = PRIV_VP_INDEX, .in = { PARTITION_SELF, 0 }, .fill = fill_apic_ids },
	{ "hcall_rep_64", K_HCALL, .a = CALL_VP_FROM_APIC | HC_REPS(64), .b = IN_GPA, .c = OUT_GPA,
	  .priv = PRIV_VP_INDEX, .in = { PARTITION_SELF, 0 }, .fill = fill_apic_ids },
	{ "ref_time_tsc_page", K_TSC_PAGE, .priv = PRIV_REF_TSC },
	{ "ref_time_msr", K_RDMSR, .a = MSR_TIME_REF_COUNT, .priv = PRIV_REF_COUNTER },
	/* EOI with nothing in service is a no-op for the APIC: the cost of the
	 * xAPIC write interception (issue 4: the page is read-only so ICR
	 * writes can be emulated; every store exits and is decoded), against
	 * the enlightened EOI MSR (TLFS 10.2.3.1). */
	{ "xapic_eoi_store", K_XAPIC_STORE, .a = 0xb0 },
	/* A global TLB flush by CR4.PGE toggle (two MOV to CR4): no exit
	 * under VMX; under SVM each write exits to be checked (hv/cr.c,
	 * docs/svm.md "CR0 and CR4 writes"). */
	{ "cr4_pge_toggle", K_CR4_PGE, .a = 0 },
	{ "eoi_msr", K_WRMSR, .a = 0x40000070u, .b = 0, .priv = 1ull << 4 },
	/* TLFS 12.5: what Linux does per clock event (stimer0 direct mode,
	 * AutoEnable): arm a one-shot (100 s ahead: it never fires here). */
	{ "wrmsr_stimer0_count", K_WRMSR, .a = MSR_STIMER0_COUNT, .b = REF_FUTURE, .priv = PRIV_STIMER },
	/* TLFS 9.4.2, 9.4.4 on the caller's own VP (VP 0): the whole space
	 * (a tag flush at the next entry) and one page (INVLPGA/INVVPID). */
	{ "hcall_flush_space_self", K_HCALL, .a = 0x0002, .b = IN_GPA, .in = { 0, 2, 1 } },
	{ "hcall_flush_list_self_1", K_HCALL, .a = 0x0003 | HC_REPS(1), .b = IN_GPA,
	  .in = { 0, 2, 1 }, .fill = fill_gva },
	/* TLFS 11.8.5, 11.11: SynIC (see above). */
	{ "rdmsr_sint0", K_RDMSR, .a = MSR_SINT0, .priv = PRIV_SYNIC },
	{ "hcall_signal_event", K_HCALL_CLEAR, .a = 0x005D | HC_FAST, .b = BENCH_EVT_CONN,
	  .priv = PRIV_SIGNAL, .clear = CLR_FLAGS },
	{ "hcall_signal_event_set", K_HCALL, .a = 0x005D | HC_FAST, .b = BENCH_EVT_CONN,
	  .priv = PRIV_SIGNAL },
	{ "hcall_post_message", K_HCALL_CLEAR, .a = 0x005C, .b = IN_GPA,
	  .in = { BENCH_MSG_CONN, 1 | (16ull << 32), 0x1234 }, .priv = PRIV_POST, .clear = CLR_SLOT },
	/* The same into VP 1's slot (SINT 2 polling: no interrupt, the
	 * caller's cost of a cross-VP delivery); only with 2 processors
	 * (guest_args=remote: tests/run-bench.sh's bench-smp2 run). */
	{ "hcall_post_message_remote", K_HCALL_CLEAR, .a = 0x005C, .b = IN_GPA,
	  .in = { BENCH_RMSG_CONN, 1 | (16ull << 32), 0x1234 }, .priv = PRIV_POST | PRIV_VP_REGS,
	  .clear = CLR_RSLOT },
	/* nested=on (docs/nested.md): an L2 CPUID that L1 intercepts and
	 * handles, L2 -> L1 -> L2; skipped unless the guest sees SVM. */
	{ "nested_cpuid_l2_l1_l2", K_NESTED_CPUID, .a = 0 },
	/* The same with L1's MSR and I/O permission maps on (as KVM has
	 * them): hv.efi merges them into L2's at every VMRUN. */
	{ "nested_cpuid_l2_l1_l2_maps", K_NESTED_CPUID, .a = 1 },
	/* The same with Hyper-V's enlightenments in the VMCB (offset 0x3E0:
	 * enlightened MSR bitmap and NPT TLB, clean bit 31: the MSR map did
	 * not change), as Linux's KVM sets them (docs/nested.md). */
	{ "nested_cpuid_l2_l1_l2_maps_enl", K_NESTED_CPUID, .a = 2 },
	/* nested=on on Intel (docs/nested.md "Nested VMX"): L2's CPUID
	 * handled by L1 with a plain VMCS (VMREAD/VMWRITE of the guest RIP,
	 * VMRESUME: each an exit to hv.efi); skipped unless the guest sees VMX. */
	{ "nested_vmx_cpuid_l2_l1_l2", K_NVMX_CPUID, .a = 0 },
	/* The same L2 and L1 with the enlightened VMCS (TLFS 16.5): L2's RIP
	 * moved by a store into the eVMCS, VMRESUME without a current VMCS:
	 * two exits to hv.efi instead of four (setup_evmcs). */
	{ "nested_vmx_cpuid_l2_l1_l2_evmcs", K_NVMX_EVMCS, .a = 0 },
	/* TLFS 15.6-15.8: a VTL call into VTL 1, which returns at once (fast):
	 * two exits, two context switches (setup_vsm). */
	{ "vtl_call_return", K_VTL_CALL, .priv = PRIV_VSM },
	/* TLFS 15.9, 15.13: VTL 0 stores to a page VTL 1 made read-only: the
	 * second-level fault, the GPA intercept message to VTL 1's SINT0, the
	 * switch; VTL 1 frees the slot, moves VTL 0's RIP past the store
	 * (HvSetVpRegisters) and returns: three exits (setup_vsm). */
	{ "vtl_protected_page_intercept", K_VTL_PROT, .priv = PRIV_VSM },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static struct {
	uint64_t priv;
	uint32_t feat;
	uint32_t apic;
	int hv;                /* "Microsoft Hv" present */
	int snaps;             /* crash MSRs: exit counter snapshots */
	uint8_t *hc_page;      /* enabled and verified hypercall page, or NULL */
	uint8_t *in, *out;     /* hypercall parameter pages */
	uint8_t *tsc_page;     /* enabled reference TSC page (valid), or NULL */
	uint8_t *simp, *siefp; /* VP 0's SynIC pages, with the ports: or NULL */
	uint8_t *rsimp;        /* VP 1's SIMP with a port to it: or NULL */
	uint8_t *vtl_call;     /* the VTL call sequence, VTL 1 enabled: or NULL */
	uint8_t *prot_page;    /* read-only for VTL 0 (VTL 1's protection): or NULL */
	uint64_t base;         /* median ticks of bl_empty(ITERS) */
	uint64_t vmcb;         /* nested: L1's VMCB for L2 (nested_setup), or 0 */
	uint64_t vmcb_maps;    /* the same with L1's MSR and I/O maps on */
	uint64_t vmcb_enl;     /* the same with the enlightenments (0x3E0) */
	int nvmx;              /* nested VMX: L1's VMCS current and launched */
	uint8_t *evmcs;        /* nested VMX: the same L2 in an eVMCS, or NULL */
	uint8_t *assist;       /* its VP assist page (EnlightenVmEntry at 0x28) */
	uint64_t vmcs_pa;      /* the plain VMCS, current again after an eVMCS run */
	int64_t result[NOPS];  /* ticks x 10 per operation */
	int have[NOPS];
} g;

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

static inline uint64_t irq_off(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(f) : : "memory");
	return f;
}

static inline void irq_restore(uint64_t f)
{
	if (f & (1u << 9))
		__asm__ volatile("sti" : : : "memory");
}

/* hcall.asm's exception stubs are never installed here, so this only
 * satisfies the link; an exception goes to the firmware's handler. */
void ptrap_unexpected(uint64_t *frame)
{
	ser_printf("BENCH ABORTED: unexpected exception %lu at rip 0x%lx\n",
		   (unsigned long)frame[1], (unsigned long)frame[3]);
	payload_poweroff();
}

static void fill_apic_ids(uint8_t *in)
{
	for (unsigned int i = 0; i < 64; i++)
		*(uint32_t *)(in + 16 + 4 * i) = g.apic;
}

/* One GVA range: the input page itself, one page. */
static void fill_gva(uint8_t *in)
{
	*(uint64_t *)(in + 24) = pa(g.in);
}

/* Print ticks x 10 as "N.D". */
static void put_ticks(int64_t t10)
{
	uint64_t a = (uint64_t)(t10 < 0 ? -t10 : t10);
	ser_printf(" %s%lu.%lu", t10 < 0 ? "-" : "", (unsigned long)(a / 10),
		   (unsigned long)(a % 10));
}

/* Ask hv.efi to log its exit counters (see the top of the file). */
static void snap(const char *what, const char *op, uint64_t iters)
{
	if (!g.snaps)
		return;
	ser_printf("BENCH-SNAP: %s %s %lu\n", what, op, (unsigned long)iters);
	wrmsr(MSR_CRASH_CTL, CRASH_CTL_NOTIFY);
}

static uint64_t gpa(uint64_t v)
{
	return v == IN_GPA ? pa(g.in) : v == OUT_GPA ? pa(g.out) : v;
}

/* What the guest empties after a SynIC call: SINT 2's message slot type,
 * or the first 32 event flags of SINT 2. */
static volatile uint32_t *clear_addr(const struct op *o)
{
	return (volatile uint32_t *)(o->clear == CLR_SLOT    ? g.simp + 256 * BENCH_SINT
				     : o->clear == CLR_RSLOT ? g.rsimp + 256 * BENCH_SINT
							     : g.siefp + 256 * BENCH_SINT);
}

static uint64_t run_loop(const struct op *o, uint64_t n)
{
	switch (o->kind) {
	case K_CPUID: return bl_cpuid(n, (uint32_t)o->a);
	case K_RDMSR: return bl_rdmsr(n, (uint32_t)o->a);
	case K_WRMSR: {
		uint64_t v = o->b;
		if (v == REF_FUTURE) {
			uint32_t lo, hi;
			__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_TIME_REF_COUNT));
			v = (((uint64_t)hi << 32) | lo) + 1000000000ull;
		}
		return bl_wrmsr(n, (uint32_t)o->a, v);
	}
	case K_HCALL: return bl_hcall(n, g.hc_page, o->a, gpa(o->b), gpa(o->c));
	case K_HCALL_CLEAR: return bl_hcall_clear(n, g.hc_page, o->a, gpa(o->b), gpa(o->c), clear_addr(o));
	case K_TSC_PAGE: return bl_tsc_page(n, g.tsc_page);
	case K_VTL_CALL: return bl_hcall(n, g.vtl_call, 0, 0, 0);
	case K_VTL_PROT: {
		bench_v1_op = 2;
		uint64_t t = bl_store32(n, (volatile uint32_t *)g.prot_page, 0);
		bench_v1_op = 0;
		return t;
	}
	case K_XAPIC_STORE: {
		uint32_t lo, hi;
		__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x1bu));
		uint64_t base = (((uint64_t)hi << 32) | lo) & 0x000ffffffffff000ull;
		return bl_store32(n, (volatile uint32_t *)(uintptr_t)(base + o->a), 0);
	}
	case K_NESTED_CPUID:
		return bl_nested_cpuid(n, o->a == 2 ? g.vmcb_enl : o->a ? g.vmcb_maps : g.vmcb);
	case K_NVMX_CPUID: return bl_nvmx_cpuid(n, 0);
	case K_NVMX_EVMCS: return evmcs_cpuid(n);
	case K_CR4_PGE: return bl_cr4_pge(n);
	case K_EMPTY:
	default: return bl_empty(n);
	}
}

static uint64_t median(uint64_t *v, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++)
		for (unsigned int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/* Ticks x 10 per iteration of a round total, the empty loop subtracted. */
static int64_t per_op10(uint64_t total)
{
	return ((int64_t)total - (int64_t)g.base) * 10 / (int64_t)ITERS;
}

/* Why the op cannot run here, or NULL. Memory-based and rep hypercalls
 * get one checked call (status, reps completed). */
static const char *prepare(const struct op *o)
{
	if (o->priv && (g.priv & o->priv) != o->priv)
		return "privilege not advertised (CPUID 0x40000003)";
	if (o->kind == K_TSC_PAGE && !g.tsc_page)
		return "no valid reference TSC page";
	if (o->kind == K_VTL_CALL)
		return g.vtl_call ? NULL : "VTL 1 not set up";
	if (o->kind == K_VTL_PROT)
		return g.prot_page ? NULL : "no protected page (VTL 1 not set up)";
	if (o->kind == K_XAPIC_STORE) {
		uint32_t lo, hi;
		__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x1bu));
		if (lo & (1u << 10))
			return "the APIC is in x2APIC mode";
	}
	if (o->kind == K_NVMX_CPUID)
		return g.nvmx ? NULL : "VMX not offered to the guest (hv.cfg nested=off, or AMD)";
	if (o->kind == K_NVMX_EVMCS)
		return g.evmcs ? NULL : "no enlightened VMCS (leaf 0x40000004 bit 14 clear, or no VMX)";
	if (o->kind == K_NESTED_CPUID)
		return (o->a == 2 ? g.vmcb_enl : o->a ? g.vmcb_maps : g.vmcb) ? NULL
						      : "SVM not offered to the guest (hv.cfg nested=off)";
	if (o->kind != K_HCALL && o->kind != K_HCALL_CLEAR)
		return NULL;
	if (!g.hc_page)
		return "no hypercall page";
	if ((o->priv & PRIV_SYNIC) && !g.simp)
		return "no SynIC ports (setup failed)";
	if (o->clear == CLR_RSLOT && !g.rsimp)
		return "no second VP (one processor; tests/run-bench.sh runs it in bench-smp2)";
	for (unsigned int i = 0; i < PAGE / 8; i++)
		((uint64_t *)g.in)[i] = ((uint64_t *)g.out)[i] = 0;
	for (unsigned int i = 0; i < 3; i++)
		((uint64_t *)g.in)[i] = o->in[i];
	if (o->fill)
		o->fill(g.in);
	struct hc_regs r = { .rcx = o->a, .rdx = gpa(o->b), .r8 = gpa(o->c) };
	int vec = hc_call(&r, g.hc_page);
	unsigned int reps = (unsigned int)((o->a >> 32) & 0xFFF);
	if (vec != VEC_NONE || (r.rax & 0xFFFF) != ST_OK || ((r.rax >> 32) & 0xFFF) != reps) {
		ser_printf("BENCH-INFO: %s: checked call returned RAX 0x%lx (vector %d)\n", o->name,
			   (unsigned long)r.rax, vec);
		return "the checked call failed";
	}
	if (o->kind == K_HCALL_CLEAR)
		*clear_addr(o) = 0;
	return NULL;
}

static void run_op(unsigned int i)
{
	const struct op *o = &ops[i];
	const char *why = prepare(o);
	if (why) {
		ser_printf("BENCH-SKIP: %s %s\n", o->name, why);
		return;
	}
	uint64_t t[ROUNDS], s[ROUNDS];
	uint64_t f = irq_off();
	snap("pre", o->name, 0);
	run_loop(o, WARMUP);
	for (unsigned int r = 0; r < ROUNDS; r++)
		t[r] = run_loop(o, ITERS);
	snap("post", o->name, WARMUP + ROUNDS * ITERS);
	irq_restore(f);

	for (unsigned int r = 0; r < ROUNDS; r++)
		s[r] = t[r];
	g.result[i] = per_op10(median(s, ROUNDS));
	g.have[i] = 1;
	ser_printf("BENCH: %s", o->name);
	put_ticks(g.result[i]);
	ser_printf("\nBENCH-ROUNDS: %s", o->name);
	for (unsigned int r = 0; r < ROUNDS; r++)
		put_ticks(per_op10(t[r]));
	ser_puts("\n");
}

static int find(const char *name)
{
	for (unsigned int i = 0; i < NOPS; i++) {
		const char *a = ops[i].name, *b = name;
		while (*a && *a == *b)
			a++, b++;
		if (!*a && !*b)
			return g.have[i] ? (int)i : -1;
	}
	return -1;
}

/* guest_args=profile=<op>, profile=all or profile=none (just start and
 * power off: the footprint run of tests/run-bench.sh): 0 if absent, else
 * 1 and the ops to profile in want[]. */
static int profile_opts(EFI_HANDLE image, int want[NOPS])
{
	EFI_LOADED_IMAGE *li = NULL;
	EFI_GUID guid = LOADED_IMAGE_PROTOCOL;
	int any = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, image, &guid, (void **)&li)) ||
	    !li || !li->LoadOptions)
		return 0;
	const CHAR16 *o = li->LoadOptions;
	UINT32 n = li->LoadOptionsSize / 2;
	for (unsigned int k = 0; k <= NOPS + 1; k++) {
		for (UINT32 i = 0; i < n; i++) {
			const char *w = "profile=",
				   *name = k < NOPS ? ops[k].name : k == NOPS ? "all" : "none";
			UINT32 j = i;
			while (*w && j < n && o[j] == (CHAR16)*w)
				j++, w++;
			while (!*w && *name && j < n && o[j] == (CHAR16)*name)
				j++, name++;
			if (*w || *name || (j < n && o[j] != ' ' && o[j] != 0))
				continue;
			any = 1;
			for (unsigned int m = 0; m < NOPS; m++)
				want[m] |= k == NOPS || m == k;
		}
	}
	return any;
}

/* guest_args=remote (tests/run-bench.sh's 2-processor run): only the rows
 * that need a second VP, and the CPUID rows and HvPostMessage to self in
 * the same run to compare them with. */
static int has_remote_opt(EFI_HANDLE image)
{
	EFI_LOADED_IMAGE *li = NULL;
	EFI_GUID guid = LOADED_IMAGE_PROTOCOL;
	if (EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, image, &guid, (void **)&li)) ||
	    !li || !li->LoadOptions)
		return 0;
	const CHAR16 *o = li->LoadOptions;
	UINT32 n = li->LoadOptionsSize / 2;
	for (UINT32 i = 0; i + 6 <= n; i++)
		if ((i == 0 || o[i - 1] == ' ') && o[i] == 'r' && o[i + 1] == 'e' && o[i + 2] == 'm' &&
		    o[i + 3] == 'o' && o[i + 4] == 't' && o[i + 5] == 'e' &&
		    (i + 6 == n || o[i + 6] == ' ' || o[i + 6] == 0))
			return 1;
	return 0;
}

/*
 * Profile mode: each wanted op once, between two magic breakpoints (Bochs
 * stops there; tests/bench/profile-bochs.sh traces what runs in between),
 * in table order. What will be traced is printed first; after the last op
 * Bochs is stopped at once through its shutdown port, so the trace ends
 * there.
 */
static __attribute__((noreturn)) void profile(const int want[NOPS])
{
	int ok[NOPS];
	for (unsigned int i = 0; i < NOPS; i++) {
		const char *why = want[i] ? prepare(&ops[i]) : NULL;
		ok[i] = want[i] && !why;
		if (want[i])
			ser_printf("BENCH-PROFILE: %s %s\n", ops[i].name, why ? why : "traced");
	}
	ser_puts("BENCH-PROFILE: end\n");
	for (unsigned int i = 0; i < NOPS; i++) {
		if (!ok[i])
			continue;
		prepare(&ops[i]); /* its input again: the pages are shared */
		uint64_t f = irq_off();
		__asm__ volatile("xchg %%bx, %%bx" : : : "memory");
		run_loop(&ops[i], 1);
		__asm__ volatile("xchg %%bx, %%bx" : : : "memory");
		irq_restore(f);
	}
	for (const char *c = "Shutdown"; *c; c++)
		__asm__ volatile("outb %0, %1" : : "a"(*c), "Nd"((uint16_t)0x8900));
	payload_poweroff();
}

static void *alloc_pages(EFI_MEMORY_TYPE type, unsigned int n)
{
	EFI_PHYSICAL_ADDRESS a = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, type, n, &a)))
		return NULL;
	return (void *)(uintptr_t)a;
}

/* TLFS 3.13: guest OS ID, then the hypercall page; check its code. */
static void setup_hypercalls(void)
{
	static const uint8_t endbr64[4] = { 0xF3, 0x0F, 0x1E, 0xFA };
	uint8_t *p = alloc_pages(EfiBootServicesCode, 1);
	uint8_t *d = alloc_pages(EfiBootServicesData, 2);
	if (!(g.priv & PRIV_HC_MSRS) || !p || !d) {
		ser_printf("BENCH-INFO: no hypercalls (AccessHypercallMsrs %d, pages %d)\n",
			   !!(g.priv & PRIV_HC_MSRS), p && d);
		return;
	}
	g.in = d;
	g.out = d + PAGE;
	wrmsr(MSR_GUEST_OS_ID, OS_ID);
	wrmsr(MSR_HYPERCALL, pa(p) | HC_MSR_ENABLE);
	volatile uint8_t *c = p;
	int ok = c[4] == 0x0F && c[5] == 0x01 && (c[6] == 0xC1 || c[6] == 0xD9) && c[7] == 0xC3;
	for (unsigned int i = 0; i < 4; i++)
		ok &= c[i] == endbr64[i];
	ser_printf("BENCH-INFO: hypercall page at 0x%lx: %s (%s)\n", (unsigned long)pa(p),
		   ok ? "ok" : "unexpected contents", c[6] == 0xC1 ? "vmcall" : "vmmcall");
	if (ok)
		g.hc_page = p;
}

/* HvSetVpRegisters of one register of VP vp (TLFS 7.10.2). */
static int set_vpreg(uint32_t vp, uint32_t name, uint64_t v)
{
	uint64_t *in = (uint64_t *)g.in;
	for (unsigned int i = 0; i < 6; i++)
		in[i] = 0;
	in[0] = PARTITION_SELF;
	in[1] = vp;
	in[2] = name;
	in[4] = v;
	struct hc_regs r = { .rcx = CALL_SET_REGS | HC_REPS(1), .rdx = pa(g.in) };
	return hc_call(&r, g.hc_page) == VEC_NONE && (r.rax & 0xffff) == ST_OK;
}

/* With a second VP: its SIMP and SINT 2 (polling) through the VP
 * registers (TLFS 7.8.2: Sipp 0x000A0013, Scontrol 0x000A0010, Sint2
 * 0x000A0002), and a message port to it (HvCreatePort, HvConnectPort).
 * On one processor the register write fails (INVALID_VP_INDEX): none. */
static void setup_remote(void)
{
	uint8_t *p = alloc_pages(EfiBootServicesData, 1);
	if (!(g.priv & PRIV_VP_REGS) || !g.simp || !p)
		return;
	for (unsigned int i = 0; i < PAGE; i++)
		p[i] = 0;
	if (!set_vpreg(1, 0x000A0013u, pa(p) | 1))
		return;
	int ok = set_vpreg(1, 0x000A0010u, 1) && set_vpreg(1, 0x000A0000u + BENCH_SINT, 0x50 | (1ull << 18));
	uint64_t *in = (uint64_t *)g.in;
	for (unsigned int i = 0; i < 9; i++)
		in[i] = 0;
	in[0] = PARTITION_SELF, in[1] = 0x103, in[3] = 1, in[4] = BENCH_SINT | (1ull << 32);
	struct hc_regs r = { .rcx = 0x0095, .rdx = pa(g.in) };
	ok &= hc_call(&r, g.hc_page) == VEC_NONE && (r.rax & 0xffff) == ST_OK;
	for (unsigned int i = 0; i < 9; i++)
		in[i] = 0;
	in[0] = PARTITION_SELF, in[1] = BENCH_RMSG_CONN, in[2] = PARTITION_SELF, in[3] = 0x103, in[4] = 1;
	r = (struct hc_regs){ .rcx = 0x0096, .rdx = pa(g.in) };
	ok &= hc_call(&r, g.hc_page) == VEC_NONE && (r.rax & 0xffff) == ST_OK;
	ser_printf("BENCH-INFO: SynIC port to VP 1 (SINT %u polling): %s\n", BENCH_SINT,
		   ok ? "ok" : "failed");
	if (ok)
		g.rsimp = p;
}

/* TLFS 11: VP 0's SynIC (SIMP, SIEFP, SINT 2 polling) and two ports to
 * it with their connections (HvCreatePort 0x0095, HvConnectPort 0x0096). */
static void setup_synic(void)
{
	uint8_t *p = alloc_pages(EfiBootServicesData, 2);
	if ((g.priv & (PRIV_POST | PRIV_SIGNAL | PRIV_PORTS)) != (PRIV_POST | PRIV_SIGNAL | PRIV_PORTS) ||
	    !g.hc_page || !p)
		return;
	wrmsr(MSR_SIMP, pa(p) | 1);
	wrmsr(MSR_SIEFP, pa(p + PAGE) | 1);
	wrmsr(MSR_SCONTROL, 1);
	wrmsr(MSR_SINT0 + BENCH_SINT, 0x50 | (1ull << 18)); /* polling */
	int ok = 1;
	for (unsigned int type = 1; type <= 2; type++) {
		uint64_t *in = (uint64_t *)g.in;
		for (unsigned int i = 0; i < 9; i++)
			in[i] = 0;
		in[0] = PARTITION_SELF, in[1] = 0x100 + type, in[3] = type, in[4] = BENCH_SINT;
		in[5] = type == 2 ? 32ull << 16 : 0; /* flags 0-31 */
		struct hc_regs r = { .rcx = 0x0095, .rdx = pa(g.in) };
		ok &= hc_call(&r, g.hc_page) == VEC_NONE && (r.rax & 0xffff) == ST_OK;
		for (unsigned int i = 0; i < 9; i++)
			in[i] = 0;
		in[0] = PARTITION_SELF, in[1] = BENCH_MSG_CONN + type - 1, in[2] = PARTITION_SELF;
		in[3] = 0x100 + type, in[4] = type;
		r = (struct hc_regs){ .rcx = 0x0096, .rdx = pa(g.in) };
		ok &= hc_call(&r, g.hc_page) == VEC_NONE && (r.rax & 0xffff) == ST_OK;
	}
	ser_printf("BENCH-INFO: SynIC ports to VP 0 (SINT %u polling): %s\n", BENCH_SINT,
		   ok ? "ok" : "failed");
	if (ok)
		g.simp = p, g.siefp = p + PAGE;
	setup_remote();
}

#define VW64(v, o) (*(volatile uint64_t *)((v) + (o)))
#define VW32(v, o) (*(volatile uint32_t *)((v) + (o)))

/* nested=on on Intel (docs/nested.md "Nested VMX"): the guest sees VMX.
 * CR4.VMXE, VMXON, a VMCS (SDM appendix B encodings) whose L2, 32-bit
 * protected mode without paging (unrestricted guest), runs bl_l2_code at
 * L2 GPA 0x1000 on L1's EPT (four levels mapping that page) with a VPID;
 * no bitmaps other than all-clear ones, CPUID exits unconditionally. One
 * VMLAUNCH and round trip checked, then the rows VMRESUME. */
/* The plain VMCS's fields as setup_nested_vmx writes them (setup_evmcs
 * copies them into the eVMCS). */
#define BW_MAX 80
static uint64_t bw_enc[BW_MAX], bw_val[BW_MAX];
static int bw_n;

static int bvmwrite(uint64_t f, uint64_t v)
{
	uint8_t bad;
	__asm__ volatile("vmwrite %2, %1; setbe %0" : "=qm"(bad) : "r"(f), "rm"(v) : "cc", "memory");
	if (bw_n < BW_MAX) { /* the same fields into the eVMCS later */
		bw_enc[bw_n] = f;
		bw_val[bw_n++] = v;
	}
	return bad;
}
static uint64_t bvmread(uint64_t f)
{
	uint64_t v = 0;
	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"(f) : "cc");
	return v;
}
static void setup_nested_vmx(void)
{
	if (cpuid(0, 0).ebx != 0x756e6547u || !((cpuid(1, 0).ecx >> 5) & 1))
		return;
	uint8_t *pg = alloc_pages(EfiBootServicesData, 16);
	if (!pg)
		return;
	for (unsigned int i = 0; i < 16 * PAGE; i++)
		pg[i] = 0;
	uint8_t *vmxon = pg, *vmcs = pg + PAGE, *pml4 = pg + 2 * PAGE, *code = pg + 6 * PAGE;
	uint8_t *bm = pg + 7 * PAGE; /* I/O A, B, MSR: all clear */
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x480u));
	*(volatile uint32_t *)vmxon = lo & 0x7fffffffu;
	*(volatile uint32_t *)vmcs = lo & 0x7fffffffu;
	uint64_t caps[4];
	for (int i = 0; i < 4; i++) { /* TRUE pin, proc, exit, entry */
		__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x48du + (uint32_t)i));
		caps[i] = lo;
	}
	for (const char *s = bl_l2_code; s < bl_l2_code_end; s++)
		code[s - bl_l2_code] = (uint8_t)*s;
	for (int l = 0; l < 3; l++)
		VW64(pml4 + l * PAGE, 0) = pa(pml4 + (l + 1) * PAGE) | 7;
	VW64(pml4 + 3 * PAGE, 8) = pa(code) | 0x37;
	uint64_t cr4;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1ull << 13)));
	uint64_t f = irq_off();
	uint64_t vp = pa(vmxon), cp = pa(vmcs);
	uint8_t bad;
	__asm__ volatile("vmxon %1; setbe %0" : "=qm"(bad) : "m"(vp) : "cc", "memory");
	if (!bad)
		__asm__ volatile("vmclear %1; setbe %0" : "=qm"(bad) : "m"(cp) : "cc", "memory");
	if (!bad)
		__asm__ volatile("vmptrld %1; setbe %0" : "=qm"(bad) : "m"(cp) : "cc", "memory");
	if (bad) {
		irq_restore(f);
		ser_printf("BENCH-INFO: nested VMX: VMXON/VMCLEAR/VMPTRLD failed\n");
		return;
	}
	struct __attribute__((packed)) { uint16_t l; uint64_t b; } gd, id;
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gd), "=m"(id));
	uint16_t s[7];
	__asm__ volatile("mov %%es, %0" : "=r"(s[0]));
	__asm__ volatile("mov %%cs, %0" : "=r"(s[1]));
	__asm__ volatile("mov %%ss, %0" : "=r"(s[2]));
	__asm__ volatile("mov %%ds, %0" : "=r"(s[3]));
	__asm__ volatile("mov %%fs, %0" : "=r"(s[4]));
	__asm__ volatile("mov %%gs, %0" : "=r"(s[5]));
	__asm__ volatile("str %0" : "=r"(s[6]));
	uint64_t cr0, cr3;
	__asm__ volatile("mov %%cr0, %0; mov %%cr3, %1; mov %%cr4, %2" : "=r"(cr0), "=r"(cr3), "=r"(cr4));
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xC0000080u));
	uint64_t efer = ((uint64_t)hi << 32) | lo;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x277u));
	uint64_t pat = ((uint64_t)hi << 32) | lo;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xC0000100u));
	uint64_t fsb = ((uint64_t)hi << 32) | lo;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xC0000101u));
	uint64_t gsb = ((uint64_t)hi << 32) | lo;
	static const uint32_t ar[8] = { 0xc093, 0xc09b, 0xc093, 0xc093, 0x10000, 0x10000, 0x10000, 0x8b };
	int err = 0;
	err |= bvmwrite(0x4000, caps[0]);
	err |= bvmwrite(0x4002, caps[1] | (1u << 25) | (1u << 28) | (1u << 31)); /* bitmaps, secondary */
	err |= bvmwrite(0x401e, (1u << 1) | (1u << 5) | (1u << 7));               /* EPT, VPID, UG */
	err |= bvmwrite(0x400c, caps[2] | (1u << 9) | (0xfu << 18));              /* 64-bit host, PAT, EFER */
	err |= bvmwrite(0x4012, caps[3] | (3u << 14));                            /* load PAT, EFER */
	err |= bvmwrite(0x2000, pa(bm));
	err |= bvmwrite(0x2002, pa(bm + PAGE));
	err |= bvmwrite(0x2004, pa(bm + 2 * PAGE));
	err |= bvmwrite(0x201a, pa(pml4) | 0x1e);
	err |= bvmwrite(0x0000, 1);
	for (int i = 0; i < 6; i++)
		err |= bvmwrite(0x0c00 + 2 * (uint64_t)i, s[i] & ~7u);
	err |= bvmwrite(0x0c0c, s[6] ? s[6] : 0x40);
	err |= bvmwrite(0x6c00, cr0);
	err |= bvmwrite(0x6c02, cr3);
	err |= bvmwrite(0x6c04, cr4);
	err |= bvmwrite(0x6c06, fsb);
	err |= bvmwrite(0x6c08, gsb);
	err |= bvmwrite(0x6c0c, gd.b);
	err |= bvmwrite(0x6c0e, id.b);
	err |= bvmwrite(0x2c00, pat);
	err |= bvmwrite(0x2c02, efer);
	for (int i = 0; i < 8; i++) {
		err |= bvmwrite(0x0800 + 2 * (uint64_t)i, i == 1 ? 0x08 : i < 4 ? 0x10 : 0);
		err |= bvmwrite(0x4800 + 2 * (uint64_t)i, i == 7 ? 0x67 : 0xffffffffu);
		err |= bvmwrite(0x4814 + 2 * (uint64_t)i, ar[i]);
	}
	err |= bvmwrite(0x6800, 0x31);
	err |= bvmwrite(0x6804, 1ull << 13);
	err |= bvmwrite(0x681a, 0x400);
	err |= bvmwrite(0x681c, 0x2000);
	err |= bvmwrite(0x681e, 0x1000);
	err |= bvmwrite(0x6820, 2);
	err |= bvmwrite(0x2804, 0x0007040600070406ull);
	err |= bvmwrite(0x2800, ~0ull);
	uint64_t t = err ? ~0ull : bl_nvmx_cpuid(1, 1);
	uint32_t reason = (uint32_t)bvmread(0x4402);
	irq_restore(f);
	int ok = t != ~0ull && reason == 10;
	ser_printf("BENCH-INFO: nested VMX: L2 CPUID round trip %s (exit reason 0x%x)\n",
		   ok ? "ok" : "FAILED", reason);
	g.nvmx = ok;
	if (ok)
		setup_evmcs(pg + 10 * PAGE, pg + 11 * PAGE, cp);
}

/* Where a VMCS field of setup_nested_vmx lives in eVMCS v1 (TLFS
 * 16.11.2 offsets), and its width; -1: not one of them. */
static int ev_off(uint64_t enc, unsigned int *w)
{
	static const struct { uint16_t enc, off; uint8_t w; } t[] = {
		{ 0x4000, 0x05c, 4 }, { 0x4002, 0x314, 4 }, { 0x401e, 0x064, 4 }, { 0x400c, 0x060, 4 },
		{ 0x4012, 0x31c, 4 }, { 0x2000, 0x068, 8 }, { 0x2002, 0x070, 8 }, { 0x2004, 0x078, 8 },
		{ 0x201a, 0x270, 8 }, { 0x0000, 0x278, 2 }, { 0x6c00, 0x028, 8 }, { 0x6c02, 0x030, 8 },
		{ 0x6c04, 0x038, 8 }, { 0x6c06, 0x240, 8 }, { 0x6c08, 0x248, 8 }, { 0x6c0c, 0x258, 8 },
		{ 0x6c0e, 0x260, 8 }, { 0x2c00, 0x018, 8 }, { 0x2c02, 0x020, 8 }, { 0x6800, 0x220, 8 },
		{ 0x6804, 0x230, 8 }, { 0x681a, 0x238, 8 }, { 0x681c, 0x300, 8 }, { 0x681e, 0x330, 8 },
		{ 0x6820, 0x308, 8 }, { 0x2804, 0x1b0, 8 }, { 0x2800, 0x1a0, 8 },
	};
	if (enc >= 0x0c00 && enc <= 0x0c0c) { /* host selectors */
		*w = 2;
		return (int)(0x08 + (enc - 0x0c00));
	}
	if (enc >= 0x0800 && enc <= 0x080e) { /* guest selectors */
		*w = 2;
		return (int)(0x80 + (enc - 0x0800));
	}
	if (enc >= 0x4800 && enc <= 0x4812) { /* guest limits */
		*w = 4;
		return (int)(0x90 + 2 * (enc - 0x4800));
	}
	if (enc >= 0x4814 && enc <= 0x4822) { /* guest access rights */
		*w = 4;
		return (int)(0xb8 + 2 * (enc - 0x4814));
	}
	for (unsigned int i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].enc == enc) {
			*w = t[i].w;
			return t[i].off;
		}
	return -1;
}

/* nested=on on Intel with the eVMCS recommended (leaf 0x40000004 bit 14,
 * docs/nested.md "Enlightened VMCS"): the plain VMCS's L2 in an eVMCS
 * (version 1, the same field values), named by the VP assist page. One
 * checked round trip; then the plain VMCS is made current again (an
 * enlightened entry leaves none current), and evmcs_cpuid switches
 * EnlightenVmEntry on and off around each run. */
static void setup_evmcs(uint8_t *ev, uint8_t *assist, uint64_t vmcs_pa)
{
	if (!((cpuid(0x40000004u, 0).eax >> 14) & 1))
		return;
	for (unsigned int i = 0; i < PAGE; i++)
		ev[i] = 0;
	*(volatile uint32_t *)ev = 1; /* VersionNumber (TLFS 16.5.1) */
	/* The enlightened MSR bitmap (0x4000000A bit 19), as Linux's KVM
	 * turns it on (hv_enlightenments_control.msr_bitmap). */
	if ((cpuid(0x4000000Au, 0).eax >> 19) & 1)
		*(volatile uint32_t *)(ev + 0x344) = 1u << 1;
	for (int i = 0; i < bw_n; i++) {
		unsigned int w;
		int off = ev_off(bw_enc[i], &w);
		if (off < 0) {
			ser_printf("BENCH-INFO: eVMCS: no offset for field 0x%lx\n", (unsigned long)bw_enc[i]);
			return;
		}
		for (unsigned int b = 0; b < w; b++)
			ev[off + b] = (uint8_t)(bw_val[i] >> (8 * b));
	}
	wrmsr(0x40000073u, pa(assist) | 1); /* HV_X64_MSR_VP_ASSIST_PAGE */
	*(volatile uint64_t *)(assist + 0x30) = pa(ev);
	g.evmcs = ev;
	g.assist = assist;
	g.vmcs_pa = vmcs_pa;
	uint64_t f = irq_off();
	uint64_t t = evmcs_cpuid(1);
	uint32_t reason = *(volatile uint32_t *)(ev + 0x2b4);
	irq_restore(f);
	int ok = t != ~0ull && reason == 10;
	ser_printf("BENCH-INFO: nested VMX: L2 CPUID round trip with the eVMCS %s (exit reason 0x%x)\n",
		   ok ? "ok" : "FAILED", reason);
	if (!ok)
		g.evmcs = NULL;
}

static uint64_t evmcs_cpuid(uint64_t n)
{
	*(volatile uint8_t *)(g.assist + 0x28) = 1; /* EnlightenVmEntry */
	uint64_t t = bl_evmcs_cpuid(n, g.evmcs);
	*(volatile uint8_t *)(g.assist + 0x28) = 0;
	uint64_t cp = g.vmcs_pa;
	__asm__ volatile("vmptrld %0" : : "m"(cp) : "cc", "memory");
	return t;
}

/* nested=on (docs/nested.md): the guest sees SVM. Turn EFER.SVME on and
 * build a VMCB (APM appendix B offsets) whose L2, 32-bit protected mode
 * without paging, runs bl_l2_code at L2 GPA 0x1000 on four levels of
 * nested page tables mapping that page; CPUID intercepted. One checked
 * round trip, then TLB_CONTROL 0 (a flush every VMRUN would rebuild the
 * shadow tables each time). */
static void setup_nested(void)
{
	if (cpuid(0, 0).ebx != 0x68747541u || !((cpuid(0x80000001u, 0).ecx >> 2) & 1))
		return;
	uint8_t *pg = alloc_pages(EfiBootServicesData, 16);
	if (!pg)
		return;
	for (unsigned int i = 0; i < 16 * PAGE; i++)
		pg[i] = 0;
	uint8_t *v = pg, *pml4 = pg + 2 * PAGE, *code = pg + 6 * PAGE;
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xC0000080u));
	wrmsr(0xC0000080u, (((uint64_t)hi << 32) | lo) | (1ull << 12));
	wrmsr(0xC0010117u, pa(pg + PAGE));
	for (const char *s = bl_l2_code; s < bl_l2_code_end; s++)
		code[s - bl_l2_code] = (uint8_t)*s;
	for (int l = 0; l < 3; l++)
		VW64(pml4 + l * PAGE, 0) = pa(pml4 + (l + 1) * PAGE) | 7;
	VW64(pml4 + 3 * PAGE, 8) = pa(code) | 7;
	VW32(v, 0x00c) = 1u << 18;      /* CPUID */
	VW32(v, 0x010) = 1u;            /* VMRUN */
	VW32(v, 0x058) = 1;             /* ASID */
	v[0x05c] = 1;                   /* TLB_CONTROL: flush once */
	VW64(v, 0x090) = 1;             /* nested paging */
	VW64(v, 0x0b0) = pa(pml4);
	static const uint16_t sel[4] = { 0x10, 0x08, 0x10, 0x10 }; /* ES CS SS DS */
	for (int i = 0; i < 4; i++) {
		*(volatile uint16_t *)(v + 0x400 + 16 * i) = sel[i];
		*(volatile uint16_t *)(v + 0x402 + 16 * i) = i == 1 ? 0xc9b : 0xc93;
		VW32(v, 0x404 + 16 * i) = 0xffffffffu;
	}
	VW64(v, 0x4d0) = 1ull << 12;    /* EFER.SVME */
	VW64(v, 0x558) = 0x11;          /* CR0: PE, ET */
	VW64(v, 0x568) = 0xffff0ff0;
	VW64(v, 0x560) = 0x400;
	VW64(v, 0x570) = 2;
	VW64(v, 0x578) = 0x1000;
	VW64(v, 0x5d8) = 0x2000;
	VW64(v, 0x668) = 0x0007040600070406ull;
	uint64_t f = irq_off();
	bl_nested_cpuid(1, pa(v));
	irq_restore(f);
	uint32_t code_exit = (uint32_t)VW64(v, 0x070);
	v[0x05c] = 0;
	ser_printf("BENCH-INFO: nested: L2 CPUID round trip %s (exit code 0x%x)\n",
		   code_exit == 0x72 ? "ok" : "FAILED", code_exit);
	if (code_exit != 0x72)
		return;
	g.vmcb = pa(v);
	/* Pages 8-9 the MSR map, 10-12 the I/O map (all zeros: nothing of
	 * L2's is intercepted by them), page 7 the second VMCB. */
	uint8_t *v2 = pg + 7 * PAGE;
	for (unsigned int i = 0; i < PAGE; i++)
		v2[i] = v[i];
	VW32(v2, 0x00c) |= (1u << 27) | (1u << 28); /* IOIO_PROT, MSR_PROT */
	VW64(v2, 0x040) = pa(pg + 10 * PAGE);
	VW64(v2, 0x048) = pa(pg + 8 * PAGE);
	g.vmcb_maps = pa(v2);
	/* Page 13: with the enlightenments, when offered (leaf 0x4000000A
	 * bits 19 and 22). */
	if ((cpuid(0x4000000Au, 0).eax & ((1u << 19) | (1u << 22))) != ((1u << 19) | (1u << 22)))
		return;
	uint8_t *v3 = pg + 13 * PAGE;
	for (unsigned int i = 0; i < PAGE; i++)
		v3[i] = v2[i];
	VW32(v3, 0x3e0) = (1u << 1) | (1u << 2); /* msr_bitmap, enlightened_npt_tlb */
	VW32(v3, 0x0c0) = 1u << 31;               /* clean: the Hyper-V area and MSR map */
	g.vmcb_enl = pa(v3);
}

/* TLFS 15.4, 15.8: VTL 1 on VP 0 at bench_v1_entry (this processor's
 * mode: segments from HvGetVpRegisters), its own hypercall page; one
 * checked VTL call (VTL 1's first entry sets its MSRs, then returns). */
static void setup_vsm(void)
{
	static const uint32_t segs[8] = { 0x60001, 0x60003, 0x60000, 0x60004, 0x60005, 0x60002,
					  0x60007, 0x60006 }; /* Cs Ds Es Fs Gs Ss Tr Ldtr */
	uint8_t *v1 = alloc_pages(EfiBootServicesCode, 1), *stack = alloc_pages(EfiBootServicesData, 2);
	if (!(g.priv & PRIV_VSM) || !g.hc_page || !v1 || !stack)
		return;
	uint64_t *in = (uint64_t *)g.in, *out = (uint64_t *)g.out;
	struct hc_regs r;
	int ok = 1;
	/* HvRegisterVsmCodePageOffsets, the segments. */
	in[0] = PARTITION_SELF, in[1] = 0xFFFFFFFEu;
	*(uint32_t *)(g.in + 16) = 0x000D0002u;
	for (unsigned int i = 0; i < 8; i++)
		*(uint32_t *)(g.in + 20 + 4 * i) = segs[i];
	r = (struct hc_regs){ .rcx = CALL_GET_REGS | HC_REPS(9), .rdx = pa(g.in), .r8 = pa(g.out) };
	ok &= hc_call(&r, g.hc_page) == VEC_NONE && (r.rax & 0xffff) == ST_OK;
	uint64_t offs = out[0];
	uint64_t ctx[28] = { (uint64_t)(uintptr_t)bench_v1_entry, pa(stack) + 2 * PAGE - 8, 2 };
	for (unsigned int i = 0; i < 8; i++)
		ctx[3 + 2 * i] = out[2 + 2 * i], ctx[4 + 2 * i] = out[3 + 2 * i];
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } gdt, idt;
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdt), "=m"(idt));
	uint32_t lo, hi;
	ctx[19] = (uint64_t)idt.limit << 48, ctx[20] = idt.base;
	ctx[21] = (uint64_t)gdt.limit << 48, ctx[22] = gdt.base;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xC0000080u));
	ctx[23] = (((uint64_t)hi << 32) | lo) & ~(1ull << 12);
	__asm__ volatile("mov %%cr0, %0" : "=r"(ctx[24]));
	__asm__ volatile("mov %%cr3, %0" : "=r"(ctx[25]));
	__asm__ volatile("mov %%cr4, %0" : "=r"(ctx[26]));
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x277u));
	ctx[27] = ((uint64_t)hi << 32) | lo;
	/* HvEnablePartitionVtl, HvEnableVpVtl (VTL 1). */
	in[0] = PARTITION_SELF, in[1] = 1;
	r = (struct hc_regs){ .rcx = CALL_ENABLE_PARTITION_VTL, .rdx = pa(g.in) };
	ok &= hc_call(&r, g.hc_page) == VEC_NONE && (r.rax & 0xffff) == ST_OK;
	in[0] = PARTITION_SELF, in[1] = 0xFFFFFFFEu | (1ull << 32);
	for (unsigned int i = 0; i < 28; i++)
		in[2 + i] = ctx[i];
	r = (struct hc_regs){ .rcx = CALL_ENABLE_VP_VTL, .rdx = pa(g.in) };
	ok &= hc_call(&r, g.hc_page) == VEC_NONE && (r.rax & 0xffff) == ST_OK;
	uint8_t *v1io = alloc_pages(EfiBootServicesData, 3); /* inputs, SIMP, the protected page */
	if (!v1io)
		return;
	bench_v1_msrs[0] = OS_ID;
	bench_v1_msrs[1] = pa(v1) | HC_MSR_ENABLE;
	bench_v1_msrs[2] = pa(v1io + PAGE) | 1;
	bench_v1_ret = pa(v1) + ((offs >> 12) & 0xfff);
	uint8_t *call_seq = g.hc_page + (offs & 0xfff);
	if (ok) { /* the first VTL call: back with the fast return's RAX = 1 */
		r = (struct hc_regs){ .rcx = 0 };
		ok = hc_call(&r, call_seq) == VEC_NONE && r.rax == 1 && r.rcx == 0x12;
	}
	ser_printf("BENCH-INFO: VTL 1 on VP 0 (call at 0x%lx, return at 0x%lx): %s\n",
		   (unsigned long)(offs & 0xfff), (unsigned long)((offs >> 12) & 0xfff), ok ? "ok" : "failed");
	if (!ok)
		return;
	g.vtl_call = call_seq;
	/* The protected page (TLFS 15.5.1, 15.15.2): VTL 1 enables VTL
	 * protections and makes v1io + 2 pages read-only for VTL 0. Inputs:
	 * HvSetVpRegisters of HvRegisterVsmPartitionConfig (Enable, default
	 * mask RWX), HvModifyVtlProtectionMask (Readable, VTL 0), and the
	 * per-intercept HvSetVpRegisters of VTL 0's RIP past the store. */
	uint8_t *prot = v1io + 2 * PAGE;
	uint64_t *c = (uint64_t *)v1io, *m = (uint64_t *)(v1io + 256), *k = (uint64_t *)(v1io + 512);
	c[0] = PARTITION_SELF, c[1] = 0xFFFFFFFEu, c[2] = 0x000D0007u, c[3] = 0, c[4] = 1 | (0xfull << 1), c[5] = 0;
	m[0] = PARTITION_SELF, m[1] = 1 | (0x10ull << 32), m[2] = pa(prot) >> 12;
	k[0] = PARTITION_SELF, k[1] = 0xFFFFFFFEu | (0x10ull << 32), k[2] = 0x00020010u, k[3] = 0;
	k[4] = pa(bl_store32_insn) + 3, k[5] = 0;
	bench_v1_hc[0] = pa(v1);
	bench_v1_hc[1] = pa(c), bench_v1_hc[2] = pa(m), bench_v1_hc[3] = pa(k);
	bench_v1_hc[6] = pa(v1io + PAGE);
	*(volatile uint32_t *)prot = 7;
	bench_v1_op = 1;
	r = (struct hc_regs){ .rcx = 0 };
	ok = hc_call(&r, call_seq) == VEC_NONE && bench_v1_op == 0 && (bench_v1_hc[4] & 0xffff) == 0 &&
	     (bench_v1_hc[5] & 0xffff) == 0;
	/* One intercept, checked: the store did not happen. */
	if (ok) {
		bench_v1_op = 2;
		bl_store32(1, (volatile uint32_t *)prot, 9);
		bench_v1_op = 0;
		ok = *(volatile uint32_t *)prot == 7;
	}
	ser_printf("BENCH-INFO: protected page for VTL 0 at 0x%lx (config 0x%lx, protect 0x%lx): %s\n",
		   (unsigned long)pa(prot), (unsigned long)bench_v1_hc[4], (unsigned long)bench_v1_hc[5],
		   ok ? "ok" : "failed");
	if (ok)
		g.prot_page = prot;
}

/* TLFS 12.7: enable the reference TSC page; usable if TscSequence != 0. */
static void setup_tsc_page(void)
{
	uint8_t *p = alloc_pages(EfiBootServicesData, 1);
	if (!(g.priv & PRIV_REF_TSC) || !p)
		return;
	wrmsr(MSR_REFERENCE_TSC, pa(p) | 1);
	uint32_t seq = *(volatile uint32_t *)p;
	ser_printf("BENCH-INFO: reference TSC page at 0x%lx sequence %u scale 0x%lx\n",
		   (unsigned long)pa(p), seq, (unsigned long)*(volatile uint64_t *)(p + 8));
	if (seq)
		g.tsc_page = p;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	InitializeLib(image, systab);
	ser_puts("\r\nBENCH START\n");

	struct cpuid_regs v0 = cpuid(0, 0), hv = cpuid(0x40000000u, 0);
	char vendor[13];
	*(uint32_t *)vendor = v0.ebx;
	*(uint32_t *)(vendor + 4) = v0.edx;
	*(uint32_t *)(vendor + 8) = v0.ecx;
	vendor[12] = 0;
	g.hv = hv.ebx == 0x7263694D && hv.ecx == 0x666F736F && hv.edx == 0x76482074 &&
	       hv.eax >= 0x40000005u;
	if (g.hv) {
		struct cpuid_regs f = cpuid(0x40000003u, 0);
		g.priv = ((uint64_t)f.ebx << 32) | f.eax;
		g.feat = f.edx;
	}
	g.snaps = g.hv && (g.feat & FEAT_CRASH_MSRS);
	g.apic = cpuid(1, 0).ebx >> 24;
	if (v0.eax >= 0xB && cpuid(0xB, 0).ebx != 0)
		g.apic = cpuid(0xB, 0).edx;
	ser_printf("BENCH-INFO: cpu %s, hypervisor %s, privileges 0x%lx, features 0x%x, apic id %u\n",
		   vendor, g.hv ? "Microsoft Hv" : "none", (unsigned long)g.priv, g.feat, g.apic);
	ser_printf("BENCH-INFO: warm-up %u, %u rounds of %u, median round; exit snapshots %s\n",
		   WARMUP, ROUNDS, ITERS, g.snaps ? "on (crash MSRs)" : "off (no crash MSRs)");
	if (g.hv) {
		setup_hypercalls();
		setup_tsc_page();
		setup_synic();
		/* stimer0 as Linux sets it up: direct mode, AutoEnable. */
		if (g.priv & PRIV_STIMER)
			wrmsr(MSR_STIMER0_CONFIG, (1ull << 12) | (0xEEull << 4) | 8);
		setup_nested();
		setup_vsm();
		/* After VTL 1 is set up from VTL 0's state: L1 stays in VMX
		 * operation (CR4.VMXE, the TR a VM exit loads). */
		setup_nested_vmx();
	}
	int want[NOPS] = { 0 };
	if (profile_opts(image, want))
		profile(want);
	int remote_only = has_remote_opt(image);

	uint64_t f = irq_off();
	snap("boot", "-", 0);
	uint64_t b[ROUNDS];
	bl_empty(WARMUP);
	for (unsigned int r = 0; r < ROUNDS; r++)
		b[r] = bl_empty(ITERS);
	irq_restore(f);
	g.base = median(b, ROUNDS);
	ser_printf("BENCH-INFO: loop overhead %lu ticks per %u iterations (subtracted)\n",
		   (unsigned long)g.base, ITERS);

	for (unsigned int i = 0; i < NOPS; i++)
		if (!remote_only || ops[i].clear == CLR_RSLOT || ops[i].clear == CLR_SLOT ||
		    ops[i].kind == K_CPUID)
			run_op(i);
	if (remote_only) { /* bench-smp2: the rows that need a second VP, with
			    * the CPUID rows and the post to self to compare */
		ser_puts("BENCH DONE\n");
		payload_poweroff();
	}
	if (g.priv & PRIV_STIMER) { /* nothing armed is left behind */
		wrmsr(MSR_STIMER0_COUNT, 0);
		wrmsr(MSR_STIMER0_CONFIG, 0);
	}

	/* The null exit: the cheaper of an unknown CPUID leaf and an empty
	 * fast hypercall. A rep element: (64 reps - 1 rep) / 63. */
	int c = find("cpuid_unknown"), h = find("hcall_fast");
	int n = c < 0 ? h : h < 0 ? c : g.result[h] < g.result[c] ? h : c;
	if (n >= 0) {
		ser_printf("BENCH: null_exit");
		put_ticks(g.result[n]);
		ser_printf("\nBENCH-INFO: null_exit is %s\n", ops[n].name);
	}
	int r1 = find("hcall_rep_1"), r64 = find("hcall_rep_64");
	if (r1 >= 0 && r64 >= 0) {
		ser_printf("BENCH: hcall_rep_per_elem");
		put_ticks((g.result[r64] - g.result[r1]) / 63);
		ser_puts("\n");
	}

	f = irq_off();
	snap("end", "-", 0);
	irq_restore(f);
	ser_puts("BENCH DONE\n");
	payload_poweroff();
}
