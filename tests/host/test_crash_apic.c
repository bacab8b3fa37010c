/* test_crash_apic.c - crash MSRs (TLFS 4.3), reset MSR, APIC MSRs (TLFS
 * 10.2.3) and the VP assist page (TLFS 7.8.7), through the MSR exit path. */
#include "htest.h"
#include "fakes.h"
#include "boot_info.h"
#include "log.h"
#include "tlfs.h"
#include <string.h>

static struct partition part;
static struct vp vp;
static struct fake_be_state bes;
static u8 assist[4096] __attribute__((aligned(4096)));
static const struct mem_range ranges[] = { { FAKE_RAM_BASE, FAKE_RAM_SIZE, MEM_RAM, 0 } };

static void setup(void)
{
	partition_init(&part, &fake_backend, 36, 0x200000, 0x100000);
	part.ranges = ranges;
	part.range_count = 1;
	part.reset_port = 0x64;
	part.reset_value = 0xfe;
	fake_vp_init(&vp, &part, &bes);
	partition_add_vp(&part, &vp);
	apic_assist_setup(&vp, assist);
	memset(fake_apic, 0, sizeof(fake_apic));
	fake_serial_reset();
	fake_io_writes = 0;
	fake_log_init();
}

static int wr(u32 msr, u64 v)
{
	struct hv_exit e = { .reason = HV_EXIT_MSR_WRITE };
	e.u.msr.index = msr;
	e.u.msr.value = v;
	bes.injected_vector = -1;
	return hv_handle_msr_write(&vp, &e) == HV_ACT_INJECTED ? bes.injected_vector : 0;
}

static int rd(u32 msr, u64 *v)
{
	struct hv_exit e = { .reason = HV_EXIT_MSR_READ };
	e.u.msr.index = msr;
	bes.injected_vector = -1;
	if (hv_handle_msr_read(&vp, &e) == HV_ACT_INJECTED)
		return bes.injected_vector;
	*v = (vp.gpr[GPR_RDX] << 32) | (u32)vp.gpr[GPR_RAX];
	return 0;
}

TEST(crash_msrs_notify_and_message)
{
	setup();
	u64 v;
	CHECK_EQ(rd(HV_X64_MSR_CRASH_CTL, &v), 0);
	CHECK_EQ(v, HV_CRASH_CTL_NOTIFY | HV_CRASH_CTL_NOTIFY_MSG);
	for (u32 i = 0; i < 5; i++)
		CHECK_EQ(wr(HV_X64_MSR_CRASH_P0 + i, 0x1000 + i), 0);
	CHECK_EQ(rd(HV_X64_MSR_CRASH_P0 + 2, &v), 0);
	CHECK_EQ(v, 0x1002);
	/* A message in guest RAM, crossing a page, with a newline. */
	u64 gpa = FAKE_RAM_BASE + 0x1000 - 8;
	memcpy(fake_ram + 0x1000 - 8, "Kernel panic\n - not syncing\x01!", 30);
	wr(HV_X64_MSR_CRASH_P3, gpa);
	wr(HV_X64_MSR_CRASH_P4, 30);
	CHECK_EQ(wr(HV_X64_MSR_CRASH_CTL, HV_CRASH_CTL_NOTIFY | HV_CRASH_CTL_NOTIFY_MSG), 0);
	CHECK(strstr(fake_serial, "guest crash notification from vp0: P0 1000 P1 1001 P2 1002"));
	CHECK(strstr(fake_serial, "guest crash message: Kernel panic\r\n"));
	CHECK(strstr(fake_serial, "guest crash message:  - not syncing.!"));
	CHECK(strstr(fake_serial, "exit counters"));
	/* Reserved bits: #GP. Without Notify: nothing logged. */
	CHECK_EQ(wr(HV_X64_MSR_CRASH_CTL, 1), 13);
	fake_serial_reset();
	CHECK_EQ(wr(HV_X64_MSR_CRASH_CTL, 0), 0);
	CHECK_EQ(fake_serial_len, 0);
	/* A message outside guest RAM (hypervisor memory), or too long. */
	wr(HV_X64_MSR_CRASH_P3, 0x200000);
	CHECK_EQ(wr(HV_X64_MSR_CRASH_CTL, HV_CRASH_CTL_NOTIFY | HV_CRASH_CTL_NOTIFY_MSG), 0);
	CHECK(strstr(fake_serial, "is not in guest RAM"));
	wr(HV_X64_MSR_CRASH_P3, FAKE_RAM_BASE);
	wr(HV_X64_MSR_CRASH_P4, ~0ull); /* clamped to 4096 bytes */
	memset(fake_ram, 'A', 8192);
	fake_serial_reset();
	wr(HV_X64_MSR_CRASH_CTL, HV_CRASH_CTL_NOTIFY | HV_CRASH_CTL_NOTIFY_MSG);
	size_t as = 0;
	for (size_t i = 0; i < fake_serial_len; i++)
		as += fake_serial[i] == 'A';
	CHECK_EQ(as, 4096);
}

