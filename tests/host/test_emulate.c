/* test_emulate.c - the store decoder and guest page walk (hv/emulate.c)
 * used to emulate guest writes to the xAPIC page (hv/smp.c). */
#include "htest.h"
#include "fakes.h"
#include "boot_info.h"
#include "x86.h"
#include <string.h>

static struct decoded_store d;

static int dec(const char *bytes, int n, bool mode64)
{
	return emulate_decode_store((const u8 *)bytes, n, mode64, &d);
}

TEST(decode_mov_forms)
{
	CHECK_EQ(dec("\x89\x0a", 2, true), 0); /* mov [rdx], ecx */
	CHECK(d.len == 2 && d.size == 4 && d.reg == GPR_RCX && !d.has_imm && !d.is_xchg);
	CHECK_EQ(dec("\x41\x89\x04\x24", 4, true), 0); /* mov [r12], eax (SIB) */
	CHECK(d.len == 4 && d.reg == GPR_RAX);
	CHECK_EQ(dec("\x44\x89\x7a\x10", 4, true), 0); /* mov [rdx+0x10], r15d */
	CHECK(d.len == 4 && d.reg == GPR_R15);
	CHECK_EQ(dec("\x89\x05\x00\x10\x00\x00", 6, true), 0); /* mov [rip+disp32], eax */
	CHECK_EQ(d.len, 6);
	CHECK_EQ(dec("\xc7\x80\xb0\x00\x00\x00\x78\x56\x34\x12", 10, true), 0); /* mov dword [rax+0xb0], imm32 */
	CHECK(d.len == 10 && d.has_imm && d.imm == 0x12345678 && d.size == 4);
	CHECK_EQ(dec("\x48\xc7\x00\xff\xff\xff\xff", 7, true), 0); /* mov qword [rax], -1 */
	CHECK(d.size == 8 && d.imm == ~0ull);
	CHECK_EQ(dec("\x87\x0a", 2, true), 0); /* xchg [rdx], ecx */
	CHECK(d.is_xchg && d.reg == GPR_RCX);
	CHECK_EQ(dec("\x88\x62\x05", 3, true), 0); /* mov [rdx+5], ah */
	CHECK(d.size == 1 && d.high_byte && d.reg == GPR_RAX && d.len == 3);
	CHECK_EQ(dec("\x40\x88\x62\x05", 4, true), 0); /* with REX: spl, not ah */
	CHECK(!d.high_byte && d.reg == 4);
	CHECK_EQ(dec("\x66\x89\x0a", 3, true), 0);
	CHECK(d.size == 2 && d.len == 3);
	CHECK_EQ(dec("\x2e\x3e\x89\x4c\x24\x08", 6, true), 0); /* segment prefixes, SIB+disp8 */
	CHECK_EQ(d.len, 6);
	CHECK_EQ(dec("\x89\x0c\x25\x00\x03\xe0\xfe", 7, true), 0); /* mov [0xfee00300], ecx */
	CHECK_EQ(d.len, 7);
	/* 32-bit code with 16-bit addressing (0x67): mov [0x1234], cx */
	CHECK_EQ(dec("\x67\x66\x89\x0e\x34\x12", 6, false), 0);
	CHECK(d.len == 6 && d.size == 2);
	/* 32-bit code: 0x40-0x4F are INC/DEC, not REX: not a store. */
	CHECK(dec("\x41\x89\x04\x24", 4, false) != 0);
}

TEST(decode_rejects)
{
	CHECK(dec("\x89\xc8", 2, true) != 0);       /* register operand */
	CHECK(dec("\x8b\x0a", 2, true) != 0);       /* a load */
	CHECK(dec("\xc7\x48\x10", 3, true) != 0);   /* C7 /1 is not MOV */
	CHECK(dec("\xc7\x05\x00\x00", 4, true) != 0); /* truncated */
	CHECK(dec("\x89", 1, true) != 0);
	CHECK(dec("", 0, true) != 0);
	/* 15 prefixes plus an opcode: longer than an instruction may be. */
	CHECK(dec("\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x2e\x89\x0a", 16, true) != 0);
}

static struct partition part;
static const struct mem_range ranges[] = {
	{ FAKE_RAM_BASE, FAKE_RAM_SIZE, MEM_RAM, 0 },
};

TEST(gwalk_modes)
{
	partition_init(&part, &fake_backend, 36, 0x200000, 0x100000);
	part.ranges = ranges;
	part.range_count = 1;
	memset(fake_ram, 0, sizeof(fake_ram));
	/* 4-level: PML4 at +0, PDPT +0x1000, PD +0x2000, PT +0x3000; VA
	 * 0x40201000 -> GPA FAKE+0x5000; VA 0x40400000 (2M page) -> 0x600000. */
	u64 *pml4 = (u64 *)fake_ram, *pdpt = (u64 *)(fake_ram + 0x1000),
	    *pd = (u64 *)(fake_ram + 0x2000), *pt = (u64 *)(fake_ram + 0x3000);
	pml4[0] = (FAKE_RAM_BASE + 0x1000) | 3;
	pdpt[1] = (FAKE_RAM_BASE + 0x2000) | 3;
	pd[1] = (FAKE_RAM_BASE + 0x3000) | 3;
	pt[1] = (FAKE_RAM_BASE + 0x5000) | 3;
	pd[2] = 0x600000 | 0x83;
	struct gwalk_regs r = { CR0_PG | CR0_PE, FAKE_RAM_BASE, CR4_PAE, EFER_LMA | EFER_LME };
	u64 gpa;
	CHECK_EQ(emulate_walk(&part, &r, 0x40201abc, &gpa), 0);
	CHECK_EQ(gpa, FAKE_RAM_BASE + 0x5abc);
	CHECK_EQ(emulate_walk(&part, &r, 0x40412345, &gpa), 0);
	CHECK_EQ(gpa, 0x612345);
	CHECK(emulate_walk(&part, &r, 0x40202000, &gpa) != 0); /* not present */
	CHECK(emulate_walk(&part, &r, 0x80000000, &gpa) != 0);
	/* A page table outside guest RAM (hypervisor memory) is not read. */
	pt[2] = 0x200000 | 3;
	pd[3] = 0x200000 | 3;
	CHECK(emulate_walk(&part, &r, 0x40600000, &gpa) != 0);
	/* Paging off: linear = physical (32 bits outside long mode). */
	struct gwalk_regs off = { CR0_PE, 0, 0, 0 };
	CHECK_EQ(emulate_walk(&part, &off, 0x1234567812345678ull, &gpa), 0);
	CHECK_EQ(gpa, 0x12345678);
	/* Fetch across the page boundary VA 0x40201ff8 / 0x40202000 (not
	 * mapped): only the bytes of the mapped page come back. */
	u8 buf[15];
	memcpy(fake_ram + 0x5ff8, "\x89\x0a\x90\x90\x90\x90\x90\x90", 8);
	CHECK_EQ(emulate_fetch(&part, &r, 0x40201ff8, buf), 8);
	CHECK(buf[0] == 0x89 && buf[1] == 0x0a);
}
