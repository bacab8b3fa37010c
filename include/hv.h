/*
 * hv.h - the Hv#1 logic: exit dispatch (hv/dispatch.c), CPUID (hv/cpuid.c),
 * MSRs (hv/msr.c), port I/O (hv/io.c), second-level faults (hv/npf.c) and
 * the partition (hv/partition.c). Reaches hardware only through the
 * backend (include/backend.h); compiles unchanged for host unit tests.
 */
#ifndef HV_HV_H
#define HV_HV_H

#include "types.h"
#include "exit.h"
#include "vp.h"
#include "backend.h"

/* dispatch.c */
void hv_dispatch(struct vp *vp, struct hv_exit *e);
NORETURN void hv_fatal(struct vp *vp, const struct hv_exit *e, const char *why);
void hv_dump_counters(const struct vp *vp);
void hv_dump_recent(const struct vp *vp);
void hv_dump_other_vps(const struct vp *self);
bool hv_cpu_ready(void);
void hv_set_cpu_ready(void);
void hv_inject_gp(struct vp *vp);
void hv_inject_ud(struct vp *vp);

/* Handlers (one per neutral exit reason). */
enum hv_action hv_handle_cpuid(struct vp *vp, struct hv_exit *e);
enum hv_action hv_handle_msr_read(struct vp *vp, struct hv_exit *e);
enum hv_action hv_handle_msr_write(struct vp *vp, struct hv_exit *e);
enum hv_action hv_handle_io(struct vp *vp, struct hv_exit *e);
enum hv_action hv_handle_npf(struct vp *vp, struct hv_exit *e);
enum hv_action hv_handle_virt_insn(struct vp *vp, struct hv_exit *e);
enum hv_action hv_handle_hypercall(struct vp *vp, struct hv_exit *e);
enum hv_action hv_handle_shutdown(struct vp *vp, struct hv_exit *e);
enum hv_action hv_handle_resume(struct vp *vp, struct hv_exit *e);

/* io.c: the I/O ports a backend intercepts (its I/O bitmap). */
#define HV_IO_INTERCEPTS_MAX 5
u32 hv_io_intercepts(const struct partition *p, u16 ports[HV_IO_INTERCEPTS_MAX]);
int hv_io_request_intercepts(struct vp *vp);

/* cpuid.c: the guest-visible CPUID for (leaf, subleaf), given the native
 * values in r[] (EAX, EBX, ECX, EDX) and the guest's CR4. */
void hv_cpuid_adjust(const struct partition *p, u32 leaf, u32 sub, u64 guest_cr4, u32 r[4]);

/* msr.c */
u64 hv_msr_implemented_privileges(void);
bool hv_msr_table_sorted(void);
void hv_msr_build_index(void);
bool hv_synth_msr_available(const struct partition *p, u32 msr);
int hv_synth_msr_read(struct vp *vp, u32 msr, u64 *val);
int hv_synth_msr_write(struct vp *vp, u32 msr, u64 val);
u32 hv_msr_implemented_features_edx(void);
/* Seams to the hardware, supplied by the core (arch) or by host fakes. */
void hv_native_cpuid(u32 leaf, u32 sub, u32 r[4]);
int hv_native_rdmsr(u32 msr, u64 *val);
int hv_native_wrmsr(u32 msr, u64 val);
u32 hv_native_io_in(u16 port, u8 size);
void hv_native_io_out(u16 port, u8 size, u32 val);

/* overlay.c: GPA overlay pages (TLFS 5.2.1), parameter memory (TLFS 3.6) */
int overlay_register(struct partition *p, struct overlay *o);
int overlay_enable(struct vp *vp, struct overlay *o, u64 gpa);
int overlay_disable(struct vp *vp, struct overlay *o);
int overlay_msr_write(struct vp *vp, struct overlay *o, u64 val, bool beyond_gp);
struct overlay *overlay_at(const struct partition *p, u64 gpa);
u16 gmem_check_param(struct partition *p, u64 gpa, u64 len);

