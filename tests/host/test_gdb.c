/* test_gdb.c - the GDB Remote Serial Protocol engine (debug/gdbproto.c)
 * against a fake target: framing, checksums, acks and retransmission,
 * escaping, malformed/truncated/over-long packets, and every command the
 * stub serves (docs/debugging.md). */
#include "htest.h"
#include "gdb.h"
#include <stdlib.h>
#include <string.h>

static char outbuf[65536];
static size_t outlen;
static struct gdb_regs fregs[3];
static u8 fmem[0x3000]; /* guest VA 0x10000..0x12fff */
static int mon_calls;

static u32 f_threads(void *c) { return 3; }
static bool f_alive(void *c, u32 tid) { return tid >= 1 && tid <= 2; } /* thread 3 did not stop */
static int f_get(void *c, u32 tid, struct gdb_regs *r)
{
	if (!f_alive(c, tid))
		return -1;
	*r = fregs[tid - 1];
	return 0;
}
static int f_set(void *c, u32 tid, const struct gdb_regs *r)
{
	if (!f_alive(c, tid))
		return -1;
	fregs[tid - 1] = *r;
	return 0;
}
static u32 f_mem(u64 va, u32 len)
{
	if (va < 0x10000 || va >= 0x13000)
		return 0;
	return va + len > 0x13000 ? (u32)(0x13000 - va) : len;
}
static u32 f_read(void *c, u32 tid, u64 va, u8 *b, u32 len)
{
	u32 n = f_mem(va, len);
	memcpy(b, fmem + (va - 0x10000), n);
	return n;
}
static u32 f_write(void *c, u32 tid, u64 va, const u8 *b, u32 len)
{
	u32 n = f_mem(va, len);
	memcpy(fmem + (va - 0x10000), b, n);
	return n;
}
static int f_monitor(void *c, struct gdb *g, const char *cmd)
{
	mon_calls++;
	if (!strcmp(cmd, "exits")) {
		gdb_monitor_out(g, "VP 0: 42 exits\n");
		return 0;
	}
	return -1;
}
static void f_write_line(void *c, const u8 *b, u32 n)
{
	if (outlen + n < sizeof(outbuf)) {
		memcpy(outbuf + outlen, b, n);
		outlen += n;
	}
	outbuf[outlen] = 0;
}

static const struct gdb_target ft = { NULL, f_threads, f_alive, f_get, f_set, f_read, f_write,
				      f_monitor, f_write_line };
static struct gdb G;

static void setup(void)
{
	gdb_init(&G, &ft);
	outlen = 0;
	outbuf[0] = 0;
	memset(fregs, 0, sizeof(fregs));
	for (int i = 0; i < 16; i++)
		fregs[0].gpr[i] = 0x1111111100000000ull + (u64)i;
	fregs[0].rip = 0xffffffff81000000ull;
	fregs[0].eflags = 0x246;
	fregs[0].seg[0] = 0x10;
	fregs[0].fs_base = 0xabcdef;
	fregs[1].rip = 0x2222;
	for (size_t i = 0; i < sizeof(fmem); i++)
		fmem[i] = (u8)i;
	mon_calls = 0;
}

/* Feed raw bytes; the last action. */
static enum gdb_action feed(const char *s, size_t n)
{
	enum gdb_action a = GDB_NONE;
	for (size_t i = 0; i < n; i++) {
		enum gdb_action x = gdb_input(&G, (u8)s[i]);
		if (x != GDB_NONE)
			a = x;
	}
	return a;
}

/* Send one framed packet (correct checksum); clear the output first. */
static enum gdb_action send(const char *payload)
{
	char b[20000];
	u8 sum = 0;
	size_t n = strlen(payload);
	for (size_t i = 0; i < n; i++)
		sum += (u8)payload[i];
	int k = snprintf(b, sizeof(b), "$%s#%02x", payload, sum);
	outlen = 0;
	outbuf[0] = 0;
	return feed(b, (size_t)k);
}

