/*
 * test_nested_vmx.c - nested VMX, the pure parts (docs/nested.md, "Nested
 * VMX"): the one table of vmcs12 fields (vmx/vmx_vmcs12.c: encodings of SDM
 * appendix B, VMREAD/VMWRITE widths, SDM 31.3), the capability MSRs L1 reads
 * (appendix A) and the VM-entry checks (vmx/vmx_nested_check.c, SDM 26.2,
 * 26.3.1: VMfailValid 7/8, VM-entry failure).
 */
#include "htest.h"
#include <stddef.h>
#include <string.h>
#include "../../vmx/vmx_nested.h"

TEST(nested_vmcs12_table_sorted_unique)
{
	for (u32 i = 0; i < vmcs12_field_count; i++) {
		const struct vmcs12_field *f = &vmcs12_fields[i];
		if (i)
			CHECK(vmcs12_fields[i - 1].enc < f->enc);
		CHECK(!(f->enc & 1)); /* full access type */
		u32 w = VMCS12_WIDTH(f->enc);
		CHECK_EQ(f->size, w == VMCS12_W16 ? 2 : w == VMCS12_W32 ? 4 : 8);
		CHECK(f->offset >= offsetof(struct vmcs12, virtual_processor_id));
		CHECK(f->offset + f->size <= sizeof(struct vmcs12));
		/* No two fields share bytes. */
		for (u32 j = 0; j < i; j++) {
			const struct vmcs12_field *g = &vmcs12_fields[j];
			CHECK(f->offset + f->size <= g->offset || g->offset + g->size <= f->offset);
		}
	}
	CHECK(vmcs12_field_count >= 120);
}

TEST(nested_vmcs12_lookup)
{
	bool high = true;
	const struct vmcs12_field *f = vmcs12_lookup(0x681e, &high); /* guest RIP */
	CHECK(f && f->offset == offsetof(struct vmcs12, guest_rip) && !high);
	f = vmcs12_lookup(0x2807, &high); /* guest EFER, high half */
	CHECK(f && f->offset == offsetof(struct vmcs12, guest_ia32_efer) && high);
	CHECK(vmcs12_lookup(0x6821, &high) == NULL); /* natural width has no high half */
	CHECK(vmcs12_lookup(0x2028, &high) == NULL); /* VMREAD bitmap: not offered */
	CHECK(vmcs12_lookup(0x482e, &high) == NULL); /* preemption timer: not offered */
	CHECK(vmcs12_lookup(0x10000, &high) == NULL);
	for (u32 i = 0; i < vmcs12_field_count; i++)
		CHECK(vmcs12_lookup(vmcs12_fields[i].enc, &high) == &vmcs12_fields[i]);
	CHECK_EQ(vmcs12_max_index(), 21); /* 0x482a, guest SYSENTER_CS */
}

TEST(nested_vmcs12_read_write_widths)
{
	static struct vmcs12 v;
	bool high;
	const struct vmcs12_field *f16 = vmcs12_lookup(0x0000, &high);
	vmcs12_write(&v, f16, false, 0x12345);
	CHECK_EQ(v.virtual_processor_id, 0x2345);
	CHECK_EQ(vmcs12_read(&v, f16, false), 0x2345);
	const struct vmcs12_field *f64 = vmcs12_lookup(0x2806, &high);
	vmcs12_write(&v, f64, false, 0x1122334455667788ull);
	CHECK_EQ(vmcs12_read(&v, f64, true), 0x11223344);
	vmcs12_write(&v, f64, true, 0xaabbccdd);
	CHECK_EQ(v.guest_ia32_efer, 0xaabbccdd55667788ull);
	const struct vmcs12_field *f32 = vmcs12_lookup(0x4002, &high);
	vmcs12_write(&v, f32, false, 0xffffffff12345678ull);
	CHECK_EQ(v.cpu_based_vm_exec_control, 0x12345678);
	CHECK_EQ(VMCS12_TYPE(0x4402), VMCS12_TYPE_RO);
	CHECK(VMCS12_TYPE(0x681e) != VMCS12_TYPE_RO);
}

