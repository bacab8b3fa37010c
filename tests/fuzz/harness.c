/*
 * harness.c - the world and the oracles the fuzz targets share
 * (tests/fuzz/harness.h, docs/reliability.md).
 */
#include "harness.h"
#include "boot_info.h"
#include "slat.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the fuzz bytes ------------------------------------------------------ */
u8 fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}
u16 fz_u16(struct fz *f) { return (u16)(fz_u8(f) | (u16)fz_u8(f) << 8); }
u32 fz_u32(struct fz *f) { return fz_u16(f) | (u32)fz_u16(f) << 16; }
u64 fz_u64(struct fz *f) { return fz_u32(f) | (u64)fz_u32(f) << 32; }
bool fz_bool(struct fz *f) { return fz_u8(f) & 1; }
u32 fz_below(struct fz *f, u32 n) { return n <= 256 ? fz_u8(f) % n : fz_u32(f) % n; }
void fz_bytes(struct fz *f, void *out, size_t n)
{
	size_t k = n < f->n ? n : f->n;
	memcpy(out, f->p, k);
	memset((u8 *)out + k, 0, n - k);
	f->p += k;
	f->n -= k;
}

u64 fz_gpa(struct fz *f, struct fz_world *w)
{
	static const u64 offs[] = { 0, 8, 0x10, 0x7f8, 0xff0, 0xff8, 0xffc, 0xfff };
	u8 sel = fz_u8(f);
	u64 off = (sel & 0x80) ? (u64)(fz_u16(f) & 0xfff) : offs[(sel >> 4) & 7];
	const struct partition *p = &w->p;
	switch (sel & 15) {
	case 0: case 1: case 2: case 3: /* guest RAM, some page of it */
		return FAKE_RAM_BASE + (u64)fz_below(f, 12) * PAGE_SIZE + off;
	case 4: return FZ_FW_BASE + (u64)fz_below(f, 4) * PAGE_SIZE + off;
	case 5: return p->vtl[0].hypercall_page.gpa + off;
	case 6: return p->vtl[0].ref_tsc_page.gpa + off;
	case 7: return w->vps[fz_below(f, (u32)w->n)].ctx[0].assist_page.gpa + off;
	case 8: return FZ_APIC + off;
	case 9: return FZ_MMIO + off;
	case 10: return FZ_HIDDEN_BASE + (u64)fz_below(f, 256) * PAGE_SIZE + off;
	case 11: return (1ull << FZ_PHYS_BITS) - PAGE_SIZE + off; /* the last page */
	case 12: return (1ull << FZ_PHYS_BITS) + off;             /* beyond */
	case 13: return FZ_MAPPED_TOP + (u64)fz_below(f, 8) * PAGE_SIZE + off; /* above phys_top */
	case 14: return FAKE_RAM_BASE - PAGE_SIZE + off;          /* just below RAM */
	default: return fz_u64(f);
	}
}

u32 fz_msr(struct fz *f)
{
	static const u32 arch[] = { MSR_IA32_APIC_BASE, X2APIC_MSR_ICR, 0xc0000080u, 0x10,
				    0x277, 0x1b0 };
	u8 sel = fz_u8(f);
	switch (sel & 7) {
	case 0: case 1: case 2: case 3: /* appendix C's window */
		return HV_X64_MSR_RANGE_FIRST + fz_u8(f);
	case 4: return HV_X64_MSR_RANGE_FIRST + (fz_u16(f) & 0x1ff);
	case 5: return 0x40001000u + fz_u8(f); /* the nested SynIC window */
	case 6: return arch[fz_below(f, ARRAY_SIZE(arch))];
	default: return fz_u32(f);
	}
}

