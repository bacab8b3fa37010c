/*
 * vmx.c - Intel VMX backend: entering VMX operation, the partition's EPT,
 * contexts (a VMCS built from an initial state, with its VPID and
 * bitmaps), and the run loop step (SDM vol. 3: 24 (VMX operation), 25 (VMCS), 26/27 (VM entry and its
 * checks), 28 (VM exits), 29 (EPT, VPID), 31 (VMX instructions)).
 *
 * What is intercepted, and why (everything else runs natively):
 *  - CPUID, INVD, XSETBV, GETSEC, INIT, triple fault, task switch and the
 *    VMX instructions exit unconditionally in VMX non-root operation (SDM
 *    26.1.2). CPUID serves the Hv#1 leaves and hides VMX (TLFS 2.2-2.4);
 *    VMX instructions are #UD for the guest, as on a CPU without VMX.
 *  - MSRs: the MSR bitmap intercepts IA32_FEATURE_CONTROL and the VMX
 *    capability MSRs 0x480-0x493 (hide VMX), and what hv/ requests
 *    (msr_intercept: the x2APIC ICR, hv/smp.c); MSRs outside the bitmap's
 *    ranges (the 0x40000000 synthetic range) always exit (SDM 25.6.9).
 *  - CR0/CR4: the bits VMX pins (CR0.NE, CR4.VMXE) are owned by the
 *    hypervisor (guest/host masks, read shadows holding the guest's
 *    values, SDM 25.6.6): reads (MOV from CR, SMSW) never exit and see the
 *    shadow; a MOV to CR0 exits only when it changes NE, a MOV to CR4 only
 *    when it sets VMXE (#GP, as on a CPU without VMX) (SDM 26.1.3).
 *  - Port I/O only on the ports hv/ requests (io_intercept: hv/io.c).
 *  - EPT violations: the hypervisor's memory is not mapped; MMIO above the
 *    memory map is mapped on first touch.
 *  - The VMX-preemption timer while a host deadline is armed, and the
 *    interrupt window while inject_irq waits for the guest to take one.
 * External interrupts are not intercepted: they go straight to the guest,
 * the host runs with interrupts off. NMIs exit (other VPs' kicks).
 */
#include "vmx.h"
#include "vmx_nested.h"
#include "arch.h"
#include "boot_info.h"
#include "hv_abi.h"
#include "log.h"
#include "pool.h"
#include "tlfs.h"
#include "x86.h"

struct vmx_global vmx = { .next_vpid = 1 };

/* Mode-based execute control for EPT is on in every VMCS (SDM 25.6.2). */
static bool vmx_mbec(void) { return (vmx.ctl.proc2 & PROC2_MBEC) != 0; }

/* TLFS 15.5.2.1, 15.10.2: MBEC is enabled per VP and VTL; a context
 * starts without it (setup_controls). vp's context is current here. */
static void vmx_mbec_ctl(struct vp *vp, bool on)
{
	u64 c = vmread(VMCS_PROC2_CTLS);
	if (!vmx_mbec())
		return;
	vmwrite(VMCS_PROC2_CTLS, on ? c | PROC2_MBEC : c & ~(u64)PROC2_MBEC);
}


static bool cpu_is_intel(void)
{
	u32 a, b, c, d;
	cpuid_count(0, 0, &a, &b, &c, &d);
	return b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e; /* GenuineIntel */
}

static u64 msr_or_zero(u32 msr)
{
	u64 v = 0;
	return rdmsr_safe(msr, &v) ? 0 : v;
}