static const struct vmx_caps host = { .cr0_fixed1 = 0xffffffffull, .cr4_fixed1 = 0xf72fffull };

TEST(nested_vmx_caps_msrs)
{
	u64 v = 0;
	CHECK_EQ(vmx_nested_msr(&host, 0x480, &v), 0);
	CHECK_EQ(v & 0x7fffffff, VMCS12_REVISION);
	CHECK_EQ((v >> 32) & 0x1fff, 4096);
	CHECK(v & (1ull << 55));
	CHECK_EQ(vmx_nested_msr(&host, 0x48b, &v), 0);
	CHECK_EQ(v, 0xa2ull << 32); /* EPT, VPID, unrestricted guest */
	CHECK_EQ(vmx_nested_msr(&host, 0x482, &v), 0);
	CHECK_EQ((u32)v & (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING),
		 PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING); /* default1 in the legacy MSR */
	CHECK_EQ(vmx_nested_msr(&host, 0x48e, &v), 0);
	CHECK(!((u32)v & PROC_CR3_LOAD_EXITING)); /* ... not in the TRUE one */
	CHECK(!((v >> 32) & PROC_MONITOR_TRAP_FLAG));
	CHECK_EQ(vmx_nested_msr(&host, 0x48a, &v), 0);
	CHECK_EQ(v, 21u << 1);
	CHECK_EQ(vmx_nested_msr(&host, 0x489, &v), 0);
	CHECK_EQ(v, host.cr4_fixed1);
	CHECK_EQ(vmx_nested_msr(&host, 0x48c, &v), 0);
	CHECK(!(v & EPT_CAP_1G));
	CHECK_EQ(vmx_nested_msr(&host, 0x491, &v), -1); /* VMFUNC */
	CHECK_EQ(vmx_nested_msr(&host, 0x492, &v), -1);
}

/* A VMCS that passes every check: a 32-bit L2 on L1's EPT, a 64-bit L1. */
static void good(struct vmcs12 *v)
{
	memset(v, 0, sizeof(*v));
	v->pin_based_vm_exec_control = NVMX_PIN_DEFAULT1;
	v->cpu_based_vm_exec_control = NVMX_PROC_RESERVED1 | PROC_HLT_EXITING | PROC_USE_IO_BITMAPS |
				       PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY;
	v->secondary_vm_exec_control = PROC2_ENABLE_EPT | PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST;
	v->vm_exit_controls = NVMX_EXIT_RESERVED1 | EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_IA32_EFER;
	v->vm_entry_controls = NVMX_ENTRY_RESERVED1 | ENTRY_LOAD_IA32_EFER;
	v->io_bitmap_a = 0x10000;
	v->io_bitmap_b = 0x11000;
	v->msr_bitmap = 0x12000;
	v->ept_pointer = 0x13000 | 0x1e;
	v->virtual_processor_id = 1;
	v->host_cr0 = 0x80000031;
	v->host_cr4 = 0x2020;
	v->host_ia32_efer = 0x500;
	v->host_cs_selector = 0x38;
	v->host_tr_selector = 0x40;
	v->host_rip = 0xffffffff80001000ull;
	v->guest_cr0 = 0x31;
	v->guest_cr4 = 0x2000;
	v->guest_cs_selector = 8;
	v->guest_cs_ar_bytes = 0xc09b;
	v->guest_ss_ar_bytes = v->guest_ds_ar_bytes = v->guest_es_ar_bytes = 0xc093;
	v->guest_fs_ar_bytes = v->guest_gs_ar_bytes = v->guest_ldtr_ar_bytes = 0x10000;
	v->guest_tr_ar_bytes = 0x8b;
	v->guest_rflags = 2;
	v->guest_rip = 0x1000;
	v->vmcs_link_pointer = ~0ull;
}

