/*
 * checks_mem.c - the hypervisor's own memory is hidden from the guest.
 *
 * hv.efi publishes a UEFI configuration table (HV_INFO_TABLE_GUID, see
 * include/hv_abi.h; not a TLFS interface) with the physical range of its
 * resident memory. Every guest read or write there must fault (the
 * hypervisor injects #GP). OVMF's page tables identity-map physical memory,
 * so the physical address is used as the pointer.
 */
#include "payload.h"

static const EFI_GUID hv_info_guid = HV_INFO_TABLE_GUID;

static int guid_eq(const EFI_GUID *a, const EFI_GUID *b)
{
	const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;

	for (unsigned int i = 0; i < sizeof(EFI_GUID); i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

static const struct hv_info_table *find_hv_info_raw(void)
{
	if (!ST)
		return NULL;
	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];

		if (guid_eq(&t->VendorGuid, &hv_info_guid))
			return (const struct hv_info_table *)t->VendorTable;
	}
	return NULL;
}

static int hv_info_valid(const struct hv_info_table *t)
{
	return t && t->magic == HV_INFO_MAGIC && t->version == HV_INFO_VERSION &&
	       t->resident_size >= 8;
}

const struct hv_info_table *find_hv_info(void)
{
	const struct hv_info_table *t = find_hv_info_raw();

	return hv_info_valid(t) ? t : NULL;
}

/* One read and one write probe at addr; both must fault. */
static void probe_hidden(const char *where, uint64_t addr)
{
	char rd[48], wr[48];
	uint64_t val = 0;
	int vec;
	unsigned int n = 0;

	for (const char *s = "hvmem."; *s; s++)
		rd[n++] = *s;
	for (const char *s = where; *s && n < sizeof(rd) - 8; s++)
		rd[n++] = *s;
	for (unsigned int i = 0; i < n; i++)
		wr[i] = rd[i];
	rd[n] = '.', rd[n + 1] = 'r', rd[n + 2] = 'e', rd[n + 3] = 'a', rd[n + 4] = 'd';
	rd[n + 5] = '\0';
	wr[n] = '.', wr[n + 1] = 'w', wr[n + 2] = 'r', wr[n + 3] = 'i', wr[n + 4] = 't';
	wr[n + 5] = 'e', wr[n + 6] = '\0';

	vec = trap_read64(addr, &val);
	check(rd, vec != VEC_NONE,
	      "8-byte read at 0x%lx: no exception (value 0x%lx), expected a fault (#GP, vector 0xd)",
	      (unsigned long)addr, (unsigned long)val);
	if (vec != VEC_NONE)
		ser_printf("  info: hvmem.%s.read at 0x%lx raised %s (vector 0x%x)\n",
			   where, (unsigned long)addr, vec_name(vec), (unsigned int)vec);

	/*
	 * If the read went through, the memory is exposed: write back what was
	 * read so a broken hypervisor is at least not corrupted by the probe.
	 */
	vec = trap_write64(addr, val);
	check(wr, vec != VEC_NONE,
	      "8-byte write at 0x%lx: no exception, expected a fault (#GP, vector 0xd)",
	      (unsigned long)addr);
	if (vec != VEC_NONE)
		ser_printf("  info: hvmem.%s.write at 0x%lx raised %s (vector 0x%x)\n",
			   where, (unsigned long)addr, vec_name(vec), (unsigned int)vec);
}

void checks_mem(void)
{
	const struct hv_info_table *t = find_hv_info_raw();

	if (!t) {
		check("hvmem.info_table", 0,
		      "no configuration table with HV_INFO_TABLE_GUID (%lu tables)",
		      (unsigned long)(ST ? ST->NumberOfTableEntries : 0));
		return;
	}
	if (!check("hvmem.info_table", hv_info_valid(t),
		   "table at %p: magic 0x%lx (expected 0x%lx), version %u (expected %u), "
		   "size 0x%lx",
		   (const void *)t, (unsigned long)t->magic,
		   (unsigned long)HV_INFO_MAGIC, t->version, HV_INFO_VERSION,
		   (unsigned long)t->resident_size))
		return;

	uint64_t base = t->resident_base, size = t->resident_size;

	ser_printf("  info: hypervisor resident memory 0x%lx-0x%lx, vendor %u\n",
		   (unsigned long)base, (unsigned long)(base + size - 1), t->vendor);
	probe_hidden("base", base);
	probe_hidden("mid", (base + size / 2) & ~7ull);
	probe_hidden("end", (base + size - 8) & ~7ull);
}