/* The reply payload of the last packet sent by the engine (after "+"). */
static const char *reply(void)
{
	static char r[70000];
	const char *d = strchr(outbuf, '$');
	const char *h = d ? strrchr(outbuf, '#') : NULL;
	if (!d || !h || h < d) {
		r[0] = '?';
		r[1] = 0;
		return r;
	}
	/* unescape */
	size_t o = 0;
	for (const char *p = d + 1; p < h; p++)
		r[o++] = *p == '}' ? (char)(*++p ^ 0x20) : *p;
	r[o] = 0;
	/* check the engine's own checksum */
	u8 sum = 0;
	for (const char *p = d + 1; p < h; p++)
		sum += (u8)*p;
	CHECK_EQ(strtoul(h + 1, NULL, 16), sum);
	return r;
}

TEST(gdb_framing_ack_and_checksum)
{
	setup();
	send("?");
	CHECK(outbuf[0] == '+');
	CHECK(!strcmp(reply(), "T05thread:1;"));
	/* bad checksum: '-' and nothing else */
	outlen = 0;
	feed("$?#00", 5);
	CHECK(!strcmp(outbuf, "-"));
	CHECK_EQ(G.bad_checksum, 1);
	/* non-hex checksum */
	outlen = 0;
	feed("$?#zz", 5);
	CHECK(!strcmp(outbuf, "-"));
	/* retransmission on '-' of the last packet */
	send("qC");
	char last[64];
	snprintf(last, sizeof(last), "%s", strchr(outbuf, '$'));
	outlen = 0;
	feed("-", 1);
	CHECK(!strcmp(outbuf, last));
	CHECK_EQ(G.retransmits, 1);
	/* noise and '+' between packets are ignored */
	outlen = 0;
	feed("+++abc", 6);
	CHECK_EQ(outlen, 0);
}

TEST(gdb_truncated_and_overlong)
{
	setup();
	/* a truncated packet, then a new one: the new one is served */
	outlen = 0;
	feed("$m10000,4", 9);
	CHECK_EQ(outlen, 0);
	send("m10000,4");
	CHECK(!strcmp(reply(), "00010203"));
	/* truncated then the timeout: the parser is idle again */
	outlen = 0;
	feed("$g", 2);
	gdb_timeout(&G);
	feed("#67", 3); /* stray checksum bytes: noise */
	CHECK_EQ(outlen, 0);
	/* over-long: E22, never a hang or an overflow */
	char *big = malloc(GDB_PACKET_SIZE * 3);
	memset(big, 'A', GDB_PACKET_SIZE * 3 - 1);
	big[0] = 'M';
	big[GDB_PACKET_SIZE * 3 - 1] = 0;
	send(big);
	CHECK(outbuf[0] == '+');
	CHECK(!strcmp(reply(), "E22"));
	CHECK_EQ(G.overlong_packets, 1);
	free(big);
	/* run-length encoding is refused as malformed */
	send("m1*!");
	CHECK(!strcmp(reply(), "E22"));
	/* the engine still works */
	send("?");
	CHECK(!strcmp(reply(), "T05thread:1;"));
}