u16 fz_call_code(struct fz *f)
{
	static const u16 codes[] = {
		HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE,
		HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, HVCALL_NOTIFY_LONG_SPIN_WAIT, HVCALL_SEND_IPI,
		HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX,
		HVCALL_SEND_IPI_EX, HVCALL_GET_PARTITION_ID, HVCALL_GET_VP_REGISTERS,
		HVCALL_SET_VP_REGISTERS, HVCALL_TRANSLATE_VIRTUAL_ADDRESS,
		HVCALL_START_VIRTUAL_PROCESSOR, HVCALL_GET_VP_INDEX_FROM_APIC_ID,
		HVCALL_EXT_QUERY_CAPABILITIES,
		/* The SynIC's ports (synic/port.c, TLFS 11.10) and VSM
		 * enablement (vsm/vsm.c, TLFS 15.4-15.5). */
		0x0058, 0x005B, 0x005C, 0x005D, 0x0095, 0x0096, 0x000D, 0x000F,
	};
	u8 sel = fz_u8(f);
	if (sel < 192)
		return codes[sel % ARRAY_SIZE(codes)];
	if (sel < 224) /* every simple code, registered or not (new modules' rows) */
		return fz_u8(f);
	if (sel < 240)
		return 0x8000 | fz_u8(f);
	return fz_u16(f);
}

/* ---- oracles -------------------------------------------------------------- */
void fz_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "FUZZ ORACLE FAILED at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (fake_serial_len)
		fprintf(stderr, "--- hypervisor log ---\n%s\n", fake_serial);
	abort();
}

/* TLFS appendix B (and the calls' own sections): every status a
 * hypercall may return. The one list; anything else is a bug. */
static const u16 tlfs_statuses[] = {
	HV_STATUS_SUCCESS, HV_STATUS_INVALID_HYPERCALL_CODE, HV_STATUS_INVALID_HYPERCALL_INPUT,
	HV_STATUS_INVALID_ALIGNMENT, HV_STATUS_INVALID_PARAMETER, HV_STATUS_ACCESS_DENIED,
	HV_STATUS_INVALID_PARTITION_STATE, HV_STATUS_OPERATION_DENIED,
	0x0009 /* UNKNOWN_PROPERTY */, 0x000a /* PROPERTY_VALUE_OUT_OF_RANGE */,
	0x000b /* INSUFFICIENT_MEMORY */, 0x000c /* PARTITION_TOO_DEEP */,
	HV_STATUS_INVALID_PARTITION_ID, HV_STATUS_INVALID_VP_INDEX, 0x0011 /* INVALID_PORT_ID */,
	0x0012 /* INVALID_CONNECTION_ID */,
	0x0013 /* INSUFFICIENT_BUFFERS (appendix B prints 0x0033, a typo for 0x0013) */,
	0x0014 /* NOT_ACKNOWLEDGED */, HV_STATUS_INVALID_VP_STATE, 0x0016 /* ACKNOWLEDGED */,
	0x0017 /* INVALID_SAVE_RESTORE_STATE */, 0x0018 /* INVALID_SYNIC_STATE */,
	0x0019 /* OBJECT_IN_USE */, 0x001a /* INVALID_PROXIMITY_DOMAIN_INFO */, 0x001b /* NO_DATA */,
	0x001c /* INACTIVE */, 0x001d /* NO_RESOURCES */, 0x001e /* FEATURE_UNAVAILABLE */,
	0x001f /* PARTIAL_PACKET */, 0x0020 /* PROCESSOR_FEATURE_NOT_SUPPORTED */,
	0x0030 /* PROCESSOR_CACHE_LINE_FLUSH_SIZE_INCOMPATIBLE */, 0x0033 /* INSUFFICIENT_BUFFER */,
	0x0037 /* INCOMPATIBLE_PROCESSOR */, 0x0038 /* INSUFFICIENT_DEVICE_DOMAINS */,
	0x003c /* CPUID_FEATURE_VALIDATION_ERROR */, 0x003d /* CPUID_XSAVE_FEATURE_VALIDATION_ERROR */,
	0x003e /* PROCESSOR_STARTUP_TIMEOUT */, 0x003f /* SMX_ENABLED */,
	0x0041 /* INVALID_LP_INDEX */, HV_STATUS_INVALID_REGISTER_VALUE,
	0x0051 /* INVALID_VTL_STATE (TLFS 15.x; its value is not in appendix B) */,
	0x0055 /* NX_NOT_DETECTED */, 0x0057 /* INVALID_DEVICE_ID */,
	0x0058 /* INVALID_DEVICE_STATE */, 0x0059 /* PENDING_PAGE_REQUESTS */,
	0x0060 /* PAGE_REQUEST_INVALID */, 0x0071 /* OPERATION_FAILED */,
	0x0072 /* NOT_ALLOWED_WITH_NESTED_VIRT_ACTIVE */,
};

