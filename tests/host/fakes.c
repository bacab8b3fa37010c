/*
 * fakes.c - host stand-ins for the hardware seams and for a backend.
 */
#include "fakes.h"
#include "log.h"
#include "serial.h"
#include "hw.h"
#include "x86.h"
#include "tlfs.h"
#include "boot_info.h"
#include <string.h>
#include <stdlib.h>
#include <stdio.h>

struct cpuid_row {
	u32 leaf, sub, r[4];
};
static struct cpuid_row cpuid_rows[64];
static int cpuid_n;

void fake_cpuid_reset(void) { cpuid_n = 0; }
void fake_cpuid_set(u32 leaf, u32 sub, u32 a, u32 b, u32 c, u32 d)
{
	cpuid_rows[cpuid_n++] = (struct cpuid_row){ leaf, sub, { a, b, c, d } };
}

void hw_cpuid(u32 leaf, u32 sub, u32 r[4])
{
	for (int i = 0; i < cpuid_n; i++)
		if (cpuid_rows[i].leaf == leaf && cpuid_rows[i].sub == sub) {
			memcpy(r, cpuid_rows[i].r, 16);
			return;
		}
	memset(r, 0, 16);
}

struct msr_row {
	u32 msr;
	u64 val;
};
static struct msr_row msr_rows[64];
static int msr_n;

void fake_msr_reset(void) { msr_n = 0; }
void fake_msr_set(u32 msr, u64 val)
{
	for (int i = 0; i < msr_n; i++)
		if (msr_rows[i].msr == msr) {
			msr_rows[i].val = val;
			return;
		}
	msr_rows[msr_n++] = (struct msr_row){ msr, val };
}
u64 fake_msr_get(u32 msr)
{
	for (int i = 0; i < msr_n; i++)
		if (msr_rows[i].msr == msr)
			return msr_rows[i].val;
	return ~0ull;
}

int hw_rdmsr(u32 msr, u64 *val)
{
	for (int i = 0; i < msr_n; i++)
		if (msr_rows[i].msr == msr) {
			*val = msr_rows[i].val;
			return 0;
		}
	return 1;
}

int hw_wrmsr(u32 msr, u64 val)
{
	for (int i = 0; i < msr_n; i++)
		if (msr_rows[i].msr == msr) {
			msr_rows[i].val = val;
			return 0;
		}
	return 1;
}

u16 fake_io_last_port;
u32 fake_io_last_val;
int fake_io_writes;
u32 hw_io_in(u16 port, u8 size) { return 0x5a5a5a5a & (size == 1 ? 0xff : size == 2 ? 0xffff : ~0u); }
void hw_io_out(u16 port, u8 size, u32 val)
{
	fake_io_last_port = port;
	fake_io_last_val = val;
	fake_io_writes++;
}

char fake_serial[16384];
size_t fake_serial_len;
void fake_serial_reset(void)
{
	fake_serial_len = 0;
	fake_serial[0] = 0;
}
void serial_init(u16 port) {}
void serial_write(u16 port, const char *s, size_t n)
{
	for (size_t i = 0; i < n && fake_serial_len + 1 < sizeof(fake_serial); i++)
		fake_serial[fake_serial_len++] = s[i];
	fake_serial[fake_serial_len] = 0;
}
static int fake_cpu_id(void) { return 0; }
void fake_log_init(void) { log_init(0x3f8, LOG_INFO, serial_write, fake_cpu_id); }

jmp_buf fake_fatal_jmp;
int fake_fatal_armed;
int fake_fatal_count;
NORETURN void hw_park(void)
{
	fake_fatal_count++;
	if (fake_fatal_armed)
		longjmp(fake_fatal_jmp, 1);
	fprintf(stderr, "unexpected vp_fatal; the log:\n%s\n", fake_serial);
	abort();
}

u8 fake_ram[FAKE_RAM_SIZE] __attribute__((aligned(4096)));
/* The legacy area below 1 MiB outside the memory map (hv/gmem.c
 * gmem_read_code reads instructions there, as OVMF under Bochs leaves
 * page 0x9F000 out): zeros here, read-only by convention. */