static void read_caps(struct vmx_caps *c)
{
	c->basic = msr_or_zero(MSR_IA32_VMX_BASIC);
	c->pin = msr_or_zero(MSR_IA32_VMX_PINBASED_CTLS);
	c->proc = msr_or_zero(MSR_IA32_VMX_PROCBASED_CTLS);
	c->exit = msr_or_zero(MSR_IA32_VMX_EXIT_CTLS);
	c->entry = msr_or_zero(MSR_IA32_VMX_ENTRY_CTLS);
	c->misc = msr_or_zero(MSR_IA32_VMX_MISC);
	c->cr0_fixed0 = msr_or_zero(MSR_IA32_VMX_CR0_FIXED0);
	c->cr0_fixed1 = msr_or_zero(MSR_IA32_VMX_CR0_FIXED1);
	c->cr4_fixed0 = msr_or_zero(MSR_IA32_VMX_CR4_FIXED0);
	c->cr4_fixed1 = msr_or_zero(MSR_IA32_VMX_CR4_FIXED1);
	/* A.3.3, A.10: these exist only if the controls above allow them. */
	c->proc2 = (c->proc & BIT(63)) ? msr_or_zero(MSR_IA32_VMX_PROCBASED_CTLS2) : 0;
	c->ept_vpid = (c->proc2 & (BIT(32 + 1) | BIT(32 + 5))) ? msr_or_zero(MSR_IA32_VMX_EPT_VPID_CAP) : 0;
	if (c->basic & VMX_BASIC_TRUE_CTLS) {
		c->true_pin = msr_or_zero(MSR_IA32_VMX_TRUE_PINBASED_CTLS);
		c->true_proc = msr_or_zero(MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
		c->true_exit = msr_or_zero(MSR_IA32_VMX_TRUE_EXIT_CTLS);
		c->true_entry = msr_or_zero(MSR_IA32_VMX_TRUE_ENTRY_CTLS);
	}
}

static void log_caps(const struct vmx_caps *c)
{
	LOGD("vmx caps: basic %lx pin %lx proc %lx exit %lx entry %lx misc %lx",
	     (unsigned long)c->basic, (unsigned long)c->pin, (unsigned long)c->proc,
	     (unsigned long)c->exit, (unsigned long)c->entry, (unsigned long)c->misc);
	LOGD("vmx caps: cr0 fixed %lx/%lx cr4 fixed %lx/%lx proc2 %lx ept_vpid %lx",
	     (unsigned long)c->cr0_fixed0, (unsigned long)c->cr0_fixed1,
	     (unsigned long)c->cr4_fixed0, (unsigned long)c->cr4_fixed1,
	     (unsigned long)c->proc2, (unsigned long)c->ept_vpid);
	LOGD("vmx caps: true pin %lx proc %lx exit %lx entry %lx", (unsigned long)c->true_pin,
	     (unsigned long)c->true_proc, (unsigned long)c->true_exit,
	     (unsigned long)c->true_entry);
}

static int vmx_probe(void)
{
	u32 a, b, c, d;
	if (!cpu_is_intel())
		return -1;
	cpuid_count(1, 0, &a, &b, &c, &d);
	if (!(c & BIT(5)))
		return -1;
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if ((fc & FEATURE_CONTROL_LOCK) && !(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX)) {
		LOGE("vmx: disabled by firmware (IA32_FEATURE_CONTROL %lx)", (unsigned long)fc);
		return -1;
	}
	read_caps(&vmx.caps);
	log_caps(&vmx.caps);

	const char *why;
	u32 missing;
	if (vmx_compute_controls(&vmx.caps, vmx_ctl_wanted, &vmx.ctl, &why, &missing)) {
		LOGE("vmx: the CPU lacks %s controls %x", why, missing);
		return -1;
	}
	/* EPT as this backend builds it (SDM 29.3.2, 29.3.7): 4-level walk,
	 * write-back structures, 2 MiB pages, INVEPT. */
	const u64 need_ept = EPT_CAP_WALK_4 | EPT_CAP_WB | EPT_CAP_2M | EPT_CAP_INVEPT;
	if ((vmx.caps.ept_vpid & need_ept) != need_ept ||
	    !(vmx.caps.ept_vpid & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		LOGE("vmx: EPT capabilities %lx lack 4-level/WB/2M/INVEPT",
		     (unsigned long)vmx.caps.ept_vpid);
		return -1;
	}
	/* VPID needs INVVPID to keep the guest's TLB right across CR4
	 * changes we emulate; without it run untagged (flush on every
	 * transition, SDM 29.4.3.3). */
	if ((vmx.ctl.proc2 & PROC2_ENABLE_VPID) &&
	    (!(vmx.caps.ept_vpid & VPID_CAP_INVVPID) ||
	     !(vmx.caps.ept_vpid & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL))))
		vmx.ctl.proc2 &= ~(u32)PROC2_ENABLE_VPID;
	vmx.cr0_mask = vmx_cr0_mask(&vmx.caps, true);
	vmx.cr4_mask = vmx_cr4_mask(&vmx.caps);
	vmx.preempt_timer = vmx_allowed1(&vmx.caps, VMX_CTL_PIN) & PIN_PREEMPT_TIMER;
	vmx.intr_window = vmx_allowed1(&vmx.caps, VMX_CTL_PROC) & PROC_INTR_WINDOW_EXITING;
	return 0;
}

/* The context's MSR bitmap bits for access (vmx_msr_bitmap_bit). */
static int msr_bitmap_set(struct vmx_ctx *s, u32 msr, u32 access, bool on)
{
	int bit = vmx_msr_bitmap_bit(msr);
	if (bit < 0)
		return on ? 0 : -1;
	s->maps_gen++;
	for (u32 i = 0; i < 2; i++) {
		if (!(access & (i ? BE_INTERCEPT_WRITE : BE_INTERCEPT_READ)))
			continue;
		u32 b = (u32)bit + i * 2048 * 8;
		u8 m = (u8)(1u << (b % 8));
		s->msr_bitmap[b / 8] = on ? s->msr_bitmap[b / 8] | m : s->msr_bitmap[b / 8] & (u8)~m;
	}
	return 0;
}

/* The MSRs the backend keeps intercepted for itself (vmx_msr_read). */
static bool own_msr(u32 msr)
{
	return msr == MSR_IA32_FEATURE_CONTROL || (msr >= MSR_IA32_VMX_FIRST && msr <= MSR_IA32_VMX_LAST);
}

static int vmx_msr_intercept(struct vp *vp, u32 msr, u32 access, bool on)
{
	if (!on && own_msr(msr))
		return -1;
	return msr_bitmap_set(vmx_of(vp), msr, access, on);
}

/* I/O bitmaps A (0-0x7FFF) and B (0x8000-0xFFFF) are contiguous here, so
 * one bit per port from the start (SDM 25.6.4). */
static int vmx_io_intercept(struct vp *vp, u16 port, bool on)
{
	vmx_of(vp)->maps_gen++;
	u8 *b = &vmx_of(vp)->io_bitmap[port / 8], m = (u8)(1u << (port % 8));
	*b = on ? *b | m : *b & (u8)~m;
	return 0;
}

static const struct slat_fmt *ept_format(void)
{
	return (vmx.caps.ept_vpid & EPT_CAP_1G) ? &slat_fmt_ept_1g : &slat_fmt_ept;
}

static int vmx_partition_create(struct partition *p, const struct boot_info *bi, struct pool *pool)
{
	/* EPT for VTL 0: identity map of everything below phys_top in the
	 * largest pages the CPU offers, write-back, the hypervisor's memory
	 * left out (SDM 29.3). */
	struct slat *ept = &p->slat[0];
	if (slat_init(ept, ept_format(), pool_alloc_page, pool) ||
	    slat_identity_with_hole(ept, 0, bi->phys_top, bi->resident_base,
				    bi->resident_base + bi->resident_size))
		return -1;
	LOGI("vmx: EPT (%s pages) to %lx, hypervisor %lx-%lx hidden, VPID %s, MBEC %s, unrestricted guest",
	     ept->fmt->has_1g ? "1G" : "2M", (unsigned long)bi->phys_top,
	     (unsigned long)bi->resident_base, (unsigned long)(bi->resident_base + bi->resident_size),
	     (vmx.ctl.proc2 & PROC2_ENABLE_VPID) ? "on" : "off", vmx_mbec() ? "on" : "off");
	return 0;
}

/* VMWRITE that remembers the first failure for one report. */
static u32 vw_failed_field;
static void vw(u32 field, u64 val)
{
	if (vmwrite(field, val) && !vw_failed_field)
		vw_failed_field = field ? field : 0xffffffffu;
}

/* Access rights of a guest segment (SDM 25.4.1) from the captured state.
 * The VM-entry checks (27.3.1.2) want the accessed bit of usable code/data
 * segments, and a usable busy TSS in TR even where the firmware never
 * loaded one (OVMF leaves TR = 0): then a null TR with a busy-TSS type. */
static u32 guest_ar(const struct seg_state *s, int i)
{
	u32 ar = s->attr;
	if (i == SEG_TR) {
		if (!ar)
			return VMX_AR_TSS64_BUSY;
		if ((ar & 0xf) == 9 || (ar & 0xf) == 1)
			ar |= 2; /* available -> busy */
		return ar;
	}
	if (!ar || !(ar & VMX_AR_P)) /* not present: a null segment */
		return ar | VMX_AR_UNUSABLE;
	if (ar & VMX_AR_S)
		ar |= VMX_AR_TYPE_ACCESSED;
	return ar;
}

static u64 tss_base(u16 tr, u64 gdt_base)
{
	const u8 *e = (const u8 *)(uintptr_t)(gdt_base + (tr & ~7u));
	u64 lo = *(const u64 *)e;
	u64 hi = *(const u32 *)(e + 8);
	return ((lo >> 16) & 0xffffff) | ((lo >> 32) & 0xff000000) | (hi << 32);
}

static void setup_host_state(void)
{
	struct desc_ptr gdtr, idtr;
	sgdt(&gdtr);
	sidt(&idtr);
	vw(VMCS_HOST_CR0, read_cr0());
	vw(VMCS_HOST_CR3, read_cr3());
	vw(VMCS_HOST_CR4, read_cr4());
	vw(VMCS_HOST_CS_SEL, HOST_CS);
	vw(VMCS_HOST_SS_SEL, HOST_DS);
	vw(VMCS_HOST_DS_SEL, HOST_DS);
	vw(VMCS_HOST_ES_SEL, HOST_DS);
	vw(VMCS_HOST_FS_SEL, 0);
	vw(VMCS_HOST_GS_SEL, 0);
	vw(VMCS_HOST_TR_SEL, read_tr()); /* must not be 0 (SDM 27.2.3) */
	vw(VMCS_HOST_FS_BASE, 0);
	vw(VMCS_HOST_GS_BASE, rdmsr(MSR_GS_BASE)); /* the current VP */
	vw(VMCS_HOST_TR_BASE, tss_base(read_tr(), gdtr.base));
	vw(VMCS_HOST_GDTR_BASE, gdtr.base);
	vw(VMCS_HOST_IDTR_BASE, idtr.base);
	vw(VMCS_HOST_SYSENTER_CS, 0);
	vw(VMCS_HOST_SYSENTER_ESP, 0);
	vw(VMCS_HOST_SYSENTER_EIP, 0);
	vw(VMCS_HOST_PAT, rdmsr(MSR_IA32_PAT));
	vw(VMCS_HOST_EFER, rdmsr(MSR_EFER));
	vw(VMCS_HOST_RIP, (u64)(uintptr_t)vmx_exit_entry);
	/* HOST_RSP is written by vmx_run_asm on every entry. */
}

static void setup_controls(const struct vmx_ctx *s, const struct guest_boot_state *g)
{
	u32 entry = vmx.ctl.entry & ~(u32)ENTRY_IA32E_MODE_GUEST;
	if (g->efer & EFER_LMA)
		entry |= ENTRY_IA32E_MODE_GUEST;
	vw(VMCS_PIN_CTLS, vmx.ctl.pin);
	vw(VMCS_PROC_CTLS, vmx.ctl.proc);
	vw(VMCS_PROC2_CTLS, vmx.ctl.proc2 & ~(u32)PROC2_MBEC); /* per VP and VTL: vmx_mbec_ctl */
	vw(VMCS_EXIT_CTLS, vmx.ctl.exit);
	vw(VMCS_ENTRY_CTLS, entry);
	vw(VMCS_EXCEPTION_BITMAP, 0);
	vw(VMCS_PF_ERROR_MASK, 0);
	vw(VMCS_PF_ERROR_MATCH, 0);
	vw(VMCS_CR3_TARGET_COUNT, 0);
	vw(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vw(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vw(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vw(VMCS_ENTRY_INTR_INFO, 0);
	vw(VMCS_IO_BITMAP_A, (u64)(uintptr_t)s->io_bitmap);
	vw(VMCS_IO_BITMAP_B, (u64)(uintptr_t)s->io_bitmap + PAGE_SIZE);
	vw(VMCS_MSR_BITMAP, (u64)(uintptr_t)s->msr_bitmap);
	vw(VMCS_EPT_POINTER, s->eptp);
	if (s->vpid)
		vw(VMCS_VPID, s->vpid);
	if (vmx.ctl.proc2 & PROC2_ENABLE_XSAVES)
		vw(VMCS_XSS_EXIT_BITMAP, 0); /* no XSAVES/XRSTORS exits */
	/* The bits VMX pins are ours (vmx_cr0_mask, vmx_cr4_mask): CR0.NE
	 * (PE and PG are free with unrestricted guest) and CR4.VMXE. The
	 * shadows are written with the guest state. */
	vw(VMCS_CR0_MASK, vmx.cr0_mask);
	vw(VMCS_CR4_MASK, vmx.cr4_mask);
}

/* The guest state of *g into the current VMCS; the registers the VMCS
 * lacks into *r (see struct vmx_cpu_regs). */
static void setup_guest_state(const struct guest_boot_state *g, struct vmx_cpu_regs *r)
{
	for (int i = 0; i < SEG__COUNT; i++) {
		const struct seg_state *seg = &g->seg[i];
		u32 limit = seg->limit;
		if (i == SEG_TR && !seg->attr)
			limit = 0x67;
		vw(VMCS_SEG_SEL(i), seg->sel);
		vw(VMCS_SEG_LIMIT(i), limit);
		vw(VMCS_SEG_AR(i), guest_ar(seg, i));
		vw(VMCS_SEG_BASE(i), seg->base);
	}
	vw(VMCS_GUEST_GDTR_BASE, g->gdtr.base);
	vw(VMCS_GUEST_GDTR_LIMIT, g->gdtr.limit);
	vw(VMCS_GUEST_IDTR_BASE, g->idtr.base);
	vw(VMCS_GUEST_IDTR_LIMIT, g->idtr.limit);

	u64 cr0f0 = vmx_guest_cr0_fixed0(&vmx.caps, true);
	vw(VMCS_GUEST_CR0, vmx_fixed_cr(g->cr0, cr0f0, vmx.caps.cr0_fixed1));
	vw(VMCS_CR0_SHADOW, g->cr0); /* the guest reads its own NE */
	vw(VMCS_GUEST_CR3, g->cr3);
	vw(VMCS_GUEST_CR4, vmx_fixed_cr(g->cr4, vmx.caps.cr4_fixed0, vmx.caps.cr4_fixed1));
	vw(VMCS_CR4_SHADOW, g->cr4 & ~CR4_VMXE);
	vw(VMCS_GUEST_DR7, g->dr7);
	vw(VMCS_GUEST_RIP, g->rip);
	vw(VMCS_GUEST_RSP, g->rsp);
	vw(VMCS_GUEST_RFLAGS, g->rflags | BIT(1));
	vw(VMCS_GUEST_EFER, g->efer);
	vw(VMCS_GUEST_PAT, g->pat);
	vw(VMCS_GUEST_DEBUGCTL, g->debugctl);
	vw(VMCS_GUEST_SYSENTER_CS, g->sysenter_cs);
	vw(VMCS_GUEST_SYSENTER_ESP, g->sysenter_esp);
	vw(VMCS_GUEST_SYSENTER_EIP, g->sysenter_eip);
	vw(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vw(VMCS_GUEST_ACTIVITY, 0);
	vw(VMCS_GUEST_PENDING_DBG, 0);
	vw(VMCS_LINK_POINTER, ~0ull); /* no shadow VMCS (SDM 27.3.1.5) */

	*r = (struct vmx_cpu_regs){ g->star, g->lstar, g->cstar, g->sfmask, g->kernel_gs_base, g->cr2 };
}

/* Not in the VMCS: the syscall MSRs, KernelGsBase and CR2 are shared with
 * the host, which never uses them: the current context's are in the CPU
 * (at launch they hold the guest's values already; set anyway for a clean
 * hand-over). */
static void cpu_regs_load(const struct vmx_cpu_regs *r)
{
	wrmsr(MSR_STAR, r->star);
	wrmsr(MSR_LSTAR, r->lstar);
	wrmsr(MSR_CSTAR, r->cstar);
	wrmsr(MSR_SFMASK, r->sfmask);
	wrmsr(MSR_KERNEL_GS_BASE, r->kernel_gs_base);
	__asm__ volatile("mov %0, %%cr2" : : "r"(r->cr2));
}

void vmx_cpu_regs_save(struct vmx_cpu_regs *r)
{
	*r = (struct vmx_cpu_regs){ rdmsr(MSR_STAR), rdmsr(MSR_LSTAR), rdmsr(MSR_CSTAR),
				    rdmsr(MSR_SFMASK), rdmsr(MSR_KERNEL_GS_BASE), read_cr2() };
}

/* From the CPU holding *cur to *r: only what differs (a WRMSR is costly;
 * contexts often agree, e.g. two VTLs of which one never uses SYSCALL). */
static void cpu_regs_switch(const struct vmx_cpu_regs *cur, const struct vmx_cpu_regs *r)
{
	if (r->star != cur->star)
		wrmsr(MSR_STAR, r->star);
	if (r->lstar != cur->lstar)
		wrmsr(MSR_LSTAR, r->lstar);
	if (r->cstar != cur->cstar)
		wrmsr(MSR_CSTAR, r->cstar);
	if (r->sfmask != cur->sfmask)
		wrmsr(MSR_SFMASK, r->sfmask);
	if (r->kernel_gs_base != cur->kernel_gs_base)
		wrmsr(MSR_KERNEL_GS_BASE, r->kernel_gs_base);
	if (r->cr2 != cur->cr2)
		__asm__ volatile("mov %0, %%cr2" : : "r"(r->cr2));
}

/* Leave VMX operation: after a failed first launch the firmware gets its
 * CPU back and must find it as it left it (CR4.VMXE clear). */
static void vmx_leave(struct vp *vp)
{
	struct vmx_cpu *cpu = vp->be_cpu;
	if (!cpu || !cpu->vmx_on)
		return;
	if (cpu->loaded)
		vmclear((u64)(uintptr_t)cpu->loaded->vmcs);
	cpu->loaded = NULL;
	vmxoff();
	__asm__ volatile("mov %0, %%cr4" : : "r"(read_cr4() & ~CR4_VMXE));
	cpu->vmx_on = false;
}

/* SDM 26.2.1.3: the IA-32e mode guest entry control must equal the guest's
 * EFER.LMA, which the guest changes itself (a restarted AP goes from real
 * mode to long mode). */
static void sync_ia32e(struct vmx_ctx *s)
{
	bool lma = vmread(VMCS_GUEST_EFER) & EFER_LMA;
	if (lma == s->ia32e)
		return;
	u64 entry = vmread(VMCS_ENTRY_CTLS);
	vmwrite(VMCS_ENTRY_CTLS, lma ? entry | ENTRY_IA32E_MODE_GUEST : entry & ~(u64)ENTRY_IA32E_MODE_GUEST);
	s->ia32e = lma;
}

/* INIT/SIPI (hv/smp.c): new guest state on this VP's own CPU (its VMCS
 * is current here). The IA-32e entry control follows EFER.LMA. */
static void vmx_load_state(struct vp *vp, const struct guest_boot_state *g)
{
	if (vp->part->nested)
		vmx_nested_init(vp); /* out of L2 and VMX operation first */
	struct vmx_ctx *s = vmx_of(vp);
	struct vmx_cpu_regs r;
	setup_guest_state(g, &r);
	cpu_regs_load(&r);
	vp->gpr[GPR_RSP] = g->rsp;
	vp->gpr[GPR_RAX] = 0;
	sync_ia32e(s);
	vmwrite(VMCS_ENTRY_INTR_INFO, 0);
	s->reinject = 0;
	s->injected = false;
	vmx_flush_vpid(s); /* a new address space */
}

/* The inverse of setup_guest_state (HvGetVpRegisters, TLFS 7.10.2), on
 * this VP's own CPU: CR4 as the guest sees it (VMXE from the shadow), an
 * unusable segment as not present (its DPL kept: SS.DPL is the CPL), and
 * what the VMCS lacks from the CPU itself (syscall MSRs, KernelGsBase,
 * CR2, DR6). RSP/RAX are in vp->gpr. */
static void vmx_get_state(struct vp *vp, struct guest_boot_state *g)
{
	for (int i = 0; i < SEG__COUNT; i++) {
		u32 ar = (u32)vmread(VMCS_SEG_AR(i));
		u16 attr = (u16)(ar & 0xf0ff);
		if (ar & VMX_AR_UNUSABLE)
			attr &= (u16)~VMX_AR_P;
		g->seg[i] = (struct seg_state){ (u16)vmread(VMCS_SEG_SEL(i)), attr,
						(u32)vmread(VMCS_SEG_LIMIT(i)), vmread(VMCS_SEG_BASE(i)) };
	}
	g->gdtr = (struct dtr_state){ .limit = (u16)vmread(VMCS_GUEST_GDTR_LIMIT),
				      .base = vmread(VMCS_GUEST_GDTR_BASE) };
	g->idtr = (struct dtr_state){ .limit = (u16)vmread(VMCS_GUEST_IDTR_LIMIT),
				      .base = vmread(VMCS_GUEST_IDTR_BASE) };
	g->cr0 = vmx_cr_view(vmread(VMCS_GUEST_CR0), vmread(VMCS_CR0_SHADOW), vmx.cr0_mask);
	g->cr3 = vmread(VMCS_GUEST_CR3);
	g->cr4 = vmx_cr_view(vmread(VMCS_GUEST_CR4), vmread(VMCS_CR4_SHADOW), vmx.cr4_mask);
	g->cr2 = read_cr2();
	u64 dr6;
	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	g->dr6 = dr6;
	g->dr7 = vmread(VMCS_GUEST_DR7);
	g->rip = vmread(VMCS_GUEST_RIP);
	g->rsp = vp->gpr[GPR_RSP];
	g->rflags = vmread(VMCS_GUEST_RFLAGS);
	g->efer = vmread(VMCS_GUEST_EFER);
	g->pat = vmread(VMCS_GUEST_PAT);
	g->debugctl = vmread(VMCS_GUEST_DEBUGCTL);
	g->sysenter_cs = vmread(VMCS_GUEST_SYSENTER_CS);
	g->sysenter_esp = vmread(VMCS_GUEST_SYSENTER_ESP);
	g->sysenter_eip = vmread(VMCS_GUEST_SYSENTER_EIP);
	g->star = rdmsr(MSR_STAR);
	g->lstar = rdmsr(MSR_LSTAR);
	g->cstar = rdmsr(MSR_CSTAR);
	g->sfmask = rdmsr(MSR_SFMASK);
	g->kernel_gs_base = rdmsr(MSR_KERNEL_GS_BASE);
}

/* HvSetVpRegisters (TLFS 7.10.1): setup_guest_state's registers, keeping
 * the event to inject, interruptibility, activity, pending debug
 * exceptions, RAX and the TLB (no VPID flush, unlike vmx_load_state). */
static void vmx_set_state(struct vp *vp, const struct guest_boot_state *g)
{
	struct vmx_ctx *s = vmx_of(vp);
	struct vmx_cpu_regs r;
	u64 intr = vmread(VMCS_GUEST_INTERRUPTIBILITY), act = vmread(VMCS_GUEST_ACTIVITY);
	u64 dbg = vmread(VMCS_GUEST_PENDING_DBG);
	setup_guest_state(g, &r);
	cpu_regs_load(&r);
	vp->gpr[GPR_RSP] = g->rsp;
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr);
	vmwrite(VMCS_GUEST_ACTIVITY, act);
	vmwrite(VMCS_GUEST_PENDING_DBG, dbg);
	sync_ia32e(s);
}

/* A context: its VMCS (host state, controls, guest state from *g), a
 * VPID, its own bitmaps with the backend's intercepts, the EPTP of its
 * tables. Its VMCS is left current only if no other one was. */
static int vmx_ctx_create(struct vp *vp, struct vp_ctx *c, const struct guest_boot_state *g,
			  struct pool *pool)
{
	struct vmx_cpu *cpu = vp->be_cpu;
	struct vmx_ctx *s = pool_alloc_pages(pool, 1);
	u8 *pages = pool_alloc_pages(pool, 4); /* VMCS, MSR bitmap, I/O bitmaps (2) */
	if (!s || !pages)
		return -1;
	if (vmx.ctl.proc2 & PROC2_ENABLE_VPID) {
		s->vpid = (u16)be_tag_alloc(&vmx.next_vpid, 0x10000);
		if (!s->vpid)
			return -1;
	}
	/* An L2 context carries L1's nested VMX state (vmx_nested.h). */
	_Static_assert(sizeof(struct vmx_nested) <= 2 * PAGE_SIZE, "vmx_nested in 2 pages");
	if (c->l2) {
		s->nst = pool_alloc_pages(pool, 2);
		if (!s->nst)
			return -1;
		s->nst->current = ~0ull;
	}
	s->vmcs = pages;
	s->msr_bitmap = pages + PAGE_SIZE;
	s->io_bitmap = pages + 2 * PAGE_SIZE;
	s->slat = c->slat;
	s->eptp = s->slat->root | EPTP_WALK_4 | EPTP_WB;
	msr_bitmap_set(s, MSR_IA32_FEATURE_CONTROL, BE_INTERCEPT_READ | BE_INTERCEPT_WRITE, true);
	for (u32 m = MSR_IA32_VMX_FIRST; m <= MSR_IA32_VMX_LAST; m++)
		msr_bitmap_set(s, m, BE_INTERCEPT_READ | BE_INTERCEPT_WRITE, true);
	*(u32 *)s->vmcs = (u32)(vmx.caps.basic & VMX_BASIC_REVISION_MASK);

	if (vmclear((u64)(uintptr_t)s->vmcs) || vmptrld((u64)(uintptr_t)s->vmcs)) {
		LOGE("vmx: VMCLEAR/VMPTRLD of the VMCS failed");
		return -1;
	}
	vw_failed_field = 0;
	setup_host_state();
	setup_controls(s, g);
	s->ia32e = g->efer & EFER_LMA;
	setup_guest_state(g, &s->regs);
	u32 failed = vw_failed_field;
	if (failed)
		LOGE("vmx: VMWRITE of field %x failed: %s", failed,
		     vmx_insn_error_name((u32)vmread(VMCS_INSN_ERROR)));
	/* Stale translations for this EPTP/VPID from before (SDM 29.4.3). */
	invept((vmx.caps.ept_vpid & EPT_CAP_INVEPT_SINGLE) ? INV_SINGLE_CONTEXT : INV_ALL_CONTEXT,
	       s->eptp);
	vmx_flush_vpid(s);
	if (cpu->loaded)
		vmptrld((u64)(uintptr_t)cpu->loaded->vmcs);
	else
		cpu->loaded = s;
	if (failed)
		return -1;
	c->be = s;
	c->live = true;
	return 0;
}

/* The CPU has TSC_AUX (RDTSCP): a switch swaps it (vmx_vp_init). */
static bool vmx_have_tsc_aux;

/* Make c's VMCS current, with the registers the VMCS does not switch;
 * the GPRs are shared except RSP, which the VMCS holds. Between two VTLs
 * of the VP, CR2 is shared too (TLFS 15.11.2.2): it stays in the CPU.
 * DR6 (not in the VMCS), DR0-DR3, XCR0 and the FPU/SSE/AVX state stay in
 * the CPU for every switch: shared (HvRegisterVsmCapabilities.Dr6Shared).
 * TSC_AUX is private (15.11.1): written only when the two differ. */
void vmx_ctx_switch(struct vp *vp, struct vp_ctx *c)
{
	struct vmx_cpu *cpu = vp->be_cpu;
	struct vmx_ctx *old = vmx_of(vp), *s = c->be;
	if (old != s) {
		u64 deadline = 0;
		if (old) {
			/* The host deadline is the VP's, not a context's: it
			 * moves with the switch (a VTL 1 timer armed from VTL 1
			 * must bound VTL 0 too; the nested switches move it
			 * themselves and arrive here without one). The pin
			 * control is the current VMCS's: off in old first. */
			deadline = old->deadline;
			if (deadline)
				vmx_set_deadline_ctx(old, 0);
			vmwrite(VMCS_GUEST_RSP, vp->gpr[GPR_RSP]);
			vmx_cpu_regs_save(&old->regs);
			if (vp->cur && vp->cur->vtl != c->vtl)
				s->regs.cr2 = old->regs.cr2;
			if (vmx_have_tsc_aux) {
				old->tsc_aux = rdmsr(MSR_TSC_AUX);
				if (s->tsc_aux != old->tsc_aux)
					wrmsr(MSR_TSC_AUX, s->tsc_aux);
			}
		}
		if (cpu->loaded != s)
			vmptrld((u64)(uintptr_t)s->vmcs);
		cpu->loaded = s;
		if (old)
			cpu_regs_switch(&old->regs, &s->regs);
		else
			cpu_regs_load(&s->regs);
		vp->gpr[GPR_RSP] = vmread(VMCS_GUEST_RSP);
		if (deadline)
			vmx_set_deadline_ctx(s, deadline);
	}
	vp->cur = c;
	vp->be = s;
}

static int vmx_vp_init(struct vp *vp, const struct guest_boot_state *g, struct pool *pool)
{
	struct vmx_cpu *cpu = pool_alloc_pages(pool, 1);
	u8 *vmxon_region = pool_alloc_pages(pool, 1);
	if (!cpu || !vmxon_region)
		return -1;
	vp->be_cpu = cpu;
	cpu->vmxon_region = vmxon_region;
	u32 a, b, c2, d;
	cpuid_count(0x80000001, 0, &a, &b, &c2, &d);
	vmx_have_tsc_aux = d & BIT(27);
	*(u32 *)cpu->vmxon_region = (u32)(vmx.caps.basic & VMX_BASIC_REVISION_MASK);

	/* SDM 24.7: VMXON needs IA32_FEATURE_CONTROL locked with VMXON
	 * outside SMX; firmware normally does it, OVMF under Bochs does not. */
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCK))
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMXON_OUTSIDE_SMX);
	/* SDM 24.8: CR0 and CR4 must satisfy the fixed bits (CR4.VMXE). */
	u64 cr0 = vmx_fixed_cr(read_cr0(), vmx.caps.cr0_fixed0, vmx.caps.cr0_fixed1);
	u64 cr4 = vmx_fixed_cr(read_cr4(), vmx.caps.cr4_fixed0, vmx.caps.cr4_fixed1) | CR4_VMXE;
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));

	int rc = vmxon((u64)(uintptr_t)cpu->vmxon_region);
	if (rc) {
		LOGE("vmx: VMXON failed (%s)", rc == 1 ? "VMfailInvalid" : "VMfailValid");
		__asm__ volatile("mov %0, %%cr4" : : "r"(read_cr4() & ~CR4_VMXE));
		return -1;
	}
	cpu->vmx_on = true;
	struct vp_ctx *c = &vp->ctx[0];
	c->vtl = 0;
	c->slat = &vp->part->slat[0];
	if (vmx_ctx_create(vp, c, g, pool)) {
		vmx_leave(vp);
		return -1;
	}
	vmx_ctx_switch(vp, c);
	vp->gpr[GPR_RAX] = 0; /* hv_launch returns 0 in the guest */
	return 0;
}

