/* test_backend.c - the pure parts of the backends (svm/, vmx/): MSR
 * permission-map and MSR-bitmap bit math, the VMX-preemption timer from a
 * TSC deadline, allowed-1 control bits, ASID/VPID allocation, the shared
 * second-level table operations (arch/x86_64/slat.c); and the hv/ side of
 * the backend ops: intercepts requested once per VP (hv/io.c, hv/smp.c),
 * the new neutral exits, a RIP advance the backend cannot make. */
#include "htest.h"
#include "fakes.h"
#include "log.h"
#include "../../svm/svm.h"
#include "../../vmx/vmx_caps.h"
#include <stdlib.h>
#include <string.h>

TEST(svm_msrpm_bits)
{
	/* APM 15.11: blocks of 0x2000 MSRs x 2 bits, 2 KiB apart. */
	CHECK_EQ(svm_msrpm_bit(0), 0);
	CHECK_EQ(svm_msrpm_bit(0x830), 0x830 * 2);          /* x2APIC ICR */
	CHECK_EQ(svm_msrpm_bit(0x1fff), 0x1fff * 2);
	CHECK_EQ(svm_msrpm_bit(0xc0000080), 0x800 * 8 + 0x80 * 2); /* EFER */
	CHECK_EQ(svm_msrpm_bit(0xc0010114), 2 * 0x800 * 8 + 0x114 * 2); /* VM_CR */
	CHECK_EQ(svm_msrpm_bit(0xc0010117), 2 * 0x800 * 8 + 0x117 * 2); /* VM_HSAVE_PA */
	/* Outside the blocks: always exits. */
	CHECK_EQ(svm_msrpm_bit(0x2000), -1);
	CHECK_EQ(svm_msrpm_bit(0x40000000), -1);
	CHECK_EQ(svm_msrpm_bit(0xc0002000), -1);
	CHECK_EQ(svm_msrpm_bit(0xc0012000), -1);
	/* The last bit is inside the 6 KiB of the three blocks (8 KiB map). */
	CHECK(svm_msrpm_bit(0xc0011fff) + 1 < 3 * 0x800 * 8);
}

TEST(vmx_msr_bitmap_bits)
{
	/* SDM 25.6.9: read-low 0, read-high 1 KiB (write halves +2 KiB). */
	CHECK_EQ(vmx_msr_bitmap_bit(0), 0);
	CHECK_EQ(vmx_msr_bitmap_bit(0x3a), 0x3a);           /* FEATURE_CONTROL */
	CHECK_EQ(vmx_msr_bitmap_bit(0x830), 0x830);
	CHECK_EQ(vmx_msr_bitmap_bit(0xc0000080), 1024 * 8 + 0x80);
	CHECK_EQ(vmx_msr_bitmap_bit(0xc0001fff), 2048 * 8 - 1); /* end of read-high */
	CHECK_EQ(vmx_msr_bitmap_bit(0x2000), -1);
	CHECK_EQ(vmx_msr_bitmap_bit(0x40000000), -1);
	CHECK_EQ(vmx_msr_bitmap_bit(0xc0010000), -1); /* AMD's third block: not on VMX */
}

TEST(vmx_preemption_timer_from_deadline)
{
	const u64 now = 1000000;
	/* IA32_VMX_MISC[4:0] = 5: one count per 32 TSC ticks, rounded up so
	 * the timer never expires before the deadline. */
	CHECK_EQ(vmx_preempt_ticks(now + 64, now, 5), 2);
	CHECK_EQ(vmx_preempt_ticks(now + 65, now, 5), 3);
	CHECK_EQ(vmx_preempt_ticks(now + 1, now, 5), 1);
	CHECK_EQ(vmx_preempt_ticks(now + 1000, now, 0), 1000);
	CHECK_EQ(vmx_preempt_ticks(now + 1000, now, 0xe0 | 3), 125); /* only bits 4:0 */
	/* Due: 0 (an entry with 0 exits before any guest instruction). */
	CHECK_EQ(vmx_preempt_ticks(now, now, 5), 0);
	CHECK_EQ(vmx_preempt_ticks(now - 1, now, 5), 0);
	/* Beyond 32 bits: saturated, expires early, armed again. */
	CHECK_EQ(vmx_preempt_ticks(~0ull, 0, 0), 0xffffffffu);
	CHECK_EQ(vmx_preempt_ticks(now + (1ull << 40), now, 5), 0xffffffffu);
	CHECK_EQ(vmx_preempt_ticks(now + (1ull << 36), now, 5), 1u << 31);
}

TEST(vmx_allowed1_controls)
{
	struct vmx_caps c = { 0 };
	c.pin = (u64)0x3f << 32;
	c.true_pin = (u64)0x7f << 32; /* preemption timer (bit 6) */
	c.proc = (u64)0x4 << 32;
	CHECK_EQ(vmx_allowed1(&c, VMX_CTL_PIN), 0x3f); /* no TRUE_* MSRs */
	CHECK_EQ(vmx_allowed1(&c, VMX_CTL_PROC), 0x4);
	c.basic = BIT(55);
	CHECK_EQ(vmx_allowed1(&c, VMX_CTL_PIN), 0x7f);
	CHECK_EQ(vmx_allowed1(&c, VMX_CTL_PROC), 0); /* true_proc unset */
}

