/*
 * checks_translate.c - HvTranslateVirtualAddress (TLFS 9.3.4, 9.4.6) from
 * the guest: the payload builds a private page-table hierarchy (a copy of
 * the firmware's PML4 plus one empty slot it owns, with its own PDPT, PD
 * and PT under it), loads it in CR3 with interrupts disabled, and asks the
 * hypervisor to translate addresses in it on VP 0: a present 4K page, a 2M
 * page, a 1G page (when the CPU has them), not present at each level, a
 * write to a read-only page with CR0.WP, execute of an XD page, reserved
 * bits, A/D setting, cache type, a page table in hypervisor memory
 * (GpaUnmapped), a page that maps hypervisor memory (a success reporting
 * that GPA), the hypercall page (OverlayPage). Then firmware addresses
 * against a software walk of the firmware's tables (identity: GPA == GVA),
 * on VP 0 and on every AP (idle in the firmware), and the bad inputs.
 */
#include "hcall.h"
#include "px86.h"

#define CALL_TRANSLATE 0x0052u
#define T_READ 1ull
#define T_WRITE 2ull
#define T_EXEC 4ull
#define T_EXEMPT 8ull
#define T_SETBITS 0x10ull
#define T_FLUSH_INHIBIT 0x20ull
#define R_OK 0u
#define R_NOT_PRESENT 1u
#define R_PRIV 2u
#define R_RSVD 3u
#define R_UNMAPPED 4u
#define ST_BAD_VP 0xEu

#define X_P 1ull
#define X_RW 2ull
#define X_US 4ull
#define X_PWT 8ull
#define X_PCD 0x10ull
#define X_A 0x20ull
#define X_D 0x40ull
#define X_PS 0x80ull
#define X_XD (1ull << 63)
#define XEFER_NXE (1ull << 11)

struct xres {
	int vec;
	unsigned int status;
	uint64_t result, gpa_page;
};

/* One memory-based call; the output is prefilled so that a missing
 * write shows. */
static struct xres xlate(uint64_t pid, uint32_t vp, uint64_t flags, uint64_t gva)
{
	uint64_t *in = (uint64_t *)P_IN, *out = (uint64_t *)P_OUT;
	struct hc_regs r;
	in[0] = pid;
	in[1] = vp;
	in[2] = flags;
	in[3] = gva >> 12;
	out[0] = out[1] = PREFILL;
	struct xres x;
	x.vec = call_slow(&r, CALL_TRANSLATE, pa(P_IN), pa(P_OUT));
	x.status = (unsigned int)(r.rax & 0xFFFF);
	x.result = out[0];
	x.gpa_page = out[1];
	return x;
}

/* Expect a status; on success also a result code and (for codes that
 * report one) a GPA page. */
static int xexpect(const char *name, struct xres x, unsigned int st, unsigned int code,
		   int check_gpa, uint64_t gpa_page)
{
	if (x.vec != VEC_NONE)
		return check(name, 0, "the call raised %s at rip 0x%lx", vec_name(x.vec),
			     (unsigned long)hc_fault[2]);
	int ok = x.status == st;
	if (ok && st == ST_OK)
		ok = (x.result & 0xFFFFFFFFu) == code && (!check_gpa || x.gpa_page == gpa_page);
	if (ok && st != ST_OK)
		ok = x.result == PREFILL && x.gpa_page == PREFILL;
	return check(name, ok,
		     "status 0x%x result 0x%lx gpa page 0x%lx; expected status 0x%x code %u gpa page 0x%lx",
		     x.status, (unsigned long)x.result, (unsigned long)x.gpa_page, st, code,
		     check_gpa ? (unsigned long)gpa_page : 0ul);
}

/* Software walk of 4-level tables at cr3 (1G/2M/4K pages): the GPA, or
 * ~0 if not present. *pte: the final entry. */