void vmx_flush_vpid(const struct vmx_ctx *s)
{
	if (!s->vpid)
		return;
	invvpid((vmx.caps.ept_vpid & VPID_CAP_INVVPID_SINGLE) ? INV_SINGLE_CONTEXT : INV_ALL_CONTEXT,
		s->vpid, 0);
}

/* Guest TLB flushes (TLFS 9.4) on this VP's processor, by VPID with the
 * narrowest INVVPID type the CPU has (SDM 31.3 INVVPID, A.10). Without
 * VPID every VM entry and exit flushes the guest's translations already
 * (SDM "Operations that Invalidate Cached Mappings"). gva is canonical (INVVPID fails otherwise). */
static void vmx_tlb_flush(struct vp *vp, enum tlb_flush kind, u64 gva)
{
	const struct vmx_ctx *s = vmx_of(vp);
	u64 caps = vmx.caps.ept_vpid;
	if (!s->vpid)
		return;
	if (kind == TLB_FLUSH_ADDR && (caps & VPID_CAP_INVVPID_ADDR))
		invvpid(INV_INDIVIDUAL_ADDR, s->vpid, gva);
	else if (kind == TLB_FLUSH_NONGLOBAL && (caps & VPID_CAP_INVVPID_SINGLE_GLOBALS))
		invvpid(INV_SINGLE_CONTEXT_GLOBALS, s->vpid, 0);
	else
		vmx_flush_vpid(s);
}

