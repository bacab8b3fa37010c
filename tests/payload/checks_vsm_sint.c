/*
 * checks_vsm_sint.c - VTL 1's SynIC interrupts preempt VTL 0 (TLFS
 * 15.12.2, 15.11.1; issue 15 item 3), run from checks_vsm.c after the
 * VTL 1 interrupt checks (VTL 1's IDT has the vector VSM_SINT_VEC there).
 *
 * VTL 1 arms its own synthetic timer 0 (per VTL, TLFS 15.11.1: the SynIC
 * and its timers are private) in message mode to its SINT1, unmasked at
 * VSM_SINT_VEC, then in direct mode at the same vector, and returns. VTL 0
 * waits with RFLAGS.IF set and its own IDT gate for that vector (a
 * handler that counts): the expiry must switch the VP to VTL 1 with entry
 * reason Interrupt (2, TLFS 15.8.2) where VTL 1's handler takes the vector
 * (vsm_v1_isr), and VTL 0's handler never runs. The timer message is in
 * VTL 1's SIMP slot 1 (HvMessageTypeTimerExpired), not in VTL 0's. With 2+
 * processors the same on VP 1: its worker runs VTL 0 with interrupts off
 * and is preempted all the same (15.12.2.1).
 */
#include "hcall.h"
#include "px86.h"

#define VSM_SINT_VEC 0xE2u
#define MSR_SCONTROL 0x40000080u
#define MSR_SIMP 0x40000083u
#define MSR_EOM 0x40000084u
#define MSR_SINT1 0x40000091u
#define MSR_STIMER0_CONFIG 0x400000B0u
#define MSR_STIMER0_COUNT 0x400000B1u
#define MSR_TIME_REF 0x40000020u
#define MSG_TIMER_EXPIRED 0x80000010u
#define CFG_ENABLE 1ull
#define CFG_DIRECT (1ull << 12)
#define CFG_SINT1 (1ull << 16)
#define NVPS 4

int vsm_v1_run(const char *name, void (*fn)(void)) HIDDEN;
void vsm_v1_set_fn(void (*fn)(void)) HIDDEN;
void vsm_v1_irq_stats(uint32_t vp, uint32_t *entries, uint64_t *taken, uint32_t *reason) HIDDEN;
void vsm_ap_call_once(unsigned int vp) HIDDEN;
void vsm_sint_checks(uint64_t others) HIDDEN;
extern volatile uint64_t vsm_v0_irqs HIDDEN;
void vsm_v0_isr(void) HIDDEN;

