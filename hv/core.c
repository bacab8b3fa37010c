/*
 * core.c - the resident core's start on the bootstrap processor: take over
 * the CPU (own GDT/TSS/IDT, GS = current VP), pick the backend from the CPU,
 * set up the root partition and launch the captured firmware state as its
 * guest, then run the exit loop forever. If anything fails before the first
 * successful VM entry, the firmware is given back its CPU untouched (the
 * loader's abort trampoline) and boots without the hypervisor.
 *
 * The hub of the core: it uses every layer and no file uses it. The
 * hardware seams are arch/x86_64/hw.c; the exit router hv/dispatch.c.
 */
#include "arch.h"
#include "backend.h"
#include "boot_info.h"
#include "dispatch.h"
#include "gmem.h"
#include "hw.h"
#include "log.h"
#include "module.h"
#include "partition.h"
#include "pool.h"
#include "serial.h"
#include "smp.h"
#include "x86.h"

struct pool core_pool;
static struct partition root_partition;
static struct vp *bsp_vp;

/* The log's CPU prefix: the VP index (lib/log.c). */
static int core_cpu_id(void)
{
	struct vp *v = vp_current();
	return v ? (int)v->index : -2; /* before this CPU has a VP */
}

static const struct hw_hooks core_hw_hooks = { .nmi = vp_hw_nmi, .panic = vp_hw_panic };

/* Before each entry: the VP's mailbox (INIT/SIPI, cross-VP calls, host
 * NMIs) and the modules' requested work. The common case, nothing
 * pending, is a few plain loads (vp_entry_pending). */
static void before_entry(struct vp *vp)
{
	if (!vp_entry_pending(vp))
		return;
	smp_before_entry(vp);
	if (vp->entry_work)
		registry_entry_work(vp);
}

static NORETURN void give_back(struct boot_info *bi, u32 cpu, u64 status, const char *why)
{
	struct guest_boot_state *gs = cpu ? &bi->cpu_guest[cpu] : &bi->guest;
	LOGE("launch aborted on processor %u: %s; returning it to the firmware", cpu, why);
	/* The firmware's GS/FS bases (we repointed GS at the VP). */
	wrmsr(MSR_GS_BASE, gs->seg[SEG_GS].base);
	wrmsr(MSR_FS_BASE, gs->seg[SEG_FS].base);
	((void (*)(struct guest_boot_state *, u64))bi->abort_fn)(gs, status);
	cpu_park();
}

static const struct backend *select_backend(void)
{
	static const struct backend *const all[] = { &svm_backend, &vmx_backend };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		if (all[i]->probe() == 0)
			return all[i];
	return NULL;
}

/* What every VP needs, the BSP's and each AP's: the VP, this CPU's own
 * GDT/TSS/IDT (and GS = the VP), its VP assist page, the backend's state
 * built from this CPU's captured firmware state. */
static struct vp *vp_create(struct boot_info *bi, u32 cpu, const struct guest_boot_state *gs)
{
	struct partition *p = &root_partition;
	struct vp *vp = pool_alloc_pages(&core_pool, ALIGN_UP(sizeof(struct vp), PAGE_SIZE) / PAGE_SIZE);
	if (!vp)
		give_back(bi, cpu, 1, "out of resident memory");
	vp->self = vp; /* GS:0, checked by vp_current */
	if (arch_cpu_init(&core_pool, vp))
		give_back(bi, cpu, 1, "out of resident memory");
	vp->apic_id = cpu_apic_id();
	spin_lock(&p->lock);
	int r = partition_add_vp(p, vp);
	if (!r)
		r = registry_vp_init(vp, &core_pool) ? 2 : 0;
	p->cpu_vp[cpu] = vp;
	spin_unlock(&p->lock);
	if (r)
		give_back(bi, cpu, 1, r == 2 ? "module VP setup failed" : "too many processors");
	if (p->be->vp_init(vp, gs, &core_pool) || registry_vp_ready(vp))
		give_back(bi, cpu, 4, "virtual processor setup failed");
	return vp;
}

