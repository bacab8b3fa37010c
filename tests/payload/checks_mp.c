/*
 * checks_mp.c - the per-processor checks (issue 4): through the firmware's
 * MP services, every application processor checks that it runs under the
 * hypervisor and reads its VP index (TLFS 7.8.1, HV_X64_MSR_VP_INDEX).
 * Each StartupAllAPs wakes the APs with INIT-SIPI-SIPI, so doing it twice
 * proves that virtualized processors survive being restarted: the
 * hypervisor must deliver INIT and SIPI in software.
 */
#include "payload.h"

#define MAX_APIC 256
#define ROUNDS 2

struct ap_seen {
	volatile uint32_t runs;
	volatile uint32_t vendor_ok;
	volatile uint64_t vp_index;
	volatile uint32_t apic;
};
static struct ap_seen seen[MAX_APIC];

/* EFI_MP_SERVICES_PROTOCOL (PI spec vol. 2, 13.4). */
static EFI_GUID mp_guid = { 0x3fdda605, 0xa76e, 0x4f46,
			    { 0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08 } };
void mp_ap_check(void *arg);

struct efi_mp_services *find_mp_services(UINTN *n, UINTN *enabled)
{
	struct efi_mp_services *mp = NULL;
	UINTN count = 0, on = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->LocateProtocol, 3, &mp_guid, NULL, (void **)&mp)) || !mp ||
	    EFI_ERROR(uefi_call_wrapper(mp->get_number_of_processors, 3, mp, &count, &on)))
		return NULL;
	*n = count;
	if (enabled)
		*enabled = on;
	return mp;
}

static uint32_t apic_id(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	if (r.eax >= 0xb) {
		r = cpuid(0xb, 0);
		if (r.ebx)
			return r.edx;
	}
	return cpuid(1, 0).ebx >> 24;
}

/* On each AP (guest code, no firmware calls). */
void mp_ap_check(void *arg)
{
	uint32_t a = apic_id();
	if (a >= MAX_APIC)
		return;
	struct cpuid_regs v = cpuid(0x40000000u, 0);
	seen[a].vendor_ok = v.ebx == 0x7263694D && v.ecx == 0x666F736F && v.edx == 0x76482074;
	if (seen[a].vendor_ok && (cpuid(0x40000003u, 0).eax & (1u << 6))) {
		uint32_t lo, hi;
		__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x40000002u));
		seen[a].vp_index = ((uint64_t)hi << 32) | lo;
	} else {
		seen[a].vp_index = ~0ull;
	}
	seen[a].apic = a;
	__atomic_add_fetch(&seen[a].runs, 1, __ATOMIC_SEQ_CST);
}

void checks_mp(void)
{
	UINTN n = 0;
	struct efi_mp_services *mp = find_mp_services(&n, NULL);
	if (!mp || n < 2) {
		ser_printf("  info: one processor: no per-processor checks\n");
		return;
	}
	ser_printf("  info: %lu processors\n", (unsigned long)n);
	uint32_t self = apic_id();
	for (int round = 1; round <= ROUNDS; round++) {
		EFI_STATUS st = uefi_call_wrapper(mp->startup_all_aps, 7, mp, mp_ap_thunk, FALSE, NULL,
						  5000000, NULL, NULL);
		char name[48];
		fmt_name(name, sizeof(name), "mp.round%d.startup_all_aps", round);
		check(name, !EFI_ERROR(st), "StartupAllAPs returned 0x%lx", (unsigned long)st);
	}
	/* Every AP ran every round, saw the hypervisor, and has a VP index
	 * of its own (the BSP is VP 0). */
	uint64_t used = 1; /* VP 0 */
	uint32_t aps = 0;
	for (uint32_t a = 0; a < MAX_APIC; a++) {
		if (!seen[a].runs || a == self)
			continue;
		aps++;
		char name[48];
		fmt_name(name, sizeof(name), "mp.apic%u.ran_every_round", a);
		check_eq(name, seen[a].runs, ROUNDS);
		fmt_name(name, sizeof(name), "mp.apic%u.sees_hypervisor", a);
		check(name, seen[a].vendor_ok, "CPUID 0x40000000 is not \"Microsoft Hv\" on this AP");
		uint64_t vi = seen[a].vp_index;
		fmt_name(name, sizeof(name), "mp.apic%u.vp_index_distinct", a);
		check(name, vi > 0 && vi < n && vi < 64 && !(used & (1ull << vi)),
		      "VP index %lu (processors %lu, used mask 0x%lx)", (unsigned long)vi, (unsigned long)n,
		      (unsigned long)used);
		if (vi < 64)
			used |= 1ull << vi;
	}
	check_eq("mp.all_aps_checked", aps, n - 1);
	uint64_t v0 = 1;
	trap_rdmsr(0x40000002u, &v0);
	check_eq("mp.bsp_vp_index", v0, 0);
}
