/*
 * gdb.h - the GDB Remote Serial Protocol engine of the guest debugger
 * (debug/gdbproto.c): packet framing, checksums, acknowledgements,
 * retransmission, escaping and the commands. It knows nothing of VPs or
 * backends: the stub (debug/gdbstub.c) reaches the guest through struct
 * gdb_target, so the whole protocol runs in host tests (tests/host/
 * test_gdb.c) unchanged. docs/debugging.md has the design.
 */
#ifndef DEBUG_GDB_H
#define DEBUG_GDB_H

#include "types.h"

/* The largest packet payload we accept and send (qSupported PacketSize,
 * in bytes of payload, hex digits of a 'g' reply included). */
#define GDB_PACKET_SIZE 4096

struct gdb;

/* One VP's registers in the layout of the target description the engine
 * serves (qXfer:features:read): gdb's amd64 core (x87 included), sse and
 * segments features, in gdb's register order. */
struct gdb_regs {
	u64 gpr[16];  /* rax rbx rcx rdx rsi rdi rbp rsp r8 .. r15 (gdb order) */
	u64 rip;
	u32 eflags;
	u32 seg[6];   /* cs ss ds es fs gs */
	u8 fx[512];   /* the FXSAVE image: x87, MXCSR, XMM0-15 */
	u64 fs_base, gs_base;
};

/* What the engine asks of the stub. Thread ids are VP index + 1. */
struct gdb_target {
	void *ctx;
	u32 (*threads)(void *ctx);      /* VP count: threads 1..n */
	bool (*alive)(void *ctx, u32 tid); /* stopped and its state readable */
	int (*get_regs)(void *ctx, u32 tid, struct gdb_regs *r);
	int (*set_regs)(void *ctx, u32 tid, const struct gdb_regs *r);
	/* Guest virtual memory through tid's page tables: the bytes copied
	 * (fewer at the first page that is not there), never hypervisor
	 * memory. */
	u32 (*read_mem)(void *ctx, u32 tid, u64 va, u8 *buf, u32 len);
	u32 (*write_mem)(void *ctx, u32 tid, u64 va, const u8 *buf, u32 len);
	/* `monitor cmd`: text for the console through gdb_monitor_out; 0 ok,
	 * -1 unknown command. */
	int (*monitor)(void *ctx, struct gdb *g, const char *cmd);
	/* Bytes to the debugger's line. */
	void (*write)(void *ctx, const u8 *buf, u32 len);
};

/* What the stub does after a packet. */
enum gdb_action {
	GDB_NONE,     /* stay stopped, keep reading */
	GDB_CONTINUE, /* resume all threads */
	GDB_STEP,     /* step g->step_tid, the others stay stopped */
	GDB_DETACH,   /* breakpoints removed: resume all, forget the debugger */
	GDB_KILL,     /* as detach: the guest is not ours to kill */
	GDB_BREAK,    /* 0x03 arrived while the guest runs: stop the world */
};

#define GDB_MAX_BP 32

struct gdb_bp {
	u64 va;
	u8 saved;
	bool used;
};

struct gdb {
	const struct gdb_target *t;
	/* Receive state. */
	enum { RX_IDLE, RX_DATA, RX_ESC, RX_CK1, RX_CK2 } rx;
	u32 len;
	bool overlong;
	u8 sum, ck;
	char in[GDB_PACKET_SIZE + 1];
	/* The last packet sent, for '-' (retransmission). */
	char out[GDB_PACKET_SIZE * 2 + 8];
	u32 out_len;
	bool no_ack;       /* QStartNoAckMode */
	bool attached;     /* a debugger talked to us since the last detach */
	bool running;      /* the guest runs: only 0x03 and '$' matter */
	u32 g_tid, c_tid;  /* Hg / Hc threads (0: any) */
	u32 step_tid, stop_tid;
	u32 qs_next;       /* qsThreadInfo position */
	u8 stop_sig;
	bool stop_swbreak; /* our INT3: "swbreak:" (gdb then keeps the PC) */
	struct gdb_bp bp[GDB_MAX_BP];
	/* Counters (monitor stats, tests). */
	u32 bad_checksum, overlong_packets, retransmits, errors;
	/* A monitor reply under construction (hex of the console text). */
	char mon[GDB_PACKET_SIZE];
	u32 mon_len;
};

void gdb_init(struct gdb *g, const struct gdb_target *t);
/* One byte from the line; GDB_NONE unless a complete packet (or 0x03)
 * asks for more. */
enum gdb_action gdb_input(struct gdb *g, u8 c);
/* No byte for a while: a packet started and not finished is dropped (a
 * truncated packet never hangs the stub). */
void gdb_timeout(struct gdb *g);
/* The world stopped (a breakpoint, a step, a break-in) on thread tid
 * with signal sig (5 SIGTRAP, 2 SIGINT): send the stop reply. */
void gdb_stopped(struct gdb *g, u32 tid, u8 sig, bool swbreak);
/* Remove every breakpoint (detach, and before the guest runs alone). */
void gdb_remove_all_bps(struct gdb *g);
/* Is there our breakpoint at va? (to tell ours from the guest's INT3) */
bool gdb_is_bp(const struct gdb *g, u64 va);
/* Console text for `monitor` (appended to the reply as hex). */
void gdb_monitor_out(struct gdb *g, const char *s);

#endif