/* First entry, then the exit loop, forever. */
static NORETURN void vp_loop(struct boot_info *bi, u32 cpu, struct vp *vp)
{
	const struct backend *be = vp->part->be;
	struct hv_exit e;

	vp->start_tsc = rdtsc();
	be->run(vp, &e);
	if (e.reason == HV_EXIT_ENTRY_FAIL) {
		be->dump(vp);
		give_back(bi, cpu, 5, "the CPU rejected the guest state");
	}
	for (;;) {
		dispatch_exit(vp, &e);
		before_entry(vp);
		if (__builtin_expect(vp->part->debug_hook != NULL, 0))
			vp->part->debug_hook(vp);
		be->run(vp, &e);
	}
}

/* An application processor: the BSP set up the partition before the
 * loader started the APs (one at a time, through MP services). */
static NORETURN void core_ap_main(struct boot_info *bi, u32 cpu)
{
	struct vp *vp = vp_create(bi, cpu, &bi->cpu_guest[cpu]);
	LOGI("launching processor %u (APIC ID %u) as VP %u", cpu, vp->apic_id, vp->index);
	vp_loop(bi, cpu, vp);
}

NORETURN void core_main(struct boot_info *bi, u64 cpu);
NORETURN void core_main(struct boot_info *bi, u64 cpu)
{
	if (bi->magic != BOOT_INFO_MAGIC)
		cpu_park(); /* cannot even trust abort_fn */
	if (cpu != 0)
		core_ap_main(bi, (u32)cpu);

	if (bi->serial_port)
		serial_init(bi->serial_port);
	log_init(bi->serial_port, (int)bi->log_level, serial_write, core_cpu_id);
	hw_set_hooks(&core_hw_hooks);
	pool_init(&core_pool, bi->pool_base, bi->pool_size, bi->pool_used);

	const struct backend *be = select_backend();
	if (!be)
		give_back(bi, 0, 2, "no usable virtualization backend");
	if (partition_init(&root_partition, be, bi->phys_addr_bits, bi->resident_base,
			   bi->resident_size))
		give_back(bi, 0, 3, "a module registered a bad row");
	root_partition.pm1a_cnt_port = bi->pm1a_cnt_port;
	root_partition.pm1b_cnt_port = bi->pm1b_cnt_port;
	root_partition.reset_port = bi->reset_port;
	root_partition.reset_value = bi->reset_value;
	root_partition.ranges = bi->range;
	root_partition.range_count = bi->range_count;
	root_partition.tsc_hz = bi->tsc_hz;
	root_partition.apic_hz = bi->apic_hz;
	root_partition.invariant_tsc = bi->invariant_tsc;
	root_partition.nested = bi->nested;
	root_partition.gdb_port = bi->gdb_port;
	root_partition.cpu_count = bi->cpu_count;
	for (u32 i = 0; i < bi->cpu_count; i++)
		root_partition.cpu_apic[i] = bi->apic_id[i];
	if (be->partition_create(&root_partition, bi, &core_pool) ||
	    partition_setup_modules(&root_partition, &core_pool))
		give_back(bi, 0, 3, "partition setup failed");

	u64 before = core_pool.used;
	bsp_vp = vp_create(bi, 0, &bi->guest);
	vp_set_cpu_ready(core_pool.base, core_pool.size);
	/* Footprint (docs/performance.md): the pool is a bump allocator, so
	 * one VP costs exactly what vp_create took from it. */
	u64 vp_bytes = core_pool.used - before;
	/* The xAPIC page becomes read-only for the guest: ICR writes (INIT,
	 * SIPI) are emulated (hv/smp.c). A protected page: an overlay moved
	 * over it and away gives it back read-only (hv/gmem.c). */
	if (!hw_x2apic_mode()) {
		root_partition.apic_gpa = rdmsr(MSR_IA32_APIC_BASE) & 0x000ffffffffff000ull;
		if (gmem_protect_page(bsp_vp, root_partition.apic_gpa, SLAT_RX))
			give_back(bi, 0, 3, "cannot protect the local APIC page");
	}
	LOGI("footprint: resident %lu KiB (core %lu KiB, pool used %lu KiB of %lu), per-VP %lu KiB",
	     (unsigned long)(bi->resident_size >> 10), (unsigned long)((core_pool.base - bi->resident_base) >> 10),
	     (unsigned long)(core_pool.used >> 10), (unsigned long)(core_pool.size >> 10), (unsigned long)(vp_bytes >> 10));
	LOGI("launching the firmware as the root partition's VP 0 (%s), privileges %lx",
	     be->name, (unsigned long)root_partition.privileges);
	vp_loop(bi, 0, bsp_vp);
}
