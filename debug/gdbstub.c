/*
 * gdbstub.c - the guest debugger: hv.efi as a GDB remote target for its
 * guest over a 16550 UART (hv.cfg gdb=<port>), docs/debugging.md.
 *
 * The protocol is debug/gdbproto.c's; this file is its target: threads
 * are VPs (thread id = VP index + 1), registers and memory are the VPs'
 * as each VP left them when it stopped. Stopping the world: the VP that
 * meets an event (our INT3, the end of a step, a byte from the debugger
 * while the guest runs) becomes the leader, asks every other VP to stop
 * (an NMI kick, hv/kick.c; each stops in this file's hook before its next
 * entry, snapshots its own state on its own processor and waits), then
 * serves the debugger until it resumes them. Only backend ops reach the
 * guest (include/hv/backend.h: vp_get_state/vp_set_state, debug_ctl,
 * set_deadline); memory goes through the VP's page tables (hv/walk.c)
 * and hv/gmem.c, which never reaches hypervisor memory or MMIO.
 *
 * Off (no gdb= in hv.cfg) nothing of this runs: the partition's
 * debug_hook stays NULL and the exit path pays one load.
 */
#include "gdb.h"
#include "backend.h"
#include "gmem.h"
#include "hw.h"
#include "kick.h"
#include "log.h"
#include "module.h"
#include "pool.h"
#include "walk.h"
#include "x86.h"
#include "xcall.h"
#include "hv_abi.h"
#include "tlfs.h"

/* 16550 registers (the log's arch/x86_64/serial.c writes only). */
#define UART_RBR 0
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20

/* Per VP: what it was when it stopped, and the leader's orders. */
struct dbg_vp {
	u8 fx[512];            /* FXSAVE image (16-byte aligned: page start) */
	struct vp *vp;
	volatile u32 stopped;  /* halted here, the snapshot valid */
	volatile u32 go;       /* the leader's order: GO_RUN or GO_STEP */
	u8 ev;                 /* an event its exit handler saw: the signal */
	bool swbreak;          /* that event was our INT3 */
	bool stepping;         /* a debugger step is under way */
	bool dirty;            /* the debugger changed the registers */
	bool fx_dirty;
	struct guest_boot_state gs;
	u64 deadline_mod;      /* set_deadline's value from the modules */
	u64 deadline_poll;     /* ours (VP 0 polls the UART) */
};
enum { GO_RUN = 1, GO_STEP = 2 };

static struct {
	u16 port;
	struct partition *p;
	struct dbg_vp *v[HV_MAX_VPS];
	volatile int leader;    /* VP index serving the debugger, or -1 */
	volatile u32 stop_req;  /* the world stops (or is stopped) */
	u32 bp_flags;           /* BE_DBG_BP while breakpoints are inserted */
	u64 poll_ticks, ms;
	u64 stops, steps, breakins, not_stopped;
	struct gdb g;
	struct gdb_target t;
	struct backend shim;    /* the backend, set_deadline shared (below) */
	const struct backend *real;
} gstub = { .leader = -1 };

/* ---- the UART ------------------------------------------------------------ */

static void uart_init(u16 port)
{
	hw_io_out(port + UART_IER, 1, 0); /* polled: never an interrupt */
	hw_io_out(port + UART_LCR, 1, 0x80);
	hw_io_out(port + 0, 1, 1);          /* 115200 baud */
	hw_io_out(port + 1, 1, 0);
	hw_io_out(port + UART_LCR, 1, 0x03); /* 8N1 */
	hw_io_out(port + UART_FCR, 1, 0x07);
	hw_io_out(port + UART_MCR, 1, 0x03);
}

static bool uart_getc(u8 *c)
{
	u32 lsr = hw_io_in(gstub.port + UART_LSR, 1);
	if (lsr == 0xff || !(lsr & LSR_DR)) /* 0xff: no UART there */
		return false;
	*c = (u8)hw_io_in(gstub.port + UART_RBR, 1);
	return true;
}

