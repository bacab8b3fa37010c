/*
 * checks_realmode.c - a hypercall in real mode raises #UD (TLFS 3.5: "hypercalls
 * are not allowed in real mode", even though its effective CPL is 0).
 *
 * realmode.asm leaves long mode for real mode (compatibility mode, paging
 * off, 16-bit protected mode, CR0.PE = 0) from a page below 1 MiB, runs one
 * instruction under a real-mode IVT whose vectors 0-31 record the exception
 * and comes back the same way (firmware CR3, EFER.LME, CR0.PG), restoring
 * GDT, IDT, segments and FS/GS base; interrupts stay disabled throughout.
 * Self tests of the round trip (a NOP and UD2) run with or without a
 * hypervisor; the hypercall check needs the enabled hypercall page
 * (checks_hypercall.c): the vendor instruction at page+4 (VMMCALL on AMD,
 * VMCALL on Intel) is executed with the registers of a valid 32-bit
 * HvExtCallQueryCapabilities and must raise #UD at its own IP, leaving its
 * output (prefilled non-zero; the call would write 0) untouched.
 */
#include "hcall.h"
#include "px86.h"

extern char rm_blob[] HIDDEN, rm_blob_end[] HIDDEN, rm_insn[] HIDDEN;
int rm_run(uint8_t *base) HIDDEN;

struct __attribute__((packed)) dtr_rm {
	uint16_t limit;
	uint64_t base;
};

/* At B + 0x800; offsets as in realmode.asm. */
struct __attribute__((packed)) rm_data {
	uint64_t gdt[8];                  /* 0x00 */
	struct dtr_rm gdtr;               /* 0x40 */
	uint8_t pad0[6];
	struct dtr_rm rm_idtr;            /* 0x50 */
	uint8_t pad1[6];
	struct dtr_rm fw_gdtr;            /* 0x60 */
	uint8_t pad2[6];
	struct dtr_rm fw_idtr;            /* 0x70 */
	uint8_t pad3[6];
	uint64_t cr0, cr3, cr4, efer;     /* 0x80 */
	uint64_t fs_base, gs_base, rsp;   /* 0xA0 */
	uint16_t sel[6];                  /* 0xB8 */
	uint8_t pad4[4];
	uint16_t ptr_rm[2];               /* 0xC8 */
	uint8_t ptr_pm32[6];              /* 0xCC */
	uint8_t pad5[6];
	uint8_t ptr_64[6];                /* 0xD8 */
	uint8_t pad6[2];
	uint16_t res_vec, res_ip, res_cs, res_flags; /* 0xE0 */
	uint32_t out_eax, out_edx;        /* 0xE8 */
	uint8_t pad7[0x10];
	uint32_t ivt[32];                 /* 0x100 */
	uint32_t in[6];                   /* 0x180: EAX EBX ECX EDX ESI EDI */
};
_Static_assert(offsetof(struct rm_data, gdtr) == 0x40, "realmode.asm layout");
_Static_assert(offsetof(struct rm_data, rm_idtr) == 0x50, "realmode.asm layout");
_Static_assert(offsetof(struct rm_data, fw_gdtr) == 0x60, "realmode.asm layout");
_Static_assert(offsetof(struct rm_data, fw_idtr) == 0x70, "realmode.asm layout");
_Static_assert(offsetof(struct rm_data, cr0) == 0x80, "realmode.asm layout");
_Static_assert(offsetof(struct rm_data, fs_base) == 0xA0, "realmode.asm layout");
_Static_assert(offsetof(struct rm_data, sel) == 0xB8, "realmode.asm layout");
_Static_assert(offsetof(struct rm_data, ptr_rm) == 0xC8, "realmode.asm layout");
_Static_assert(offsetof(struct rm_data, ptr_pm32) == 0xCC, "realmode.asm layout");
_Static_assert(offsetof(struct rm_data, ptr_64) == 0xD8, "realmode.asm layout");
_Static_assert(offsetof(struct rm_data, res_vec) == 0xE0, "realmode.asm layout");
_Static_assert(offsetof(struct rm_data, out_eax) == 0xE8, "realmode.asm layout");
_Static_assert(offsetof(struct rm_data, ivt) == 0x100, "realmode.asm layout");
_Static_assert(offsetof(struct rm_data, in) == 0x180, "realmode.asm layout");

#define RM_DATA 0x800u
#define RM_OUT 0xF80u /* output GPA should the call run */
#define RM_NONE 0xFFFFu
#define CR4_PCIDE (1ull << 17)
#define CR4_CET (1ull << 23)

static uint8_t *g_rm; /* the page below 1 MiB */

