/* test_synic.c - the SynIC (synic/synic.c, synic/deliver.c; TLFS 11): the
 * MSRs through the MSR exit path, message slots, event flags, masking,
 * polling, AutoEOI injection against the PPR, EOM handlers. */
#include "htest.h"
#include "fakes.h"
#include "synic_ctx.h"
#include "tlfs.h"
#include <string.h>

#define NVP 2
static struct partition part;
static struct vp vps[NVP];
static struct fake_be_state bes[NVP];
static struct synic_ctx sctx[NVP];
static u8 simp[NVP][4096] __attribute__((aligned(4096)));
static u8 siefp[NVP][4096] __attribute__((aligned(4096)));

static void setup(void)
{
	fake_smp_partition(&part, vps, bes, NVP);
	memset(simp, 0, sizeof(simp));
	memset(siefp, 0, sizeof(siefp));
	for (int i = 0; i < NVP; i++)
		CHECK_EQ(synic_ctx_setup(&vps[i], 0, &sctx[i], simp[i], siefp[i]), 0);
	memset(fake_apic, 0, sizeof(fake_apic));
	fake_msr_reset(); /* xAPIC mode */
	fake_icr_count = 0;
}

static int wr(struct vp *vp, u32 msr, u64 v)
{
	struct hv_exit e = { .reason = HV_EXIT_MSR_WRITE };
	e.u.msr.index = msr;
	e.u.msr.value = v;
	((struct fake_be_state *)vp->be)->injected_vector = -1;
	return hv_handle_msr_write(vp, &e) == HV_ACT_INJECTED
		       ? ((struct fake_be_state *)vp->be)->injected_vector
		       : 0;
}

static int rd(struct vp *vp, u32 msr, u64 *v)
{
	struct hv_exit e = { .reason = HV_EXIT_MSR_READ };
	e.u.msr.index = msr;
	((struct fake_be_state *)vp->be)->injected_vector = -1;
	if (hv_handle_msr_read(vp, &e) == HV_ACT_INJECTED)
		return ((struct fake_be_state *)vp->be)->injected_vector;
	*v = (vp->gpr[GPR_RDX] << 32) | (u32)vp->gpr[GPR_RAX];
	return 0;
}

/* SCONTROL on, SIMP and SIEFP at GPAs, SINT sint = val. */
static void enable(struct vp *vp, u32 sint, u64 val)
{
	CHECK_EQ(wr(vp, HV_X64_MSR_SCONTROL, 1), 0);
	CHECK_EQ(wr(vp, HV_X64_MSR_SIMP, 0x50000 | 1), 0);
	CHECK_EQ(wr(vp, HV_X64_MSR_SIEFP, 0x51000 | 1), 0);
	CHECK_EQ(wr(vp, HV_X64_MSR_SINT0 + sint, val), 0);
}

static struct hv_message mk(u32 type, u8 size, u64 first)
{
	struct hv_message m;
	memset(&m, 0, sizeof(m));
	m.h.type = type;
	m.h.payload_size = size;
	m.h.origin = 0x77;
	m.payload[0] = first;
	m.payload[29] = 0xdead;
	return m;
}

