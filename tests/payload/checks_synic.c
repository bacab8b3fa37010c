/*
 * checks_synic.c - the SynIC (TLFS 11) from the guest's side:
 *  - the MSRs (11.8): reset values, read/write rules, #GP cases, on the
 *    BSP with RDMSR/WRMSR and on another VP through the VP-register
 *    aliases (HvSet/GetVpRegisters, 7.10);
 *  - the SIM and SIEF pages as overlays (11.9, 5.2.1): zeroed at creation,
 *    the RAM underneath preserved and back when disabled or moved;
 *  - ports and connections on the partition itself (HvCreatePort 0x0095,
 *    HvConnectPort 0x0096, HvDeletePort 0x0058, HvDisconnectPort 0x005B),
 *    HvPostMessage (11.11.1) and HvSignalEvent (11.11.2): a message
 *    posted by the BSP arrives in another VP's SIMP slot with its vector
 *    (on 1 CPU: to itself), the busy slot's MessagePending and the
 *    redelivery in order on EOM (11.4, 11.8.6), event flags raising the
 *    SINT once (11.5.1), AutoEOI (no EOI: a lower-priority interrupt
 *    still arrives; held by IF and the TPR), polling and masked SINTs,
 *    and bad inputs for every call.
 * The interrupt handlers (psynic.asm) count by VP index and handler; the
 * APs take interrupts in the worker of checks_tlb.c (APW_IPI_ON) with
 * this file's IDT.
 */
#include "hcall.h"
#include "px86.h"

#define MSR_SCONTROL 0x40000080u
#define MSR_SVERSION 0x40000081u
#define MSR_SIEFP 0x40000082u
#define MSR_SIMP 0x40000083u
#define MSR_EOM 0x40000084u
#define MSR_SINT0 0x40000090u
#define MSR_TPR 0x40000072u /* HV_X64_MSR_TPR (TLFS 10.2.3) */

#define PRIV_SYNIC (1ull << 2)
#define PRIV_PORTS ((1ull << 36) | (1ull << 37) | (1ull << 38) | (1ull << 39))
#define PRIV_VP_REGS (1ull << 49)

#define CALL_GET_REGS 0x0050u
#define CALL_SET_REGS 0x0051u
#define CALL_DELETE_PORT 0x0058u
#define CALL_DISCONNECT 0x005Bu
#define CALL_POST 0x005Cu
#define CALL_SIGNAL 0x005Du
#define CALL_CREATE_PORT 0x0095u
#define CALL_CONNECT 0x0096u

#define ST_BAD_VP 0x0Eu
#define ST_BAD_PORT 0x11u
#define ST_BAD_CONN 0x12u
#define ST_SYNIC_STATE 0x18u
#define ST_NO_BUFFERS 0x13u /* HV_STATUS_INSUFFICIENT_BUFFERS (include/synic/synic.h) */

#define SINT_MASKED (1ull << 16)
#define SINT_AEOI (1ull << 17)
#define SINT_POLL (1ull << 18)
#define MSG_PENDING 1u

/* Handlers (psynic.asm) and their vectors. */
enum { K_MSG, K_EVT, K_AEOI, K_LOW, K_POLL, K_MASK, K_COUNT };
static const uint8_t vec_of[K_COUNT] = { 0x50, 0x51, 0x90, 0x41, 0x52, 0x53 };
extern volatile uint64_t synic_count[64 * 8] HIDDEN;
void synic_isr0(void) HIDDEN;
void synic_isr1(void) HIDDEN;
void synic_isr2(void) HIDDEN;
void synic_isr3(void) HIDDEN;
void synic_isr4(void) HIDDEN;
void synic_isr5(void) HIDDEN;

/* SINTs of every VP used here. */
#define S_MSG 2
#define S_EVT 3
#define S_AEOI 4
#define S_LOW 5
#define S_POLL 6
#define S_MASK 7

/* Ports (P_*) and their connections (P_* + 0x1000). */
#define P_MSG_SELF 0x100u
#define P_MSG_T 0x101u
#define P_EVT_T 0x102u
#define P_AEOI 0x103u
#define P_LOW 0x104u
#define P_POLL_T 0x105u
#define P_MASK_T 0x106u
#define P_MASKMSG_T 0x107u
#define P_TMP 0x108u
#define P_AEOI_T 0x109u
#define P_LOW_T 0x10Au
#define CONN(p) ((p) + 0x1000u)
#define EVT_BASE 16u
#define EVT_COUNT 64u

struct hv_msg {
	uint32_t type;
	uint8_t size, flags;
	uint16_t rsvd;
	uint64_t origin;
	uint64_t payload[30];
};

static struct synic_vp {
	volatile struct hv_msg *simp;
	volatile uint8_t *siefp;
} g_v[2];
static uint8_t *g_x, *g_y; /* two RAM pages for the overlay checks */
static unsigned int g_t;   /* the target VP: the first AP, or 0 */

static uint64_t cnt(unsigned int vp, unsigned int k) { return synic_count[vp * 8 + k]; }

static void settle(unsigned int ms)
{
	for (uint64_t t0 = rdtsc(), lim = apw_ticks(ms); rdtsc() - t0 < lim;)
		__asm__ volatile("pause");
}

/* Wait until the VP's count of handler k reaches want (2 s at most),
 * then 2 ms more (a second, wrong interrupt would come as fast as the
 * first); returns the count. */
static uint64_t wait_cnt(unsigned int vp, unsigned int k, uint64_t want)
{
	for (uint64_t t0 = rdtsc(), lim = apw_ticks(2000); cnt(vp, k) < want && rdtsc() - t0 < lim;)
		__asm__ volatile("pause");
	settle(2);
	return cnt(vp, k);
}

/* The count after 20 ms, for an interrupt that must not come: a raised
 * one arrives within microseconds (the APIC, or the target's next entry
 * after an NMI kick). */