static void uart_write(void *ctx, const u8 *b, u32 n)
{
	for (u32 i = 0; i < n; i++) {
		for (u32 k = 0; k < 1000000 && !(hw_io_in(gstub.port + UART_LSR, 1) & LSR_THRE); k++)
			hw_cpu_relax();
		hw_io_out(gstub.port + UART_THR, 1, b[i]);
	}
}

/* ---- the shared host deadline ------------------------------------------------ */

/* One host deadline per VP (backend set_deadline) and two users: the
 * synthetic timers (synic/stimer.c) and the UART poll of VP 0 (a break-in
 * must be noticed while the guest runs without exits). The partition's
 * backend becomes a copy whose set_deadline keeps both and arms the
 * earlier; a deadline exit that was only ours is an early one for the
 * timers, which they already allow (BE_DEADLINE_ON_INTR). */
static void arm(struct vp *vp)
{
	struct dbg_vp *d = gstub.v[vp->index];
	u64 a = d->deadline_mod, b = d->deadline_poll;
	gstub.real->set_deadline(vp, !a ? b : !b ? a : a < b ? a : b);
}

static void shim_set_deadline(struct vp *vp, u64 tsc)
{
	struct dbg_vp *d = vp->index < HV_MAX_VPS ? gstub.v[vp->index] : NULL;
	if (!d) {
		gstub.real->set_deadline(vp, tsc);
		return;
	}
	d->deadline_mod = tsc;
	arm(vp);
}

/* ---- a VP's state ---------------------------------------------------------- */

static void fxsave(u8 *b) { __asm__ volatile("fxsave64 %0" : "=m"(*(u8(*)[512])b)); }
static void fxrstor(const u8 *b) { __asm__ volatile("fxrstor64 %0" : : "m"(*(const u8(*)[512])b)); }

/* On the VP's own processor: its registers into the snapshot. */
static void snapshot(struct vp *vp)
{
	struct dbg_vp *d = gstub.v[vp->index];
	vp->part->be->vp_get_state(vp, &d->gs);
	fxsave(d->fx);
	d->dirty = d->fx_dirty = false;
}

/* On the VP's own processor, before it runs: the debugger's changes, the
 * step and the #BP intercept. */
static void apply(struct vp *vp, bool step)
{
	struct dbg_vp *d = gstub.v[vp->index];
	const struct backend *be = vp->part->be;
	if (d->dirty)
		be->vp_set_state(vp, &d->gs);
	if (d->fx_dirty)
		fxrstor(d->fx);
	d->dirty = d->fx_dirty = false;
	d->stepping = step;
	if (be->debug_ctl)
		be->debug_ctl(vp, gstub.bp_flags | (step ? BE_DBG_STEP : 0));
}

/* gdb's register order (rax rbx rcx rdx rsi rdi rbp rsp) from x86's. */
static const u8 gdb_gpr[16] = { GPR_RAX, GPR_RBX, GPR_RCX, GPR_RDX, GPR_RSI, GPR_RDI, GPR_RBP,
				GPR_RSP, 8, 9, 10, 11, 12, 13, 14, 15 };
static const u8 gdb_seg[6] = { SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS };

static struct dbg_vp *thread(u32 tid)
{
	if (!tid || tid > gstub.p->vp_count || tid > HV_MAX_VPS)
		return NULL;
	struct dbg_vp *d = gstub.v[tid - 1];
	return d && d->stopped ? d : NULL;
}

static u32 t_threads(void *ctx) { return gstub.p->vp_count; }
static bool t_alive(void *ctx, u32 tid) { return thread(tid) != NULL; }