static inline uint64_t rd(uint32_t m)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(m));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wr(uint32_t m, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(m), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static uint8_t *simp_pages; /* VTL 1's SIMP, one page per VP index < NVPS */
static volatile uint64_t timer_cfg;
static volatile uint64_t saved[NVPS][3]; /* VTL 1's SCONTROL, SIMP, SINT1 before */
static volatile uint32_t msg_type[NVPS];
static volatile uint64_t msg_info[NVPS][4]; /* flags, expiration, delivery, ref time at arm */

/* VTL 1: its SynIC on (SIMP on our page), SINT1 at the vector, timer 0 due
 * in 2 ms of reference time (TLFS 12.5). */
static void v1_arm(void)
{
	uint32_t vp = (uint32_t)rd(0x40000002u) % NVPS;
	uint8_t *simp = simp_pages + vp * PAGE;
	saved[vp][0] = rd(MSR_SCONTROL);
	saved[vp][1] = rd(MSR_SIMP);
	saved[vp][2] = rd(MSR_SINT1);
	for (unsigned int i = 0; i < 512; i++)
		simp[i] = 0;
	wr(MSR_SCONTROL, 1);
	wr(MSR_SIMP, pa(simp) | 1);
	wr(MSR_SINT1, VSM_SINT_VEC);
	wr(MSR_STIMER0_CONFIG, timer_cfg);
	msg_info[vp][3] = rd(MSR_TIME_REF);
	wr(MSR_STIMER0_COUNT, msg_info[vp][3] + 20000);
}

/* VTL 1: timer off, the message read and the slot freed (EOM), its
 * SynIC as it was. */
static void v1_disarm(void)
{
	uint32_t vp = (uint32_t)rd(0x40000002u) % NVPS;
	volatile uint32_t *slot1 = (volatile uint32_t *)(simp_pages + vp * PAGE + 256);
	wr(MSR_STIMER0_CONFIG, 0);
	msg_type[vp] = *slot1;
	msg_info[vp][0] = slot1[1];
	msg_info[vp][1] = *(volatile uint64_t *)(slot1 + 6);
	msg_info[vp][2] = *(volatile uint64_t *)(slot1 + 8);
	*slot1 = 0;
	wr(MSR_EOM, 0);
	wr(MSR_SINT1, saved[vp][2]);
	wr(MSR_SIMP, saved[vp][1]);
	wr(MSR_SCONTROL, saved[vp][0]);
}

static void ap_arm(unsigned int vp)
{
	vsm_v1_set_fn(v1_arm);
	vsm_ap_call_once(vp);
}
static void ap_disarm(unsigned int vp)
{
	vsm_v1_set_fn(v1_disarm);
	vsm_ap_call_once(vp);
}

/* VP 1's worker in VTL 0, interrupts off, until VTL 1 was entered for
 * the interrupt: CPUID exits on the way (on SVM a host deadline is
 * noticed only at an exit or a physical interrupt, and the APIC timer is
 * not lent for a VTL 1 vector: docs/vsm.md). */
static volatile uint32_t ap_e0;
static void ap_wait(unsigned int vp)
{
	uint64_t start = rdtsc(), lim = apw_ticks(3000), t;
	uint32_t e, r;
	do {
		uint32_t a = 0, b, c = 0, d;
		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		vsm_v1_irq_stats(vp, &e, &t, &r);
	} while (e == ap_e0 && rdtsc() - start < lim);
}

static void one_vp(uint32_t vp, const char *mode, uint64_t cfg)
{
	char name[80];
	uint32_t e0, e1, r;
	uint64_t t0, t1;
	vsm_v1_irq_stats(vp, &e0, &t0, &r);
	uint64_t v0 = vsm_v0_irqs;
	timer_cfg = cfg;
	msg_type[vp] = 0;
	fmt_name(name, sizeof(name), "vsm.sint.vp%u.%s.arm", vp, mode);
	if (vp == 0 ? !vsm_v1_run(name, v1_arm) : !apw_run(vp, ap_arm)) {
		check(name, 0, "VTL 1 did not come back");
		return;
	}
	/* VTL 0 runs, interrupts on (VP 0; VP 1's worker keeps them off). */
	uint64_t start = rdtsc(), lim = apw_ticks(3000);
	if (vp == 0) {
		__asm__ volatile("sti" ::: "memory");
		do {
			vsm_v1_irq_stats(vp, &e1, &t1, &r);
			__asm__ volatile("pause");
		} while (e1 == e0 && rdtsc() - start < lim);
		__asm__ volatile("cli" ::: "memory");
	} else {
		ap_e0 = e0;
		apw_run(vp, ap_wait);
	}
	vsm_v1_irq_stats(vp, &e1, &t1, &r);
	fmt_name(name, sizeof(name), "vsm.sint.vp%u.%s.preempts_vtl0", vp, mode);
	check(name, e1 == e0 + 1, "%u VTL 1 interrupt entries (want 1)", e1 - e0);
	fmt_name(name, sizeof(name), "vsm.sint.vp%u.%s.vtl1_took_vector", vp, mode);
	check_eq(name, t1 - t0, 1);
	if (vp == 0) { /* v1_reason is the BSP's last entry */
		fmt_name(name, sizeof(name), "vsm.sint.vp%u.%s.entry_reason", vp, mode);
		check_eq(name, r, 2);
	}
	fmt_name(name, sizeof(name), "vsm.sint.vp%u.%s.vtl0_handler_not_run", vp, mode);
	check_eq(name, vsm_v0_irqs - v0, 0);
	fmt_name(name, sizeof(name), "vsm.sint.vp%u.%s.disarm", vp, mode);
	if (vp == 0 ? !vsm_v1_run(name, v1_disarm) : !apw_run(vp, ap_disarm)) {
		check(name, 0, "VTL 1 did not come back");
		return;
	}
	ser_printf("  info: vsm.sint.vp%u.%s: armed at %lu, slot flags 0x%lx, expiration %lu, delivery %lu\n",
		   vp, mode, (unsigned long)msg_info[vp][3], (unsigned long)msg_info[vp][0],
		   (unsigned long)msg_info[vp][1], (unsigned long)msg_info[vp][2]);
	fmt_name(name, sizeof(name), "vsm.sint.vp%u.%s.vtl1_message", vp, mode);
	check_eq(name, msg_type[vp], (cfg & CFG_DIRECT) ? 0 : MSG_TIMER_EXPIRED);
}

void vsm_sint_checks(uint64_t others)
{
	static struct idt_gate idt[256] __attribute__((aligned(16)));
	EFI_PHYSICAL_ADDRESS mem = 0;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiBootServicesData, NVPS,
					&mem))) {
		check("vsm.sint.setup", 0, "AllocatePages failed");
		return;
	}
	simp_pages = (uint8_t *)(uintptr_t)mem;
	/* VTL 0's own gate for the vector: its handler counts (never, we
	 * check). The firmware's gates stay for everything else. */
	const uint8_t vec = VSM_SINT_VEC;
	void (*const isr[1])(void) = { vsm_v0_isr };
	struct idtr old, mine = idt_clone(idt, 1, &vec, isr);
	__asm__ volatile("sidt %0" : "=m"(old));
	__asm__ volatile("lidt %0" : : "m"(mine));
	one_vp(0, "msg", CFG_ENABLE | CFG_SINT1);
	one_vp(0, "direct", CFG_ENABLE | CFG_DIRECT | ((uint64_t)VSM_SINT_VEC << 4));
	__asm__ volatile("lidt %0" : : "m"(old));
	/* VP 1: its worker idles in VTL 0 with interrupts off (TLFS 15.12.2.1:
	 * the VTL 1 interrupt preempts it all the same). */
	if (others & 2)
		one_vp(1, "msg", CFG_ENABLE | CFG_SINT1);
	uefi_call_wrapper(BS->FreePages, 2, mem, NVPS);
}
