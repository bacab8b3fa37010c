/*
 * vmx_evmcs.c - the enlightened VMCS's fields (TLFS 6.0 16.5,
 * 16.11.2-16.11.4; include/nested/evmcs.h, docs/nested.md "Enlightened
 * VMCS"). Here and not in nested/ because the nested VMLAUNCH/VMRESUME
 * and the nested VM exit (vmx_nested.c) copy through it, and vmx/ uses
 * nothing above lib/ and arch/ (docs/architecture.md); pure, host-tested.
 * The Hv#1 side (the VP assist page, leaf 0x4000000A) is nested/evmcs.c.
 *
 * ONE table maps each eVMCS field to its VMCS field encoding (SDM vol. 3
 * appendix B), width and clean-field group. The groups are Linux's
 * (arch/x86/kvm/vmx/hyperv_evmcs.c, vmcs_field_to_evmcs_1), which are
 * TLFS 16.11.4's plus the fields the TLFS leaves without a group (MSR
 * load/store lists, CR3 targets, #PF error-code mask/match: "ALL") and
 * GuestEsAttributes, which the TLFS table omits (GUEST_GRP2 as its
 * neighbours). The rows are in load-class order (NONE, group bits 0..15,
 * ALL, read-only) so that a VM entry visits only the dirty groups' rows.
 *
 * The table is resolved once against the vmcs12's own field table
 * (evmcs_map_init): each row then copies between two byte offsets, so
 * this file needs nothing of the vmcs12 but its field lookup.
 */
#include "evmcs.h"

#define EV(m) offsetof(struct hv_enlightened_vmcs, m)
#define EW(m) ((u8)sizeof(((struct hv_enlightened_vmcs *)0)->m))
#define ROW(m, enc, grp, fl) { EV(m), (u16)(grp), (enc), EW(m), (fl), #m }
#define OUT EVMCS_F_OUT
#define RO (EVMCS_F_RO | EVMCS_F_OUT)

