/*
 * checks_overlay.c - what an overlay page (TLFS 5.2.1) leaves behind, and
 * the hypercall MSR lock against the guest OS ID (TLFS 2.6, 3.13).
 *
 * overlay.apic_protect.*: the xAPIC page must stay write-protected (every
 * guest store trapped and emulated by hv.efi: INIT and SIPI must never
 * reach the hardware) after an overlay was put over it and moved away or
 * disabled: the hypercall page, the reference TSC page, the VP assist
 * page, alone and stacked. Whether a store was trapped is seen without
 * harm from the ICR: an ICR write with a SIPI for an APIC ID no processor
 * has (0xFE) is dropped by hv.efi's emulation (hv/smp.c: it matches no
 * processor, so nothing is written to the hardware ICR) while the real
 * APIC latches it (the ICR low word reads back what was written; the SIPI
 * itself reaches no one). So: trapped <=> the ICR low word still reads
 * its previous value. The baseline check shows the probe works before any
 * overlay moved.
 *
 * Runs before checks_hypercall (which locks the hypercall MSR and expects
 * it and the guest OS ID still at 0): both are put back to 0, the other
 * overlay MSRs to what they were. Interrupts are off while an overlay
 * covers the APIC page (an EOI store would land in the overlay).
 *
 * overlay.apic_covered.*: while a read-only overlay (the hypercall page)
 * covers the xAPIC page, the guest sees the overlay there (TLFS 5.2.1;
 * hv/gmem.c's one rule: the top overlay wins), so a store to it is a
 * store to the read-only hypercall page: #GP (TLFS 3.13), not an APIC
 * register write (issue 14, finding 3b: hv/npf.c looked at the APIC page
 * first). The store writes the TPR's own value, harmless either way.
 *
 * overlay.lock.*: runs last (it may, on a faulty hypervisor, leave the
 * hypercall page off for good).
 */
#include "hcall.h"
#include "px86.h"

#define MSR_APIC_BASE 0x1bu
#define MSR_REFERENCE_TSC 0x40000021u
#define MSR_VP_ASSIST 0x40000073u
#define PRIV_HYPERCALL_MSRS (1u << 5)
#define PRIV_REF_TSC (1u << 9)
#define PRIV_INTR_CTRL (1u << 4)
#define APIC_ICR_LO 0x300u
#define APIC_ICR_HI 0x310u
#define NO_SUCH_APIC 0xFEu
#define ICR_SIPI 0x4600u /* start-up, level assert, physical, no shorthand */

static uint64_t g_apic;    /* the xAPIC page's GPA */
static uint64_t g_away;    /* a page of ours to move overlays to */

static uint64_t rd(uint32_t msr)
{
	uint64_t v = 0;
	trap_rdmsr(msr, &v);
	return v;
}

static volatile uint32_t *apic_reg(uint32_t off)
{
	return (volatile uint32_t *)(uintptr_t)(g_apic + off);
}

/* One store to the ICR: 1 if hv.efi trapped it (the hardware ICR kept its
 * previous value), 0 if it went to the hardware. *detail gets both. */
static int icr_store_trapped(uint32_t *before, uint32_t *after, uint32_t *wrote)
{
	uint64_t f = irq_save();
	uint32_t hi = *apic_reg(APIC_ICR_HI);
	*apic_reg(APIC_ICR_HI) = NO_SUCH_APIC << 24;
	*before = *apic_reg(APIC_ICR_LO);
	/* A vector the ICR does not hold now. */
	*wrote = ICR_SIPI | ((*before + 0x5A) & 0xff);
	*apic_reg(APIC_ICR_LO) = *wrote;
	*after = *apic_reg(APIC_ICR_LO);
	*apic_reg(APIC_ICR_HI) = hi;
	irq_restore(f);
	return (*after & 0x7ff) != (*wrote & 0x7ff);
}

static void expect_trapped(const char *name)
{
	uint32_t before, after, wrote;
	int ok = icr_store_trapped(&before, &after, &wrote);
	check(name, ok,
	      "store of 0x%x to the ICR (APIC page 0x%lx) reached the hardware: ICR reads 0x%x "
	      "(was 0x%x); the page is writable for the guest",
	      wrote, (unsigned long)g_apic, after, before);
}

/* MSR msr <- cover (an overlay over the APIC page), then <- uncover; then
 * the APIC page must trap again. Interrupts off while it is covered. */
static void cover_uncover(const char *name, uint32_t msr, uint64_t cover, uint64_t uncover)
{
	char n[96];
	uint64_t f = irq_save();
	int v1 = trap_wrmsr(msr, cover);
	uint64_t got = rd(msr);
	int v2 = trap_wrmsr(msr, uncover);
	irq_restore(f);
	fmt_name(n, sizeof(n), "%s.msr", name);
	check(n, v1 == VEC_NONE && v2 == VEC_NONE && got == cover,
	      "WRMSR %x <- 0x%lx: %s (reads 0x%lx), <- 0x%lx: %s", msr, (unsigned long)cover,
	      vec_name(v1), (unsigned long)got, (unsigned long)uncover, vec_name(v2));
	expect_trapped(name);
}

