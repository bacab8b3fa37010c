/*
 * vsm.h - Virtual Secure Mode (TLFS 15) as the rest of the core and the
 * host tests see it (vsm/vsm.c). VTL 1 only (HvRegisterVsmPartitionStatus
 * reports MaximumVtl 1). docs/vsm.md describes the context model.
 */
#ifndef VSM_VSM_H
#define VSM_VSM_H

#include "backend.h"
#include "vp.h"

#define VSM_MAX_VTL 1

/* TLFS 15.8: where the VTL call and VTL return code sequences sit in the
 * hypercall page (HvRegisterVsmCodePageOffsets), the same in every VTL. */
#define VSM_CALL_OFFSET 0x10
#define VSM_RETURN_OFFSET 0x20

/* TLFS 15.6.1.2: HV_VTL_ENTRY_REASON in the VP assist page's VTL control
 * area (HV_VP_VTL_CONTROL at offset 8, TLFS 7.8.7.2, 15.8.2). */
#define VSM_ENTRY_VTL_CALL 1
#define VSM_ENTRY_INTERRUPT 2
#define VSM_ENTRY_INTERCEPT 3 /* a secure intercept (TLFS 15.6, 15.13) */
#define VSM_CTL_ENTRY_REASON 8
#define VSM_CTL_RETURN_RAX 16
#define VSM_CTL_RETURN_RCX 24

/* TLFS 7.8.2 register names (15.3.2, 15.3.3, 15.8). */
#define HV_REGISTER_VSM_CODE_PAGE_OFFSETS 0x000D0002u
#define HV_REGISTER_VSM_VP_STATUS 0x000D0003u
#define HV_REGISTER_VSM_PARTITION_STATUS 0x000D0004u
#define HV_REGISTER_VSM_CAPABILITIES 0x000D0006u
#define HV_VSM_CAP_DR6_SHARED BIT(63)
#define HV_VSM_CAP_MBEC_SHIFT 47 /* MbecVtlMask 62:47 */

/* MBEC can be enabled (TLFS 15.10): the backend keeps user-mode execution
 * apart in the second-level tables (VMX with mode-based execute control). */
static inline bool vsm_mbec_offered(const struct partition *p)
{
	return p->be && p->be->mbec && p->be->mbec();
}
#define HV_REGISTER_VSM_PARTITION_CONFIG 0x000D0007u
/* TLFS 7.8.2, 15.5.2: HvRegisterVsmVpSecureConfigVtl0 (VTL 1's, for VTL 0). */
#define HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0 0x000D0010u
#define HV_VSM_VP_SECURE_MBEC BIT(0)    /* MbecEnabled */
#define HV_VSM_VP_SECURE_TLB_LOCK BIT(1) /* TlbLocked (not offered) */

/* MBEC is on for vp's VTL 0 (TLFS 15.10.2: enabled for the partition with
 * EnableMbec and for the VP in HvRegisterVsmVpSecureConfigVtl0). */
bool vsm_vp_mbec(const struct vp *vp);

/* TLFS 11.10.2: a VTL 0 access a higher VTL's protection denied
 * (vsm/prot.c), 80 bytes of payload (HV_X64_MEMORY_INTERCEPT_MESSAGE). */
#define HV_MESSAGE_GPA_INTERCEPT 0x80000001u
#define VSM_GPA_INTERCEPT_BYTES 80

/* Switch vp, on its own processor in its host context, from the VTL it
 * runs to VTL `to` (an enabled context): the private state of TLFS
 * 15.11.1 goes with the context (the backend's control structure; its
 * ctx_switch swaps TSC_AUX), the shared state stays. Entering a higher VTL writes
 * `reason` into its VTL control area; returning to a lower one without
 * `fast` loads RAX and RCX from the VTL control area of the VTL left
 * (TLFS 15.7.1.1). */
void vsm_switch(struct vp *vp, u8 to, u32 reason, bool fast);

/* The VTL the VP runs (HvRegisterVsmVpStatus.ActiveVtl). */
u8 vsm_active_vtl(const struct vp *vp);


/* The intercept message header of TLFS 13.2.2 (HV_X64_INTERCEPT_MESSAGE_
 * HEADER, Hyper-V's layout), 40 bytes. */
struct vsm_icpt_hdr {
	u32 vp_index;
	u8 insn_len_cr8; /* InstructionLength 3:0 (0: unknown), Cr8 7:4 */
	u8 access;       /* HV_INTERCEPT_ACCESS_TYPE: 0 read, 1 write, 2 execute */
	u16 exec_state;  /* HV_X64_VP_EXECUTION_STATE (13.2.3) */
	u64 cs_base;     /* HV_X64_SEGMENT_REGISTER */
	u32 cs_limit;
	u16 cs_sel, cs_attr;
	u64 rip, rflags;
};
_Static_assert(sizeof(struct vsm_icpt_hdr) == 40, "TLFS 13.2.2");

/* vsm/prot.c: the header for vp (on its processor, running the lower
 * VTL); and the secure intercept itself: m to VTL 1's SINT0 slot, the VP
 * switched to VTL 1 (entry reason Intercept), the lower VTL left on its
 * instruction. */
struct hv_message;
void vsm_icpt_header(struct vp *vp, u8 *payload, u8 access, u8 insn_len);
void vsm_secure_intercept(struct vp *vp, const struct hv_message *m);

#endif
