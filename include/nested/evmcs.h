/*
 * evmcs.h - the enlightened VMCS (eVMCS) of nested VMX (TLFS 6.0 16.5,
 * 16.11.2-16.11.4; docs/nested.md, "Enlightened VMCS"). An L1 hypervisor
 * that uses it (Linux's KVM on Hyper-V: arch/x86/kvm/vmx/hyperv_evmcs.c,
 * vmx_onhyperv.h) writes its VMCS fields with plain stores into this page
 * of its own memory instead of VMWRITE, names the page in its VP assist
 * page (current_nested_vmcs, with enlighten_vmentry set) instead of
 * VMPTRLD, and clears a clean-field bit for each group of fields it
 * changed. hv.efi (L0) copies the dirty groups into its vmcs12 at
 * VMLAUNCH/VMRESUME and writes the guest state and exit information back
 * at the nested VM exit (vmx/vmx_evmcs.c; the assist page: nested/evmcs.c).
 *
 * The layout is version 1, as Linux (arch/x86/include/asm/hyperv-tlfs.h,
 * struct hv_enlightened_vmcs) lays out TLFS 16.11.2 with its natural
 * alignment made explicit (padding32_2 before VmId) and the 2022 fields
 * (perf global control, CET, LBR, TSC multiplier) named in what TLFS 6.0
 * calls Rsvd6/Rsvd7. Those are not in the field table: 0x4000000A EBX
 * bit 0 (HV_X64_NESTED_EVMCS1_2022_UPDATE) is not offered.
 */
#ifndef NESTED_EVMCS_H
#define NESTED_EVMCS_H

#include "types.h"

/* TLFS 16.5.1: the only version; leaf 0x4000000A EAX[7:0] / [15:8] give
 * the lowest / highest version L0 supports. */
#define EVMCS_VERSION 1

/* TLFS 16.11.3: clean-field groups (hv_clean_fields). A set bit says L1
 * has not changed the group since L0 last read it. */
#define EVMCS_CLEAN_NONE 0u
#define EVMCS_CLEAN_IO_BITMAP BIT(0)
#define EVMCS_CLEAN_MSR_BITMAP BIT(1)
#define EVMCS_CLEAN_CONTROL_GRP2 BIT(2)
#define EVMCS_CLEAN_CONTROL_GRP1 BIT(3)
#define EVMCS_CLEAN_CONTROL_PROC BIT(4)
#define EVMCS_CLEAN_CONTROL_EVENT BIT(5)
#define EVMCS_CLEAN_CONTROL_ENTRY BIT(6)
#define EVMCS_CLEAN_CONTROL_EXCPN BIT(7)
#define EVMCS_CLEAN_CRDR BIT(8)
#define EVMCS_CLEAN_CONTROL_XLAT BIT(9)
#define EVMCS_CLEAN_GUEST_BASIC BIT(10)
#define EVMCS_CLEAN_GUEST_GRP1 BIT(11)
#define EVMCS_CLEAN_GUEST_GRP2 BIT(12)
#define EVMCS_CLEAN_HOST_POINTER BIT(13)
#define EVMCS_CLEAN_HOST_GRP1 BIT(14)
#define EVMCS_CLEAN_ENLIGHTENMENTSCONTROL BIT(15)
/* Linux's HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL: the group of the fields the
 * TLFS gives no group (MSR load/store lists, CR3 targets, #PF error-code
 * mask/match); they are re-read unless every group is clean. */
#define EVMCS_CLEAN_ALL 0xffffu

/* hv_enlightenments_control (TLFS 16.11.2 EnlightenmentsControl). */
#define EVMCS_ENL_NESTED_FLUSH_HYPERCALL BIT(0) /* direct virtual flush, 16.8 */
#define EVMCS_ENL_MSR_BITMAP BIT(1)             /* enlightened MSR bitmap, 16.5.3 */

/* TLFS 16.8.3: the exit reason of the trap after a direct virtual flush. */
#define EVMCS_EXIT_TRAP_AFTER_FLUSH 0x10000031u

/* The VP assist page (TLFS 7.8.7.2 HV_VP_ASSIST_PAGE; Linux's struct
 * hv_vp_assist_page): NestedEnlightenmentsControl at 0x20 (u32 features,
 * bit 0 DirectHypercall; u32 hypercall controls), EnlightenVmEntry (a
 * BOOLEAN) at 0x28, CurrentNestedVmcs (a GPA) at 0x30. */