TEST(nested_vmx_entry_checks_controls)
{
	static struct vmcs12 v;
	const char *why = "x";
	good(&v);
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 0);
	CHECK(why == NULL);
	v.pin_based_vm_exec_control |= PIN_PREEMPT_TIMER;
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	good(&v);
	v.pin_based_vm_exec_control &= ~BIT(1); /* a reserved default1 bit */
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	good(&v);
	v.secondary_vm_exec_control |= BIT(3); /* RDTSCP: not offered */
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	v.cpu_based_vm_exec_control &= ~PROC_ACTIVATE_SECONDARY; /* ... ignored without it */
	v.secondary_vm_exec_control = BIT(3);
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 0);
	good(&v);
	v.io_bitmap_b = 0x11008;
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	good(&v);
	v.msr_bitmap = 1ull << 40;
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	good(&v);
	v.virtual_processor_id = 0;
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	good(&v);
	v.ept_pointer = 0x13000 | 0x18; /* UC */
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	v.ept_pointer = 0x13000 | 0x5e; /* A/D flags: not offered */
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	good(&v);
	v.secondary_vm_exec_control = PROC2_UNRESTRICTED_GUEST;
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	good(&v);
	v.pin_based_vm_exec_control |= NVMX_PIN_VIRTUAL_NMIS; /* without NMI exiting */
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	good(&v);
	v.vm_entry_msr_load_count = 1;
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	good(&v);
	v.cr3_target_count = 5;
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	/* Event injection (26.2.1.3). */
	good(&v);
	v.vm_entry_intr_info_field = BIT(31) | (3u << 8) | 40;
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	v.vm_entry_intr_info_field = BIT(31) | (2u << 8) | 3; /* NMI, vector 3 */
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	v.vm_entry_intr_info_field = BIT(31) | (3u << 8) | 13; /* #GP without its error code */
	v.guest_cr0 = 0x31;
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	v.vm_entry_intr_info_field |= BIT(11);
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 0);
	v.vm_entry_intr_info_field = BIT(31) | (4u << 8) | 0x40; /* INT n, length 0 */
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 7);
	v.vm_entry_instruction_len = 2;
	CHECK_EQ(vmx_nested_check_controls(&v, 39, &why), 0);
}

TEST(nested_vmx_entry_checks_host)
{
	static struct vmcs12 v;
	const char *why = "x";
	good(&v);
	CHECK_EQ(vmx_nested_check_host(&v, 39, host.cr4_fixed1, true, &why), 0);
	CHECK_EQ(vmx_nested_check_host(&v, 39, host.cr4_fixed1, false, &why), 8); /* L1 not 64-bit */
	v.host_tr_selector = 0;
	CHECK_EQ(vmx_nested_check_host(&v, 39, host.cr4_fixed1, true, &why), 8);
	good(&v);
	v.host_cr0 &= ~1ull;
	CHECK_EQ(vmx_nested_check_host(&v, 39, host.cr4_fixed1, true, &why), 8);
	good(&v);
	v.host_cr4 &= ~0x2000ull;
	CHECK_EQ(vmx_nested_check_host(&v, 39, host.cr4_fixed1, true, &why), 8);
	good(&v);
	v.host_rip = 0x0000800000000000ull;
	CHECK_EQ(vmx_nested_check_host(&v, 39, host.cr4_fixed1, true, &why), 8);
	good(&v);
	v.host_ia32_efer = 0x100; /* LME without LMA */
	CHECK_EQ(vmx_nested_check_host(&v, 39, host.cr4_fixed1, true, &why), 8);
	good(&v);
	v.host_ss_selector = 0x13; /* RPL 3 */
	CHECK_EQ(vmx_nested_check_host(&v, 39, host.cr4_fixed1, true, &why), 8);
}

