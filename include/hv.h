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

/* cpuid.c: the guest-visible CPUID for (leaf, subleaf), given the native
 * values in r[] (EAX, EBX, ECX, EDX) and the guest's CR4. */
void hv_cpuid_adjust(const struct partition *p, u32 leaf, u32 sub, u64 guest_cr4, u32 r[4]);

/* msr.c */
u64 hv_msr_implemented_privileges(void);
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
struct overlay *overlay_at(const struct partition *p, u64 gpa);
u16 gmem_check_param(const struct partition *p, u64 gpa, u64 len);

/* hypercall.c: the hypercall interface (TLFS 3) and its MSRs (2.6, 3.13) */
u64 hv_hypercall_implemented_privileges(void);
u32 hv_hypercall_features_edx(void);
int hv_hypercall_partition_init(struct partition *p, u8 *page);
int hv_msr_guest_os_id_read(struct vp *vp, u32 msr, u64 *val);
int hv_msr_guest_os_id_write(struct vp *vp, u32 msr, u64 val);
int hv_msr_hypercall_read(struct vp *vp, u32 msr, u64 *val);
int hv_msr_hypercall_write(struct vp *vp, u32 msr, u64 val);
int hv_msr_vp_index_read(struct vp *vp, u32 msr, u64 *val);
int hv_msr_read_only(struct vp *vp, u32 msr, u64 val);

/* More seams: guest memory (identity in the core), time, vector registers
 * (the guest's XMM0-5 stay live in the CPU across exits). */
void *hv_gpa_ptr(u64 gpa);
u64 hv_rdtsc(void);
void hv_xmm_read(u8 out[96]);
void hv_xmm_write(const u8 in[96]);

/* partition.c */
void partition_init(struct partition *p, const struct backend *be, u32 phys_bits,
		    u64 hidden_base, u64 hidden_size);
void partition_set_tsc_hz(struct partition *p, u64 tsc_hz);
int partition_add_vp(struct partition *p, struct vp *vp);

#endif
