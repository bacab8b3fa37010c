/*
 * gfz_ops.c - the guest fuzzer's operations: seeded random hypercalls
 * (TLFS 3: every call code, random control bits, rep counts and start
 * indexes, variable header sizes, reserved bits, fast and XMM fast forms,
 * parameter GPAs biased to page edges and to the places a hypervisor must
 * guard), synthetic MSR reads and writes (appendix C windows
 * 0x40000000-0x400001FF and 0x40001000-0x400010FF), overlays moved around
 * (TLFS 5.2.1: hypercall page 3.13, VP assist page 7.8.7, reference TSC
 * page 12.7) and memory probes of the APIC page, hypervisor memory and
 * MMIO.
 *
 * What the fuzzer never does, because it would legitimately end or wreck
 * the guest it runs in (docs/reliability.md): write HV_X64_MSR_RESET, set
 * CrashNotify in HV_X64_MSR_CRASH_CTL, read HV_X64_MSR_GUEST_IDLE with
 * interrupts off (it would wait forever, as HLT would), send itself INIT,
 * SIPI or SMI, point an overlay at its own code, data, stack or canary, or
 * set an architectural register that its own execution depends on (GPRs,
 * RIP, RFLAGS, CR0/3/4, segments, descriptor tables, EFER, DR7, PAT)
 * through HvSetVpRegisters, or switch to an address space other than its
 * own (HvSwitchVirtualAddressSpace with a valid CR3 of other tables). Everything else is fair game.
 *
 * The table at the end is the list of operations: a SynIC, timer or VSM
 * operation is one more row (and, if it can wreck the guest, one more
 * rule in the sanitizers here).
 */
#include "gfuzz.h"

/* ---- random values and GPAs -------------------------------------------- */
uint64_t rnd_value(void)
{
	switch (rnd_below(8)) {
	case 0: return 0;
	case 1: return ~0ull;
	case 2: return rnd_below(16);
	case 3: return 1ull << rnd_below(64);
	case 4: return (1ull << rnd_below(64)) - 1;
	case 5: return rnd() & 0xFFFFFFFFull;
	default: return rnd();
	}
}

uint64_t rnd_overlay_gpa(void)
{
	if (chance(50))
		return pa(g_fz.ovl[rnd_below(N_OVL)]);
	return g_fz.special[rnd_below(g_fz.n_special)];
}

/* A parameter GPA (TLFS 3.7: 8-byte aligned, not crossing a page): mostly
 * our own page at a biased offset, else one of the special places. An
 * output never goes to random RAM, nor to a scratch overlay page other
 * than the last (the final check wants the others untouched). */
uint64_t rnd_param_gpa(int output, uint64_t page)
{
	unsigned int r = (unsigned int)rnd_below(100);
	if (r < 55) {
		switch (rnd_below(6)) {
		case 0: case 1: case 2: return page;
		case 3: return page + 8 * rnd_below(512);
		case 4: return page + PAGE - 8 * (1 + rnd_below(4));
		default: return page + rnd_below(PAGE);
		}
	}
	if (r < 92 || output) {
		uint64_t g = output && chance(30) ? pa(g_fz.ovl[N_OVL - 1])
						  : g_fz.special[rnd_below(g_fz.n_special)];
		if (output && g >= pa(g_fz.ovl[0]) && g < pa(g_fz.ovl[N_OVL - 1]))
			g = APIC_GPA; /* only ovl[N_OVL-1] takes outputs */
		return chance(25) ? g + rnd_below(PAGE) : g;
	}
	return rnd_below(g_fz.ram_top) & ~7ull; /* input only: reading is harmless */
}

/* ---- sanitizers: what must not reach the hypervisor as is --------------- */
static uint64_t overlay_value(uint64_t val)
{
	uint64_t g = rnd_overlay_gpa();
	if (chance(5)) /* an address beyond the physical-address width */
		g |= 1ull << (g_fz.pa_bits + rnd_below(64 - g_fz.pa_bits));
	return g | (val & 0xFFF);
}

