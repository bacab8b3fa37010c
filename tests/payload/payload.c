/*
 * payload.c - entry point of the guest test payload, the exception-catching
 * windows around the ptrap.asm probes, and the virtualization-instruction
 * checks.
 *
 * Output protocol (COM1, one line per check):
 *   PAYLOAD START
 *   PASS: <check-name> | FAIL: <check-name>: <detail>
 *   PAYLOAD DONE: N passed, M failed
 * then power off. An exception nobody expected prints
 *   FAIL: payload.unexpected_exception: ...
 *   PAYLOAD ABORTED
 * and powers off as well, so a broken run never hangs silently.
 */
#include "payload.h"
#include "px86.h"

#define HIDDEN __attribute__((visibility("hidden")))

/* ptrap.asm */
extern char ptrap_stubs[] HIDDEN; /* 32 stubs, 16 bytes apart */
int ptrap_rdmsr(uint32_t msr, uint64_t *val) HIDDEN;
int ptrap_wrmsr(uint32_t msr, uint64_t val) HIDDEN;
int ptrap_read64(uint64_t addr, uint64_t *val) HIDDEN;
int ptrap_insb(uint16_t port, void *buf, uint64_t count) HIDDEN;
int ptrap_write64(uint64_t addr, uint64_t val) HIDDEN;
int ptrap_write32(uint64_t addr, uint32_t val) HIDDEN;
int ptrap_call(uint64_t fn, uint64_t a, uint64_t b) HIDDEN;
int ptrap_ud2(void) HIDDEN;
uint64_t ptrap_errcode(void) HIDDEN;
int ptrap_vmrun(void *page) HIDDEN;
int ptrap_vmmcall(void *page) HIDDEN;
int ptrap_vmload(void *page) HIDDEN;
int ptrap_vmsave(void *page) HIDDEN;
int ptrap_stgi(void *page) HIDDEN;
int ptrap_clgi(void *page) HIDDEN;
int ptrap_skinit(void *page) HIDDEN;
int ptrap_invlpga(void *page) HIDDEN;
int ptrap_vmcall(void *page) HIDDEN;
int ptrap_vmxon(void *page) HIDDEN;
int ptrap_vmxoff(void *page) HIDDEN;
int ptrap_vmclear(void *page) HIDDEN;
int ptrap_vmptrld(void *page) HIDDEN;
int ptrap_vmptrst(void *page) HIDDEN;
int ptrap_vmread(void *page) HIDDEN;
int ptrap_vmwrite(void *page) HIDDEN;
int ptrap_vmlaunch(void *page) HIDDEN;
int ptrap_vmresume(void *page) HIDDEN;
int ptrap_invept(void *page) HIDDEN;
int ptrap_invvpid(void *page) HIDDEN;
int ptrap_write_cr4(uint64_t val) HIDDEN;
void ptrap_unexpected(uint64_t *frame);

/* ---- the exception-catching window --------------------------------------- */
static struct idt_gate g_idt[256] __attribute__((aligned(16)));
static struct idtr g_fw_idtr;
static struct idtr g_our_idtr;
static volatile int g_in_window;

/*
 * Load an IDT that is the firmware's with vectors 0-31 replaced by the
 * given stubs (32, 16 bytes apart; same code selector), interrupts
 * disabled. The firmware IDT is copied each time so interrupts >= 32 keep
 * their firmware handlers.
 */
uint64_t trap_window_enter(const char *stubs)
{
	uint64_t flags = irq_save();
	uint8_t vec[32];
	void (*isr[32])(void);

	__asm__ volatile("sidt %0" : "=m"(g_fw_idtr));
	for (unsigned int v = 0; v < 32; v++) {
		vec[v] = (uint8_t)v;
		isr[v] = (void (*)(void))(uintptr_t)(stubs + 16 * v);
	}
	g_our_idtr = idt_clone(g_idt, 32, vec, isr);
	g_in_window = 1;
	__asm__ volatile("lidt %0" : : "m"(g_our_idtr) : "memory");
	return flags;
}

