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

/* partition.c */
void partition_init(struct partition *p, const struct backend *be, u32 phys_bits,
		    u64 hidden_base, u64 hidden_size);

#endif