uint64_t fz_sanitize_msr(uint32_t msr, uint64_t val, int *skip)
{
	*skip = 0;
	switch (msr) {
	case MSR_RESET: /* resets the machine (TLFS appendix C) */
		*skip = 1;
		return 0;
	case MSR_CRASH_CTL: /* CrashNotify ends the run (TLFS 4.3) */
		return val & ~(1ull << 63);
	case MSR_HYPERCALL: {
		uint64_t v = overlay_value(val);
		/* TLFS 3.13: the lock is one-way; only the last part of a run
		 * (after fz_lock) writes it. */
		return g_fz.locked ? v : v & ~HC_MSR_LOCKED;
	}
	case MSR_VP_ASSIST:
	case MSR_REF_TSC:
	case MSR_SIEFP:
	case MSR_SIMP:
		return overlay_value(val);
	case MSR_ICR: {
		/* Fixed (or, rarely, NMI) to self only (TLFS 10.5.3, SDM 10.6.1):
		 * INIT, SIPI or SMI would reset or stop the guest's processor. */
		uint64_t mode = chance(5) ? 4ull << 8 : 0;
		return (val & 0xFF) | mode | (1ull << 18) | (val & (3ull << 14));
	}
	default:
		return val;
	}
}

/* Register names (TLFS 7.8.2) for HvGetVpRegisters/HvSetVpRegisters. */
static const uint32_t reg_names[] = {
	0x00020000, 0x00020004, 0x0002000f, 0x00020010, 0x00020011, 0x00040000, 0x00040001,
	0x00040002, 0x00040003, 0x00040004, 0x00050005, 0x00060000, 0x00060001, 0x00060007,
	0x00070000, 0x00070001, 0x00080001, 0x00080002, 0x00080003, 0x00080004, 0x00080005,
	0x00080009, 0x0008000b, 0x00000100, 0x00000200, 0x00000203, 0x00000210, 0x00000215,
	0x00000240, 0x00000241, 0x00090000, 0x00090001, 0x00090002, 0x00090003, 0x00090004,
	0x00090013, 0x00090017, 0x000A0000, 0x000A0010, 0x000A0011, 0x000A0012, 0x000B0000,
	0x000D0000,
};
#define N_REG_NAMES (sizeof(reg_names) / sizeof(reg_names[0]))

/* Architectural registers a Set may change without hurting the fuzzer:
 * CR2, CR8 (the TPR; interrupts stay off), KernelGsBase, ApicBase
 * (read-only), the SYSENTER/SYSCALL MSRs (never used here), the CPUID
 * leaves (read-only). */
static int set_harmless(uint32_t name)
{
	return name == 0x00040001 || name == 0x00040004 || name == 0x00080002 ||
	       name == 0x00080003 || (name >= 0x00080005 && name <= 0x0008000b) ||
	       name < 0x00020000;
}

static uint32_t rnd_reg_name(void)
{
	return chance(85) ? reg_names[rnd_below(N_REG_NAMES)] : (uint32_t)rnd_value();
}

/* One HvSetVpRegisters element (name, 12 reserved bytes, 16-byte value)
 * made safe: an architectural register the fuzzer lives on becomes
 * VpIndex (read-only: INVALID_PARAMETER); overlay registers and the
 * SynIC/VSM ranges (where later overlays will be) get a safe GPA; the
 * crash control loses CrashNotify. */
static void sanitize_set_elem(uint8_t *e)
{
	uint32_t *name = (uint32_t *)e;
	uint64_t *val = (uint64_t *)(e + 16);
	int skip;
	if (*name >= 0x00020000 && *name < 0x00090000 && !set_harmless(*name))
		*name = REG_VP_INDEX;
	switch (*name) {
	case 0x00090001: val[0] = fz_sanitize_msr(MSR_HYPERCALL, val[0], &skip); break;
	case 0x00090013: val[0] = overlay_value(val[0]); break;
	case 0x00090017: val[0] = overlay_value(val[0]); break;
	case 0x00000215: val[0] &= ~(1ull << 63); break;
	default:
		if (*name >= 0x000A0000 && *name < 0x000E0000)
			val[0] = overlay_value(val[0]);
		break;
	}
}

/* ---- hypercalls --------------------------------------------------------- */
/* What the fuzzer knows of an implemented call: rep or not, whether it
 * takes a variable header, header and element sizes (for the fast-input
 * register check), and a function that biases the random input block
 * towards valid-looking values so the calls get past their first checks. */
struct hc_kind {
	uint16_t code;
	uint8_t rep, varhdr;
	uint16_t in_hdr, in_elem;
	void (*bias)(uint8_t *in, uint32_t reps, uint32_t *varhdr);
};

static uint64_t rnd_partition(void)
{
	return chance(80) ? PARTITION_SELF : rnd_value();
}

