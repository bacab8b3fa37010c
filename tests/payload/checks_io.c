/*
 * checks_io.c - string I/O on a port hv.efi intercepts (hv/io.c: the
 * FADT's PM1 control registers, to print its counters at power-off).
 * INS/OUTS there is legal guest code that hv.efi does not emulate: it
 * must get #GP(0), never park the processor (hv.efi used to call
 * vp_fatal: the payload would never finish). Found by the host fuzzer
 * (docs/reliability.md). REP INSB reads the PM1a control register, which
 * is harmless even where nothing intercepts it (no FADT under Bochs: the
 * check is skipped there).
 */
#include "payload.h"
#include "px86.h"

static int sig4(const void *p, const char *s)
{
	const char *c = p;
	return c[0] == s[0] && c[1] == s[1] && c[2] == s[2] && c[3] == s[3];
}

/* The FADT's PM1a_CNT_BLK (ACPI 5.2.9, offset 64), 0 without ACPI 2.0 tables. */
static uint16_t pm1a_cnt_port(void)
{
	static EFI_GUID acpi20 = { 0x8868e871, 0xe4f1, 0x11d3,
				   { 0xbc, 0x22, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81 } };
	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
		const uint8_t *rsdp = t->VendorTable;
		if (CompareGuid(&t->VendorGuid, &acpi20) || !rsdp || rsdp[15] < 2)
			continue;
		const uint8_t *xsdt = (const uint8_t *)(uintptr_t) * (const uint64_t *)(rsdp + 24);
		if (!xsdt || !sig4(xsdt, "XSDT"))
			continue;
		uint32_t len = *(const uint32_t *)(xsdt + 4);
		for (uint32_t off = 36; off + 8 <= len; off += 8) {
			const uint8_t *f = (const uint8_t *)(uintptr_t) * (const uint64_t *)(xsdt + off);
			if (f && sig4(f, "FACP") && *(const uint32_t *)(f + 4) >= 68)
				return (uint16_t) * (const uint32_t *)(f + 64);
		}
	}
	return 0;
}

void checks_io(void)
{
	uint16_t port = pm1a_cnt_port();
	if (!port) {
		ser_printf("  info: no FADT: io.string_intercepted skipped\n");
		return;
	}
	uint8_t buf[8] = { 0 };
	int v = trap_insb(port, buf, 2);
	/* Intercepted (hv.efi knows the port): #GP; the run going on at all
	 * is the point. */
	check("io.string_intercepted.gp", v == VEC_GP,
	      "REP INSB from the PM1a control port 0x%x: %s, expected #GP", port, vec_name(v));
}