TEST(gdb_malformed_commands)
{
	setup();
	const char *bad[] = { "m", "mzz,4", "m10000", "m10000,", "m10000,4x", "M10000,2:0", "M10000,2:zzzz",
			      "M10000,1:0011", "G00", "p", "pzz", "P0=12", "P0", "Hgzz", "Z0,10000",
			      "Z0", "z0,zz,1", "X10000,2:a", "qRcmd,6", "qRcmd,zz", "vCont;x",
			      "vCont;s:zz", "H", "T", "qXfer:features:read:target.xml:zz",
			      "m11111111111111111,1", "c12z" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum gdb_action a = send(bad[i]);
		const char *r = reply();
		if (r[0] != 'E' || a != GDB_NONE)
			htest_fail(__FILE__, __LINE__, "packet '%s': reply '%s' action %d", bad[i], r, a);
	}
	/* register number out of range */
	send("p3b");
	CHECK(!strcmp(reply(), "E16"));
	/* unknown commands: the empty reply */
	send("qTStatus");
	CHECK(!strcmp(reply(), ""));
	send("!");
	CHECK(!strcmp(reply(), ""));
	/* an unreadable address */
	send("m0,4");
	CHECK(!strcmp(reply(), "E0e"));
	/* a dead thread */
	send("Hg3");
	CHECK(!strcmp(reply(), "E02"));
	send("T3");
	CHECK(!strcmp(reply(), "E02"));
	send("T2");
	CHECK(!strcmp(reply(), "OK"));
}

TEST(gdb_qsupported_xml_threads)
{
	setup();
	send("qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+");
	CHECK(strstr(reply(), "PacketSize=1000") != NULL);
	CHECK(strstr(reply(), "qXfer:features:read+") != NULL);
	/* the target description, read in chunks, is one well-formed document */
	char xml[8192] = "";
	for (unsigned off = 0;;) {
		char q[80];
		snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%x,%x", off, 200);
		send(q);
		const char *r = reply();
		if (r[0] != 'm' && r[0] != 'l') {
			htest_fail(__FILE__, __LINE__, "qXfer reply '%s'", r);
			break;
		}
		strcat(xml, r + 1);
		off += (unsigned)strlen(r + 1);
		if (r[0] == 'l')
			break;
	}
	CHECK(strstr(xml, "<architecture>i386:x86-64</architecture>") != NULL);
	CHECK(strstr(xml, "name=\"gs_base\"") != NULL);
	CHECK(strstr(xml, "</target>") != NULL);
	send("qXfer:features:read:other.xml:0,10");
	CHECK(reply()[0] == 'E');
	send("qXfer:features:read:target.xml:ffff,10");
	CHECK(reply()[0] == 'E');
	send("qfThreadInfo");
	CHECK(!strcmp(reply(), "m1,2,3"));
	send("qsThreadInfo");
	CHECK(!strcmp(reply(), "l"));
	send("qC");
	CHECK(!strcmp(reply(), "QC1"));
	send("Hg2");
	CHECK(!strcmp(reply(), "OK"));
	send("qC");
	CHECK(!strcmp(reply(), "QC2"));
	send("qAttached");
	CHECK(!strcmp(reply(), "1"));
}

TEST(gdb_registers)
{
	setup();
	send("g");
	const char *r = reply();
	/* 16 GPRs + rip (8) + eflags + 6 segs (4) + 8 st (10) + 8 x87 ctl (4)
	 * + 16 xmm (16) + mxcsr (4) + fs_base, gs_base (8): 552 bytes */
	CHECK_EQ(strlen(r), 2 * 552);
	CHECK(!strncmp(r, "0000000011111111", 16));      /* rax, little-endian */
	CHECK(!strncmp(r + 16 * 16, "00000081ffffffff", 16)); /* rip */
	CHECK(!strncmp(r + 17 * 16, "46020000", 8));      /* eflags */
	CHECK(!strncmp(r + 17 * 16 + 8, "10000000", 8));  /* cs */
	CHECK(!strncmp(r + 2 * 536, "efcdab0000000000", 16)); /* fs_base */
	/* ftag: all empty (abridged 0) reads as 0xffff */
	CHECK(!strncmp(r + 2 * (136 + 28 + 80 + 8), "ffff0000", 8));
	/* p: one register */
	send("p10");
	CHECK(!strcmp(reply(), "00000081ffffffff"));
	/* P: rip, then read back through g */
	send("P10=0010000000000000");
	CHECK(!strcmp(reply(), "OK"));
	CHECK_EQ(fregs[0].rip, 0x1000);
	/* P xmm0 and mxcsr */
	send("P28=00112233445566778899aabbccddeeff");
	CHECK(!strcmp(reply(), "OK"));
	CHECK_EQ(fregs[0].fx[160], 0x00);
	CHECK_EQ(fregs[0].fx[175], 0xff);
	send("P38=801f0000");
	CHECK(!strcmp(reply(), "OK"));
	CHECK_EQ(fregs[0].fx[24], 0x80);
	/* G: the whole set back, one byte changed (rbx) */
	send("g");
	char g[2 * 552 + 2];
	snprintf(g, sizeof(g), "G%s", reply());
	g[1 + 16] = '7';
	send(g);
	CHECK(!strcmp(reply(), "OK"));
	CHECK_EQ(fregs[0].gpr[1], 0x1111111100000071ull);
	/* G of the wrong size */
	g[100] = 0;
	send(g);
	CHECK(reply()[0] == 'E');
	/* another thread's registers */
	send("Hg2");
	send("p10");
	CHECK(!strcmp(reply(), "2222000000000000"));
}

