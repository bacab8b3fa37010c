/*
 * core.c - the resident core's start on the bootstrap processor: take over
 * the CPU (own GDT/TSS/IDT, GS = current VP), pick the backend from the CPU,
 * set up the root partition and launch the captured firmware state as its
 * guest, then run the exit loop forever. If anything fails before the first
 * successful VM entry, the firmware is given back its CPU untouched (the
 * loader's abort trampoline) and boots without the hypervisor.
 *
 * Also the core's side of the hardware seams declared in hv.h.
 */
#include "arch.h"
#include "boot_info.h"
#include "hv.h"
#include "log.h"
#include "pool.h"
#include "x86.h"

struct pool core_pool;
static struct partition root_partition;
static struct vp *bsp_vp;

/* GS holds the current VP once arch_cpu_init ran on this CPU; before that
 * it is the firmware's (0). */
struct vp *hv_current_vp(void)
{
	u64 gs = rdmsr(MSR_GS_BASE);
	struct vp *v = (struct vp *)(uintptr_t)gs;
	if (!hv_cpu_ready() || gs < core_pool.base || gs >= core_pool.base + core_pool.size)
		return NULL;
	return v->self == v ? v : NULL;
}

int log_cpu_id(void)
{
	struct vp *v = hv_current_vp();
	return v ? (int)v->index : -2; /* before this CPU has a VP */
}

void hv_native_cpuid(u32 leaf, u32 sub, u32 r[4]) { cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3]); }
int hv_native_rdmsr(u32 msr, u64 *val) { return rdmsr_safe(msr, val); }
int hv_native_wrmsr(u32 msr, u64 val) { return wrmsr_safe(msr, val); }

u32 hv_native_io_in(u16 port, u8 size)
{
	return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}

void hv_native_io_out(u16 port, u8 size, u32 val)
{
	if (size == 1)
		outb(port, (u8)val);
	else if (size == 2)
		outw(port, (u16)val);
	else
		outl(port, val);
}

void *hv_gpa_ptr(u64 gpa) { return (void *)(uintptr_t)gpa; } /* identity map */
u64 hv_rdtsc(void) { return rdtsc(); }
void hv_cpu_relax(void) { cpu_relax(); }

/* The guest's XMM0-XMM5 are live in the CPU: the hypervisor is built
 * without SSE, so nothing else touches them during an exit. */
void hv_xmm_read(u8 out[96])
{
	__asm__ volatile("movdqu %%xmm0, 0(%0)\n\tmovdqu %%xmm1, 16(%0)\n\t"
			 "movdqu %%xmm2, 32(%0)\n\tmovdqu %%xmm3, 48(%0)\n\t"
			 "movdqu %%xmm4, 64(%0)\n\tmovdqu %%xmm5, 80(%0)"
			 :: "r"(out) : "memory");
}

void hv_xmm_write(const u8 in[96])
{
	__asm__ volatile("movdqu 0(%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\t"
			 "movdqu 32(%0), %%xmm2\n\tmovdqu 48(%0), %%xmm3\n\t"
			 "movdqu 64(%0), %%xmm4\n\tmovdqu 80(%0), %%xmm5"
			 :: "r"(in) : "memory");
}

/* The local APIC as the guest set it up (IA32_APIC_BASE, SDM 10.4.4):
 * x2APIC registers are MSRs 0x800 + offset/16; xAPIC ones are MMIO at the
 * base, which the host identity-maps (the MTRRs make it uncached). */
static u64 apic_base(bool *x2)
{
	u64 b = rdmsr(MSR_IA32_APIC_BASE);
	*x2 = b & BIT(10);
	return b & 0x000ffffffffff000ull;
}

u32 hv_apic_read(u32 reg)
{
	bool x2;
	u64 base = apic_base(&x2);
	return x2 ? (u32)rdmsr(0x800 + reg / 16) : *(volatile u32 *)(uintptr_t)(base + reg);
}

void hv_apic_write(u32 reg, u32 val)
{
	bool x2;
	u64 base = apic_base(&x2);
	if (x2)
		wrmsr(0x800 + reg / 16, val);
	else
		*(volatile u32 *)(uintptr_t)(base + reg) = val;
}

u64 hv_apic_read_icr(void)
{
	bool x2;
	u64 base = apic_base(&x2);
	if (x2)
		return rdmsr(0x830);
	return ((u64) * (volatile u32 *)(uintptr_t)(base + 0x310) << 32) |
	       *(volatile u32 *)(uintptr_t)(base + 0x300);
}

