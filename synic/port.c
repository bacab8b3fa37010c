/*
 * port.c - ports and connections, and the calls that use them (TLFS 11.6,
 * 11.10.6-11.10.8, 11.11): HvCreatePort (0x0095), HvConnectPort (0x0096),
 * HvDeletePort (0x0058), HvDisconnectPort (0x005B), HvPostMessage
 * (0x005C) and HvSignalEvent (0x005D).
 *
 * There is one partition, so it creates its ports and connections on
 * itself, as the TLFS lets a root partition do (PortPartition and
 * ConnectionPartition: HV_PARTITION_ID_SELF or its own ID): one VP then
 * posts a message or signals an event to a SINT of another VP, or of
 * itself. The call codes and input layouts of HvCreatePort and
 * HvConnectPort are the current ones (TLFS 6.0 appendix A lists 0x0057 and
 * 0x0059 as deprecated; Microsoft's hypercall reference gives 0x0095 and
 * 0x0096 with the layouts used below).
 *
 * Message buffers (11.3.1, 11.3.5, 11.4): a post that finds the target's
 * slot busy, or messages of its port still queued (they arrive in post
 * order), is queued in one of the port's buffers, at most
 * PORT_BUFFERS (16, as the TLFS allocates per port) and MSGBUF_MAX for all
 * ports together; the slot's MessagePending flag is set. When the guest
 * writes EOM, the VP's queued messages are delivered, in order, as long as
 * the slots are free (11.8.6). Without a free buffer the post fails with
 * HV_STATUS_INSUFFICIENT_BUFFERS. Deleting a port frees its buffers
 * (11.3.6). The other two redelivery triggers of 11.4 (an EOI, after a
 * timeout) are not implemented: the guest's EOI does not exit. Ports name a VP (HV_ANY_VP is not supported:
 * INVALID_PARAMETER) and VTL 0; monitor and doorbell ports are not
 * implemented (INVALID_PARAMETER).
 */
#include "synic_ctx.h"
#include "hypercall.h"
#include "backend.h"
#include "log.h"
#include "module.h"
#include "tlfs.h"

#define PORT_MAX 64
#define CONN_MAX 64
#define PORT_BUFFERS 16 /* 11.3.1 */
#define MSGBUF_MAX 32
#define ID_MASK 0x00ffffffu /* 11.10.6, 11.10.7: bits 31:24 reserved */

enum { PORT_MESSAGE = 1, PORT_EVENT = 2 };

struct port {
	u32 id;
	u8 type;  /* 0: free */
	u8 sint;
	u16 base_flag, flag_count;
	u32 vp;
	u32 gen;  /* bumped on delete: a connection to the old port is stale */
	u32 queued; /* messages in bufs[] */
};

/* A queued message (11.3.5), delivered in seq order. */
struct msgbuf {
	struct hv_message m;
	bool used;
	u16 port;
	u64 seq;
};

struct conn {
	u32 id;
	bool used;
	u16 port;     /* index in ports[] */
	u32 port_gen; /* ports[port].gen when connected */
};

static struct port ports[PORT_MAX];
static struct conn conns[CONN_MAX];
static struct msgbuf bufs[MSGBUF_MAX];
static u64 next_seq;
static struct spinlock port_lock;
static u64 msgs_queued, msgs_redelivered;

/* Deliver port p's queued messages to t in post order while its slot
 * takes them (port_lock held). True when none is left. */
static bool port_flush(struct vp *t, struct port *p)
{
	u16 idx = (u16)(p - ports);
	while (p->queued) {
		struct msgbuf *b = NULL;
		for (u32 i = 0; i < MSGBUF_MAX; i++)
			if (bufs[i].used && bufs[i].port == idx && (!b || bufs[i].seq < b->seq))
				b = &bufs[i];
		if (!b || synic_post_message(t, 0, p->sint, &b->m) != HV_STATUS_SUCCESS)
			return false;
		b->used = false;
		p->queued--;
		msgs_redelivered++;
	}
	return true;
}

/* The guest wrote EOM (on vp's processor, no lock held): the queued
 * messages of the ports that target vp (11.8.6). */
static void port_eom(struct vp *vp, u8 vtl)
{
	if (vtl)
		return; /* ports target VTL 0 */
	spin_lock(&port_lock);
	for (u32 i = 0; i < PORT_MAX; i++)
		if (ports[i].type == PORT_MESSAGE && ports[i].queued && ports[i].vp == vp->index)
			port_flush(vp, &ports[i]);
	spin_unlock(&port_lock);
}

