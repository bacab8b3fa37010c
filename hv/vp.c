/*
 * vp.c - services every module may call on a virtual processor: the
 * current VP, exception injection, and the fatal path with its dumps
 * (exit counters by reason, the ring of recent exits, the other VPs). The
 * exit router (hv/dispatch.c) and the handlers use these; this file uses
 * none of them, so the uses between hv/ files stay one-way.
 */
#include "vp.h"
#include "backend.h"
#include "hw.h"
#include "log.h"
#include "boot_info.h"
#include "module.h"
#include "x86.h"

static const char *const exit_names[HV_EXIT__COUNT] = {
	[HV_EXIT_NONE] = "none",          [HV_EXIT_CPUID] = "cpuid",
	[HV_EXIT_MSR_READ] = "msr_read",  [HV_EXIT_MSR_WRITE] = "msr_write",
	[HV_EXIT_IO] = "io",              [HV_EXIT_NPF] = "npf",
	[HV_EXIT_HYPERCALL] = "hypercall", [HV_EXIT_VIRT_INSN] = "virt_insn",
	[HV_EXIT_NESTED] = "nested", [HV_EXIT_NESTED_NPF] = "nested_npf",
	[HV_EXIT_NESTED_HCALL] = "nested_hcall",
	[HV_EXIT_SHUTDOWN] = "shutdown",  [HV_EXIT_INIT] = "init",
	[HV_EXIT_SIPI] = "sipi",          [HV_EXIT_EXCEPTION] = "exception",
	[HV_EXIT_HLT] = "hlt",            [HV_EXIT_ENTRY_FAIL] = "entry_fail",
	[HV_EXIT_UNKNOWN] = "unknown",   [HV_EXIT_NMI] = "nmi",
	[HV_EXIT_INTR_WINDOW] = "intr_window", [HV_EXIT_DEADLINE] = "deadline",
	[HV_EXIT_CR_WRITE] = "cr_write",
};

const char *vp_exit_name(enum hv_exit_reason r)
{
	return (unsigned)r < HV_EXIT__COUNT && exit_names[r] ? exit_names[r] : "?";
}

static bool cpu_ready;
static u64 vp_mem_lo, vp_mem_hi; /* where VPs live: the core's pool */
bool vp_cpu_ready(void) { return cpu_ready; }
void vp_set_cpu_ready(u64 base, u64 size)
{
	vp_mem_lo = base;
	vp_mem_hi = base + size;
	cpu_ready = true;
}

#ifndef HV_HOST_TEST
/* GS holds the current VP once the core set this CPU up (arch_cpu_init);
 * before that it is the firmware's (0). */
struct vp *vp_current(void)
{
	u64 gs = rdmsr(MSR_GS_BASE);
	struct vp *v = (struct vp *)(uintptr_t)gs;
	if (!cpu_ready || gs < vp_mem_lo || gs >= vp_mem_hi)
		return NULL;
	return v->self == v ? v : NULL;
}
#endif

void vp_inject_gp(struct vp *vp) { vp->part->be->inject_exception(vp, X86_EXC_GP, true, 0); }
void vp_inject_ud(struct vp *vp) { vp->part->be->inject_exception(vp, X86_EXC_UD, false, 0); }
void vp_inject_pf(struct vp *vp, u64 la, u32 err)
{
	const struct backend *be = vp->part->be;
	struct guest_boot_state gs;
	be->vp_get_state(vp, &gs);
	gs.cr2 = la;
	be->vp_set_state(vp, &gs);
	be->inject_exception(vp, X86_EXC_PF, true, err);
}

void vp_dump_counters(const struct vp *vp)
{
	char line[200];
	size_t n = fmt_format(line, sizeof(line), "exit counters vp%u: total=%lu", vp->index,
			      (unsigned long)vp->exits);
	for (unsigned r = 1; r < HV_EXIT__COUNT && n < sizeof(line); r++)
		if (vp->exit_count[r])
			n += fmt_format(line + n, sizeof(line) - n, " %s=%lu", vp_exit_name(r),
					(unsigned long)vp->exit_count[r]);
	LOGI("%s", line);
	if (vp->init_count | vp->sipi_count | vp->apic_writes | vp->guest_nmis | vp->idle_count)
		LOGI("events vp%u: init=%lu sipi=%lu xapic_writes=%lu guest_nmis=%lu guest_idles=%lu",
		     vp->index, (unsigned long)vp->init_count, (unsigned long)vp->sipi_count,
		     (unsigned long)vp->apic_writes, (unsigned long)vp->guest_nmis,
		     (unsigned long)vp->idle_count);
	registry_dump(vp); /* the modules' lines: hypercalls by name, ... */
}

/* At power-off or reset, from the VP that asked: a line for every other
 * VP (a racy snapshot: they may still run), to see where each one was. */
void vp_dump_others(const struct vp *self)
{
	const struct partition *p = self->part;
	for (u32 i = 0; i < p->vp_count; i++) {
		const struct vp *v = p->vps[i];
		if (!v || v == self)
			continue;
		const struct exit_ring_entry *re = &v->ring[(v->ring_next + HV_EXIT_RING - 1) % HV_EXIT_RING];
		LOGI("vp%u: exits %lu (nmi %lu hypercall %lu), cross-VP calls served %lu, re-kicks %lu, "
		     "parked %u, last exit %s at rip %lx", v->index, (unsigned long)v->exits,
		     (unsigned long)v->exit_count[HV_EXIT_NMI], (unsigned long)v->exit_count[HV_EXIT_HYPERCALL],
		     (unsigned long)v->xcalls_served, (unsigned long)v->xcall_rekicks, v->parked,
		     vp_exit_name(re->reason), (unsigned long)re->rip);
	}
}

void vp_dump_recent(const struct vp *vp)
{
	log_raw("  recent exits (oldest first):\r\n");
	for (u32 i = 0; i < HV_EXIT_RING; i++) {
		const struct exit_ring_entry *re = &vp->ring[(vp->ring_next + i) % HV_EXIT_RING];
		if (!re->tsc)
			continue;
		log_raw("    #%lu %-10s raw %lx qual %lx rip %lx\r\n", (unsigned long)re->tsc,
			vp_exit_name(re->reason), (unsigned long)re->raw, (unsigned long)re->qual,
			(unsigned long)re->rip);
	}
}

NORETURN void vp_fatal(struct vp *vp, const struct hv_exit *e, const char *why)
{
	LOGE("PANIC: %s: exit %s (raw %lx, qual %lx %lx) at guest rip %lx; parking this CPU", why,
	     vp_exit_name(e->reason), (unsigned long)e->raw, (unsigned long)e->qual[0],
	     (unsigned long)e->qual[1], (unsigned long)vp->part->be->read_reg(vp, GREG_RIP));
	vp->parked = 1; /* cross-VP calls stop waiting for us (hv/xcall.c) */
	vp->part->be->dump(vp);
	vp_dump_recent(vp);
	vp_dump_counters(vp);
	hw_park();
}

/* An NMI in the host: SVM holds NMIs while the host runs (GIF=0); VMX
 * delivers them to the host. Either way it belongs to the guest or is a
 * kick from another VP: note it for the next entry (hv/smp.c). */
void vp_hw_nmi(void)
{
	struct vp *v = vp_current();
	if (v)
		v->host_nmi = 1;
}

/* A host exception is about to park this processor: its recent exits. */
void vp_hw_panic(void)
{
	struct vp *v = vp_current();
	if (v)
		vp_dump_recent(v);
}