/* Deliver again an event whose delivery a VM exit cut short (SDM 28.2.4,
 * 26.8.3 on software events: they need their instruction length). */
static void reinject_pending(struct vmx_ctx *s)
{
	if (s->reinject && !s->injected) {
		vmwrite(VMCS_ENTRY_INTR_INFO, s->reinject);
		if (s->reinject & VMX_INTR_INFO_ERROR)
			vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, s->reinject_err);
		u32 type = (s->reinject & VMX_INTR_TYPE_MASK) >> VMX_INTR_TYPE_SHIFT;
		if (type == VMX_INTR_TYPE_SW_INT || type == VMX_INTR_TYPE_PRIV_SW_EXC ||
		    type == VMX_INTR_TYPE_SW_EXC)
			vmwrite(VMCS_ENTRY_INSN_LEN, s->reinject_len);
	}
	s->reinject = 0;
	s->injected = false;
}

/* A host deadline before an entry (vmx_set_deadline): due, it is the
 * exit (no entry; disarmed); else the preemption timer counts to it. */
static bool deadline_entry(struct vmx_ctx *s, struct hv_exit *e)
{
	u64 now = rdtsc();
	if (now < s->deadline) {
		if (vmx.preempt_timer)
			vmwrite(VMCS_PREEMPT_TIMER, vmx_preempt_ticks(s->deadline, now, vmx.caps.misc));
		return false;
	}
	vmx_set_deadline_ctx(s, 0);
	*e = (struct hv_exit){ .reason = HV_EXIT_DEADLINE };
	return true;
}