static uint64_t sw_walk(uint64_t cr3, uint64_t va, uint64_t *pte, int *leaf_level)
{
	uint64_t t = cr3 & PTE_ADDR;
	for (int l = 3; l >= 0; l--) {
		uint64_t e = ((const volatile uint64_t *)(uintptr_t)t)[(va >> (12 + 9 * l)) & 511];
		if (!(e & X_P))
			return ~0ull;
		if (l == 0 || (l <= 2 && (e & X_PS))) {
			uint64_t size = 1ull << (12 + 9 * l);
			*pte = e;
			*leaf_level = l;
			return ((e & PTE_ADDR) & ~(size - 1)) | (va & (size - 1));
		}
		t = e & PTE_ADDR;
	}
	return ~0ull;
}

static uint64_t g_pat;

/* HV_CACHE_TYPE of a final entry (SDM 11.12.3), the VP's PAT. */
static unsigned int cache_of(uint64_t e, int level)
{
	unsigned int pat = level == 0 ? (e >> 7) & 1 : (e >> 12) & 1;
	unsigned int idx = pat * 4 + ((e & X_PCD) ? 2 : 0) + ((e & X_PWT) ? 1 : 0);
	unsigned int t = (unsigned int)(g_pat >> (8 * idx)) & 7;
	return (t == 1 || t == 4 || t == 5 || t == 6) ? t : 0;
}

/* A firmware address: the call agrees with the software walk (identity
 * for OVMF, so GPA == GVA too), with the cache type of its entry. */
static void check_identity(const char *name, uint32_t vp, uint64_t va)
{
	uint64_t e = 0;
	int lvl = 0;
	uint64_t want = sw_walk(read_cr3(), va, &e, &lvl);
	struct xres x = xlate(PARTITION_SELF, vp, T_READ, va);
	check(name, want != ~0ull && want == va && x.vec == VEC_NONE &&
		      x.status == ST_OK && (x.result & 0xFFFFFFFFu) == R_OK &&
		      x.gpa_page == want >> 12 && ((x.result >> 32) & 0xFF) == cache_of(e, lvl),
	      "va 0x%lx: software walk 0x%lx (entry 0x%lx); call %s status 0x%x result 0x%lx "
	      "gpa page 0x%lx, cache type expected %u",
	      (unsigned long)va, (unsigned long)want, (unsigned long)e, vec_name(x.vec), x.status,
	      (unsigned long)x.result, (unsigned long)x.gpa_page, cache_of(e, lvl));
}

/* ---- the private hierarchy ------------------------------------------------ */
struct priv {
	uint64_t *pml4, *pdpt, *pd, *pt, *data;
	uint64_t base; /* GVA of our PML4 slot */
	unsigned int slot;
	uint64_t hidden; /* hypervisor memory (info table), 0 if unknown */
	uint64_t bigpage; /* 2M-aligned RAM for the 2M page */
	int gb;          /* 1 GiB pages */
	int nxe;
};

#define GVA_4K(p, i) ((p)->base + 0x1000ull * (i))         /* PT[i] */
#define GVA_2M(p, i) ((p)->base + 0x200000ull * (i))       /* PD[i] */
#define GVA_1G(p, i) ((p)->base + 0x40000000ull * (i))     /* PDPT[i] */