bool fz_status_valid(u16 s)
{
	for (size_t i = 0; i < ARRAY_SIZE(tlfs_statuses); i++)
		if (tlfs_statuses[i] == s)
			return true;
	return false;
}

static u8 ram_snap[FAKE_RAM_SIZE];
void fz_ram_snapshot(void) { memcpy(ram_snap, fake_ram, FAKE_RAM_SIZE); }

bool fz_ram_changed(void) { return memcmp(ram_snap, fake_ram, FAKE_RAM_SIZE) != 0; }

void fz_ram_check(u64 lo, u64 hi, bool ad_bits)
{
	for (u64 i = 0; i < FAKE_RAM_SIZE; i++) {
		if (!(i & 255) && !memcmp(ram_snap + i, fake_ram + i, 256)) {
			i += 255;
			continue;
		}
		u8 was = ram_snap[i], now = fake_ram[i];
		if (was == now)
			continue;
		u64 gpa = FAKE_RAM_BASE + i;
		if (gpa >= lo && gpa < hi)
			continue;
		/* A/D (bits 5, 6 of an entry's low byte), only ever set. */
		if (ad_bits && !(gpa & 3) && !((was ^ now) & ~0x60) && (now & ~was) == (was ^ now))
			continue;
		FZ_CHECK(0, "guest RAM at %llx changed (%02x -> %02x) outside [%llx, %llx)%s",
			 (unsigned long long)gpa, was, now, (unsigned long long)lo,
			 (unsigned long long)hi, ad_bits ? " and not A/D bits" : "");
	}
}

/* ---- the world's second-level tables -------------------------------------- */
/* Pages of the world's tables: a static pool, reset with the world (no
 * allocator churn per input). */