static void port_dump(const struct vp *vp)
{
	if (vp->index == 0 && (msgs_queued | msgs_redelivered))
		LOGI("  synic ports: messages queued %lu, delivered on EOM %lu",
		     (unsigned long)msgs_queued, (unsigned long)msgs_redelivered);
}

int synic_port_setup(struct partition *p)
{
	for (u32 i = 0; i < PORT_MAX; i++)
		ports[i] = (struct port){ 0 };
	for (u32 i = 0; i < CONN_MAX; i++)
		conns[i] = (struct conn){ 0 };
	for (u32 i = 0; i < MSGBUF_MAX; i++)
		bufs[i].used = false;
	msgs_queued = msgs_redelivered = 0;
	if (synic_add_eom_handler(port_eom))
		return -1;
	/* Messages and events need the SynIC's overlay pages. */
	if (!p->be->slat_set_page)
		p->privileges &= ~(HV_ACCESS_SYNIC_REGS | HV_POST_MESSAGES | HV_SIGNAL_EVENTS |
				   HV_CREATE_PORT | HV_CONNECT_PORT);
	return 0;
}
static int port_partition_init(struct partition *p, struct pool *pool)
{
	return synic_port_setup(p);
}
HV_MODULE(synic_port, .on_partition = port_partition_init, .on_dump = port_dump);

static struct port *port_find(u32 id)
{
	for (u32 i = 0; i < PORT_MAX; i++)
		if (ports[i].type && ports[i].id == id)
			return &ports[i];
	return NULL;
}

static struct conn *conn_find(u32 id)
{
	for (u32 i = 0; i < CONN_MAX; i++)
		if (conns[i].used && conns[i].id == id)
			return &conns[i];
	return NULL;
}

/* PortPartition / ConnectionPartition: this partition. */
static u16 own_partition(u64 id)
{
	return hc_target_partition(id);
}

/* HvCreatePort: PortPartition 8, PortId 4, PortVtl 1, MinConnectionVtl 1,
 * RsvdZ 2, ConnectionPartition 8, PortInfo 24 (PortType 4, RsvdZ 4,
 * TargetSint 4, TargetVp 4, then RsvdZ 8 or BaseFlagNumber 2, FlagCount
 * 2, RsvdZ 4), ProximityDomainInfo 8 (not used: one node). */
static u16 hc_create_port(struct hc_ctx *c)
{
	const u8 *in = c->in;
	u32 id = hc_rd32(in + 8);
	u64 conn_part = hc_rd64(in + 16);
	u32 type = hc_rd32(in + 24), sint = hc_rd32(in + 32), vpi = hc_rd32(in + 36);
	u16 st = own_partition(hc_rd64(in));
	if (st)
		return st;
	if (conn_part && own_partition(conn_part))
		return HV_STATUS_INVALID_PARTITION_ID;
	if ((id & ~ID_MASK) || in[12] || in[13] || *(const u16 *)(in + 14) || hc_rd32(in + 28))
		return HV_STATUS_INVALID_PARAMETER;
	if (type != PORT_MESSAGE && type != PORT_EVENT)
		return HV_STATUS_INVALID_PARAMETER;
	if (sint >= HV_SINT_COUNT)
		return HV_STATUS_INVALID_PARAMETER;
	u16 base = 0, count = 0;
	if (type == PORT_MESSAGE) {
		if (hc_rd64(in + 40))
			return HV_STATUS_INVALID_PARAMETER;
	} else {
		base = *(const u16 *)(in + 40);
		count = *(const u16 *)(in + 42);
		if (hc_rd32(in + 44) || !count || (u32)base + count > 256 * 8)
			return HV_STATUS_INVALID_PARAMETER;
	}
	struct vp *t;
	if (vpi == HV_VP_INDEX_SELF || hc_target_vp(c->vp, vpi, &t))
		return HV_STATUS_INVALID_VP_INDEX;
	spin_lock(&port_lock);
	struct port *p = NULL;
	if (port_find(id)) {
		st = HV_STATUS_INVALID_PORT_ID; /* appendix B: "not unique" */
	} else {
		for (u32 i = 0; i < PORT_MAX && !p; i++)
			if (!ports[i].type)
				p = &ports[i];
		if (!p) {
			st = HV_STATUS_INSUFFICIENT_MEMORY;
		} else {
			u32 gen = p->gen;
			*p = (struct port){ id, (u8)type, (u8)sint, base, count, vpi, gen, 0 };
		}
	}
	spin_unlock(&port_lock);
	return st;
}