void trap_window_leave(uint64_t flags)
{
	__asm__ volatile("lidt %0" : : "m"(g_fw_idtr) : "memory");
	g_in_window = 0;
	irq_restore(flags);
}

static uint64_t window_enter(void)
{
	return trap_window_enter(ptrap_stubs);
}

static void window_leave(uint64_t flags)
{
	trap_window_leave(flags);
}

int trap_rdmsr(uint32_t msr, uint64_t *val)
{
	uint64_t f = window_enter();
	int v = ptrap_rdmsr(msr, val);
	window_leave(f);
	return v;
}

int trap_wrmsr(uint32_t msr, uint64_t val)
{
	uint64_t f = window_enter();
	int v = ptrap_wrmsr(msr, val);
	window_leave(f);
	return v;
}

int trap_read64(uint64_t addr, uint64_t *val)
{
	uint64_t f = window_enter();
	int v = ptrap_read64(addr, val);
	window_leave(f);
	return v;
}

int trap_insb(uint16_t port, void *buf, uint64_t count)
{
	uint64_t f = window_enter();
	int v = ptrap_insb(port, buf, count);
	window_leave(f);
	return v;
}

int trap_write64(uint64_t addr, uint64_t val)
{
	uint64_t f = window_enter();
	int v = ptrap_write64(addr, val);
	window_leave(f);
	return v;
}

int trap_write32(uint64_t addr, uint32_t val)
{
	uint64_t f = window_enter();
	int v = ptrap_write32(addr, val);
	window_leave(f);
	return v;
}

int trap_call(uint64_t fn, uint64_t a, uint64_t b)
{
	uint64_t f = window_enter();
	int v = ptrap_call(fn, a, b);
	window_leave(f);
	return v;
}

int trap_ud2(void)
{
	uint64_t f = window_enter();
	int v = ptrap_ud2();
	window_leave(f);
	return v;
}

int trap_insn(enum virt_insn insn, void *page)
{
	int (*fn)(void *);

	switch (insn) {
	case INSN_VMRUN: fn = ptrap_vmrun; break;
	case INSN_VMMCALL: fn = ptrap_vmmcall; break;
	case INSN_VMLOAD: fn = ptrap_vmload; break;
	case INSN_VMSAVE: fn = ptrap_vmsave; break;
	case INSN_STGI: fn = ptrap_stgi; break;
	case INSN_CLGI: fn = ptrap_clgi; break;
	case INSN_SKINIT: fn = ptrap_skinit; break;
	case INSN_INVLPGA: fn = ptrap_invlpga; break;
	case INSN_VMCALL: fn = ptrap_vmcall; break;
	case INSN_VMXON: fn = ptrap_vmxon; break;
	case INSN_VMXOFF: fn = ptrap_vmxoff; break;
	case INSN_VMCLEAR: fn = ptrap_vmclear; break;
	case INSN_VMPTRLD: fn = ptrap_vmptrld; break;
	case INSN_VMPTRST: fn = ptrap_vmptrst; break;
	case INSN_VMREAD: fn = ptrap_vmread; break;
	case INSN_VMWRITE: fn = ptrap_vmwrite; break;
	case INSN_VMLAUNCH: fn = ptrap_vmlaunch; break;
	case INSN_VMRESUME: fn = ptrap_vmresume; break;
	case INSN_INVEPT: fn = ptrap_invept; break;
	case INSN_INVVPID: fn = ptrap_invvpid; break;
	default: return -2;
	}
	uint64_t f = window_enter();
	int v = fn(page);
	window_leave(f);
	return v;
}

int trap_write_cr4(uint64_t val)
{
	uint64_t f = window_enter();
	int v = ptrap_write_cr4(val);
	window_leave(f);
	return v;
}

uint64_t trap_last_errcode(void)
{
	return ptrap_errcode();
}

/*
 * Called by ptrap.asm for an exception with no recovery point armed
 * (frame: saved rax, vector, error code, RIP, CS, RFLAGS, RSP, SS).
 * Report it and power off; never returns.
 */
