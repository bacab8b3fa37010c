/*
 * smp.c - INIT and SIPI between virtual processors (SDM 10.6.1, 8.4.4),
 * delivered in software. A physical INIT must never reach a virtualized
 * processor (QEMU's SVM resets it in host mode; real SVM hardware keeps an
 * intercepted INIT pending), so the guest's ICR writes are intercepted:
 * xAPIC through the second-level tables (the APIC page is read-only for
 * the guest; writes are emulated, see smp_apic_mmio_write), x2APIC through
 * the MSR bitmap (ICR, MSR 0x830, writes only), and the Hyper-V ICR MSR.
 * INIT and SIPI for a VP go into its mailbox and the VP is kicked with a
 * physical NMI; before its next entry it takes the INIT (wait-for-SIPI,
 * spinning in the host) and then the SIPI (the architectural INIT state,
 * real mode at vector << 12). Processors not virtualized yet (being
 * launched) get the physical IPI. All other IPIs go to the hardware as
 * written. docs/smp.md explains the design.
 */
#include "smp.h"
#include "apictimer.h"
#include "backend.h"
#include "boot_info.h"
#include "emulate.h"
#include "hw.h"
#include "kick.h"
#include "log.h"
#include "module.h"
#include "tlfs.h"
#include "x86.h"
#include "xcall.h"

#define ICR_MODE(lo) (((lo) >> 8) & 7)
#define ICR_MODE_NMI 4
#define ICR_MODE_INIT 5
#define ICR_MODE_SIPI 6
#define ICR_LOGICAL BIT(11)
#define ICR_LEVEL_ASSERT BIT(14)
#define ICR_TRIGGER_LEVEL BIT(15)
#define ICR_SHORTHAND(lo) (((lo) >> 18) & 3)
#define SIPI_VALID 0x100u

void smp_icr_write(struct vp *vp, u64 icr, bool x2)
{
	struct partition *p = vp->part;
	u32 lo = (u32)icr, mode = ICR_MODE(lo);

	if (mode != ICR_MODE_INIT && mode != ICR_MODE_SIPI) {
		hw_apic_write_icr(icr);
		return;
	}
	/* INIT level de-assert (level 0, level-triggered): a no-op on every
	 * processor since the P4 (SDM 10.6.1). */
	if (mode == ICR_MODE_INIT && !(lo & ICR_LEVEL_ASSERT) && (lo & ICR_TRIGGER_LEVEL))
		return;
	u32 sh = ICR_SHORTHAND(lo);
	u32 dest = x2 ? (u32)(icr >> 32) : (u32)(icr >> 56);
	if (sh == 0 && (lo & ICR_LOGICAL)) {
		LOGW("INIT/SIPI with a logical destination (%lx) is not supported: dropped",
		     (unsigned long)icr);
		return;
	}
	for (u32 i = 0; i < p->cpu_count; i++) {
		u32 apic = p->cpu_apic[i];
		bool self = apic == vp->apic_id;
		bool match = sh == 1 ? self : sh == 2 ? true : sh == 3 ? !self
			   : dest == apic || dest == (x2 ? 0xffffffffu : 0xffu);
		if (!match)
			continue;
		struct vp *t = p->cpu_vp[i];
		if (!t) { /* not virtualized (yet): the real thing is safe */
			LOGD("%s to processor %u (APIC %u): physical", mode == ICR_MODE_INIT ? "INIT" : "SIPI",
			     i, apic);
			kick_send_physical(vp, x2, apic, lo);
			continue;
		}
		LOGD("%s to VP %u (ICR %lx)", mode == ICR_MODE_INIT ? "INIT" : "SIPI", t->index,
		     (unsigned long)icr);
		if (mode == ICR_MODE_INIT) {
			__atomic_store_n(&t->init_pending, 1, __ATOMIC_SEQ_CST);
			t->init_count++;
		} else {
			__atomic_store_n(&t->sipi, (lo & 0xff) | SIPI_VALID, __ATOMIC_SEQ_CST);
		}
		if (t != vp)
			kick_send(vp, t);
	}
}

/* The architectural state after INIT and then SIPI with `vector` (SDM
 * 9.1.1, table 9-1): real mode, CS = vector << 8, IP = 0. */
