/*
 * emulate.c - just enough instruction emulation for guest writes to the
 * intercepted xAPIC page: translate the guest's RIP through its page tables
 * (the walker of hv/walk.c), fetch the instruction, and decode a store to
 * memory (MOV r/m, reg; MOV r/m, imm; XCHG r/m, reg) into its length and
 * value. Pure apart from guest-memory reads through hv/gmem.c, which only
 * ever see guest RAM, firmware memory and overlay pages (never MMIO or
 * hypervisor memory).
 */
#include "emulate.h"
#include "gmem.h"
#include "walk.h"
#include "tlfs.h"

/* Linear address -> GPA with the guest's paging mode (the walker of
 * hv/walk.c, without permission checks: the processor fetched the
 * instruction already). 0 on success. 1 GiB pages are allowed: a page
 * the processor used exists. */
int emulate_walk(const struct partition *p, const struct gwalk_regs *r, u64 la, u64 *gpa)
{
	struct xlate_state s = { r->cr0, r->cr3, r->cr4, r->efer, 0, 0, 0, true };
	struct xlate_out o;
	if (walk_gva(p, &s, la >> 12, 0, &o) != HV_TRANSLATE_GVA_SUCCESS)
		return -1;
	*gpa = (o.gpa_page << 12) | (la & (PAGE_SIZE - 1));
	return 0;
}

/* Fetch up to 15 instruction bytes at linear address la (they may cross a
 * page). Returns how many were fetched. */
int emulate_fetch(const struct partition *p, const struct gwalk_regs *r, u64 la, u8 *buf)
{
	int n = 0;
	while (n < 15) {
		u64 gpa;
		if (emulate_walk(p, r, la + (u64)n, &gpa))
			break;
		u32 chunk = (u32)(PAGE_SIZE - (gpa & (PAGE_SIZE - 1)));
		if (chunk > (u32)(15 - n))
			chunk = (u32)(15 - n);
		if (!gmem_read(p, gpa, buf + n, chunk))
			break;
		n += (int)chunk;
	}
	return n;
}

/* Decode a store: 88/89 MOV r/m, r; C6/C7 /0 MOV r/m, imm; 86/87 XCHG.
 * 64-bit mode when mode64, else 32-bit code (CS.D = 1). 0 on success. */
int emulate_decode_store(const u8 *b, int n, bool mode64, struct decoded_store *d)
{
	int i = 0;
	bool opsize16 = false, addr16 = false;
	u8 rex = 0;

	*d = (struct decoded_store){ 0 };
	for (; i < n; i++) {
		u8 c = b[i];
		if (c == 0x66)
			opsize16 = true;
		else if (c == 0x67)
			addr16 = !mode64; /* 32-bit addressing in 64-bit mode: same length rules */
		else if (c == 0x2e || c == 0x36 || c == 0x3e || c == 0x26 || c == 0x64 || c == 0x65 ||
			 c == 0xf0)
			continue;
		else
			break;
	}
	if (mode64 && i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (i + 2 > n)
		return -1;
	u8 op = b[i++], modrm = b[i++];
	u8 mod = modrm >> 6, rm = modrm & 7, reg = (modrm >> 3) & 7;
	if (mod == 3)
		return -1; /* a register operand cannot have faulted on memory */
	switch (op) {
	case 0x88: case 0x86: d->size = 1; break;
	case 0x89: case 0x87: d->size = (rex & 8) ? 8 : opsize16 ? 2 : 4; break;
	case 0xc6: d->size = 1; break;
	case 0xc7: d->size = (rex & 8) ? 8 : opsize16 ? 2 : 4; break;
	default: return -1;
	}
	if ((op == 0xc6 || op == 0xc7) && reg != 0)
		return -1;
	d->is_xchg = op == 0x86 || op == 0x87;
	if (op == 0xc6 || op == 0xc7) {
		d->has_imm = true;
	} else {
		d->reg = reg | ((rex & 4) ? 8 : 0);
		/* Byte registers 4-7 without REX are AH, CH, DH, BH. */
		d->high_byte = d->size == 1 && !rex && reg >= 4;
		if (d->high_byte)
			d->reg = reg - 4;
	}
	if (addr16) { /* 16-bit ModRM (SDM table 2-1) */
		if (mod == 0 && rm == 6)
			i += 2;
		else
			i += mod == 1 ? 1 : mod == 2 ? 2 : 0;
	} else {
		if (rm == 4) {
			if (i >= n)
				return -1;
			u8 sib = b[i++];
			if (mod == 0 && (sib & 7) == 5)
				i += 4;
		} else if (mod == 0 && rm == 5) {
			i += 4; /* disp32, RIP-relative in 64-bit mode */
		}
		i += mod == 1 ? 1 : mod == 2 ? 4 : 0;
	}
	if (d->has_imm) {
		int isz = d->size == 1 ? 1 : d->size == 2 ? 2 : 4;
		if (i + isz > n)
			return -1;
		u64 v = 0;
		for (int k = 0; k < isz; k++)
			v |= (u64)b[i + k] << (8 * k);
		if (d->size == 8 && (v & BIT(31)))
			v |= 0xffffffff00000000ull; /* imm32 sign-extended */
		d->imm = v;
		i += isz;
	}
	if (i > n || i > 15)
		return -1;
	d->len = (u8)i;
	return 0;
}
