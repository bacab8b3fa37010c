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

/* A guest write to the read-only xAPIC page: emulate the instruction. */
enum hv_action smp_apic_mmio_write(struct vp *vp, struct hv_exit *e)
{
	const struct backend *be = vp->part->be;
	struct gwalk_regs r = { be->read_reg(vp, GREG_CR0), be->read_reg(vp, GREG_CR3),
				be->read_reg(vp, GREG_CR4), be->read_reg(vp, GREG_EFER) };
	bool mode64 = (r.efer & EFER_LMA) && be->read_reg(vp, GREG_CS_L);
	u64 la = be->read_reg(vp, GREG_RIP) + (mode64 ? 0 : be->read_reg(vp, GREG_CS_BASE));
	u8 insn[15];
	struct decoded_store d;
	int n = emulate_fetch(vp->part, &r, la, insn);

	if (emulate_decode_store(insn, n, mode64, &d))
		vp_fatal(vp, e, "cannot emulate this write to the local APIC page");
	u32 off = (u32)(e->u.npf.gpa & 0xfff);
	u64 v = d.has_imm ? d.imm : vp->gpr[d.reg] >> (d.high_byte ? 8 : 0);
	u32 val = (u32)v;
	if (d.is_xchg) {
		u32 old = hw_apic_read(off & ~3u);
		vp->gpr[d.reg] = (vp->gpr[d.reg] & ~0xffffffffull) | old;
	}
	/* The xAPIC registers are 32 bits at 16-byte-aligned offsets. */
	if (off == 0x300)
		smp_icr_write(vp, ((u64)vp->icr_hi << 32) | val, false);
	else {
		if (off == 0x310)
			vp->icr_hi = val;
		hw_apic_write(off & ~3u, val);
	}
	vp->apic_writes++;
	e->insn_len = d.len;
	return HV_ACT_ADVANCE;
}

HV_EXIT_HANDLER(exit_nmi, HV_EXIT_NMI, hv_handle_nmi);

HV_MODULE(smp, .on_vp_ready = smp_request_intercepts);