static uint64_t seg_desc(uint32_t base, uint64_t flags_access)
{
	/* limit 15:0 = 0xFFFF; flags_access: access byte << 40 | flags << 52 */
	return 0xFFFFull | ((uint64_t)(base & 0xFFFFFF) << 16) | flags_access |
	       ((uint64_t)(base >> 24) << 56);
}

struct rm_state {
	uint64_t cr0, cr3, cr4, efer, fs_base, gs_base;
	struct dtr_rm gdtr, idtr;
	uint16_t cs, ds, es, ss, fs, gs;
};

static uint64_t rdmsr64(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static void rm_snapshot(struct rm_state *s)
{
	s->cr0 = read_cr0();
	s->cr3 = read_cr3();
	s->cr4 = read_cr4();
	s->efer = rdmsr64(0xC0000080u);
	s->fs_base = rdmsr64(0xC0000100u);
	s->gs_base = rdmsr64(0xC0000101u);
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(s->gdtr), "=m"(s->idtr));
	__asm__ volatile("mov %%cs, %0; mov %%ds, %1; mov %%es, %2" : "=r"(s->cs), "=r"(s->ds), "=r"(s->es));
	__asm__ volatile("mov %%ss, %0; mov %%fs, %1; mov %%gs, %2" : "=r"(s->ss), "=r"(s->fs), "=r"(s->gs));
}

static int rm_same(const struct rm_state *a, const struct rm_state *b)
{
	return a->cr0 == b->cr0 && a->cr3 == b->cr3 && a->cr4 == b->cr4 && a->efer == b->efer &&
	       a->fs_base == b->fs_base && a->gs_base == b->gs_base &&
	       a->gdtr.limit == b->gdtr.limit && a->gdtr.base == b->gdtr.base &&
	       a->idtr.limit == b->idtr.limit && a->idtr.base == b->idtr.base && a->cs == b->cs &&
	       a->ds == b->ds && a->es == b->es && a->ss == b->ss && a->fs == b->fs && a->gs == b->gs;
}

/*
 * One round trip executing the three bytes insn in real mode with the
 * given EAX EBX ECX EDX ESI EDI. Returns the data area (results).
 */
static struct rm_data *rm_once(const uint8_t insn[3], const uint32_t in[6], int *state_ok)
{
	uint8_t *b = g_rm;
	struct rm_data *d = (struct rm_data *)(b + RM_DATA);
	uint32_t base = (uint32_t)pa(b);
	unsigned int n = (unsigned int)(rm_blob_end - rm_blob);
	struct rm_state before, after;
	uint64_t flags;

	for (unsigned int i = 0; i < PAGE; i++)
		b[i] = i < n ? (uint8_t)rm_blob[i] : 0xCC; /* INT3 fill */
	for (unsigned int i = RM_DATA; i < PAGE; i++)
		b[i] = 0;
	for (unsigned int i = 0; i < 3; i++)
		b[rm_insn - rm_blob + i] = insn[i];
	d->gdt[1] = seg_desc(0, 0x00CF9Aull << 40);    /* 0x08: 32-bit code, flat */
	d->gdt[2] = seg_desc(0, 0x00CF92ull << 40);    /* 0x10: 32-bit data, flat */
	d->gdt[3] = seg_desc(base, 0x00009Aull << 40); /* 0x18: 16-bit code, base B */
	d->gdt[4] = seg_desc(base, 0x000092ull << 40); /* 0x20: 16-bit data, base B */
	d->gdt[5] = seg_desc(0, 0x00AF9Aull << 40);    /* 0x28: 64-bit code */
	d->gdtr = (struct dtr_rm){ 6 * 8 - 1, pa(d->gdt) };
	d->rm_idtr = (struct dtr_rm){ 0x3FF, 0 };
	for (unsigned int i = 0; i < 6; i++)
		d->in[i] = in[i];
	*(uint64_t *)(b + RM_OUT) = PREFILL;

	flags = irq_save();
	rm_snapshot(&before);
	rm_run(b);
	rm_snapshot(&after);
	irq_restore(flags);
	*state_ok = rm_same(&before, &after);
	if (!*state_ok)
		ser_printf("  info: after real mode: CR0 0x%lx/0x%lx CR3 0x%lx/0x%lx CR4 0x%lx/0x%lx "
			   "EFER 0x%lx/0x%lx CS 0x%x/0x%x\n",
			   (unsigned long)after.cr0, (unsigned long)before.cr0,
			   (unsigned long)after.cr3, (unsigned long)before.cr3,
			   (unsigned long)after.cr4, (unsigned long)before.cr4,
			   (unsigned long)after.efer, (unsigned long)before.efer, after.cs, before.cs);
	return d;
}