static uint32_t rnd_vp(void)
{
	switch (rnd_below(5)) {
	case 0: case 1: return VP_SELF;
	case 2: return 0;
	case 3: return (uint32_t)rnd_below(4);
	default: return (uint32_t)rnd_value();
	}
}

/* HV_VP_SET (TLFS 7.8.6): format, valid bank mask, banks; the variable
 * header counts the bank words. */
static void bias_vpset(uint64_t *w, uint32_t *varhdr)
{
	w[0] = chance(70) ? 0 : chance(70) ? 1 : rnd_value();
	w[1] = chance(60) ? 1 : chance(50) ? 0 : rnd_value();
	unsigned int banks = 0;
	for (uint64_t m = w[1]; m; m &= m - 1) /* no libgcc: count by hand */
		banks++;
	for (unsigned int i = 0; i < banks && i < 8; i++)
		w[2 + i] = chance(60) ? 1 : rnd_value();
	if (chance(70))
		*varhdr = banks;
}

/* HvSwitchVirtualAddressSpace (TLFS 9.4.1) loads CR3: the fuzzer's own
 * (low bits varied), or one the hypervisor must refuse (bits beyond the
 * physical-address width). Applied after the random bias, like the Set
 * sanitizer. */
static void sanitize_switch(uint8_t *in)
{
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	uint64_t *w = (uint64_t *)in;
	if (chance(60))
		w[0] = cr3 | (chance(50) ? 0 : rnd_below(4096) & ~0x18ull);
	else
		w[0] = cr3 | (1ull << (g_fz.pa_bits + rnd_below(64 - g_fz.pa_bits)));
}

static void bias_flush(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = chance(50) ? 0 : rnd_value();         /* address space */
	w[1] = chance(70) ? rnd_below(8) : rnd_value(); /* flags */
	w[2] = chance(60) ? 1 : rnd_value();          /* processor mask */
}

static void bias_flush_ex(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = chance(50) ? 0 : rnd_value();
	w[1] = chance(70) ? rnd_below(8) : rnd_value();
	bias_vpset(w + 2, varhdr);
}

static void bias_ipi(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = chance(70) ? 0x20 + rnd_below(0xE0) : rnd_value(); /* vector */
	w[1] = chance(60) ? 1 : rnd_value();
}

static void bias_ipi_ex(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = chance(70) ? 0x20 + rnd_below(0xE0) : rnd_value();
	bias_vpset(w + 1, varhdr);
}

static void bias_vp_regs(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = rnd_partition();
	w[1] = chance(85) ? rnd_vp() : rnd_value(); /* VP index, VTL, padding */
}

static void bias_get_regs(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	bias_vp_regs(in, reps, varhdr);
	for (uint32_t i = 0; i < reps && 16 + 4 * i < PAGE; i++)
		((uint32_t *)(in + 16))[i] = rnd_reg_name();
}

static void bias_set_regs(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	bias_vp_regs(in, reps, varhdr);
	for (uint32_t i = 0; i < reps && 16 + 32 * i < PAGE; i++) {
		uint8_t *e = in + 16 + 32 * i;
		*(uint32_t *)e = rnd_reg_name();
		*(uint64_t *)(e + 16) = rnd_value();
		*(uint64_t *)(e + 24) = chance(80) ? 0 : rnd_value();
	}
}

static void bias_translate(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = rnd_partition();
	w[1] = chance(85) ? rnd_vp() : rnd_value();
	w[2] = chance(70) ? rnd_below(64) : rnd_value();                 /* flags */
	w[3] = chance(50) ? (uint64_t)(uintptr_t)g_fz.in >> 12 : rnd_value(); /* GVA page */
}

static void bias_start_vp(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	bias_vp_regs(in, reps, varhdr);
}

static void bias_apic_ids(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = rnd_partition();
	w[1] = chance(80) ? 0 : rnd_value(); /* VTL */
	for (uint32_t i = 0; i < reps && 16 + 4 * i < PAGE; i++)
		((uint32_t *)(in + 16))[i] = chance(70) ? (uint32_t)rnd_below(4) : (uint32_t)rnd_value();
}

/* SynIC ports and connections (TLFS 11.10): small IDs so that creates,
 * connects, posts and signals meet; PortInfo mostly well-formed. */
static uint64_t rnd_id(void)
{
	return chance(85) ? 1 + rnd_below(6) : rnd_value();
}