static int t_get_regs(void *ctx, u32 tid, struct gdb_regs *r)
{
	struct dbg_vp *d = thread(tid);
	if (!d)
		return -1;
	for (int i = 0; i < 16; i++)
		r->gpr[i] = d->vp->gpr[gdb_gpr[i]];
	r->rip = d->gs.rip;
	r->eflags = (u32)d->gs.rflags;
	for (int i = 0; i < 6; i++)
		r->seg[i] = d->gs.seg[gdb_seg[i]].sel;
	__builtin_memcpy(r->fx, d->fx, 512);
	r->fs_base = d->gs.seg[SEG_FS].base;
	r->gs_base = d->gs.seg[SEG_GS].base;
	return 0;
}

/* Selectors are not written (a selector without its descriptor's hidden
 * part would be a lie); everything else is, when the VP next runs. What
 * the debugger writes must not make the entry fail or the host fault
 * (the debugger is as untrusted as the guest): RIP and the FS/GS bases
 * canonical, only the RFLAGS bits an instruction could set (status, TF,
 * IF, DF, AC, ID; never VM, IOPL, NT, RF), MXCSR within MXCSR_MASK. */
#define RFLAGS_DEBUGGER 0x240fd5u
static int t_set_regs(void *ctx, u32 tid, const struct gdb_regs *r)
{
	struct dbg_vp *d = thread(tid);
	if (!d)
		return -1;
	bool la57 = d->gs.cr4 & CR4_LA57;
	if (!walk_canonical(r->rip, la57) || !walk_canonical(r->fs_base, la57) ||
	    !walk_canonical(r->gs_base, la57))
		return -1;
	u32 mask, mxcsr;
	__builtin_memcpy(&mask, d->fx + 28, 4);
	__builtin_memcpy(&mxcsr, r->fx + 24, 4);
	if (!mask)
		mask = 0xffbf; /* SDM vol. 1 11.6.6: the default MXCSR_MASK */
	if (mxcsr & ~mask)
		return -1;
	for (int i = 0; i < 16; i++)
		d->vp->gpr[gdb_gpr[i]] = r->gpr[i];
	d->gs.rsp = r->gpr[7];
	d->gs.rip = r->rip;
	d->gs.rflags = (d->gs.rflags & ~(u64)RFLAGS_DEBUGGER) | (r->eflags & RFLAGS_DEBUGGER);
	d->gs.seg[SEG_FS].base = r->fs_base;
	d->gs.seg[SEG_GS].base = r->gs_base;
	if (__builtin_memcmp(d->fx, r->fx, 512)) {
		__builtin_memcpy(d->fx, r->fx, 28);     /* x87 state, MXCSR */
		__builtin_memcpy(d->fx + 32, r->fx + 32, 128 + 256); /* ST0-7, XMM0-15 */
		d->fx_dirty = true;
	}
	d->dirty = true;
	return 0;
}

/* Guest virtual memory through tid's page tables as it stopped, a page at
 * a time, through hv/gmem.c (RAM and firmware memory only). */
static u32 mem_access(u32 tid, u64 va, u8 *buf, u32 len, bool write)
{
	struct dbg_vp *d = thread(tid);
	u32 done = 0;
	if (!d)
		return 0;
	struct xlate_state s = { d->gs.cr0, d->gs.cr3, d->gs.cr4, d->gs.efer, d->gs.pat,
				 d->gs.rflags, 0, true, 0 };
	while (done < len) {
		u64 a = va + done;
		u32 n = (u32)(PAGE_SIZE - (a & (PAGE_SIZE - 1)));
		if (n > len - done)
			n = len - done;
		struct xlate_out o;
		if (walk_gva(gstub.p, &s, a >> 12, 0, &o) != HV_TRANSLATE_GVA_SUCCESS)
			break;
		u64 gpa = (o.gpa_page << 12) | (a & (PAGE_SIZE - 1));
		if (!(write ? gmem_write(gstub.p, gpa, buf + done, n) : gmem_read(gstub.p, gpa, buf + done, n)))
			break;
		done += n;
	}
	return done;
}

static u32 t_read_mem(void *ctx, u32 tid, u64 va, u8 *buf, u32 len)
{
	return mem_access(tid, va, buf, len, false);
}