void ptrap_unexpected(uint64_t *frame)
{
	if (g_in_window)
		__asm__ volatile("lidt %0" : : "m"(g_fw_idtr) : "memory");
	ser_printf("\nFAIL: payload.unexpected_exception: %s (vector 0x%lx) error 0x%lx "
		   "at rip 0x%lx rsp 0x%lx\n",
		   vec_name((int)frame[1]), (unsigned long)frame[1],
		   (unsigned long)frame[2], (unsigned long)frame[3],
		   (unsigned long)frame[6]);
	ser_printf("PAYLOAD ABORTED: %u passed, %u failed before the exception\n",
		   g_passed, g_failed + 1);
	payload_poweroff();
}

/* ---- self test of the trap machinery ------------------------------------- */
static void checks_trap_selftest(void)
{
	volatile uint64_t cell = 0x1122334455667788ull;
	uint64_t val = 0;
	int vec;

	/* #UD: a vector without an error code. */
	check_vec("trap.selftest.ud2", trap_ud2(), VEC_UD);

	/* #GP(0) from a non-canonical address: a vector with an error code. */
	vec = trap_read64(0x8000000000000000ull, &val);
	check("trap.selftest.gp", vec == VEC_GP && trap_last_errcode() == 0,
	      "non-canonical read: got %s (vector 0x%x, error 0x%lx) expected #GP(0)",
	      vec_name(vec), (unsigned int)vec, (unsigned long)trap_last_errcode());

	/* No exception: the probe completes and returns -1. */
	vec = trap_read64((uint64_t)(uintptr_t)&cell, &val);
	check("trap.selftest.none", vec == VEC_NONE && val == 0x1122334455667788ull,
	      "plain read: got %s (vector 0x%x) value 0x%lx", vec_name(vec),
	      (unsigned int)vec, (unsigned long)val);
}

/*
 * The guest sees no SVM or VMX (AMD APM vol. 2 15.4, 15.5: with EFER.SVME
 * clear the SVM instructions raise #UD; Intel SDM: VMCALL outside VMX
 * operation raises #UD). The hypervisor must reflect #UD instead of acting
 * on them (no hypercall interface is advertised yet, TLFS 3.13).
 * Order: a probe that wrongly succeeds does the least harm (VMSAVE before
 * VMLOAD, CLGI before STGI, VMRUN last).
 */
static void checks_virt_insns(void *page, int svme_clear)
{
	static const struct {
		enum virt_insn insn;
		const char *name;
	} probes[] = {
		{ INSN_VMMCALL, "insn.vmmcall.ud" },
		{ INSN_VMCALL, "insn.vmcall.ud" },
		{ INSN_VMSAVE, "insn.vmsave.ud" },
		{ INSN_VMLOAD, "insn.vmload.ud" },
		{ INSN_CLGI, "insn.clgi.ud" },
		{ INSN_STGI, "insn.stgi.ud" },
		{ INSN_INVLPGA, "insn.invlpga.ud" },
		{ INSN_SKINIT, "insn.skinit.ud" },
		{ INSN_VMRUN, "insn.vmrun.ud" },
	};

	for (unsigned int i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		if (!svme_clear) {
			check(probes[i].name, 0,
			      "skipped: EFER.SVME still reads set, probing could run SVM for real");
			continue;
		}
		check_vec(probes[i].name, trap_insn(probes[i].insn, page), VEC_UD);
	}
}

/* Does the load options string (UCS-2, from hv.cfg guest_args=) hold
 * `word`? */
static int has_option(EFI_HANDLE image, const char *word)
{
	EFI_LOADED_IMAGE *li = NULL;
	EFI_GUID guid = LOADED_IMAGE_PROTOCOL;
	if (EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, image, &guid, (void **)&li)) ||
	    !li || !li->LoadOptions)
		return 0;
	const CHAR16 *o = li->LoadOptions;
	UINT32 n = li->LoadOptionsSize / 2;
	for (UINT32 i = 0; i < n; i++) {
		UINT32 j = 0;
		while (word[j] && i + j < n && o[i + j] == (CHAR16)word[j])
			j++;
		if (!word[j])
			return 1;
	}
	return 0;
}

