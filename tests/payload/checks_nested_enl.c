/*
 * checks_nested_enl.c - Hyper-V's nested enlightenments for SVM (issue 16
 * item 4, docs/nested.md "Enlightenments"), as an L1 hypervisor uses them:
 *   - leaf 0x4000000A EAX: exactly bit 18 (HvFlushGuestPhysicalAddress*),
 *     19 (enlightened MSR bitmap) and 22 (enlightened NPT TLB) with
 *     nested=on, 0 without (TLFS 2.4.11);
 *   - the enlightened MSR bitmap: with the flag in the VMCB's Hyper-V
 *     area, a change of L1's MSR map with clean bit 31 clear is seen;
 *   - HvFlushGuestPhysicalAddressSpace (0x00AF) and
 *     HvFlushGuestPhysicalAddressList (0x00B0), TLFS 16.13.1-16.13.2:
 *     every bad input (EFER.SVME clear: INVALID_VP_STATE; reserved Flags,
 *     an address space that is no nCR3, a range beyond the physical
 *     address width, a misaligned large page: INVALID_PARAMETER, with the
 *     reps done before the bad element), and that they work: L1 remaps L2
 *     GPA 0x5000 with the enlightened NPT TLB set in its VMCB (offset
 *     0x3E0) and the same ASID, no TLB_CONTROL, calls the hypercall, and
 *     L2 reads the new page;
 *   - without the enlightenment, a new ASID flushes L2's view (APM 15.16:
 *     Linux's KVM flushes that way without FlushByAsid).
 *   - direct virtual flush (bit 17; TLFS 2.4.11, 9.4.2-9.4.5): with
 *     features.directhypercall in L1's VP assist page and
 *     nested_flush_hypercall in the VMCB's Hyper-V area, L2's
 *     HvFlushVirtualAddressSpace/List(/Ex) are answered by hv.efi (L2
 *     reaches its HLT, no VMMCALL exit to L1, although L1 intercepts
 *     VMMCALL), the flush reaches L2's TLB (L2 remaps a GVA without INVLPG
 *     and reads the new page after the call), every bad input gets its
 *     status in L2, a non-zero tlb_lock_count in the partition assist page
 *     ends the call with exit 0xF0000000 / EXITINFO1 1
 *     (HV_SVM_ENL_EXITCODE_TRAP_AFTER_FLUSH) after it, and without either
 *     enable (or for another call) the VMMCALL goes to L1 as before.
 * Needs the hypercall page (after checks_hypercall) and nested=on.
 */
#include "hcall.h"

#define CALL_FLUSH_GPA_SPACE 0x00AFu
#define CALL_FLUSH_GPA_LIST 0x00B0u
#define ST_BAD_VP_STATE 0x15u
#define ENL_NPT_TLB (1u << 2) /* the VMCB's hv_enlightenments_control */
#define ENL_MSR_BITMAP (1u << 1)
#define CLEAN_ENL (1u << 31)     /* VMCB clean bit 31: the Hyper-V area, the MSR map */

int nested_enl_setup(void);
void nested_enl_svme(int on);
uint64_t nested_enl_ncr3(void);
void nested_enl_map(int k, uint32_t val);
uint32_t nested_enl_read(uint32_t enl_control, uint32_t asid, uint8_t tlb);
void nested_enl_teardown(void);
int nested_enl_msr(uint32_t enl_control, uint32_t clean, int read_174);
void nested_dflush_assist(int on, uint32_t features);
void nested_dflush_fast(uint64_t w1, uint64_t xmm0);
uint32_t nested_dflush_run(uint32_t enl, uint32_t vp_id, uint32_t lock, uint64_t input,
			   uint64_t in_gpa, const uint64_t *in, unsigned int n, uint64_t out[5]);

#define ENL_FLUSH_HC (1u << 0) /* nested_flush_hypercall */
#define CALL_SPACE 0x0002u
#define CALL_LIST 0x0003u
#define CALL_SPACE_EX 0x0013u
#define CALL_LIST_EX 0x0014u
#define DF_VP 3u              /* L2's VP id, as L1 numbers it */
#define DF_IN 0x3a00u         /* the input block's L2 GPA */
#define EXIT_ENL 0xf0000000u  /* HV_SVM_EXITCODE_ENL */