static void vmx_run(struct vp *vp, struct hv_exit *e)
{
	struct vmx_ctx *s = vmx_of(vp);

	for (;;) {
		if (s->deadline && deadline_entry(s, e))
			return;
		reinject_pending(s);
		sync_ia32e(s);
		vmwrite(VMCS_GUEST_RSP, vp->gpr[GPR_RSP]);
		int rc = vmx_run_asm(vp->gpr, s->launched);
		if (rc) {
			/* VMfailInvalid/VMfailValid: nothing of the guest ran
			 * and the VMCS says why (SDM 31.4). */
			u32 err = rc == 2 ? (u32)vmread(VMCS_INSN_ERROR) : 0;
			*e = (struct hv_exit){ .reason = HV_EXIT_ENTRY_FAIL, .raw = 0x80000000u | err };
			if (vp->cur->l2) {
				/* vmcs02: a VM-entry failure for L1 (vmx_nested.c). */
				LOGW("vmx: nested: vmcs02 %s failed: %s (error %u): reflected to L1",
				     s->launched ? "VMRESUME" : "VMLAUNCH", vmx_insn_error_name(err), err);
				vmx_nested_entry_failed(vp, VMX_EXIT_ENTRY_INVALID_GUEST);
				e->reason = HV_EXIT_NESTED;
				return;
			}
			LOGE("vmx: %s failed: %s (VM-instruction error %u)",
			     s->launched ? "VMRESUME" : "VMLAUNCH",
			     rc == 2 ? vmx_insn_error_name(err) : "VMfailInvalid: no current VMCS", err);
			break;
		}
		vp->gpr[GPR_RSP] = vmread(VMCS_GUEST_RSP);
		vmx_decode_exit(vp, e);
		if (e->reason == HV_EXIT_ENTRY_FAIL) {
			if (vp->cur->l2) { /* L2's invalid state: L1's exit 33 */
				e->reason = HV_EXIT_NESTED;
				return;
			}
			break; /* logged by the decoder; launch state unchanged */
		}
		s->launched = true;
		u32 idt = (u32)vmread(VMCS_IDT_VECTORING_INFO);
		if (idt & VMX_INTR_INFO_VALID) {
			/* Bits 30:12 are reserved in the entry field. */
			s->reinject = idt & (VMX_INTR_INFO_VALID | 0x7ff | VMX_INTR_INFO_ERROR);
			s->reinject_err = (u32)vmread(VMCS_IDT_VECTORING_ERROR);
			s->reinject_len = (u32)vmread(VMCS_EXIT_INSN_LEN);
		}
		if (!vmx_handle_internal(vp, e))
			return;
	}
	/* The entry failed. Before the first successful entry the core
	 * gives the CPU back to the firmware: dump while the VMCS is still
	 * readable, then leave VMX operation. */
	if (!s->launched) {
		vmx_dump(vp);
		vmx_leave(vp);
	}
}