/* HvDeletePort: PortPartition 8, PortId 4, RsvdZ 4. Its connections stay
 * and become useless (11.6). */
static u16 hc_delete_port(struct hc_ctx *c)
{
	u16 st = own_partition(hc_rd64(c->in));
	if (st)
		return st;
	if (hc_rd32(c->in + 12))
		return HV_STATUS_INVALID_PARAMETER;
	spin_lock(&port_lock);
	struct port *p = port_find(hc_rd32(c->in + 8));
	if (p) {
		p->type = 0;
		p->gen++;
		p->queued = 0;
		for (u32 i = 0; i < MSGBUF_MAX; i++)
			if (bufs[i].used && bufs[i].port == p - ports)
				bufs[i].used = false;
	}
	spin_unlock(&port_lock);
	return p ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PORT_ID;
}

/* HvConnectPort: ConnectionPartition 8, ConnectionId 4, ConnectionVtl 1,
 * RsvdZ 1 + 2, PortPartition 8, PortId 4, RsvdZ 4, ConnectionInfo 32
 * (PortType 4, RsvdZ 4, 24 bytes RsvdZ for message and event ports),
 * ProximityDomainInfo 8. */
static u16 hc_connect_port(struct hc_ctx *c)
{
	const u8 *in = c->in;
	u32 id = hc_rd32(in + 8), port_id = hc_rd32(in + 24), type = hc_rd32(in + 32);
	u16 st = own_partition(hc_rd64(in));
	if (!st)
		st = own_partition(hc_rd64(in + 16));
	if (st)
		return st;
	if ((id & ~ID_MASK) || in[12] || in[13] || *(const u16 *)(in + 14) || hc_rd32(in + 28) ||
	    hc_rd32(in + 36) || hc_rd64(in + 40) || hc_rd64(in + 48) || hc_rd64(in + 56))
		return HV_STATUS_INVALID_PARAMETER;
	spin_lock(&port_lock);
	struct port *p = port_find(port_id);
	struct conn *n = NULL;
	if (!p) {
		st = HV_STATUS_INVALID_PORT_ID;
	} else if (type != p->type) {
		st = HV_STATUS_INVALID_PARAMETER;
	} else if (conn_find(id)) {
		st = HV_STATUS_INVALID_CONNECTION_ID; /* appendix B: "not unique" */
	} else {
		for (u32 i = 0; i < CONN_MAX && !n; i++)
			if (!conns[i].used)
				n = &conns[i];
		if (!n)
			st = HV_STATUS_INSUFFICIENT_MEMORY;
		else
			*n = (struct conn){ id, true, (u16)(p - ports), p->gen };
	}
	spin_unlock(&port_lock);
	return st;
}

/* HvDisconnectPort: ConnectionPartition 8, ConnectionId 4, RsvdZ 4. */
static u16 hc_disconnect_port(struct hc_ctx *c)
{
	u16 st = own_partition(hc_rd64(c->in));
	if (st)
		return st;
	if (hc_rd32(c->in + 12))
		return HV_STATUS_INVALID_PARAMETER;
	spin_lock(&port_lock);
	struct conn *n = conn_find(hc_rd32(c->in + 8));
	if (n)
		n->used = false;
	spin_unlock(&port_lock);
	return n ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_CONNECTION_ID;
}

/* The port behind connection id (its index in *idx), under port_lock;
 * the statuses of 11.11.1 and 11.11.2 in their table order. */
static u16 conn_port_locked(u32 id, u8 type, u32 *idx)
{
	const struct conn *n = conn_find(id);
	if (!n)
		return HV_STATUS_INVALID_CONNECTION_ID;
	if (ports[n->port].gen != n->port_gen || ports[n->port].type != type)
		return HV_STATUS_INVALID_PORT_ID; /* deleted, or not this type */
	*idx = n->port;
	return HV_STATUS_SUCCESS;
}

/* HvPostMessage: ConnectionId 4, Padding 4, MessageType 4, PayloadSize
 * 4, Message 240. The origin in the header is the port ID (11.10.4). */
