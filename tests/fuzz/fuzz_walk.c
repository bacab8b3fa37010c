/*
 * fuzz_walk.c - the guest page walker (hv/walk.c: walk_gva, shared by
 * HvTranslateVirtualAddress and the xAPIC store emulation's fetch) over
 * fuzzed page tables in fake guest memory: paging off, 32-bit (PSE,
 * PSE-36), PAE, 4-level and 5-level, with every control flag, CPL, PAT,
 * CR0.WP/CD, EFER.NXE, CR4.SMEP/SMAP, RFLAGS.AC; tables in RAM, firmware
 * memory, an overlay page (the hypercall page), hypervisor memory, MMIO
 * or beyond the GPA space. Also translate_gva (the OverlayPage bit) and
 * emulate_fetch (instruction bytes across pages).
 *
 * Oracles (besides ASan/UBSan, and hw_gpa_ptr aborting on anything
 * outside guest RAM): a result code of TLFS 9.4.6; on success a GPA page
 * inside the GPA space and a TLFS 9.3.3 cache type; GpaUnmapped names a
 * page that is not RAM or firmware memory; guest memory is changed only
 * with SET_PAGE_TABLE_BITS, and then only A/D bits are set (TLFS 9.4.6);
 * the walk is deterministic, and a walk without permission checks
 * succeeds wherever a checked one does, with the same GPA (both compared
 * when the first walk changed no memory: A/D bits set in aliased tables
 * may change what the next walk reads, as on hardware).
 */
#include "harness.h"
#include "walk.h"
#include "translate.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct fz_world *w = fz_world_new(1);
	const struct partition *p = &w->p;
	u8 hdr = fz_u8(&f);
	if (hdr & 1) /* the hypercall page over a RAM page the tables may use */
		fz_enable_hypercalls(w, FAKE_RAM_BASE + (u64)fz_below(&f, 12) * PAGE_SIZE);
	/* The tables: entries pointing into guest RAM, and raw bytes. */
	u32 pokes = fz_u8(&f) % 48;
	for (u32 i = 0; i < pokes; i++)
		fz_op_poke(&f, w);

	struct xlate_state s;
	u8 m = fz_u8(&f);
	u64 cr0 = CR0_PE | ((m & 1) ? CR0_PG : 0) | ((m & 2) ? CR0_WP : 0) | ((m & 0x80) ? CR0_CD : 0);
	u64 cr4 = ((m & 4) ? CR4_PAE : 0) | ((m & 8) ? BIT(4) /* PSE */ : 0) |
		  ((m & 0x10) ? BIT(12) /* LA57 */ : 0) | (fz_bool(&f) ? BIT(20) | BIT(21) : 0);
	u64 efer = ((m & 0x20) ? EFER_LMA | EFER_LME : 0) | ((m & 0x40) ? EFER_NXE : 0);
	u64 cr3 = fz_bool(&f) ? fz_gpa(&f, w) : FAKE_RAM_BASE + (u64)fz_below(&f, 16) * PAGE_SIZE;
	if (fz_bool(&f))
		cr3 |= fz_u16(&f) & 0xfff; /* PCD/PWT, PCID bits */
	s = (struct xlate_state){ cr0, cr3, cr4, efer, fz_bool(&f) ? fz_u64(&f) : 0x0007040600070406ull,
				  fz_bool(&f) ? BIT(18) : 0, (u8)(fz_u8(&f) & 3), fz_bool(&f), 0 };
	for (int walks = 0; fz_left(&f) && walks < 8; walks++) {
		u64 gva = fz_bool(&f) ? fz_u64(&f) : FAKE_RAM_BASE + fz_below(&f, 1u << 20);
		u64 flags = fz_u8(&f) & 0x3f;
		if (fz_bool(&f))
			flags = fz_u64(&f);
		struct xlate_out o = { 0 }, o2 = { 0 }, o3 = { 0 };
		fz_ram_snapshot();
		u32 code = translate_gva(p, &s, gva >> 12, flags, &o);
		bool setbits = flags & HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS;
		fz_ram_check(0, 0, setbits);
		/* A/D bits it set may change what a later walk reads where
		 * tables alias (an entry that is also another level's entry:
		 * bit 5 is reserved in a PAE PDPTE), as on hardware: the
		 * walks below compare only when memory did not change. */
		bool same_memory = !fz_ram_changed();
		FZ_CHECK(code <= HV_TRANSLATE_GVA_GPA_ILLEGAL_OVERLAY_ACCESS,
			 "walk of %llx: result %u", (unsigned long long)gva, code);
		if (code == HV_TRANSLATE_GVA_SUCCESS) {
			FZ_CHECK(!(o.gpa_page >> (FZ_PHYS_BITS - 12)), "GPA page %llx beyond the space",
				 (unsigned long long)o.gpa_page);
			u8 ct = o.cache_type;
			FZ_CHECK(ct == 0 || ct == 1 || ct == 4 || ct == 5 || ct == 6, "cache type %u", ct);
		}
		if (code == HV_TRANSLATE_GVA_GPA_UNMAPPED) {
			enum gmem_type t = gmem_classify(p, o.gpa_page << 12, 8);
			FZ_CHECK(t != GMEM_RAM && t != GMEM_FIRMWARE && t != GMEM_OVERLAY,
				 "GpaUnmapped for page %llx of type %d", (unsigned long long)o.gpa_page, t);
		}
		/* Again: the same answer (deterministic). */
		u32 code2 = walk_gva(p, &s, gva >> 12, flags, &o2);
		FZ_CHECK(!same_memory || (code2 == code && (code || o2.gpa_page == o.gpa_page)),
			 "walk of %llx: %u then %u", (unsigned long long)gva, code, code2);
		/* Without permission checks (the fetch's walk) where a checked
		 * walk succeeded: the same page. */
		if (code == HV_TRANSLATE_GVA_SUCCESS && same_memory) {
			u32 code3 = walk_gva(p, &s, gva >> 12, flags & ~0x1full, &o3);
			FZ_CHECK(code3 == HV_TRANSLATE_GVA_SUCCESS && o3.gpa_page == o.gpa_page,
				 "unchecked walk of %llx: %u, page %llx vs %llx", (unsigned long long)gva,
				 code3, (unsigned long long)o3.gpa_page, (unsigned long long)o.gpa_page);
		}
		/* The emulation's fetch: up to 15 bytes, across pages. */
		struct gwalk_regs r = { cr0, cr3, cr4, efer };
		u8 insn[15];
		fz_ram_snapshot();
		int n = emulate_fetch(p, &r, gva, insn);
		fz_ram_check(0, 0, false);
		FZ_CHECK(n >= 0 && n <= 15, "fetched %d bytes", n);
	}
	fz_check_slat(w);
	return 0;
}