/* One L2 call answered by hv.efi: L2 ends at its HLT (exit 0x78) with
 * the status (and reps) expected. */
static void df_answered(const char *name, uint64_t input, uint64_t in_gpa, const uint64_t *in,
			unsigned int n, uint32_t want_st, uint32_t want_reps)
{
	uint64_t o[5];
	uint32_t c = nested_dflush_run(ENL_FLUSH_HC, DF_VP, 0, input, in_gpa, in, n, o);
	check(name, c == 0x78 && o[0] == 3 && (o[2] & 0xffff) == want_st &&
			    ((o[2] >> 32) & 0xfff) == want_reps,
	      "exit 0x%x at %lu, result 0x%lx; expected HLT (3) with status 0x%x reps %u", c,
	      (unsigned long)o[0], (unsigned long)o[2], want_st, want_reps);
}

static void direct_flush(void)
{
	uint64_t o[5];
	uint32_t c;
	uint64_t sp[3] = { 0, 0, 1ull << DF_VP };        /* space, flags, processor mask */
	uint64_t ls[5] = { 0, 0, 1ull << DF_VP, 0x400000, 0x1000 | 2 };
	uint64_t ex[5] = { 0, 0, 0 /* sparse 4K */, 1, 1ull << DF_VP }; /* bank 0 */

	/* Not enabled: the VMMCALL is L1's (exit 0x81 at the call). */
	nested_dflush_assist(1, 1);
	c = nested_dflush_run(0, DF_VP, 0, CALL_SPACE, DF_IN, sp, 3, o);
	check("nested.dflush.vmcb_off.reflected", c == 0x81 && o[0] == 1,
	      "exit 0x%x at %lu, expected VMMCALL (0x81) at the call (1)", c, (unsigned long)o[0]);
	nested_dflush_assist(1, 0);
	c = nested_dflush_run(ENL_FLUSH_HC, DF_VP, 0, CALL_SPACE, DF_IN, sp, 3, o);
	check("nested.dflush.assist_off.reflected", c == 0x81 && o[0] == 1,
	      "exit 0x%x at %lu, expected VMMCALL (0x81) at the call (1)", c, (unsigned long)o[0]);
	nested_dflush_assist(0, 0);
	c = nested_dflush_run(ENL_FLUSH_HC, DF_VP, 0, CALL_SPACE, DF_IN, sp, 3, o);
	check("nested.dflush.no_assist_page.reflected", c == 0x81 && o[0] == 1,
	      "exit 0x%x at %lu, expected VMMCALL (0x81) at the call (1)", c, (unsigned long)o[0]);

	nested_dflush_assist(1, 1);
	/* Another call than the four flushes: L1's, as before. */
	c = nested_dflush_run(ENL_FLUSH_HC, DF_VP, 0, 0x0008 /* HvNotifyLongSpinWait */, 0, sp, 0, o);
	check("nested.dflush.other_call.reflected", c == 0x81 && o[0] == 1,
	      "exit 0x%x at %lu, expected VMMCALL (0x81) at the call (1)", c, (unsigned long)o[0]);

	/* Answered by hv.efi, and L2's TLB flushed: the GVA remapped without
	 * INVLPG reads the new page after the call. Only hardware with
	 * ASID-tagged TLBs can fail l2_tlb: QEMU and Bochs flush their whole
	 * TLB at every world switch (docs/nested.md, "Not done"). */
	c = nested_dflush_run(ENL_FLUSH_HC, DF_VP, 0, CALL_SPACE, DF_IN, sp, 3, o);
	check("nested.dflush.space.answered", c == 0x78 && o[0] == 3 && o[2] == 0,
	      "exit 0x%x at %lu result 0x%lx, expected HLT (0x78, 3) with status 0", c,
	      (unsigned long)o[0], (unsigned long)o[2]);
	check("nested.dflush.space.l2_tlb", (uint32_t)o[3] == 0x0badf00d && o[4] == 0x5eedd000,
	      "L2 read 0x%x before the remap, 0x%x after the call; expected 0x0badf00d, 0x5eedd000",
	      (uint32_t)o[3], (uint32_t)o[4]);
	ser_printf("NOTE: nested.dflush: before the call L2 read 0x%x after its remap without INVLPG "
		   "(%s)\n", (uint32_t)(o[3] >> 32),
		   (uint32_t)(o[3] >> 32) == 0x0badf00d ? "its TLB kept the old entry" : "no stale entry");
	c = nested_dflush_run(ENL_FLUSH_HC, DF_VP, 0, CALL_LIST | HC_REPS(2), DF_IN, ls, 5, o);
	check("nested.dflush.list.answered", c == 0x78 && o[0] == 3 && o[2] == (2ull << 32) &&
						     o[4] == 0x5eedd000,
	      "exit 0x%x at %lu result 0x%lx read 0x%lx, expected HLT with status 0, 2 reps, 0x5eedd000",
	      c, (unsigned long)o[0], (unsigned long)o[2], (unsigned long)o[4]);
	df_answered("nested.dflush.space_ex.answered", CALL_SPACE_EX | HC_VARHDR(1), DF_IN, ex, 5, ST_OK, 0);
	df_answered("nested.dflush.list_ex.answered", CALL_LIST_EX | HC_VARHDR(1) | HC_REPS(1), DF_IN,
		    (uint64_t[6]){ 0, 0, 0, 1, 1ull << DF_VP, 0x400000 }, 6, ST_OK, 1);
	uint64_t all[3] = { 0, 1 /* HV_FLUSH_ALL_PROCESSORS */, 0 };
	df_answered("nested.dflush.all_processors", CALL_SPACE, DF_IN, all, 3, ST_OK, 0);
	uint64_t other[3] = { 0, 0, 1ull << 5 }; /* another L2 VP: nothing here, still fine */
	df_answered("nested.dflush.other_vp", CALL_SPACE, DF_IN, other, 3, ST_OK, 0);

	/* Fast (XMM input, TLFS 3.7.2.2): space and flags in EBX:ECX and
	 * EDI:ESI, the processor mask in XMM0; a bad mask in XMM0 is seen. */
	nested_dflush_fast(0, 1ull << DF_VP);
	df_answered("nested.dflush.fast.answered", CALL_SPACE | HC_FAST, 0, sp, 0, ST_OK, 0);
	nested_dflush_fast(0, 0);
	df_answered("nested.dflush.fast.empty_set", CALL_SPACE | HC_FAST, 0, sp, 0, ST_BAD_PARAM, 0);
	nested_dflush_fast(1ull << 3, 1ull << DF_VP);
	df_answered("nested.dflush.fast.flags_reserved", CALL_SPACE | HC_FAST, 0, sp, 0, ST_BAD_PARAM, 0);

	/* Bad inputs (TLFS 3.12, 9.4): the status in L2, no exit to L1. */
	uint64_t bad_flags[3] = { 0, 1ull << 3, 1ull << DF_VP };
	df_answered("nested.dflush.flags_reserved", CALL_SPACE, DF_IN, bad_flags, 3, ST_BAD_PARAM, 0);
	uint64_t ng_list[4] = { 0, 4 /* non-global: space calls only */, 1ull << DF_VP, 0x400000 };
	df_answered("nested.dflush.list_nonglobal", CALL_LIST | HC_REPS(1), DF_IN, ng_list, 4, ST_BAD_PARAM, 0);
	uint64_t empty[3] = { 0, 0, 0 };
	df_answered("nested.dflush.empty_set", CALL_SPACE, DF_IN, empty, 3, ST_BAD_PARAM, 0);
	uint64_t far_as[3] = { 1ull << g_hc.pa_bits, 0, 1ull << DF_VP };
	df_answered("nested.dflush.as_beyond_maxphyaddr", CALL_SPACE, DF_IN, far_as, 3, ST_BAD_PARAM, 0);
	df_answered("nested.dflush.rsvd_input", CALL_SPACE | (1ull << 27), DF_IN, sp, 3, ST_BAD_INPUT, 0);
	df_answered("nested.dflush.space_reps", CALL_SPACE | HC_REPS(1), DF_IN, sp, 3, ST_BAD_INPUT, 0);
	df_answered("nested.dflush.list_zero_reps", CALL_LIST, DF_IN, ls, 5, ST_BAD_INPUT, 0);
	df_answered("nested.dflush.varhdr_non_ex", CALL_SPACE | HC_VARHDR(1), DF_IN, sp, 3, ST_BAD_INPUT, 0);
	df_answered("nested.dflush.ex_bank_count", CALL_SPACE_EX | HC_VARHDR(2), DF_IN, ex, 5, ST_BAD_INPUT, 0);
	uint64_t ex_fmt[5] = { 0, 0, 9, 1, 1ull << DF_VP };
	df_answered("nested.dflush.ex_bad_format", CALL_SPACE_EX | HC_VARHDR(1), DF_IN, ex_fmt, 5, ST_BAD_PARAM, 0);
	df_answered("nested.dflush.in_misaligned", CALL_SPACE, DF_IN + 4, sp, 3, ST_BAD_ALIGN, 0);
	df_answered("nested.dflush.in_crosses_page", CALL_SPACE, 0x3ff8, sp, 3, ST_BAD_ALIGN, 0);
	/* L2 GPA 0x9000: L1's nested tables do not map it (KVM:
	 * translate_nested_gpa fails, INVALID_HYPERCALL_INPUT). */
	df_answered("nested.dflush.in_unmapped", CALL_SPACE, 0x9000, sp, 3, ST_BAD_INPUT, 0);

	/* Trap after flush: tlb_lock_count set, the call is done (status 0
	 * in L2's RAX, RIP past it) and L1 gets exit 0xF0000000 / 1. */
	c = nested_dflush_run(ENL_FLUSH_HC, DF_VP, 1, CALL_SPACE, DF_IN, sp, 3, o);
	check("nested.dflush.trap_after_flush", c == EXIT_ENL && o[1] == 1 && o[0] == 2 && o[2] == 0,
	      "exit 0x%x info1 0x%lx at %lu result 0x%lx; expected 0xf0000000, 1, after the call (2), 0",
	      c, (unsigned long)o[1], (unsigned long)o[0], (unsigned long)o[2]);
	/* A failed call does not trap: L2 sees its status. */
	c = nested_dflush_run(ENL_FLUSH_HC, DF_VP, 1, CALL_SPACE, DF_IN, bad_flags, 3, o);
	check("nested.dflush.trap_not_on_error", c == 0x78 && o[0] == 3 && o[2] == ST_BAD_PARAM,
	      "exit 0x%x at %lu result 0x%lx; expected HLT with status 5", c, (unsigned long)o[0],
	      (unsigned long)o[2]);
	nested_dflush_assist(0, 0);
}