const struct evmcs_field evmcs_fields[] = {
	/* NONE: read at every entry (TLFS 16.11.4) */
	ROW(guest_rip, 0x681e, EVMCS_CLEAN_NONE, OUT),
	ROW(tpr_threshold, 0x401c, EVMCS_CLEAN_NONE, 0),
	/* bit 0 IO_BITMAP */
	ROW(io_bitmap_a, 0x2000, EVMCS_CLEAN_IO_BITMAP, 0),
	ROW(io_bitmap_b, 0x2002, EVMCS_CLEAN_IO_BITMAP, 0),
	/* bit 1 MSR_BITMAP */
	ROW(msr_bitmap, 0x2004, EVMCS_CLEAN_MSR_BITMAP, 0),
	/* bit 2 CONTROL_GRP2 */
	ROW(tsc_offset, 0x2010, EVMCS_CLEAN_CONTROL_GRP2, 0),
	ROW(virtual_apic_page_addr, 0x2012, EVMCS_CLEAN_CONTROL_GRP2, 0),
	ROW(xss_exit_bitmap, 0x202c, EVMCS_CLEAN_CONTROL_GRP2, 0),
	ROW(encls_exiting_bitmap, 0x202e, EVMCS_CLEAN_CONTROL_GRP2, 0),
	/* bit 3 CONTROL_GRP1 */
	ROW(pin_based_vm_exec_control, 0x4000, EVMCS_CLEAN_CONTROL_GRP1, 0),
	ROW(vm_exit_controls, 0x400c, EVMCS_CLEAN_CONTROL_GRP1, 0),
	ROW(secondary_vm_exec_control, 0x401e, EVMCS_CLEAN_CONTROL_GRP1, 0),
	/* bit 4 CONTROL_PROC */
	ROW(cpu_based_vm_exec_control, 0x4002, EVMCS_CLEAN_CONTROL_PROC, OUT),
	/* bit 5 CONTROL_EVENT */
	ROW(vm_entry_intr_info_field, 0x4016, EVMCS_CLEAN_CONTROL_EVENT, OUT),
	ROW(vm_entry_exception_error_code, 0x4018, EVMCS_CLEAN_CONTROL_EVENT, OUT),
	ROW(vm_entry_instruction_len, 0x401a, EVMCS_CLEAN_CONTROL_EVENT, OUT),
	/* bit 6 CONTROL_ENTRY */
	ROW(vm_entry_controls, 0x4012, EVMCS_CLEAN_CONTROL_ENTRY, OUT),
	/* bit 7 CONTROL_EXCPN */
	ROW(exception_bitmap, 0x4004, EVMCS_CLEAN_CONTROL_EXCPN, 0),
	/* bit 8 CRDR */
	ROW(cr0_guest_host_mask, 0x6000, EVMCS_CLEAN_CRDR, 0),
	ROW(cr4_guest_host_mask, 0x6002, EVMCS_CLEAN_CRDR, 0),
	ROW(cr0_read_shadow, 0x6004, EVMCS_CLEAN_CRDR, 0),
	ROW(cr4_read_shadow, 0x6006, EVMCS_CLEAN_CRDR, 0),
	ROW(guest_cr0, 0x6800, EVMCS_CLEAN_CRDR, OUT),
	ROW(guest_cr3, 0x6802, EVMCS_CLEAN_CRDR, OUT),
	ROW(guest_cr4, 0x6804, EVMCS_CLEAN_CRDR, OUT),
	ROW(guest_dr7, 0x681a, EVMCS_CLEAN_CRDR, OUT),
	/* bit 9 CONTROL_XLAT */
	ROW(virtual_processor_id, 0x0000, EVMCS_CLEAN_CONTROL_XLAT, 0),
	ROW(ept_pointer, 0x201a, EVMCS_CLEAN_CONTROL_XLAT, 0),
	/* bit 10 GUEST_BASIC */
	ROW(guest_rsp, 0x681c, EVMCS_CLEAN_GUEST_BASIC, OUT),
	ROW(guest_rflags, 0x6820, EVMCS_CLEAN_GUEST_BASIC, OUT),
	ROW(guest_interruptibility_info, 0x4824, EVMCS_CLEAN_GUEST_BASIC, OUT),
	/* bit 11 GUEST_GRP1 */
	ROW(vmcs_link_pointer, 0x2800, EVMCS_CLEAN_GUEST_GRP1, 0),
	ROW(guest_ia32_debugctl, 0x2802, EVMCS_CLEAN_GUEST_GRP1, OUT),
	ROW(guest_ia32_pat, 0x2804, EVMCS_CLEAN_GUEST_GRP1, OUT),
	ROW(guest_ia32_efer, 0x2806, EVMCS_CLEAN_GUEST_GRP1, OUT),
	ROW(guest_pdptr0, 0x280a, EVMCS_CLEAN_GUEST_GRP1, OUT),
	ROW(guest_pdptr1, 0x280c, EVMCS_CLEAN_GUEST_GRP1, OUT),
	ROW(guest_pdptr2, 0x280e, EVMCS_CLEAN_GUEST_GRP1, OUT),
	ROW(guest_pdptr3, 0x2810, EVMCS_CLEAN_GUEST_GRP1, OUT),
	ROW(guest_bndcfgs, 0x2812, EVMCS_CLEAN_GUEST_GRP1, OUT),
	ROW(guest_pending_dbg_exceptions, 0x6822, EVMCS_CLEAN_GUEST_GRP1, OUT),
	ROW(guest_sysenter_esp, 0x6824, EVMCS_CLEAN_GUEST_GRP1, OUT),
	ROW(guest_sysenter_eip, 0x6826, EVMCS_CLEAN_GUEST_GRP1, OUT),
	ROW(guest_activity_state, 0x4826, EVMCS_CLEAN_GUEST_GRP1, OUT),
	ROW(guest_sysenter_cs, 0x482a, EVMCS_CLEAN_GUEST_GRP1, OUT),
	/* bit 12 GUEST_GRP2 */
	ROW(guest_es_selector, 0x0800, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_cs_selector, 0x0802, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_ss_selector, 0x0804, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_ds_selector, 0x0806, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_fs_selector, 0x0808, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_gs_selector, 0x080a, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_ldtr_selector, 0x080c, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_tr_selector, 0x080e, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_es_limit, 0x4800, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_cs_limit, 0x4802, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_ss_limit, 0x4804, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_ds_limit, 0x4806, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_fs_limit, 0x4808, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_gs_limit, 0x480a, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_ldtr_limit, 0x480c, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_tr_limit, 0x480e, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_gdtr_limit, 0x4810, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_idtr_limit, 0x4812, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_es_ar_bytes, 0x4814, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_cs_ar_bytes, 0x4816, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_ss_ar_bytes, 0x4818, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_ds_ar_bytes, 0x481a, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_fs_ar_bytes, 0x481c, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_gs_ar_bytes, 0x481e, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_ldtr_ar_bytes, 0x4820, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_tr_ar_bytes, 0x4822, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_es_base, 0x6806, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_cs_base, 0x6808, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_ss_base, 0x680a, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_ds_base, 0x680c, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_fs_base, 0x680e, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_gs_base, 0x6810, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_ldtr_base, 0x6812, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_tr_base, 0x6814, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_gdtr_base, 0x6816, EVMCS_CLEAN_GUEST_GRP2, OUT),
	ROW(guest_idtr_base, 0x6818, EVMCS_CLEAN_GUEST_GRP2, OUT),
	/* bit 13 HOST_POINTER */
	ROW(host_fs_base, 0x6c06, EVMCS_CLEAN_HOST_POINTER, 0),
	ROW(host_gs_base, 0x6c08, EVMCS_CLEAN_HOST_POINTER, 0),
	ROW(host_tr_base, 0x6c0a, EVMCS_CLEAN_HOST_POINTER, 0),
	ROW(host_gdtr_base, 0x6c0c, EVMCS_CLEAN_HOST_POINTER, 0),
	ROW(host_idtr_base, 0x6c0e, EVMCS_CLEAN_HOST_POINTER, 0),
	ROW(host_rsp, 0x6c14, EVMCS_CLEAN_HOST_POINTER, 0),
	/* bit 14 HOST_GRP1 */
	ROW(host_es_selector, 0x0c00, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_cs_selector, 0x0c02, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_ss_selector, 0x0c04, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_ds_selector, 0x0c06, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_fs_selector, 0x0c08, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_gs_selector, 0x0c0a, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_tr_selector, 0x0c0c, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_ia32_pat, 0x2c00, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_ia32_efer, 0x2c02, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_ia32_sysenter_cs, 0x4c00, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_cr0, 0x6c00, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_cr3, 0x6c02, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_cr4, 0x6c04, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_ia32_sysenter_esp, 0x6c10, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_ia32_sysenter_eip, 0x6c12, EVMCS_CLEAN_HOST_GRP1, 0),
	ROW(host_rip, 0x6c16, EVMCS_CLEAN_HOST_GRP1, 0),
	/* bit 15 ENLIGHTENMENTSCONTROL: synthetic fields only (the
	 * enlightenments control, VP and VM ids, partition assist page),
	 * read by their users, no VMCS field. */
	/* ALL: no group in the TLFS; re-read unless every group is clean */
	ROW(vm_exit_msr_store_addr, 0x2006, EVMCS_CLEAN_ALL, 0),
	ROW(vm_exit_msr_load_addr, 0x2008, EVMCS_CLEAN_ALL, 0),
	ROW(vm_entry_msr_load_addr, 0x200a, EVMCS_CLEAN_ALL, 0),
	ROW(page_fault_error_code_mask, 0x4006, EVMCS_CLEAN_ALL, 0),
	ROW(page_fault_error_code_match, 0x4008, EVMCS_CLEAN_ALL, 0),
	ROW(cr3_target_count, 0x400a, EVMCS_CLEAN_ALL, 0),
	ROW(vm_exit_msr_store_count, 0x400e, EVMCS_CLEAN_ALL, 0),
	ROW(vm_exit_msr_load_count, 0x4010, EVMCS_CLEAN_ALL, 0),
	ROW(vm_entry_msr_load_count, 0x4014, EVMCS_CLEAN_ALL, 0),
	ROW(cr3_target_value0, 0x6008, EVMCS_CLEAN_ALL, 0),
	ROW(cr3_target_value1, 0x600a, EVMCS_CLEAN_ALL, 0),
	ROW(cr3_target_value2, 0x600c, EVMCS_CLEAN_ALL, 0),
	ROW(cr3_target_value3, 0x600e, EVMCS_CLEAN_ALL, 0),
	/* Read only: the VM-exit information (TLFS 16.11.4 "no corresponding
	 * clean field"), written at every nested VM exit */
	ROW(guest_physical_address, 0x2400, EVMCS_CLEAN_NONE, RO),
	ROW(vm_instruction_error, 0x4400, EVMCS_CLEAN_NONE, RO),
	ROW(vm_exit_reason, 0x4402, EVMCS_CLEAN_NONE, RO),
	ROW(vm_exit_intr_info, 0x4404, EVMCS_CLEAN_NONE, RO),
	ROW(vm_exit_intr_error_code, 0x4406, EVMCS_CLEAN_NONE, RO),
	ROW(idt_vectoring_info_field, 0x4408, EVMCS_CLEAN_NONE, RO),
	ROW(idt_vectoring_error_code, 0x440a, EVMCS_CLEAN_NONE, RO),
	ROW(vm_exit_instruction_len, 0x440c, EVMCS_CLEAN_NONE, RO),
	ROW(vmx_instruction_info, 0x440e, EVMCS_CLEAN_NONE, RO),
	ROW(exit_qualification, 0x6400, EVMCS_CLEAN_NONE, RO),
	ROW(exit_io_instruction_ecx, 0x6402, EVMCS_CLEAN_NONE, RO),
	ROW(exit_io_instruction_esi, 0x6404, EVMCS_CLEAN_NONE, RO),
	ROW(exit_io_instruction_edi, 0x6406, EVMCS_CLEAN_NONE, RO),
	ROW(exit_io_instruction_eip, 0x6408, EVMCS_CLEAN_NONE, RO),
	ROW(guest_linear_address, 0x640a, EVMCS_CLEAN_NONE, RO),
};
const u32 evmcs_nfields = sizeof(evmcs_fields) / sizeof(evmcs_fields[0]);
_Static_assert(sizeof(evmcs_fields) / sizeof(evmcs_fields[0]) <= EVMCS_MAX_FIELDS, "EVMCS_MAX_FIELDS");

