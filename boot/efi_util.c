/*
 * efi_util.c - firmware queries made by the loader before launch (files,
 * memory map, ACPI). Everything here runs with boot services available.
 */
#include "efi_util.h"
#include "log.h"

EFI_STATUS efi_read_file(EFI_HANDLE device, const CHAR16 *path, char **data, UINTN *size)
{
	EFI_FILE_HANDLE root, f;
	EFI_STATUS st;

	root = LibOpenRoot(device);
	if (!root)
		return EFI_NOT_FOUND;
	st = uefi_call_wrapper(root->Open, 5, root, &f, (CHAR16 *)path, EFI_FILE_MODE_READ, 0);
	uefi_call_wrapper(root->Close, 1, root);
	if (EFI_ERROR(st))
		return st;
	EFI_FILE_INFO *info = LibFileInfo(f);
	if (!info) {
		uefi_call_wrapper(f->Close, 1, f);
		return EFI_DEVICE_ERROR;
	}
	UINTN n = info->FileSize;
	FreePool(info);
	char *buf = AllocatePool(n + 1);
	if (!buf) {
		uefi_call_wrapper(f->Close, 1, f);
		return EFI_OUT_OF_RESOURCES;
	}
	st = uefi_call_wrapper(f->Read, 3, f, &n, buf);
	uefi_call_wrapper(f->Close, 1, f);
	if (EFI_ERROR(st)) {
		FreePool(buf);
		return st;
	}
	buf[n] = '\0';
	*data = buf;
	*size = n;
	return EFI_SUCCESS;
}

static u32 mem_kind(UINT32 type)
{
	switch (type) {
	case EfiLoaderCode:
	case EfiLoaderData:
	case EfiBootServicesCode:
	case EfiBootServicesData:
	case EfiConventionalMemory:
	case EfiACPIReclaimMemory:
		return MEM_RAM;
	case EfiMemoryMappedIO:
	case EfiMemoryMappedIOPortSpace:
		return MEM_MMIO;
	default:
		return MEM_RESERVED;
	}
}

EFI_STATUS efi_fill_memory_map(struct boot_info *bi)
{
	UINTN entries, key, desc_size;
	UINT32 desc_ver;
	EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &desc_ver);
	if (!map)
		return EFI_OUT_OF_RESOURCES;

	u64 top = 4ull << 30; /* MMIO below 4 GiB is always covered */
	bi->range_count = 0;
	for (UINTN i = 0; i < entries; i++) {
		EFI_MEMORY_DESCRIPTOR *d = (void *)((u8 *)map + i * desc_size);
		u64 base = d->PhysicalStart, size = d->NumberOfPages * PAGE_SIZE;
		u32 kind = mem_kind(d->Type);
		if (base >= bi->resident_base && base + size <= bi->resident_base + bi->resident_size)
			kind = MEM_HV;
		if (base + size > top)
			top = base + size;
		struct mem_range *last = bi->range_count ? &bi->range[bi->range_count - 1] : NULL;
		if (last && last->type == kind && last->base + last->size == base) {
			last->size += size;
			continue;
		}
		if (bi->range_count == BOOT_MAX_RANGES) {
			LOGW("memory map has more than %d ranges; the rest are not recorded",
			     BOOT_MAX_RANGES);
			continue;
		}
		bi->range[bi->range_count++] = (struct mem_range){ base, size, kind, 0 };
	}
	FreePool(map);
	bi->phys_top = ALIGN_UP(top, PAGE_1G);
	return EFI_SUCCESS;
}

static EFI_GUID acpi20_guid = { 0x8868e871, 0xe4f1, 0x11d3,
				{ 0xbc, 0x22, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81 } };

static bool sig_is(const void *p, const char *sig)
{
	const char *s = p;
	return s[0] == sig[0] && s[1] == sig[1] && s[2] == sig[2] && s[3] == sig[3];
}

/* ACPI 6.x 5.2.9: PM1a_CNT_BLK @64, PM1b_CNT_BLK @68, PM_TMR_BLK @76, Flags @112 (bit 10
 * RESET_REG_SUP), RESET_REG GAS @116 (space id, address @120), RESET_VALUE
 * @128, X_PM1a_CNT_BLK GAS @172. */
static void parse_fadt(struct boot_info *bi, const u8 *f)
{
	u32 len = *(const u32 *)(f + 4);
	if (len >= 72) {
		bi->pm1a_cnt_port = (u16) * (const u32 *)(f + 64);
		bi->pm1b_cnt_port = (u16) * (const u32 *)(f + 68);
	}
	if (len >= 116) { /* PM_TMR_BLK @76; Flags @112 bit 8 TMR_VAL_EXT */
		bi->pm_tmr_port = (u16) * (const u32 *)(f + 76);
		bi->pm_tmr_32bit = (*(const u32 *)(f + 112) & BIT(8)) != 0;
	}
	if (!bi->pm1a_cnt_port && len >= 184 && f[172] == 1)
		bi->pm1a_cnt_port = (u16) * (const u64 *)(f + 176);
	if (len >= 129 && (*(const u32 *)(f + 112) & BIT(10)) && f[116] == 1) {
		bi->reset_port = (u16) * (const u64 *)(f + 120);
		bi->reset_value = f[128];
	}
}

void efi_find_acpi_ports(struct boot_info *bi)
{
	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
		if (CompareGuid(&t->VendorGuid, &acpi20_guid) != 0)
			continue;
		const u8 *rsdp = t->VendorTable;
		if (!rsdp || rsdp[15] < 2)
			continue;
		const u8 *xsdt = (const u8 *)(uintptr_t) * (const u64 *)(rsdp + 24);
		if (!xsdt || !sig_is(xsdt, "XSDT"))
			continue;
		u32 len = *(const u32 *)(xsdt + 4);
		for (u32 off = 36; off + 8 <= len; off += 8) {
			const u8 *h = (const u8 *)(uintptr_t) * (const u64 *)(xsdt + off);
			if (h && sig_is(h, "FACP")) {
				parse_fadt(bi, h);
				return;
			}
		}
	}
}

void ascii_to_ucs2(CHAR16 *dst, size_t cap, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < cap; i++)
		dst[i] = (CHAR16)(u8)src[i];
	dst[i] = 0;
}

size_t ucs2_to_ascii(char *dst, size_t cap, const CHAR16 *src, size_t src_bytes)
{
	size_t n = 0;
	for (size_t i = 0; i < src_bytes / 2 && src[i] && n + 1 < cap; i++) {
		if (src[i] < 0x20 || src[i] > 0x7e)
			return 0; /* not text: binary load options */
		dst[n++] = (char)src[i];
	}
	dst[n] = '\0';
	return n;
}