static uint64_t none_cnt(unsigned int vp, unsigned int k)
{
	settle(20);
	return cnt(vp, k);
}

/* HvSetVpRegisters / HvGetVpRegisters of one register (TLFS 7.10). */
static int set_vpreg(struct hc_regs *r, uint32_t vp, uint32_t name, uint64_t v)
{
	for (int i = 0; i < 48; i++)
		P_IN[i] = 0;
	*(uint64_t *)P_IN = PARTITION_SELF;
	*(uint32_t *)(P_IN + 8) = vp;
	*(uint32_t *)(P_IN + 16) = name;
	*(uint64_t *)(P_IN + 32) = v;
	return call_slow(r, CALL_SET_REGS | HC_REPS(1), pa(P_IN), 0);
}

static int get_vpreg(struct hc_regs *r, uint32_t vp, uint32_t name, uint64_t *v)
{
	for (int i = 0; i < 24; i++)
		P_IN[i] = 0;
	*(uint64_t *)P_IN = PARTITION_SELF;
	*(uint32_t *)(P_IN + 8) = vp;
	*(uint32_t *)(P_IN + 16) = name;
	fill64(P_OUT, PREFILL, 16, 0);
	int vec = call_slow(r, CALL_GET_REGS | HC_REPS(1), pa(P_IN), pa(P_OUT));
	*v = *(uint64_t *)P_OUT;
	return vec;
}

/* TLFS 7.8.2: HvRegisterSint0-15 0x000A0000-F, Scontrol 0x000A0010,
 * Sifp 0x000A0012, Sipp 0x000A0013, Eom 0x000A0014. */
static uint32_t reg_name(uint32_t msr)
{
	if (msr >= MSR_SINT0)
		return 0x000A0000u + (msr - MSR_SINT0);
	return 0x000A0010u + (msr - MSR_SCONTROL);
}

/* A SynIC register of vp: WRMSR on the BSP, HvSetVpRegisters for another
 * VP. Returns 1 if it took the value. */
static int sreg(unsigned int vp, uint32_t msr, uint64_t v)
{
	if (vp == 0)
		return trap_wrmsr(msr, v) == VEC_NONE;
	struct hc_regs r;
	return set_vpreg(&r, vp, reg_name(msr), v) == VEC_NONE && (r.rax & 0xffff) == ST_OK;
}

static uint64_t rdmsr_v(uint32_t msr)
{
	uint64_t v = 0xdeadull;
	trap_rdmsr(msr, &v);
	return v;
}

/* ---- 11.8: the MSRs on the BSP ------------------------------------------ */
static void msr_checks(void)
{
	uint64_t v;
	int ok = 1;
	check_eq("synic.msr.scontrol_reset", rdmsr_v(MSR_SCONTROL), 0);
	check_eq("synic.msr.sversion", rdmsr_v(MSR_SVERSION), 1);
	check_eq("synic.msr.siefp_reset", rdmsr_v(MSR_SIEFP), 0);
	check_eq("synic.msr.simp_reset", rdmsr_v(MSR_SIMP), 0);
	check_eq("synic.msr.eom_reads_zero", rdmsr_v(MSR_EOM), 0);
	for (uint32_t i = 0; i < 16; i++)
		ok &= rdmsr_v(MSR_SINT0 + i) == SINT_MASKED;
	check("synic.msr.sint_reset_masked", ok, "a SINT does not read 0x10000 at reset");
	/* SVERSION is read-only (11.8.2). */
	check_vec("synic.msr.sversion_write_gp", trap_wrmsr(MSR_SVERSION, 1), VEC_GP);
	/* Vectors 0-15 are invalid (11.8.5): #GP, nothing stored. */
	check_vec("synic.msr.sint_vector_0f_gp", trap_wrmsr(MSR_SINT0 + 9, 0x0f), VEC_GP);
	check_vec("synic.msr.sint_vector_0_polling_gp", trap_wrmsr(MSR_SINT0 + 9, SINT_POLL), VEC_GP);
	check_eq("synic.msr.sint_after_gp", rdmsr_v(MSR_SINT0 + 9), SINT_MASKED);
	/* Masked, the reset value's vector 0 is accepted (written back). */
	check_vec("synic.msr.sint_masked_vector0", trap_wrmsr(MSR_SINT0 + 9, SINT_MASKED), VEC_NONE);
	check_vec("synic.msr.sint_vector_10", trap_wrmsr(MSR_SINT0 + 9, 0x10), VEC_NONE);
	check_eq("synic.msr.sint_vector_10_read", rdmsr_v(MSR_SINT0 + 9), 0x10);
	/* RsvdP bits read back as written. */
	trap_wrmsr(MSR_SINT0 + 9, 0xffff000000f8ab00ull | SINT_MASKED | 0xee);
	check_eq("synic.msr.sint_rsvdp_kept", rdmsr_v(MSR_SINT0 + 9),
		 0xffff000000f8ab00ull | SINT_MASKED | 0xee);
	trap_wrmsr(MSR_SINT0 + 9, SINT_MASKED);
	trap_wrmsr(MSR_SCONTROL, 0xabc0);
	check_eq("synic.msr.scontrol_rsvdp_kept", rdmsr_v(MSR_SCONTROL), 0xabc0);
	trap_wrmsr(MSR_SCONTROL, 0);
	check_vec("synic.msr.eom_write", trap_wrmsr(MSR_EOM, 0), VEC_NONE);
	/* Not SynIC MSRs: between EOM and SINT0, after SINT15. */
	check_vec("synic.msr.0x85_gp", trap_rdmsr(0x40000085u, &v), VEC_GP);
	check_vec("synic.msr.0xa0_gp", trap_rdmsr(0x400000A0u, &v), VEC_GP);
	/* A GPA beyond the GPA space: accepted (11.8.4), not mapped. */
	uint64_t far = (1ull << (g_hc.pa_bits < 52 ? g_hc.pa_bits : 51)) | 1;
	check_vec("synic.msr.simp_beyond_space", trap_wrmsr(MSR_SIMP, far), VEC_NONE);
	check_eq("synic.msr.simp_beyond_space_read", rdmsr_v(MSR_SIMP), far);
	trap_wrmsr(MSR_SIMP, 0);
}

