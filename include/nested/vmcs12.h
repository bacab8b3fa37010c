/*
 * vmcs12.h - L1's current VMCS as hv.efi keeps it (docs/nested.md, "Nested
 * VMX"): one member per VMCS field that the nested VMX emulation offers
 * (SDM vol. 3 appendix B encodings; names as Linux's struct vmcs12, so the
 * enlightened VMCS, TLFS "Enlightened VMCS" / struct hv_enlightened_vmcs,
 * maps onto the same members). VMREAD/VMWRITE reach the members through
 * ONE table (vmx/vmx_vmcs12.c: encoding -> offset, width); the eVMCS code
 * may use the members directly.
 *
 * The VMCS region in L1's memory (SDM 25.2: its layout is the
 * implementation's, only the first 4 bytes are fixed: the revision id L1
 * wrote) holds this struct as is: VMCLEAR and a VMPTRLD of another region
 * write the cache back, VMPTRLD reads it.
 */
#ifndef NESTED_VMCS12_H
#define NESTED_VMCS12_H

#include "types.h"

/* IA32_VMX_BASIC[30:0] as hv.efi reports it to L1: any value below 2^31
 * (SDM A.1); "HVX1" would set bit 31, so a small one. */
#define VMCS12_REVISION 0x00010048u

struct vmcs12 {
	/* Region header (SDM 25.2): revision id, VMX-abort indicator. */
	u32 revision_id;
	u32 abort;
	/* Not VMCS fields: the launch state (SDM 25.1: "clear" after VMCLEAR,
	 * "launched" after VMLAUNCH) kept with the region. */
	u32 launched;
	u32 hdr_pad;

	/* 16-bit */
	u16 virtual_processor_id;
	u16 guest_es_selector, guest_cs_selector, guest_ss_selector, guest_ds_selector;
	u16 guest_fs_selector, guest_gs_selector, guest_ldtr_selector, guest_tr_selector;
	u16 host_es_selector, host_cs_selector, host_ss_selector, host_ds_selector;
	u16 host_fs_selector, host_gs_selector, host_tr_selector;
	u16 pad16;

	/* 64-bit control */
	u64 io_bitmap_a, io_bitmap_b, msr_bitmap;
	u64 vm_exit_msr_store_addr, vm_exit_msr_load_addr, vm_entry_msr_load_addr;
	u64 tsc_offset;
	u64 ept_pointer;
	/* 64-bit read-only */
	u64 guest_physical_address;
	/* 64-bit guest */
	u64 vmcs_link_pointer, guest_ia32_debugctl, guest_ia32_pat, guest_ia32_efer;
	u64 guest_pdptr0, guest_pdptr1, guest_pdptr2, guest_pdptr3;
	/* 64-bit host */
	u64 host_ia32_pat, host_ia32_efer;

	/* 32-bit control */
	u32 pin_based_vm_exec_control, cpu_based_vm_exec_control;
	u32 exception_bitmap, page_fault_error_code_mask, page_fault_error_code_match;
	u32 cr3_target_count;
	u32 vm_exit_controls, vm_exit_msr_store_count, vm_exit_msr_load_count;
	u32 vm_entry_controls, vm_entry_msr_load_count;
	u32 vm_entry_intr_info_field, vm_entry_exception_error_code, vm_entry_instruction_len;
	u32 tpr_threshold;
	u32 secondary_vm_exec_control;
	/* 32-bit read-only */
	u32 vm_instruction_error, vm_exit_reason, vm_exit_intr_info, vm_exit_intr_error_code;
	u32 idt_vectoring_info_field, idt_vectoring_error_code;
	u32 vm_exit_instruction_len, vmx_instruction_info;
	/* 32-bit guest */
	u32 guest_es_limit, guest_cs_limit, guest_ss_limit, guest_ds_limit;
	u32 guest_fs_limit, guest_gs_limit, guest_ldtr_limit, guest_tr_limit;
	u32 guest_gdtr_limit, guest_idtr_limit;
	u32 guest_es_ar_bytes, guest_cs_ar_bytes, guest_ss_ar_bytes, guest_ds_ar_bytes;
	u32 guest_fs_ar_bytes, guest_gs_ar_bytes, guest_ldtr_ar_bytes, guest_tr_ar_bytes;
	u32 guest_interruptibility_info, guest_activity_state, guest_smbase;
	u32 guest_sysenter_cs;
	/* 32-bit host */
	u32 host_ia32_sysenter_cs;
	u32 pad32;