static void init_sipi_state(struct vp *vp, u8 vector)
{
	struct guest_boot_state g = { 0 };
	u32 r[4];

	for (int i = 0; i < SEG__COUNT; i++)
		g.seg[i] = (struct seg_state){ 0, 0x93, 0xffff, 0 };
	g.seg[SEG_CS] = (struct seg_state){ (u16)(vector << 8), 0x9b, 0xffff, (u64)vector << 12 };
	g.seg[SEG_LDTR].attr = 0x82;
	g.seg[SEG_TR].attr = 0x8b;
	g.gdtr.limit = 0xffff;
	g.idtr.limit = 0xffff;
	g.rip = 0;
	g.rflags = 2;
	g.cr0 = 0x60000010; /* CD, NW, ET */
	g.dr6 = 0xffff0ff0;
	g.dr7 = 0x400;
	g.pat = 0x0007040600070406ull;
	for (int i = 0; i < GPR__COUNT; i++)
		vp->gpr[i] = 0;
	hw_cpuid(1, 0, r);
	vp->gpr[GPR_RDX] = r[0]; /* family/model/stepping */
	vp->part->be->vp_load_state(vp, &g);
	vp->sipi_count++;
}

/* Before an entry when the VP's mailbox has something (the core tests it,
 * vp_entry_pending): INIT and SIPI from the mailbox, cross-VP calls, NMIs
 * that arrived while the host ran. */
void smp_before_entry(struct vp *vp)
{
	xcall_service(vp);
	if (__atomic_exchange_n(&vp->init_pending, 0, __ATOMIC_SEQ_CST)) {
		LOGD("INIT: waiting for SIPI");
		vp->wait_sipi = true;
	}
	else if (!vp->wait_sipi && vp->sipi)
		__atomic_store_n(&vp->sipi, 0, __ATOMIC_SEQ_CST); /* ignored while running */
	while (vp->wait_sipi) {
		/* Wait-for-SIPI: a later INIT keeps waiting; SIPI starts. */
		__atomic_exchange_n(&vp->init_pending, 0, __ATOMIC_SEQ_CST);
		xcall_service(vp); /* other VPs may wait on us */
		u32 s = __atomic_exchange_n(&vp->sipi, 0, __ATOMIC_SEQ_CST);
		if (s & SIPI_VALID) {
			LOGD("SIPI: starting at %x:0000", (s & 0xff) << 8);
			vp->wait_sipi = false;
			init_sipi_state(vp, (u8)s);
			break;
		}
		hw_cpu_relax();
	}
	if (vp->host_nmi) {
		vp->host_nmi = 0;
		if (!kick_take(vp)) {
			/* Not a kick: the guest's own NMI. Logged once per
			 * VP: a kick mistaken for one would put an NMI into a
			 * guest that expects none. */
			if (!vp->guest_nmis++)
				LOGI("NMI for the guest (not a kick): injected");
			vp->part->be->inject_nmi(vp);
		}
	}
}

/* An NMI exit: a kick, or the guest's own NMI. smp_before_entry tells
 * them apart (VMX consumes the NMI with the exit; SVM took it in the host
 * already, which also set host_nmi). */
enum hv_action hv_handle_nmi(struct vp *vp, struct hv_exit *e)
{
	vp->host_nmi = 1;
	return HV_ACT_RESUME;
}

/* The exit this file needs from the backend, requested once per VP: x2APIC
 * ICR writes (MSR 0x830, inside the MSR bitmaps' range). */
int smp_request_intercepts(struct vp *vp)
{
	return vp->part->be->msr_intercept(vp, 0x830, BE_INTERCEPT_WRITE, true);
}

/* x2APIC ICR (MSR 0x830) writes. */
int smp_x2apic_icr_write(struct vp *vp, u64 val)
{
	if (!hw_x2apic_mode())
		return 1; /* #GP, as on hardware */
	smp_icr_write(vp, val, true);
	return 0;
}

/* One 32-bit xAPIC register (16-byte-aligned offset) written: the ICR
 * through smp_icr_write, the rest to the hardware as written. */
static void apic_reg_write(struct vp *vp, u32 reg, u32 val)
{
	apictimer_guest_write(vp, reg); /* a lent timer goes back first */
	if (reg == 0x300) {
		smp_icr_write(vp, ((u64)vp->icr_hi << 32) | val, false);
		return;
	}
	if (reg == 0x310)
		vp->icr_hi = val;
	hw_apic_write(reg, val);
}