/* The load class of a row: 0 NONE, 1 + n group bit n, 17 ALL, 18 RO. */
static u32 row_class(const struct evmcs_field *f)
{
	if (f->flags & EVMCS_F_RO)
		return 18;
	if (f->group == EVMCS_CLEAN_NONE)
		return 0;
	if (f->group == EVMCS_CLEAN_ALL)
		return 17;
	return 1 + (u32)__builtin_ctz(f->group);
}

/* SDM appendix B: bits 14:13 of an encoding give the width (16-bit,
 * 64-bit, 32-bit, natural); natural-width fields are 8 bytes here. */
static u8 enc_width(u32 enc)
{
	static const u8 w[4] = { 2, 8, 4, 8 };
	return w[(enc >> 13) & 3];
}

int evmcs_map_init(struct evmcs_map *m, evmcs_vmcs12_field_fn fn)
{
	u32 cls = 0;
	m->nout = 0;
	m->nout_fields = 0;
	m->missing = 0;
	for (u32 c = 0; c <= EVMCS_CLASSES; c++)
		m->class_start[c] = 0;
	for (u32 i = 0; i < evmcs_nfields; i++) {
		const struct evmcs_field *f = &evmcs_fields[i];
		u32 c = row_class(f);
		if (c < cls || f->width != enc_width(f->enc))
			return -1;
		while (cls < c)
			m->class_start[++cls] = (u16)i;
		u16 off = 0;
		u8 w = 0;
		if (!fn(f->enc, &off, &w) || (w != 2 && w != 4 && w != 8)) {
			w = 0;
			m->missing++;
		}
		m->v12_off[i] = off;
		m->v12_width[i] = w;
		m->cp[i] = (struct evmcs_cp){ f->off, off, w ? (u8)(f->width << 4 | w) : 0, 1 };
		if (!(f->flags & EVMCS_F_OUT) || !w)
			continue;
		/* Write-back runs: a field right after the last run's end in both
		 * layouts, with the same width on both sides, extends it (the
		 * segment fields, the exit information: one loop each). */
		m->nout_fields++;
		struct evmcs_cp *r = m->nout ? &m->out[m->nout - 1] : NULL;
		u8 k = m->cp[i].kind;
		if (r && r->kind == k && (k == 0x22 || k == 0x44 || k == 0x88) && r->n < 255 &&
		    r->ev + r->n * w == f->off && r->v12 + r->n * w == off)
			r->n++;
		else
			m->out[m->nout++] = m->cp[i];
	}
	while (cls < EVMCS_CLASSES)
		m->class_start[++cls] = (u16)evmcs_nfields;
	return 0;
}

