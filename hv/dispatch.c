/*
 * dispatch.c - the VM-exit router. The backend hands over a neutral exit
 * record; a table indexed by its reason picks the handler; the handler
 * returns an action and RIP is advanced here, in one place. The table is
 * built at start from the modules' HV_EXIT_HANDLER rows
 * (include/hv/module.h), so a module adds an exit kind without editing
 * this file. Every exit is counted per reason and kept in a ring of recent
 * exits for the fatal dump (hv/vp.c). An exit nobody handles dumps state
 * and parks the CPU: never continue silently.
 */
#include "dispatch.h"
#include "backend.h"
#include "hw.h"
#include "log.h"
#include "module.h"
#include "x86.h"

extern const struct hv_exit_row __start_hv_exit_rows[], __stop_hv_exit_rows[];

static hv_exit_fn exit_table[HV_EXIT__COUNT];

int dispatch_table_init(void)
{
	for (unsigned r = 0; r < HV_EXIT__COUNT; r++)
		exit_table[r] = NULL;
	for (const struct hv_exit_row *x = __start_hv_exit_rows; x < __stop_hv_exit_rows; x++) {
		if (x->reason == HV_EXIT_NONE || x->reason >= HV_EXIT__COUNT || !x->fn ||
		    exit_table[x->reason]) {
			LOGE("exit handler row for reason %u: out of range or a second handler",
			     x->reason);
			return -1;
		}
		exit_table[x->reason] = x->fn;
	}
	if (!exit_table[HV_EXIT_INTR_WINDOW])
		exit_table[HV_EXIT_INTR_WINDOW] = hv_handle_resume;
	if (!exit_table[HV_EXIT_DEADLINE])
		exit_table[HV_EXIT_DEADLINE] = hv_handle_resume;
	return 0;
}

void dispatch_exit(struct vp *vp, struct hv_exit *e)
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
		vp_fatal(vp, e, "unhandled exit");
	switch (fn(vp, e)) {
	case HV_ACT_ADVANCE:
		if (be->advance_rip(vp, e))
			vp_fatal(vp, e, "cannot advance RIP: instruction length unknown");
		break;
	case HV_ACT_RESUME:
	case HV_ACT_INJECTED:
		break;
	case HV_ACT_FATAL:
	default:
		vp_fatal(vp, e, "handler failed");
	}
}

/* An exit with nothing to do but enter again: the interrupt window and the
 * host deadline (backend inject_irq, set_deadline) when no module
 * registered a handler for them (dispatch_table_init fills the gap, so a
 * module that uses them needs no edit here). */
enum hv_action hv_handle_resume(struct vp *vp, struct hv_exit *e)
{
	return HV_ACT_RESUME;
}

/* SVM/VMX instructions in the guest: nested/nested.c (#UD unless
 * nested=on offers SVM). */

/* A triple fault in the guest would reset a real machine: log it with the
 * state, then reset the platform the way the firmware's reset would. */
enum hv_action hv_handle_shutdown(struct vp *vp, struct hv_exit *e)
{
	const struct partition *p = vp->part;
	LOGE("guest triple fault (shutdown) at rip %lx: resetting the system",
	     (unsigned long)p->be->read_reg(vp, GREG_RIP));
	p->be->dump(vp);
	vp_dump_recent(vp);
	vp_dump_counters(vp);
	if (p->reset_port)
		hw_io_out(p->reset_port, 1, p->reset_value);
	hw_io_out(0xcf9, 1, 0x0e);
	vp_fatal(vp, e, "system reset did not happen");
}
HV_EXIT_HANDLER(exit_shutdown, HV_EXIT_SHUTDOWN, hv_handle_shutdown);
