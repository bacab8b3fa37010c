/* test_dispatch.c - the exit dispatcher (hv/dispatch.c): routing, RIP
 * advance in one place, counters, the recent-exit ring, fatal on unknown
 * exits; and the I/O (hv/io.c) and second-level fault (hv/npf.c) handlers. */
#include "htest.h"
#include "fakes.h"
#include "log.h"
#include <string.h>

static struct partition part;
static struct vp vp;
static struct fake_be_state bes;

static void setup(void)
{
	partition_init(&part, &fake_backend, 36, 0x1000000, 0x200000);
	part.pm1a_cnt_port = 0x604;
	part.reset_port = 0xcf9;
	part.reset_value = 0x6;
	fake_vp_init(&vp, &part, &bes);
	fake_serial_reset();
	fake_io_writes = 0;
	fake_log_init();
}

/* Run the dispatcher; returns 1 if it ended in vp_fatal. */
static int dispatch(struct hv_exit *e)
{
	fake_fatal_armed = 1;
	if (setjmp(fake_fatal_jmp)) {
		fake_fatal_armed = 0;
		return 1;
	}
	dispatch_exit(&vp, e);
	fake_fatal_armed = 0;
	return 0;
}

TEST(dispatch_routes_and_counts)
{
	setup();
	struct hv_exit e = { .reason = HV_EXIT_CPUID, .insn_len = 2 };
	vp.gpr[GPR_RAX] = 0x40000001;
	bes.regs[GREG_RIP] = 0x1000;
	CHECK_EQ(dispatch(&e), 0);
	CHECK_EQ(vp.gpr[GPR_RAX], 0x31237648);
	CHECK_EQ(bes.advanced, 1);
	CHECK_EQ(vp.exits, 1);
	CHECK_EQ(vp.exit_count[HV_EXIT_CPUID], 1);
	CHECK_EQ(vp.ring[0].rip, 0x1000);
	CHECK_EQ(vp.ring[0].reason, HV_EXIT_CPUID);
	/* Injected exceptions do not advance RIP. */
	e = (struct hv_exit){ .reason = HV_EXIT_VIRT_INSN, .insn_len = 3 };
	CHECK_EQ(dispatch(&e), 0);
	CHECK_EQ(bes.advanced, 1);
	CHECK_EQ(bes.injected_vector, 6);
	e = (struct hv_exit){ .reason = HV_EXIT_HYPERCALL, .insn_len = 3 };
	bes.injected_vector = -1;
	CHECK_EQ(dispatch(&e), 0);
	CHECK_EQ(bes.injected_vector, 6); /* no hypercall page offered: #UD */
	vp_dump_counters(&vp);
	CHECK(strstr(fake_serial, "exit counters vp0: total=3 cpuid=1 hypercall=1 virt_insn=1"));
}

TEST(dispatch_unknown_exit_is_fatal)
{
	setup();
	fake_fatal_count = 0;
	struct hv_exit e = { .reason = HV_EXIT_UNKNOWN, .raw = 0x77 };
	CHECK_EQ(dispatch(&e), 1);
	CHECK_EQ(fake_fatal_count, 1);
	CHECK_EQ(bes.dumps, 1);
	CHECK(strstr(fake_serial, "PANIC: unhandled exit: exit unknown (raw 77"));
	CHECK(strstr(fake_serial, "recent exits"));
	e = (struct hv_exit){ .reason = HV_EXIT_ENTRY_FAIL };
	CHECK_EQ(dispatch(&e), 1);
	e = (struct hv_exit){ .reason = (enum hv_exit_reason)200 }; /* out of range */
	CHECK_EQ(dispatch(&e), 1);
	CHECK_EQ(vp.exit_count[HV_EXIT_UNKNOWN], 2);
}

TEST(dispatch_ring_wraps)
{
	setup();
	for (int i = 0; i < HV_EXIT_RING + 5; i++) {
		struct hv_exit e = { .reason = HV_EXIT_CPUID, .insn_len = 2 };
		bes.regs[GREG_RIP] = (u64)i;
		vp.gpr[GPR_RAX] = 0;
		dispatch(&e);
	}
	vp_dump_recent(&vp);
	CHECK(strstr(fake_serial, "#6 ") != NULL);
	CHECK(strstr(fake_serial, "#5 ") == NULL); /* oldest dropped */
}