TEST(gdb_memory_and_breakpoints)
{
	setup();
	/* across a page */
	send("m10ffe,4");
	CHECK(!strcmp(reply(), "feff0001"));
	send("m12ffe,4"); /* partly readable: what there is */
	CHECK(!strcmp(reply(), "feff"));
	send("M10000,3:aabbcc");
	CHECK(!strcmp(reply(), "OK"));
	CHECK_EQ(fmem[0], 0xaa);
	CHECK_EQ(fmem[2], 0xcc);
	/* X with escaped binary ('#' 0x23, '}' 0x7d, '$' 0x24) */
	{
		const char x[] = "X10010,3:\x7d\x03\x7d\x5d\x7d\x04";
		u8 sum = 0;
		char b[64];
		for (size_t i = 0; i < sizeof(x) - 1; i++)
			sum += (u8)x[i];
		int k = snprintf(b, sizeof(b), "$%s#%02x", x, sum);
		outlen = 0;
		feed(b, (size_t)k);
		CHECK(!strcmp(reply(), "OK"));
		CHECK_EQ(fmem[0x10], 0x23);
		CHECK_EQ(fmem[0x11], 0x7d);
		CHECK_EQ(fmem[0x12], 0x24);
	}
	send("M0,1:00");
	CHECK(reply()[0] == 'E');
	/* Z0: an INT3, the byte kept; z0 restores it */
	fmem[0x100] = 0x55;
	send("Z0,10100,1");
	CHECK(!strcmp(reply(), "OK"));
	CHECK_EQ(fmem[0x100], 0xcc);
	CHECK(gdb_is_bp(&G, 0x10100));
	CHECK(!gdb_is_bp(&G, 0x10101));
	send("Z0,10100,1"); /* again: still one breakpoint, byte kept */
	CHECK(!strcmp(reply(), "OK"));
	send("z0,10100,1");
	CHECK(!strcmp(reply(), "OK"));
	CHECK_EQ(fmem[0x100], 0x55);
	CHECK(!gdb_is_bp(&G, 0x10100));
	send("z0,10100,1"); /* not there: fine */
	CHECK(!strcmp(reply(), "OK"));
	send("Z0,0,1"); /* unwritable */
	CHECK(reply()[0] == 'E');
	/* hardware breakpoints and watchpoints: unsupported (empty) */
	send("Z1,10100,1");
	CHECK(!strcmp(reply(), ""));
	send("Z2,10100,4");
	CHECK(!strcmp(reply(), ""));
	/* full table */
	for (int i = 0; i < GDB_MAX_BP; i++) {
		char q[40];
		snprintf(q, sizeof(q), "Z0,%x,1", 0x10200 + i);
		send(q);
		CHECK(!strcmp(reply(), "OK"));
	}
	send("Z0,10300,1");
	CHECK(!strcmp(reply(), "E1c"));
	/* detach removes them all */
	CHECK_EQ(fmem[0x200], 0xcc);
	CHECK_EQ(send("D"), GDB_DETACH);
	CHECK(!strcmp(reply(), "OK"));
	CHECK_EQ(fmem[0x200], 0x00);
	CHECK_EQ(fmem[0x21f], 0x1f);
}

