/*
 * fuzz_msr.c - RDMSR/WRMSR exits (hv/msr.c and every registered row:
 * synthetic MSRs of TLFS appendix C, the nested SynIC window, and the
 * architectural MSRs that exit) as sequences on 1-4 VPs, interleaved with
 * VP state changes (privileges withdrawn, x2APIC mode, INIT),
 * second-level faults and port I/O exits (hv/io.c: the PM1 control and
 * reset ports the backends intercept). Values are biased to the overlay GPAs (hypercall,
 * reference TSC and VP assist pages over RAM, the APIC page, MMIO,
 * hypervisor memory, beyond the GPA space).
 *
 * Oracles (besides ASan/UBSan and "no vp_fatal"): #GP(0) is the only
 * exception (TLFS 2.4.4, 4.2.2: a missing privilege or row is #GP); guest
 * memory is never written; an accepted reference TSC or VP assist MSR
 * value reads back (TLFS 12.7.1, 7.8.7); an I/O exit advances or gets
 * #GP(0); and after every access the
 * second-level tables are what hv/gmem.c's rule says (fz_check_slat):
 * an overlay moved or disabled gives back exactly the base protection.
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	u8 hdr = fz_u8(&f);
	struct fz_world *w = fz_world_new(1 + (hdr & 3));
	if (hdr & 4)
		fz_enable_hypercalls(w, FAKE_RAM_BASE + 0xb000);
	fz_check_slat(w);
	for (int ops = 0; fz_left(&f) && ops < 64; ops++) {
		u8 op = fz_u8(&f);
		if (op < 200)
			fz_op_msr(&f, w);
		else if (op < 220)
			fz_op_state(&f, w);
		else if (op < 238)
			fz_op_npf(&f, w);
		else
			fz_op_io(&f, w);
		fz_check_slat(w);
	}
	return 0;
}