static inline u64 load_w(const u8 *p, u8 w)
{
	if (w == 2) {
		u16 v;
		__builtin_memcpy(&v, p, 2);
		return v;
	}
	if (w == 4) {
		u32 v;
		__builtin_memcpy(&v, p, 4);
		return v;
	}
	u64 v;
	__builtin_memcpy(&v, p, 8);
	return v;
}

static inline void store_w(u8 *p, u8 w, u64 v)
{
	if (w == 2) {
		u16 x = (u16)v;
		__builtin_memcpy(p, &x, 2);
	} else if (w == 4) {
		u32 x = (u32)v;
		__builtin_memcpy(p, &x, 4);
	} else {
		__builtin_memcpy(p, &v, 8);
	}
}

/* One field from src (width kind >> 4 when to_v12, else kind & 15) to
 * dst: the same width (every field of hv.efi's vmcs12 today) is one
 * move; else zero-extended or truncated. This runs for every field at a
 * nested VM exit: keep it short (docs/performance.md). */
static inline __attribute__((always_inline)) void copy1(u8 *dst, const u8 *src, u8 kind,
							 bool to_v12)
{
	switch (kind) {
	case 0x22: __builtin_memcpy(dst, src, 2); break;
	case 0x44: __builtin_memcpy(dst, src, 4); break;
	case 0x88: __builtin_memcpy(dst, src, 8); break;
	case 0: break;
	default:
		store_w(dst, to_v12 ? kind & 15 : kind >> 4, load_w(src, to_v12 ? kind >> 4 : kind & 15));
		break;
	}
}