static int space(struct hc_regs *r, uint64_t as, uint64_t flags, int fast)
{
	uint64_t w[2] = { as, flags };
	return call_words(r, CALL_FLUSH_GPA_SPACE, w, 2, fast);
}

/* A list call: header (as, flags) and n ranges, memory-based. */
static int list(struct hc_regs *r, uint64_t as, uint64_t flags, const uint64_t *e, unsigned int n)
{
	uint64_t *in = (uint64_t *)P_IN;
	in[0] = as;
	in[1] = flags;
	for (unsigned int i = 0; i < n; i++)
		in[2 + i] = e[i];
	return call_slow(r, CALL_FLUSH_GPA_LIST | HC_REPS(n), pa(P_IN), 0);
}

static void bad_inputs(uint64_t ncr3)
{
	struct hc_regs r;
	int v;
	uint64_t big = 1ull << g_hc.pa_bits;
	uint64_t ok1[1] = { 0x5000 };

	/* TLFS 16.13: "not in nested hypervisor mode" (EFER.SVME clear). */
	nested_enl_svme(0);
	v = space(&r, ncr3, 0, 0);
	expect("nested.flush_space.svme_off", v, &r, ST_BAD_VP_STATE, 0, NULL, 0, 0);
	v = list(&r, ncr3, 0, ok1, 1);
	expect("nested.flush_list.svme_off", v, &r, ST_BAD_VP_STATE, 0, NULL, 0, 0);
	nested_enl_svme(1);

	v = space(&r, ncr3, 0, 0);
	expect("nested.flush_space.ok", v, &r, ST_OK, 0, NULL, 0, 0);
	v = space(&r, ncr3, 0, 1);
	expect("nested.flush_space.fast_ok", v, &r, ST_OK, 0, NULL, 0, 0);
	v = space(&r, ncr3 | 0x18, 0, 0); /* PWT, PCD: allowed in an nCR3 */
	expect("nested.flush_space.pwt_pcd_ok", v, &r, ST_OK, 0, NULL, 0, 0);
	v = space(&r, ncr3, 1, 0);
	expect("nested.flush_space.flags_reserved", v, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	v = space(&r, ncr3, 1ull << 63, 1);
	expect("nested.flush_space.flags_reserved_fast", v, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	v = space(&r, ncr3 | 0x20, 0, 0);
	expect("nested.flush_space.as_low_bits", v, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	v = space(&r, ncr3 | big, 0, 0);
	expect("nested.flush_space.as_beyond_maxphyaddr", v, &r, ST_BAD_PARAM, 0, NULL, 0, 0);

	uint64_t e3[3] = { 0x5000, 0x100000 | 0x7ff, 0 | (1ull << 11) }; /* 1, 2048, 512 pages */
	v = list(&r, ncr3, 0, e3, 3);
	expect("nested.flush_list.ok", v, &r, ST_OK, 3, NULL, 0, 0);
	v = list(&r, ncr3, 0, e3, 0);
	expect("nested.flush_list.zero_reps", v, &r, ST_BAD_INPUT, 0, NULL, 0, 0); /* TLFS 3.12 */
	v = list(&r, ncr3, 1, e3, 3);
	expect("nested.flush_list.flags_reserved", v, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	v = list(&r, ncr3 | big, 0, e3, 3);
	expect("nested.flush_list.as_beyond_maxphyaddr", v, &r, ST_BAD_PARAM, 0, NULL, 0, 0);
	/* The second range ends beyond the physical address width: the first
	 * is done (TLFS 3.7.5: reps completed before the failing element). */
	uint64_t e_end[3] = { 0x5000, (big - 0x1000) | 1, 0x6000 };
	v = list(&r, ncr3, 0, e_end, 3);
	expect("nested.flush_list.range_beyond_maxphyaddr", v, &r, ST_BAD_PARAM, 1, NULL, 0, 0);
	uint64_t e_last[1] = { big - 0x1000 }; /* the last page: fine */
	v = list(&r, ncr3, 0, e_last, 1);
	expect("nested.flush_list.last_page_ok", v, &r, ST_OK, 1, NULL, 0, 0);
	uint64_t e_large[2] = { 0x200000 | (1ull << 11), 0x201000 | (1ull << 11) };
	v = list(&r, ncr3, 0, e_large, 2);
	expect("nested.flush_list.large_misaligned", v, &r, ST_BAD_PARAM, 1, NULL, 0, 0);
	/* A rep call from start index 1 (TLFS 3.7.5 continuation form). */
	((uint64_t *)P_IN)[0] = ncr3;
	((uint64_t *)P_IN)[1] = 0;
	((uint64_t *)P_IN)[2] = big; /* element 0: bad, but skipped */
	((uint64_t *)P_IN)[3] = 0x5000;
	v = call_slow(&r, CALL_FLUSH_GPA_LIST | HC_REPS(2) | HC_START(1), pa(P_IN), 0);
	expect("nested.flush_list.start_index", v, &r, ST_OK, 2, NULL, 0, 0);
}

/* L1 remaps L2 GPA 0x5000 without TLB_CONTROL and with the same ASID;
 * the enlightened NPT TLB means hv.efi may keep its view until the flush
 * hypercall, which must make the new page visible. */
static void works(uint64_t ncr3)
{
	struct hc_regs r;
	int v;
	uint32_t got;

	nested_enl_map(0, 0xcafe5000);
	got = nested_enl_read(ENL_NPT_TLB, 1, 1);
	check("nested.enl.l2_reads", got == 0xcafe5000, "L2 read 0x%x from 0x5000, expected 0xcafe5000", got);

	nested_enl_map(1, 0x5eed0001);
	v = space(&r, ncr3, 0, 0);
	expect("nested.enl.flush_space.status", v, &r, ST_OK, 0, NULL, 0, 0);
	got = nested_enl_read(ENL_NPT_TLB, 1, 0);
	check("nested.enl.flush_space.seen", got == 0x5eed0001,
	      "L2 read 0x%x after L1 remapped 0x5000 and flushed the space, expected 0x5eed0001", got);

	nested_enl_map(2, 0x5eed0002);
	uint64_t e[1] = { 0x5000 };
	v = list(&r, ncr3, 0, e, 1);
	expect("nested.enl.flush_list.status", v, &r, ST_OK, 1, NULL, 0, 0);
	got = nested_enl_read(ENL_NPT_TLB, 1, 0);
	check("nested.enl.flush_list.seen", got == 0x5eed0002,
	      "L2 read 0x%x after L1 remapped 0x5000 and flushed the range, expected 0x5eed0002", got);

	/* Without the enlightenment, a new ASID is a fresh TLB (APM 15.16). */
	nested_enl_map(0, 0xcafe5001);
	got = nested_enl_read(0, 2, 0);
	check("nested.asid_change.flushes", got == 0xcafe5001,
	      "L2 read 0x%x after L1 remapped 0x5000 and changed its ASID, expected 0xcafe5001", got);

	/* The enlightened MSR bitmap (bit 19): with clean bit 31 set the map
	 * may be reused; cleared, hv.efi must take L1's new map. 1: exit at
	 * the RDMSR, 2: at the WRMSR after it. */
	int at = nested_enl_msr(ENL_MSR_BITMAP, CLEAN_ENL, 1);
	check("nested.enl.msr_bitmap.intercepted", at == 1, "exit at %d, expected 1 (RDMSR 0x174)", at);
	at = nested_enl_msr(ENL_MSR_BITMAP, 0, 0); /* L1 changed its map: bit 31 clear */
	check("nested.enl.msr_bitmap.dirty_seen", at == 2,
	      "exit at %d, expected 2 (the RDMSR no longer intercepted, the WRMSR is)", at);
	at = nested_enl_msr(ENL_MSR_BITMAP, CLEAN_ENL, 0); /* unchanged: reused */
	check("nested.enl.msr_bitmap.clean_reuse", at == 2, "exit at %d, expected 2", at);
	at = nested_enl_msr(ENL_MSR_BITMAP, 0, 1);
	check("nested.enl.msr_bitmap.dirty_again", at == 1, "exit at %d, expected 1", at);
	at = nested_enl_msr(0, CLEAN_ENL, 0); /* without the flag bit 31 means nothing */
	check("nested.enl.msr_bitmap.flag_off", at == 2, "exit at %d, expected 2", at);
}

void checks_nested_enl(int nested_on)
{
	struct cpuid_regs a = cpuid(0x4000000Au, 0);
	int amd = cpu_vendor() == VENDOR_AMD;
	/* On Intel: the eVMCS versions and the enlightened MSR bitmap
	 * (checks_nested_evmcs.c proves them). */
	uint32_t want = !nested_on ? 0 : amd ? (1u << 17) | (1u << 18) | (1u << 19) | (1u << 22)
					     : 0x0101u | (1u << 17) | (1u << 18) | (1u << 19);
	check("nested.enl.cpuid_4000000a", a.eax == want && a.ebx == 0 && a.ecx == 0 && a.edx == 0,
	      "leaf 0x4000000A %x %x %x %x, expected EAX 0x%x and zeros", a.eax, a.ebx, a.ecx, a.edx,
	      want);
	if (!want || !amd) {
		/* Not offered: the calls say "nested virtualization is not
		 * enabled" (TLFS 16.13); on Intel, before VMXON, "not in nested
		 * hypervisor mode" (checks_nested_evmcs.c has the rest). */
		if (g_hc.page_ok) {
			struct hc_regs r;
			int v = space(&r, 0x1000, 0, 0);
			expect("nested.flush_space.not_enabled", v, &r, ST_BAD_VP_STATE, 0, NULL, 0, 0);
		}
		return;
	}
	if (!g_hc.page_ok) {
		check("nested.enl.hypercall_page", 0, "no hypercall page");
		return;
	}
	if (nested_enl_setup()) {
		check("nested.enl.setup", 0, "no SVM or no memory");
		return;
	}
	uint64_t ncr3 = nested_enl_ncr3();
	nested_enl_svme(1);
	bad_inputs(ncr3);
	works(ncr3);
	direct_flush();
	nested_enl_teardown();
}