#define ASSIST_NESTED_CONTROL 0x20
#define ASSIST_ENLIGHTEN_VMENTRY 0x28
#define ASSIST_CURRENT_NESTED_VMCS 0x30

struct hv_enlightened_vmcs {
	u32 revision_id; /* VersionNumber: EVMCS_VERSION */
	u32 abort;

	u16 host_es_selector;
	u16 host_cs_selector;
	u16 host_ss_selector;
	u16 host_ds_selector;
	u16 host_fs_selector;
	u16 host_gs_selector;
	u16 host_tr_selector;
	u16 padding16_1;

	u64 host_ia32_pat;
	u64 host_ia32_efer;
	u64 host_cr0;
	u64 host_cr3;
	u64 host_cr4;
	u64 host_ia32_sysenter_esp;
	u64 host_ia32_sysenter_eip;
	u64 host_rip;
	u32 host_ia32_sysenter_cs;

	u32 pin_based_vm_exec_control;
	u32 vm_exit_controls;
	u32 secondary_vm_exec_control;

	u64 io_bitmap_a;
	u64 io_bitmap_b;
	u64 msr_bitmap;

	u16 guest_es_selector;
	u16 guest_cs_selector;
	u16 guest_ss_selector;
	u16 guest_ds_selector;
	u16 guest_fs_selector;
	u16 guest_gs_selector;
	u16 guest_ldtr_selector;
	u16 guest_tr_selector;

	u32 guest_es_limit;
	u32 guest_cs_limit;
	u32 guest_ss_limit;
	u32 guest_ds_limit;
	u32 guest_fs_limit;
	u32 guest_gs_limit;
	u32 guest_ldtr_limit;
	u32 guest_tr_limit;
	u32 guest_gdtr_limit;
	u32 guest_idtr_limit;

	u32 guest_es_ar_bytes;
	u32 guest_cs_ar_bytes;
	u32 guest_ss_ar_bytes;
	u32 guest_ds_ar_bytes;
	u32 guest_fs_ar_bytes;
	u32 guest_gs_ar_bytes;
	u32 guest_ldtr_ar_bytes;
	u32 guest_tr_ar_bytes;

	u64 guest_es_base;
	u64 guest_cs_base;
	u64 guest_ss_base;
	u64 guest_ds_base;
	u64 guest_fs_base;
	u64 guest_gs_base;
	u64 guest_ldtr_base;
	u64 guest_tr_base;
	u64 guest_gdtr_base;
	u64 guest_idtr_base;

	u64 padding64_1[3];

	u64 vm_exit_msr_store_addr;
	u64 vm_exit_msr_load_addr;
	u64 vm_entry_msr_load_addr;

	u64 cr3_target_value0;
	u64 cr3_target_value1;
	u64 cr3_target_value2;
	u64 cr3_target_value3;

	u32 page_fault_error_code_mask;
	u32 page_fault_error_code_match;

	u32 cr3_target_count;
	u32 vm_exit_msr_store_count;
	u32 vm_exit_msr_load_count;
	u32 vm_entry_msr_load_count;

	u64 tsc_offset;
	u64 virtual_apic_page_addr;
	u64 vmcs_link_pointer;

	u64 guest_ia32_debugctl;
	u64 guest_ia32_pat;
	u64 guest_ia32_efer;

	u64 guest_pdptr0;
	u64 guest_pdptr1;
	u64 guest_pdptr2;
	u64 guest_pdptr3;

	u64 guest_pending_dbg_exceptions;
	u64 guest_sysenter_esp;
	u64 guest_sysenter_eip;

	u32 guest_activity_state; /* GuestSleepState */
	u32 guest_sysenter_cs;

	u64 cr0_guest_host_mask;
	u64 cr4_guest_host_mask;
	u64 cr0_read_shadow;
	u64 cr4_read_shadow;
	u64 guest_cr0;
	u64 guest_cr3;
	u64 guest_cr4;
	u64 guest_dr7;

	u64 host_fs_base;
	u64 host_gs_base;
	u64 host_tr_base;
	u64 host_gdtr_base;
	u64 host_idtr_base;
	u64 host_rsp;

	u64 ept_pointer;

	u16 virtual_processor_id;
	u16 padding16_2[3];

	u64 padding64_2[5];
	u64 guest_physical_address;

	u32 vm_instruction_error;
	u32 vm_exit_reason;
	u32 vm_exit_intr_info;
	u32 vm_exit_intr_error_code;
	u32 idt_vectoring_info_field;
	u32 idt_vectoring_error_code;
	u32 vm_exit_instruction_len;
	u32 vmx_instruction_info;

