/*
 * efi_util.h - firmware queries the loader makes before launch: files on
 * the boot volume, the memory map, the ACPI FADT.
 */
#ifndef HV_EFI_UTIL_H
#define HV_EFI_UTIL_H

/* gnu-efi 3.0.15's efiapi.h has an unprototyped function type. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <efi.h>
#include <efilib.h>
#pragma GCC diagnostic pop
#include "types.h"
#include "boot_info.h"

/* Read a whole file from the volume the image came from; FreePool it. */
EFI_STATUS efi_read_file(EFI_HANDLE device, const CHAR16 *path, char **data, UINTN *size);
/* Fill bi->range[] and bi->phys_top from the UEFI memory map. */
EFI_STATUS efi_fill_memory_map(struct boot_info *bi);
/* PM1 control and reset ports from the FADT, if any. */
void efi_find_acpi_ports(struct boot_info *bi);
/* ASCII <-> UCS-2 for paths and load options. */
void ascii_to_ucs2(CHAR16 *dst, size_t cap, const char *src);
size_t ucs2_to_ascii(char *dst, size_t cap, const CHAR16 *src, size_t src_bytes);

#endif