/* ---- 11.9, 5.2.1: the pages as overlays ------------------------------------ */
static void overlay_one(const char *what, uint32_t msr)
{
	char nm[80];
	fill64(g_x, PAT_P, PAGE, 1);
	fill64(g_y, PAT_Q, PAGE, 1);
	trap_wrmsr(msr, pa(g_x) | 0x6 | 1); /* RsvdP bits 11:1 kept */
	fmt_name(nm, sizeof(nm), "synic.overlay.%s.read_back", what);
	check_eq(nm, rdmsr_v(msr), pa(g_x) | 7);
	/* The hypervisor's page, zeroed at creation (11.9), at X. */
	fmt_name(nm, sizeof(nm), "synic.overlay.%s.zeroed", what);
	check(nm, diff64(g_x, 0, PAGE, 0) < 0, "first nonzero qword at %ld", diff64(g_x, 0, PAGE, 0));
	((volatile uint64_t *)g_x)[100] = 0x5151515151515151ull;
	trap_wrmsr(msr, 0);
	fmt_name(nm, sizeof(nm), "synic.overlay.%s.ram_back_after_disable", what);
	check(nm, diff64(g_x, PAT_P, PAGE, 1) < 0, "RAM differs at %ld", diff64(g_x, PAT_P, PAGE, 1));
	/* Moved to Y: its content comes along, X stays RAM. */
	trap_wrmsr(msr, pa(g_y) | 1);
	fmt_name(nm, sizeof(nm), "synic.overlay.%s.moved_keeps_content", what);
	check(nm, ((volatile uint64_t *)g_y)[100] == 0x5151515151515151ull && diff64(g_x, PAT_P, PAGE, 1) < 0,
	      "Y[100] 0x%lx, X differs at %ld", (unsigned long)((volatile uint64_t *)g_y)[100],
	      diff64(g_x, PAT_P, PAGE, 1));
	((volatile uint64_t *)g_y)[100] = 0;
	trap_wrmsr(msr, 0);
	fmt_name(nm, sizeof(nm), "synic.overlay.%s.ram_back_after_move", what);
	check(nm, diff64(g_y, PAT_Q, PAGE, 1) < 0, "RAM differs at %ld", diff64(g_y, PAT_Q, PAGE, 1));
}

/* ---- ports ----------------------------------------------------------------- */
static int call_in(struct hc_regs *r, uint16_t code, const uint64_t *w, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		((uint64_t *)P_IN)[i] = w[i];
	return call_slow(r, code, pa(P_IN), 0);
}

/* HvCreatePort: PortPartition, PortId | PortVtl << 32 | MinConnectionVtl
 * << 40, ConnectionPartition, PortInfo (PortType, TargetSint | TargetVp
 * << 32, BaseFlag | FlagCount << 16), ProximityDomainInfo. */
static int create_port(struct hc_regs *r, uint64_t pid, uint64_t w1, uint32_t type, uint32_t sint,
		       uint32_t vp, uint64_t w5)
{
	uint64_t w[7] = { pid, w1, 0, type, sint | ((uint64_t)vp << 32), w5, 0 };
	return call_in(r, CALL_CREATE_PORT, w, 7);
}

static int connect(struct hc_regs *r, uint64_t w1, uint32_t port, uint32_t type, uint64_t w5)
{
	uint64_t w[9] = { PARTITION_SELF, w1, PARTITION_SELF, port, type, w5, 0, 0, 0 };
	return call_in(r, CALL_CONNECT, w, 9);
}

static void port_ok(const char *name, uint32_t port, uint32_t type, uint32_t sint, uint32_t vp,
		    uint64_t flags)
{
	struct hc_regs r;
	char nm[80];
	fmt_name(nm, sizeof(nm), "synic.port.create.%s", name);
	expect(nm, create_port(&r, PARTITION_SELF, port, type, sint, vp, flags), &r, ST_OK, 0, NULL,
	       0, 0);
	fmt_name(nm, sizeof(nm), "synic.port.connect.%s", name);
	expect(nm, connect(&r, CONN(port), port, type, 0), &r, ST_OK, 0, NULL, 0, 0);
}

static int post(struct hc_regs *r, uint32_t conn, uint32_t type, uint32_t size, uint64_t seed)
{
	uint64_t w[32];
	w[0] = conn;
	w[1] = type | ((uint64_t)size << 32);
	for (unsigned int i = 0; i < 30; i++)
		w[2 + i] = seed + i;
	return call_in(r, CALL_POST, w, 32);
}

static int sig_ev(struct hc_regs *r, uint32_t conn, uint32_t flag, int fast)
{
	uint64_t w = conn | ((uint64_t)flag << 32);
	return call_words(r, CALL_SIGNAL, &w, 1, fast);
}

static int flag_set(unsigned int vp, unsigned int sint, unsigned int flag)
{
	return (g_v[vp == 0 ? 0 : 1].siefp[sint * 256 + flag / 8] >> (flag % 8)) & 1;
}

static volatile struct hv_msg *slot(unsigned int vp, unsigned int sint)
{
	return &g_v[vp == 0 ? 0 : 1].simp[sint];
}

/* A message from the BSP to VP vp (port `port`): status, slot, one
 * interrupt at the SINT's vector on vp and none elsewhere. */
