/* test_cr.c - the CR0/CR4 write emulation of hv/cr.c (issue 14, finding
 * 3a): the instruction decoder and the processor's #GP checks. */
#include "htest.h"
#include "cr.h"
#include "emulate.h"
#include "boot_info.h"
#include "x86.h"

static struct cr_insn d;

static int dec(const char *b, int n, int mode)
{
	return cr_decode((const u8 *)b, n, mode, &d);
}

TEST(cr_decode_mov)
{
	CHECK_EQ(dec("\x0f\x22\xc0", 3, 8), EMUL_OK); /* mov cr0, rax */
	CHECK(d.kind == CRI_MOV && d.cr == 0 && d.gpr == GPR_RAX && d.len == 3);
	CHECK_EQ(dec("\x0f\x22\xe7", 3, 8), EMUL_OK); /* mov cr4, rdi */
	CHECK(d.cr == 4 && d.gpr == GPR_RDI && d.len == 3);
	CHECK_EQ(dec("\x41\x0f\x22\xe0", 4, 8), EMUL_OK); /* mov cr4, r8 */
	CHECK(d.cr == 4 && d.gpr == GPR_R8 && d.len == 4);
	CHECK_EQ(dec("\x44\x0f\x22\xc0", 4, 8), EMUL_OK); /* mov cr8, rax (REX.R) */
	CHECK(d.cr == 8);
	CHECK_EQ(dec("\x66\x2e\x0f\x22\xc1", 5, 4), EMUL_OK); /* prefixes, 32-bit */
	CHECK(d.cr == 0 && d.gpr == GPR_RCX && d.len == 5);
	CHECK_EQ(dec("\x41\x66\x0f\x22\xc0", 5, 8), EMUL_OK); /* REX not last: ignored */
	CHECK(d.gpr == GPR_RAX);
	CHECK_EQ(dec("\x0f\x22", 2, 8), EMUL_SHORT);
	CHECK_EQ(dec("", 0, 8), EMUL_SHORT);
	CHECK_EQ(dec("\x0f\x20\xc0", 3, 8), EMUL_UNSUP); /* mov rax, cr0: a read */
	CHECK_EQ(dec("\x90", 1, 8), EMUL_UNSUP);
	CHECK_EQ(dec("\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66", 15, 8), EMUL_UNSUP);
}

TEST(cr_decode_lmsw)
{
	CHECK_EQ(dec("\x0f\x01\xf7", 3, 8), EMUL_OK); /* lmsw di */
	CHECK(d.kind == CRI_LMSW && !d.mem && d.gpr == GPR_RDI && d.len == 3);
	CHECK_EQ(dec("\x0f\x01\x30", 3, 8), EMUL_OK); /* lmsw [rax] */
	CHECK(d.mem && d.base == GPR_RAX && d.index == -1 && d.disp == 0 && d.len == 3);
	CHECK_EQ(dec("\x0f\x01\x74\x8b\xf0", 5, 8), EMUL_OK); /* lmsw [rbx+rcx*4-16] */
	CHECK(d.mem && d.base == GPR_RBX && d.index == GPR_RCX && d.scale == 4 && d.disp == -16 &&
	      d.len == 5);
	CHECK_EQ(dec("\x0f\x01\x35\x10\x00\x00\x00", 7, 8), EMUL_OK); /* lmsw [rip+0x10] */
	CHECK(d.rip_rel && d.base == -1 && d.disp == 0x10 && d.len == 7);
	CHECK_EQ(dec("\x0f\x01\x36\x34\x12", 5, 2), EMUL_OK); /* lmsw [0x1234], 16-bit */
	CHECK(d.base == -1 && d.index == -1 && d.disp == 0x1234 && d.len == 5);
	CHECK_EQ(dec("\x65\x0f\x01\x32", 4, 4), EMUL_OK); /* lmsw gs:[edx] */
	CHECK(d.seg == SEG_GS && d.base == GPR_RDX);
	CHECK_EQ(dec("\x0f\x01\x74\x8b", 4, 8), EMUL_SHORT);
	CHECK_EQ(dec("\x0f\x01\xf8", 3, 8), EMUL_UNSUP); /* swapgs (reg 7) */
	CHECK_EQ(dec("\x0f\x06", 2, 8), EMUL_OK); /* clts */
	CHECK(d.kind == CRI_CLTS && d.len == 2);
	CHECK_EQ(dec("\x66\x0f\x06", 3, 4), EMUL_OK);
	CHECK(d.kind == CRI_CLTS && d.len == 3);
	CHECK_EQ(cr_lmsw_value(0x80000033, 0x0), 0x80000031); /* PE stays, MP clears */
	CHECK_EQ(cr_lmsw_value(0x10, 0xf), 0x1f);
}