static u32 t_write_mem(void *ctx, u32 tid, u64 va, const u8 *buf, u32 len)
{
	return mem_access(tid, va, (u8 *)buf, len, true);
}

/* ---- monitor commands ---------------------------------------------------- */

static void mon(struct gdb *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mon(struct gdb *g, const char *fmt, ...)
{
	char b[160];
	va_list ap;
	va_start(ap, fmt);
	fmt_vformat(b, sizeof(b), fmt, ap);
	va_end(ap);
	gdb_monitor_out(g, b);
}

static bool word(const char **s, const char *w)
{
	const char *p = *s;
	while (*w && *p == *w)
		p++, w++;
	if (*w || (*p && *p != ' '))
		return false;
	while (*p == ' ')
		p++;
	*s = p;
	return true;
}

static bool num(const char **s, u64 *v)
{
	const char *p = *s;
	u64 x = 0;
	int n = 0;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (;; p++, n++) {
		char c = *p;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0 || n >= 16)
			break;
		x = x << 4 | (u64)d;
	}
	while (*p == ' ')
		p++;
	*s = p;
	*v = x;
	return n > 0;
}

static int t_monitor(void *ctx, struct gdb *g, const char *cmd)
{
	struct partition *p = gstub.p;
	u64 a, n;
	if (word(&cmd, "help")) {
		mon(g, "exits | recent | log [error|warn|info|debug] | phys ADDR [LEN] | stats\n");
		return 0;
	}
	if (word(&cmd, "exits")) {
		for (u32 i = 0; i < p->vp_count; i++) {
			struct vp *v = p->vps[i];
			if (!v)
				continue;
			mon(g, "VP %u: %lu exits\n", i, (unsigned long)v->exits);
			for (u32 r = 0; r < HV_EXIT__COUNT; r++)
				if (v->exit_count[r])
					mon(g, "  %-12s %lu\n", vp_exit_name((enum hv_exit_reason)r),
					    (unsigned long)v->exit_count[r]);
		}
		return 0;
	}
	if (word(&cmd, "recent")) {
		for (u32 i = 0; i < p->vp_count; i++) {
			struct vp *v = p->vps[i];
			if (!v)
				continue;
			mon(g, "VP %u (oldest first):\n", i);
			for (u32 k = 0; k < HV_EXIT_RING; k++) {
				const struct exit_ring_entry *e = &v->ring[(v->ring_next + k) % HV_EXIT_RING];
				if (e->tsc)
					mon(g, "  #%lu %s rip %lx raw %lx qual %lx\n", (unsigned long)e->tsc,
					    vp_exit_name((enum hv_exit_reason)e->reason), (unsigned long)e->rip,
					    (unsigned long)e->raw, (unsigned long)e->qual);
			}
		}
		return 0;
	}
	if (word(&cmd, "log")) {
		static const char *const names[] = { "error", "warn", "info", "debug" };
		for (int i = 0; *cmd && i < 4; i++)
			if (word(&cmd, names[i]))
				log_set_level(i);
		mon(g, "log level %s\n", names[log_level() & 3]);
		return 0;
	}
	if (word(&cmd, "phys")) {
		u8 b[16];
		if (!num(&cmd, &a)) {
			mon(g, "usage: phys ADDR [LEN]\n");
			return 0;
		}
		if (!num(&cmd, &n))
			n = 64;
		if (n > 256)
			n = 256;
		for (u64 off = 0; off < n; off += 16) {
			u32 k = n - off < 16 ? (u32)(n - off) : 16;
			if ((a + off) >> 12 != (a + off + k - 1) >> 12)
				k = (u32)(PAGE_SIZE - ((a + off) & (PAGE_SIZE - 1)));
			if (!gmem_read(p, a + off, b, k)) {
				mon(g, "%016lx: not guest memory\n", (unsigned long)(a + off));
				return 0;
			}
			mon(g, "%016lx:", (unsigned long)(a + off));
			for (u32 j = 0; j < k; j++)
				mon(g, " %02x", b[j]);
			mon(g, "\n");
			off -= 16 - k;
		}
		return 0;
	}
	if (word(&cmd, "stats")) {
		mon(g, "stops %lu steps %lu break-ins %lu VPs that did not stop %lu; packets: bad checksum %u, over-long %u, retransmitted %u, errors %u\n",
		    (unsigned long)gstub.stops, (unsigned long)gstub.steps, (unsigned long)gstub.breakins,
		    (unsigned long)gstub.not_stopped, g->bad_checksum, g->overlong_packets, g->retransmits,
		    g->errors);
		return 0;
	}
	return -1;
}

