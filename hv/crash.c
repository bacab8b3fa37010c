/*
 * crash.c - the guest crash enlightenment (TLFS 4.3) and the reset MSR
 * (appendix C, HV_X64_MSR_RESET).
 *
 * CRASH_P0-P4 hold the guest's crash parameters; reading CRASH_CTL reports
 * what we support (CrashNotify, CrashMessage); writing CrashNotify logs the
 * parameters over serial, and with CrashMessage also the message at GPA P3
 * of length P4 (at most 4096 bytes; it must be ordinary guest RAM).
 *
 * A module (include/hv/module.h): its MSR rows are registered here, not in
 * a central table.
 */
#include "vp.h"
#include "hw.h"
#include "log.h"
#include "module.h"
#include "vpregs.h"
#include "overlay.h"
#include "tlfs.h"

#define CRASH_MSG_MAX 4096

static int crash_msr_crash_read(struct vp *vp, u32 msr, u64 *val)
{
	struct partition *p = vp->part;
	*val = msr == HV_X64_MSR_CRASH_CTL ? HV_CRASH_CTL_NOTIFY | HV_CRASH_CTL_NOTIFY_MSG
					   : p->crash_p[msr - HV_X64_MSR_CRASH_P0];
	return 0;
}

/* Print the message a line at a time, as printable ASCII only. */
static void log_message(struct partition *p, u64 gpa, u64 len)
{
	char line[161];
	size_t n = 0;
	if (len > CRASH_MSG_MAX)
		len = CRASH_MSG_MAX;
	for (u64 off = 0; off < len;) {
		/* One page piece at a time: each must be guest RAM. */
		u64 chunk = PAGE_SIZE - ((gpa + off) & (PAGE_SIZE - 1));
		if (chunk > len - off)
			chunk = len - off;
		u64 base = ALIGN_DOWN(gpa + off, 8);
		if (gmem_check_param(p, base, ALIGN_UP(gpa + off + chunk, 8) - base)) {
			LOGE("guest crash message at %lx is not in guest RAM", (unsigned long)(gpa + off));
			return;
		}
		const u8 *m = hw_gpa_ptr(gpa + off);
		for (u64 i = 0; i < chunk; i++) {
			u8 ch = m[i];
			if (ch == '\n' || n == sizeof(line) - 1) {
				line[n] = '\0';
				LOGE("guest crash message: %s", line);
				n = 0;
			}
			if (ch == '\0') {
				off = len;
				break;
			}
			if (ch != '\n' && ch != '\r')
				line[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '.';
		}
		if (off < len)
			off += chunk;
	}
	if (n) {
		line[n] = '\0';
		LOGE("guest crash message: %s", line);
	}
}

static int crash_msr_crash_write(struct vp *vp, u32 msr, u64 val)
{
	struct partition *p = vp->part;
	if (msr != HV_X64_MSR_CRASH_CTL) {
		p->crash_p[msr - HV_X64_MSR_CRASH_P0] = val;
		return 0;
	}
	if (val & ~(HV_CRASH_CTL_NOTIFY | HV_CRASH_CTL_NOTIFY_MSG))
		return 1; /* reserved bits */
	if (!(val & HV_CRASH_CTL_NOTIFY))
		return 0;
	const u64 *c = p->crash_p;
	LOGE("guest crash notification from vp%u: P0 %lx P1 %lx P2 %lx P3 %lx P4 %lx", vp->index,
	     (unsigned long)c[0], (unsigned long)c[1], (unsigned long)c[2], (unsigned long)c[3],
	     (unsigned long)c[4]);
	if (val & HV_CRASH_CTL_NOTIFY_MSG)
		log_message(p, c[3], c[4]);
	vp_dump_counters(vp);
	return 0;
}

static int crash_msr_reset_read(struct vp *vp, u32 msr, u64 *val)
{
	*val = 0;
	return 0;
}

/* Bit 0 resets the system; the other bits are reserved. */
static int crash_msr_reset_write(struct vp *vp, u32 msr, u64 val)
{
	const struct partition *p = vp->part;
	if (val & ~1ull)
		return 1;
	if (!val)
		return 0;
	LOGI("guest resets the system through HV_X64_MSR_RESET");
	vp_dump_counters(vp);
	if (p->reset_port)
		hw_io_out(p->reset_port, 1, p->reset_value);
	hw_io_out(0xcf9, 1, 0x02);
	hw_io_out(0xcf9, 1, 0x06);
	return 0; /* only reached if the platform did not reset (host tests) */
}

HV_MSR_ROWS(crash_msrs) = {
	{ HV_X64_MSR_RESET, HV_X64_MSR_RESET, HV_ACCESS_RESET_REG, 0,
	  crash_msr_reset_read, crash_msr_reset_write, "RESET" },
	{ HV_X64_MSR_CRASH_P0, HV_X64_MSR_CRASH_CTL, 0, HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE,
	  crash_msr_crash_read, crash_msr_crash_write, "CRASH" },
};

/* TLFS 7.8.2: the crash MSRs as VP registers. */
HV_VPREG_ROWS(crash_vpregs) = {
	{ 0x00000210, HV_X64_MSR_CRASH_P0, false, "GuestCrashP0" },
	{ 0x00000211, HV_X64_MSR_CRASH_P0 + 1, false, "GuestCrashP1" },
	{ 0x00000212, HV_X64_MSR_CRASH_P0 + 2, false, "GuestCrashP2" },
	{ 0x00000213, HV_X64_MSR_CRASH_P3, false, "GuestCrashP3" },
	{ 0x00000214, HV_X64_MSR_CRASH_P4, false, "GuestCrashP4" },
	{ 0x00000215, HV_X64_MSR_CRASH_CTL, false, "GuestCrashCtl" },
};
