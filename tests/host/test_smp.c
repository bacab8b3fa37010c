/* test_smp.c - INIT/SIPI delivery between VPs (hv/smp.c): destination
 * resolution, the mailbox, kicks, wait-for-SIPI, NMIs that are not kicks. */
#include "htest.h"
#include "fakes.h"
#include "boot_info.h"
#include <string.h>

static struct partition part;
static struct vp vp0, vp1;
static struct fake_be_state b0, b1;

static void setup(void)
{
	partition_init(&part, &fake_backend, 36, 0x200000, 0x100000);
	fake_vp_init(&vp0, &part, &b0);
	fake_vp_init(&vp1, &part, &b1);
	partition_add_vp(&part, &vp0);
	partition_add_vp(&part, &vp1);
	vp0.apic_id = 0;
	vp1.apic_id = 1;
	part.cpu_count = 3; /* processor 2 (APIC ID 2) not virtualized yet */
	part.cpu_apic[0] = 0;
	part.cpu_apic[1] = 1;
	part.cpu_apic[2] = 2;
	part.cpu_vp[0] = &vp0;
	part.cpu_vp[1] = &vp1;
	fake_icr_count = 0;
	memset(fake_icr_writes, 0, sizeof(fake_icr_writes));
}

TEST(smp_broadcast_init_sipi)
{
	setup();
	/* INIT, all excluding self (what OVMF sends), xAPIC. */
	smp_icr_write(&vp0, 0xc4500, false);
	CHECK_EQ(vp1.init_pending, 1);
	CHECK_EQ(vp0.init_pending, 0);
	CHECK_EQ(vp1.kicks_pending, 1);
	/* Two physical ICR writes: the INIT to processor 2 (not a VP), and
	 * the kick NMI to VP 1; in either order, never an INIT to a VP. */
	CHECK_EQ(fake_icr_count, 2);
	int init_to_2 = 0, nmi_to_1 = 0;
	for (int i = 0; i < 2; i++) {
		u64 w = fake_icr_writes[i];
		init_to_2 += ((w >> 8) & 7) == 5 && (w >> 56) == 2 && !((w >> 18) & 3);
		nmi_to_1 += ((w >> 8) & 7) == 4 && (w >> 56) == 1;
	}
	CHECK(init_to_2 == 1 && nmi_to_1 == 1);
	/* The target takes the INIT before its next entry, then the SIPI. */
	smp_icr_write(&vp0, 0xc4687, false); /* SIPI vector 0x87 */
	vp1.host_nmi = 1; /* the kick arrived */
	smp_before_entry(&vp1);
	CHECK_EQ(b1.states_loaded, 1);
	CHECK_EQ(b1.loaded_cs_sel, 0x8700);
	CHECK_EQ(b1.loaded_cs_base, 0x87000);
	CHECK_EQ(b1.loaded_rip, 0);
	CHECK_EQ(b1.loaded_cr0, 0x60000010);
	CHECK(!vp1.wait_sipi);
	CHECK_EQ(b1.nmis_injected, 0); /* the kick was not the guest's NMI */
	/* The second SIPI of INIT-SIPI-SIPI finds the VP running: ignored. */
	smp_icr_write(&vp0, 0xc4687, false);
	smp_before_entry(&vp1);
	CHECK_EQ(b1.states_loaded, 1);
}

TEST(smp_physical_destinations_and_other_ipis)
{
	setup();
	/* INIT to APIC ID 1 (physical destination in ICR high), x2APIC form. */
	smp_icr_write(&vp0, (1ull << 32) | 0x4500, true);
	CHECK_EQ(vp1.init_pending, 1);
	/* A fixed IPI goes to the hardware as written. */
	fake_icr_count = 0;
	smp_icr_write(&vp0, (1ull << 32) | 0x00f0, true);
	CHECK_EQ(fake_icr_count, 1);
	CHECK_EQ(fake_icr_writes[0], (1ull << 32) | 0x00f0);
	CHECK_EQ(vp1.kicks_pending, 1);
	/* INIT level de-assert is a no-op. */
	setup();
	smp_icr_write(&vp0, 0xc8500, false);
	CHECK_EQ(vp1.init_pending, 0);
	CHECK_EQ(fake_icr_count, 0);
	/* INIT to self. */
	smp_icr_write(&vp0, 0x44500, false);
	CHECK_EQ(vp0.init_pending, 1);
	CHECK_EQ(fake_icr_count, 0); /* no kick for oneself */
	/* A logical destination is refused, not sent physically. */
	setup();
	smp_icr_write(&vp0, (0x02ull << 56) | 0x4d00, false);
	CHECK_EQ(vp1.init_pending, 0);
	CHECK_EQ(fake_icr_count, 0);
}

TEST(smp_nmi_kick_accounting)
{
	setup();
	/* An NMI with no kick outstanding is the guest's: injected. */
	vp1.host_nmi = 1;
	smp_before_entry(&vp1);
	CHECK_EQ(b1.nmis_injected, 1);
	/* Two kicks merged into one NMI: no injection, one kick left over. */
	vp1.kicks_pending = 2;
	vp1.host_nmi = 1;
	smp_before_entry(&vp1);
	CHECK_EQ(b1.nmis_injected, 1);
	CHECK_EQ(vp1.kicks_pending, 1);
	/* An NMI exit marks host_nmi for the same accounting. */
	struct hv_exit e = { .reason = HV_EXIT_NMI };
	CHECK_EQ(hv_handle_nmi(&vp1, &e), HV_ACT_RESUME);
	CHECK_EQ(vp1.host_nmi, 1);
	/* A SIPI without INIT is ignored by a running VP. */
	vp1.sipi = 0x100 | 0x10;
	vp1.host_nmi = 0;
	smp_before_entry(&vp1);
	CHECK_EQ(b1.states_loaded, 0);
	CHECK_EQ(vp1.sipi, 0);
}