TEST(cr0_checks)
{
	u64 lme = EFER_LME | EFER_LMA, pae = CR4_PAE;
	CHECK(!cr0_write_faults(0x80010033, 0x80010031, pae, lme, true)); /* NE clear: fine */
	CHECK(cr0_write_faults(0x80010033, 0x80010032, pae, lme, true));  /* PG without PE */
	CHECK(cr0_write_faults(0x80010033, 0xa0010033, pae, lme, true));  /* NW without CD */
	CHECK(!cr0_write_faults(0x80010033, 0xe0010033, pae, lme, true)); /* NW with CD */
	CHECK(cr0_write_faults(0x80010033, 0x180010033ull, pae, lme, true)); /* bit 32 */
	CHECK(cr0_write_faults(0x80010033, 0x00010033, pae, lme, true));  /* PG off in 64-bit */
	CHECK(!cr0_write_faults(0x80010033, 0x00010033, pae, lme, false)); /* compat mode: ok */
	CHECK(cr0_write_faults(0x11, 0x80000011, 0, EFER_LME, false));    /* long mode, no PAE */
	CHECK(!cr0_write_faults(0x11, 0x80000011, pae, EFER_LME, false));
	CHECK(!cr0_write_faults(0x10, 0x11, 0, 0, false));                 /* real -> protected */
}

TEST(cr4_checks)
{
	u64 valid = cr4_valid_bits(BIT(17), BIT(7), 0); /* PCIDE, SMEP */
	CHECK_EQ(valid, 0x7ffull | CR4_PCIDE | CR4_SMEP);
	u64 lm = EFER_LME | EFER_LMA;
	CHECK(!cr4_write_faults(0x6a0, 0x620, valid, lm, 0x1000));   /* PGE off */
	CHECK(cr4_write_faults(0x6a0, 0x6a0 | CR4_VMXE, valid, lm, 0)); /* VMXE: not on AMD */
	CHECK(cr4_write_faults(0x6a0, 0x6a0 | BIT(32), valid, lm, 0));
	CHECK(cr4_write_faults(0x6a0, 0x680, valid, lm, 0));          /* PAE off in long mode */
	CHECK(cr4_write_faults(0x6a0, 0x6a0 | CR4_SMAP, valid, lm, 0)); /* not in CPUID */
	CHECK(!cr4_write_faults(0x6a0, 0x6a0 | CR4_SMEP, valid, lm, 0));
	CHECK(cr4_write_faults(0x6a0, 0x6a0 | CR4_PCIDE, valid, lm, 0x1001)); /* PCID != 0 */
	CHECK(!cr4_write_faults(0x6a0, 0x6a0 | CR4_PCIDE, valid, lm, 0x1000));
	CHECK(cr4_write_faults(0x6a0, 0x6a0 | CR4_PCIDE, valid, 0, 0x1000)); /* not long mode */
	u64 v57 = valid | CR4_LA57;
	CHECK(cr4_write_faults(0x6a0, 0x6a0 | CR4_LA57, v57, lm, 0));  /* LA57 in long mode */
	CHECK(!cr4_write_faults(0x20, 0x20 | CR4_LA57, v57, 0, 0));
}