TEST(io_poweroff_and_reset_dump_counters)
{
	setup();
	struct hv_exit e = { .reason = HV_EXIT_IO, .insn_len = 1 };
	e.u.io.port = 0x604;
	e.u.io.size = 2;
	vp.gpr[GPR_RAX] = 0xdead0000 | 0x2001; /* SLP_EN */
	CHECK_EQ(dispatch(&e), 0);
	CHECK_EQ(fake_io_last_port, 0x604);
	CHECK_EQ(fake_io_last_val, 0x2001); /* forwarded unchanged, size-masked */
	CHECK(strstr(fake_serial, "ACPI sleep state 0"));
	CHECK(strstr(fake_serial, "exit counters"));
	/* A byte write to the high half also counts (PM1 is 16-bit). */
	fake_serial_reset();
	e.u.io.port = 0x605;
	e.u.io.size = 1;
	vp.gpr[GPR_RAX] = 0x34; /* SLP_TYP 5, SLP_EN */
	dispatch(&e);
	CHECK(strstr(fake_serial, "ACPI sleep state 5"));
	/* Without SLP_EN: passed through unchanged, the counters logged
	 * (a test's marker, tests/linux/idle-exits.sh), at most 16 times in
	 * all: then silently. */
	e.u.io.port = 0x604;
	e.u.io.size = 2;
	vp.gpr[GPR_RAX] = 0x1;
	int logged = 0;
	for (int i = 0; i < 20; i++) {
		fake_serial_reset();
		fake_io_last_val = 0;
		dispatch(&e);
		CHECK_EQ(fake_io_last_val, 0x1);
		if (fake_serial_len) {
			CHECK(strstr(fake_serial, "PM1 control (port 604 <- 1, no sleep)"));
			CHECK(strstr(fake_serial, "exit counters"));
			logged++;
		}
	}
	CHECK_EQ(logged, 16);
	fake_serial_reset();
	dispatch(&e);
	CHECK_EQ(fake_serial_len, 0);
	e.u.io.port = 0xcf9;
	e.u.io.size = 1;
	vp.gpr[GPR_RAX] = 0x6;
	dispatch(&e);
	CHECK(strstr(fake_serial, "guest resets the system"));
	/* IN merges into RAX by size. */
	e.u.io.in = true;
	vp.gpr[GPR_RAX] = 0x1111111111111111ull;
	dispatch(&e);
	CHECK_EQ(vp.gpr[GPR_RAX], 0x111111111111115aull);
	/* String I/O on an intercepted port is not emulated: #GP, never a
	 * parked processor (it used to be fatal; found by fuzzing). */
	e.u.io.string = true;
	bes.injected_vector = -1;
	CHECK_EQ(dispatch(&e), 0);
	CHECK_EQ(bes.injected_vector, 13);
	CHECK(strstr(fake_serial, "string I/O on port cf9"));
	e.u.io.string = false;
	e.u.io.rep = true;
	bes.injected_vector = -1;
	CHECK_EQ(dispatch(&e), 0);
	CHECK_EQ(bes.injected_vector, 13);
}

TEST(npf_hidden_memory_contained)
{
	setup();
	struct hv_exit e = { .reason = HV_EXIT_NPF };
	e.u.npf.gpa = 0x1000000 + 0x1ff8;
	e.u.npf.write = true;
	CHECK_EQ(dispatch(&e), 0);
	CHECK_EQ(bes.injected_vector, 13);
	CHECK_EQ(bes.advanced, 0);
	CHECK(strstr(fake_serial, "guest write of hypervisor memory at 1001ff8"));
	/* Logging is rate-limited; containment is not. */
	for (int i = 0; i < 20; i++) {
		bes.injected_vector = -1;
		dispatch(&e);
		CHECK_EQ(bes.injected_vector, 13);
	}
	e.u.npf.gpa = 0x1000000 + 0x200000; /* one past the end: not hidden */
	CHECK_EQ(dispatch(&e), 0);
	CHECK_EQ(bes.slat_maps, 1);
}

TEST(npf_lazy_mapping_and_limits)
{
	setup();
	struct hv_exit e = { .reason = HV_EXIT_NPF };
	e.u.npf.gpa = 0x800000000ull; /* 64-bit MMIO window */
	CHECK_EQ(dispatch(&e), 0);
	CHECK_EQ(bes.slat_maps, 1);
	CHECK_EQ(bes.last_slat_gpa, 0x800000000ull);
	CHECK_EQ(bes.injected_vector, -1);
	/* Beyond MAXPHYADDR (36 here), or a present-entry fault: fatal. */
	e.u.npf.gpa = 1ull << 36;
	CHECK_EQ(dispatch(&e), 1);
	e.u.npf.gpa = 0x2000;
	e.u.npf.present = true;
	CHECK_EQ(dispatch(&e), 1);
	/* Out of table memory: fatal, not a silent loop. */
	e.u.npf.present = false;
	e.u.npf.gpa = 0x900000000ull;
	bes.slat_fail = 1;
	CHECK_EQ(dispatch(&e), 1);
}

TEST(shutdown_resets)
{
	setup();
	struct hv_exit e = { .reason = HV_EXIT_SHUTDOWN };
	CHECK_EQ(dispatch(&e), 1); /* reset does not happen on the host */
	CHECK_EQ(fake_io_last_port, 0xcf9);
	CHECK(strstr(fake_serial, "guest triple fault"));
}

TEST(io_intercepted_ports)
{
	setup();
	u16 ports[IO_INTERCEPTS_MAX];
	/* q35: PM1a at 0x604, reset register 0xCF9 (a PCI configuration
	 * port: not intercepted, or every 0xCF8 access would exit). */
	part.pm1a_cnt_port = 0x604;
	part.reset_port = 0xcf9;
	CHECK_EQ(io_intercepts(&part, ports), 2);
	CHECK(ports[0] == 0x604 && ports[1] == 0x605);
	part.reset_port = 0x92; /* elsewhere: intercepted */
	part.pm1b_cnt_port = 0x704;
	CHECK_EQ(io_intercepts(&part, ports), 5);
	CHECK(ports[4] == 0x92);
	part.pm1a_cnt_port = part.pm1b_cnt_port = part.reset_port = 0; /* no FADT */
	CHECK_EQ(io_intercepts(&part, ports), 0);
}
