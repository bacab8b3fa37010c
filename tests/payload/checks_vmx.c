/*
 * checks_vmx.c - on Intel, the guest sees a CPU without VMX (the
 * hypervisor's own VMX operation is invisible):
 *  - VMX instructions raise #UD (SDM vol. 3 31.3: outside VMX operation,
 *    with CR4.VMXE = 0, every VMX instruction is #UD; the hypervisor
 *    reflects #UD for the VM exits they cause in VMX non-root operation).
 *  - CR4.VMXE reads 0 and setting it raises #GP (SDM 2.5: a reserved CR4
 *    bit on a CPU without VMX).
 *  - IA32_FEATURE_CONTROL (0x3A) reads locked with both VMXON-enable bits
 *    clear (SDM 24.7: VMX disabled by firmware), and writing it (locked)
 *    raises #GP.
 *  - The VMX capability MSRs (0x480-0x491, SDM appendix A) raise #GP.
 * Called only when CPUID leaf 0 says GenuineIntel.
 */
#include "payload.h"
#include "px86.h"

#define CR4_VMXE (1ull << 13)

/* A probe that wrongly succeeds does the least harm first: the reading
 * ones, then the ones that would change VMX state, VMXON last. */
static void checks_vmx_insns(void *page)
{
	static const struct {
		enum virt_insn insn;
		const char *name;
	} probes[] = {
		{ INSN_VMPTRST, "vmx.insn.vmptrst.ud" },
		{ INSN_VMREAD, "vmx.insn.vmread.ud" },
		{ INSN_VMWRITE, "vmx.insn.vmwrite.ud" },
		{ INSN_VMCLEAR, "vmx.insn.vmclear.ud" },
		{ INSN_VMPTRLD, "vmx.insn.vmptrld.ud" },
		{ INSN_INVEPT, "vmx.insn.invept.ud" },
		{ INSN_INVVPID, "vmx.insn.invvpid.ud" },
		{ INSN_VMLAUNCH, "vmx.insn.vmlaunch.ud" },
		{ INSN_VMRESUME, "vmx.insn.vmresume.ud" },
		{ INSN_VMXOFF, "vmx.insn.vmxoff.ud" },
		{ INSN_VMXON, "vmx.insn.vmxon.ud" },
	};

	for (unsigned int i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		check_vec(probes[i].name, trap_insn(probes[i].insn, page), VEC_UD);
}

static void checks_vmx_cr4(void)
{
	uint64_t cr4 = read_cr4();
	check("vmx.cr4.reads_without_vmxe", !(cr4 & CR4_VMXE), "CR4 reads 0x%lx (VMXE set)",
	      (unsigned long)cr4);

	int vec = trap_write_cr4(cr4 | CR4_VMXE);
	check("vmx.cr4.set_vmxe.gp", vec == VEC_GP && trap_last_errcode() == 0,
	      "MOV CR4 <- 0x%lx: got %s (vector 0x%x, error 0x%lx) expected #GP(0)",
	      (unsigned long)(cr4 | CR4_VMXE), vec_name(vec), (unsigned int)vec,
	      (unsigned long)trap_last_errcode());

	uint64_t after = read_cr4();
	check("vmx.cr4.unchanged_after_gp", after == cr4, "CR4 was 0x%lx, now 0x%lx",
	      (unsigned long)cr4, (unsigned long)after);
	if (after != cr4)
		trap_write_cr4(cr4); /* leave the firmware's CR4 as it was */

	/* A CR4 write without VMXE still works (no exit, or one that is
	 * emulated): write the same value back. */
	check_vec("vmx.cr4.write_same.ok", trap_write_cr4(cr4), VEC_NONE);
}

static void checks_vmx_msrs(void)
{
	uint64_t val = 0;
	int vec = trap_rdmsr(0x3a, &val);
	check("vmx.msr.3a.locked_vmx_off", vec == VEC_NONE && (val & 1) && !(val & 6),
	      "RDMSR 0x3A: got %s, value 0x%lx; expected no exception, lock (bit 0) set, "
	      "VMXON enables (bits 1-2) clear",
	      vec_name(vec), (unsigned long)val);
	check_vec("vmx.msr.3a.write.gp", trap_wrmsr(0x3a, val | 5), VEC_GP);

	static const struct {
		uint32_t msr;
		const char *name;
	} caps[] = {
		{ 0x480, "vmx.msr.480.basic.gp" },
		{ 0x482, "vmx.msr.482.procbased.gp" },
		{ 0x48b, "vmx.msr.48b.procbased2.gp" },
		{ 0x48c, "vmx.msr.48c.ept_vpid.gp" },
		{ 0x491, "vmx.msr.491.vmfunc.gp" },
	};
	for (unsigned int i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		val = 0;
		vec = trap_rdmsr(caps[i].msr, &val);
		check(caps[i].name, vec == VEC_GP,
		      "RDMSR 0x%x: got %s (vector 0x%x, value 0x%lx) expected #GP", caps[i].msr,
		      vec_name(vec), (unsigned int)vec, (unsigned long)val);
	}
}

void checks_vmx(void *page)
{
	checks_vmx_msrs();
	checks_vmx_cr4();
	checks_vmx_insns(page);
}