static void msg_to(const char *where, unsigned int vp, uint32_t port)
{
	struct hc_regs r;
	char nm[80];
	uint64_t before = cnt(vp, K_MSG), other = cnt(vp ? 0 : g_t, K_MSG);
	fmt_name(nm, sizeof(nm), "synic.msg.%s.status", where);
	expect(nm, post(&r, CONN(port), 0x1234, 20, 0x7000), &r, ST_OK, 0, NULL, 0, 0);
	fmt_name(nm, sizeof(nm), "synic.msg.%s.interrupt", where);
	uint64_t got = wait_cnt(vp, K_MSG, before + 1);
	check(nm, got == before + 1 && (!g_t || cnt(vp ? 0 : g_t, K_MSG) == other),
	      "VP%u took %lu interrupts at 0x%x (expected 1), the other VP %lu", vp,
	      (unsigned long)(got - before), vec_of[K_MSG],
	      (unsigned long)(cnt(vp ? 0 : g_t, K_MSG) - other));
	volatile struct hv_msg *s = slot(vp, S_MSG);
	fmt_name(nm, sizeof(nm), "synic.msg.%s.slot", where);
	check(nm, s->type == 0x1234 && s->size == 20 && s->flags == 0 && s->origin == port &&
		      s->payload[0] == 0x7000 && s->payload[1] == 0x7001 && (uint32_t)s->payload[2] == 0x7002,
	      "type 0x%x size %u flags %u origin 0x%lx payload 0x%lx 0x%lx 0x%lx", s->type, s->size,
	      s->flags, (unsigned long)s->origin, (unsigned long)s->payload[0],
	      (unsigned long)s->payload[1], (unsigned long)s->payload[2]);
	s->type = 0;
}

/* 11.4, 11.8.6: a busy slot queues the next messages (MessagePending);
 * each EOM after emptying the slot delivers the next, in post order. */
static void busy_and_eom(void)
{
	struct hc_regs r;
	volatile struct hv_msg *s = slot(0, S_MSG);
	uint64_t c0 = cnt(0, K_MSG);
	expect("synic.msg.busy.first", post(&r, CONN(P_MSG_SELF), 0x100, 8, 0), &r, ST_OK, 0, NULL, 0, 0);
	wait_cnt(0, K_MSG, c0 + 1);
	int ok = 1;
	for (uint32_t i = 1; i <= 16; i++)
		ok &= post(&r, CONN(P_MSG_SELF), 0x100 + i, 8, i) == VEC_NONE && (r.rax & 0xffff) == ST_OK;
	check("synic.msg.busy.queued_16", ok, "a post into the queue failed: RAX 0x%lx",
	      (unsigned long)r.rax);
	check("synic.msg.busy.pending_flag", s->type == 0x100 && (s->flags & MSG_PENDING),
	      "slot type 0x%x flags %u", s->type, s->flags);
	expect("synic.msg.busy.no_buffers", post(&r, CONN(P_MSG_SELF), 0x200, 8, 0), &r, ST_NO_BUFFERS,
	       0, NULL, 0, 0);
	check_eq("synic.msg.busy.no_interrupt", none_cnt(0, K_MSG), c0 + 1);
	/* Empty, EOM: the next message, in order, with its interrupt. */
	uint32_t bad = 0, seen = 0;
	for (uint32_t i = 1; i <= 16; i++) {
		int pend = s->flags & MSG_PENDING;
		s->type = 0;
		if (pend)
			trap_wrmsr(MSR_EOM, 0);
		if (s->type != 0x100 + i && !bad)
			bad = i, seen = s->type;
	}
	check("synic.msg.eom.redelivered_in_order", !bad, "after EOM %u the slot holds 0x%x, expected 0x%x",
	      bad, seen, 0x100 + bad);
	check("synic.msg.eom.pending_clear_at_end", !(s->flags & MSG_PENDING), "flags %u", s->flags);
	check_eq("synic.msg.eom.interrupts", wait_cnt(0, K_MSG, c0 + 17), c0 + 17);
	/* Empty queue: an EOM changes nothing. */
	s->type = 0;
	trap_wrmsr(MSR_EOM, 0);
	check_eq("synic.msg.eom.empty_queue_noop", s->type, 0);
}

static void events(const char *where, unsigned int vp)
{
	struct hc_regs r;
	char nm[80];
	unsigned int f = EVT_BASE + 5;
	uint64_t c = cnt(vp, K_EVT);
	fmt_name(nm, sizeof(nm), "synic.event.%s.status", where);
	expect(nm, sig_ev(&r, CONN(P_EVT_T), 5, 1), &r, ST_OK, 0, NULL, 0, 0);
	fmt_name(nm, sizeof(nm), "synic.event.%s.flag_set", where);
	check(nm, flag_set(vp, S_EVT, f), "flag %u of SINT %u is clear", f, S_EVT);
	fmt_name(nm, sizeof(nm), "synic.event.%s.raised", where);
	check_eq(nm, wait_cnt(vp, K_EVT, c + 1), c + 1);
	/* Already set: no interrupt (11.5.1). Slow form. */
	fmt_name(nm, sizeof(nm), "synic.event.%s.again_status", where);
	expect(nm, sig_ev(&r, CONN(P_EVT_T), 5, 0), &r, ST_OK, 0, NULL, 0, 0);
	fmt_name(nm, sizeof(nm), "synic.event.%s.set_flag_raises_nothing", where);
	check_eq(nm, none_cnt(vp, K_EVT), c + 1);
	/* Cleared by the guest (11.5.2): raised again. */
	__atomic_and_fetch(&g_v[vp == 0 ? 0 : 1].siefp[S_EVT * 256 + f / 8], (uint8_t)~(1u << (f % 8)),
			   __ATOMIC_SEQ_CST);
	sig_ev(&r, CONN(P_EVT_T), 5, 1);
	fmt_name(nm, sizeof(nm), "synic.event.%s.raised_after_clear", where);
	check_eq(nm, wait_cnt(vp, K_EVT, c + 2), c + 2);
	/* The last flag of the port's range. */
	sig_ev(&r, CONN(P_EVT_T), EVT_COUNT - 1, 1);
	fmt_name(nm, sizeof(nm), "synic.event.%s.last_flag", where);
	check(nm, flag_set(vp, S_EVT, EVT_BASE + EVT_COUNT - 1) && (r.rax & 0xffff) == ST_OK,
	      "RAX 0x%lx", (unsigned long)r.rax);
	wait_cnt(vp, K_EVT, c + 3);
}