/* xAPIC: the high half first, the low write sends the IPI (SDM 10.6.1). */
void hv_apic_write_icr(u64 val)
{
	bool x2;
	u64 base = apic_base(&x2);
	if (x2) {
		wrmsr(0x830, val);
		return;
	}
	/* The previous IPI from this APIC may still be in delivery (ICR bit
	 * 12, SDM 10.6.1): wait for it, boundedly, so back-to-back sends (a
	 * cluster IPI to several VPs) are not lost on older processors. */
	for (int i = 0; i < 100000 && (*(volatile u32 *)(uintptr_t)(base + 0x300) & BIT(12)); i++)
		__builtin_ia32_pause();
	*(volatile u32 *)(uintptr_t)(base + 0x310) = (u32)(val >> 32);
	*(volatile u32 *)(uintptr_t)(base + 0x300) = (u32)val;
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
	u8 *assist = pool_alloc_pages(&core_pool, 1);
	if (!vp || !assist || arch_cpu_init(&core_pool, vp))
		give_back(bi, cpu, 1, "out of resident memory");
	vp->apic_id = cpu_apic_id();
	spin_lock(&p->lock);
	int r = partition_add_vp(p, vp) || hv_vp_assist_init(vp, assist);
	p->cpu_vp[cpu] = vp;
	spin_unlock(&p->lock);
	if (r)
		give_back(bi, cpu, 1, "too many processors");
	if (p->be->vp_init(vp, gs, &core_pool) || hv_io_request_intercepts(vp) ||
	    hv_smp_request_intercepts(vp))
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
		hv_dispatch(vp, &e);
		hv_vp_before_entry(vp);
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

	log_init(bi->serial_port, (int)bi->log_level);
	pool_init(&core_pool, bi->pool_base, bi->pool_size, bi->pool_used);

	const struct backend *be = select_backend();
	if (!be)
		give_back(bi, 0, 2, "no usable virtualization backend");
	partition_init(&root_partition, be, bi->phys_addr_bits, bi->resident_base, bi->resident_size);
	root_partition.pm1a_cnt_port = bi->pm1a_cnt_port;
	root_partition.pm1b_cnt_port = bi->pm1b_cnt_port;
	root_partition.reset_port = bi->reset_port;
	root_partition.reset_value = bi->reset_value;
	root_partition.ranges = bi->range;
	root_partition.range_count = bi->range_count;
	partition_set_tsc_hz(&root_partition, bi->tsc_hz);
	root_partition.cpu_count = bi->cpu_count;
	for (u32 i = 0; i < bi->cpu_count; i++)
		root_partition.cpu_apic[i] = bi->apic_id[i];
	u8 *hc_page = pool_alloc_pages(&core_pool, 1);
	u8 *tsc_page = pool_alloc_pages(&core_pool, 1);
	if (!hc_page || !tsc_page || be->partition_create(&root_partition, bi, &core_pool) ||
	    (be->hypercall_insn && hv_hypercall_partition_init(&root_partition, hc_page)))
		give_back(bi, 0, 3, "partition setup failed");
	hv_time_partition_init(&root_partition, tsc_page, bi->apic_hz, bi->invariant_tsc);

	u64 before = core_pool.used;
	bsp_vp = vp_create(bi, 0, &bi->guest);
	hv_set_cpu_ready();
	/* Footprint (docs/performance.md): the pool is a bump allocator, so
	 * one VP costs exactly what vp_create took from it. */
	u64 vp_bytes = core_pool.used - before;
	/* The xAPIC page becomes read-only for the guest: ICR writes (INIT,
	 * SIPI) are emulated (hv/smp.c). */
	u64 apic_base = rdmsr(MSR_IA32_APIC_BASE);
	if (!(apic_base & BIT(10))) {
		root_partition.apic_gpa = apic_base & 0x000ffffffffff000ull;
		if (be->slat_set_page(bsp_vp, root_partition.apic_gpa, root_partition.apic_gpa, SLAT_RX))
			give_back(bi, 0, 3, "cannot protect the local APIC page");
	}
	LOGI("footprint: resident %lu KiB (core %lu KiB, pool used %lu KiB of %lu), per-VP %lu KiB",
	     (unsigned long)(bi->resident_size >> 10), (unsigned long)((core_pool.base - bi->resident_base) >> 10),
	     (unsigned long)(core_pool.used >> 10), (unsigned long)(core_pool.size >> 10), (unsigned long)(vp_bytes >> 10));
	LOGI("launching the firmware as the root partition's VP 0 (%s), privileges %lx",
	     be->name, (unsigned long)root_partition.privileges);
	vp_loop(bi, 0, bsp_vp);
}
