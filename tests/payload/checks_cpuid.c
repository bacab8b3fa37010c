/*
 * checks_cpuid.c - CPUID checks: hypervisor discovery, the Hv#1 leaves
 * 0x40000000-0x4000000A and hiding of the host's virtualization extensions.
 */
#include "payload.h"

enum cpu_vendor cpu_vendor(void)
{
	struct cpuid_regs r = cpuid(0, 0);

	if (r.ebx == 0x68747541 && r.edx == 0x69746E65 && r.ecx == 0x444D4163)
		return VENDOR_AMD; /* "AuthenticAMD" */
	if (r.ebx == 0x756E6547 && r.edx == 0x49656E69 && r.ecx == 0x6C65746E)
		return VENDOR_INTEL; /* "GenuineIntel" */
	return VENDOR_OTHER;
}

/* All four registers of a leaf are zero. */
static void check_leaf_zero(const char *name, uint32_t leaf)
{
	struct cpuid_regs r = cpuid(leaf, 0);

	check(name, !(r.eax | r.ebx | r.ecx | r.edx),
	      "leaf 0x%x eax=0x%x ebx=0x%x ecx=0x%x edx=0x%x expected all 0", leaf,
	      r.eax, r.ebx, r.ecx, r.edx);
}

/*
 * TLFS 2.2 (hypervisor discovery): CPUID.1:ECX[31] is set. The host's own
 * virtualization extensions are not offered to the guest: CPUID.1:ECX[5]
 * (VMX), CPUID.80000001h:ECX[2] (SVM) clear and the SVM feature leaf
 * 8000000Ah all zeros (AMD APM vol. 3, CPUID Fn8000_000A).
 */
static void checks_std_leaves(void)
{
	struct cpuid_regs r1 = cpuid(1, 0);
	struct cpuid_regs e0 = cpuid(0x80000000u, 0);

	check("cpuid.1.hypervisor_present", (r1.ecx >> 31) & 1,
	      "CPUID.1:ECX=0x%x bit 31 clear, expected set", r1.ecx);
	if (g_nested_on && cpu_vendor() == VENDOR_INTEL) /* nested VMX: checks_nested_vmx.c */
		check("cpuid.1.vmx_set", (r1.ecx >> 5) & 1,
		      "CPUID.1:ECX=0x%x bit 5 (VMX) clear with nested=on", r1.ecx);
	else
		check("cpuid.1.vmx_clear", !((r1.ecx >> 5) & 1),
		      "CPUID.1:ECX=0x%x bit 5 (VMX) set, expected clear", r1.ecx);

	struct cpuid_regs e1 = { 0, 0, 0, 0 };
	if (e0.eax >= 0x80000001u)
		e1 = cpuid(0x80000001u, 0);
	if (g_nested_on) { /* nested=on: SVM offered; checks_nested_svm.c checks 8000000A */
		check("cpuid.80000001.svm_set", cpu_vendor() != VENDOR_AMD || ((e1.ecx >> 2) & 1),
		      "CPUID.80000001:ECX=0x%x bit 2 (SVM) clear with nested=on", e1.ecx);
		return;
	}
	check("cpuid.80000001.svm_clear", !((e1.ecx >> 2) & 1),
	      "CPUID.80000001:ECX=0x%x bit 2 (SVM) set, expected clear", e1.ecx);

	/* Vacuously true when the leaf is beyond the extended maximum. */
	if (e0.eax >= 0x8000000Au)
		check_leaf_zero("cpuid.8000000a.zero", 0x8000000Au);
	else
		check("cpuid.8000000a.zero", 1, "-");
}