static void priv_build(struct priv *p, const uint64_t *fw_pml4)
{
	uint64_t d = pa(p->data);
	uint64_t rsvd = 1ull << g_hc.pa_bits; /* the first bit above MAXPHYADDR */
	for (unsigned int i = 0; i < 512; i++) {
		p->pml4[i] = fw_pml4[i];
		p->pdpt[i] = p->pd[i] = p->pt[i] = 0;
	}
	p->pml4[p->slot] = pa(p->pdpt) | X_P | X_RW;
	p->pdpt[0] = pa(p->pd) | X_P | X_RW;
	if (p->gb)
		p->pdpt[1] = 0x40000000ull | X_P | X_RW | X_PS; /* GVA base+1G -> 1G */
	/* pdpt[2]: not present */
	p->pdpt[3] = pa(p->pd) | X_P | X_RW | rsvd;
	p->pd[0] = pa(p->pt) | X_P | X_RW;
	p->pd[1] = p->bigpage | X_P | X_RW | X_PS;
	/* pd[2]: not present */
	p->pd[3] = p->bigpage | X_P | X_RW | X_PS | (1ull << 13); /* reserved in a 2M entry */
	if (p->hidden)
		p->pd[4] = p->hidden | X_P | X_RW; /* a page table in hypervisor memory */
	p->pt[0] = d | X_P | X_RW;
	p->pt[1] = d | X_P;                      /* read-only */
	p->pt[2] = d | X_P | X_RW | X_XD;        /* XD (reserved without NXE) */
	/* pt[3]: not present */
	p->pt[4] = d | X_P | X_RW | rsvd;        /* reserved address bit */
	p->pt[5] = d | X_P | X_RW;               /* A/D: write */
	p->pt[6] = d | X_P | X_RW;               /* A/D: read */
	if (p->hidden)
		p->pt[7] = p->hidden | X_P | X_RW;   /* maps hypervisor memory */
	p->pt[8] = d | X_P | X_RW | X_PCD | X_PWT; /* PAT index 3 */
	p->pt[9] = d | X_P | X_RW | X_PCD | (1ull << 7); /* PAT index 6 */
}