/*
 * Loads and stores of any size and alignment on the xAPIC page, as the
 * registers define them (SDM 11.4.1: 32-bit registers at 16-byte-aligned
 * offsets; narrower, unaligned or wider accesses are model-specific). hv.efi's
 * rule, docs/smp.md "Stores to the xAPIC page": the bytes an access covers
 * in bytes 0-3 of a 16-byte slot are that register's bytes (a partial store
 * merges into the register's current value: read, replace, write); bytes
 * 4-15 of a slot read as 0 and their writes are dropped, as is anything
 * past the end of the page. Read-only registers ignore writes in the
 * hardware itself.
 */
static u64 apic_load(u32 off, u32 size, bool mmio)
{
	u64 v = 0;
	u32 cur_reg = ~0u, cur = 0;
	for (u32 k = 0; k < size && mmio; k++) {
		u32 a = off + k;
		if (a >= PAGE_SIZE || (a & 0xf) >= 4)
			continue;
		if ((a & ~0xfu) != cur_reg) {
			cur_reg = a & ~0xfu;
			cur = hw_apic_read(cur_reg);
		}
		v |= (u64)((cur >> (8 * (a & 3))) & 0xff) << (8 * k);
	}
	return v;
}

static void apic_store(struct vp *vp, u32 off, u32 size, u64 v, bool mmio)
{
	if (!mmio)
		return;
	if (!(off & 0xf) && size >= 4) { /* the common case: a whole register */
		apic_reg_write(vp, off, (u32)v);
		return;
	}
	for (u32 reg = off & ~0xfu; reg < off + size && reg < PAGE_SIZE; reg += 16) {
		u32 lo = off > reg ? off : reg, hi = off + size < reg + 4 ? off + size : reg + 4;
		if (lo >= hi)
			continue;
		u32 cur = lo == reg && hi == reg + 4 ? 0 : hw_apic_read(reg);
		for (u32 a = lo; a < hi; a++) {
			u32 sh = 8 * (a - reg);
			cur = (cur & ~(0xffu << sh)) | (u32)(((v >> (8 * (a - off))) & 0xff) << sh);
		}
		apic_reg_write(vp, reg, cur);
	}
}

/* A register operand of `size` bytes (AH-BH when high), and its write with
 * the architectural rules (32-bit results zero-extend, 8/16 merge). */
static u64 gpr_get(struct vp *vp, u8 r, bool high)
{
	return vp->gpr[r] >> (high ? 8 : 0);
}

static void gpr_set(struct vp *vp, u8 r, bool high, u32 size, u64 v)
{
	u64 *g = &vp->gpr[r];
	if (size == 8)
		*g = v;
	else if (size == 4)
		*g = (u32)v;
	else if (size == 2)
		*g = (*g & ~0xffffull) | (v & 0xffff);
	else if (high)
		*g = (*g & ~0xff00ull) | ((v & 0xff) << 8);
	else
		*g = (*g & ~0xffull) | (v & 0xff);
}

static u32 apic_bad_logged; /* warnings logged, all VPs */

/* A guest write to the read-only xAPIC page: emulate the instruction
 * (docs/smp.md, "Stores to the xAPIC page"). Never parks: what cannot be
 * emulated gets the exception hardware would raise, a fetch that fails
 * re-executes the instruction. */
enum hv_action smp_apic_mmio_write(struct vp *vp, struct hv_exit *e)
{
	const struct backend *be = vp->part->be;
	struct gwalk_regs r = { be->read_reg(vp, GREG_CR0), be->read_reg(vp, GREG_CR3),
				be->read_reg(vp, GREG_CR4), be->read_reg(vp, GREG_EFER) };
	struct guest_boot_state gs;
	bool have_gs = false;
	int mode = 8;
	u64 la = be->read_reg(vp, GREG_RIP);
	if (!(r.efer & EFER_LMA) || !be->read_reg(vp, GREG_CS_L)) {
		/* Outside 64-bit mode: CS.D (or virtual-8086 mode) sets the
		 * default sizes; linear addresses wrap at 4 GiB. */
		be->vp_get_state(vp, &gs);
		have_gs = true;
		mode = (gs.rflags & RFLAGS_VM) || !(gs.seg[SEG_CS].attr & BIT(14)) ? 2 : 4;
		la = (u32)(la + gs.seg[SEG_CS].base);
	}
	u8 insn[15];
	struct decoded_store d;
	int n = emulate_fetch(vp->part, &r, la, insn);
	int rc = emulate_decode(insn, n, mode, &d);