/* Arm (tsc) or cancel (0) the deadline of the current context, whose
 * VMCS is current on this processor. */
void vmx_set_deadline_ctx(struct vmx_ctx *s, u64 tsc)
{
	bool was = s->deadline;
	s->deadline = tsc;
	if (vmx.preempt_timer && was != (tsc != 0)) {
		u64 pin = vmread(VMCS_PIN_CTLS);
		vmwrite(VMCS_PIN_CTLS, tsc ? pin | PIN_PREEMPT_TIMER : pin & ~(u64)PIN_PREEMPT_TIMER);
	}
}

void vmx_set_deadline(struct vp *vp, u64 tsc) { vmx_set_deadline_ctx(vmx_of(vp), tsc); }

/* The preemption timer is a hard bound; without it the deadline is seen
 * only at the guest's exits (external interrupts do not exit). */
static enum be_deadline vmx_deadline_kind(void)
{
	return vmx.preempt_timer ? BE_DEADLINE_EXACT : BE_DEADLINE_SOFT;
}

static u32 vmx_hw_features(void)
{
	return HV_HW_MSR_BITMAPS | HV_HW_SLAT | VMX_HV_HW_UNRESTRICTED_GUEST;
}

/* Lazy MMIO above the memory map: map the large page around gpa. A
 * not-present EPT entry is never cached, so no INVEPT (SDM 29.4.3.1). */