static void load_rows(const struct evmcs_map *m, u8 *v12, const u8 *ev, u32 from, u32 to)
{
	for (u32 i = from; i < to; i++)
		copy1(v12 + m->cp[i].v12, ev + m->cp[i].ev, m->cp[i].kind, true);
}

u32 evmcs_load(const struct evmcs_map *m, void *vmcs12, const struct hv_enlightened_vmcs *e,
	       u32 clean)
{
	u8 *v12 = vmcs12;
	const u8 *ev = (const u8 *)e;
	u32 read = 0;
	load_rows(m, v12, ev, m->class_start[0], m->class_start[1]);
	/* The dirty groups only: a clean bit set means L1 has not changed
	 * the group since hv.efi last read it (TLFS 16.5.2). */
	u32 dirty = ~clean & 0xffffu;
	while (dirty) {
		u32 b = (u32)__builtin_ctz(dirty);
		dirty &= dirty - 1;
		read |= 1u << b;
		load_rows(m, v12, ev, m->class_start[1 + b], m->class_start[2 + b]);
	}
	if ((clean & EVMCS_CLEAN_ALL) != EVMCS_CLEAN_ALL) {
		read |= 1u << 16;
		load_rows(m, v12, ev, m->class_start[17], m->class_start[18]);
	}
	return read;
}

void evmcs_store(const struct evmcs_map *m, struct hv_enlightened_vmcs *e, const void *vmcs12)
{
	const u8 *v12 = vmcs12;
	u8 *ev = (u8 *)e;
	for (u32 k = 0; k < m->nout; k++) {
		const struct evmcs_cp *r = &m->out[k];
		u8 *d = ev + r->ev;
		const u8 *s = v12 + r->v12;
		/* One string move per run: a C loop cost about 11 instructions
		 * a field, 848 per exit (docs/performance.md, issue 18). */
		u64 cnt = r->n;
		switch (r->kind) {
		case 0x88:
			__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(cnt) : : "memory");
			break;
		case 0x44:
			__asm__ volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(cnt) : : "memory");
			break;
		case 0x22:
			__asm__ volatile("rep movsw" : "+D"(d), "+S"(s), "+c"(cnt) : : "memory");
			break;
		default:
			copy1(d, s, r->kind, false);
			break;
		}
	}
	/* The eVMCS now holds what the vmcs12 holds: every group clean, as
	 * KVM's L0 leaves it (nested_sync_vmcs12_to_shadow). */
	e->hv_clean_fields |= EVMCS_CLEAN_ALL;
}