TEST(gdb_run_control)
{
	setup();
	CHECK_EQ(send("c"), GDB_CONTINUE);
	CHECK_EQ(send("s"), GDB_STEP);
	CHECK_EQ(G.step_tid, 1);
	send("vCont?");
	CHECK(strstr(reply(), "vCont;c;C;s;S") != NULL);
	CHECK_EQ(send("vCont;s:2;c"), GDB_STEP);
	CHECK_EQ(G.step_tid, 2);
	CHECK_EQ(send("vCont;c"), GDB_CONTINUE);
	CHECK_EQ(send("vCont;s:3"), GDB_NONE); /* not stopped: refused */
	CHECK(reply()[0] == 'E');
	CHECK_EQ(send("s10000"), GDB_STEP); /* step at an address */
	CHECK_EQ(fregs[0].rip, 0x10000);
	CHECK_EQ(send("k"), GDB_KILL);
	/* running: 0x03 breaks in; a packet gets an error, never a wait */
	G.running = true;
	CHECK_EQ(feed("\x03", 1), GDB_BREAK);
	CHECK_EQ(send("g"), GDB_NONE);
	CHECK(reply()[0] == 'E');
	/* the stop: a reply naming the thread, swbreak for our INT3 */
	G.attached = true;
	outlen = 0;
	gdb_stopped(&G, 2, 5, true);
	CHECK(!strcmp(reply(), "T05swbreak:;thread:2;"));
	outlen = 0;
	gdb_stopped(&G, 1, 2, false);
	CHECK(!strcmp(reply(), "T02thread:1;"));
	/* 0x03 while stopped: answered with a stop reply */
	outlen = 0;
	feed("\x03", 1);
	CHECK(!strcmp(reply(), "T02thread:1;"));
}

TEST(gdb_monitor_and_noack)
{
	setup();
	send("qRcmd,6578697473"); /* "exits" */
	CHECK_EQ(mon_calls, 1);
	const char *r = reply();
	char txt[128] = "";
	for (size_t i = 0; r[2 * i] && i < sizeof(txt) - 1; i++) {
		unsigned v;
		sscanf(r + 2 * i, "%2x", &v);
		txt[i] = (char)v;
	}
	CHECK(!strcmp(txt, "VP 0: 42 exits\n"));
	send("qRcmd,6e6f7065"); /* "nope": a hint, not an error */
	CHECK(strlen(reply()) > 10);
	send("QStartNoAckMode");
	CHECK(outbuf[0] == '+');
	CHECK(!strcmp(reply(), "OK"));
	send("?");
	CHECK(outbuf[0] == '$'); /* no '+' any more */
	outlen = 0;
	feed("$?#00", 5); /* bad checksum: no '-' in no-ack mode */
	CHECK_EQ(outlen, 0);
}

/* Random bytes never crash the engine or make it write out of bounds
 * (ASan), and it always ends idle after a complete packet. */
TEST(gdb_random_bytes)
{
	setup();
	srand(17);
	char b[512];
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(rand() % (int)sizeof(b));
		for (size_t i = 0; i < n; i++) {
			int k = rand() % 10;
			b[i] = k == 0 ? '$' : k == 1 ? '#' : k == 2 ? '}' : (char)(rand() & 0xff);
		}
		outlen = 0;
		feed(b, n);
		gdb_timeout(&G);
		G.running = false;
		for (int i = 0; i < GDB_MAX_BP; i++)
			G.bp[i].used = false;
	}
	send("?");
	CHECK(reply()[0] == 'T');
}