TEST(backend_tag_allocation)
{
	/* ASID/VPID 0 is the host's; a limit of 4 leaves tags 1-3. */
	u32 next = 1;
	CHECK_EQ(be_tag_alloc(&next, 4), 1);
	CHECK_EQ(be_tag_alloc(&next, 4), 2);
	CHECK_EQ(be_tag_alloc(&next, 4), 3);
	CHECK_EQ(be_tag_alloc(&next, 4), 0);
	CHECK_EQ(be_tag_alloc(&next, 4), 0);
	u32 vpid = 1; /* VMX: 16-bit VPIDs */
	for (int i = 1; i < 0xffff; i++)
		be_tag_alloc(&vpid, 0x10000);
	CHECK_EQ(be_tag_alloc(&vpid, 0x10000), 0xffff);
	CHECK_EQ(be_tag_alloc(&vpid, 0x10000), 0);
}

static void *alloc_page(void *ctx)
{
	void *p = aligned_alloc(4096, 4096);
	memset(p, 0, 4096);
	return p;
}

TEST(slat_shared_ops)
{
	struct slat s;
	u64 base, size, pa, sz;
	CHECK_EQ(slat_init(&s, &slat_fmt_npt, alloc_page, NULL), 0);
	/* MMIO on first touch: the 2 MiB page around it (no 1G leaves). */
	CHECK_EQ(slat_map_identity_large(&s, 0x80123456, &base, &size), 0);
	CHECK_EQ(base, 0x80000000);
	CHECK_EQ(size, PAGE_2M);
	CHECK_EQ(slat_lookup(&s, 0x801fffff, &pa, &sz), 0);
	CHECK_EQ(pa, 0x801fffff);
	CHECK(slat_map_identity_large(&s, 0x80000000, &base, &size) != 0); /* already mapped */
	/* An overlay: read-only (no RW bit), then unmapped, then back. */
	CHECK_EQ(slat_set_access(&s, 0x80005000, 0x3000000, SLAT_RX), 0);
	CHECK_EQ(slat_lookup(&s, 0x80005010, &pa, &sz), 0);
	CHECK_EQ(pa, 0x3000010);
	CHECK_EQ(sz, PAGE_SIZE);
	CHECK_EQ(slat_set_access(&s, 0x80005000, 0, SLAT_NONE), 0);
	CHECK(slat_lookup(&s, 0x80005000, &pa, &sz) != 0);
	CHECK_EQ(slat_set_access(&s, 0x80005000, 0x80005000, SLAT_RWX), 0);
	CHECK_EQ(slat_lookup(&s, 0x80005000, &pa, &sz), 0);
	CHECK_EQ(pa, 0x80005000);
	/* The 1G format maps 1 GiB on first touch. */
	struct slat s1;
	CHECK_EQ(slat_init(&s1, &slat_fmt_ept_1g, alloc_page, NULL), 0);
	CHECK_EQ(slat_map_identity_large(&s1, 0x480000000ull + 5, &base, &size), 0);
	CHECK_EQ(base, 0x480000000ull);
	CHECK_EQ(size, PAGE_1G);
}

static struct partition part;
static struct vp vp;
static struct fake_be_state bes;

static void setup(void)
{
	partition_init(&part, &fake_backend, 36, 0x1000000, 0x200000);
	fake_vp_init(&vp, &part, &bes);
	fake_serial_reset();
	fake_log_init();
}

TEST(vp_context_zero_is_current)
{
	setup();
	CHECK(vp.cur == &vp.ctx[0]);
	CHECK(vp.be == vp.cur->be);
	CHECK(vp.cur->slat == &part.slat[0]);
	CHECK_EQ(vp.cur->vtl, 0);
}

TEST(hv_requests_its_intercepts)
{
	setup();
	/* hv/io.c: the PM1 control ports and a non-PCI reset port. */
	part.pm1a_cnt_port = 0x604;
	part.reset_port = 0xcf9; /* a PCI configuration port: not requested */
	CHECK_EQ(io_request_intercepts(&vp), 0);
	CHECK_EQ(bes.io_icpt_count, 2);
	CHECK(bes.io_icpt[0].index == 0x604 && bes.io_icpt[0].on);
	CHECK(bes.io_icpt[1].index == 0x605 && bes.io_icpt[1].on);
	bes.icpt_fail = 1;
	CHECK(io_request_intercepts(&vp) != 0);
	/* hv/smp.c: x2APIC ICR writes only. */
	CHECK_EQ(smp_request_intercepts(&vp), 0);
	CHECK_EQ(bes.msr_icpt_count, 1);
	CHECK_EQ(bes.msr_icpt[0].index, 0x830);
	CHECK_EQ(bes.msr_icpt[0].access, BE_INTERCEPT_WRITE);
	CHECK(bes.msr_icpt[0].on);
}

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

TEST(dispatch_window_and_deadline_resume)
{
	setup();
	struct hv_exit e = { .reason = HV_EXIT_DEADLINE };
	CHECK_EQ(dispatch(&e), 0);
	e = (struct hv_exit){ .reason = HV_EXIT_INTR_WINDOW };
	CHECK_EQ(dispatch(&e), 0);
	CHECK_EQ(bes.advanced, 0); /* RIP stays */
	CHECK_EQ(vp.exit_count[HV_EXIT_DEADLINE], 1);
	CHECK_EQ(vp.exit_count[HV_EXIT_INTR_WINDOW], 1);
	CHECK(!strcmp(vp_exit_name(HV_EXIT_DEADLINE), "deadline"));
	CHECK(!strcmp(vp_exit_name(HV_EXIT_INTR_WINDOW), "intr_window"));
}

TEST(dispatch_advance_failure_is_fatal)
{
	setup();
	bes.advance_fail = 1;
	struct hv_exit e = { .reason = HV_EXIT_CPUID };
	CHECK_EQ(dispatch(&e), 1);
	CHECK(strstr(fake_serial, "cannot advance RIP"));
}