	u64 exit_qualification;
	u64 exit_io_instruction_ecx;
	u64 exit_io_instruction_esi;
	u64 exit_io_instruction_edi;
	u64 exit_io_instruction_eip;

	u64 guest_linear_address;
	u64 guest_rsp;
	u64 guest_rflags;

	u32 guest_interruptibility_info;
	u32 cpu_based_vm_exec_control;
	u32 exception_bitmap;
	u32 vm_entry_controls;
	u32 vm_entry_intr_info_field;
	u32 vm_entry_exception_error_code;
	u32 vm_entry_instruction_len;
	u32 tpr_threshold;

	u64 guest_rip;

	u32 hv_clean_fields;
	u32 padding32_1;
	u32 hv_synthetic_controls;
	u32 hv_enlightenments_control; /* EVMCS_ENL_* */
	u32 hv_vp_id;
	u32 padding32_2;
	u64 hv_vm_id;
	u64 partition_assist_page;
	u64 padding64_4[4];
	u64 guest_bndcfgs;
	u64 guest_ia32_perf_global_ctrl;   /* 2022 update: not in the table */
	u64 guest_ia32_s_cet;              /* " */
	u64 guest_ssp;                     /* " */
	u64 guest_ia32_int_ssp_table_addr; /* " */
	u64 guest_ia32_lbr_ctl;            /* " */
	u64 padding64_5[2];
	u64 xss_exit_bitmap;
	u64 encls_exiting_bitmap;
	u64 host_ia32_perf_global_ctrl;    /* 2022 update: not in the table */
	u64 tsc_multiplier;                /* " */
	u64 host_ia32_s_cet;               /* " */
	u64 host_ssp;                      /* " */
	u64 host_ia32_int_ssp_table_addr;  /* " */
	u64 padding64_6;
} __attribute__((packed));

/* The offsets, counted by hand from TLFS 16.11.2 (every field at its
 * natural alignment): the packed struct must agree. */
#define EVMCS_AT(f, o) _Static_assert(__builtin_offsetof(struct hv_enlightened_vmcs, f) == (o), #f)
EVMCS_AT(abort, 0x004);
EVMCS_AT(host_es_selector, 0x008);
EVMCS_AT(host_tr_selector, 0x014);
EVMCS_AT(host_ia32_pat, 0x018);
EVMCS_AT(host_rip, 0x050);
EVMCS_AT(host_ia32_sysenter_cs, 0x058);
EVMCS_AT(pin_based_vm_exec_control, 0x05c);
EVMCS_AT(secondary_vm_exec_control, 0x064);
EVMCS_AT(io_bitmap_a, 0x068);
EVMCS_AT(msr_bitmap, 0x078);
EVMCS_AT(guest_es_selector, 0x080);
EVMCS_AT(guest_es_limit, 0x090);
EVMCS_AT(guest_idtr_limit, 0x0b4);
EVMCS_AT(guest_es_ar_bytes, 0x0b8);
EVMCS_AT(guest_es_base, 0x0d8);
EVMCS_AT(guest_idtr_base, 0x120);
EVMCS_AT(vm_exit_msr_store_addr, 0x140);
EVMCS_AT(cr3_target_value0, 0x158);
EVMCS_AT(page_fault_error_code_mask, 0x178);
EVMCS_AT(cr3_target_count, 0x180);
EVMCS_AT(tsc_offset, 0x190);
EVMCS_AT(vmcs_link_pointer, 0x1a0);
EVMCS_AT(guest_ia32_debugctl, 0x1a8);
EVMCS_AT(guest_pdptr0, 0x1c0);
EVMCS_AT(guest_pending_dbg_exceptions, 0x1e0);
EVMCS_AT(guest_activity_state, 0x1f8);
EVMCS_AT(cr0_guest_host_mask, 0x200);
EVMCS_AT(guest_cr0, 0x220);
EVMCS_AT(guest_dr7, 0x238);
EVMCS_AT(host_fs_base, 0x240);
EVMCS_AT(host_rsp, 0x268);
EVMCS_AT(ept_pointer, 0x270);
EVMCS_AT(virtual_processor_id, 0x278);
EVMCS_AT(guest_physical_address, 0x2a8);
EVMCS_AT(vm_instruction_error, 0x2b0);
EVMCS_AT(vm_exit_reason, 0x2b4);
EVMCS_AT(vmx_instruction_info, 0x2cc);
EVMCS_AT(exit_qualification, 0x2d0);
EVMCS_AT(guest_linear_address, 0x2f8);
EVMCS_AT(guest_rsp, 0x300);
EVMCS_AT(guest_interruptibility_info, 0x310);
EVMCS_AT(tpr_threshold, 0x32c);
EVMCS_AT(guest_rip, 0x330);
EVMCS_AT(hv_clean_fields, 0x338);
EVMCS_AT(hv_synthetic_controls, 0x340);
EVMCS_AT(hv_enlightenments_control, 0x344);
EVMCS_AT(hv_vp_id, 0x348);
EVMCS_AT(hv_vm_id, 0x350);
EVMCS_AT(partition_assist_page, 0x358);
EVMCS_AT(guest_bndcfgs, 0x380);
EVMCS_AT(xss_exit_bitmap, 0x3c0);
EVMCS_AT(encls_exiting_bitmap, 0x3c8);
EVMCS_AT(padding64_6, 0x3f8);
_Static_assert(sizeof(struct hv_enlightened_vmcs) == 0x400, "eVMCS v1 size");
#undef EVMCS_AT