/* 11.8.5: AutoEOI on the BSP. */
static void auto_eoi(void)
{
	struct hc_regs r;
	uint64_t a = cnt(0, K_AEOI), l = cnt(0, K_LOW);
	expect("synic.autoeoi.status", sig_ev(&r, CONN(P_AEOI), 0, 1), &r, ST_OK, 0, NULL, 0, 0);
	check_eq("synic.autoeoi.delivered", wait_cnt(0, K_AEOI, a + 1), a + 1);
	/* The handler did not EOI: had the vector gone through the APIC,
	 * its ISR bit (class 9) would block class 4 for good. */
	sig_ev(&r, CONN(P_LOW), 0, 1);
	check_eq("synic.autoeoi.lower_priority_after", wait_cnt(0, K_LOW, l + 1), l + 1);
	/* Interrupts masked: held until STI. */
	__asm__ volatile("cli");
	sig_ev(&r, CONN(P_AEOI), 1, 1);
	settle(20);
	uint64_t during = cnt(0, K_AEOI);
	__asm__ volatile("sti; nop");
	check("synic.autoeoi.waits_for_if", during == a + 1 && wait_cnt(0, K_AEOI, a + 2) == a + 2,
	      "taken with IF=0: %lu, after STI: %lu", (unsigned long)(during - a - 1),
	      (unsigned long)(cnt(0, K_AEOI) - a - 1));
	/* The TPR above the vector's class holds it; lowering the TPR (an
	 * exit: HV_X64_MSR_TPR) lets it in. */
	if (g_hc.priv & (1ull << 4)) {
		trap_wrmsr(MSR_TPR, 0xa0);
		sig_ev(&r, CONN(P_AEOI), 2, 1);
		settle(20);
		during = cnt(0, K_AEOI);
		trap_wrmsr(MSR_TPR, 0);
		check("synic.autoeoi.held_by_tpr", during == a + 2 && wait_cnt(0, K_AEOI, a + 3) == a + 3,
		      "taken with TPR 0xA0: %lu, after TPR 0: %lu", (unsigned long)(during - a - 2),
		      (unsigned long)(cnt(0, K_AEOI) - a - 2));
	}
}

/* AutoEOI on another VP: the target's processor injects it (an NMI kick
 * brings it to its before-entry work). */
static void auto_eoi_remote(unsigned int vp)
{
	struct hc_regs r;
	uint64_t a = cnt(vp, K_AEOI), l = cnt(vp, K_LOW);
	expect("synic.autoeoi.remote.status", sig_ev(&r, CONN(P_AEOI_T), 0, 1), &r, ST_OK, 0, NULL, 0,
	       0);
	check_eq("synic.autoeoi.remote.delivered", wait_cnt(vp, K_AEOI, a + 1), a + 1);
	sig_ev(&r, CONN(P_LOW_T), 0, 1);
	check_eq("synic.autoeoi.remote.lower_priority_after", wait_cnt(vp, K_LOW, l + 1), l + 1);
	/* Several in a row, each flag cleared in between: none lost. */
	int ok = 1;
	for (unsigned int i = 0; i < 20; i++) {
		g_v[1].siefp[S_AEOI * 256] = 0;
		sig_ev(&r, CONN(P_AEOI_T), 0, 1);
		ok &= wait_cnt(vp, K_AEOI, a + 2 + i) == a + 2 + i;
	}
	check("synic.autoeoi.remote.repeated", ok, "VP%u took %lu of 20", vp,
	      (unsigned long)(cnt(vp, K_AEOI) - a - 1));
}

static void poll_and_mask(unsigned int vp)
{
	struct hc_regs r;
	uint64_t p = cnt(vp, K_POLL), m = cnt(vp, K_MASK);
	/* Polling (11.8.5): the flag, no interrupt. */
	expect("synic.poll.status", sig_ev(&r, CONN(P_POLL_T), 3, 1), &r, ST_OK, 0, NULL, 0, 0);
	check("synic.poll.flag_set", flag_set(vp, S_POLL, 3), "flag 3 of SINT %u clear", S_POLL);
	check_eq("synic.poll.no_interrupt", none_cnt(vp, K_POLL), p);
	/* Masked: HvSignalEvent fails (11.5.1), the flag stays clear. */
	expect("synic.mask.event_status", sig_ev(&r, CONN(P_MASK_T), 3, 1), &r, ST_SYNIC_STATE, 0,
	       NULL, 0, 0);
	check("synic.mask.event_flag_clear", !flag_set(vp, S_MASK, 3), "flag 3 of SINT %u set", S_MASK);
	/* A message to a masked SINT lands without an interrupt (11.4). */
	expect("synic.mask.msg_status", post(&r, CONN(P_MASKMSG_T), 0x77, 0, 0), &r, ST_OK, 0, NULL, 0,
	       0);
	check("synic.mask.msg_in_slot", slot(vp, S_MASK)->type == 0x77, "slot type 0x%x",
	      slot(vp, S_MASK)->type);
	check_eq("synic.mask.no_interrupt", none_cnt(vp, K_MASK), m);
	slot(vp, S_MASK)->type = 0;
}