static void bias_create_port(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = rnd_partition();
	w[1] = chance(85) ? rnd_id() : rnd_value();  /* PortId, VTLs, RsvdZ */
	w[2] = chance(60) ? 0 : rnd_partition();       /* ConnectionPartition */
	w[3] = chance(85) ? 1 + rnd_below(2) : rnd_value(); /* PortType, RsvdZ */
	w[4] = chance(85) ? rnd_below(16) | (uint64_t)rnd_below(3) << 32 : rnd_value(); /* SINT, VP */
	w[5] = chance(50) ? 0 : chance(70) ? rnd_below(64) | rnd_below(64) << 16 : rnd_value();
}

static void bias_connect_port(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = rnd_partition();
	w[1] = chance(85) ? rnd_id() : rnd_value();  /* ConnectionId */
	w[2] = rnd_partition();                         /* PortPartition */
	w[3] = chance(85) ? rnd_id() : rnd_value();   /* PortId */
	w[4] = chance(85) ? 1 + rnd_below(2) : rnd_value();
	for (unsigned int i = 5; i < 8; i++)
		w[i] = chance(85) ? 0 : rnd_value();
}

static void bias_delete(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = rnd_partition();
	w[1] = chance(85) ? rnd_id() : rnd_value();
}

static void bias_post(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = chance(85) ? rnd_id() : rnd_value();     /* ConnectionId, padding */
	w[1] = (chance(80) ? 1 + rnd_below(8) : rnd_value() & 0xFFFFFFFF) /* MessageType */
	       | (uint64_t)(chance(80) ? rnd_below(241) : rnd_below(1024)) << 32; /* PayloadSize */
}

static void bias_signal(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = (chance(85) ? rnd_id() : rnd_value() & 0xFFFFFFFF) |
	       (uint64_t)(chance(80) ? rnd_below(128) : rnd_below(0x10000)) << 32; /* FlagNumber */
}

/* VSM enablement (TLFS 15.4, 15.5): VTL 1 mostly. The fuzzer never calls
 * the VTL call sequence of the hypercall page, so VTL 1 is enabled but
 * never entered (a lower VTL cannot reach its registers). */
static void bias_enable_part_vtl(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = rnd_partition();
	w[1] = chance(80) ? 1 + rnd_below(2) : rnd_value();
}

static void bias_enable_vp_vtl(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = rnd_partition();
	w[1] = (chance(85) ? rnd_vp() : rnd_value() & 0xFFFFFFFF) |
	       (uint64_t)(chance(80) ? 1 + rnd_below(2) : rnd_below(256)) << 32;
}

/* HvFlushGuestPhysicalAddressSpace/List (TLFS 16.13; nested/flush.c):
 * an nCR3 (mostly page-aligned), Flags mostly 0, ranges mostly small. */
static void bias_gpa_flush(uint8_t *in, uint32_t reps, uint32_t *varhdr)
{
	uint64_t *w = (uint64_t *)in;
	w[0] = chance(70) ? rnd_below(1ull << 24) << 12 : rnd_value();
	w[1] = chance(80) ? 0 : rnd_value();
	for (uint32_t i = 0; i < reps && 16 + 8 * i < PAGE; i++)
		w[2 + i] = chance(80) ? (rnd_below(1ull << 24) << 12) | rnd_below(4096) : rnd_value();
}