static void priv_checks(struct priv *p)
{
	uint64_t dpage = pa(p->data) >> 12;
	struct xres x;

	x = xlate(PARTITION_SELF, 0, T_READ | T_WRITE, GVA_4K(p, 0) + 0x123);
	xexpect("xlate.vp0.4k", x, ST_OK, R_OK, 1, dpage);
	check_eq("xlate.vp0.4k.cache_type", (x.result >> 32) & 0xFF, cache_of(p->pt[0], 0));
	check_eq("xlate.vp0.4k.not_overlay", (x.result >> 40) & 1, 0);
	x = xlate(PARTITION_SELF, 0, T_READ, GVA_2M(p, 1) + 0x5000);
	xexpect("xlate.vp0.2m", x, ST_OK, R_OK, 1, (p->bigpage + 0x5000) >> 12);
	if (p->gb) {
		x = xlate(PARTITION_SELF, 0, T_READ, GVA_1G(p, 1) + 0x123000);
		xexpect("xlate.vp0.1g", x, ST_OK, R_OK, 1, (0x40000000ull + 0x123000) >> 12);
	} else {
		ser_printf("  info: no 1 GiB pages (CPUID 0x80000001 EDX[26]): xlate.vp0.1g "
			   "expects a reserved PS bit\n");
		p->pdpt[1] = 0x40000000ull | X_P | X_RW | X_PS;
		x = xlate(PARTITION_SELF, 0, T_READ, GVA_1G(p, 1));
		xexpect("xlate.vp0.1g_unsupported_rsvd", x, ST_OK, R_RSVD, 0, 0);
		p->pdpt[1] = 0;
	}

	/* Not present at each level: PML4 (the slot below ours), PDPT, PD, PT. */
	x = xlate(PARTITION_SELF, 0, T_READ, p->base - 0x8000000000ull);
	xexpect("xlate.vp0.not_present.pml4", x, ST_OK, R_NOT_PRESENT, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_READ, GVA_1G(p, 2));
	xexpect("xlate.vp0.not_present.pdpt", x, ST_OK, R_NOT_PRESENT, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_READ, GVA_2M(p, 2));
	xexpect("xlate.vp0.not_present.pd", x, ST_OK, R_NOT_PRESENT, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_READ, GVA_4K(p, 3));
	xexpect("xlate.vp0.not_present.pt", x, ST_OK, R_NOT_PRESENT, 0, 0);
	/* Non-canonical (4-level paging). */
	x = xlate(PARTITION_SELF, 0, T_READ, 0x0000800000000000ull);
	xexpect("xlate.vp0.non_canonical", x, ST_OK, R_NOT_PRESENT, 0, 0);

	/* Permissions (CR0.WP is set for the window). */
	x = xlate(PARTITION_SELF, 0, T_READ | T_EXEC, GVA_4K(p, 1));
	xexpect("xlate.vp0.read_only.read", x, ST_OK, R_OK, 1, dpage);
	x = xlate(PARTITION_SELF, 0, T_WRITE, GVA_4K(p, 1));
	xexpect("xlate.vp0.read_only.write_wp", x, ST_OK, R_PRIV, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_WRITE | T_EXEMPT, GVA_4K(p, 1));
	xexpect("xlate.vp0.read_only.write_exempt_wp", x, ST_OK, R_PRIV, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_READ | T_WRITE, GVA_4K(p, 2));
	xexpect("xlate.vp0.xd.read_write", x, ST_OK, p->nxe ? R_OK : R_RSVD, p->nxe, dpage);
	x = xlate(PARTITION_SELF, 0, T_EXEC, GVA_4K(p, 2));
	xexpect(p->nxe ? "xlate.vp0.xd.execute" : "xlate.vp0.xd.reserved_without_nxe", x, ST_OK,
		p->nxe ? R_PRIV : R_RSVD, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_EXEC, GVA_4K(p, 0));
	xexpect("xlate.vp0.execute", x, ST_OK, R_OK, 1, dpage);

	/* Reserved bits: an address bit above MAXPHYADDR (PTE, PDPTE), a
	 * 2M entry's bit 13. */
	x = xlate(PARTITION_SELF, 0, T_READ, GVA_4K(p, 4));
	xexpect("xlate.vp0.rsvd.pte_maxphyaddr", x, ST_OK, R_RSVD, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_READ, GVA_1G(p, 3));
	xexpect("xlate.vp0.rsvd.pdpte_maxphyaddr", x, ST_OK, R_RSVD, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_READ, GVA_2M(p, 3));
	xexpect("xlate.vp0.rsvd.pde_2m_bit13", x, ST_OK, R_RSVD, 0, 0);

	/* SET_PAGE_TABLE_BITS: A at every level, D only on the final entry
	 * and only for a write; nothing without the flag. */
	p->pml4[p->slot] &= ~(X_A | X_D);
	p->pdpt[0] &= ~(X_A | X_D);
	p->pd[0] &= ~(X_A | X_D);
	x = xlate(PARTITION_SELF, 0, T_WRITE, GVA_4K(p, 5));
	xexpect("xlate.vp0.ad.no_flag", x, ST_OK, R_OK, 1, dpage);
	check("xlate.vp0.ad.no_flag_untouched",
	      !(p->pt[5] & (X_A | X_D)) && !(p->pd[0] & X_A) && !(p->pml4[p->slot] & X_A),
	      "PML4E 0x%lx PDE 0x%lx PTE 0x%lx", (unsigned long)p->pml4[p->slot],
	      (unsigned long)p->pd[0], (unsigned long)p->pt[5]);
	x = xlate(PARTITION_SELF, 0, T_WRITE | T_SETBITS, GVA_4K(p, 5));
	xexpect("xlate.vp0.ad.write", x, ST_OK, R_OK, 1, dpage);
	check("xlate.vp0.ad.write_bits",
	      (p->pml4[p->slot] & (X_A | X_D)) == X_A && (p->pdpt[0] & (X_A | X_D)) == X_A &&
		      (p->pd[0] & (X_A | X_D)) == X_A && (p->pt[5] & (X_A | X_D)) == (X_A | X_D),
	      "PML4E 0x%lx PDPTE 0x%lx PDE 0x%lx PTE 0x%lx", (unsigned long)p->pml4[p->slot],
	      (unsigned long)p->pdpt[0], (unsigned long)p->pd[0], (unsigned long)p->pt[5]);
	x = xlate(PARTITION_SELF, 0, T_READ | T_SETBITS, GVA_4K(p, 6));
	xexpect("xlate.vp0.ad.read", x, ST_OK, R_OK, 1, dpage);
	check("xlate.vp0.ad.read_bits", (p->pt[6] & (X_A | X_D)) == X_A, "PTE 0x%lx",
	      (unsigned long)p->pt[6]);
	/* A failing permission check sets no A/D in the final entry. */
	x = xlate(PARTITION_SELF, 0, T_WRITE | T_SETBITS, GVA_4K(p, 1));
	xexpect("xlate.vp0.ad.violation", x, ST_OK, R_PRIV, 0, 0);
	check("xlate.vp0.ad.violation_bits", !(p->pt[1] & (X_A | X_D)), "PTE 0x%lx",
	      (unsigned long)p->pt[1]);

	/* Cache types: PAT indexes 3 (PCD PWT) and 6 (PAT PCD). */
	x = xlate(PARTITION_SELF, 0, T_READ, GVA_4K(p, 8));
	xexpect("xlate.vp0.cache.pat3", x, ST_OK, R_OK, 1, dpage);
	check_eq("xlate.vp0.cache.pat3_type", (x.result >> 32) & 0xFF, cache_of(p->pt[8], 0));
	x = xlate(PARTITION_SELF, 0, T_READ, GVA_4K(p, 9));
	xexpect("xlate.vp0.cache.pat6", x, ST_OK, R_OK, 1, dpage);
	check_eq("xlate.vp0.cache.pat6_type", (x.result >> 32) & 0xFF, cache_of(p->pt[9], 0));

	/* Hypervisor memory: as a page table, GpaUnmapped with that page; as
	 * the page mapped, a success that reports it. */
	if (p->hidden) {
		x = xlate(PARTITION_SELF, 0, T_READ, GVA_2M(p, 4));
		xexpect("xlate.vp0.table_in_hv_memory", x, ST_OK, R_UNMAPPED, 1, p->hidden >> 12);
		x = xlate(PARTITION_SELF, 0, T_READ | T_WRITE, GVA_4K(p, 7));
		xexpect("xlate.vp0.maps_hv_memory", x, ST_OK, R_OK, 1, p->hidden >> 12);
	} else {
		check("xlate.vp0.hv_memory", 0, "no hypervisor info table");
	}

	/* Fast form (TLFS 3.7.2, 3.8.1): input in RDX, R8, XMM0; output XMM1. */
	if ((g_hc.feat & FEAT_XMM_IN) && (g_hc.feat & FEAT_XMM_OUT)) {
		struct hc_regs r = { .rcx = CALL_TRANSLATE | HC_FAST, .rdx = PARTITION_SELF, .r8 = 0 };
		r.xmm[0][0] = T_READ;
		r.xmm[0][1] = GVA_4K(p, 0) >> 12;
		r.xmm[1][0] = r.xmm[1][1] = PREFILL;
		int vec = call(&r);
		check("xlate.vp0.fast", vec == VEC_NONE && (r.rax & 0xFFFF) == 0 &&
				    (r.xmm[1][0] & 0xFFFFFFFFu) == R_OK && r.xmm[1][1] == dpage,
		      "%s RAX 0x%lx XMM1 0x%lx:0x%lx, expected page 0x%lx", vec_name(vec),
		      (unsigned long)r.rax, (unsigned long)r.xmm[1][1], (unsigned long)r.xmm[1][0],
		      (unsigned long)dpage);
	}
}