/*
 * The controls eVMCS v1 can express (TLFS 16.11.2 has no field for the
 * rest), as KVM's EVMCS1_SUPPORTED_* (SDM vol. 3 24.6-24.8 bit numbers).
 * Left out, each for the field it would need: pin 6 preemption timer
 * (timer value), 7 posted interrupts (vector, descriptor); primary 17
 * tertiary controls; secondary 0 virtualize APIC accesses (APIC-access
 * address), 8/9 APIC-register virtualization / virtual-interrupt delivery
 * (EOI-exit bitmaps, guest interrupt status), 10 PAUSE-loop exiting (gap,
 * window), 13 VMFUNC, 14 VMCS shadowing (VMREAD/VMWRITE bitmaps), 17 PML,
 * 18 EPT-violation #VE, 22/23 mode-based execute / sub-page permissions,
 * 25 TSC scaling (multiplier: a 2022 field); exit 12 / entry 13 perf
 * global control (2022 fields), exit 22 save preemption timer, entry 18
 * load RTIT_CTL (no RTIT_CTL field).
 */
#define PIN_OK (0x16u | BIT(0) | BIT(3) | BIT(5))
#define PROC_OK (0x0401e172u | BIT(2) | BIT(3) | BIT(7) | BIT(9) | BIT(10) | BIT(11) | BIT(12) | \
		 BIT(15) | BIT(16) | BIT(19) | BIT(20) | BIT(21) | BIT(22) | BIT(23) | BIT(24) |     \
		 BIT(25) | BIT(27) | BIT(28) | BIT(29) | BIT(30) | BIT(31))
#define PROC2_OK (BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(11) | \
		  BIT(12) | BIT(15) | BIT(16) | BIT(19) | BIT(20) | BIT(24) | BIT(26) | BIT(30) | \
		  BIT(31))
#define EXIT_OK (0x36dffu | BIT(2) | BIT(9) | BIT(15) | BIT(18) | BIT(19) | BIT(20) | BIT(21) | \
		 BIT(23) | BIT(24) | BIT(25))
#define ENTRY_OK (0x11ffu | BIT(2) | BIT(9) | BIT(14) | BIT(15) | BIT(16) | BIT(17))

const char *evmcs_check_controls(u32 pin, u32 proc, u32 proc2, u32 exit, u32 entry)
{
	if (pin & ~(u32)PIN_OK)
		return "pin-based controls";
	if (proc & ~(u32)PROC_OK)
		return "primary processor-based controls";
	/* Secondary controls count only when activated (SDM 24.6.2). */
	if ((proc & BIT(31)) && (proc2 & ~(u32)PROC2_OK))
		return "secondary processor-based controls";
	if (exit & ~(u32)EXIT_OK)
		return "VM-exit controls";
	if (entry & ~(u32)ENTRY_OK)
		return "VM-entry controls";
	return NULL;
}

/* ---- an L1's enlightened entries ----------------------------------------- */

void evmcs_release(struct evmcs_vp *s)
{
	s->gpa = ~0ull;
	s->e = NULL;
	s->active = false;
	s->msr_bitmap_same = false;
}

int evmcs_enter(struct evmcs_vp *s, const struct evmcs_map *m, void *vmcs12, u32 vmcs12_size,
		struct hv_enlightened_vmcs *e, u64 gpa, bool launch, u32 vmcs_rev)
{
	bool changed = gpa != s->gpa || !s->e;
	if (e->revision_id != EVMCS_VERSION && e->revision_id != vmcs_rev) {
		evmcs_release(s);
		return -1;
	}
	if (changed && launch)
		__builtin_memset(vmcs12, 0, vmcs12_size);
	/* TLFS 16.5.2: the clean fields say what changed since L0 last read
	 * this eVMCS; for another eVMCS, or at VMLAUNCH, everything has. */
	u32 clean = (changed || launch) ? 0 : e->hv_clean_fields;
	s->msr_bitmap_same = (e->hv_enlightenments_control & EVMCS_ENL_MSR_BITMAP) &&
			     (clean & EVMCS_CLEAN_MSR_BITMAP);
	if (!(clean & EVMCS_CLEAN_ENLIGHTENMENTSCONTROL)) {
		s->enl_ctl = e->hv_enlightenments_control;
		s->vp_id = e->hv_vp_id;
		s->vm_id = e->hv_vm_id;
		s->assist_pa = e->partition_assist_page;
	}
	s->read = evmcs_load(m, vmcs12, e, clean);
	s->full_loads += clean == 0;
	s->entries++;
	s->gpa = gpa;
	s->e = e;
	s->active = true;
	return 0;
}

void evmcs_exit(struct evmcs_vp *s, const struct evmcs_map *m, const void *vmcs12)
{
	if (s->active)
		evmcs_store(m, s->e, vmcs12);
}
