/*
 * emulate.c - just enough instruction emulation for guest writes to the
 * intercepted xAPIC page: translate the guest's RIP through its page tables
 * (SDM 4.3-4.5), fetch the instruction, and decode a store to memory (MOV
 * r/m, reg; MOV r/m, imm; XCHG r/m, reg) into its length and value.
 * Pure apart from guest-memory reads through hw_gpa_ptr(), which only ever
 * see ordinary guest RAM (gmem_check_param).
 */
#include "emulate.h"
#include "hw.h"
#include "tlfs.h"
#include "x86.h"
#include "boot_info.h"

#define PTE_P BIT(0)
#define PTE_PS BIT(7)
#define ADDR_MASK 0x000ffffffffff000ull

/* Guest code and page tables live in RAM or in firmware memory (runtime
 * services code, ACPI NVS, reserved); never in MMIO or hypervisor memory. */
static bool readable(const struct partition *p, u64 gpa, u32 len)
{
	if (gpa >= p->hidden_base && gpa < p->hidden_base + p->hidden_size)
		return false;
	for (u32 i = 0; i < p->range_count; i++) {
		const struct mem_range *r = &p->ranges[i];
		if (gpa >= r->base && gpa + len <= r->base + r->size)
			return r->type == MEM_RAM || r->type == MEM_RESERVED;
	}
	return false;
}

static bool read_gpa(const struct partition *p, u64 gpa, void *out, u32 len)
{
	if (!readable(p, gpa, len))
		return false;
	const u8 *src = hw_gpa_ptr(gpa);
	for (u32 i = 0; i < len; i++)
		((u8 *)out)[i] = src[i];
	return true;
}

/* Linear address -> GPA with the guest's paging mode. 0 on success. */
int gwalk(const struct partition *p, const struct gwalk_regs *r, u64 la, u64 *gpa)
{
	if (!(r->cr0 & CR0_PG)) {
		*gpa = (r->efer & EFER_LMA) ? la : (u32)la;
		return 0;
	}
	if (r->efer & EFER_LMA) { /* 4-level (or 5-level with CR4.LA57) */
		int levels = (r->cr4 & BIT(12)) ? 5 : 4;
		u64 table = r->cr3 & ADDR_MASK;
		for (int l = levels - 1; l >= 0; l--) {
			u64 e;
			if (!read_gpa(p, table + ((la >> (12 + 9 * l)) & 511) * 8, &e, 8) || !(e & PTE_P))
				return -1;
			if (l == 0 || (l <= 2 && (e & PTE_PS))) {
				u64 sz = 1ull << (12 + 9 * l);
				*gpa = (e & ADDR_MASK & ~(sz - 1)) | (la & (sz - 1));
				return 0;
			}
			table = e & ADDR_MASK;
		}
		return -1;
	}
	if (r->cr4 & CR4_PAE) { /* PAE: 4 PDPTEs, then 2 levels */
		u64 e;
		if (!read_gpa(p, (r->cr3 & ~0x1full) + ((la >> 30) & 3) * 8, &e, 8) || !(e & PTE_P))
			return -1;
		u64 table = e & ADDR_MASK;
		for (int l = 1; l >= 0; l--) {
			if (!read_gpa(p, table + ((la >> (12 + 9 * l)) & 511) * 8, &e, 8) || !(e & PTE_P))
				return -1;
			if (l == 0 || (e & PTE_PS)) {
				u64 sz = 1ull << (12 + 9 * l);
				*gpa = (e & ADDR_MASK & ~(sz - 1)) | (la & (sz - 1));
				return 0;
			}
			table = e & ADDR_MASK;
		}
		return -1;
	}
	/* 32-bit paging: 2 levels of 4-byte entries, 4 MiB pages with PSE. */
	u32 pde, pte;
	if (!read_gpa(p, (r->cr3 & 0xfffff000) + ((la >> 22) & 1023) * 4, &pde, 4) || !(pde & 1))
		return -1;
	if ((pde & PTE_PS) && (r->cr4 & BIT(4))) {
		*gpa = (pde & 0xffc00000u) | (la & 0x3fffff);
		return 0;
	}
	if (!read_gpa(p, (pde & 0xfffff000) + ((la >> 12) & 1023) * 4, &pte, 4) || !(pte & 1))
		return -1;
	*gpa = (pte & 0xfffff000) | (la & 0xfff);
	return 0;
}

/* Fetch up to 15 instruction bytes at linear address la (they may cross a
 * page). Returns how many were fetched. */
int gfetch(const struct partition *p, const struct gwalk_regs *r, u64 la, u8 *buf)
{
	int n = 0;
	while (n < 15) {
		u64 gpa;
		if (gwalk(p, r, la + (u64)n, &gpa))
			break;
		u32 chunk = (u32)(PAGE_SIZE - (gpa & (PAGE_SIZE - 1)));
		if (chunk > (u32)(15 - n))
			chunk = (u32)(15 - n);
		if (!read_gpa(p, gpa, buf + n, chunk))
			break;
		n += (int)chunk;
	}
	return n;
}

/* Decode a store: 88/89 MOV r/m, r; C6/C7 /0 MOV r/m, imm; 86/87 XCHG.
 * 64-bit mode when mode64, else 32-bit code (CS.D = 1). 0 on success. */
int decode_store(const u8 *b, int n, bool mode64, struct decoded_store *d)
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