/* TLFS 2.4.1 (0x40000000) and 2.4.2 (0x40000001). */
static void checks_identity(void)
{
	struct cpuid_regs r = cpuid(0x40000000u, 0);
	char v[13];

	for (int i = 0; i < 4; i++) {
		v[i] = (char)(r.ebx >> (8 * i));
		v[4 + i] = (char)(r.ecx >> (8 * i));
		v[8 + i] = (char)(r.edx >> (8 * i));
	}
	v[12] = '\0';
	for (int i = 0; i < 12; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			v[i] = '.';
	ser_printf("  info: hypervisor vendor \"%s\", max leaf 0x%x\n", v, r.eax);
	check_eq("cpuid.40000000.max_leaf", r.eax, HV_CPUID_MAX_LEAF);
	check("cpuid.40000000.vendor",
	      r.ebx == 0x7263694D && r.ecx == 0x666F736F && r.edx == 0x76482074,
	      "ebx=0x%x ecx=0x%x edx=0x%x (\"%c%c%c%c%c%c%c%c%c%c%c%c\") "
	      "expected 0x7263694d 0x666f736f 0x76482074 (\"Microsoft Hv\")",
	      r.ebx, r.ecx, r.edx, (char)r.ebx, (char)(r.ebx >> 8),
	      (char)(r.ebx >> 16), (char)(r.ebx >> 24), (char)r.ecx,
	      (char)(r.ecx >> 8), (char)(r.ecx >> 16), (char)(r.ecx >> 24),
	      (char)r.edx, (char)(r.edx >> 8), (char)(r.edx >> 16),
	      (char)(r.edx >> 24));

	r = cpuid(0x40000001u, 0);
	check_eq("cpuid.40000001.interface", r.eax, 0x31237648u); /* "Hv#1" */
	check("cpuid.40000001.reserved", !(r.ebx | r.ecx | r.edx),
	      "ebx=0x%x ecx=0x%x edx=0x%x expected 0", r.ebx, r.ecx, r.edx);
}

/* TLFS 2.4.3 (0x40000002, system identity) and 2.5 (versioning). */
static void checks_version(void)
{
	struct cpuid_regs r = cpuid(0x40000002u, 0);

	check_eq("cpuid.40000002.build", r.eax, HV_VERSION_BUILD);
	check_eq("cpuid.40000002.version", r.ebx,
		 ((uint32_t)HV_VERSION_MAJOR << 16) | HV_VERSION_MINOR);
	check_eq("cpuid.40000002.service_pack", r.ecx, HV_VERSION_SERVICE_PACK);
	check_eq("cpuid.40000002.service_branch_number", r.edx,
		 ((uint32_t)HV_VERSION_SERVICE_BRANCH << 24) |
			 HV_VERSION_SERVICE_NUMBER);
}

/*
 * TLFS 2.4.4 (0x40000003, feature identification) and 4.2.2 (partition
 * privilege flags): nothing is advertised that this payload cannot test,
 * and never CreatePartitions (bit 32), AccessPartitionId (bit 33) or
 * CpuManagement (bit 44).
 */
static void checks_features(void)
{
	struct cpuid_regs r = cpuid(0x40000003u, 0);
	uint64_t priv = ((uint64_t)r.ebx << 32) | r.eax;
	uint64_t extra = priv & ~(uint64_t)TESTED_PRIVILEGES;

	/* The raw values, for the Linux test (tests/linux/checks.sh): Linux
	 * prints "privilege flags low <3.EAX>, high <3.EBX>, hints <4.EAX>,
	 * misc <3.EDX>" and "Nested features: <A.EAX>" from the same leaves. */
	ser_printf("  info: cpuid 40000003 eax=0x%x ebx=0x%x edx=0x%x 40000004 eax=0x%x "
		   "4000000a eax=0x%x\n",
		   r.eax, r.ebx, r.edx, cpuid(0x40000004u, 0).eax, cpuid(0x4000000au, 0).eax);
	check("cpuid.40000003.privileges_known", !extra,
	      "privileges 0x%lx, untested bits 0x%lx (tested mask 0x%lx)",
	      (unsigned long)priv, (unsigned long)extra,
	      (unsigned long)TESTED_PRIVILEGES);
	check("cpuid.40000003.no_create_partitions", !(r.ebx & 1u),
	      "EBX=0x%x bit 0 (CreatePartitions) set", r.ebx);
	/* Withheld by policy (hv/partition.c): Linux 6.1 BUG()s when it sees
	 * AccessPartitionId as a non-root guest, and Hyper-V grants it to no
	 * guest. HvGetPartitionId answers ACCESS_DENIED (checks_hcall_calls.c). */
	check("cpuid.40000003.no_access_partition_id", !(r.ebx & 2u),
	      "EBX=0x%x bit 1 (AccessPartitionId) set", r.ebx);
	check("cpuid.40000003.no_cpu_management", !(r.ebx & (1u << 12)),
	      "EBX=0x%x bit 12 (CpuManagement) set", r.ebx);
	check_eq("cpuid.40000003.ecx_zero", r.ecx, 0);
	check("cpuid.40000003.features_known", !(r.edx & ~TESTED_FEATURES_EDX),
	      "EDX=0x%x, untested bits 0x%x (tested mask 0x%x)", r.edx,
	      r.edx & ~TESTED_FEATURES_EDX, TESTED_FEATURES_EDX);
}

/* TLFS 2.4.5 (0x40000004, implementation recommendations). */
static void checks_recommendations(void)
{
	struct cpuid_regs r = cpuid(0x40000004u, 0);
	struct cpuid_regs e0 = cpuid(0x80000000u, 0);
	uint32_t pa_bits = 0;

	if (e0.eax >= 0x80000008u)
		pa_bits = cpuid(0x80000008u, 0).eax & 0xFFu;

	/* Bit 14, use the enlightened VMCS (TLFS 16.4.1): exactly with
	 * nested=on on Intel (checks_nested_evmcs.c proves it works). */
	check_eq("cpuid.40000004.evmcs_recommended", (r.eax >> 14) & 1,
		 g_nested_on && cpu_vendor() == VENDOR_INTEL);
	check("cpuid.40000004.recommendations_known",
	      !(r.eax & ~(TESTED_RECOMMENDATIONS | (1u << 14))),
	      "EAX=0x%x, untested bits 0x%x (tested mask 0x%x)", r.eax,
	      r.eax & ~(TESTED_RECOMMENDATIONS | (1u << 14)), TESTED_RECOMMENDATIONS | (1u << 14));
	/* Spin retries before HvNotifyLongSpinWait (TLFS 14.5.1): 0xFFF once
	 * the hypercall interface (AccessHypercallMsrs, 0x40000003 EAX bit 5)
	 * offers the call, else 0xFFFFFFFF (never notify). */
	check_eq("cpuid.40000004.spin_retries", r.ebx,
		 (cpuid(0x40000003u, 0).eax & (1u << 5)) ? 0xFFFu : 0xFFFFFFFFu);
	check("cpuid.40000004.phys_addr_bits",
	      (r.ecx & 0x7Fu) == pa_bits && !(r.ecx >> 7),
	      "ECX=0x%x, expected 0x%x (CPUID 0x80000008 EAX[7:0]) and bits 31:7 clear",
	      r.ecx, pa_bits);
	check_eq("cpuid.40000004.edx_zero", r.edx, 0);
}

/* TLFS 2.4.6 (0x40000005, implementation limits). */
static void checks_limits(void)
{
	struct cpuid_regs r = cpuid(0x40000005u, 0);

	check_eq("cpuid.40000005.max_vps", r.eax, HV_MAX_VPS);
	check_eq("cpuid.40000005.max_lps", r.ebx, HV_MAX_LPS);
	check("cpuid.40000005.reserved", !(r.ecx | r.edx),
	      "ecx=0x%x edx=0x%x expected 0", r.ecx, r.edx);
}

/*
 * TLFS 2.4.7 (0x40000006, hardware features in use): MSR bitmaps (bit 1)
 * and SLAT (bit 3); on VMX also possibly unrestricted guest (bit 17). The
 * vendor comes from the hypervisor's info table, else from CPUID leaf 0.
 */
static void checks_hw_features(void)
{
	struct cpuid_regs r = cpuid(0x40000006u, 0);
	const struct hv_info_table *info = find_hv_info();
	int vmx = info ? info->vendor == HV_INFO_VENDOR_VMX
		       : cpu_vendor() == VENDOR_INTEL;

	if (vmx)
		check("cpuid.40000006.hw_features",
		      r.eax == 0xAu || r.eax == (0xAu | (1u << 17)),
		      "EAX=0x%x expected 0xa or 0x2000a (VMX)", r.eax);
	else
		check("cpuid.40000006.hw_features", r.eax == 0xAu,
		      "EAX=0x%x expected 0xa (SVM)", r.eax);
	check("cpuid.40000006.reserved", !(r.ebx | r.ecx | r.edx),
	      "ebx=0x%x ecx=0x%x edx=0x%x expected 0", r.ebx, r.ecx, r.edx);
}

/*
 * TLFS 2.4.8-2.4.11 (0x40000007 CPU management, 0x40000008 SVM features,
 * 0x40000009/0x4000000A nested features): nothing offered, all zeros
 * (0x4000000A with nested=on on AMD: checks_nested_enl.c).
 * Leaves above the maximum (2.4.1) and outside the Hv#1 range read as zeros.
 */
static void checks_zero_leaves(void)
{
	static const struct {
		const char *name;
		uint32_t leaf;
	} zero[] = {
		{ "cpuid.40000007.zero", 0x40000007u },
		{ "cpuid.40000008.zero", 0x40000008u },
		{ "cpuid.40000009.zero", 0x40000009u },
		{ "cpuid.4000000a.zero", 0x4000000Au },
		{ "cpuid.4000000b.zero", 0x4000000Bu },
		{ "cpuid.40000010.zero", 0x40000010u },
		{ "cpuid.4000007f.zero", 0x4000007Fu },
		{ "cpuid.40000080.zero", 0x40000080u },
		{ "cpuid.400000ff.zero", 0x400000FFu },
		{ "cpuid.40000100.zero", 0x40000100u },
		{ "cpuid.4fffffff.zero", 0x4FFFFFFFu },
	};

	for (unsigned int i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		/* nested=on offers leaf 0x4000000A: checks_nested_enl.c (AMD)
		 * and checks_nested_evmcs.c (Intel) check its exact value (zero
		 * in every other run, there too). */
		if (zero[i].leaf == 0x4000000Au && g_nested_on)
			continue;
		check_leaf_zero(zero[i].name, zero[i].leaf);
	}
}

void checks_cpuid(void)
{
	checks_std_leaves();
	checks_identity();
	checks_version();
	checks_features();
	checks_recommendations();
	checks_limits();
	checks_hw_features();
	checks_zero_leaves();
}