static void checks_apic_protect(void)
{
	struct cpuid_regs r = cpuid(0x40000003u, 0);
	uint64_t base = rd(MSR_APIC_BASE);

	if (base & (1u << 10)) {
		ser_printf("  info: x2APIC mode: no xAPIC page, overlay.apic_protect skipped\n");
		return;
	}
	g_apic = base & 0x000ffffffffff000ull;
	EFI_PHYSICAL_ADDRESS away = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData, 1,
					&away))) {
		check("overlay.apic_protect.page", 0, "AllocatePages failed");
		return;
	}
	g_away = away;

	/* The probe itself, before any overlay moved. */
	expect_trapped("overlay.apic_protect.baseline");

	/* The hypercall page (TLFS 3.13), as in the report: enabled over the
	 * APIC page (reserved bits set), then a disabled value elsewhere;
	 * then enabled over it and moved (enabled) to another page. */
	if (r.eax & PRIV_HYPERCALL_MSRS) {
		trap_wrmsr(MSR_GUEST_OS_ID, OS_ID);
		cover_uncover("overlay.apic_protect.hypercall_disable", MSR_HYPERCALL,
			      g_apic | 0x809, 0x100000);
		cover_uncover("overlay.apic_protect.hypercall_move", MSR_HYPERCALL, g_apic | 1,
			      g_away | 1);
		uint64_t f = irq_save();
		uint32_t tpr = *apic_reg(0x80);
		trap_wrmsr(MSR_HYPERCALL, g_apic | 1);
		int vec = trap_write32(g_apic + 0x80, tpr);
		uint8_t first = *(volatile uint8_t *)(uintptr_t)g_apic;
		trap_wrmsr(MSR_HYPERCALL, g_away | 1);
		irq_restore(f);
		check_vec("overlay.apic_covered.store_gp", vec, VEC_GP);
		check("overlay.apic_covered.reads_overlay", first == 0xF3,
		      "the APIC page's first byte reads 0x%x under the hypercall page, expected 0xf3 "
		      "(ENDBR64)", first);
		expect_trapped("overlay.apic_covered.after");
		trap_wrmsr(MSR_HYPERCALL, 0);
	} else {
		check("overlay.apic_protect.hypercall", 0, "AccessHypercallMsrs not advertised");
	}

	/* The reference TSC page (TLFS 12.7.1). */
	if (r.eax & PRIV_REF_TSC) {
		uint64_t old = rd(MSR_REFERENCE_TSC);
		cover_uncover("overlay.apic_protect.ref_tsc_disable", MSR_REFERENCE_TSC, g_apic | 1, 0);
		cover_uncover("overlay.apic_protect.ref_tsc_move", MSR_REFERENCE_TSC, g_apic | 1,
			      g_away | 1);
		trap_wrmsr(MSR_REFERENCE_TSC, old);
	} else {
		ser_printf("  info: reference TSC page not offered: its apic_protect checks skipped\n");
	}

	/* The VP assist page (TLFS 7.8.7): a writable overlay. */
	if (r.eax & PRIV_INTR_CTRL) {
		uint64_t old = rd(MSR_VP_ASSIST);
		cover_uncover("overlay.apic_protect.vp_assist_disable", MSR_VP_ASSIST, g_apic | 1, 0);
		cover_uncover("overlay.apic_protect.vp_assist_move", MSR_VP_ASSIST, g_apic | 1,
			      g_away | 1);
		/* Stacked (TLFS 5.2.1): the hypercall page over the assist
		 * page over the APIC page; the top one goes, then the other. */
		if (r.eax & PRIV_HYPERCALL_MSRS) {
			uint64_t f = irq_save();
			trap_wrmsr(MSR_VP_ASSIST, g_apic | 1);
			trap_wrmsr(MSR_HYPERCALL, g_apic | 1);
			trap_wrmsr(MSR_HYPERCALL, 0);
			trap_wrmsr(MSR_VP_ASSIST, 0);
			irq_restore(f);
			expect_trapped("overlay.apic_protect.stacked");
		}
		trap_wrmsr(MSR_VP_ASSIST, old);
	} else {
		check("overlay.apic_protect.vp_assist", 0, "AccessIntrCtrlRegs not advertised");
	}

	/* As checks_hypercall expects to find them. */
	trap_wrmsr(MSR_HYPERCALL, 0);
	trap_wrmsr(MSR_GUEST_OS_ID, 0);
	uefi_call_wrapper(BS->FreePages, 2, away, 1);
}