/* ---- the APs ------------------------------------------------------------- */
static unsigned int processors(void)
{
	UINTN n = 1;
	find_mp_services(&n, NULL);
	return (unsigned int)n;
}

void checks_translate(void)
{
	const struct hv_info_table *info = find_hv_info();
	EFI_PHYSICAL_ADDRESS a = 0, big = 0;
	struct priv p = { 0 };
	char name[64];

	if (!g_hc.page_ok) {
		check("xlate.calls", 0, "skipped: the hypercall page is not in place");
		return;
	}
	uint64_t hcmsr = 0;
	if (trap_rdmsr(MSR_HYPERCALL, &hcmsr) != VEC_NONE || !(hcmsr & HC_MSR_ENABLE) ||
	    (hcmsr & ~0xFFFull) != pa(g_hc.p) || page_diff(g_hc.p) >= 0) {
		check("xlate.calls", 0, "skipped: hypercall MSR 0x%lx, page at 0x%lx not in place",
		      (unsigned long)hcmsr, (unsigned long)pa(g_hc.p));
		return;
	}
	if (read_cr4() & CR4_LA57) {
		check("xlate.calls", 0, "5-level paging: the private hierarchy is 4-level only");
		return;
	}
	g_pat = 0x0007040600070406ull;
	trap_rdmsr(0x277, &g_pat);
	uint64_t efer = 0;
	trap_rdmsr(0xC0000080u, &efer);
	unsigned int n = processors();

	/* Bad inputs (TLFS 9.4.6 return values; appendix B). */
	uint64_t ok_va = pa(P_IN2);
	struct xres x;
	x = xlate(PARTITION_SELF, 0, 0, ok_va);
	xexpect("xlate.err.no_validate_flag", x, ST_BAD_PARAM, 0, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_EXEMPT | T_SETBITS, ok_va);
	xexpect("xlate.err.only_modifier_flags", x, ST_BAD_PARAM, 0, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_READ | (1ull << 6), ok_va);
	xexpect("xlate.err.reserved_flag_bit6", x, ST_BAD_PARAM, 0, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_READ | (1ull << 55), ok_va);
	xexpect("xlate.err.reserved_flag_bit55", x, ST_BAD_PARAM, 0, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_READ | T_FLUSH_INHIBIT, ok_va);
	xexpect("xlate.err.tlb_flush_inhibit_refused", x, ST_BAD_PARAM, 0, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_READ | (0x11ull << 56), ok_va);
	xexpect("xlate.err.vtl1", x, ST_BAD_PARAM, 0, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_READ | (0x20ull << 56), ok_va);
	xexpect("xlate.err.vtl_reserved_bits", x, ST_BAD_PARAM, 0, 0, 0);
	x = xlate(PARTITION_SELF, 0, T_READ | (0x10ull << 56), ok_va);
	xexpect("xlate.vtl0_explicit", x, ST_OK, R_OK, 1, ok_va >> 12);
	x = xlate(2, 0, T_READ, ok_va);
	xexpect("xlate.err.bad_partition", x, ST_BAD_PARTITION, 0, 0, 0);
	x = xlate(0, 0, T_READ, ok_va);
	xexpect("xlate.err.partition_zero", x, ST_BAD_PARTITION, 0, 0, 0);
	x = xlate(PARTITION_SELF, n, T_READ, ok_va);
	xexpect("xlate.err.vp_index_out_of_range", x, ST_BAD_VP, 0, 0, 0);
	x = xlate(PARTITION_SELF, 64, T_READ, ok_va);
	xexpect("xlate.err.vp_index_64", x, ST_BAD_VP, 0, 0, 0);
	x = xlate(PARTITION_SELF, 0xFFFFFFFEu, T_READ, ok_va);
	xexpect("xlate.vp_index_self", x, ST_OK, R_OK, 1, ok_va >> 12);
	x = xlate(1, 0, T_READ, ok_va);
	xexpect("xlate.root_partition_id", x, ST_OK, R_OK, 1, ok_va >> 12);

	/* Firmware addresses on VP 0 (the firmware's own tables): our data,
	 * our code, the stack; hypervisor memory (the GPA is reported, it is
	 * not a failure of the walk); the hypercall page (OverlayPage). */
	check_identity("xlate.vp0.identity.data", 0, pa(P_IN2) + 0x10);
	check_identity("xlate.vp0.identity.code", 0, (uint64_t)(uintptr_t)&checks_translate);
	uint64_t sp;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	check_identity("xlate.vp0.identity.stack", 0, sp);
	if (info) {
		uint64_t e = 0;
		int lvl = 0;
		uint64_t want = sw_walk(read_cr3(), info->resident_base, &e, &lvl);
		x = xlate(PARTITION_SELF, 0, T_READ | T_WRITE, info->resident_base);
		if (want == ~0ull)
			xexpect("xlate.vp0.identity.hv_memory_unmapped", x, ST_OK, R_NOT_PRESENT, 0, 0);
		else
			xexpect("xlate.vp0.identity.hv_memory", x, ST_OK, R_OK, 1, want >> 12);
	}
	x = xlate(PARTITION_SELF, 0, T_EXEC, pa(g_hc.p));
	xexpect("xlate.vp0.hypercall_page", x, ST_OK, R_OK, 1, pa(g_hc.p) >> 12);
	check_eq("xlate.vp0.hypercall_page.overlay", (x.result >> 40) & 1, 1);

	/* Every AP, idle in the firmware: an identity-mapped address. */
	if (n < 2)
		ser_printf("  info: one processor: no HvTranslateVirtualAddress check on an AP\n");
	for (unsigned int v = 1; v < n && v < 64; v++) {
		fmt_name(name, sizeof(name), "xlate.vp%u.identity", v);
		x = xlate(PARTITION_SELF, v, T_READ, pa(P_IN2) + 0x10);
		xexpect(name, x, ST_OK, R_OK, 1, pa(P_IN2) >> 12);
	}

	/* The private hierarchy: PML4 copy, PDPT, PD, PT, a data page; and
	 * 2M of RAM for the 2M page. */
	EFI_STATUS s1 = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages,
					  EfiBootServicesData, 5, &a);
	EFI_STATUS s2 = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages,
					  EfiBootServicesData, 1024, &big); /* 4 MiB: holds a 2M-aligned 2M */
	if (!check("xlate.setup.pages", !EFI_ERROR(s1) && !EFI_ERROR(s2), "AllocatePages 0x%lx 0x%lx",
		   (unsigned long)s1, (unsigned long)s2))
		return;
	p.pml4 = (uint64_t *)(uintptr_t)a;
	p.pdpt = p.pml4 + 512;
	p.pd = p.pdpt + 512;
	p.pt = p.pd + 512;
	p.data = p.pt + 512;
	p.bigpage = (big + 0x1FFFFFull) & ~0x1FFFFFull;
	p.hidden = info ? info->resident_base : 0;
	p.gb = (cpuid(0x80000000u, 0).eax >= 0x80000001u) && (cpuid(0x80000001u, 0).edx >> 26) & 1;
	p.nxe = (efer & XEFER_NXE) != 0;
	if (!p.nxe)
		ser_printf("  info: EFER.NXE is clear: XD is a reserved bit\n");

	/* Our slot: an empty PML4 slot of the lower half whose neighbour
	 * below is empty too (the not-present case at the PML4). */
	uint64_t fw_cr3 = read_cr3();
	const uint64_t *fw = (const uint64_t *)(uintptr_t)(fw_cr3 & PTE_ADDR);
	for (unsigned int s = 255; s >= 2 && !p.slot; s--)
		if (!(fw[s] & X_P) && !(fw[s - 1] & X_P))
			p.slot = s;
	if (!check("xlate.setup.slot", p.slot != 0, "no two empty PML4 slots"))
		goto out;
	p.base = (uint64_t)p.slot << 39;
	priv_build(&p, fw);
	ser_printf("  info: private tables at 0x%lx, PML4 slot %u (GVA 0x%lx), 2M page 0x%lx, "
		   "1G pages %d, NXE %d, PAT 0x%lx\n", (unsigned long)a, p.slot,
		   (unsigned long)p.base, (unsigned long)p.bigpage, p.gb, p.nxe,
		   (unsigned long)g_pat);

	uint64_t fl = irq_save();
	uint64_t cr0 = read_cr0();
	write_cr0(cr0 | CR0_WP);
	write_cr3(pa(p.pml4) | (fw_cr3 & 0xFFF));
	priv_checks(&p);
	/* The same identity address through our copy of the PML4. */
	check_identity("xlate.vp0.private_cr3.identity", 0, pa(P_IN2));
	write_cr3(fw_cr3);
	write_cr0(cr0);
	irq_restore(fl);
out:
	uefi_call_wrapper(BS->FreePages, 2, a, 5);
	uefi_call_wrapper(BS->FreePages, 2, big, 1024);
}