/* ---- the field table (vmx/vmx_evmcs.c) --------------------------------- */

/* One eVMCS field: where it is, which VMCS field it is (SDM vol. 3
 * appendix B encoding; TLFS 16.11.4), how wide, which clean group
 * (EVMCS_CLEAN_*, 0 = NONE: read at every entry), and: */
#define EVMCS_F_RO BIT(0)  /* VM-exit information: L0 writes, L1 reads; never loaded */
#define EVMCS_F_OUT BIT(1) /* written back at a nested VM exit */
struct evmcs_field {
	u16 off;   /* in struct hv_enlightened_vmcs */
	u16 group; /* EVMCS_CLEAN_* (one bit, NONE or ALL) */
	u32 enc;   /* the VMCS field encoding */
	u8 width;  /* bytes: 2, 4 or 8 */
	u8 flags;  /* EVMCS_F_* */
	const char *name;
};
#define EVMCS_MAX_FIELDS 160
extern const struct evmcs_field evmcs_fields[];
extern const u32 evmcs_nfields;

/*
 * hv.efi's vmcs12 (the in-memory copy of L1's current VMCS that nested VMX
 * keeps, one member per field) as this code sees it: for each VMCS field
 * encoding, its byte offset and width in the struct, from the vmcs12's own
 * field table. false: the vmcs12 does not hold that field (it is then
 * neither loaded nor written back; the entry checks refuse the controls
 * that would need it).
 */
typedef bool (*evmcs_vmcs12_field_fn)(u32 enc, u16 *off, u8 *width);

/* The eVMCS table resolved against the vmcs12's layout, once. Load
 * classes, in table order: NONE, the 16 group bits, ALL, then RO. */
#define EVMCS_CLASSES 19
/* One field's copy, resolved: offsets in the eVMCS and the vmcs12, and
 * kind = eVMCS width << 4 | vmcs12 width (0: not in the vmcs12). */
struct evmcs_cp {
	u16 ev, v12;
	u8 kind;
	u8 n; /* in out[]: n fields of this kind contiguous in both layouts */
};
struct evmcs_map {
	u16 v12_off[EVMCS_MAX_FIELDS];
	u8 v12_width[EVMCS_MAX_FIELDS]; /* 0: not in the vmcs12 */
	struct evmcs_cp cp[EVMCS_MAX_FIELDS]; /* by table row */
	u16 class_start[EVMCS_CLASSES + 1];
	struct evmcs_cp out[EVMCS_MAX_FIELDS]; /* the EVMCS_F_OUT fields, as runs */
	u16 nout;   /* runs in out[] */
	u16 nout_fields;
	u16 missing; /* fields the vmcs12 does not hold */
};

/* Resolve the table; 0, or -1 if the table is not in class order or a
 * field's width is not its encoding's (a build error in practice). */
int evmcs_map_init(struct evmcs_map *m, evmcs_vmcs12_field_fn fn);

/* VMLAUNCH/VMRESUME with an eVMCS: copy the fields of every group L1
 * marked dirty in `clean` (pass 0 to read all, as on the first entry with
 * a new eVMCS) into the vmcs12. Groups left clean are not read: L0 keeps
 * what the vmcs12 holds (TLFS 16.5.2). Returns the groups read (bit n:
 * group bit n; EVMCS_CLEAN_* values, plus BIT(16) for ALL's fields). */