static u16 hc_post_message(struct hc_ctx *c)
{
	const u8 *in = c->in;
	u32 idx = 0;
	struct vp *t = NULL;
	u32 type = hc_rd32(in + 8), size = hc_rd32(in + 12);
	spin_lock(&port_lock);
	u16 st = conn_port_locked(hc_rd32(in), PORT_MESSAGE, &idx);
	if (!st && (!type || (type & HV_MESSAGE_TYPE_HYPERVISOR_MASK) || size > HV_MESSAGE_PAYLOAD_BYTES))
		st = HV_STATUS_INVALID_PARAMETER;
	if (!st && hc_target_vp(c->vp, ports[idx].vp, &t))
		st = HV_STATUS_INVALID_VP_INDEX;
	if (st) {
		spin_unlock(&port_lock);
		return st;
	}
	struct port *p = &ports[idx];
	struct msgbuf *b = NULL;
	for (u32 i = 0; i < MSGBUF_MAX && !b; i++)
		if (!bufs[i].used)
			b = &bufs[i];
	struct hv_message m;
	struct hv_message *dst = b ? &b->m : &m;
	dst->h = (struct hv_message_header){ type, (u8)size, 0, 0, p->id };
	for (u32 i = 0; i < (size + 7) / 8; i++)
		dst->payload[i] = hc_rd64(in + 16 + 8 * i);
	/* Older messages of the port first (11.3.6: post order). */
	if (p->queued && !port_flush(t, p))
		st = synic_simp_enabled(t, 0) ? HV_STATUS_INSUFFICIENT_BUFFERS
					      : HV_STATUS_INVALID_SYNIC_STATE;
	else
		st = synic_post_message(t, 0, p->sint, dst);
	/* The slot is busy (MessagePending set): queue it in a buffer. */
	if (st == HV_STATUS_INSUFFICIENT_BUFFERS && b && p->queued < PORT_BUFFERS) {
		b->used = true;
		b->port = (u16)idx;
		b->seq = next_seq++;
		p->queued++;
		msgs_queued++;
		st = HV_STATUS_SUCCESS;
	}
	spin_unlock(&port_lock);
	return st;
}

/* HvSignalEvent (fast): ConnectionId 4, FlagNumber 2, RsvdZ 2. */
static u16 hc_signal_event_body(struct hc_ctx *c, struct port *p, struct vp **t)
{
	u32 idx = 0;
	spin_lock(&port_lock);
	u16 st = conn_port_locked(hc_rd32(c->in), PORT_EVENT, &idx);
	if (!st)
		*p = ports[idx];
	spin_unlock(&port_lock);
	if (st)
		return st;
	u16 flag = *(const u16 *)(c->in + 4);
	if (*(const u16 *)(c->in + 6) || flag >= p->flag_count)
		return HV_STATUS_INVALID_PARAMETER;
	if (hc_target_vp(c->vp, p->vp, t))
		return HV_STATUS_INVALID_VP_INDEX;
	return HV_STATUS_SUCCESS;
}

static u16 hc_signal_event(struct hc_ctx *c)
{
	struct port p;
	struct vp *t;
	u16 st = hc_signal_event_body(c, &p, &t);
	return st ? st : synic_signal_event(t, 0, p.sint, (u32)p.base_flag + *(const u16 *)(c->in + 4), NULL);
}

HV_HCALL_ROWS(port_hcalls) = {
	{ HVCALL_DELETE_PORT, HC_SLOW | HC_FAST, HV_CREATE_PORT, 16, 0, 0, 0, hc_delete_port, NULL,
	  NULL, "HvDeletePort", NULL, NULL },
	{ HVCALL_DISCONNECT_PORT, HC_SLOW | HC_FAST, HV_CONNECT_PORT, 16, 0, 0, 0, hc_disconnect_port,
	  NULL, NULL, "HvDisconnectPort", NULL, NULL },
	{ HVCALL_POST_MESSAGE, HC_SLOW, HV_POST_MESSAGES, 256, 0, 0, 0, hc_post_message, NULL, NULL,
	  "HvPostMessage", NULL, NULL },
	{ HVCALL_SIGNAL_EVENT, HC_SLOW | HC_FAST, HV_SIGNAL_EVENTS, 8, 0, 0, 0, hc_signal_event, NULL,
	  NULL, "HvSignalEvent", NULL, NULL },
	{ HVCALL_CREATE_PORT, HC_SLOW, HV_CREATE_PORT, 56, 0, 0, 0, hc_create_port, NULL, NULL,
	  "HvCreatePort", NULL, NULL },
	{ HVCALL_CONNECT_PORT, HC_SLOW, HV_CONNECT_PORT, 72, 0, 0, 0, hc_connect_port, NULL, NULL,
	  "HvConnectPort", NULL, NULL },
};
