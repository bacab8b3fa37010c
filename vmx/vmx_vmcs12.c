/*
 * vmx_vmcs12.c - the one table of L1's VMCS fields (include/nested/vmcs12.h):
 * encoding (SDM vol. 3 appendix B) -> member of struct vmcs12, and
 * VMREAD/VMWRITE's access to a field (SDM 31.3: zero-extension, the
 * high half of a 64-bit field with access type 1, truncation to the
 * field's width). Pure: compiled into the host unit tests too.
 */
#include "vmcs12.h"

#define F(e, m)                                                                          \
	{ .enc = (e), .offset = (u16)__builtin_offsetof(struct vmcs12, m),               \
	  .size = (u8)sizeof(((struct vmcs12 *)0)->m) }

/* Sorted by encoding (vmcs12_lookup searches it by halves). */
const struct vmcs12_field vmcs12_fields[] = {
	F(0x0000, virtual_processor_id),
	F(0x0800, guest_es_selector),
	F(0x0802, guest_cs_selector),
	F(0x0804, guest_ss_selector),
	F(0x0806, guest_ds_selector),
	F(0x0808, guest_fs_selector),
	F(0x080a, guest_gs_selector),
	F(0x080c, guest_ldtr_selector),
	F(0x080e, guest_tr_selector),
	F(0x0c00, host_es_selector),
	F(0x0c02, host_cs_selector),
	F(0x0c04, host_ss_selector),
	F(0x0c06, host_ds_selector),
	F(0x0c08, host_fs_selector),
	F(0x0c0a, host_gs_selector),
	F(0x0c0c, host_tr_selector),
	F(0x2000, io_bitmap_a),
	F(0x2002, io_bitmap_b),
	F(0x2004, msr_bitmap),
	F(0x2006, vm_exit_msr_store_addr),
	F(0x2008, vm_exit_msr_load_addr),
	F(0x200a, vm_entry_msr_load_addr),
	F(0x2010, tsc_offset),
	F(0x201a, ept_pointer),
	F(0x2400, guest_physical_address),
	F(0x2800, vmcs_link_pointer),
	F(0x2802, guest_ia32_debugctl),
	F(0x2804, guest_ia32_pat),
	F(0x2806, guest_ia32_efer),
	F(0x280a, guest_pdptr0),
	F(0x280c, guest_pdptr1),
	F(0x280e, guest_pdptr2),
	F(0x2810, guest_pdptr3),
	F(0x2c00, host_ia32_pat),
	F(0x2c02, host_ia32_efer),
	F(0x4000, pin_based_vm_exec_control),
	F(0x4002, cpu_based_vm_exec_control),
	F(0x4004, exception_bitmap),
	F(0x4006, page_fault_error_code_mask),
	F(0x4008, page_fault_error_code_match),
	F(0x400a, cr3_target_count),
	F(0x400c, vm_exit_controls),
	F(0x400e, vm_exit_msr_store_count),
	F(0x4010, vm_exit_msr_load_count),
	F(0x4012, vm_entry_controls),
	F(0x4014, vm_entry_msr_load_count),
	F(0x4016, vm_entry_intr_info_field),
	F(0x4018, vm_entry_exception_error_code),
	F(0x401a, vm_entry_instruction_len),
	F(0x401c, tpr_threshold),
	F(0x401e, secondary_vm_exec_control),
	F(0x4400, vm_instruction_error),
	F(0x4402, vm_exit_reason),
	F(0x4404, vm_exit_intr_info),
	F(0x4406, vm_exit_intr_error_code),
	F(0x4408, idt_vectoring_info_field),
	F(0x440a, idt_vectoring_error_code),
	F(0x440c, vm_exit_instruction_len),
	F(0x440e, vmx_instruction_info),
	F(0x4800, guest_es_limit),
	F(0x4802, guest_cs_limit),
	F(0x4804, guest_ss_limit),
	F(0x4806, guest_ds_limit),
	F(0x4808, guest_fs_limit),
	F(0x480a, guest_gs_limit),
	F(0x480c, guest_ldtr_limit),
	F(0x480e, guest_tr_limit),
	F(0x4810, guest_gdtr_limit),
	F(0x4812, guest_idtr_limit),
	F(0x4814, guest_es_ar_bytes),
	F(0x4816, guest_cs_ar_bytes),
	F(0x4818, guest_ss_ar_bytes),
	F(0x481a, guest_ds_ar_bytes),
	F(0x481c, guest_fs_ar_bytes),
	F(0x481e, guest_gs_ar_bytes),
	F(0x4820, guest_ldtr_ar_bytes),
	F(0x4822, guest_tr_ar_bytes),
	F(0x4824, guest_interruptibility_info),
	F(0x4826, guest_activity_state),
	F(0x4828, guest_smbase),
	F(0x482a, guest_sysenter_cs),
	F(0x4c00, host_ia32_sysenter_cs),
	F(0x6000, cr0_guest_host_mask),
	F(0x6002, cr4_guest_host_mask),
	F(0x6004, cr0_read_shadow),
	F(0x6006, cr4_read_shadow),
	F(0x6008, cr3_target_value0),
	F(0x600a, cr3_target_value1),
	F(0x600c, cr3_target_value2),
	F(0x600e, cr3_target_value3),
	F(0x6400, exit_qualification),
	F(0x6402, exit_io_rcx),
	F(0x6404, exit_io_rsi),
	F(0x6406, exit_io_rdi),
	F(0x6408, exit_io_rip),
	F(0x640a, guest_linear_address),
	F(0x6800, guest_cr0),
	F(0x6802, guest_cr3),
	F(0x6804, guest_cr4),
	F(0x6806, guest_es_base),
	F(0x6808, guest_cs_base),
	F(0x680a, guest_ss_base),
	F(0x680c, guest_ds_base),
	F(0x680e, guest_fs_base),
	F(0x6810, guest_gs_base),
	F(0x6812, guest_ldtr_base),
	F(0x6814, guest_tr_base),
	F(0x6816, guest_gdtr_base),
	F(0x6818, guest_idtr_base),
	F(0x681a, guest_dr7),
	F(0x681c, guest_rsp),
	F(0x681e, guest_rip),
	F(0x6820, guest_rflags),
	F(0x6822, guest_pending_dbg_exceptions),
	F(0x6824, guest_sysenter_esp),
	F(0x6826, guest_sysenter_eip),
	F(0x6c00, host_cr0),
	F(0x6c02, host_cr3),
	F(0x6c04, host_cr4),
	F(0x6c06, host_fs_base),
	F(0x6c08, host_gs_base),
	F(0x6c0a, host_tr_base),
	F(0x6c0c, host_gdtr_base),
	F(0x6c0e, host_idtr_base),
	F(0x6c10, host_ia32_sysenter_esp),
	F(0x6c12, host_ia32_sysenter_eip),
	F(0x6c14, host_rsp),
	F(0x6c16, host_rip),
};
const u32 vmcs12_field_count = sizeof(vmcs12_fields) / sizeof(vmcs12_fields[0]);