static u8 tbl_mem[1024][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static int tbl_count;

static void *tbl_alloc(void *ctx)
{
	(void)ctx;
	if (tbl_count == (int)ARRAY_SIZE(tbl_mem))
		return NULL; /* the backend's "out of memory" */
	memset(tbl_mem[tbl_count], 0, PAGE_SIZE);
	return tbl_mem[tbl_count++];
}

/* The fake backend, with its second-level ops on real tables (the
 * backends' shared code, arch/x86_64/slat.c, as svm/ and vmx/ call it). */
static int fzb_set_page(struct vp *vp, u64 gpa, u64 hpa, enum slat_access acc)
{
	fake_backend.slat_set_page(vp, gpa, hpa, acc); /* the fake's log */
	return slat_set_access(vp->cur->slat, gpa, hpa, acc);
}
static int fzb_map_identity(struct vp *vp, u64 gpa)
{
	u64 base, size;
	fake_backend.slat_map_identity(vp, gpa);
	return slat_map_identity_large(vp->cur->slat, gpa, &base, &size);
}
static struct backend fz_backend;

/* Every VP's mailbox served, and an interrupt pending (the idle MSR's
 * wait ends), whenever a host-side wait spins. */
static void fz_relax(void)
{
	fake_serve_all();
	fake_apic[0x200 / 4] |= 1;
}

static struct fz_world world;
static u8 hc_page[4096] __attribute__((aligned(4096)));
static u8 tsc_page[4096] __attribute__((aligned(4096)));
static u8 assist_pages[FZ_MAX_VPS][4096] __attribute__((aligned(4096)));
static const struct mem_range ranges[] = {
	{ FAKE_RAM_BASE, FZ_FW_BASE - FAKE_RAM_BASE, MEM_RAM, 0 },
	{ FZ_FW_BASE, FAKE_RAM_BASE + FAKE_RAM_SIZE - FZ_FW_BASE, MEM_RESERVED, 0 },
	{ FZ_HIDDEN_BASE, FZ_HIDDEN_SIZE, MEM_HV, 0 },
	{ FZ_MMIO, 0x1000, MEM_MMIO, 0 },
};

static void die(const char *what)
{
	fprintf(stderr, "fuzz harness: %s\n", what);
	abort();
}

struct fz_world *fz_world_new(int n)
{
	struct fz_world *w = &world;
	struct partition *p = &w->p;

	tbl_count = 0;
	static bool log_ready;
	if (!log_ready) {
		fake_log_init();
		log_ready = true;
	}
	fake_serial_reset();
	fake_cpuid_reset();
	fake_cpuid_set(0x80000000u, 0, 0x80000008u, 0, 0, 0);
	fake_cpuid_set(0x80000001u, 0, 0, 0, 0, BIT(26) | BIT(20)); /* 1G pages, NX */
	fake_cpuid_set(1, 0, 0x000806f0, 0, 0, 0);
	fake_msr_reset();
	fake_msr_set(MSR_IA32_APIC_BASE, FZ_APIC | BIT(11) | BIT(8)); /* xAPIC, BSP */
	memset(fake_apic, 0, sizeof(fake_apic));
	memset(fake_ram, 0, FAKE_RAM_SIZE);
	memset(fake_xmm, 0, sizeof(fake_xmm));
	fake_tsc = 0;
	fake_tsc_step = 1;
	fake_relax_count = 0;
	fake_icr_count = 0;

	w->n = n < 1 ? 1 : n > FZ_MAX_VPS ? FZ_MAX_VPS : n;
	fake_smp_partition(p, w->vps, w->bes, w->n);
	fake_relax_hook = fz_relax;
	fz_backend = fake_backend;
	fz_backend.slat_set_page = fzb_set_page;
	fz_backend.slat_map_identity = fzb_map_identity;
	p->be = &fz_backend;
	p->ranges = ranges;
	p->range_count = ARRAY_SIZE(ranges);
	p->apic_hz = 100000000;
	p->invariant_tsc = true;
	/* q35's PM1a control, a PM1b, a reset port: the intercepted ports. */
	p->pm1a_cnt_port = 0x604;
	p->pm1b_cnt_port = 0x704;
	p->reset_port = 0x92;
	p->reset_value = 1;
	/* Every processor is a VP, and one more not virtualized yet. */
	p->cpu_count = (u32)w->n + 1;
	for (int i = 0; i < w->n; i++) {
		p->cpu_apic[i] = w->vps[i].apic_id;
		p->cpu_vp[i] = &w->vps[i];
	}
	p->cpu_apic[w->n] = 10 + (u32)w->n;
	/* The backends' partition_create: identity below phys_top but for
	 * the hypervisor's memory. */
	if (slat_init(&p->slat[0], &slat_fmt_npt, tbl_alloc, NULL) ||
	    slat_identity_with_hole(&p->slat[0], 0, FZ_MAPPED_TOP, FZ_HIDDEN_BASE,
				    FZ_HIDDEN_BASE + FZ_HIDDEN_SIZE))
		die("second-level tables");
	w->hc_page = hc_page;
	w->tsc_page = tsc_page;
	if (hc_setup(p, hc_page) || time_setup(p, tsc_page))
		die("overlays");
	for (int i = 0; i < w->n; i++) {
		w->assist[i] = assist_pages[i];
		if (apic_assist_setup(&w->vps[i], assist_pages[i]))
			die("assist page");
	}
	p->apic_gpa = FZ_APIC;
	if (gmem_protect_page(&w->vps[0], FZ_APIC, SLAT_RX))
		die("APIC page");
	for (int i = 0; i < w->n; i++)
		fz_set_mode(w, i, false, 0);
	return w;
}

void fz_set_mode(struct fz_world *w, int vp, bool mode32, u8 cpl)
{
	struct fake_be_state *s = &w->bes[vp];
	s->regs[GREG_EFER] = mode32 ? 0 : EFER_LMA | EFER_LME | EFER_NXE;
	s->regs[GREG_CS_L] = !mode32;
	s->regs[GREG_CR0] = CR0_PE | CR0_PG | CR0_WP | CR0_ET | CR0_NE;
	s->regs[GREG_CR4] = mode32 ? 0 : CR4_PAE;
	s->regs[GREG_CPL] = cpl & 3;
	s->regs[GREG_RFLAGS] = 2;
	s->state.seg[SEG_CS].attr = mode32 ? 0xc09b : 0xa09b;
	s->state.efer = s->regs[GREG_EFER];
	s->state.rflags = 2;
	s->state.pat = 0x0007040600070406ull;
}

void fz_enable_hypercalls(struct fz_world *w, u64 gpa)
{
	FZ_CHECK(fz_msr_write(w, 0, HV_X64_MSR_GUEST_OS_ID, 0x8100000000000000ull) == HV_ACT_ADVANCE);
	FZ_CHECK(fz_msr_write(w, 0, HV_X64_MSR_HYPERCALL, gpa | HV_HYPERCALL_ENABLE) == HV_ACT_ADVANCE);
}

static void check_msr_outcome(struct fz_world *w, int vp, enum hv_action a, const char *what,
			      u32 msr)
{
	FZ_CHECK(a == HV_ACT_ADVANCE || a == HV_ACT_INJECTED, "%s %x: action %d", what, msr, a);
	if (a == HV_ACT_INJECTED)
		FZ_CHECK(w->bes[vp].injected_vector == 13 && !w->bes[vp].injected_error,
			 "%s %x: vector %d injected, want #GP(0)", what, msr,
			 w->bes[vp].injected_vector);
}

enum hv_action fz_msr_read(struct fz_world *w, int vp, u32 msr, u64 *val)
{
	struct hv_exit e = { .reason = HV_EXIT_MSR_READ };
	e.u.msr.index = msr;
	w->bes[vp].injected_vector = -1;
	enum hv_action a = hv_handle_msr_read(&w->vps[vp], &e);
	check_msr_outcome(w, vp, a, "rdmsr", msr);
	*val = (w->vps[vp].gpr[GPR_RDX] << 32) | (u32)w->vps[vp].gpr[GPR_RAX];
	return a;
}

enum hv_action fz_msr_write(struct fz_world *w, int vp, u32 msr, u64 val)
{
	struct hv_exit e = { .reason = HV_EXIT_MSR_WRITE };
	e.u.msr.index = msr;
	e.u.msr.value = val;
	w->bes[vp].injected_vector = -1;
	enum hv_action a = hv_handle_msr_write(&w->vps[vp], &e);
	check_msr_outcome(w, vp, a, "wrmsr", msr);
	return a;
}

void fz_op_state(struct fz *f, struct fz_world *w)
{
	int v = (int)fz_below(f, (u32)w->n);
	struct vp *vp = &w->vps[v];
	struct fake_be_state *s = &w->bes[v];
	switch (fz_u8(f) % 8) {
	case 0: /* an INIT was taken: wait-for-SIPI (hv/smp.c, before entry) */
		if (vp->init_pending) {
			vp->init_pending = 0;
			vp->wait_sipi = true;
		} else {
			vp->wait_sipi = fz_bool(f);
		}
		break;
	case 1: fz_set_mode(w, v, fz_bool(f), fz_u8(f)); break;
	case 2: /* paging registers, for the walks */
		s->regs[GREG_CR3] = s->state.cr3 = fz_bool(f) ? fz_gpa(f, w) & ~0xfffull : fz_u64(f);
		s->regs[GREG_CR4] = s->state.cr4 = fz_u32(f) & 0x3ff7ff;
		break;
	case 3: s->regs[GREG_CR0] = s->state.cr0 = fz_u32(f) | CR0_PE; break;
	case 4: /* withdraw privileges or features (ACCESS_DENIED, #UD paths) */
		w->p.privileges &= ~(1ull << fz_below(f, 64));
		w->p.features_edx &= ~(1u << fz_below(f, 32));
		break;
	case 5: w->p.privileges |= HV_ACCESS_PARTITION_ID; break;
	case 6: fake_tsc_step = fz_bool(f) ? 1 : 1 + fz_u32(f); break; /* rep rounds end early */
	default: /* x2APIC mode or back */
		fake_msr_set(MSR_IA32_APIC_BASE, FZ_APIC | BIT(11) | BIT(8) | (fz_bool(f) ? BIT(10) : 0));
		break;
	}
}

void fz_op_poke(struct fz *f, struct fz_world *w)
{
	(void)w;
	u32 off = fz_u16(f) % FAKE_RAM_SIZE;
	u32 len = fz_u8(f) % 64 + 1;
	if (len > FAKE_RAM_SIZE - off)
		len = FAKE_RAM_SIZE - off;
	if (fz_bool(f)) { /* an entry pointing into guest RAM */
		u64 e = FAKE_RAM_BASE + (u64)fz_below(f, 16) * PAGE_SIZE + (fz_u16(f) & 0xfff);
		off &= ~7u;
		memcpy(fake_ram + off, &e, off + 8 <= FAKE_RAM_SIZE ? 8 : 0);
		return;
	}
	fz_bytes(f, fake_ram + off, len);
}

/* ---- the second-level tables against the rule ---------------------------- */
#define NPT_P BIT(0)
#define NPT_RW BIT(1)
#define NPT_PS BIT(7)

static bool hidden(u64 a, u64 len)
{
	return a < FZ_HIDDEN_BASE + FZ_HIDDEN_SIZE && FZ_HIDDEN_BASE < a + len;
}

/* What gpa's page must show: the top overlay there, else hv/gmem.c's base
 * protection, restated independently: hypervisor memory unmapped, the
 * xAPIC page read-only, the rest identity RWX. */
static const struct overlay *top_overlay(const struct partition *p, u64 gpa)
{
	for (u32 i = p->overlay_count; i-- > 0;) /* hv/overlay.c: the latest enabled last */
		if (p->overlays[i]->active && p->overlays[i]->gpa == gpa)
			return p->overlays[i];
	return NULL;
}

static void expect(const struct partition *p, u64 gpa, u64 *hpa, int *acc)
{
	const struct overlay *o = top_overlay(p, gpa);
	if (o) {
		*hpa = o->hpa;
		*acc = o->acc;
	} else if (hidden(gpa, PAGE_SIZE)) {
		*hpa = 0;
		*acc = SLAT_NONE;
	} else {
		*hpa = gpa;
		*acc = gpa == FZ_APIC ? SLAT_RX : SLAT_RWX;
	}
}

static bool any_overlay_in(const struct partition *p, u64 base, u64 size)
{
	for (u32 i = 0; i < p->overlay_count; i++) {
		const struct overlay *o = p->overlays[i];
		if (o->active && o->gpa >= base && o->gpa - base < size)
			return true;
	}
	return false;
}

static void check_table(const struct partition *p, u64 table, int level, u64 va)
{
	const u64 *t = (const u64 *)(uintptr_t)table;
	u64 sz = 1ull << (12 + 9 * level);
	for (u64 i = 0; i < 512; i++) {
		u64 e = t[i], a = va + i * sz;
		if (a >> FZ_PHYS_BITS) {
			FZ_CHECK(!(e & NPT_P), "GPA %llx beyond the GPA space mapped", (unsigned long long)a);
			continue;
		}
		if (level == 0) {
			u64 hpa;
			int acc;
			expect(p, a, &hpa, &acc);
			if (!(e & NPT_P)) {
				/* Unmapped: hidden memory, or not touched yet above
				 * phys_top (mapped on first touch). */
				FZ_CHECK(acc == SLAT_NONE || a >= FZ_MAPPED_TOP,
					 "GPA %llx unmapped, expected access %d", (unsigned long long)a, acc);
				continue;
			}
			u64 pa = e & SLAT_ADDR_MASK;
			int got = (e & NPT_RW) ? SLAT_RWX : SLAT_RX;
			FZ_CHECK(acc != SLAT_NONE, "GPA %llx (hypervisor memory) mapped to %llx",
				 (unsigned long long)a, (unsigned long long)pa);
			FZ_CHECK(pa == hpa && got == acc,
				 "GPA %llx maps %llx with access %d; expected %llx with access %d",
				 (unsigned long long)a, (unsigned long long)pa, got,
				 (unsigned long long)hpa, acc);
			FZ_CHECK(!(pa == FZ_APIC && got == SLAT_RWX), "the APIC page is writable at GPA %llx",
				 (unsigned long long)a);
			continue;
		}
		if (!(e & NPT_P)) {
			FZ_CHECK(a >= FZ_MAPPED_TOP, "GPA %llx (%llx bytes) lost its mapping",
				 (unsigned long long)a, (unsigned long long)sz);
			continue;
		}
		if (level < 3 && (e & NPT_PS)) { /* a large leaf: identity RWX, nothing special inside */
			u64 pa = e & SLAT_ADDR_MASK & ~(sz - 1);
			FZ_CHECK(pa == a && (e & NPT_RW), "large page at GPA %llx maps %llx%s",
				 (unsigned long long)a, (unsigned long long)pa,
				 (e & NPT_RW) ? "" : " read-only");
			FZ_CHECK(!hidden(a, sz), "a large page at %llx covers hypervisor memory",
				 (unsigned long long)a);
			FZ_CHECK(!(FZ_APIC >= a && FZ_APIC - a < sz),
				 "a large page at %llx covers the APIC page", (unsigned long long)a);
			FZ_CHECK(!any_overlay_in(p, a, sz), "a large page at %llx covers an overlay",
				 (unsigned long long)a);
			continue;
		}
		check_table(p, e & SLAT_ADDR_MASK, level - 1, a);
	}
}

void fz_check_slat(struct fz_world *w)
{
	const struct partition *p = &w->p;
	check_table(p, p->slat[0].root, 3, 0);
	for (u32 i = 0; i < p->overlay_count; i++) {
		const struct overlay *o = p->overlays[i];
		if (o->active)
			FZ_CHECK(gmem_overlay_at(p, o->gpa) == gmem_overlay_scan(p, o->gpa),
				 "overlay filter misses the %s page at %llx", o->name,
				 (unsigned long long)o->gpa);
	}
}

/* ---- operations shared by the targets ------------------------------------- */
void fz_op_msr(struct fz *f, struct fz_world *w)
{
	static const u32 overlays[] = { HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL,
					HV_X64_MSR_REFERENCE_TSC, HV_X64_MSR_VP_ASSIST_PAGE };
	int v = (int)fz_below(f, (u32)w->n);
	u8 sel = fz_u8(f);
	u32 msr = (sel & 1) ? overlays[(sel >> 1) & 3] : fz_msr(f);
	u64 val;
	switch ((sel >> 3) & 3) {
	case 0: val = (fz_gpa(f, w) & ~0xfffull) | (fz_u16(f) & 0xfff); break;
	case 1: val = (fz_gpa(f, w) & ~0xfffull) | 1; break;
	case 2: val = fz_u8(f); break;
	default: val = fz_u64(f); break;
	}
	u64 got;
	fz_ram_snapshot();
	if (sel & 0x20) {
		fz_msr_read(w, v, msr, &got);
	} else if (fz_msr_write(w, v, msr, val) == HV_ACT_ADVANCE && (sel & 0x40) &&
		   fz_msr_read(w, v, msr, &got) == HV_ACT_ADVANCE &&
		   (msr == HV_X64_MSR_REFERENCE_TSC || msr == HV_X64_MSR_VP_ASSIST_PAGE)) {
		/* TLFS 12.7.1, 7.8.7: what was accepted reads back. */
		FZ_CHECK(got == val, "MSR %x reads %llx after %llx was written", msr,
			 (unsigned long long)got, (unsigned long long)val);
	}
	fz_ram_check(0, 0, false); /* an MSR access never writes guest memory */
}

/* The leaf entry for gpa in the world's tables: 0 if unmapped. */
static u64 slat_entry(const struct fz_world *w, u64 gpa)
{
	u64 table = w->p.slat[0].root;
	for (int l = 3; l >= 0; l--) {
		u64 e = ((const u64 *)(uintptr_t)table)[(gpa >> (12 + 9 * l)) & 511];
		if (!(e & NPT_P))
			return 0;
		if (l == 0 || (e & NPT_PS))
			return e;
		table = e & SLAT_ADDR_MASK;
	}
	return 0;
}

void fz_op_npf(struct fz *f, struct fz_world *w)
{
	int v = (int)fz_below(f, (u32)w->n);
	u64 gpa = fz_gpa(f, w);
	u8 kind = fz_u8(f) % 3; /* read, write, fetch */
	if (gpa >> FZ_PHYS_BITS)
		return; /* beyond MAXPHYADDR the processor raises #PF, not a second-level fault */
	u64 e0 = slat_entry(w, gpa);
	if (e0 && (kind != 1 || (e0 & NPT_RW)))
		return; /* no fault */
	struct hv_exit e = { .reason = HV_EXIT_NPF };
	e.u.npf.gpa = gpa;
	e.u.npf.read = kind == 0;
	e.u.npf.write = kind == 1;
	e.u.npf.exec = kind == 2;
	e.u.npf.present = e0 != 0;
	/* The instruction behind an xAPIC store: somewhere in guest RAM. */
	w->bes[v].regs[GREG_RIP] = FAKE_RAM_BASE + fz_below(f, FAKE_RAM_SIZE);
	w->bes[v].injected_vector = -1;
	fz_ram_snapshot();
	enum hv_action a = hv_handle_npf(&w->vps[v], &e);
	fz_ram_check(0, 0, false);
	bool apic = (gpa & ~0xfffull) == FZ_APIC && kind == 1;
	FZ_CHECK(a == HV_ACT_RESUME || a == HV_ACT_INJECTED || (apic && a == HV_ACT_ADVANCE),
		 "NPF at %llx: action %d", (unsigned long long)gpa, a);
	if (a == HV_ACT_INJECTED) {
		int vec = w->bes[v].injected_vector;
		/* 14: the store's instruction could not be fetched (the walk's
		 * #PF, hv/emulate.c emulate_fetch_failed). */
		FZ_CHECK(vec == 13 || (apic && (vec == 6 || vec == 14)), "NPF at %llx: vector %d injected",
			 (unsigned long long)gpa, vec);
	}
	if (a == HV_ACT_RESUME && !apic) { /* the retry must not fault the same way forever */
		u64 e1 = slat_entry(w, gpa);
		FZ_CHECK(e1 && (kind != 1 || (e1 & NPT_RW)),
			 "NPF at %llx resumed, but the access faults again", (unsigned long long)gpa);
	}
}

void fz_op_io(struct fz *f, struct fz_world *w)
{
	static const u16 ports[] = { 0x604, 0x605, 0x704, 0x705, 0x92 };
	int v = (int)fz_below(f, (u32)w->n);
	u8 sel = fz_u8(f);
	struct hv_exit e = { .reason = HV_EXIT_IO, .insn_len = 1 };
	e.u.io.port = (sel & 8) ? fz_u16(f) : ports[sel % ARRAY_SIZE(ports)];
	e.u.io.size = (u8[]){ 1, 2, 4, 4 }[(sel >> 4) & 3];
	e.u.io.in = sel & 0x40;
	e.u.io.string = sel & 0x80;
	e.u.io.rep = fz_bool(f);
	w->vps[v].gpr[GPR_RAX] = fz_bool(f) ? fz_u64(f) : 0x2000 | ((u64)fz_u8(f) << 8);
	w->bes[v].injected_vector = -1;
	fz_ram_snapshot();
	enum hv_action a = hv_handle_io(&w->vps[v], &e);
	fz_ram_check(0, 0, false);
	FZ_CHECK(a == HV_ACT_ADVANCE || (a == HV_ACT_INJECTED && w->bes[v].injected_vector == 13),
		 "I/O exit on port %x: action %d, vector %d", e.u.io.port, a,
		 w->bes[v].injected_vector);
}