static int vmx_slat_map_identity(struct vp *vp, u64 gpa)
{
	u64 base, sz;
	if (slat_map_identity_large(vmx_of(vp)->slat, gpa, &base, &sz))
		return -1;
	LOGD("ept: mapped %lx-%lx on demand", (unsigned long)base, (unsigned long)(base + sz));
	return 0;
}

/* Overlay pages (TLFS 5.2.1): one 4K EPT entry. The old translation may
 * be cached (combined mappings, SDM 29.4.3.1): INVEPT before the guest
 * runs again. */
static int vmx_slat_set_page(struct vp *vp, u64 gpa, u64 hpa, enum slat_access acc)
{
	const struct vmx_ctx *s = vmx_of(vp);
	if (slat_set_access(s->slat, gpa, hpa, acc))
		return -1;
	invept((vmx.caps.ept_vpid & EPT_CAP_INVEPT_SINGLE) ? INV_SINGLE_CONTEXT : INV_ALL_CONTEXT,
	       s->eptp);
	return 0;
}

/* INVEPT for the view t (its EPTP, SDM 29.4.3.1), whichever context
 * runs. */
static int vmx_slat_view_set_page(struct vp *vp, struct slat *t, u64 gpa, u64 hpa,
				  enum slat_access acc)
{
	if (slat_set_access(t, gpa, hpa, acc))
		return -1;
	invept((vmx.caps.ept_vpid & EPT_CAP_INVEPT_SINGLE) ? INV_SINGLE_CONTEXT : INV_ALL_CONTEXT,
	       t->root | EPTP_WALK_4 | EPTP_WB);
	return 0;
}