	/* natural-width control */
	u64 cr0_guest_host_mask, cr4_guest_host_mask, cr0_read_shadow, cr4_read_shadow;
	u64 cr3_target_value0, cr3_target_value1, cr3_target_value2, cr3_target_value3;
	/* natural-width read-only */
	u64 exit_qualification;
	u64 exit_io_rcx, exit_io_rsi, exit_io_rdi, exit_io_rip;
	u64 guest_linear_address;
	/* natural-width guest */
	u64 guest_cr0, guest_cr3, guest_cr4;
	u64 guest_es_base, guest_cs_base, guest_ss_base, guest_ds_base;
	u64 guest_fs_base, guest_gs_base, guest_ldtr_base, guest_tr_base;
	u64 guest_gdtr_base, guest_idtr_base;
	u64 guest_dr7, guest_rsp, guest_rip, guest_rflags;
	u64 guest_pending_dbg_exceptions, guest_sysenter_esp, guest_sysenter_eip;
	/* natural-width host */
	u64 host_cr0, host_cr3, host_cr4;
	u64 host_fs_base, host_gs_base, host_tr_base, host_gdtr_base, host_idtr_base;
	u64 host_ia32_sysenter_esp, host_ia32_sysenter_eip;
	u64 host_rsp, host_rip;
};
_Static_assert(sizeof(struct vmcs12) <= 4096, "vmcs12 fits the VMCS region");

/* Field types (encoding bits 11:10, SDM B): 1 is read-only data. */
#define VMCS12_TYPE(enc) (((enc) >> 10) & 3u)
#define VMCS12_TYPE_RO 1u
/* Widths (bits 14:13): 0 16-bit, 1 64-bit, 2 32-bit, 3 natural. */
#define VMCS12_WIDTH(enc) (((enc) >> 13) & 3u)
#define VMCS12_W16 0u
#define VMCS12_W64 1u
#define VMCS12_W32 2u
#define VMCS12_WNAT 3u

struct vmcs12_field {
	u16 enc;    /* the full (access type 0) encoding */
	u16 offset; /* offsetof(struct vmcs12, member) */
	u8 size;    /* the member's bytes: 2, 4 or 8 */
};

/* vmx/vmx_vmcs12.c: the table, sorted by encoding. */
extern const struct vmcs12_field vmcs12_fields[];
extern const u32 vmcs12_field_count;

/* The field of encoding enc (for a 64-bit field's high half, bit 0 set,
 * the field itself with *high = true), or NULL: unsupported (VMREAD and
 * VMWRITE fail with error 12, SDM 31.4). Bits 63:32 of the operand must
 * be 0 (the caller checks). */
const struct vmcs12_field *vmcs12_lookup(u32 enc, bool *high);
/* Read/write a field as VMREAD/VMWRITE do (SDM 31.3): the value is
 * zero-extended; a write keeps the bits the field has; a high-half
 * access reads/writes bits 63:32. */
u64 vmcs12_read(const struct vmcs12 *v, const struct vmcs12_field *f, bool high);
void vmcs12_write(struct vmcs12 *v, const struct vmcs12_field *f, bool high, u64 val);
/* The highest field index (encoding bits 9:1) in the table: IA32_VMX_VMCS_ENUM
 * (SDM A.9). */
u32 vmcs12_max_index(void);

#endif