/* guest_args=test=reset: HV_X64_MSR_RESET (appendix C) resets the
 * system. The harness sees the hypervisor's log line and QEMU ending
 * (-no-reboot); PAYLOAD DONE must not appear. */
static void reset_test(void)
{
	ser_puts("PAYLOAD RESET TEST\n");
	check_vec("reset.reserved_gp", trap_wrmsr(0x40000003u, 2), VEC_GP);
	uint64_t v = 1;
	check_vec("reset.read", trap_rdmsr(0x40000003u, &v), VEC_NONE);
	check_eq("reset.read_zero", v, 0);
	trap_wrmsr(0x40000003u, 1);
	for (volatile int i = 0; i < 100000000; i++)
		;
	check("reset.happened", 0, "still running after writing HV_X64_MSR_RESET");
	ser_printf("PAYLOAD RESET FAILED: %u passed, %u failed\n", g_passed, g_failed);
	payload_poweroff();
}

int g_nested_on;

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_PHYSICAL_ADDRESS page_pa = 0;
	EFI_STATUS st;
	int svme_clear = 1;

	InitializeLib(image, systab);
	ser_puts("\r\nPAYLOAD START\n");
	if (has_option(image, "test=reset"))
		reset_test();
	g_nested_on = has_option(image, "nested=on");

	checks_trap_selftest();
	checks_cpuid();
	checks_mp();
	checks_msr();
	if (cpu_vendor() == VENDOR_AMD)
		svme_clear = checks_svm_msrs();

	/* A 4 KiB-aligned scratch page for RAX of the SVM instructions. */
	st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData,
			       1, &page_pa);
	if (EFI_ERROR(st)) {
		check("insn.scratch_page", 0, "AllocatePages failed: 0x%lx",
		      (unsigned long)st);
	} else {
		uint8_t *p = (uint8_t *)(uintptr_t)page_pa;
		for (unsigned int i = 0; i < 4096; i++)
			p[i] = 0;
		checks_virt_insns(p, svme_clear);
		if (cpu_vendor() == VENDOR_INTEL && !g_nested_on)
			checks_vmx(p); /* VMX hidden; with nested=on: checks_nested_vmx */
		uefi_call_wrapper(BS->FreePages, 2, page_pa, 1);
	}

	checks_nested_svm(g_nested_on); /* issue 16: after the #UD probes */
	checks_nested_vmx(g_nested_on); /* issue 18 */
	checks_cr();        /* CR0.NE, CR4.VMXE: issue 14 defect 3 */
	checks_mem();
	checks_time();
	checks_io();        /* string I/O on an intercepted port: no park */
	checks_apic();
	checks_apic_store(); /* issue 14: every store form on the xAPIC page */
	checks_overlay();   /* before the lock; leaves the hypercall MSRs at 0 */
	checks_hypercall(); /* it locks the hypercall MSR (TLFS 3.13) */
	checks_nested_enl(g_nested_on); /* issue 16 item 4: needs the hypercall page */
	checks_nested_evmcs(g_nested_on); /* issue 18 item 4: needs the hypercall page */
	checks_mode32();    /* needs the (locked, still enabled) hypercall page */
	checks_realmode();
	checks_vpregs();    /* TLFS 7.10.1-7.10.3; INITs VP 1, before the AP workers */
	checks_translate(); /* TLFS 9.4.6; needs the enabled hypercall page */
	checks_tlb();       /* TLFS 9.4 flushes; uses the APs (MP services) */
	checks_ipi();       /* TLFS 10.5.2-10.5.3 */
	checks_synic();     /* TLFS 11; uses the APs (MP services) */
	checks_stimer();    /* TLFS 12.5; the hypercall page for the VP registers */
	checks_stimer_msg(); /* TLFS 12.1.3 message mode; uses the APs */
	checks_vsm();       /* TLFS 15: enables VTL 1 on every VP (stays on) */
	checks_overlay_lock(); /* last: on a faulty hypervisor it may turn the page off */

	ser_printf("PAYLOAD DONE: %u passed, %u failed\n", g_passed, g_failed);
	payload_poweroff();
}