static u8 fake_legacy[0x100000] __attribute__((aligned(4096)));
void *hw_gpa_ptr(u64 gpa)
{
	if (gpa < 0x100000 && (gpa < FAKE_RAM_BASE || gpa >= FAKE_RAM_BASE + FAKE_RAM_SIZE))
		return fake_legacy + gpa;
	if (gpa < FAKE_RAM_BASE || gpa >= FAKE_RAM_BASE + FAKE_RAM_SIZE) {
		fprintf(stderr, "hw_gpa_ptr(%llx): outside fake RAM\n", (unsigned long long)gpa);
		abort();
	}
	return fake_ram + (gpa - FAKE_RAM_BASE);
}
u64 fake_tsc, fake_tsc_step = 1;
u64 hw_rdtsc(void) { return fake_tsc += fake_tsc_step; }
int fake_relax_count;
void (*fake_relax_hook)(void);
void hw_cpu_relax(void)
{
	if (fake_relax_hook)
		fake_relax_hook();
	/* An interrupt arrives after a few spins of an idle wait. */
	if (++fake_relax_count == 3)
		fake_apic[0x230 / 4] |= 1u << 5;
}
u8 fake_xmm[96];
void hw_xmm_read(u8 out[96]) { memcpy(out, fake_xmm, 96); }
void hw_xmm_write(const u8 in[96]) { memcpy(fake_xmm, in, 96); }

u32 fake_apic[0x1000 / 4];
u64 fake_icr_writes[8];
int fake_icr_count;
bool hw_x2apic_mode(void)
{
	u64 base = 0;
	return !hw_rdmsr(MSR_IA32_APIC_BASE, &base) && (base & BIT(10));
}
/* Host tests run every VP on one thread: no GS, no current VP. */
struct vp *vp_current(void) { return NULL; }
/* In x2APIC mode the registers are MSRs 0x800 + reg/16 (SDM 10.12.1.2,
 * table 10-6), as arch/x86_64/hw.c reaches them: one that does not exist
 * for the access raises #GP in the host, which parks the processor. */
static bool x2apic_msr_ok(u32 reg, bool write)
{
	u32 m = 0x800 + reg / 16;
	if (reg & 0xf)
		return false;
	if (write)
		return m == 0x808 || m == 0x80b || m == 0x80f || m == 0x828 || m == 0x82f ||
		       m == 0x830 || (m >= 0x832 && m <= 0x838) || m == 0x83e || m == 0x83f;
	return m == 0x802 || m == 0x803 || m == 0x808 || m == 0x80a || m == 0x80d || m == 0x80f ||
	       (m >= 0x810 && m <= 0x828) || m == 0x82f || m == 0x830 ||
	       (m >= 0x832 && m <= 0x839) || m == 0x83e;
}
static void apic_access(u32 reg, bool write)
{
	if (reg >= 0x1000 || (hw_x2apic_mode() && !x2apic_msr_ok(reg, write))) {
		fprintf(stderr, "host #GP: %s of local APIC register %x (x2APIC MSR %x)\n",
			write ? "write" : "read", reg, 0x800 + reg / 16);
		hw_park();
	}
}
u32 hw_apic_read(u32 reg)
{
	apic_access(reg, false);
	return fake_apic[reg / 4];
}
void hw_apic_write(u32 reg, u32 val)
{
	apic_access(reg, true);
	fake_apic[reg / 4] = val;
}
u64 hw_apic_read_icr(void) { return ((u64)fake_apic[0x310 / 4] << 32) | fake_apic[0x300 / 4]; }
void hw_apic_write_icr(u64 val)
{
	fake_apic[0x310 / 4] = (u32)(val >> 32);
	fake_apic[0x300 / 4] = (u32)val;
	fake_icr_writes[fake_icr_count++ % 8] = val;
}