u32 evmcs_load(const struct evmcs_map *m, void *vmcs12, const struct hv_enlightened_vmcs *e,
	       u32 clean);

/* A nested VM exit (or a VMfail after the eVMCS was read): the guest
 * state and the exit information from the vmcs12 into the eVMCS, as
 * KVM's L0 does (copy_vmcs12_to_enlightened), then every group clean (the
 * eVMCS and the vmcs12 agree now). The controls, host state, bitmaps and
 * the synthetic fields L1 owns are not touched. */
void evmcs_store(const struct evmcs_map *m, struct hv_enlightened_vmcs *e, const void *vmcs12);

/* The controls eVMCS v1 can express: an entry with a control whose
 * field the eVMCS lacks (posted interrupts, the preemption timer,
 * virtual-interrupt delivery, APIC-access page, PML, VMFUNC, VMCS
 * shadowing, TSC scaling, PAUSE-loop exiting, tertiary controls, perf
 * global control) fails with VM-instruction error 7 (KVM's
 * nested_evmcs_check_controls). NULL, or the offending control. */
const char *evmcs_check_controls(u32 pin, u32 proc, u32 proc2, u32 exit, u32 entry);

/* ---- an L1's enlightened entries (vmx/vmx_evmcs.c), per VP ------------- */

struct evmcs_vp {
	u64 gpa;                     /* the eVMCS of the last enlightened entry; ~0: none */
	struct hv_enlightened_vmcs *e; /* hv.efi's pointer to it */
	bool active;                 /* L1's current VMCS is the eVMCS (since that entry) */
	bool msr_bitmap_same;        /* that entry: enlightened MSR bitmap on, its clean
				      * bit set, same eVMCS: L1's MSR bitmap unchanged */
	u32 read;                    /* the groups that entry read (evmcs_load) */
	/* The synthetic fields (group ENLIGHTENMENTSCONTROL, TLFS 16.8.1),
	 * as of the last entry that had the group dirty. */
	u32 enl_ctl, vp_id;
	u64 vm_id, assist_pa;
	u64 entries, full_loads;
};

/* Nothing current (at VMXON, and after a VMCLEAR of the eVMCS: TLFS 16.5
 * "VMCLEAR ... transitions an enlightened VMCS from the active to the
 * non-active state"): the next entry reads every field. */
void evmcs_release(struct evmcs_vp *s);

/* L1's VMLAUNCH (launch) or VMRESUME with the eVMCS e, at gpa (the caller
 * checked: page aligned, ordinary guest RAM; TLFS 16.5 "exactly one page"),
 * into the vmcs12 (vmcs12_size bytes). The version must be EVMCS_VERSION
 * or, as KVM accepts for Hyper-V's own L1, the VMCS revision id vmcs_rev
 * (L1 that copied IA32_VMX_BASIC there). Clean bits count only for the
 * eVMCS the previous entry used and never at VMLAUNCH (KVM: one vmcs12
 * per L1, fields of another eVMCS must not leak); a VMLAUNCH of another
 * eVMCS starts from a zeroed vmcs12. 0, or -1: VMfailInvalid (the
 * eVMCS is then released). */
int evmcs_enter(struct evmcs_vp *s, const struct evmcs_map *m, void *vmcs12, u32 vmcs12_size,
		struct hv_enlightened_vmcs *e, u64 gpa, bool launch, u32 vmcs_rev);

/* The nested VM exit (and a VMfail or a failed VM entry after
 * evmcs_enter read the eVMCS): evmcs_store into the active eVMCS. */
void evmcs_exit(struct evmcs_vp *s, const struct evmcs_map *m, const void *vmcs12);

/* The VP assist page's eVMCS pointer (a pointer to the page as hv.efi
 * maps it): true with *gpa = CurrentNestedVmcs when EnlightenVmEntry
 * (a BOOLEAN at 0x28) is set (TLFS 7.8.7.2, 16.5: "No VMPTRLD
 * instruction must be executed"; KVM's nested_get_evmptr). Inline: the
 * backend (vmx/) and nested/ both read it. */
static inline bool evmcs_assist_current(const void *assist_page, u64 *gpa)
{
	const u8 *a = assist_page;
	if (!a[ASSIST_ENLIGHTEN_VMENTRY])
		return false;
	__builtin_memcpy(gpa, a + ASSIST_CURRENT_NESTED_VMCS, 8);
	return true;
}

#endif
