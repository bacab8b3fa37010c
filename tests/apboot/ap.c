/*
 * ap.c - what runs on each application processor once the trampoline
 * (tramp.asm) has brought it to 64-bit mode: ap_main(index), called on the
 * AP's own stack with interrupts disabled, the BSP's page tables and no
 * firmware (after ExitBootServices). It checks from the AP itself that it
 * runs under the hypervisor (TLFS 2.4.1, CPUID 0x40000000 "Microsoft Hv")
 * and reads its VP index (TLFS 7.8.1, HV_X64_MSR_VP_INDEX, if leaf
 * 0x40000003 EAX bit 6 grants AccessVpIndex), writes its results slot,
 * counts itself in, and parks (cli; hlt): it is woken again only by
 * INIT-SIPI-SIPI.
 */
#include "apboot.h"

struct results *g_results HIDDEN;
struct tramp_data *g_tramp HIDDEN;

/* The initial APIC ID: CPUID leaf 0xB EDX (x2APIC ID) where the leaf
 * exists, else CPUID.1:EBX[31:24] (SDM 10.4.6, 10.12.8). */
uint32_t apic_id_now(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	if (r.eax >= 0xb) {
		r = cpuid(0xb, 0);
		if (r.ebx)
			return r.edx;
	}
	return cpuid(1, 0).ebx >> 24;
}

/* "Microsoft Hv" in EBX ECX EDX of leaf 0x40000000 (TLFS 2.4.1). Not just
 * CPUID.1:ECX[31]: QEMU's TCG sets it without any hypervisor. */
int hv_vendor_ok(struct cpuid_regs *r)
{
	*r = cpuid(0x40000000u, 0);
	return r->ebx == 0x7263694D && r->ecx == 0x666F736F && r->edx == 0x76482074;
}

void ap_main(uint64_t index)
{
	if (index < MAX_CPUS) {
		struct ap_result *res = &g_results->ap[index];
		struct cpuid_regs v;

		res->vendor_ok = (uint32_t)hv_vendor_ok(&v);
		res->vendor[0] = v.ebx;
		res->vendor[1] = v.ecx;
		res->vendor[2] = v.edx;
		res->privileges = res->vendor_ok ? cpuid(0x40000003u, 0).eax : 0;
		res->vp_index_ok = 0;
		res->vp_index = ~0ull;
		if (res->privileges & PRIV_VP_INDEX) {
			res->vp_index = rdmsr(MSR_VP_INDEX);
			res->vp_index_ok = 1;
		}
		res->apic_id = apic_id_now();
		res->init_edx = g_tramp->init_edx;
		res->init_cr0 = g_tramp->init_cr0;
		res->cpuid1_eax = cpuid(1, 0).eax;
		/* Publish: the fields above before the counts (x86 stores are
		 * ordered; the barrier keeps the compiler from reordering). */
		__atomic_add_fetch(&res->runs, 1, __ATOMIC_RELEASE);
		__atomic_add_fetch(&g_results->arrivals, 1, __ATOMIC_RELEASE);
	}
	for (;;)
		__asm__ volatile("cli; hlt" ::: "memory");
}