/* ---- fake backend ---------------------------------------------------- */
static struct fake_be_state *st(struct vp *vp) { return vp->be; }
static int fb_probe(void) { return 0; }
static int fb_advance(struct vp *vp, const struct hv_exit *e)
{
	st(vp)->advanced++;
	return st(vp)->advance_fail ? -1 : 0;
}
static void fb_inject(struct vp *vp, u8 v, bool has, u32 err)
{
	st(vp)->injected_vector = v;
	st(vp)->injected_has_error = has;
	st(vp)->injected_error = err;
}
static u64 fb_read(struct vp *vp, enum guest_reg r)
{
	const u64 *g = st(vp)->regs;
	if (r == GREG_MODE)
		return (g[GREG_CPL] & GMODE_CPL) | ((g[GREG_CR0] & CR0_PE) ? GMODE_PE : 0) |
		       ((g[GREG_RFLAGS] & RFLAGS_VM) ? GMODE_VM : 0) |
		       ((g[GREG_EFER] & EFER_LMA) ? GMODE_LMA : 0) | (g[GREG_CS_L] ? GMODE_CS_L : 0);
	return g[r];
}
static enum be_msr_result fb_msr_read(struct vp *vp, u32 msr, u64 *val) { return BE_MSR_NOT_MINE; }
static enum be_msr_result fb_msr_write(struct vp *vp, u32 msr, u64 val) { return BE_MSR_NOT_MINE; }
static int fb_map(struct vp *vp, u64 gpa)
{
	st(vp)->slat_maps++;
	st(vp)->last_slat_gpa = gpa;
	return st(vp)->slat_fail ? -1 : 0;
}
static void fb_dump(struct vp *vp) { st(vp)->dumps++; }
static int fb_set_page(struct vp *vp, u64 gpa, u64 hpa, enum slat_access acc)
{
	st(vp)->set_log[st(vp)->slat_sets % 32] = (struct fake_set){ gpa, hpa, (int)acc };
	st(vp)->slat_sets++;
	st(vp)->last_set_gpa = gpa;
	st(vp)->last_set_hpa = hpa;
	st(vp)->last_set_acc = acc;
	return st(vp)->slat_fail ? -1 : 0;
}
static const u8 fake_hc_insn[3] = { 0x0f, 0x01, 0xd9 };
static void fb_inject_nmi(struct vp *vp) { st(vp)->nmis_injected++; }
static void fb_load_state(struct vp *vp, const struct guest_boot_state *g)
{
	st(vp)->states_loaded++;
	st(vp)->loaded_rip = g->rip;
	st(vp)->loaded_cs_base = g->seg[SEG_CS].base;
	st(vp)->loaded_cs_sel = g->seg[SEG_CS].sel;
	st(vp)->loaded_cr0 = g->cr0;
}
static u32 fb_hw(void) { return 0xa; }
/* The full state lives in the fake state; read_reg's registers mirror it. */
static void fb_get_state(struct vp *vp, struct guest_boot_state *g)
{
	*g = st(vp)->state;
	g->rip = st(vp)->regs[GREG_RIP];
	g->rflags = st(vp)->regs[GREG_RFLAGS];
	g->cr0 = st(vp)->regs[GREG_CR0];
	g->cr2 = st(vp)->regs[GREG_CR2];
	g->cr3 = st(vp)->regs[GREG_CR3];
	g->cr4 = st(vp)->regs[GREG_CR4];
	g->efer = st(vp)->regs[GREG_EFER];
}
static void fb_set_state(struct vp *vp, const struct guest_boot_state *g)
{
	st(vp)->state = *g;
	st(vp)->states_set++;
	st(vp)->regs[GREG_RIP] = g->rip;
	st(vp)->regs[GREG_RFLAGS] = g->rflags;
	st(vp)->regs[GREG_CR0] = g->cr0;
	st(vp)->regs[GREG_CR2] = g->cr2;
	st(vp)->regs[GREG_CR3] = g->cr3;
	st(vp)->regs[GREG_CR4] = g->cr4;
	st(vp)->regs[GREG_EFER] = g->efer;
}
static int fb_inject_irq(struct vp *vp, u8 vector)
{
	st(vp)->irq_vector = vector;
	return st(vp)->irq_window ? 1 : 0;
}
static void fb_set_deadline(struct vp *vp, u64 tsc) { st(vp)->deadline = tsc; }
enum be_deadline fake_deadline_kind = BE_DEADLINE_EXACT;
static enum be_deadline fb_deadline_kind(void) { return fake_deadline_kind; }
static int fb_msr_intercept(struct vp *vp, u32 msr, u32 access, bool on)
{
	struct fake_be_state *s = st(vp);
	if (s->msr_icpt_count < (int)ARRAY_SIZE(s->msr_icpt))
		s->msr_icpt[s->msr_icpt_count] = (struct fake_icpt){ msr, access, on };
	s->msr_icpt_count++;
	return 0;
}
static int fb_io_intercept(struct vp *vp, u16 port, bool on)
{
	struct fake_be_state *s = st(vp);
	if (s->io_icpt_count < (int)ARRAY_SIZE(s->io_icpt))
		s->io_icpt[s->io_icpt_count] = (struct fake_icpt){ port, 0, on };
	s->io_icpt_count++;
	return s->icpt_fail ? -1 : 0;
}
static void fb_ctx_switch(struct vp *vp, struct vp_ctx *c)
{
	vp->cur = c;
	vp->be = c->be;
}

