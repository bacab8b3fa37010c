/*
 * dispatch.c - the VM-exit dispatcher. The backend hands over a neutral
 * exit record; a table indexed by its reason picks the handler; the handler
 * returns an action and RIP is advanced here, in one place. Every exit is
 * counted per reason and kept in a ring of recent exits for the fatal dump.
 * An exit nobody handles dumps state and parks the CPU: never continue
 * silently.
 */
#include "hv.h"
#include "log.h"
#include "x86.h"

static const char *const exit_names[HV_EXIT__COUNT] = {
	[HV_EXIT_NONE] = "none",          [HV_EXIT_CPUID] = "cpuid",
	[HV_EXIT_MSR_READ] = "msr_read",  [HV_EXIT_MSR_WRITE] = "msr_write",
	[HV_EXIT_IO] = "io",              [HV_EXIT_NPF] = "npf",
	[HV_EXIT_HYPERCALL] = "hypercall", [HV_EXIT_VIRT_INSN] = "virt_insn",
	[HV_EXIT_SHUTDOWN] = "shutdown",  [HV_EXIT_INIT] = "init",
	[HV_EXIT_SIPI] = "sipi",          [HV_EXIT_EXCEPTION] = "exception",
	[HV_EXIT_HLT] = "hlt",            [HV_EXIT_ENTRY_FAIL] = "entry_fail",
	[HV_EXIT_UNKNOWN] = "unknown",   [HV_EXIT_NMI] = "nmi",
	[HV_EXIT_INTR_WINDOW] = "intr_window", [HV_EXIT_DEADLINE] = "deadline",
};

const char *hv_exit_name(enum hv_exit_reason r)
{
	return (unsigned)r < HV_EXIT__COUNT && exit_names[r] ? exit_names[r] : "?";
}

typedef enum hv_action (*hv_exit_fn)(struct vp *, struct hv_exit *);

/* The routing table: adding an exit kind is adding a row. */
static const hv_exit_fn exit_table[HV_EXIT__COUNT] = {
	[HV_EXIT_CPUID] = hv_handle_cpuid,
	[HV_EXIT_MSR_READ] = hv_handle_msr_read,
	[HV_EXIT_MSR_WRITE] = hv_handle_msr_write,
	[HV_EXIT_IO] = hv_handle_io,
	[HV_EXIT_NPF] = hv_handle_npf,
	[HV_EXIT_VIRT_INSN] = hv_handle_virt_insn,
	[HV_EXIT_HYPERCALL] = hv_handle_hypercall,
	[HV_EXIT_SHUTDOWN] = hv_handle_shutdown,
	[HV_EXIT_NMI] = hv_handle_nmi,
	/* Nothing requests these yet (inject_irq, set_deadline): resume. */
	[HV_EXIT_INTR_WINDOW] = hv_handle_resume,
	[HV_EXIT_DEADLINE] = hv_handle_resume,
};

static bool cpu_ready;
bool hv_cpu_ready(void) { return cpu_ready; }
void hv_set_cpu_ready(void) { cpu_ready = true; }

void hv_inject_gp(struct vp *vp) { vp->part->be->inject_exception(vp, X86_EXC_GP, true, 0); }
void hv_inject_ud(struct vp *vp) { vp->part->be->inject_exception(vp, X86_EXC_UD, false, 0); }

void hv_dispatch(struct vp *vp, struct hv_exit *e)
{
	const struct backend *be = vp->part->be;
	unsigned r = (unsigned)e->reason < HV_EXIT__COUNT ? (unsigned)e->reason : HV_EXIT_UNKNOWN;

	vp->exits++;
	vp->exit_count[r]++;
	struct exit_ring_entry *re = &vp->ring[vp->ring_next++ % HV_EXIT_RING];
	re->tsc = vp->exits;
	re->rip = be->read_reg(vp, GREG_RIP);
	re->raw = e->raw;
	re->qual = e->qual[0];
	re->reason = (u8)r;

	hv_exit_fn fn = exit_table[r];
	if (!fn)
		hv_fatal(vp, e, "unhandled exit");
	switch (fn(vp, e)) {
	case HV_ACT_ADVANCE:
		if (be->advance_rip(vp, e))
			hv_fatal(vp, e, "cannot advance RIP: instruction length unknown");
		break;
	case HV_ACT_RESUME:
	case HV_ACT_INJECTED:
		break;
	case HV_ACT_FATAL:
	default:
		hv_fatal(vp, e, "handler failed");
	}
}