/* Every EPTP's combined mappings on this processor. */
static void vmx_slat_flush(struct vp *vp)
{
	if (vmx.caps.ept_vpid & EPT_CAP_INVEPT_ALL) {
		invept(INV_ALL_CONTEXT, 0);
		return;
	}
	for (u32 v = 0; v < HV_VTL_COUNT; v++)
		if (vp->ctx[v].live)
			invept(INV_SINGLE_CONTEXT, ((const struct vmx_ctx *)vp->ctx[v].be)->eptp);
}

/* The secure register intercepts (TLFS 15.13.4): the guarded bits join
 * the CR0/CR4 guest/host mask, with the guest's current values in the
 * read shadow, so a MOV/CLTS/LMSW that changes one exits (SDM 26.1.3);
 * handle_cr_access (vmx_exit.c) hands it to hv/cr.c. The real register
 * keeps the same values in those bits (only whole writes load them). */
static void vmx_cr_guard(struct vp *vp, int cr, u64 mask)
{
	struct vmx_ctx *s = vmx_of(vp);
	if (cr == 0) {
		u64 view = vmx_cr_view(vmread(VMCS_GUEST_CR0), vmread(VMCS_CR0_SHADOW), vmx.cr0_mask);
		s->cr0_guard = mask;
		vmwrite(VMCS_CR0_SHADOW, view);
		vmwrite(VMCS_CR0_MASK, vmx.cr0_mask | mask);
	} else {
		u64 view = vmx_cr_view(vmread(VMCS_GUEST_CR4), vmread(VMCS_CR4_SHADOW), vmx.cr4_mask);
		s->cr4_guard = mask & ~(u64)CR4_VMXE;
		vmwrite(VMCS_CR4_SHADOW, vp->part->nested ? view : view & ~(u64)CR4_VMXE);
		vmwrite(VMCS_CR4_MASK, vmx.cr4_mask | s->cr4_guard);
	}
}

/* VMCALL (SDM vol. 2): the hypercall page's instruction on Intel. */
static const u8 vmcall_insn[3] = { 0x0f, 0x01, 0xc1 };

const struct backend vmx_backend = {
	.name = "vmx",
	.probe = vmx_probe,
	.partition_create = vmx_partition_create,
	.vp_init = vmx_vp_init,
	.ctx_create = vmx_ctx_create,
	.ctx_switch = vmx_ctx_switch,
	.run = vmx_run,
	.advance_rip = vmx_advance_rip,
	.inject_exception = vmx_inject_exception,
	.inject_nmi = vmx_inject_nmi,
	.inject_irq = vmx_inject_irq,
	.set_deadline = vmx_set_deadline,
	.deadline_kind = vmx_deadline_kind,
	.msr_intercept = vmx_msr_intercept,
	.io_intercept = vmx_io_intercept,
	.vp_load_state = vmx_load_state,
	.vp_get_state = vmx_get_state,
	.vp_set_state = vmx_set_state,
	.tlb_flush = vmx_tlb_flush,
	.read_reg = vmx_read_reg,
	.msr_read = vmx_msr_read,
	.msr_write = vmx_msr_write,
	.slat_map_identity = vmx_slat_map_identity,
	.slat_set_page = vmx_slat_set_page,
	.slat_view_set_page = vmx_slat_view_set_page,
	.slat_flush = vmx_slat_flush,
	.mbec = vmx_mbec,
	.mbec_ctl = vmx_mbec_ctl,
	.cr_guard = vmx_cr_guard,
	.hypercall_insn = vmcall_insn,
	.dump = vmx_dump,
	.hw_features = vmx_hw_features,
	.debug_ctl = vmx_debug_ctl,
	.nested_features = vmx_nested_features,
	.nested_insn = vmx_nested_insn,
	.nested_enter = vmx_nested_enter,
	.nested_exit = vmx_nested_exit,
	.nested_vmx = true,
	/* Leaf 0x4000000A: the enlightened VMCS, versions 1..1 (TLFS 2.4.11,
	 * 16.5; vmx_nested_evmcs.c), the enlightened MSR bitmap (bit 19,
	 * 16.5.3) that comes with it, and HvFlushGuestPhysicalAddressSpace/
	 * List (bit 18, 16.13: nested/flush.c drops the shadow of L1's EPT)
	 * (docs/nested.md, "The enlightened VMCS"). */
	.nested_enl = (EVMCS_VERSION << 8) | EVMCS_VERSION | HV_NESTED_DIRECT_FLUSH |
		      HV_NESTED_GUEST_MAPPING_FLUSH | HV_NESTED_MSR_BITMAP,
	.nested_npf_code = VMX_EXIT_EPT_VIOLATION,
	.nested_misconfig_code = VMX_EXIT_EPT_MISCONFIG,
};