/* hypercall.c: the hypercall interface (TLFS 3) and its MSRs (2.6, 3.13) */
u64 hv_hypercall_implemented_privileges(void);
void hv_hypercall_dump_counters(const struct vp *vp);
bool hv_hypercall_table_sorted(void);
u32 hv_hypercall_features_edx(void);
int hv_hypercall_partition_init(struct partition *p, u8 *page);
int hv_msr_guest_os_id_read(struct vp *vp, u32 msr, u64 *val);
int hv_msr_guest_os_id_write(struct vp *vp, u32 msr, u64 val);
int hv_msr_hypercall_read(struct vp *vp, u32 msr, u64 *val);
int hv_msr_hypercall_write(struct vp *vp, u32 msr, u64 val);
int hv_msr_vp_index_read(struct vp *vp, u32 msr, u64 *val);
int hv_msr_read_only(struct vp *vp, u32 msr, u64 val);

/* time.c: reference time (TLFS 12.4, 12.7), frequency MSRs */
u64 hv_time_scale(u64 tsc_hz);
u64 hv_ref_time(const struct partition *p, u64 tsc);
void hv_time_partition_init(struct partition *p, u8 *tsc_page, u64 apic_hz, bool invariant);
int hv_msr_time_ref_count_read(struct vp *vp, u32 msr, u64 *val);
int hv_msr_reference_tsc_read(struct vp *vp, u32 msr, u64 *val);
int hv_msr_reference_tsc_write(struct vp *vp, u32 msr, u64 val);
int hv_msr_frequency_read(struct vp *vp, u32 msr, u64 *val);

/* crash.c: guest crash MSRs (TLFS 4.3), reset MSR */
int hv_msr_crash_read(struct vp *vp, u32 msr, u64 *val);
int hv_msr_crash_write(struct vp *vp, u32 msr, u64 val);
int hv_msr_reset_read(struct vp *vp, u32 msr, u64 *val);
int hv_msr_reset_write(struct vp *vp, u32 msr, u64 val);

/* apic.c: APIC MSRs (TLFS 10.2.3), VP assist page (TLFS 7.8.7) */
int hv_msr_apic_read(struct vp *vp, u32 msr, u64 *val);
int hv_msr_apic_write(struct vp *vp, u32 msr, u64 val);
int hv_msr_vp_assist_read(struct vp *vp, u32 msr, u64 *val);
int hv_msr_vp_assist_write(struct vp *vp, u32 msr, u64 val);
int hv_vp_assist_init(struct vp *vp, u8 *page);
/* The current CPU's local APIC, in the mode the guest put it in. */
u32 hv_apic_read(u32 reg);
void hv_apic_write(u32 reg, u32 val);
u64 hv_apic_read_icr(void);
void hv_apic_write_icr(u64 val);

/* idle.c: guest idle (TLFS 7.5), VP runtime (TLFS 7.9.1) */
int hv_msr_guest_idle_read(struct vp *vp, u32 msr, u64 *val);
int hv_msr_vp_runtime_read(struct vp *vp, u32 msr, u64 *val);

/* emulate.c: guest page walk, instruction fetch, store decoding */
struct gwalk_regs {
	u64 cr0, cr3, cr4, efer;
};
struct decoded_store {
	u8 len;        /* instruction length */
	u8 size;       /* operand bytes */
	bool has_imm;  /* MOV r/m, imm: value in imm */
	bool is_xchg;  /* XCHG: reg also receives the old value */
	bool high_byte; /* AH/CH/DH/BH */
	u8 reg;        /* source register number (GPR_*) */
	u64 imm;
};
int gwalk(const struct partition *p, const struct gwalk_regs *r, u64 la, u64 *gpa);
int gfetch(const struct partition *p, const struct gwalk_regs *r, u64 la, u8 *buf);
int decode_store(const u8 *b, int n, bool mode64, struct decoded_store *d);