TEST(reset_msr)
{
	setup();
	u64 v = 1;
	CHECK_EQ(rd(HV_X64_MSR_RESET, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(wr(HV_X64_MSR_RESET, 2), 13);
	CHECK_EQ(wr(HV_X64_MSR_RESET, 0), 0);
	CHECK_EQ(fake_io_writes, 0);
	CHECK_EQ(wr(HV_X64_MSR_RESET, 1), 0);
	CHECK(fake_io_writes >= 1);
	CHECK(strstr(fake_serial, "HV_X64_MSR_RESET"));
}

TEST(apic_msrs)
{
	setup();
	u64 v;
	CHECK_EQ(rd(HV_X64_MSR_EOI, &v), 13); /* write-only */
	fake_apic[0xb0 / 4] = 0x55;
	CHECK_EQ(wr(HV_X64_MSR_EOI, 0), 0);
	CHECK_EQ(fake_apic[0xb0 / 4], 0);
	CHECK_EQ(wr(HV_X64_MSR_EOI, 1ull << 32), 13);
	CHECK_EQ(wr(HV_X64_MSR_TPR, 0x20), 0);
	CHECK_EQ(fake_apic[0x80 / 4], 0x20);
	CHECK_EQ(rd(HV_X64_MSR_TPR, &v), 0);
	CHECK_EQ(v, 0x20);
	CHECK_EQ(wr(HV_X64_MSR_TPR, 0x100), 13);
	CHECK_EQ(wr(HV_X64_MSR_ICR, 0x0300000000004030ull), 0);
	CHECK_EQ(fake_apic[0x310 / 4], 0x03000000);
	CHECK_EQ(fake_apic[0x300 / 4], 0x4030);
	CHECK_EQ(rd(HV_X64_MSR_ICR, &v), 0);
	CHECK_EQ(v, 0x0300000000004030ull);
}

TEST(vp_assist_page)
{
	setup();
	u64 v;
	CHECK_EQ(rd(HV_X64_MSR_VP_ASSIST_PAGE, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(wr(HV_X64_MSR_VP_ASSIST_PAGE, 0x105000 | 1), 0);
	CHECK_EQ(bes.last_set_gpa, 0x105000);
	CHECK_EQ(bes.last_set_hpa, (u64)(uintptr_t)assist);
	CHECK_EQ(bes.last_set_acc, SLAT_RWX);
	CHECK_EQ(rd(HV_X64_MSR_VP_ASSIST_PAGE, &v), 0);
	CHECK_EQ(v, 0x105001);
	CHECK_EQ(wr(HV_X64_MSR_VP_ASSIST_PAGE, 0x105000), 0);
	CHECK_EQ(bes.last_set_hpa, 0x105000); /* RAM uncovered */
	CHECK_EQ(wr(HV_X64_MSR_VP_ASSIST_PAGE, (1ull << 36) | 1), 13);
	/* Without the privilege: #GP. */
	part.privileges &= ~HV_ACCESS_INTR_CTRL_REGS;
	CHECK_EQ(wr(HV_X64_MSR_VP_ASSIST_PAGE, 0x105001), 13);
	CHECK_EQ(wr(HV_X64_MSR_EOI, 0), 13);
}

TEST(guest_idle_and_vp_runtime)
{
	setup();
	part.tsc_hz = 1000000000;
	part.tsc_scale = time_scale(1000000000);
	u64 v = 1;
	fake_tsc = 1000;
	fake_tsc_step = 100;
	vp.start_tsc = 1000;
	fake_relax_count = 0;
	CHECK_EQ(rd(HV_X64_MSR_GUEST_IDLE, &v), 0); /* returns once an IRR bit is set */
	CHECK_EQ(v, 0);
	CHECK_EQ(fake_relax_count, 3);
	CHECK_EQ(vp.idle_count, 1);
	CHECK_EQ(vp.idle_ticks, 100); /* two TSC reads around the wait */
	/* Already pending: returns at once. */
	fake_relax_count = 0;
	rd(HV_X64_MSR_GUEST_IDLE, &v);
	CHECK_EQ(fake_relax_count, 0);
	CHECK_EQ(wr(HV_X64_MSR_GUEST_IDLE, 0), 13);
	/* Runtime excludes the idle time: 1 s of TSC minus idle. */
	fake_tsc = 1000 + 1000000000 + vp.idle_ticks - fake_tsc_step;
	CHECK_EQ(rd(HV_X64_MSR_VP_RUNTIME, &v), 0);
	CHECK(v >= 9999999 && v <= 10000000);
	CHECK_EQ(wr(HV_X64_MSR_VP_RUNTIME, 0), 13);
	fake_tsc_step = 1;
}
