/*
 * gdbproto.c - the GDB Remote Serial Protocol (gdb manual, appendix E
 * "Remote Serial Protocol") as a byte-at-a-time engine: framing
 * ($data#cs), the modulo-256 checksum, '+'/'-' acknowledgements and
 * retransmission of the last packet on '-', '}' escaping (and run-length
 * encoding, which gdb never sends us but may: refused as malformed), and
 * the commands a debugger of a whole machine needs: qSupported,
 * qXfer:features:read (the amd64 target description), ?, g/G, p/P, m/M/X,
 * c, s, vCont, Z0/z0, H, T, qfThreadInfo/qsThreadInfo, qC, qAttached, D,
 * k, qRcmd and 0x03. Every malformed, truncated or over-long packet gets
 * an error reply (or a '-'), never a hang: the engine never waits.
 *
 * It knows nothing of VPs: struct gdb_target reaches the guest (the stub,
 * debug/gdbstub.c, or the host tests' fake, tests/host/test_gdb.c).
 */
#include "gdb.h"

static const char hexd[] = "0123456789abcdef";

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ---- output ------------------------------------------------------------- */

/* Frame and send payload (escaping $ # } *), keep it for '-'. */
static void send_packet(struct gdb *g, const char *p, u32 n)
{
	u32 o = 0;
	u8 sum = 0;
	g->out[o++] = '$';
	for (u32 i = 0; i < n && o + 6 < sizeof(g->out); i++) {
		char c = p[i];
		if (c == '$' || c == '#' || c == '}' || c == '*') {
			g->out[o++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		g->out[o++] = c;
		sum += (u8)c;
	}
	g->out[o++] = '#';
	g->out[o++] = hexd[sum >> 4];
	g->out[o++] = hexd[sum & 15];
	g->out_len = o;
	g->t->write(g->t->ctx, (const u8 *)g->out, o);
}

static u32 slen(const char *s)
{
	u32 n = 0;
	while (s[n])
		n++;
	return n;
}

static void reply(struct gdb *g, const char *s) { send_packet(g, s, slen(s)); }

static void reply_err(struct gdb *g, u8 e)
{
	char b[4] = { 'E', hexd[e >> 4], hexd[e & 15], 0 };
	g->errors++;
	reply(g, b);
}

/* Error numbers (gdb only shows them). */
#define E_SYNTAX 0x01
#define E_THREAD 0x02
#define E_MEM 0x0e
#define E_RANGE 0x16
#define E_LONG 0x22
#define E_FULL 0x1c

/* ---- parsing helpers ------------------------------------------------------ */

/* A hex number at *p (at least one digit, at most 16): advances *p. */
static bool parse_hex(const char **p, u64 *v)
{
	u64 x = 0;
	int n = 0, d;
	while ((d = hexval(**p)) >= 0) {
		if (++n > 16)
			return false;
		x = (x << 4) | (u64)d;
		(*p)++;
	}
	*v = x;
	return n > 0;
}

/* A thread id: -1 (all), 0 (any) or hex. */
static bool parse_tid(const char **p, s64 *tid)
{
	u64 v;
	if (**p == '-' && (*p)[1] == '1') {
		*p += 2;
		*tid = -1;
		return true;
	}
	if (!parse_hex(p, &v) || v > 0xffffffffu)
		return false;
	*tid = (s64)v;
	return true;
}

static bool hex_bytes(const char *p, u32 nhex, u8 *out)
{
	if (nhex & 1)
		return false;
	for (u32 i = 0; i < nhex / 2; i++) {
		int a = hexval(p[2 * i]), b = hexval(p[2 * i + 1]);
		if (a < 0 || b < 0)
			return false;
		out[i] = (u8)(a << 4 | b);
	}
	return true;
}

static char *put_hex(char *o, const u8 *b, u32 n)
{
	for (u32 i = 0; i < n; i++) {
		*o++ = hexd[b[i] >> 4];
		*o++ = hexd[b[i] & 15];
	}
	return o;
}

static char *put_num(char *o, u64 v)
{
	char t[16];
	int n = 0;
	do {
		t[n++] = hexd[v & 15];
		v >>= 4;
	} while (v);
	while (n)
		*o++ = t[--n];
	return o;
}

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static bool prefix(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return false;
	return true;
}

/* ---- registers ------------------------------------------------------------ */

/* The register numbers of the target description below: where each lives
 * in struct gdb_regs, and its size. */
struct reg_loc {
	u16 off, size;
};
#define NREGS 58 /* the last register number (gs_base) */
static struct reg_loc reg_loc(u32 n)
{
	struct reg_loc r = { 0, 0 };
	if (n < 16)
		r = (struct reg_loc){ (u16)(offsetof(struct gdb_regs, gpr) + 8 * n), 8 };
	else if (n == 16)
		r = (struct reg_loc){ offsetof(struct gdb_regs, rip), 8 };
	else if (n == 17)
		r = (struct reg_loc){ offsetof(struct gdb_regs, eflags), 4 };
	else if (n < 24)
		r = (struct reg_loc){ (u16)(offsetof(struct gdb_regs, seg) + 4 * (n - 18)), 4 };
	else if (n < 32) /* st0-7: FXSAVE bytes 32 + 16 i, 10 bytes each */
		r = (struct reg_loc){ (u16)(offsetof(struct gdb_regs, fx) + 32 + 16 * (n - 24)), 10 };
	else if (n < 40) {
		/* fctrl fstat ftag fiseg fioff foseg fooff fop: FXSAVE's FCW,
		 * FSW, the abridged FTW, FCS, FIP, FDS, FDP, FOP (SDM vol. 1
		 * 10.5.1); 32 bits in gdb. The engine widens them (fx_reg). */
		r = (struct reg_loc){ 0xffff, 4 };
	} else if (n < 56)
		r = (struct reg_loc){ (u16)(offsetof(struct gdb_regs, fx) + 160 + 16 * (n - 40)), 16 };
	else if (n == 56)
		r = (struct reg_loc){ offsetof(struct gdb_regs, fx) + 24, 4 }; /* mxcsr */
	else if (n == 57)
		r = (struct reg_loc){ offsetof(struct gdb_regs, fs_base), 8 };
	else if (n == 58)
		r = (struct reg_loc){ offsetof(struct gdb_regs, gs_base), 8 };
	return r;
}

static u32 ld32(const u8 *p)
{
	u32 v;
	__builtin_memcpy(&v, p, 4);
	return v;
}

/* The x87 control registers from/to the FXSAVE image. */
static u32 fx_get(const u8 *fx, u32 i)
{
	const u16 *w = (const u16 *)fx;
	switch (i) {
	case 0: return w[0];                       /* FCW */
	case 1: return w[1];                       /* FSW */
	case 2: {                                  /* FTW: abridged -> full */
		u32 full = 0;
		for (int k = 0; k < 8; k++)
			full |= ((fx[4] >> k) & 1 ? 0u : 3u) << (2 * k);
		return full;
	}
	case 3: return w[6];                       /* FCS */
	case 4: return ld32(fx + 8);               /* FIP */
	case 5: return w[10];                      /* FDS */
	case 6: return ld32(fx + 16);              /* FDP */
	default: return w[3] & 0x7ff;              /* FOP */
	}
}

static void fx_set(u8 *fx, u32 i, u32 v)
{
	u16 *w = (u16 *)fx;
	switch (i) {
	case 0: w[0] = (u16)v; break;
	case 1: w[1] = (u16)v; break;
	case 2: {
		u8 ab = 0;
		for (int k = 0; k < 8; k++)
			if (((v >> (2 * k)) & 3) != 3)
				ab |= (u8)(1u << k);
		fx[4] = ab;
		break;
	}
	case 3: w[6] = (u16)v; break;
	case 4: __builtin_memcpy(fx + 8, &v, 4); break;
	case 5: w[10] = (u16)v; break;
	case 6: __builtin_memcpy(fx + 16, &v, 4); break;
	default: w[3] = (u16)(v & 0x7ff); break;
	}
}

/* Register n of r as little-endian bytes into b; its size. */
static u32 reg_get(const struct gdb_regs *r, u32 n, u8 *b)
{
	struct reg_loc l = reg_loc(n);
	if (l.off == 0xffff) {
		u32 v = fx_get(r->fx, n - 32);
		__builtin_memcpy(b, &v, 4);
	} else
		__builtin_memcpy(b, (const u8 *)r + l.off, l.size);
	return l.size;
}

static void reg_set(struct gdb_regs *r, u32 n, const u8 *b)
{
	struct reg_loc l = reg_loc(n);
	if (l.off == 0xffff) {
		u32 v;
		__builtin_memcpy(&v, b, 4);
		fx_set(r->fx, n - 32, v);
	} else
		__builtin_memcpy((u8 *)r + l.off, b, l.size);
}

static u32 regs_total(void)
{
	u32 t = 0;
	for (u32 n = 0; n <= NREGS; n++)
		t += reg_loc(n).size;
	return t;
}

/* gdb's own features/i386/64bit-{core,sse,segments}.xml, inlined, with
 * plain integer types for eflags and mxcsr (gdb checks the register names
 * of the amd64 features, not their flag types). */
static const char target_xml[] =
	"<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
	"<target version=\"1.0\"><architecture>i386:x86-64</architecture>"
	"<feature name=\"org.gnu.gdb.i386.core\">"
	"<reg name=\"rax\" bitsize=\"64\" type=\"int64\" regnum=\"0\"/>"
	"<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>"
	"<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>"
	"<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>"
	"<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>"
	"<reg name=\"eflags\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>"
	"<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>"
	"<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
	"</feature><feature name=\"org.gnu.gdb.i386.sse\">"
	"<vector id=\"v16u8\" type=\"uint8\" count=\"16\"/>"
	"<vector id=\"v2u64\" type=\"uint64\" count=\"2\"/>"
	"<union id=\"vec128\"><field name=\"v16_int8\" type=\"v16u8\"/>"
	"<field name=\"v2_int64\" type=\"v2u64\"/><field name=\"uint128\" type=\"uint128\"/></union>"
	"<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\" regnum=\"40\"/>"
	"<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm8\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm9\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm10\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm11\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm12\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm13\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm14\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"xmm15\" bitsize=\"128\" type=\"vec128\"/>"
	"<reg name=\"mxcsr\" bitsize=\"32\" type=\"int\" group=\"vector\"/>"
	"</feature><feature name=\"org.gnu.gdb.i386.segments\">"
	"<reg name=\"fs_base\" bitsize=\"64\" type=\"int\"/>"
	"<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>"
	"</feature></target>";

/* ---- commands -------------------------------------------------------------- */

static u32 cur_tid(struct gdb *g, u32 sel)
{
	if (sel && g->t->alive(g->t->ctx, sel))
		return sel;
	return g->stop_tid ? g->stop_tid : 1;
}

static void stop_reply(struct gdb *g)
{
	char b[40], *o = b;
	*o++ = 'T';
	o = put_hex(o, &g->stop_sig, 1);
	if (g->stop_swbreak) {
		__builtin_memcpy(o, "swbreak:;", 9);
		o += 9;
	}
	__builtin_memcpy(o, "thread:", 7);
	o = put_num(o + 7, g->stop_tid);
	*o++ = ';';
	*o = 0;
	reply(g, b);
}

static void cmd_g(struct gdb *g)
{
	static struct gdb_regs r; /* one stub; too big for the host stack */
	char *o = g->mon; /* scratch: the reply is built then sent */
	u8 b[16];
	if (g->t->get_regs(g->t->ctx, cur_tid(g, g->g_tid), &r)) {
		reply_err(g, E_THREAD);
		return;
	}
	for (u32 n = 0; n <= NREGS; n++)
		o = put_hex(o, b, reg_get(&r, n, b));
	send_packet(g, g->mon, (u32)(o - g->mon));
}

static void cmd_G(struct gdb *g, const char *p, u32 n)
{
	static struct gdb_regs r;
	u32 tid = cur_tid(g, g->g_tid);
	u8 b[16];
	if (n != 2 * regs_total()) {
		reply_err(g, E_SYNTAX);
		return;
	}
	if (g->t->get_regs(g->t->ctx, tid, &r)) {
		reply_err(g, E_THREAD);
		return;
	}
	for (u32 k = 0; k <= NREGS; k++) {
		u32 sz = reg_loc(k).size;
		if (!hex_bytes(p, 2 * sz, b)) {
			reply_err(g, E_SYNTAX);
			return;
		}
		reg_set(&r, k, b);
		p += 2 * sz;
	}
	reply(g, g->t->set_regs(g->t->ctx, tid, &r) ? "E02" : "OK");
}

static void cmd_p(struct gdb *g, const char *p, bool set)
{
	static struct gdb_regs r;
	u32 tid = cur_tid(g, g->g_tid);
	u64 n;
	u8 b[16];
	if (!parse_hex(&p, &n) || (set ? *p++ != '=' : *p != 0)) {
		reply_err(g, E_SYNTAX);
		return;
	}
	if (n > NREGS) {
		reply_err(g, E_RANGE);
		return;
	}
	if (g->t->get_regs(g->t->ctx, tid, &r)) {
		reply_err(g, E_THREAD);
		return;
	}
	u32 sz = reg_loc((u32)n).size;
	if (!set) {
		char h[40];
		char *o = put_hex(h, b, reg_get(&r, (u32)n, b));
		send_packet(g, h, (u32)(o - h));
		return;
	}
	if (slen(p) != 2 * sz || !hex_bytes(p, 2 * sz, b)) {
		reply_err(g, E_SYNTAX);
		return;
	}
	reg_set(&r, (u32)n, b);
	reply(g, g->t->set_regs(g->t->ctx, tid, &r) ? "E02" : "OK");
}

/* addr,length at p; *p left after length. */
static bool parse_range(const char **p, u64 *a, u64 *l)
{
	return parse_hex(p, a) && *(*p)++ == ',' && parse_hex(p, l);
}

static void cmd_m(struct gdb *g, const char *p)
{
	u64 a, l;
	u8 buf[GDB_PACKET_SIZE / 2];
	if (!parse_range(&p, &a, &l) || *p) {
		reply_err(g, E_SYNTAX);
		return;
	}
	if (l > sizeof(buf))
		l = sizeof(buf); /* gdb asks again for the rest */
	u32 got = g->t->read_mem(g->t->ctx, cur_tid(g, g->g_tid), a, buf, (u32)l);
	if (!got && l) {
		reply_err(g, E_MEM);
		return;
	}
	char *o = put_hex(g->mon, buf, got);
	send_packet(g, g->mon, (u32)(o - g->mon));
}

static void write_mem(struct gdb *g, u64 a, const u8 *b, u64 l)
{
	if (l && g->t->write_mem(g->t->ctx, cur_tid(g, g->g_tid), a, b, (u32)l) != l)
		reply_err(g, E_MEM);
	else
		reply(g, "OK");
}

static void cmd_M(struct gdb *g, const char *p)
{
	u64 a, l;
	static u8 buf[GDB_PACKET_SIZE / 2];
	if (!parse_range(&p, &a, &l) || *p++ != ':' || l > sizeof(buf) || slen(p) != 2 * l ||
	    !hex_bytes(p, (u32)(2 * l), buf)) {
		reply_err(g, E_SYNTAX);
		return;
	}
	write_mem(g, a, buf, l);
}

/* X: binary data, already unescaped by the framing (len counts it). */
static void cmd_X(struct gdb *g, const char *p, u32 n)
{
	const char *s = p;
	u64 a, l;
	if (!parse_range(&p, &a, &l) || *p++ != ':' || (u64)(n - (u32)(p - s)) != l) {
		reply_err(g, E_SYNTAX);
		return;
	}
	write_mem(g, a, (const u8 *)p, l);
}

bool gdb_is_bp(const struct gdb *g, u64 va)
{
	for (u32 i = 0; i < GDB_MAX_BP; i++)
		if (g->bp[i].used && g->bp[i].va == va)
			return true;
	return false;
}

/* Z0/z0: software breakpoints, an INT3 written over the guest's byte
 * (the stub's #BP intercept tells ours from the guest's). Z1-Z4 would
 * need the guest's debug registers: unsupported (empty reply). */
static void cmd_z(struct gdb *g, const char *p, bool insert)
{
	u64 type, a, kind;
	u32 tid = cur_tid(g, 0);
	if (!parse_hex(&p, &type) || *p++ != ',' || !parse_range(&p, &a, &kind) ||
	    (*p && *p != ';')) {
		reply_err(g, E_SYNTAX);
		return;
	}
	if (type != 0) {
		reply(g, "");
		return;
	}
	for (u32 i = 0; i < GDB_MAX_BP; i++) {
		struct gdb_bp *b = &g->bp[i];
		if (!b->used || b->va != a)
			continue;
		if (insert) { /* already there (gdb re-inserts): fine */
			reply(g, "OK");
			return;
		}
		b->used = false;
		write_mem(g, a, &b->saved, 1);
		return;
	}
	if (!insert) {
		reply(g, "OK"); /* not ours: nothing to remove */
		return;
	}
	for (u32 i = 0; i < GDB_MAX_BP; i++) {
		struct gdb_bp *b = &g->bp[i];
		if (b->used)
			continue;
		static const u8 int3 = 0xcc;
		if (g->t->read_mem(g->t->ctx, tid, a, &b->saved, 1) != 1 ||
		    g->t->write_mem(g->t->ctx, tid, a, &int3, 1) != 1) {
			reply_err(g, E_MEM);
			return;
		}
		b->va = a;
		b->used = true;
		reply(g, "OK");
		return;
	}
	reply_err(g, E_FULL);
}

void gdb_remove_all_bps(struct gdb *g)
{
	for (u32 i = 0; i < GDB_MAX_BP; i++) {
		struct gdb_bp *b = &g->bp[i];
		if (b->used)
			g->t->write_mem(g->t->ctx, cur_tid(g, 0), b->va, &b->saved, 1);
		b->used = false;
	}
}

static void thread_list(struct gdb *g, bool first)
{
	if (first)
		g->qs_next = 1;
	u32 n = g->t->threads(g->t->ctx);
	if (g->qs_next > n) {
		reply(g, "l");
		return;
	}
	char b[GDB_PACKET_SIZE / 2], *o = b;
	*o++ = 'm';
	for (; g->qs_next <= n && o - b < (int)sizeof(b) - 12; g->qs_next++) {
		if (o - b > 1)
			*o++ = ',';
		o = put_num(o, g->qs_next);
	}
	send_packet(g, b, (u32)(o - b));
}

/* qXfer:features:read:target.xml:offset,length */
static void xfer_features(struct gdb *g, const char *p)
{
	u64 off, len;
	if (!prefix(p, "target.xml:")) {
		reply_err(g, 0); /* E00: no such annex */
		return;
	}
	p += 11;
	if (!parse_range(&p, &off, &len) || *p) {
		reply_err(g, E_SYNTAX);
		return;
	}
	u64 total = sizeof(target_xml) - 1;
	if (off > total) {
		reply_err(g, E_RANGE);
		return;
	}
	if (len > GDB_PACKET_SIZE - 1)
		len = GDB_PACKET_SIZE - 1;
	u64 n = total - off < len ? total - off : len;
	g->mon[0] = off + n < total ? 'm' : 'l';
	__builtin_memcpy(g->mon + 1, target_xml + off, n);
	send_packet(g, g->mon, (u32)n + 1);
}

void gdb_monitor_out(struct gdb *g, const char *s)
{
	while (*s && g->mon_len + 2 < sizeof(g->mon)) {
		g->mon[g->mon_len++] = hexd[(u8)*s >> 4];
		g->mon[g->mon_len++] = hexd[(u8)*s & 15];
		s++;
	}
}

static void cmd_rcmd(struct gdb *g, const char *p)
{
	char cmd[256];
	u32 n = slen(p);
	if (n / 2 >= sizeof(cmd) || !hex_bytes(p, n, (u8 *)cmd)) {
		reply_err(g, E_SYNTAX);
		return;
	}
	cmd[n / 2] = 0;
	for (u32 i = 0; i < n / 2; i++)
		if (!cmd[i]) {
			reply_err(g, E_SYNTAX);
			return;
		}
	g->mon_len = 0;
	if (g->t->monitor(g->t->ctx, g, cmd)) {
		g->mon_len = 0;
		gdb_monitor_out(g, "unknown monitor command; try: monitor help\n");
	}
	if (!g->mon_len)
		reply(g, "OK");
	else
		send_packet(g, g->mon, g->mon_len);
}

/* vCont;action[:tid]...: s for one thread steps it (the others stay
 * stopped: scheduler locking, docs/debugging.md), c continues all. */
static enum gdb_action cmd_vcont(struct gdb *g, const char *p)
{
	enum gdb_action act = GDB_NONE;
	u32 step = 0;
	if (*p == '?') {
		reply(g, "vCont;c;C;s;S;t");
		return GDB_NONE;
	}
	while (*p == ';') {
		char a = *++p;
		s64 tid = -1;
		u64 sig;
		p++;
		if (a == 'C' || a == 'S') {
			if (!parse_hex(&p, &sig))
				goto bad;
			a = (char)(a + 32);
		} else if (a != 'c' && a != 's' && a != 't')
			goto bad;
		if (*p == ':') {
			p++;
			if (!parse_tid(&p, &tid))
				goto bad;
		}
		if (a == 's' && act != GDB_STEP) {
			s64 t = tid > 0 ? tid : (s64)cur_tid(g, g->c_tid);
			if (!g->t->alive(g->t->ctx, (u32)t))
				goto bad;
			step = (u32)t;
			act = GDB_STEP;
		} else if (a == 'c' && act == GDB_NONE)
			act = GDB_CONTINUE;
	}
	if (*p || act == GDB_NONE)
		goto bad;
	g->step_tid = step;
	return act;
bad:
	reply_err(g, E_SYNTAX);
	return GDB_NONE;
}

static enum gdb_action packet(struct gdb *g, char *p, u32 n)
{
	u64 v;
	s64 tid;
	const char *q;
	p[n] = 0;
	if (slen(p) != n && p[0] != 'X') { /* a NUL inside a text packet */
		reply_err(g, E_SYNTAX);
		return GDB_NONE;
	}
	g->attached = true;
	switch (p[0]) {
	case '?':
		stop_reply(g);
		return GDB_NONE;
	case 'g':
		if (n != 1)
			break;
		cmd_g(g);
		return GDB_NONE;
	case 'G':
		cmd_G(g, p + 1, n - 1);
		return GDB_NONE;
	case 'p':
	case 'P':
		cmd_p(g, p + 1, p[0] == 'P');
		return GDB_NONE;
	case 'm':
		cmd_m(g, p + 1);
		return GDB_NONE;
	case 'M':
		cmd_M(g, p + 1);
		return GDB_NONE;
	case 'X':
		cmd_X(g, p + 1, n - 1);
		return GDB_NONE;
	case 'c':
	case 's':
		q = p + 1;
		if (*q) { /* resume at an address */
			static struct gdb_regs r;
			u32 t = cur_tid(g, g->c_tid);
			if (!parse_hex(&q, &v) || *q || g->t->get_regs(g->t->ctx, t, &r))
				break;
			r.rip = v;
			g->t->set_regs(g->t->ctx, t, &r);
		}
		if (p[0] == 'c')
			return GDB_CONTINUE;
		g->step_tid = cur_tid(g, g->c_tid);
		return GDB_STEP;
	case 'H':
		q = p + 2;
		if ((p[1] != 'g' && p[1] != 'c') || !parse_tid(&q, &tid) || *q)
			break;
		if (tid > 0 && !g->t->alive(g->t->ctx, (u32)tid)) {
			reply_err(g, E_THREAD);
			return GDB_NONE;
		}
		*(p[1] == 'g' ? &g->g_tid : &g->c_tid) = tid > 0 ? (u32)tid : 0;
		reply(g, "OK");
		return GDB_NONE;
	case 'T':
		q = p + 1;
		if (!parse_tid(&q, &tid) || *q)
			break;
		reply(g, tid > 0 && g->t->alive(g->t->ctx, (u32)tid) ? "OK" : "E02");
		return GDB_NONE;
	case 'Z':
	case 'z':
		cmd_z(g, p + 1, p[0] == 'Z');
		return GDB_NONE;
	case 'D':
		gdb_remove_all_bps(g);
		reply(g, "OK");
		g->attached = false;
		return GDB_DETACH;
	case 'k':
		gdb_remove_all_bps(g);
		g->attached = false;
		return GDB_KILL; /* no reply (gdb manual: 'k') */
	case 'v':
		if (prefix(p, "vCont?") || prefix(p, "vCont;"))
			return cmd_vcont(g, p + 5);
		if (prefix(p, "vMustReplyEmpty")) {
			reply(g, "");
			return GDB_NONE;
		}
		reply(g, ""); /* vKill, vRun, vFile...: unsupported */
		return GDB_NONE;
	case 'q':
		if (prefix(p, "qSupported")) {
			char b[96], *o = b;
			const char *s = "PacketSize=";
			while (*s)
				*o++ = *s++;
			o = put_num(o, GDB_PACKET_SIZE);
			s = ";qXfer:features:read+;QStartNoAckMode+;vContSupported+;swbreak+";
			while (*s)
				*o++ = *s++;
			send_packet(g, b, (u32)(o - b));
			return GDB_NONE;
		}
		if (prefix(p, "qXfer:features:read:")) {
			xfer_features(g, p + 20);
			return GDB_NONE;
		}
		if (streq(p, "qfThreadInfo") || streq(p, "qsThreadInfo")) {
			thread_list(g, p[1] == 'f');
			return GDB_NONE;
		}
		if (streq(p, "qC")) {
			char b[20] = "QC", *o = put_num(b + 2, cur_tid(g, g->g_tid));
			send_packet(g, b, (u32)(o - b));
			return GDB_NONE;
		}
		if (prefix(p, "qAttached")) {
			reply(g, "1");
			return GDB_NONE;
		}
		if (prefix(p, "qRcmd,")) {
			cmd_rcmd(g, p + 6);
			return GDB_NONE;
		}
		reply(g, ""); /* qTStatus, qOffsets, qSymbol...: unsupported */
		return GDB_NONE;
	case 'Q':
		if (streq(p, "QStartNoAckMode")) {
			reply(g, "OK");
			g->no_ack = true; /* after the OK, which is still acked */
			return GDB_NONE;
		}
		reply(g, "");
		return GDB_NONE;
	default:
		reply(g, ""); /* an unknown command: the empty reply */
		return GDB_NONE;
	}
	reply_err(g, E_SYNTAX);
	return GDB_NONE;
}

/* ---- framing ------------------------------------------------------------ */

void gdb_init(struct gdb *g, const struct gdb_target *t)
{
	__builtin_memset(g, 0, sizeof(*g));
	g->t = t;
	g->stop_tid = 1;
	g->stop_sig = 5;
}

void gdb_timeout(struct gdb *g)
{
	g->rx = RX_IDLE;
}

void gdb_stopped(struct gdb *g, u32 tid, u8 sig, bool swbreak)
{
	g->stop_swbreak = swbreak;
	g->running = false;
	g->stop_tid = tid;
	g->stop_sig = sig;
	g->g_tid = g->c_tid = 0;
	if (g->attached)
		stop_reply(g);
}

enum gdb_action gdb_input(struct gdb *g, u8 c)
{
	switch (g->rx) {
	case RX_IDLE:
		if (c == '$') {
			g->rx = RX_DATA;
			g->len = 0;
			g->sum = 0;
			g->overlong = false;
		} else if (c == 0x03) {
			if (g->running)
				return GDB_BREAK;
			/* Already stopped: answer as if the break stopped it. */
			g->stop_sig = 2;
			g->stop_swbreak = false;
			stop_reply(g);
		} else if (c == '-' && g->out_len && !g->no_ack) {
			g->retransmits++;
			g->t->write(g->t->ctx, (const u8 *)g->out, g->out_len);
		}
		return GDB_NONE; /* '+' and noise */
	case RX_DATA:
	case RX_ESC:
		if (c == '$') { /* a new packet restarts a truncated one */
			g->len = 0;
			g->sum = 0;
			g->overlong = false;
			g->rx = RX_DATA;
			return GDB_NONE;
		}
		if (c == '#' && g->rx == RX_DATA) {
			g->rx = RX_CK1;
			return GDB_NONE;
		}
		g->sum += c;
		if (g->rx == RX_DATA && c == '}') {
			g->rx = RX_ESC;
			return GDB_NONE;
		}
		if (g->rx == RX_ESC) {
			c ^= 0x20;
			g->rx = RX_DATA;
		} else if (c == '*') /* run-length encoding: never sent to a stub */
			g->overlong = true; /* refused below like a bad packet */
		if (g->len < GDB_PACKET_SIZE)
			g->in[g->len++] = (char)c;
		else
			g->overlong = true;
		return GDB_NONE;
	case RX_CK1:
		if (hexval((char)c) < 0) {
			g->rx = c == '$' ? RX_DATA : RX_IDLE;
			g->overlong = false;
			g->len = 0;
			g->sum = 0;
			g->bad_checksum++;
			if (!g->no_ack)
				g->t->write(g->t->ctx, (const u8 *)"-", 1);
			return GDB_NONE;
		}
		g->ck = (u8)(hexval((char)c) << 4);
		g->rx = RX_CK2;
		return GDB_NONE;
	case RX_CK2:
	default:
		g->rx = RX_IDLE;
		if (hexval((char)c) < 0 || (u8)(g->ck | hexval((char)c)) != g->sum) {
			g->bad_checksum++;
			if (!g->no_ack)
				g->t->write(g->t->ctx, (const u8 *)"-", 1);
			return GDB_NONE;
		}
		if (!g->no_ack)
			g->t->write(g->t->ctx, (const u8 *)"+", 1);
		if (g->overlong) {
			g->overlong_packets++;
			reply_err(g, E_LONG);
			return GDB_NONE;
		}
		if (g->running) {
			/* gdb talks to a running target only to stop it (0x03);
			 * answer so that it never waits, and stay running. */
			reply_err(g, E_THREAD);
			return GDB_NONE;
		}
		return packet(g, g->in, g->len);
	}
}
