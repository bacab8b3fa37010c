/* test_msr.c - synthetic MSR gating (hv/msr.c, TLFS 4.2.2) and native
 * passthrough of other intercepted MSRs. */
#include "htest.h"
#include "fakes.h"
#include <string.h>
#include "tlfs.h"

static struct partition part;
static struct vp vp;
static struct fake_be_state bes;

static void setup(void)
{
	partition_init(&part, &fake_backend, 48, 0, 0);
	fake_vp_init(&vp, &part, &bes);
	fake_msr_reset();
}

static enum hv_action rd(u32 msr)
{
	struct hv_exit e = { .reason = HV_EXIT_MSR_READ };
	e.u.msr.index = msr;
	bes.injected_vector = -1;
	return hv_handle_msr_read(&vp, &e);
}

static enum hv_action wr(u32 msr, u64 val)
{
	struct hv_exit e = { .reason = HV_EXIT_MSR_WRITE };
	e.u.msr.index = msr;
	e.u.msr.value = val;
	bes.injected_vector = -1;
	return hv_handle_msr_write(&vp, &e);
}

TEST(msr_privileges_match_implementation)
{
	setup();
	/* Implemented: GUEST_OS_ID + HYPERCALL (bit 5), VP_INDEX (bit 6),
	 * TIME_REF_COUNT (1), REFERENCE_TSC (9), TSC/APIC_FREQUENCY (11 and
	 * feature EDX 8), RESET (7), EOI/ICR/TPR/VP_ASSIST (4), the crash MSRs
	 * (feature EDX 10), VP_RUNTIME (0), GUEST_IDLE (10, feature EDX 5).
	 * SCONTROL-EOM and SINT0-15 (2, synic/synic.c).
	 * Not synthetic timers, debug or reenlightenment. */
	const u64 msr_privs = HV_ACCESS_HYPERCALL_MSRS | HV_ACCESS_VP_INDEX |
			      HV_ACCESS_PARTITION_REFERENCE_COUNTER |
			      HV_ACCESS_PARTITION_REFERENCE_TSC | HV_ACCESS_FREQUENCY_REGS |
			      HV_ACCESS_RESET_REG | HV_ACCESS_INTR_CTRL_REGS |
			      HV_ACCESS_VP_RUNTIME | HV_ACCESS_GUEST_IDLE_REG |
			      HV_ACCESS_SYNIC_REGS;
	const u32 msr_features = HV_FEATURE_FREQUENCY_MSRS | HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE |
				 HV_FEATURE_GUEST_IDLE_STATE;
	CHECK_EQ(msr_privileges(), msr_privs);
	CHECK_EQ(msr_features_edx(), msr_features);
	CHECK_EQ(part.privileges & 0xffffffff, msr_privs);
	/* A backend that cannot map overlays gets no hypercall interface. */
	struct backend weak = fake_backend;
	weak.slat_set_page = NULL;
	partition_init(&part, &weak, 48, 0, 0);
	CHECK_EQ(part.privileges, msr_privs & ~HV_ACCESS_HYPERCALL_MSRS);
	CHECK_EQ(part.features_edx, msr_features);
	CHECK_EQ(part.spin_retries, 0xffffffffu);
	CHECK_EQ(part.recommendations, 0x8); /* APIC MSRs need no hypercall page */
}

TEST(msr_synthetic_range_gp)
{
	setup();
	const u32 msrs[] = { HV_X64_MSR_STIMER3_COUNT, HV_X64_MSR_SVERSION, HV_X64_MSR_SCONTROL,
			     HV_X64_MSR_SINT15, HV_X64_MSR_STIMER0_CONFIG, 0x40000004, 0x400000ff,
			     0x40001000, 0x4fffffff };
	for (unsigned i = 0; i < sizeof(msrs) / 4; i++) {
		CHECK_EQ(rd(msrs[i]), HV_ACT_INJECTED);
		CHECK_EQ(bes.injected_vector, 13);
		CHECK(bes.injected_has_error && bes.injected_error == 0);
		CHECK_EQ(wr(msrs[i], 0), HV_ACT_INJECTED);
		CHECK_EQ(bes.injected_vector, 13);
	}
	/* Even with every privilege granted, an unimplemented MSR is #GP. */
	part.privileges = ~0ull;
	part.features_edx = ~0u;
	CHECK_EQ(rd(HV_X64_MSR_SCONTROL), HV_ACT_INJECTED);
	/* An implemented MSR without its privilege is #GP too. */
	part.privileges = ~HV_ACCESS_VP_INDEX;
	CHECK_EQ(rd(HV_X64_MSR_VP_INDEX), HV_ACT_INJECTED);
	CHECK_EQ(bes.injected_vector, 13);
	part.privileges = HV_ACCESS_VP_INDEX;
	CHECK_EQ(rd(HV_X64_MSR_VP_INDEX), HV_ACT_ADVANCE);
}

TEST(msr_native_passthrough)
{
	setup();
	fake_msr_set(0x1234, 0x1122334455667788ull);
	vp.gpr[GPR_RAX] = vp.gpr[GPR_RDX] = ~0ull;
	CHECK_EQ(rd(0x1234), HV_ACT_ADVANCE);
	CHECK_EQ(vp.gpr[GPR_RAX], 0x55667788);
	CHECK_EQ(vp.gpr[GPR_RDX], 0x11223344);
	CHECK_EQ(wr(0x1234, 42), HV_ACT_ADVANCE);
	CHECK_EQ(fake_msr_get(0x1234), 42);
	/* A native fault becomes the guest's #GP, never the host's. */
	CHECK_EQ(rd(0x9999), HV_ACT_INJECTED);
	CHECK_EQ(bes.injected_vector, 13);
	CHECK_EQ(wr(0x9999, 1), HV_ACT_INJECTED);
}

static int zero_read(struct vp *v, u32 msr, u64 *val)
{
	*val = 0;
	return 0;
}

/* find_synth looks MSRs up in an index built from the registered rows: no
 * overlaps, all in a window, all with handlers. */
TEST(msr_table_sorted)
{
	CHECK_EQ(msr_table_init(), 0);
	/* What a module could get wrong is refused at start. */
	static const struct hv_msr_row good[] = {
		{ 0x40000010, 0x40000013, 0, 0, zero_read, msr_read_only, "A" },
		{ 0x40001080, 0x40001080, 0, 0, zero_read, msr_read_only, "nested SynIC" },
	};
	static const struct hv_msr_row overlap[] = {
		{ 0x40000010, 0x40000013, 0, 0, zero_read, msr_read_only, "A" },
		{ 0x40000013, 0x40000014, 0, 0, zero_read, msr_read_only, "B" },
	};
	static const struct hv_msr_row no_handler[] = { { 0x40000010, 0x40000010, 0, 0, zero_read, NULL, "C" } };
	static const struct hv_msr_row outside[] = { { 0x400001ff, 0x40000200, 0, 0, zero_read, msr_read_only, "D" } };
	static const struct hv_msr_row reversed[] = { { 0x40000011, 0x40000010, 0, 0, zero_read, msr_read_only, "E" } };
	fake_serial_reset();
	CHECK_EQ(msr_rows_index(good, 2), 0);
	CHECK(msr_rows_index(overlap, 2) != 0);
	CHECK(strstr(fake_serial, "rows A and B overlap") != NULL);
	CHECK(msr_rows_index(no_handler, 1) != 0);
	CHECK(msr_rows_index(outside, 1) != 0);
	CHECK(msr_rows_index(reversed, 1) != 0);
	CHECK_EQ(msr_table_init(), 0);
}