static void bad_inputs(unsigned int nvp)
{
	struct hc_regs r;
	/* HvPostMessage (11.11.1). */
	expect("synic.err.post.unknown_connection", post(&r, 0x7777, 1, 8, 0), &r, ST_BAD_CONN, 0, NULL,
	       0, 0);
	expect("synic.err.post.connection_high_bits", post(&r, CONN(P_MSG_T) | 0x01000000u, 1, 8, 0), &r,
	       ST_BAD_CONN, 0, NULL, 0, 0);
	expect("synic.err.post.event_port", post(&r, CONN(P_EVT_T), 1, 8, 0), &r, ST_BAD_PORT, 0, NULL,
	       0, 0);
	expect("synic.err.post.type_zero", post(&r, CONN(P_MSG_T), 0, 8, 0), &r, ST_BAD_PARAM, 0, NULL,
	       0, 0);
	expect("synic.err.post.type_hypervisor", post(&r, CONN(P_MSG_T), 0x80000010u, 8, 0), &r,
	       ST_BAD_PARAM, 0, NULL, 0, 0);
	expect("synic.err.post.size_241", post(&r, CONN(P_MSG_T), 1, 241, 0), &r, ST_BAD_PARAM, 0, NULL,
	       0, 0);
	uint64_t w[2] = { CONN(P_MSG_T), 1 | (8ull << 32) };
	expect("synic.err.post.fast", call_words(&r, CALL_POST, w, 2, 1), &r, ST_BAD_INPUT, 0, NULL, 0,
	       0);
	expect("synic.err.post.rep_count", call_slow(&r, CALL_POST | HC_REPS(1), pa(P_IN), 0), &r,
	       ST_BAD_INPUT, 0, NULL, 0, 0);
	expect("synic.err.post.misaligned", call_slow(&r, CALL_POST, pa(P_IN) + 4, 0), &r, ST_BAD_ALIGN,
	       0, NULL, 0, 0);
	expect("synic.err.post.crosses_page", call_slow(&r, CALL_POST, pa(P_IN) + PAGE - 128, 0), &r,
	       ST_BAD_ALIGN, 0, NULL, 0, 0);
	/* HvSignalEvent (11.11.2). */
	expect("synic.err.signal.unknown_connection", sig_ev(&r, 0x7777, 0, 1), &r, ST_BAD_CONN, 0,
	       NULL, 0, 0);
	expect("synic.err.signal.message_port", sig_ev(&r, CONN(P_MSG_T), 0, 1), &r, ST_BAD_PORT, 0,
	       NULL, 0, 0);
	expect("synic.err.signal.flag_count", sig_ev(&r, CONN(P_EVT_T), EVT_COUNT, 1), &r, ST_BAD_PARAM,
	       0, NULL, 0, 0);
	expect("synic.err.signal.reserved", sig_ev(&r, CONN(P_EVT_T), 1 | (1u << 16), 0), &r,
	       ST_BAD_PARAM, 0, NULL, 0, 0);
	/* The target's SynIC state (11.11.1-11.11.2: INVALID_SYNIC_STATE). */
	sreg(g_t, MSR_SCONTROL, 0);
	expect("synic.err.signal.scontrol_off", sig_ev(&r, CONN(P_EVT_T), 0, 1), &r, ST_SYNIC_STATE, 0,
	       NULL, 0, 0);
	expect("synic.err.post.scontrol_off", post(&r, CONN(P_MSG_T), 1, 8, 0), &r, ST_SYNIC_STATE, 0,
	       NULL, 0, 0);
	sreg(g_t, MSR_SCONTROL, 1);
	sreg(g_t, MSR_SIMP, 0);
	expect("synic.err.post.simp_off", post(&r, CONN(P_MSG_T), 1, 8, 0), &r, ST_SYNIC_STATE, 0, NULL,
	       0, 0);
	sreg(g_t, MSR_SIMP, pa((const void *)g_v[g_t ? 1 : 0].simp) | 1);
	sreg(g_t, MSR_SIEFP, 0);
	expect("synic.err.signal.siefp_off", sig_ev(&r, CONN(P_EVT_T), 0, 1), &r, ST_SYNIC_STATE, 0,
	       NULL, 0, 0);
	sreg(g_t, MSR_SIEFP, pa((const void *)g_v[g_t ? 1 : 0].siefp) | 1);
	/* HvCreatePort. */
	expect("synic.err.create.duplicate", create_port(&r, PARTITION_SELF, P_MSG_T, 1, 2, 0, 0), &r,
	       ST_BAD_PORT, 0, NULL, 0, 0);
	expect("synic.err.create.partition", create_port(&r, 5, P_TMP, 1, 2, 0, 0), &r, ST_BAD_PARTITION,
	       0, NULL, 0, 0);
	expect("synic.err.create.id_high_bits", create_port(&r, PARTITION_SELF, P_TMP | 0x80000000u, 1, 2,
							   0, 0), &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	expect("synic.err.create.port_vtl1", create_port(&r, PARTITION_SELF, P_TMP | (1ull << 32), 1, 2,
							 0, 0), &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	expect("synic.err.create.monitor_type", create_port(&r, PARTITION_SELF, P_TMP, 3, 2, 0, 0), &r,
	       ST_BAD_PARAM, 0, NULL, 0, 0);
	expect("synic.err.create.type_zero", create_port(&r, PARTITION_SELF, P_TMP, 0, 2, 0, 0), &r,
	       ST_BAD_PARAM, 0, NULL, 0, 0);
	expect("synic.err.create.sint16", create_port(&r, PARTITION_SELF, P_TMP, 1, 16, 0, 0), &r,
	       ST_BAD_PARAM, 0, NULL, 0, 0);
	expect("synic.err.create.vp_count", create_port(&r, PARTITION_SELF, P_TMP, 1, 2, nvp, 0), &r,
	       ST_BAD_VP, 0, NULL, 0, 0);
	expect("synic.err.create.msg_reserved", create_port(&r, PARTITION_SELF, P_TMP, 1, 2, 0, 1), &r,
	       ST_BAD_PARAM, 0, NULL, 0, 0);
	expect("synic.err.create.event_count0", create_port(&r, PARTITION_SELF, P_TMP, 2, 2, 0, 5), &r,
	       ST_BAD_PARAM, 0, NULL, 0, 0);
	expect("synic.err.create.event_beyond_2048",
	       create_port(&r, PARTITION_SELF, P_TMP, 2, 2, 0, 2000 | (49ull << 16)), &r, ST_BAD_PARAM, 0,
	       NULL, 0, 0);
	expect("synic.err.create.fast", call_words(&r, CALL_CREATE_PORT, (uint64_t[]){ PARTITION_SELF,
		P_TMP }, 2, 1), &r, ST_BAD_INPUT, 0, NULL, 0, 0);
	/* HvConnectPort. */
	expect("synic.err.connect.unknown_port", connect(&r, CONN(P_TMP), P_TMP, 1, 0), &r, ST_BAD_PORT,
	       0, NULL, 0, 0);
	expect("synic.err.connect.duplicate", connect(&r, CONN(P_MSG_T), P_EVT_T, 2, 0), &r, ST_BAD_CONN,
	       0, NULL, 0, 0);
	expect("synic.err.connect.type_mismatch", connect(&r, CONN(P_TMP), P_EVT_T, 1, 0), &r,
	       ST_BAD_PARAM, 0, NULL, 0, 0);
	expect("synic.err.connect.reserved", connect(&r, CONN(P_TMP), P_EVT_T, 2, 1), &r, ST_BAD_PARAM, 0,
	       NULL, 0, 0);
	expect("synic.err.connect.id_high_bits", connect(&r, CONN(P_TMP) | 0x01000000u, P_EVT_T, 2, 0),
	       &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	/* HvDeletePort, HvDisconnectPort. */
	expect("synic.err.delete.unknown", call_words(&r, CALL_DELETE_PORT,
		(uint64_t[]){ PARTITION_SELF, P_TMP }, 2, 1), &r, ST_BAD_PORT, 0, NULL, 0, 0);
	expect("synic.err.disconnect.unknown", call_words(&r, CALL_DISCONNECT,
		(uint64_t[]){ PARTITION_SELF, CONN(P_TMP) }, 2, 1), &r, ST_BAD_CONN, 0, NULL, 0, 0);
	expect("synic.err.delete.reserved", call_words(&r, CALL_DELETE_PORT,
		(uint64_t[]){ PARTITION_SELF, P_MSG_T | (1ull << 32) }, 2, 0), &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	/* A deleted port's connection: INVALID_PORT_ID; after disconnect:
	 * INVALID_CONNECTION_ID. */
	port_ok("tmp", P_TMP, 1, S_MSG, g_t, 0);
	expect("synic.port.delete_fast", call_words(&r, CALL_DELETE_PORT,
		(uint64_t[]){ PARTITION_SELF, P_TMP }, 2, 1), &r, ST_OK, 0, NULL, 0, 0);
	expect("synic.err.post.port_deleted", post(&r, CONN(P_TMP), 1, 8, 0), &r, ST_BAD_PORT, 0, NULL,
	       0, 0);
	expect("synic.port.disconnect_slow", call_words(&r, CALL_DISCONNECT,
		(uint64_t[]){ PARTITION_SELF, CONN(P_TMP) }, 2, 0), &r, ST_OK, 0, NULL, 0, 0);
	expect("synic.err.post.disconnected", post(&r, CONN(P_TMP), 1, 8, 0), &r, ST_BAD_CONN, 0, NULL,
	       0, 0);
}

/* The SynIC of vp: pages, SCONTROL, the SINTs of this file. */
static int synic_on(unsigned int vp)
{
	struct synic_vp *v = &g_v[vp == 0 ? 0 : 1];
	int ok = sreg(vp, MSR_SIMP, pa((const void *)v->simp) | 1) &&
		 sreg(vp, MSR_SIEFP, pa((const void *)v->siefp) | 1) && sreg(vp, MSR_SCONTROL, 1);
	ok &= sreg(vp, MSR_SINT0 + S_MSG, vec_of[K_MSG]);
	ok &= sreg(vp, MSR_SINT0 + S_EVT, vec_of[K_EVT]);
	ok &= sreg(vp, MSR_SINT0 + S_AEOI, vec_of[K_AEOI] | SINT_AEOI);
	ok &= sreg(vp, MSR_SINT0 + S_LOW, vec_of[K_LOW]);
	ok &= sreg(vp, MSR_SINT0 + S_POLL, vec_of[K_POLL] | SINT_POLL);
	ok &= sreg(vp, MSR_SINT0 + S_MASK, vec_of[K_MASK] | SINT_MASKED);
	return ok;
}

static void synic_off(unsigned int vp)
{
	for (uint32_t s = 0; s < 16; s++)
		sreg(vp, MSR_SINT0 + s, SINT_MASKED);
	sreg(vp, MSR_SCONTROL, 0);
	sreg(vp, MSR_SIMP, 0);
	sreg(vp, MSR_SIEFP, 0);
}

static struct idt_gate g_idt[256] __attribute__((aligned(16)));

void checks_synic(void)
{
	if (!g_hc.page_ok) {
		check("synic.calls", 0, "skipped: the hypercall page is not in place");
		return;
	}
	if (!check("synic.advertised", (g_hc.priv & PRIV_SYNIC) && (g_hc.priv & PRIV_PORTS) == PRIV_PORTS &&
				       (g_hc.priv & PRIV_VP_REGS),
		   "AccessSynicRegs, the port/message/event privileges and AccessVpRegisters needed: "
		   "0x%lx", (unsigned long)g_hc.priv))
		return;
	EFI_PHYSICAL_ADDRESS mem = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiBootServicesData, 6,
					&mem))) {
		check("synic.pages", 0, "AllocatePages failed");
		return;
	}
	uint8_t *m = (uint8_t *)(uintptr_t)mem;
	g_x = m, g_y = m + PAGE;
	for (unsigned int i = 0; i < 2; i++) {
		g_v[i].simp = (volatile struct hv_msg *)(m + (2 + 2 * i) * PAGE);
		g_v[i].siefp = m + (3 + 2 * i) * PAGE;
	}
	uint64_t t_start = rdtsc();
	msr_checks();
	overlay_one("simp", MSR_SIMP);
	overlay_one("siefp", MSR_SIEFP);

	/* The IDT: the firmware's, with this file's vectors. */
	struct idtr fw;
	__asm__ volatile("sidt %0" : "=m"(fw));
	void (*const isr[K_COUNT])(void) = { synic_isr0, synic_isr1, synic_isr2,
					      synic_isr3, synic_isr4, synic_isr5 };
	struct idtr ours = idt_clone(g_idt, K_COUNT, vec_of, isr);
	apw_set_idt(ours.base, ours.limit);
	uint64_t aps = apw_start("synic");
	g_t = aps ? (unsigned int)__builtin_ctzll(aps) : 0;
	unsigned int nvp = 1;
	while (nvp < 64 && ((aps | 1) >> nvp))
		nvp++;
	if (g_t)
		check("synic.ap_handlers_on", apw_cmd(g_t, APW_IPI_ON), "VP%u does not answer", g_t);
	for (unsigned int i = 0; i < 64 * 8; i++)
		synic_count[i] = 0;

	int on = synic_on(0) && (!g_t || synic_on(g_t));
	if (check("synic.setup", on, "a SynIC register write failed")) {
		if (g_t) {
			struct hc_regs r;
			uint64_t v = 0;
			int vec = get_vpreg(&r, g_t, reg_name(MSR_SINT0 + S_AEOI), &v);
			check("synic.vpregs.sint_readback", vec == VEC_NONE && v == (vec_of[K_AEOI] | SINT_AEOI),
			      "HvGetVpRegisters Sint%u of VP%u: RAX 0x%lx value 0x%lx", S_AEOI, g_t,
			      (unsigned long)r.rax, (unsigned long)v);
			vec = set_vpreg(&r, g_t, reg_name(MSR_SVERSION), 2);
			expect("synic.vpregs.sversion_read_only", vec, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
		}
		port_ok("msg_self", P_MSG_SELF, 1, S_MSG, 0, 0);
		port_ok("msg_target", P_MSG_T, 1, S_MSG, g_t, 0);
		port_ok("event_target", P_EVT_T, 2, S_EVT, g_t, EVT_BASE | ((uint64_t)EVT_COUNT << 16));
		port_ok("autoeoi", P_AEOI, 2, S_AEOI, 0, 8ull << 16);
		port_ok("low", P_LOW, 2, S_LOW, 0, 8ull << 16);
		port_ok("poll", P_POLL_T, 2, S_POLL, g_t, 8ull << 16);
		port_ok("mask", P_MASK_T, 2, S_MASK, g_t, 8ull << 16);
		port_ok("mask_msg", P_MASKMSG_T, 1, S_MASK, g_t, 0);
		if (g_t) {
			port_ok("autoeoi_target", P_AEOI_T, 2, S_AEOI, g_t, 8ull << 16);
			port_ok("low_target", P_LOW_T, 2, S_LOW, g_t, 8ull << 16);
		}

		uint64_t flags = irq_save();
		__asm__ volatile("lidt %0; sti" : : "m"(ours) : "memory");
		msg_to("self", 0, P_MSG_SELF);
		if (g_t)
			msg_to("remote", g_t, P_MSG_T);
		busy_and_eom();
		events(g_t ? "remote" : "self", g_t);
		auto_eoi();
		if (g_t)
			auto_eoi_remote(g_t);
		poll_and_mask(g_t);
		bad_inputs(nvp);
		__asm__ volatile("cli; lidt %0" : : "m"(fw) : "memory");
		irq_restore(flags);

		static const uint32_t all[] = { P_MSG_SELF, P_MSG_T, P_EVT_T, P_AEOI, P_LOW,
						P_POLL_T, P_MASK_T, P_MASKMSG_T, P_AEOI_T, P_LOW_T };
		int ok = 1;
		struct hc_regs r;
		for (unsigned int i = 0; i < sizeof(all) / sizeof(all[0]) - (g_t ? 0 : 2); i++) {
			ok &= call_words(&r, CALL_DISCONNECT, (uint64_t[]){ PARTITION_SELF, CONN(all[i]) }, 2,
					 1) == VEC_NONE && (r.rax & 0xffff) == ST_OK;
			ok &= call_words(&r, CALL_DELETE_PORT, (uint64_t[]){ PARTITION_SELF, all[i] }, 2, 0) ==
				      VEC_NONE && (r.rax & 0xffff) == ST_OK;
		}
		check("synic.port.teardown", ok, "a disconnect or delete failed: RAX 0x%lx",
		      (unsigned long)r.rax);
	}
	synic_off(0);
	if (g_t) {
		synic_off(g_t);
		apw_cmd(g_t, APW_IPI_OFF);
	}
	apw_stop("synic");
	check_eq("synic.msr.off_at_end", rdmsr_v(MSR_SCONTROL) | rdmsr_v(MSR_SIMP) | rdmsr_v(MSR_SIEFP), 0);
	uefi_call_wrapper(BS->FreePages, 2, mem, 6);
	ser_printf("  info: synic: the group took %lu ms\n",
		   (unsigned long)((rdtsc() - t_start) / apw_ticks(1)));
}
