/*
 * synic_ctx.h - the SynIC's state per VP and VTL context (TLFS 11.8), as
 * the files of synic/ share it (synic/synic.c owns it; synic/deliver.c
 * raises its interrupts; synic/port.c posts through it). Other modules
 * use include/synic/synic.h.
 */
#ifndef SYNIC_SYNIC_CTX_H
#define SYNIC_SYNIC_CTX_H

#include "synic.h"
#include "spinlock.h"

struct synic_ctx {
	/* TLFS 11.8.1-11.8.5: the registers as the guest wrote them
	 * (reserved bits are RsvdP: kept and read back). */
	u64 scontrol, siefp, simp;
	u64 sint[HV_SINT_COUNT];
	/* TLFS 11.9: the SIM and SIEF pages, overlays on the hypervisor's
	 * own zeroed pages; they keep their contents while disabled. */
	struct overlay simp_page, siefp_page;
	volatile struct hv_message *msg;   /* == simp_page.hpa */
	volatile u64 *flags;               /* == siefp_page.hpa: 16 x 256 bytes */
	/* The guest wrote EOM: the EOM handlers run before its next entry. */
	volatile u32 eom_pending;
	/* AutoEOI vectors waiting for injection on the VP's processor
	 * (synic/deliver.c; VTL 0's context holds them for the VP), and
	 * whether the x2APIC EOI/TPR writes are intercepted meanwhile. */
	volatile u64 aeoi_pending[4];
	bool aeoi_icpt;
	/* Counters for the dump (on_dump). */
	u64 raised, raised_aeoi, aeoi_blocked, posted, busy, events, eoms;
};

/* TLFS 4.2.2: the privileges of the calls of synic/port.c (leaf
 * 0x40000003 EBX bits 4-7 as bits of the 64-bit mask). */
#define HV_POST_MESSAGES BIT(36)
#define HV_SIGNAL_EVENTS BIT(37)
#define HV_CREATE_PORT BIT(38)
#define HV_CONNECT_PORT BIT(39)

/* Call codes (appendix A; HvCreatePort and HvConnectPort: the current
 * codes, 0x0057 and 0x0059 are deprecated). */
#define HVCALL_DELETE_PORT 0x0058
#define HVCALL_DISCONNECT_PORT 0x005b
#define HVCALL_POST_MESSAGE 0x005c
#define HVCALL_SIGNAL_EVENT 0x005d
#define HVCALL_CREATE_PORT 0x0095
#define HVCALL_CONNECT_PORT 0x0096

#define SYNIC_SCONTROL_ENABLE BIT(0)
#define SYNIC_PAGE_ENABLE BIT(0)

/* synic/synic.c: vp's SynIC for VTL vtl in *s, with the SIM and SIEF
 * pages simp and siefp (zeroed, page-aligned), registered as overlays.
 * Under the partition lock (the overlay list). */
int synic_ctx_setup(struct vp *vp, u8 vtl, struct synic_ctx *s, void *simp, void *siefp);

/* synic/port.c: empty port and connection tables, the EOM handler
 * registered, the privileges withdrawn without overlay support (the
 * module's partition hook; public for host tests). */
int synic_port_setup(struct partition *p);

/* synic/deliver.c: the guest wrote EOM in VTL vtl: run the EOM handlers
 * before vp's next entry (on vp's processor). */
void synic_eom_request(struct vp *vp, u8 vtl);

#endif
