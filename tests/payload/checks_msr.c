/*
 * checks_msr.c - synthetic MSR access control and hiding of the host's SVM
 * MSR state.
 */
#include "payload.h"

/* Where an MSR's access right comes from (CPUID 0x40000003). */
enum msr_gate { GATE_PRIV, GATE_FEATURE_EDX, GATE_UNDEFINED };

struct synth_msr {
	uint32_t msr;
	const char *name; /* check name stem: msr.<hex>.<name> */
	enum msr_gate gate;
	unsigned int bit; /* privilege bit (0-63) or EDX feature bit */
};

/*
 * TLFS 19 (appendix C, synthetic MSRs) and 4.2.2 (partition privilege
 * flags): with the privilege (or feature) not granted, RDMSR and WRMSR of the
 * MSR raise #GP. MSRs the TLFS does not define always raise #GP.
 */
static const struct synth_msr synth_msrs[] = {
	{ 0x40000000u, "msr.40000000.guest_os_id", GATE_PRIV, 5 },
	{ 0x40000001u, "msr.40000001.hypercall", GATE_PRIV, 5 },
	{ 0x40000002u, "msr.40000002.vp_index", GATE_PRIV, 6 },
	{ 0x40000003u, "msr.40000003.reset", GATE_PRIV, 7 },
	{ 0x40000010u, "msr.40000010.vp_runtime", GATE_PRIV, 0 },
	{ 0x40000020u, "msr.40000020.time_ref_count", GATE_PRIV, 1 },
	{ 0x40000021u, "msr.40000021.reference_tsc", GATE_PRIV, 9 },
	{ 0x40000022u, "msr.40000022.tsc_frequency", GATE_PRIV, 11 },
	{ 0x40000023u, "msr.40000023.apic_frequency", GATE_PRIV, 11 },
	{ 0x40000070u, "msr.40000070.eoi", GATE_PRIV, 4 },
	{ 0x40000071u, "msr.40000071.icr", GATE_PRIV, 4 },
	{ 0x40000072u, "msr.40000072.tpr", GATE_PRIV, 4 },
	{ 0x40000073u, "msr.40000073.vp_assist_page", GATE_PRIV, 4 },
	{ 0x40000080u, "msr.40000080.scontrol", GATE_PRIV, 2 },
	{ 0x40000081u, "msr.40000081.sversion", GATE_PRIV, 2 },
	{ 0x40000082u, "msr.40000082.siefp", GATE_PRIV, 2 },
	{ 0x40000083u, "msr.40000083.simp", GATE_PRIV, 2 },
	{ 0x40000084u, "msr.40000084.eom", GATE_PRIV, 2 },
	{ 0x40000090u, "msr.40000090.sint0", GATE_PRIV, 2 },
	{ 0x4000009Fu, "msr.4000009f.sint15", GATE_PRIV, 2 },
	{ 0x400000B0u, "msr.400000b0.stimer0_config", GATE_PRIV, 3 },
	{ 0x400000B1u, "msr.400000b1.stimer0_count", GATE_PRIV, 3 },
	{ 0x400000B7u, "msr.400000b7.stimer3_count", GATE_PRIV, 3 },
	{ 0x400000F0u, "msr.400000f0.guest_idle", GATE_PRIV, 10 },
	{ 0x40000100u, "msr.40000100.crash_p0", GATE_FEATURE_EDX, 10 },
	{ 0x40000101u, "msr.40000101.crash_p1", GATE_FEATURE_EDX, 10 },
	{ 0x40000102u, "msr.40000102.crash_p2", GATE_FEATURE_EDX, 10 },
	{ 0x40000103u, "msr.40000103.crash_p3", GATE_FEATURE_EDX, 10 },
	{ 0x40000104u, "msr.40000104.crash_p4", GATE_FEATURE_EDX, 10 },
	{ 0x40000105u, "msr.40000105.crash_ctl", GATE_FEATURE_EDX, 10 },
	{ 0x40000106u, "msr.40000106.reenlightenment_control", GATE_PRIV, 13 },
	{ 0x40000107u, "msr.40000107.tsc_emulation_control", GATE_PRIV, 13 },
	{ 0x40000108u, "msr.40000108.tsc_emulation_status", GATE_PRIV, 13 },
	/* Not defined by the TLFS at all. */
	{ 0x40000004u, "msr.40000004.undefined", GATE_UNDEFINED, 0 },
	{ 0x40000011u, "msr.40000011.undefined", GATE_UNDEFINED, 0 },
	{ 0x400000FFu, "msr.400000ff.undefined", GATE_UNDEFINED, 0 },
	{ 0x40000200u, "msr.40000200.undefined", GATE_UNDEFINED, 0 },
	{ 0x40001000u, "msr.40001000.undefined", GATE_UNDEFINED, 0 },
};

static void check_msr_gp(const struct synth_msr *m)
{
	char name[64];
	uint64_t val = 0;
	int vec;
	unsigned int n = 0;

	for (const char *s = m->name; *s && n < sizeof(name) - 4; s++)
		name[n++] = *s;

	/* RDMSR */
	vec = trap_rdmsr(m->msr, &val);
	name[n] = '.', name[n + 1] = 'r', name[n + 2] = 'd', name[n + 3] = '\0';
	check(name, vec == VEC_GP,
	      "RDMSR 0x%x: got %s (vector 0x%x, value 0x%lx) expected #GP (vector 0xd)",
	      m->msr, vec_name(vec), (unsigned int)vec, (unsigned long)val);

	/* WRMSR 0 */
	vec = trap_wrmsr(m->msr, 0);
	name[n + 1] = 'w', name[n + 2] = 'r';
	check(name, vec == VEC_GP,
	      "WRMSR 0x%x <- 0: got %s (vector 0x%x) expected #GP (vector 0xd)",
	      m->msr, vec_name(vec), (unsigned int)vec);
}