void hv_dump_counters(const struct vp *vp)
{
	char line[200];
	size_t n = fmt_format(line, sizeof(line), "exit counters vp%u: total=%lu", vp->index,
			      (unsigned long)vp->exits);
	for (unsigned r = 1; r < HV_EXIT__COUNT && n < sizeof(line); r++)
		if (vp->exit_count[r])
			n += fmt_format(line + n, sizeof(line) - n, " %s=%lu", exit_names[r],
					(unsigned long)vp->exit_count[r]);
	LOGI("%s", line);
	hv_hypercall_dump_counters(vp);
}

/* At power-off or reset, from the VP that asked: a line for every other
 * VP (a racy snapshot: they may still run), to see where each one was. */
void hv_dump_other_vps(const struct vp *self)
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
		     hv_exit_name(re->reason), (unsigned long)re->rip);
	}
}

void hv_dump_recent(const struct vp *vp)
{
	log_raw("  recent exits (oldest first):\r\n");
	for (u32 i = 0; i < HV_EXIT_RING; i++) {
		const struct exit_ring_entry *re = &vp->ring[(vp->ring_next + i) % HV_EXIT_RING];
		if (!re->tsc)
			continue;
		log_raw("    #%lu %-10s raw %lx qual %lx rip %lx\r\n", (unsigned long)re->tsc,
			hv_exit_name(re->reason), (unsigned long)re->raw, (unsigned long)re->qual,
			(unsigned long)re->rip);
	}
}

NORETURN void hv_fatal(struct vp *vp, const struct hv_exit *e, const char *why)
{
	LOGE("PANIC: %s: exit %s (raw %lx, qual %lx %lx) at guest rip %lx; parking this CPU", why,
	     hv_exit_name(e->reason), (unsigned long)e->raw, (unsigned long)e->qual[0],
	     (unsigned long)e->qual[1], (unsigned long)vp->part->be->read_reg(vp, GREG_RIP));
	vp->parked = 1; /* cross-VP calls stop waiting for us (hv/xcall.c) */
	vp->part->be->dump(vp);
	hv_dump_recent(vp);
	hv_dump_counters(vp);
#ifdef HV_HOST_TEST
	extern NORETURN void host_test_fatal(void);
	host_test_fatal();
#else
	cpu_park();
#endif
}

/* An exit with nothing to do but enter again. */
enum hv_action hv_handle_resume(struct vp *vp, struct hv_exit *e)
{
	return HV_ACT_RESUME;
}

/* SVM/VMX instructions in the guest: the guest sees no virtualization
 * extensions (CPUID hides them), so they are undefined opcodes. */
enum hv_action hv_handle_virt_insn(struct vp *vp, struct hv_exit *e)
{
	hv_inject_ud(vp);
	return HV_ACT_INJECTED;
}

/* A triple fault in the guest would reset a real machine: log it with the
 * state, then reset the platform the way the firmware's reset would. */
enum hv_action hv_handle_shutdown(struct vp *vp, struct hv_exit *e)
{
	const struct partition *p = vp->part;
	LOGE("guest triple fault (shutdown) at rip %lx: resetting the system",
	     (unsigned long)p->be->read_reg(vp, GREG_RIP));
	p->be->dump(vp);
	hv_dump_recent(vp);
	hv_dump_counters(vp);
	if (p->reset_port)
		hv_native_io_out(p->reset_port, 1, p->reset_value);
	hv_native_io_out(0xcf9, 1, 0x0e);
	hv_fatal(vp, e, "system reset did not happen");
}