const struct vmcs12_field *vmcs12_lookup(u32 enc, bool *high)
{
	*high = false;
	if (enc > 0xffffu)
		return NULL;
	/* Access type 1 (bit 0) exists only for 64-bit fields (B.2-B.3). */
	if ((enc & 1u) && VMCS12_WIDTH(enc) == VMCS12_W64) {
		*high = true;
		enc &= ~1u;
	}
	u32 lo = 0, hi = vmcs12_field_count;
	while (lo < hi) {
		u32 mid = (lo + hi) / 2;
		if (vmcs12_fields[mid].enc == enc)
			return &vmcs12_fields[mid];
		if (vmcs12_fields[mid].enc < enc)
			lo = mid + 1;
		else
			hi = mid;
	}
	*high = false;
	return NULL;
}

u64 vmcs12_read(const struct vmcs12 *v, const struct vmcs12_field *f, bool high)
{
	const u8 *p = (const u8 *)v + f->offset;
	u64 x;
	switch (f->size) {
	case 2: x = *(const u16 *)p; break;
	case 4: x = *(const u32 *)p; break;
	default: x = *(const u64 *)p; break;
	}
	return high ? x >> 32 : x;
}

void vmcs12_write(struct vmcs12 *v, const struct vmcs12_field *f, bool high, u64 val)
{
	u8 *p = (u8 *)v + f->offset;
	switch (f->size) {
	case 2: *(u16 *)p = (u16)val; break;
	case 4: *(u32 *)p = (u32)val; break;
	default:
		if (high)
			*(u64 *)p = (*(u64 *)p & 0xffffffffull) | (val << 32);
		else if (VMCS12_WIDTH(f->enc) == VMCS12_W64 || VMCS12_WIDTH(f->enc) == VMCS12_WNAT)
			*(u64 *)p = val;
		break;
	}
}

u32 vmcs12_max_index(void)
{
	u32 m = 0;
	for (u32 i = 0; i < vmcs12_field_count; i++) {
		u32 idx = (vmcs12_fields[i].enc >> 1) & 0x1ffu;
		if (idx > m)
			m = idx;
	}
	return m;
}