TEST(nested_vmx_entry_checks_guest)
{
	static struct vmcs12 v;
	good(&v);
	CHECK(vmx_nested_check_guest(&v, 39, host.cr4_fixed1) == NULL);
	v.guest_rflags = 0;
	CHECK(vmx_nested_check_guest(&v, 39, host.cr4_fixed1) != NULL);
	good(&v);
	v.guest_cr0 = 0x11; /* NE clear */
	CHECK(vmx_nested_check_guest(&v, 39, host.cr4_fixed1) != NULL);
	good(&v);
	v.guest_cr0 = 0x80000030; /* PG without PE */
	CHECK(vmx_nested_check_guest(&v, 39, host.cr4_fixed1) != NULL);
	good(&v);
	v.secondary_vm_exec_control &= ~PROC2_UNRESTRICTED_GUEST;
	CHECK(vmx_nested_check_guest(&v, 39, host.cr4_fixed1) != NULL); /* PG clear needs UG */
	good(&v);
	v.vmcs_link_pointer = 0x5000;
	CHECK(vmx_nested_check_guest(&v, 39, host.cr4_fixed1) != NULL);
	good(&v);
	v.guest_activity_state = 1;
	CHECK(vmx_nested_check_guest(&v, 39, host.cr4_fixed1) != NULL);
	good(&v);
	v.guest_tr_ar_bytes = 0x10000;
	CHECK(vmx_nested_check_guest(&v, 39, host.cr4_fixed1) != NULL);
	good(&v);
	v.vm_entry_controls |= ENTRY_IA32E_MODE_GUEST; /* without PG and PAE */
	CHECK(vmx_nested_check_guest(&v, 39, host.cr4_fixed1) != NULL);
	good(&v);
	v.guest_interruptibility_info = 3;
	CHECK(vmx_nested_check_guest(&v, 39, host.cr4_fixed1) != NULL);
	good(&v);
	v.guest_ia32_efer = 1ull << 10; /* with load EFER, not IA-32e */
	CHECK(vmx_nested_check_guest(&v, 39, host.cr4_fixed1) != NULL);
	good(&v);
	v.vm_entry_intr_info_field = BIT(31) | 0x20; /* an external interrupt with IF clear */
	CHECK(vmx_nested_check_guest(&v, 39, host.cr4_fixed1) != NULL);
}

/* vmx_nested_seg_field: exactly the 36 vmcs12 fields seg_sync covers (the
 * eVMCS's group GUEST_GRP2, TLFS 16.11.3): a VMWRITE of any of them makes
 * the next VMRESUME write vmcs02's segments again; no other field does. */
static bool in_seg_state(u32 off)
{
	struct {
		size_t at, len;
	} r[] = {
		{ offsetof(struct vmcs12, guest_es_selector), 8 * 2 },
		{ offsetof(struct vmcs12, guest_es_limit), 8 * 4 },
		{ offsetof(struct vmcs12, guest_es_ar_bytes), 8 * 4 },
		{ offsetof(struct vmcs12, guest_es_base), 8 * 8 },
		{ offsetof(struct vmcs12, guest_gdtr_base), 8 },
		{ offsetof(struct vmcs12, guest_gdtr_limit), 4 },
		{ offsetof(struct vmcs12, guest_idtr_base), 8 },
		{ offsetof(struct vmcs12, guest_idtr_limit), 4 },
	};
	for (u32 i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (off >= r[i].at && off < r[i].at + r[i].len)
			return true;
	return false;
}

TEST(nested_vmx_seg_field)
{
	u32 n = 0;
	for (u32 i = 0; i < vmcs12_field_count; i++) {
		const struct vmcs12_field *f = &vmcs12_fields[i];
		bool seg = vmx_nested_seg_field(f->enc);
		CHECK_EQ(seg, in_seg_state(f->offset));
		n += seg;
	}
	CHECK_EQ(n, 36u);
	CHECK(!vmx_nested_seg_field(0x681e)); /* guest RIP */
	CHECK(!vmx_nested_seg_field(0x4824)); /* interruptibility */
	CHECK(!vmx_nested_seg_field(0x681a)); /* DR7 */
	CHECK(!vmx_nested_seg_field(0x6804)); /* CR4 */
}