/* A new context: a fake state from fake_ctx_states, its registers from
 * *g (as the backends load an initial state). */
struct fake_be_state fake_ctx_states[8];
int fake_ctx_created, fake_ctx_fail;
static int fb_ctx_create(struct vp *vp, struct vp_ctx *c, const struct guest_boot_state *g,
			 struct pool *pool)
{
	if (fake_ctx_fail || fake_ctx_created >= 8)
		return -1;
	struct fake_be_state *s = &fake_ctx_states[fake_ctx_created++];
	memset(s, 0, sizeof(*s));
	s->injected_vector = -1;
	s->state = *g;
	s->regs[GREG_RIP] = g->rip;
	s->regs[GREG_RFLAGS] = g->rflags;
	s->regs[GREG_CR0] = g->cr0;
	s->regs[GREG_CR3] = g->cr3;
	s->regs[GREG_CR4] = g->cr4;
	s->regs[GREG_EFER] = g->efer;
	s->regs[GREG_CS_L] = (g->seg[SEG_CS].attr >> 13) & 1;
	c->be = s;
	c->live = true;
	return 0;
}

static void fb_tlb_flush(struct vp *vp, enum tlb_flush kind, u64 gva)
{
	struct fake_be_state *s = st(vp);
	if (s->flush_count < (int)ARRAY_SIZE(s->flushes))
		s->flushes[s->flush_count] = (struct fake_flush){ kind, gva };
	s->flush_count++;
}

const struct backend fake_backend = {
	.name = "fake",
	.probe = fb_probe,
	.ctx_switch = fb_ctx_switch,
	.ctx_create = fb_ctx_create,
	.advance_rip = fb_advance,
	.inject_exception = fb_inject,
	.inject_nmi = fb_inject_nmi,
	.inject_irq = fb_inject_irq,
	.set_deadline = fb_set_deadline,
	.deadline_kind = fb_deadline_kind,
	.msr_intercept = fb_msr_intercept,
	.io_intercept = fb_io_intercept,
	.vp_load_state = fb_load_state,
	.vp_get_state = fb_get_state,
	.vp_set_state = fb_set_state,
	.tlb_flush = fb_tlb_flush,
	.read_reg = fb_read,
	.msr_read = fb_msr_read,
	.msr_write = fb_msr_write,
	.slat_map_identity = fb_map,
	.slat_set_page = fb_set_page,
	.hypercall_insn = fake_hc_insn,
	.dump = fb_dump,
	.hw_features = fb_hw,
};

void fake_vp_init(struct vp *vp, struct partition *p, struct fake_be_state *s)
{
	memset(vp, 0, sizeof(*vp));
	memset(s, 0, sizeof(*s));
	s->injected_vector = -1;
	vp->part = p;
	vp->self = vp;
	vp->ctx[0].be = s;
	vp->ctx[0].slat = &p->slat[0];
	vp->ctx[0].live = true;
	fb_ctx_switch(vp, &vp->ctx[0]);
}

/* ---- several VPs --------------------------------------------------------- */
static struct vp *smp_vps;
static int smp_n;

void fake_serve_all(void)
{
	for (int i = 0; i < smp_n; i++)
		xcall_service(&smp_vps[i]);
}

void fake_smp_partition(struct partition *p, struct vp *vps, struct fake_be_state *bes, int n)
{
	memset(p, 0, sizeof(*p));
	memset(vps, 0, sizeof(*vps) * (size_t)n);
	partition_init(p, &fake_backend, 36, 0x200000, 0x100000);
	p->tsc_hz = 1000000000;
	for (int i = 0; i < n; i++) {
		fake_vp_init(&vps[i], p, &bes[i]);
		partition_add_vp(p, &vps[i]);
		vps[i].apic_id = 10 + (u32)i;
		bes[i].regs[GREG_EFER] = EFER_LMA | EFER_LME;
		bes[i].regs[GREG_CS_L] = 1;
		bes[i].regs[GREG_CR0] = CR0_PE | CR0_PG;
	}
	smp_vps = vps;
	smp_n = n;
	fake_relax_hook = fake_serve_all;
	fake_fatal_armed = 0;
}

void fake_enable_hypercalls(struct partition *p, u8 *page, u64 page_gpa)
{
	hc_setup(p, page);
	p->vtl[0].guest_os_id = 0x8100000000000000ull;
	p->vtl[0].hypercall_msr = page_gpa | HV_HYPERCALL_ENABLE;
}