/* A page mapped on first touch next to an overlay page (TLFS 5.2.1) above
 * the top of the memory map: the overlay leaves a 4K table where hv.efi's
 * lazy mapping (hv/npf.c) puts a large page, and hv.efi used to park the
 * processor on the neighbour's first touch ("out of memory for
 * second-level tables"): the payload then never finishes. Found by the
 * host fuzzer (docs/reliability.md). 4 GiB + 2 MiB + 4 KiB is above the
 * RAM of every test machine; the firmware's page tables must map it
 * (else the check says so and is skipped). */
#define HIGH_OVERLAY 0x100201000ull

static void checks_lazy_neighbour(void)
{
	struct cpuid_regs r = cpuid(0x40000003u, 0);
	if (!(r.eax & PRIV_REF_TSC)) {
		ser_printf("  info: reference TSC page not offered: overlay.lazy_neighbour skipped\n");
		return;
	}
	uint64_t old = rd(MSR_REFERENCE_TSC), scale = 0, nb = 0, after = 0;
	uint64_t f = irq_save();
	int v0 = trap_wrmsr(MSR_REFERENCE_TSC, HIGH_OVERLAY | 1);
	int v1 = trap_read64(HIGH_OVERLAY + 8, &scale); /* TscScale */
	int v2 = VEC_NONE, v3 = VEC_NONE;
	if (v0 == VEC_NONE && v1 == VEC_NONE) {
		v2 = trap_read64(HIGH_OVERLAY - 0x1000, &nb);  /* the neighbour, first touch */
		trap_wrmsr(MSR_REFERENCE_TSC, 0);              /* uncovered: its own page again */
		v3 = trap_read64(HIGH_OVERLAY + 0x4000, &after);
	}
	trap_wrmsr(MSR_REFERENCE_TSC, old);
	irq_restore(f);
	if (v0 == VEC_NONE && v1 != VEC_NONE) {
		ser_printf("  info: 0x%lx not mapped by the firmware's page tables (%s): "
			   "overlay.lazy_neighbour skipped\n", (unsigned long)HIGH_OVERLAY, vec_name(v1));
		return;
	}
	check("overlay.lazy_neighbour.overlay", v0 == VEC_NONE && scale != 0,
	      "WRMSR REFERENCE_TSC <- 0x%lx: %s; TscScale there reads 0x%lx",
	      (unsigned long)(HIGH_OVERLAY | 1), vec_name(v0), (unsigned long)scale);
	check("overlay.lazy_neighbour.touch", v2 == VEC_NONE && v3 == VEC_NONE,
	      "reads next to the overlay page: %s, after it moved: %s", vec_name(v2), vec_name(v3));
}

void checks_overlay(void)
{
	checks_apic_protect();
	checks_lazy_neighbour();
}

/* TLFS 3.13: once the hypercall MSR is locked it is immutable until reset,
 * so zeroing the guest OS ID (TLFS 2.6: "the hypercall code page will be
 * disabled") does not disable a locked page. checks_hypercall locked it. */
void checks_overlay_lock(void)
{
	uint64_t hc = rd(MSR_HYPERCALL), id = rd(MSR_GUEST_OS_ID);
	if ((hc & (HC_MSR_ENABLE | HC_MSR_LOCKED)) != (HC_MSR_ENABLE | HC_MSR_LOCKED) || !id) {
		check("overlay.lock", 0, "the hypercall MSR is not locked and enabled (0x%lx, "
		      "guest OS ID 0x%lx): hc.msr.hypercall.lock failed", (unsigned long)hc,
		      (unsigned long)id);
		return;
	}
	uint8_t *page = (uint8_t *)(uintptr_t)(hc & ~0xfffull);
	int v = trap_wrmsr(MSR_GUEST_OS_ID, 0);
	uint64_t id0 = rd(MSR_GUEST_OS_ID), hc0 = rd(MSR_HYPERCALL);
	check("overlay.lock.os_id_zero.accepted", v == VEC_NONE && id0 == 0,
	      "WRMSR GUEST_OS_ID <- 0: %s, reads 0x%lx", vec_name(v), (unsigned long)id0);
	check("overlay.lock.os_id_zero.msr_unchanged", hc0 == hc,
	      "locked hypercall MSR 0x%lx reads 0x%lx after guest OS ID <- 0", (unsigned long)hc,
	      (unsigned long)hc0);
	long off = page_diff(page);
	if (check("overlay.lock.os_id_zero.page_stays", off < 0,
		  "hypercall page at 0x%lx differs at offset 0x%lx after guest OS ID <- 0",
		  (unsigned long)pa(page), (unsigned long)off)) {
		struct hc_regs r = { .rcx = CALL_SPIN_WAIT, .rdx = pa(P_IN) };
		int vec = call_page(&r, page);
		expect("overlay.lock.os_id_zero.page_works", vec, &r, ST_OK, 0, NULL, 0, 0);
	}
	trap_wrmsr(MSR_GUEST_OS_ID, id);
	check_eq("overlay.lock.os_id_restored", rd(MSR_GUEST_OS_ID), id);
	check_eq("overlay.lock.msr_still_locked", rd(MSR_HYPERCALL), hc);
}