static int rm_setup(void)
{
	EFI_PHYSICAL_ADDRESS a = 0xFFFFF;
	uint64_t cr3 = read_cr3(), cr4 = read_cr4(), efer;

	efer = rdmsr64(0xC0000080u);
	if (!check("rm.setup.cpu_state", cr3 < 0x100000000ull && !(cr4 & (CR4_PCIDE | CR4_CET)) &&
		   (efer & (1u << 10)) && (uint64_t)(rm_blob_end - rm_blob) <= RM_DATA,
		   "CR3 0x%lx (must be below 4 GiB), CR4 0x%lx (PCIDE and CET must be clear), "
		   "EFER 0x%lx (LMA), blob %lu bytes: real mode round trip skipped",
		   (unsigned long)cr3, (unsigned long)cr4, (unsigned long)efer,
		   (unsigned long)(rm_blob_end - rm_blob)))
		return 0;
	EFI_STATUS st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateMaxAddress,
					  EfiBootServicesCode, 1, &a);
	if (!check("rm.setup.low_page", !EFI_ERROR(st) && a && a + PAGE <= 0x100000,
		   "AllocatePages below 1 MiB: status 0x%lx address 0x%lx", (unsigned long)st,
		   (unsigned long)a))
		return 0;
	g_rm = (uint8_t *)(uintptr_t)a;
	ser_printf("  info: real mode page 0x%lx\n", (unsigned long)a);
	return 1;
}

static void rm_check(const char *name, const struct rm_data *d, int state_ok, unsigned int vec,
		     unsigned int ip)
{
	unsigned int seg = (unsigned int)(pa(g_rm) >> 4);
	int ok = state_ok && d->res_vec == vec && (vec == RM_NONE || (d->res_ip == ip && d->res_cs == seg));
	check(name, ok, "state restored %d; vector 0x%x at %x:%x (0xffff: none; EAX 0x%x EDX 0x%x), "
	      "expected vector 0x%x at %x:%x", state_ok, d->res_vec, d->res_cs, d->res_ip,
	      d->out_eax, d->out_edx, vec, seg, ip);
}

void checks_realmode(void)
{
	static const uint8_t nop3[3] = { 0x90, 0x90, 0x90 };
	static const uint8_t ud2[3] = { 0x0F, 0x0B, 0x90 };
	unsigned int ip = (unsigned int)(rm_insn - rm_blob);
	uint32_t in[6] = { 0x12345678u, 0, 0, 0, 0, 0 };
	struct rm_data *d;
	int state_ok;

	if (!rm_setup())
		return;

	/* Self tests: no exception (EAX comes back), then #UD from UD2. */
	d = rm_once(nop3, in, &state_ok);
	rm_check("rm.selftest.roundtrip", d, state_ok, RM_NONE, 0);
	check("rm.selftest.roundtrip.eax", d->res_vec == RM_NONE && d->out_eax == 0x12345678u,
	      "EAX after the NOPs 0x%x expected 0x12345678", d->out_eax);
	d = rm_once(ud2, in, &state_ok);
	rm_check("rm.selftest.ud2", d, state_ok, VEC_UD, ip);

	/* TLFS 3.5: the page's instruction in real mode, with the registers
	 * of a valid HvExtCallQueryCapabilities (the x86 mapping: EDX:EAX
	 * input value, EDI:ESI output GPA) should the hypervisor take it for a
	 * call; its 0 would overwrite the non-zero prefill at RM_OUT. */
	if (!g_hc.page_ok) {
		check("rm.hypercall_ud", 0, "skipped: the hypercall page is not in place");
		goto out;
	}
	uint64_t v = 0;
	if (trap_rdmsr(MSR_HYPERCALL, &v) != VEC_NONE || !(v & HC_MSR_ENABLE) ||
	    page_diff(g_hc.p) >= 0) {
		check("rm.hypercall_ud", 0, "skipped: hypercall MSR 0x%lx, page not in place",
		      (unsigned long)v);
		goto out;
	}
	uint32_t call[6] = { CALL_EXT_QUERY_CAPS, 0, 0, 0, (uint32_t)pa(g_rm + RM_OUT), 0 };
	d = rm_once(g_hc.insn, call, &state_ok);
	rm_check("rm.hypercall_ud", d, state_ok, VEC_UD, ip);
	check("rm.hypercall_ud.no_output", *(uint64_t *)(g_rm + RM_OUT) == PREFILL,
	      "the output GPA 0x%lx reads 0x%lx, expected 0x%lx untouched",
	      (unsigned long)pa(g_rm + RM_OUT), (unsigned long)*(uint64_t *)(g_rm + RM_OUT),
	      (unsigned long)PREFILL);
out:
	uefi_call_wrapper(BS->FreePages, 2, pa(g_rm), 1);
}
