/*
 * module.h - how a module plugs into the core without editing it. A module
 * (a file of hv/, or of synic/, vsm/, nested/ later) declares rows and hooks
 * in linker sections; the core collects them at start (hv/partition.c
 * calls each collector) and checks them: no overlapping MSR ranges, no
 * duplicate hypercall codes, VP-register names or exit handlers. A row that
 * fails a check stops the launch with a log line naming it, before any
 * guest runs. The sections are laid out by arch/x86_64/core.lds in the core
 * and by the host linker (its __start_/__stop_ symbols) in host tests.
 *
 *   HV_MSR_ROWS(name) = { { first, last, privilege, feature_edx, read,
 *                           write, "NAME" }, ... };     synthetic MSRs
 *   HV_HCALL_ROWS(name) = { { code, flags, ... }, ... }; hypercalls
 *                                                        (include/hv/hypercall.h)
 *   HV_VPREG_ROWS(name) = { ... };                       VP registers
 *                                                        (include/hv/vpregs.h)
 *   HV_EXIT_HANDLER(name, HV_EXIT_X, fn);                an exit reason
 *   HV_MODULE(name, .on_partition = f, .on_vp = g, ...);  hooks
 *
 * Leaf 0x40000003 privileges and features stay derived from what is
 * registered and implemented (hv/partition.c).
 */
#ifndef HV_MODULE_H
#define HV_MODULE_H

#include "types.h"
#include "exit.h"

struct vp;
struct partition;
struct pool;

/* Every row type is a multiple of 8 bytes and explicitly aligned to 8 (an
 * explicit alignment keeps the compiler from raising it), so the arrays of
 * all modules follow each other without gaps; the collectors refuse a
 * zero row, which is what a gap would look like. */
#define HV_SECTION(sec) __attribute__((used, section(sec), aligned(8)))

/* ---- synthetic MSRs (hv/msr.c collects) -------------------------------- */
typedef int (*msr_read_fn)(struct vp *vp, u32 msr, u64 *val);
typedef int (*msr_write_fn)(struct vp *vp, u32 msr, u64 val);

/* One range of synthetic MSRs, gated by a privilege (TLFS 4.2.2) or a
 * feature bit (TLFS 2.4.4): without it any access is #GP. Both handlers
 * are required: a row is what is implemented. Return 0, or 1 for #GP. */
struct hv_msr_row {
	u32 first, last;
	u64 privilege;    /* HV_ACCESS_* (TLFS 4.2.2), or 0 */
	u32 feature_edx;  /* leaf 0x40000003 EDX bit, or 0 */
	msr_read_fn read;
	msr_write_fn write;
	const char *name;
};
_Static_assert(sizeof(struct hv_msr_row) % 8 == 0, "rows pack in their section");
#define HV_MSR_ROWS(id) static const struct hv_msr_row id[] HV_SECTION("hv_msr_rows")

/* ---- exit handlers (hv/dispatch.c collects) ----------------------------- */
typedef enum hv_action (*hv_exit_fn)(struct vp *vp, struct hv_exit *e);
struct hv_exit_row {
	u32 reason; /* enum hv_exit_reason */
	hv_exit_fn fn;
};
_Static_assert(sizeof(struct hv_exit_row) % 8 == 0, "rows pack in their section");
#define HV_EXIT_HANDLER(id, reason, fn) \
	static const struct hv_exit_row id HV_SECTION("hv_exit_rows") = { reason, fn }

/* ---- module hooks (hv/registry.c collects) ------------------------------ */
struct hv_module {
	const char *name;
	/* At partition set-up, after the partition's privileges are known
	 * and before any VP exists (overlay pages, derived features). */
	int (*on_partition)(struct partition *p, struct pool *pool);
	/* For each VP, on its own processor, after the backend built it and
	 * before its first entry. */
	int (*on_vp)(struct vp *vp, struct pool *pool);
	/* Then, once the backend has built the VP (its VTL 0 context is
	 * current): run-time requests to the backend, such as intercepts. */
	int (*on_vp_ready)(struct vp *vp);
	/* Hv#1 CPUID leaves (0x40000000-0x4000FFFF): adjust r[] (EAX..EDX)
	 * after the core filled it. */
	void (*on_cpuid)(const struct partition *p, u32 leaf, u32 r[4]);
	/* The leaves on_cpuid adjusts: bit n for leaf 0x40000000 + n; 0 means
	 * every Hv#1 leaf. Other leaves skip the hook on the CPUID exit path
	 * (one hook on every leaf cost 31 emulated instructions per CPUID). */
	u32 cpuid_leaves;
	/* More lines for the counters dump (power-off, fatal errors). */
	void (*on_dump)(const struct vp *vp);
	/* Before the VP's next entry, once per registry_request_entry(). */
	void (*on_entry)(struct vp *vp);
};
_Static_assert(sizeof(struct hv_module) % 8 == 0, "rows pack in their section");
#define HV_MODULE(id, ...) \
	static const struct hv_module hv_module_##id HV_SECTION("hv_modules") = { .name = #id, __VA_ARGS__ }

/* registry.c */
int registry_init(void);
int registry_partition_init(struct partition *p, struct pool *pool);
int registry_vp_init(struct vp *vp, struct pool *pool);
int registry_vp_ready(struct vp *vp);
void registry_cpuid(const struct partition *p, u32 leaf, u32 r[4]);
extern u32 registry_cpuid_hooks; /* 0: registry_cpuid would do nothing */
extern u32 registry_cpuid_leaves; /* the OR of the hooks' cpuid_leaves (0: every leaf) */

/* Does a module adjust Hv#1 leaf `leaf`? Inline on the CPUID exit path. */
static inline bool registry_wants_cpuid(u32 leaf)
{
	u32 n = leaf - 0x40000000u;
	return registry_cpuid_hooks && (n >= 32 ? registry_cpuid_leaves == ~0u
					       : (registry_cpuid_leaves >> n) & 1);
}
void registry_dump(const struct vp *vp);
/* Ask for mod's before_entry hook to run before vp next enters the guest
 * (on vp's processor; from another processor, kick it afterwards). */
void registry_request_entry(struct vp *vp, const struct hv_module *mod);
void registry_entry_work(struct vp *vp);

#endif