	if (rc == EMUL_SHORT) /* the code's mapping went away: #PF, not a retry loop */
		return emulate_fetch_failed(vp, &r, la + (u64)n);
	if (rc != EMUL_OK) {
		if (__atomic_fetch_add(&apic_bad_logged, 1, __ATOMIC_RELAXED) < 8)
			LOGW("xAPIC page: %s at rip %lx (%02x %02x %02x %02x): %s injected",
			     rc == EMUL_UNSUP ? "a store not emulated" : "an invalid instruction",
			     (unsigned long)la, insn[0], insn[1], insn[2], insn[3],
			     rc == EMUL_UD ? "#UD" : "#GP");
		if (rc == EMUL_UD)
			vp_inject_ud(vp);
		else
			vp_inject_gp(vp);
		return HV_ACT_INJECTED;
	}
	u32 off = (u32)(e->u.npf.gpa & 0xfff), size = d.size;
	/* SDM 10.12.1.2: in x2APIC mode the memory-mapped interface is
	 * disabled and behaves like a globally disabled xAPIC: the page is
	 * not the APIC. Its stores are dropped and loads read 0; the
	 * instruction still completes (registers, flags). Reaching the APIC
	 * registers as MSRs instead would fault in the host for the ones
	 * x2APIC mode lacks (found by fuzzing, docs/reliability.md). */
	bool mmio = !hw_x2apic_mode();
	if (d.op == ST_MOV && size == 4 && !(off & 0xf)) {
		/* The common case (EOI, ICR): a whole register, as before. */
		if (mmio)
			apic_reg_write(vp, off, (u32)(d.has_imm ? d.imm : vp->gpr[d.reg]));
		vp->apic_writes++;
		e->insn_len = d.len;
		return HV_ACT_ADVANCE;
	}
	u64 mk = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
	u64 src = (d.has_imm ? d.imm : gpr_get(vp, d.reg, d.high_byte)) & mk;
	enum hv_action act = HV_ACT_ADVANCE;

	switch (d.op) {
	case ST_MOV:
		apic_store(vp, off, size, src, mmio);
		break;
	case ST_STOS: {
		u64 am = d.addr_size == 8 ? ~0ull : (1ull << (8 * d.addr_size)) - 1;
		u64 rf = be->read_reg(vp, GREG_RFLAGS);
		if (d.rep && !(vp->gpr[GPR_RCX] & am))
			break; /* nothing to store (cannot have faulted) */
		apic_store(vp, off, size, src, mmio);
		u64 di = vp->gpr[GPR_RDI] + ((rf & FL_DF) ? -(u64)size : size);
		gpr_set(vp, GPR_RDI, false, d.addr_size, di & am);
		if (d.rep) {
			u64 cx = (vp->gpr[GPR_RCX] - 1) & am;
			gpr_set(vp, GPR_RCX, false, d.addr_size, cx);
			if (cx)
				act = HV_ACT_RESUME; /* the next element: re-executed */
		}
		break;
	}
	case ST_XCHG: {
		u64 old = apic_load(off, size, mmio);
		apic_store(vp, off, size, src, mmio);
		gpr_set(vp, d.reg, d.high_byte, size, old);
		break;
	}
	default: { /* read-modify-write: the arithmetic flags change */
		u64 old = apic_load(off, size, mmio), acc = vp->gpr[GPR_RAX] & mk;
		if (!have_gs)
			be->vp_get_state(vp, &gs);
		u64 res = emulate_rmw(&d, old, d.op == ST_CMPXCHG ? acc : src, &gs.rflags);
		if (d.op == ST_CMPXCHG && (gs.rflags & FL_ZF))
			res = src;
		apic_store(vp, off, size, res, mmio);
		if (d.op == ST_XADD)
			gpr_set(vp, d.reg, d.high_byte, size, old);
		if (d.op == ST_CMPXCHG && !(gs.rflags & FL_ZF))
			gpr_set(vp, GPR_RAX, false, size, old);
		be->vp_set_state(vp, &gs);
		break;
	}
	}
	vp->apic_writes++;
	e->insn_len = d.len;
	return act;
}

HV_EXIT_HANDLER(exit_nmi, HV_EXIT_NMI, hv_handle_nmi);

HV_MODULE(smp, .on_vp_ready = smp_request_intercepts);