/* translate.c: the guest page walk of HvTranslateVirtualAddress (TLFS
 * 9.4.6) with the VP's paging state; returns an HV_TRANSLATE_GVA_* result
 * code and fills *out (GPA page: the translation, or the table page that
 * could not be accessed). */
struct xlate_state {
	u64 cr0, cr3, cr4, efer, pat, rflags;
	u8 cpl;
	bool gbpages; /* 1 GiB pages exist (CPUID 0x80000001 EDX[26]) */
};
struct xlate_out {
	u64 gpa_page;
	u8 cache_type; /* HV_CACHE_TYPE_* (success only) */
	bool overlay;  /* the page is an overlay page (success only) */
};
u32 hv_translate_gva(const struct partition *p, const struct xlate_state *s, u64 gva_page,
		     u64 flags, struct xlate_out *out);

/* smp.c: INIT/SIPI between VPs, the intercepted ICR, xAPIC write emulation */
void hv_icr_write(struct vp *vp, u64 icr, bool x2apic);
int hv_x2apic_icr_write(struct vp *vp, u64 val);
void hv_vp_before_entry(struct vp *vp);
int hv_smp_request_intercepts(struct vp *vp);
enum hv_action hv_handle_nmi(struct vp *vp, struct hv_exit *e);
enum hv_action hv_apic_mmio_write(struct vp *vp, struct hv_exit *e);

/* smp.c: make another VP exit soon (an NMI it recognises as a kick). */
void hv_kick(struct vp *self, struct vp *target);
void hv_send_fixed_ipi(struct vp *self, struct vp *target, u8 vector);

/* xcall.c: run fn on another VP's processor, in its host context, before
 * it next runs guest code; return when it has run (see the file). */
typedef void (*hv_xcall_fn)(struct vp *target, void *arg);
struct xcall {
	hv_xcall_fn fn;
	void *arg;
	volatile u32 done;
};
void hv_xcall(struct vp *self, struct vp *target, hv_xcall_fn fn, void *arg);
/* On every VP whose index is set in mask (VP indexes < 64), self included. */
void hv_xcall_mask(struct vp *self, u64 mask, hv_xcall_fn fn, void *arg);
/* Run a request posted to vp, if any (before entry, in host waits). */
void hv_xcall_service(struct vp *vp);

/* vpset.c: processor sets (TLFS 7.8.7.3-7.8.7.5). The partition's VPs as
 * a mask of VP indexes, and the HV_VP_SET at set (Format, ValidBanksMask,
 * then `banks` bank words) parsed into *mask. Statuses: INVALID_PARAMETER
 * for an unknown format or a named VP that does not exist,
 * INVALID_HYPERCALL_INPUT when `banks` is not the number of valid banks. */
u64 hv_vpset_all(const struct partition *p);
u16 hv_vpset_parse(const struct partition *p, const u8 *set, u32 banks, u64 *mask);
/* The 64-bit processor mask of the non-Ex calls (TLFS 9.4.2, 10.5.2). */
u16 hv_vpmask_check(const struct partition *p, u64 mask);

/* More seams: guest memory (identity in the core), time, vector registers
 * (the guest's XMM0-5 stay live in the CPU across exits). */
void *hv_gpa_ptr(u64 gpa);
u64 hv_rdtsc(void);
void hv_cpu_relax(void);
void hv_xmm_read(u8 out[96]);
void hv_xmm_write(const u8 in[96]);

/* partition.c */
void partition_init(struct partition *p, const struct backend *be, u32 phys_bits,
		    u64 hidden_base, u64 hidden_size);
void partition_set_tsc_hz(struct partition *p, u64 tsc_hz);
void partition_set_apic_hz(struct partition *p, u64 apic_hz);
int partition_add_vp(struct partition *p, struct vp *vp);

#endif
