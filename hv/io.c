/*
 * io.c - port I/O exits. The hypervisor intercepts only the ports through
 * which the guest turns the machine off (the FADT's PM1 control registers)
 * or resets it (the FADT reset register, when it is not a PCI
 * configuration port), to print the exit counters before the platform goes
 * away (and at any other PM1 control write: a marker a test can set); the
 * access itself is then passed to the hardware unchanged.
 */
#include "io.h"
#include "backend.h"
#include "hw.h"
#include "module.h"
#include "log.h"

#define PM1_SLP_EN BIT(13) /* ACPI 4.8.3.2.1 */
#define PM1_MARKS 16       /* PM1 control writes without SLP_EN logged */

/* The ports the backends intercept: both bytes of the FADT's PM1 control
 * registers (the power-off dump), and the FADT reset register unless it is
 * one of the PCI configuration ports 0xCF8-0xCFF (0xCF9 on q35). An I/O
 * permission bitmap is checked for every byte an access covers, so
 * intercepting 0xCF9 also traps every 32-bit access to 0xCF8, that is
 * every PCI configuration access: 25,000 exits in one Linux boot. A reset
 * through 0xCF9 goes unlogged; HV_X64_MSR_RESET is logged. */
u32 io_intercepts(const struct partition *p, u16 ports[IO_INTERCEPTS_MAX])
{
	u32 n = 0;
	const u16 cand[] = { p->pm1a_cnt_port, p->pm1a_cnt_port ? (u16)(p->pm1a_cnt_port + 1) : 0,
			     p->pm1b_cnt_port, p->pm1b_cnt_port ? (u16)(p->pm1b_cnt_port + 1) : 0,
			     p->reset_port >= 0xcf8 && p->reset_port <= 0xcff ? 0 : p->reset_port };
	for (u32 i = 0; i < ARRAY_SIZE(cand); i++)
		if (cand[i])
			ports[n++] = cand[i];
	return n;
}

/* Ask the backend for those ports' exits, once per VP. */
int io_request_intercepts(struct vp *vp)
{
	u16 ports[IO_INTERCEPTS_MAX];
	for (u32 i = 0, n = io_intercepts(vp->part, ports); i < n; i++)
		if (vp->part->be->io_intercept(vp, ports[i], true))
			return -1;
	/* The debugger's UART (hv.cfg gdb=, docs/debugging.md): 8 ports the
	 * guest must neither see nor disturb (a stock Linux probes COM2). */
	for (u16 i = 0; vp->part->gdb_port && i < 8; i++)
		if (vp->part->be->io_intercept(vp, (u16)(vp->part->gdb_port + i), true))
			return -1;
	return 0;
}

static u32 io_mask(u8 size) { return size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff; }

/* The 16-bit PM1 control value this access writes, if it hits port pm1. */
static bool pm1_write(u16 pm1, u16 port, u32 val, u32 *pm1_val)
{
	if (!pm1)
		return false;
	if (port == pm1) {
		*pm1_val = val;
		return true;
	}
	if (port == pm1 + 1) {
		*pm1_val = val << 8;
		return true;
	}
	return false;
}

enum hv_action hv_handle_io(struct vp *vp, struct hv_exit *e)
{
	const struct partition *p = vp->part;
	u16 port = e->u.io.port;
	u8 size = e->u.io.size;

	if (size != 1 && size != 2 && size != 4)
		vp_fatal(vp, e, "I/O exit with an impossible size");
	/* INS/OUTS (REP or not) on these ports: legal for the guest, but not
	 * emulated (the exit carries neither the segment nor the address
	 * size): #GP(0), as for the stores the xAPIC emulation does not
	 * cover (docs/smp.md), logged; never a parked processor (found by
	 * fuzzing, docs/reliability.md). */
	if (e->u.io.string || e->u.io.rep) {
		static u32 logged;
		if (__atomic_fetch_add(&logged, 1, __ATOMIC_RELAXED) < 8)
			LOGW("string I/O on port %x (intercepted): not emulated, #GP injected", port);
		vp_inject_gp(vp);
		return HV_ACT_INJECTED;
	}
	/* The debugger's UART: no device there for the guest, even for an
	 * access that only overlaps it: writes go nowhere, reads float high
	 * (0xFF), so an OS probe (Linux's 8250 IER test) finds no UART. One
	 * exception: the line status register reads 0x60 (transmitter empty,
	 * no data), because the firmware drove that UART before the launch
	 * and still polls it: an LSR of 0xFF says "data ready" forever, and
	 * OVMF's terminal driver then reads 0xFF bytes in a loop (a hang at
	 * the Linux EFI stub's first line). docs/debugging.md. */
	if (p->gdb_port && port + size > p->gdb_port && port < p->gdb_port + 8) {
		if (e->u.io.in) {
			u32 v = io_mask(size);
			for (u32 b = 0; b < size; b++)
				if (port + b == (u32)p->gdb_port + 5)
					v &= ~(0x9fu << (8 * b)); /* LSR = 0x60 */
			vp->gpr[GPR_RAX] = (vp->gpr[GPR_RAX] & ~(u64)io_mask(size)) | v;
		}
		return HV_ACT_ADVANCE;
	}
	if (e->u.io.in) {
		u32 v = hw_io_in(port, size);
		vp->gpr[GPR_RAX] = (vp->gpr[GPR_RAX] & ~(u64)io_mask(size)) | v;
		return HV_ACT_ADVANCE;
	}
	u32 val = (u32)vp->gpr[GPR_RAX] & io_mask(size), pm1;
	if ((pm1_write(p->pm1a_cnt_port, port, val, &pm1) ||
	     pm1_write(p->pm1b_cnt_port, port, val, &pm1)) && (pm1 & PM1_SLP_EN)) {
		LOGI("guest enters ACPI sleep state %u (PM1 port %x <- %x)", (pm1 >> 10) & 7, port, val);
		vp_dump_counters(vp);
		vp_dump_others(vp);
	} else if (pm1_write(p->pm1a_cnt_port, port, val, &pm1) ||
		   pm1_write(p->pm1b_cnt_port, port, val, &pm1)) {
		/* Without SLP_EN: a marker (tests/linux/hvtool.c `mark`, the
		 * start of tests/linux/idle-exits.sh's idle; operating systems
		 * write PM1 control rarely otherwise: SCI_EN, SLP_TYP before
		 * SLP_EN). At most PM1_MARKS times: a guest writing it in a loop
		 * must not keep the processor at the serial port. */
		static u32 marks;
		if (__atomic_fetch_add(&marks, 1, __ATOMIC_RELAXED) < PM1_MARKS) {
			LOGI("guest writes PM1 control (port %x <- %x, no sleep)", port, val);
			vp_dump_counters(vp);
		}
	} else if (port == p->reset_port && val == p->reset_value) {
		LOGI("guest resets the system (port %x <- %x)", port, val);
		vp_dump_counters(vp);
	}
	hw_io_out(port, size, val);
	return HV_ACT_ADVANCE;
}

HV_EXIT_HANDLER(exit_io, HV_EXIT_IO, hv_handle_io);

HV_MODULE(io, .on_vp_ready = io_request_intercepts);