TEST(synic_msr_reset_values_and_rules)
{
	setup();
	struct vp *vp = &vps[0];
	u64 v = 1;
	CHECK_EQ(part.privileges & HV_ACCESS_SYNIC_REGS, HV_ACCESS_SYNIC_REGS);
	CHECK_EQ(rd(vp, HV_X64_MSR_SCONTROL, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(rd(vp, HV_X64_MSR_SVERSION, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(rd(vp, HV_X64_MSR_SIEFP, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(rd(vp, HV_X64_MSR_SIMP, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(rd(vp, HV_X64_MSR_EOM, &v), 0);
	CHECK_EQ(v, 0);
	for (u32 i = 0; i < 16; i++) {
		CHECK_EQ(rd(vp, HV_X64_MSR_SINT0 + i, &v), 0);
		CHECK_EQ(v, HV_SINT_MASKED);
	}
	/* SVERSION is read-only; a SINT's vector 0-15 unmasked is #GP;
	 * masked it is the reset value written back. */
	CHECK_EQ(wr(vp, HV_X64_MSR_SVERSION, 1), 13);
	CHECK_EQ(wr(vp, HV_X64_MSR_SINT0 + 3, 0x0f), 13);
	CHECK_EQ(wr(vp, HV_X64_MSR_SINT0 + 3, HV_SINT_POLLING | 0x0f), 13);
	CHECK_EQ(wr(vp, HV_X64_MSR_SINT0 + 3, HV_SINT_MASKED), 0);
	CHECK_EQ(wr(vp, HV_X64_MSR_SINT0 + 3, 0x10), 0);
	/* RsvdP bits are kept. */
	CHECK_EQ(wr(vp, HV_X64_MSR_SINT0 + 5, 0xffffffffffff0000ull | 0xab00 | 0x40), 0);
	CHECK_EQ(rd(vp, HV_X64_MSR_SINT0 + 5, &v), 0);
	CHECK_EQ(v, 0xffffffffffffab40ull);
	CHECK_EQ(wr(vp, HV_X64_MSR_SCONTROL, 0xf0f1), 0);
	CHECK_EQ(rd(vp, HV_X64_MSR_SCONTROL, &v), 0);
	CHECK_EQ(v, 0xf0f1);
	CHECK_EQ(wr(vp, HV_X64_MSR_EOM, 0), 0);
	/* Between EOM and SINT0, and after SINT15: not implemented. */
	CHECK_EQ(rd(vp, 0x40000085, &v), 13);
	CHECK_EQ(rd(vp, 0x400000A0, &v), 13);
	/* Per VP: VP 1 still at reset. */
	CHECK_EQ(rd(&vps[1], HV_X64_MSR_SCONTROL, &v), 0);
	CHECK_EQ(v, 0);
}

TEST(synic_simp_siefp_overlays)
{
	setup();
	struct vp *vp = &vps[0];
	u64 v;
	CHECK_EQ(wr(vp, HV_X64_MSR_SIMP, 0x50000 | 0xffe | 1), 0);
	CHECK_EQ(rd(vp, HV_X64_MSR_SIMP, &v), 0);
	CHECK_EQ(v, 0x50fff);
	CHECK_EQ(bes[0].last_set_gpa, 0x50000);
	CHECK_EQ(bes[0].last_set_hpa, (u64)(uintptr_t)simp[0]);
	CHECK(gmem_overlay_at(&part, 0x50000) == &sctx[0].simp_page);
	/* Moved: the old page is uncovered. */
	CHECK_EQ(wr(vp, HV_X64_MSR_SIMP, 0x52000 | 1), 0);
	CHECK(gmem_overlay_at(&part, 0x50000) == NULL);
	CHECK(gmem_overlay_at(&part, 0x52000) == &sctx[0].simp_page);
	CHECK_EQ(wr(vp, HV_X64_MSR_SIMP, 0x52000), 0);
	CHECK(gmem_overlay_at(&part, 0x52000) == NULL);
	CHECK_EQ(wr(vp, HV_X64_MSR_SIEFP, 0x53000 | 1), 0);
	CHECK(gmem_overlay_at(&part, 0x53000) == &sctx[0].siefp_page);
	CHECK_EQ(bes[0].last_set_hpa, (u64)(uintptr_t)siefp[0]);
	/* Beyond the GPA space (36 bits): accepted, not mapped. */
	CHECK_EQ(wr(vp, HV_X64_MSR_SIEFP, (1ull << 40) | 1), 0);
	CHECK(gmem_overlay_at(&part, 0x53000) == NULL);
}

TEST(synic_post_message_slot_rules)
{
	setup();
	struct vp *vp = &vps[1];
	struct hv_message m = mk(0x42, 16, 0x1122);
	/* SynIC off, then SIMP off: INVALID_SYNIC_STATE, nothing written. */
	CHECK_EQ(synic_post_message(vp, 0, 2, &m), HV_STATUS_INVALID_SYNIC_STATE);
	CHECK_EQ(wr(vp, HV_X64_MSR_SCONTROL, 1), 0);
	CHECK_EQ(synic_post_message(vp, 0, 2, &m), HV_STATUS_INVALID_SYNIC_STATE);
	CHECK_EQ(fake_icr_count, 0);
	enable(vp, 2, 0x61);
	CHECK_EQ(synic_post_message(vp, 0, 2, &m), HV_STATUS_SUCCESS);
	const struct hv_message *slot = (const struct hv_message *)simp[1] + 2;
	CHECK_EQ(slot->h.type, 0x42);
	CHECK_EQ(slot->h.payload_size, 16);
	CHECK_EQ(slot->h.flags, 0);
	CHECK_EQ(slot->h.origin, 0x77);
	CHECK_EQ(slot->payload[0], 0x1122);
	CHECK_EQ(slot->payload[29], 0); /* only the payload's bytes */
	/* Raised through the APIC: fixed, physical, VP 1's APIC ID. */
	CHECK_EQ(fake_icr_count, 1);
	CHECK_EQ(fake_icr_writes[0], ((u64)(11u << 24) << 32) | 0x61);
	/* Busy: MessagePending set, no interrupt, INSUFFICIENT_BUFFERS. */
	struct hv_message m2 = mk(0x43, 8, 0x3344);
	CHECK_EQ(synic_post_message(vp, 0, 2, &m2), HV_STATUS_INSUFFICIENT_BUFFERS);
	CHECK_EQ(slot->h.type, 0x42);
	CHECK_EQ(slot->h.flags, HV_MESSAGE_FLAG_PENDING);
	CHECK_EQ(fake_icr_count, 1);
	/* The guest empties the slot: the next post lands, flag clear. */
	((struct hv_message *)simp[1] + 2)->h.type = 0;
	CHECK_EQ(synic_post_message(vp, 0, 2, &m2), HV_STATUS_SUCCESS);
	CHECK_EQ(slot->h.type, 0x43);
	CHECK_EQ(slot->h.flags, 0);
	CHECK_EQ(fake_icr_count, 2);
	/* Masked and polling SINTs get the message without an interrupt
	 * (TLFS 11.4, 11.8.5). */
	CHECK_EQ(wr(vp, HV_X64_MSR_SINT0 + 4, HV_SINT_MASKED | 0x62), 0);
	CHECK_EQ(synic_post_message(vp, 0, 4, &m), HV_STATUS_SUCCESS);
	CHECK_EQ(wr(vp, HV_X64_MSR_SINT0 + 5, HV_SINT_POLLING | 0x63), 0);
	CHECK_EQ(synic_post_message(vp, 0, 5, &m), HV_STATUS_SUCCESS);
	CHECK_EQ(((const struct hv_message *)simp[1] + 5)->h.type, 0x42);
	CHECK_EQ(fake_icr_count, 2);
	/* Bad arguments. */
	struct hv_message bad = mk(0, 8, 0);
	CHECK_EQ(synic_post_message(vp, 0, 6, &bad), HV_STATUS_INVALID_PARAMETER);
	bad = mk(1, 241, 0);
	CHECK_EQ(synic_post_message(vp, 0, 6, &bad), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(synic_post_message(vp, 0, 16, &m), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(synic_post_message(vp, 1, 2, &m), HV_STATUS_INVALID_SYNIC_STATE); /* no VTL 1 */
	CHECK(synic_simp_enabled(vp, 0));
	CHECK_EQ(synic_sint(vp, 0, 2), 0x61);
	CHECK_EQ(synic_sint(vp, 0, 16), HV_SINT_MASKED);
	CHECK_EQ(synic_sint(vp, 2, 0), HV_SINT_MASKED);
}

TEST(synic_signal_event_flags)
{
	setup();
	struct vp *vp = &vps[1];
	bool was = true;
	CHECK_EQ(synic_signal_event(vp, 0, 3, 5, &was), HV_STATUS_INVALID_SYNIC_STATE);
	enable(vp, 3, 0x71);
	CHECK_EQ(synic_signal_event(vp, 0, 3, 2047, &was), HV_STATUS_SUCCESS);
	CHECK(!was);
	CHECK_EQ(siefp[1][3 * 256 + 255], 0x80);
	CHECK_EQ(fake_icr_count, 1);
	CHECK_EQ(fake_icr_writes[0] & 0xff, 0x71);
	/* Already set: no second interrupt. */
	CHECK_EQ(synic_signal_event(vp, 0, 3, 2047, &was), HV_STATUS_SUCCESS);
	CHECK(was);
	CHECK_EQ(fake_icr_count, 1);
	CHECK_EQ(synic_signal_event(vp, 0, 3, 9, NULL), HV_STATUS_SUCCESS);
	CHECK_EQ(siefp[1][3 * 256 + 1], 0x02);
	CHECK_EQ(fake_icr_count, 2);
	CHECK_EQ(synic_signal_event(vp, 0, 3, 2048, NULL), HV_STATUS_INVALID_PARAMETER);
	/* Masked: INVALID_SYNIC_STATE, flag untouched (TLFS 11.5.1). */
	CHECK_EQ(wr(vp, HV_X64_MSR_SINT0 + 3, HV_SINT_MASKED | 0x71), 0);
	CHECK_EQ(synic_signal_event(vp, 0, 3, 10, NULL), HV_STATUS_INVALID_SYNIC_STATE);
	CHECK_EQ(siefp[1][3 * 256 + 1], 0x02);
	/* SIEFP off. */
	CHECK_EQ(wr(vp, HV_X64_MSR_SINT0 + 3, 0x71), 0);
	CHECK_EQ(wr(vp, HV_X64_MSR_SIEFP, 0), 0);
	CHECK_EQ(synic_signal_event(vp, 0, 3, 10, NULL), HV_STATUS_INVALID_SYNIC_STATE);
}

TEST(synic_auto_eoi_injection)
{
	setup();
	struct vp *vp = &vps[0];
	bes[0].irq_vector = -1;
	/* Raised on its own processor: before-entry work, no APIC. */
	synic_raise_vector(vp, 0x52, true);
	CHECK_EQ(fake_icr_count, 0);
	CHECK(vp->entry_work != 0);
	/* The PPR's class 5 blocks vector 0x52: it waits. */
	fake_apic[0xa0 / 4] = 0x50;
	registry_entry_work(vp);
	CHECK_EQ(bes[0].irq_vector, -1);
	CHECK(vp->entry_work != 0); /* looks again at the next entry */
	/* x2APIC: the EOI and TPR writes exit while it waits. */
	fake_msr_set(MSR_IA32_APIC_BASE, BIT(10) | BIT(11));
	registry_entry_work(vp);
	CHECK(bes[0].msr_icpt_count >= 2);
	CHECK_EQ(bes[0].msr_icpt[0].index, 0x80b);
	CHECK(bes[0].msr_icpt[0].on);
	fake_apic[0xa0 / 4] = 0x40;
	registry_entry_work(vp);
	CHECK_EQ(bes[0].irq_vector, 0x52);
	CHECK_EQ(sctx[0].aeoi_pending[1], 0);
	/* Intercepts dropped once nothing waits. */
	CHECK(!bes[0].msr_icpt[bes[0].msr_icpt_count - 1].on);
	/* Two at once: the higher first, the other asks for a window. */
	synic_raise_vector(vp, 0x60, true);
	synic_raise_vector(vp, 0x90, true);
	registry_entry_work(vp);
	/* 0x90 went in; the call for 0x60 only asks for a window (a real
	 * backend answers 1 with an event queued). */
	CHECK_EQ(bes[0].irq_vector, 0x60);
	CHECK_EQ(sctx[0].aeoi_pending[2], 0);
	CHECK_EQ(sctx[0].aeoi_pending[1], 1ull << 0x20);
	/* The window opens: 0x60 goes in. */
	struct hv_exit e = { .reason = HV_EXIT_INTR_WINDOW };
	dispatch_table_init();
	dispatch_exit(vp, &e);
	registry_entry_work(vp);
	CHECK_EQ(bes[0].irq_vector, 0x60);
	CHECK_EQ(sctx[0].aeoi_pending[1], 0);
	/* A window requested: the vector stays until injected. */
	bes[0].irq_window = true;
	synic_raise_vector(vp, 0x70, true);
	registry_entry_work(vp);
	CHECK_EQ(sctx[0].aeoi_pending[1], 1ull << 0x30);
	CHECK_EQ(vp->entry_work, 0); /* nothing until the window opens */
	bes[0].irq_window = false;
	dispatch_exit(vp, &e);
	registry_entry_work(vp);
	CHECK_EQ(bes[0].irq_vector, 0x70);
	CHECK_EQ(sctx[0].aeoi_pending[1], 0);
	/* Without AutoEOI: the fixed IPI through the APIC. */
	synic_raise_vector(&vps[1], 0x55, false);
	CHECK_EQ(fake_icr_count, 1);
	CHECK_EQ(fake_icr_writes[0], (11ull << 32) | 0x55); /* x2APIC now */
}

static int eom_calls;
static u8 eom_vtl;
static void eom_fn(struct vp *vp, u8 vtl)
{
	eom_calls++;
	eom_vtl = vtl;
}

TEST(synic_eom_handlers)
{
	setup();
	eom_calls = 0;
	CHECK_EQ(synic_add_eom_handler(eom_fn), 0);
	CHECK_EQ(synic_add_eom_handler(eom_fn), 0); /* once */
	CHECK_EQ(synic_add_eom_handler(NULL), -1);
	CHECK_EQ(wr(&vps[1], HV_X64_MSR_EOM, 0), 0);
	CHECK_EQ(eom_calls, 0); /* not under the partition lock */
	registry_entry_work(&vps[1]);
	CHECK_EQ(eom_calls, 1);
	CHECK_EQ(eom_vtl, 0);
	registry_entry_work(&vps[1]);
	CHECK_EQ(eom_calls, 1);
	CHECK_EQ(sctx[1].eoms, 1);
}

/* ---- ports, connections and the calls (synic/port.c, TLFS 11.11) ---- */
static u8 hc_page[4096] __attribute__((aligned(4096)));
static const struct mem_range ranges[] = { { FAKE_RAM_BASE, FAKE_RAM_SIZE, MEM_RAM, 0 } };
#define IN_GPA FAKE_RAM_BASE
#define IN ((u64 *)fake_ram)

static u16 hcall(struct vp *vp, u64 input)
{
	vp->gpr[GPR_RCX] = input;
	vp->gpr[GPR_RDX] = IN_GPA;
	vp->gpr[GPR_R8] = 0;
	hv_handle_hypercall(vp, NULL);
	return (u16)vp->gpr[GPR_RAX];
}

static u16 create(u32 id, u32 type, u32 sint, u32 vp, u64 w5)
{
	memset(fake_ram, 0, 64);
	IN[0] = HV_PARTITION_ID_SELF, IN[1] = id, IN[3] = type, IN[4] = sint | ((u64)vp << 32), IN[5] = w5;
	return hcall(&vps[0], HVCALL_CREATE_PORT);
}

static u16 conn(u32 id, u32 port, u32 type)
{
	memset(fake_ram, 0, 72);
	IN[0] = HV_PARTITION_ID_SELF, IN[1] = id, IN[2] = HV_PARTITION_ID_SELF, IN[3] = port, IN[4] = type;
	return hcall(&vps[0], HVCALL_CONNECT_PORT);
}

static u16 post(u32 c, u32 type, u32 size, u64 first)
{
	memset(fake_ram, 0, 256);
	IN[0] = c, IN[1] = type | ((u64)size << 32), IN[2] = first;
	return hcall(&vps[0], HVCALL_POST_MESSAGE);
}

static u16 sig(u32 c, u32 flag)
{
	IN[0] = c | ((u64)flag << 32);
	return hcall(&vps[0], HVCALL_SIGNAL_EVENT);
}

static void port_setup(void)
{
	setup();
	part.ranges = ranges;
	part.range_count = 1;
	fake_enable_hypercalls(&part, hc_page, FAKE_RAM_BASE + 0x8000);
	CHECK_EQ(synic_port_setup(&part), 0);
	enable(&vps[1], 2, 0x61);
	CHECK_EQ(wr(&vps[1], HV_X64_MSR_SINT0 + 3, 0x62), 0);
	fake_icr_count = 0;
}

TEST(synic_port_post_queue_and_eom)
{
	port_setup();
	CHECK_EQ(create(0x10, 1, 2, 1, 0), 0);
	CHECK_EQ(conn(0x20, 0x10, 1), 0);
	CHECK_EQ(post(0x20, 0x55, 8, 0xabc), 0);
	const struct hv_message *slot = (const struct hv_message *)simp[1] + 2;
	CHECK_EQ(slot->h.type, 0x55);
	CHECK_EQ(slot->h.origin, 0x10); /* the port ID (11.10.4) */
	CHECK_EQ(slot->payload[0], 0xabc);
	CHECK_EQ(fake_icr_count, 1);
	/* Busy: 16 buffers queue (11.3.1), then INSUFFICIENT_BUFFERS. */
	for (u32 i = 1; i <= 16; i++)
		CHECK_EQ(post(0x20, 0x55 + i, 8, i), 0);
	CHECK_EQ(post(0x20, 0x99, 8, 0), HV_STATUS_INSUFFICIENT_BUFFERS);
	CHECK_EQ(slot->h.flags, HV_MESSAGE_FLAG_PENDING);
	CHECK_EQ(fake_icr_count, 1);
	/* Empty + EOM: the next, in order; an EOM on another VP does nothing. */
	((struct hv_message *)simp[1] + 2)->h.type = 0;
	CHECK_EQ(wr(&vps[0], HV_X64_MSR_EOM, 0), 0);
	registry_entry_work(&vps[0]);
	CHECK_EQ(slot->h.type, 0);
	for (u32 i = 1; i <= 16; i++) {
		((struct hv_message *)simp[1] + 2)->h.type = 0;
		CHECK_EQ(wr(&vps[1], HV_X64_MSR_EOM, 0), 0);
		registry_entry_work(&vps[1]);
		CHECK_EQ(slot->h.type, 0x55 + i);
		CHECK_EQ(slot->payload[0], i);
		CHECK_EQ(slot->h.flags, i < 16 ? HV_MESSAGE_FLAG_PENDING : 0);
	}
	CHECK_EQ(fake_icr_count, 17);
	/* A slot emptied without EOM: the next post goes straight in. */
	((struct hv_message *)simp[1] + 2)->h.type = 0;
	CHECK_EQ(post(0x20, 0x77, 0, 0), 0);
	CHECK_EQ(slot->h.type, 0x77);
	/* Deleting the port frees its queued buffers (11.3.6). */
	CHECK_EQ(post(0x20, 0x78, 0, 0), 0);
	IN[0] = HV_PARTITION_ID_SELF, IN[1] = 0x10;
	CHECK_EQ(hcall(&vps[0], HVCALL_DELETE_PORT), 0);
	CHECK_EQ(post(0x20, 0x79, 0, 0), HV_STATUS_INVALID_PORT_ID);
	((struct hv_message *)simp[1] + 2)->h.type = 0;
	CHECK_EQ(wr(&vps[1], HV_X64_MSR_EOM, 0), 0);
	registry_entry_work(&vps[1]);
	CHECK_EQ(slot->h.type, 0);
	IN[0] = HV_PARTITION_ID_SELF, IN[1] = 0x20;
	CHECK_EQ(hcall(&vps[0], HVCALL_DISCONNECT_PORT), 0);
	CHECK_EQ(post(0x20, 0x79, 0, 0), HV_STATUS_INVALID_CONNECTION_ID);
}

TEST(synic_port_statuses)
{
	port_setup();
	CHECK_EQ(create(0x10, 1, 2, 1, 0), 0);
	CHECK_EQ(create(0x11, 2, 3, 1, 8 | (16ull << 16)), 0);
	CHECK_EQ(conn(0x20, 0x10, 1), 0);
	CHECK_EQ(conn(0x21, 0x11, 2), 0);
	/* HvCreatePort. */
	CHECK_EQ(create(0x10, 1, 2, 1, 0), HV_STATUS_INVALID_PORT_ID);
	CHECK_EQ(create(0x1000000, 1, 2, 1, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(create(0x12, 3, 2, 1, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(create(0x12, 1, 16, 1, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(create(0x12, 1, 2, 2, 0), HV_STATUS_INVALID_VP_INDEX);
	CHECK_EQ(create(0x12, 1, 2, HV_VP_INDEX_SELF, 0), HV_STATUS_INVALID_VP_INDEX);
	CHECK_EQ(create(0x12, 2, 2, 1, 2040 | (9ull << 16)), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(create(0x12, 2, 2, 1, 2040 | (8ull << 16)), 0);
	memset(fake_ram, 0, 64);
	IN[0] = 7, IN[1] = 0x13, IN[3] = 1, IN[4] = 2ull | (1ull << 32);
	CHECK_EQ(hcall(&vps[0], HVCALL_CREATE_PORT), HV_STATUS_INVALID_PARTITION_ID);
	/* HvConnectPort. */
	CHECK_EQ(conn(0x20, 0x11, 2), HV_STATUS_INVALID_CONNECTION_ID);
	CHECK_EQ(conn(0x22, 0x99, 1), HV_STATUS_INVALID_PORT_ID);
	CHECK_EQ(conn(0x22, 0x11, 1), HV_STATUS_INVALID_PARAMETER);
	/* HvPostMessage (11.11.1). */
	CHECK_EQ(post(0x99, 1, 8, 0), HV_STATUS_INVALID_CONNECTION_ID);
	CHECK_EQ(post(0x21, 1, 8, 0), HV_STATUS_INVALID_PORT_ID);
	CHECK_EQ(post(0x20, 0, 8, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(post(0x20, 0x80000000u, 8, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(post(0x20, 1, 241, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(post(0x20, 1, 240, 0), 0);
	/* HvSignalEvent (11.11.2): flag base 8 + 3 = 11 of SINT 3. */
	CHECK_EQ(sig(0x21, 3), 0);
	CHECK_EQ(siefp[1][3 * 256 + 1], 0x08);
	CHECK_EQ(sig(0x21, 16), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(sig(0x21, 1 | (1u << 16)), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(sig(0x20, 0), HV_STATUS_INVALID_PORT_ID);
	CHECK_EQ(sig(0x99, 0), HV_STATUS_INVALID_CONNECTION_ID);
	CHECK_EQ(wr(&vps[1], HV_X64_MSR_SINT0 + 3, HV_SINT_MASKED | 0x62), 0);
	CHECK_EQ(sig(0x21, 4), HV_STATUS_INVALID_SYNIC_STATE);
	CHECK_EQ(wr(&vps[1], HV_X64_MSR_SCONTROL, 0), 0);
	((struct hv_message *)simp[1] + 2)->h.type = 0;
	CHECK_EQ(post(0x20, 1, 8, 0), HV_STATUS_INVALID_SYNIC_STATE);
	/* Without the privileges: ACCESS_DENIED before anything else. */
	u64 priv = part.privileges;
	part.privileges &= ~(HV_POST_MESSAGES | HV_SIGNAL_EVENTS | HV_CREATE_PORT | HV_CONNECT_PORT);
	CHECK_EQ(post(0x99, 0, 999, 0), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(sig(0x99, 0), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(create(0x30, 1, 2, 1, 0), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(conn(0x30, 0x10, 1), HV_STATUS_ACCESS_DENIED);
	part.privileges = priv;
	/* HvSignalEvent is a fast call too; HvPostMessage is not. */
	vps[0].gpr[GPR_RCX] = HVCALL_SIGNAL_EVENT | HV_HC_FAST;
	vps[0].gpr[GPR_RDX] = 0x21 | (5ull << 32);
	CHECK_EQ(wr(&vps[1], HV_X64_MSR_SCONTROL, 1), 0);
	CHECK_EQ(wr(&vps[1], HV_X64_MSR_SINT0 + 3, 0x62), 0);
	hv_handle_hypercall(&vps[0], NULL);
	CHECK_EQ((u16)vps[0].gpr[GPR_RAX], 0);
	CHECK_EQ(siefp[1][3 * 256 + 1], 0x28);
	vps[0].gpr[GPR_RCX] = HVCALL_POST_MESSAGE | HV_HC_FAST;
	hv_handle_hypercall(&vps[0], NULL);
	CHECK_EQ((u16)vps[0].gpr[GPR_RAX], HV_STATUS_INVALID_HYPERCALL_INPUT);
	/* Without overlay support, no SynIC and no ports. */
	struct backend weak = fake_backend;
	weak.slat_set_page = NULL;
	part.be = &weak;
	CHECK_EQ(synic_port_setup(&part), 0);
	CHECK_EQ(part.privileges & (HV_ACCESS_SYNIC_REGS | HV_POST_MESSAGES | HV_CREATE_PORT), 0);
	part.be = &fake_backend;
}