/* ---- stopping the world ---------------------------------------------------- */

/* A follower: stopped until the leader says go (serving cross-VP calls
 * meanwhile: a stepped VP may flush our TLB). */
static void halt(struct vp *vp)
{
	struct dbg_vp *d = gstub.v[vp->index];
	snapshot(vp);
	__atomic_store_n(&d->stopped, 1, __ATOMIC_RELEASE);
	u32 go;
	while (!(go = __atomic_load_n(&d->go, __ATOMIC_ACQUIRE))) {
		xcall_service(vp);
		hw_cpu_relax();
	}
	d->go = 0;
	apply(vp, go == GO_STEP);
	__atomic_store_n(&d->stopped, 0, __ATOMIC_RELEASE);
}

/* The leader: every other VP stopped (kicked, again every millisecond;
 * one that does not stop in 200 ms, such as a processor still waiting for
 * its SIPI, is left out and its thread is not alive). */
static void stop_others(struct vp *self)
{
	struct partition *p = self->part;
	__atomic_store_n(&gstub.stop_req, 1, __ATOMIC_SEQ_CST);
	u64 t0 = hw_rdtsc(), last = 0;
	for (;;) {
		bool all = true, kick = hw_rdtsc() - last > gstub.ms;
		for (u32 i = 0; i < p->vp_count; i++) {
			struct vp *v = p->vps[i];
			if (!v || v == self || v->parked || gstub.v[i]->stopped)
				continue;
			all = false;
			if (kick)
				kick_send(self, v);
		}
		if (kick)
			last = hw_rdtsc();
		if (all)
			return;
		if (hw_rdtsc() - t0 > 200 * gstub.ms) {
			gstub.not_stopped++;
			LOGW("gdb: some VPs did not stop in 200 ms: their threads are not alive");
			return;
		}
		xcall_service(self);
		hw_cpu_relax();
	}
}

/* Resume: breakpoints decide the #BP intercept; step: only that VP runs. */
static void resume(struct vp *self, enum gdb_action act)
{
	struct partition *p = self->part;
	struct dbg_vp *me = gstub.v[self->index];
	gstub.bp_flags = 0;
	for (u32 i = 0; i < GDB_MAX_BP; i++)
		if (gstub.g.bp[i].used)
			gstub.bp_flags = BE_DBG_BP;
	gstub.g.running = true;
	if (act == GDB_STEP) {
		u32 t = gstub.g.step_tid - 1;
		gstub.steps++;
		LOGD("gdb: VP %u steps", t);
		__atomic_store_n(&gstub.leader, -1, __ATOMIC_SEQ_CST);
		if (t == self->index) {
			__atomic_store_n(&me->stopped, 0, __ATOMIC_RELEASE);
			apply(self, true);
			return;
		}
		__atomic_store_n(&gstub.v[t]->go, GO_STEP, __ATOMIC_RELEASE);
		halt(self); /* the stepped VP leads when its step ends */
		return;
	}
	__atomic_store_n(&gstub.stop_req, 0, __ATOMIC_SEQ_CST);
	for (u32 i = 0; i < p->vp_count; i++)
		if (p->vps[i] && p->vps[i] != self && gstub.v[i]->stopped)
			__atomic_store_n(&gstub.v[i]->go, GO_RUN, __ATOMIC_RELEASE);
	__atomic_store_n(&me->stopped, 0, __ATOMIC_RELEASE);
	apply(self, false);
	__atomic_store_n(&gstub.leader, -1, __ATOMIC_SEQ_CST);
}