static const struct hc_kind kinds[] = {
	{ 0x0001, 0, 0, 8, 0, NULL },              /* HvSwitchVirtualAddressSpace */
	{ 0x0002, 0, 0, 24, 0, bias_flush },       /* HvFlushVirtualAddressSpace */
	{ 0x0003, 1, 0, 24, 8, bias_flush },       /* HvFlushVirtualAddressList */
	{ 0x0008, 0, 0, 8, 0, NULL },              /* HvNotifyLongSpinWait */
	{ 0x000B, 0, 0, 16, 0, bias_ipi },         /* HvCallSendSyntheticClusterIpi */
	{ 0x0013, 0, 1, 32, 0, bias_flush_ex },    /* ...SpaceEx */
	{ 0x0014, 1, 1, 32, 8, bias_flush_ex },    /* ...ListEx */
	{ 0x0015, 0, 1, 24, 0, bias_ipi_ex },      /* ...IpiEx */
	{ 0x0046, 0, 0, 0, 0, NULL },              /* HvGetPartitionId */
	{ 0x0050, 1, 0, 16, 4, bias_get_regs },    /* HvGetVpRegisters */
	{ 0x0051, 1, 0, 16, 32, bias_set_regs },   /* HvSetVpRegisters */
	{ 0x0052, 0, 0, 32, 0, bias_translate },   /* HvTranslateVirtualAddress */
	{ 0x0099, 0, 0, 240, 0, bias_start_vp },   /* HvStartVirtualProcessor */
	{ 0x009A, 1, 0, 16, 4, bias_apic_ids },    /* HvGetVpIndexFromApicId */
	{ 0x000D, 0, 0, 16, 0, bias_enable_part_vtl }, /* HvEnablePartitionVtl */
	{ 0x000F, 0, 0, 240, 0, bias_enable_vp_vtl }, /* HvEnableVpVtl */
	{ 0x0058, 0, 0, 16, 0, bias_delete },      /* HvDeletePort */
	{ 0x005B, 0, 0, 16, 0, bias_delete },      /* HvDisconnectPort */
	{ 0x005C, 0, 0, 256, 0, bias_post },       /* HvPostMessage */
	{ 0x005D, 0, 0, 8, 0, bias_signal },       /* HvSignalEvent */
	{ 0x0095, 0, 0, 56, 0, bias_create_port }, /* HvCreatePort */
	{ 0x0096, 0, 0, 64, 0, bias_connect_port }, /* HvConnectPort */
	{ 0x00AF, 0, 0, 16, 0, bias_gpa_flush },   /* HvFlushGuestPhysicalAddressSpace */
	{ 0x00B0, 1, 0, 16, 8, bias_gpa_flush },   /* HvFlushGuestPhysicalAddressList */
	{ 0x8001, 0, 0, 0, 0, NULL },              /* HvExtCallQueryCapabilities */
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static const struct hc_kind *kind_of(uint16_t code)
{
	for (unsigned int i = 0; i < N_KINDS; i++)
		if (kinds[i].code == code)
			return &kinds[i];
	return NULL;
}

static uint32_t rnd_reps(int rep)
{
	if (!rep)
		return chance(90) ? 0 : (uint32_t)rnd_below(4096);
	switch (rnd_below(10)) {
	case 0: return 0;
	case 1: case 2: return (uint32_t)rnd_below(4096);
	default: return 1 + (uint32_t)rnd_below(16);
	}
}

/* One hypercall with this code: random control bits, input block,
 * parameter GPAs; run and checked by fz_check_status (gfuzz.c). */
static void hcall_with(uint16_t code)
{
	const struct hc_kind *k = kind_of(code);
	uint32_t reps = rnd_reps(k && k->rep);
	uint32_t start = chance(80) || !reps ? 0 : (uint32_t)rnd_below(reps + 2);
	uint32_t varhdr = 0;
	int fast = chance(40);

	/* The input block: random, then biased for the known calls. */
	uint64_t *w = (uint64_t *)g_fz.in;
	for (unsigned int i = 0; i < 64; i++)
		w[i] = rnd();
	if (k && k->bias)
		k->bias(g_fz.in, reps > 96 ? 96 : reps, &varhdr);
	if (chance(5))
		varhdr = (uint32_t)rnd_below(512);
	/* HvSetVpRegisters reads its elements at 16 + 32 * i, from the page
	 * or from the fast registers (the same bytes): made safe in both. */
	if (code == CALL_SET_VP_REGS)
		for (unsigned int off = 16; off + 32 <= PAGE; off += 32)
			sanitize_set_elem(g_fz.in + off);
	if (code == CALL_SWITCH_SPACE)
		sanitize_switch(g_fz.in);

	uint64_t ctl = code | (fast ? HC_FAST : 0) | HC_VARHDR(varhdr & 0x1FF) | HC_REPS(reps & 0xFFF) |
		       HC_START(start & 0xFFF);
	if (chance(8)) /* a reserved bit (TLFS 3.7: 27-31, 44-47, 60-63) */
		ctl |= (const uint64_t[]){ 1ull << 26, 1ull << 27, 1ull << 31, 1ull << 44, 1ull << 47,
					   1ull << 60, 1ull << 63 }[rnd_below(7)];

	struct fz_regs r;
	for (unsigned int i = 0; i < 16; i++)
		r.gpr[i] = rnd();
	for (unsigned int i = 0; i < 16; i++)
		r.xmm[i][0] = rnd(), r.xmm[i][1] = rnd();
	r.gpr[R_CX] = ctl;
	if (fast) {
		r.gpr[R_DX] = w[0];
		r.gpr[R_8] = w[1];
		for (unsigned int i = 0; i < 6; i++)
			r.xmm[i][0] = w[2 + 2 * i], r.xmm[i][1] = w[3 + 2 * i];
	} else {
		/* The calls that read register values or a whole VP context
		 * from the input read it from the page the fuzzer made safe, or
		 * from a place they must refuse. */
		int own = code == CALL_SET_VP_REGS || code == CALL_START_VP ||
			  code == CALL_SWITCH_SPACE;
		/* The calls that load registers from their input read it from
		 * the start of the page the fuzzer made safe, or from a place
		 * that is not RAM (which they must refuse). */
		r.gpr[R_DX] = !own ? rnd_param_gpa(0, pa(g_fz.in))
			      : chance(75) ? pa(g_fz.in) : g_fz.special[rnd_below(g_fz.n_special)];
		if (own && r.gpr[R_DX] != pa(g_fz.in) && r.gpr[R_DX] < g_fz.ram_top)
			r.gpr[R_DX] = APIC_GPA;
		r.gpr[R_8] = rnd_param_gpa(1, pa(g_fz.out));
	}
	struct fz_regs before = r;
	int vec = fz_hcall(&r);
	fz_check_status(ctl, &before, &r, vec);

	/* The fast input registers stay (TLFS 3.9 item 4): the part of the
	 * block the known call reads as input. */
	if (k && fast && vec == VEC_NONE) {
		uint64_t in_len = k->in_hdr + 8ull * (varhdr & 0x1FF) + (uint64_t)reps * k->in_elem;
		unsigned int words = in_len > 112 ? 14 : (unsigned int)((in_len + 7) / 8);
		for (unsigned int i = 0; i < words; i++) {
			uint64_t b = i == 0 ? before.gpr[R_DX] : i == 1 ? before.gpr[R_8]
					    : before.xmm[(i - 2) / 2][i & 1];
			uint64_t a = i == 0 ? r.gpr[R_DX] : i == 1 ? r.gpr[R_8]
					    : r.xmm[(i - 2) / 2][i & 1];
			if (a != b) {
				fz_fail("regs_preserved",
					"fast call 0x%lx: input word %u changed 0x%lx -> 0x%lx",
					(unsigned long)ctl, i, (unsigned long)b, (unsigned long)a);
				break;
			}
		}
	}
}

static void op_hcall_known(void)
{
	hcall_with(kinds[rnd_below(N_KINDS)].code);
}

static void op_hcall_any(void)
{
	uint16_t code;
	switch (rnd_below(8)) {
	case 0: code = (uint16_t)rnd(); break;
	case 1: case 2: code = (uint16_t)(0x8001 + rnd_below(0xFF)); break;
	default: code = (uint16_t)(0x0001 + rnd_below(0xFF)); break;
	}
	hcall_with(code);
}

/* ---- synthetic MSRs ------------------------------------------------------ */
static const uint32_t known_msrs[] = {
	0x40000000, 0x40000001, 0x40000002, 0x40000003, 0x40000010, 0x40000020, 0x40000021,
	0x40000022, 0x40000023, 0x40000070, 0x40000071, 0x40000072, 0x40000073, 0x40000080,
	0x40000081, 0x40000082, 0x40000083, 0x40000084, 0x40000090, 0x4000009F, 0x400000B0,
	0x400000B1, 0x400000B7, 0x400000F0, 0x40000100, 0x40000104, 0x40000105, 0x40000106,
	0x40000107, 0x40000108, 0x400001FF, 0x40001000, 0x400010FF,
};
#define N_KNOWN_MSRS (sizeof(known_msrs) / sizeof(known_msrs[0]))

static uint32_t rnd_msr(void)
{
	if (chance(60))
		return known_msrs[rnd_below(N_KNOWN_MSRS)];
	return chance(75) ? 0x40000000u + (uint32_t)rnd_below(0x200)
			  : 0x40001000u + (uint32_t)rnd_below(0x100);
}

static void expect_msr_vec(const char *what, uint32_t msr, int vec)
{
	if (vec == VEC_GP)
		g_fz.n_gp++;
	else if (vec != VEC_NONE)
		fz_fail("exceptions", "%s MSR 0x%x raised %s (vector %d) at rip 0x%lx, expected #GP or none",
			what, msr, vec_name(vec), vec, (unsigned long)fz_fault[2]);
}

static void op_msr_read(void)
{
	uint32_t msr = rnd_msr();
	uint64_t v;
	if (msr == MSR_GUEST_IDLE) /* TLFS 9.4.1 (guest idle): halts until an interrupt */
		return;
	g_fz.n_msr++;
	expect_msr_vec("RDMSR", msr, fz_rdmsr(msr, &v));
}

static void op_msr_write(void)
{
	uint32_t msr = rnd_msr();
	int skip;
	uint64_t v = fz_sanitize_msr(msr, rnd_value(), &skip);
	if (skip)
		return;
	g_fz.n_msr++;
	expect_msr_vec("WRMSR", msr, fz_wrmsr(msr, v));
}

/* ---- overlays ------------------------------------------------------------ */
static void op_overlay_msr(void)
{
	static const uint32_t msrs[] = { MSR_HYPERCALL, MSR_VP_ASSIST, MSR_REF_TSC };
	uint32_t msr = msrs[rnd_below(3)];
	int skip;
	uint64_t v = fz_sanitize_msr(msr, rnd_value(), &skip);
	if (chance(70))
		v = (v & ~0xFFFull) | 1; /* enabled, no reserved bits */
	if (chance(10))
		v = 0;
	g_fz.n_msr++;
	expect_msr_vec("WRMSR", msr, fz_wrmsr(msr, v));
}

/* The same through HvSetVpRegisters (TLFS 7.10.1), fast, on the caller. */
static void op_overlay_vpreg(void)
{
	static const uint32_t names[] = { 0x00090001, 0x00090013, 0x00090017 };
	uint8_t e[32] = { 0 };
	*(uint32_t *)e = names[rnd_below(3)];
	*(uint64_t *)(e + 16) = chance(80) ? 1 : rnd_value();
	sanitize_set_elem(e);
	if (chance(70))
		*(uint64_t *)(e + 16) = (*(uint64_t *)(e + 16) & ~0xFFFull) | 1;
	struct fz_regs r;
	for (unsigned int i = 0; i < 16; i++)
		r.gpr[i] = rnd(), r.xmm[i][0] = rnd(), r.xmm[i][1] = rnd();
	uint64_t ctl = CALL_SET_VP_REGS | HC_FAST | HC_REPS(1);
	r.gpr[R_CX] = ctl;
	r.gpr[R_DX] = PARTITION_SELF;
	r.gpr[R_8] = VP_SELF;
	r.xmm[0][0] = *(uint64_t *)e, r.xmm[0][1] = *(uint64_t *)(e + 8);
	r.xmm[1][0] = *(uint64_t *)(e + 16), r.xmm[1][1] = *(uint64_t *)(e + 24);
	struct fz_regs before = r;
	int vec = fz_hcall(&r);
	fz_check_status(ctl, &before, &r, vec);
}

/* ---- memory probes --------------------------------------------------------- */
static void op_mem(void)
{
	uint64_t v = 0;
	int vec;
	g_fz.n_mem++;
	switch (rnd_below(4)) {
	case 0: { /* the xAPIC page: reads anywhere, stores to harmless registers */
		static const uint32_t wr[] = { 0x80, 0xB0, 0x280, 0x300 };
		uint32_t off = wr[rnd_below(4)];
		if (chance(50)) { /* 32-bit loads only (SDM 10.4.1) */
			uint32_t v32;
			vec = fz_read32(APIC_GPA + 16 * rnd_below(64), &v32);
			break;
		}
		uint32_t val = (uint32_t)rnd_value();
		if (off == 0x300) /* ICR: fixed, to self (SDM 10.6.1) */
			val = (val & 0xFF) | (1u << 18);
		else if (off != 0x80)
			val = 0;
		vec = fz_write32(APIC_GPA + off, val);
		break;
	}
	case 1: { /* hypervisor memory: every access faults, except on the
		   * pages overlays may be moved over (special[1..3]: then the
		   * overlay shows, TLFS 5.2.1) */
		uint64_t a = g_fz.hv_base + (rnd_below(g_fz.hv_size) & ~7ull);
		for (unsigned int i = 1; i <= 3; i++)
			if ((a & ~0xFFFull) == g_fz.special[i])
				return;
		vec = chance(50) ? fz_read64(a, &v) : fz_write64(a, rnd());
		if (vec == VEC_NONE)
			fz_fail("hvmem_hidden", "access at 0x%lx (hypervisor memory) did not fault",
				(unsigned long)a);
		return;
	}
	default: { /* the special places and scratch pages: reads only */
		uint64_t a = rnd_overlay_gpa() + (rnd_below(PAGE) & ~7ull);
		uint32_t v32;
		/* MMIO (the local and I/O APIC, HPET, above RAM, beyond the
		 * address space) takes aligned 32-bit loads (SDM 10.4.1, the
		 * chipsets; Bochs stops on a wider one); RAM and overlays any. */
		int ram = a < g_fz.ram_top;
		if ((a >> 20) == 0xFEC || (a >> 20) == 0xFED)
			return; /* the I/O APIC and HPET: Bochs stops on a read of
				 * an offset they do not decode */
		vec = ram ? fz_read64(a, &v) : fz_read32(a & ~0xFull, &v32);
		break;
	}
	}
	/* #GP from the hypervisor (hidden memory, a read-only overlay), #PF
	 * from the guest's own page tables (beyond what OVMF maps). */
	if (vec != VEC_NONE && vec != VEC_GP && vec != VEC_PF)
		fz_fail("exceptions", "memory probe raised %s (vector %d) at rip 0x%lx",
			vec_name(vec), vec, (unsigned long)fz_fault[2]);
}

/* Invalid CR0/CR4 values (issue 14, finding 3a): the processor refuses
 * them with #GP(0) and nothing changes (SDM/APM MOV CRn); an emulator
 * under the hypervisor may not, so hv.efi must. Valid values are not
 * fuzzed: they would change the fuzzer's own paging and caching. */
static void op_cr_invalid(void)
{
	uint64_t cr0, cr4;
	__asm__ volatile("mov %%cr0, %0; mov %%cr4, %1" : "=r"(cr0), "=r"(cr4));
	int vec, which = (int)rnd_below(5);
	uint64_t v;
	switch (which) {
	case 0: v = cr0 & ~1ull; break;                                  /* PG without PE */
	case 1: v = (cr0 | (1ull << 29)) & ~(1ull << 30); break;          /* NW without CD */
	case 2: v = cr0 | (1ull << (32 + rnd_below(32))); break;          /* bits 63:32 */
	case 3: v = cr4 | (1ull << (32 + rnd_below(32))); break;
	default: v = cr4 | (1ull << 13) | (chance(50) ? 1ull << 14 : 0); break; /* VMXE, SMXE: hidden */
	}
	vec = which < 3 ? fz_write_cr0(v) : fz_write_cr4(v);
	uint64_t a0, a4;
	__asm__ volatile("mov %%cr0, %0; mov %%cr4, %1" : "=r"(a0), "=r"(a4));
	if (vec != VEC_GP || a0 != cr0 || a4 != cr4)
		fz_fail("exceptions", "MOV CR%d <- 0x%lx: %s (vector %d), CR0 0x%lx -> 0x%lx, CR4 0x%lx -> 0x%lx, "
			"expected #GP and no change", which < 3 ? 0 : 4, (unsigned long)v, vec_name(vec), vec,
			(unsigned long)cr0, (unsigned long)a0, (unsigned long)cr4, (unsigned long)a4);
	else
		g_fz.n_gp++;
}

/* Give the fuzzed calls their page back now and then (the batch end does
 * it too): TLFS 2.6 guest OS ID, 3.13 hypercall MSR. */
static void op_restore(void)
{
	fz_wrmsr(MSR_GUEST_OS_ID, OS_ID);
	if (!g_fz.locked)
		fz_wrmsr(MSR_HYPERCALL, pa(g_fz.ovl[0]) | HC_MSR_ENABLE);
}

struct fz_op fz_ops[] = {
	{ "hcall_known", 40, op_hcall_known, 0 },
	{ "hcall_any", 14, op_hcall_any, 0 },
	{ "msr_read", 12, op_msr_read, 0 },
	{ "msr_write", 14, op_msr_write, 0 },
	{ "overlay_msr", 8, op_overlay_msr, 0 },
	{ "overlay_vpreg", 4, op_overlay_vpreg, 0 },
	{ "mem", 6, op_mem, 0 },
	{ "cr_invalid", 2, op_cr_invalid, 0 },
	{ "restore", 2, op_restore, 0 },
};
const unsigned int fz_n_ops = sizeof(fz_ops) / sizeof(fz_ops[0]);