void checks_msr(void)
{
	struct cpuid_regs f = cpuid(0x40000003u, 0);
	uint64_t priv = ((uint64_t)f.ebx << 32) | f.eax;

	for (unsigned int i = 0; i < sizeof(synth_msrs) / sizeof(synth_msrs[0]); i++) {
		const struct synth_msr *m = &synth_msrs[i];
		int granted = 0;

		if (m->gate == GATE_PRIV)
			granted = (priv >> m->bit) & 1;
		else if (m->gate == GATE_FEATURE_EDX)
			granted = (f.edx >> m->bit) & 1;
		/*
		 * A granted right is either tested positively (once it is in
		 * TESTED_PRIVILEGES / TESTED_FEATURES_EDX, by later checks) or
		 * already a FAIL of cpuid.40000003.*_known: skip it here.
		 */
		if (granted)
			continue;
		check_msr_gp(m);
	}
}

/*
 * Hiding SVM (AMD APM vol. 2, 15.4 "Enabling SVM", 15.30 "SVM-related
 * MSRs"): the hypervisor runs the guest with the real EFER.SVME=1, but the
 * guest sees its own virtual EFER.SVME, VM_CR with LOCK and SVMDIS set (SVM
 * disabled and locked) and VM_HSAVE_PA 0. Only meaningful on AMD CPUs.
 */
#define MSR_EFER 0xC0000080u
#define MSR_VM_CR 0xC0010114u
#define MSR_VM_HSAVE_PA 0xC0010117u
#define EFER_SVME (1ull << 12)
#define VM_CR_LOCK (1ull << 3)
#define VM_CR_SVMDIS (1ull << 4)

/* Returns nonzero if EFER.SVME reads clear afterwards (safe to probe the
 * SVM instructions). */
int checks_svm_msrs(void)
{
	uint64_t efer = 0, v = 0;
	int vec, vec2, ok;

	vec = trap_rdmsr(MSR_EFER, &efer);
	check("svm.efer.svme_hidden", vec == VEC_NONE && !(efer & EFER_SVME),
	      "RDMSR EFER: %s, value 0x%lx (bit 12 expected clear)", vec_name(vec),
	      (unsigned long)efer);
	if (vec != VEC_NONE) {
		check("svm.efer.svme_set", 0, "skipped: RDMSR EFER faulted");
		check("svm.efer.svme_restore", 0, "skipped: RDMSR EFER faulted");
	} else {
		vec = trap_wrmsr(MSR_EFER, efer | EFER_SVME);
		v = 0;
		vec2 = trap_rdmsr(MSR_EFER, &v);
		check("svm.efer.svme_set",
		      vec == VEC_NONE && vec2 == VEC_NONE && (v & EFER_SVME),
		      "WRMSR EFER <- 0x%lx: %s; RDMSR: %s, value 0x%lx (bit 12 expected set)",
		      (unsigned long)(efer | EFER_SVME), vec_name(vec), vec_name(vec2),
		      (unsigned long)v);

		vec = trap_wrmsr(MSR_EFER, efer & ~EFER_SVME);
		v = ~0ull;
		vec2 = trap_rdmsr(MSR_EFER, &v);
		check("svm.efer.svme_restore",
		      vec == VEC_NONE && vec2 == VEC_NONE && v == (efer & ~EFER_SVME),
		      "WRMSR EFER <- 0x%lx: %s; RDMSR: %s, value 0x%lx expected 0x%lx",
		      (unsigned long)(efer & ~EFER_SVME), vec_name(vec), vec_name(vec2),
		      (unsigned long)v, (unsigned long)(efer & ~EFER_SVME));
	}

	v = ~0ull;
	vec = trap_rdmsr(MSR_VM_HSAVE_PA, &v);
	check("svm.vm_hsave_pa.zero", vec == VEC_NONE && v == 0,
	      "RDMSR VM_HSAVE_PA: %s, value 0x%lx expected 0", vec_name(vec),
	      (unsigned long)v);

	v = 0;
	vec = trap_rdmsr(MSR_VM_CR, &v);
	if (g_nested_on) { /* nested=on: SVM enabled, locked (docs/nested.md) */
		ok = vec == VEC_NONE && (v & (VM_CR_LOCK | VM_CR_SVMDIS)) == VM_CR_LOCK;
		check("svm.vm_cr.locked_enabled", ok,
		      "RDMSR VM_CR: %s, value 0x%lx (bit 3 LOCK expected set, 4 SVMDIS clear)",
		      vec_name(vec), (unsigned long)v);
	} else {
		ok = vec == VEC_NONE && (v & (VM_CR_LOCK | VM_CR_SVMDIS)) ==
						(VM_CR_LOCK | VM_CR_SVMDIS);
		check("svm.vm_cr.locked_disabled", ok,
		      "RDMSR VM_CR: %s, value 0x%lx (bits 3 LOCK and 4 SVMDIS expected set)",
		      vec_name(vec), (unsigned long)v);
	}

	v = ~0ull;
	vec = trap_rdmsr(MSR_EFER, &v);
	return vec == VEC_NONE && !(v & EFER_SVME);
}