/* Serve the debugger until it resumes the guest. */
static void session(struct vp *self, enum gdb_action act)
{
	u64 last = hw_rdtsc();
	for (;;) {
		u8 c;
		if (act == GDB_CONTINUE || act == GDB_STEP || act == GDB_DETACH || act == GDB_KILL) {
			if (act == GDB_DETACH || act == GDB_KILL)
				LOGI("gdb: debugger detached; the guest runs on");
			resume(self, act == GDB_STEP ? GDB_STEP : GDB_CONTINUE);
			return;
		}
		act = GDB_NONE;
		if (uart_getc(&c)) {
			last = hw_rdtsc();
			act = gdb_input(&gstub.g, c);
		} else if (hw_rdtsc() - last > 2000 * gstub.ms) {
			gdb_timeout(&gstub.g); /* a truncated packet: forget it */
			last = hw_rdtsc();
		}
		xcall_service(self);
	}
}

/* This VP has an event (sig) or a byte from the debugger: lead, or follow
 * the leader already there (our INT3 stays in place and is met again). */
static void stop_world(struct vp *self, u8 sig, bool swbreak)
{
	int none = -1;
	if (!__atomic_compare_exchange_n(&gstub.leader, &none, (int)self->index, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		halt(self);
		return;
	}
	gstub.stops++;
	LOGI("gdb: VP %u stops the guest (signal %u) at rip %lx", self->index, sig,
	     (unsigned long)self->part->be->read_reg(self, GREG_RIP));
	stop_others(self);
	snapshot(self);
	__atomic_store_n(&gstub.v[self->index]->stopped, 1, __ATOMIC_RELEASE);
	gdb_stopped(&gstub.g, self->index + 1, sig, swbreak);
	session(self, GDB_NONE);
}

/* Before every entry of every VP (hv/core.c), while gdb= is configured. */
static void dbg_hook(struct vp *vp)
{
	struct dbg_vp *d = gstub.v[vp->index];
	if (__builtin_expect(d->ev != 0, 0)) {
		u8 sig = d->ev;
		d->ev = 0;
		stop_world(vp, sig, d->swbreak);
		return;
	}
	/* VP 0 polls the UART every poll_ticks, its deadline re-armed each
	 * time (a deadline left in the past would exit at every entry). */
	bool poll = false;
	if (vp->index == 0) {
		u64 now = hw_rdtsc();
		if (now >= d->deadline_poll) {
			d->deadline_poll = now + gstub.poll_ticks;
			arm(vp);
			poll = true;
		}
	}
	/* The world is stopped: halt here, unless this VP is the one being
	 * stepped (its other exits on the way, such as an emulated APIC
	 * access or an interrupt, are not the end of its step). */
	if (__atomic_load_n(&gstub.stop_req, __ATOMIC_ACQUIRE)) {
		if (!d->stepping)
			halt(vp);
		return;
	}
	u8 c;
	while (poll && uart_getc(&c)) {
		bool connect = !gstub.g.attached && c == '$';
		enum gdb_action a = gdb_input(&gstub.g, c);
		if (a == GDB_BREAK || connect) {
			gstub.breakins++;
			gstub.g.running = false;
			stop_world(vp, 2, false);
			return;
		}
	}
}

/* #BP and #DB exits, which only the debugger asks for (debug_ctl). */
static enum hv_action dbg_exception(struct vp *vp, struct hv_exit *e)
{
	struct dbg_vp *d = vp->index < HV_MAX_VPS ? gstub.v[vp->index] : NULL;
	const struct backend *be = vp->part->be;
	if (!d)
		return HV_ACT_FATAL;
	LOGD("gdb: VP %u exception exit, vector %u, rip %lx%s", vp->index, e->u.exc.vector,
	     (unsigned long)be->read_reg(vp, GREG_RIP), d->stepping ? ", stepping" : "");
	if (e->u.exc.vector == 1 && d->stepping) {
		d->stepping = false;
		be->debug_ctl(vp, gstub.bp_flags); /* TF back as the guest had it */
		d->ev = 5;
		d->swbreak = false;
		return HV_ACT_RESUME;
	}
	if (e->u.exc.vector == 3 && gdb_is_bp(&gstub.g, be->read_reg(vp, GREG_RIP))) {
		d->ev = 5;
		d->swbreak = true;
		return HV_ACT_RESUME; /* RIP stays at the INT3: gdb's swbreak */
	}
	/* The guest's own INT3 (RIP past it, as the CPU delivers #BP) or
	 * #DB: handed back. On SVM an INT n exits here too (the INTn
	 * intercept that catches QEMU's INT3): delivered as the event of
	 * its vector after the 2-byte instruction (docs/debugging.md). */
	u8 vec = e->u.exc.vector;
	if (vec == 3) {
		struct guest_boot_state gs;
		u8 insn[2] = { 0xcc, 3 };
		be->vp_get_state(vp, &gs);
		struct xlate_state s = { gs.cr0, gs.cr3, gs.cr4, gs.efer, gs.pat, gs.rflags, 0, true, 0 };
		struct xlate_out o;
		u64 la = gs.rip + gs.seg[SEG_CS].base;
		if ((la & (PAGE_SIZE - 1)) <= PAGE_SIZE - 2 &&
		    walk_gva(vp->part, &s, la >> 12, 0, &o) == HV_TRANSLATE_GVA_SUCCESS)
			gmem_read_code(vp->part, (o.gpa_page << 12) | (la & (PAGE_SIZE - 1)), insn, 2);
		if (insn[0] == 0xcd) {
			vec = insn[1];
			gs.rip += 2;
		} else
			gs.rip += 1;
		be->vp_set_state(vp, &gs);
	}
	be->inject_exception(vp, vec, false, 0);
	return HV_ACT_INJECTED;
}
HV_EXIT_HANDLER(exit_exception, HV_EXIT_EXCEPTION, dbg_exception);

static int dbg_partition(struct partition *p, struct pool *pool)
{
	if (!p->gdb_port)
		return 0;
	if (!p->be->debug_ctl) {
		LOGW("gdb: the %s backend cannot debug; gdb= ignored", p->be->name);
		p->gdb_port = 0;
		return 0;
	}
	gstub.port = p->gdb_port;
	gstub.p = p;
	gstub.ms = p->tsc_hz ? p->tsc_hz / 1000 : 1000000;
	gstub.poll_ticks = 10 * gstub.ms; /* a break-in is noticed within 10 ms */
	gstub.real = p->be;
	gstub.shim = *p->be;
	gstub.shim.set_deadline = shim_set_deadline;
	p->be = &gstub.shim;
	gstub.t = (struct gdb_target){ NULL, t_threads, t_alive, t_get_regs, t_set_regs,
				     t_read_mem, t_write_mem, t_monitor, uart_write };
	gdb_init(&gstub.g, &gstub.t);
	gstub.g.running = true;
	uart_init(gstub.port);
	p->debug_hook = dbg_hook;
	LOGI("gdb: GDB remote stub on UART %x (115200 8N1); the guest does not see it", gstub.port);
	return 0;
}

static int dbg_vp_init(struct vp *vp, struct pool *pool)
{
	if (!vp->part->gdb_port)
		return 0;
	if (vp->index >= HV_MAX_VPS)
		return -1;
	struct dbg_vp *d = pool_alloc_pages(pool, (sizeof(*d) + PAGE_SIZE - 1) / PAGE_SIZE);
	if (!d)
		return -1;
	__builtin_memset(d, 0, sizeof(*d));
	d->vp = vp;
	gstub.v[vp->index] = d;
	return 0;
}

HV_MODULE(gdbstub, .on_partition = dbg_partition, .on_vp = dbg_vp_init);
