/*
 * hv_abi.h - what hv.efi promises to a guest, shared by the hypervisor and
 * the guest test payloads so both sides agree on one set of numbers.
 *
 * TLFS 2.4 (CPUID leaves), 2.5 (versioning), 4.2.2 (privilege flags).
 * Plain C types only: this header is included by freestanding hypervisor
 * code, by gnu-efi guest payloads and by host unit tests.
 */
#ifndef HV_ABI_H
#define HV_ABI_H

/* TLFS 2.4.3 / 2.5: leaf 0x40000002 - our own version, not Microsoft's. */
#define HV_VERSION_MAJOR 0
#define HV_VERSION_MINOR 1
#define HV_VERSION_BUILD 1
#define HV_VERSION_SERVICE_PACK 0
#define HV_VERSION_SERVICE_BRANCH 0
#define HV_VERSION_SERVICE_NUMBER 0

/* TLFS 2.4.1: highest hypervisor leaf we answer. 0x40000007-0x4000000A are
 * defined by TLFS 2.4.8-2.4.11 and answered (with zeros where a feature is
 * absent); everything above it reads as zeros. */
#define HV_CPUID_MAX_LEAF 0x4000000Au

/* TLFS 2.4.6 (leaf 0x40000005): the scale limits of this implementation. */
#define HV_MAX_VPS 64u
#define HV_MAX_LPS 64u

/*
 * Debug information that hv.efi publishes to the next boot stage as a UEFI
 * configuration table (not a TLFS interface). It lets a test payload find the
 * hypervisor's resident memory and prove it cannot read or write it.
 * GUID {6b1d6a54-3d5e-4c1b-9d0e-48762d2e3176}.
 */
#define HV_INFO_TABLE_GUID                                                     \
	{ 0x6b1d6a54, 0x3d5e, 0x4c1b,                                          \
	  { 0x9d, 0x0e, 0x48, 0x76, 0x2d, 0x2e, 0x31, 0x76 } }

#define HV_INFO_MAGIC 0x4f464e4956485648ull /* "HVHVINFO" */
#define HV_INFO_VERSION 1u

struct hv_info_table {
	unsigned long long magic;     /* HV_INFO_MAGIC */
	unsigned int version;         /* HV_INFO_VERSION */
	unsigned int vendor;          /* 1 = AMD SVM, 2 = Intel VMX */
	unsigned long long resident_base; /* hypervisor memory, hidden */
	unsigned long long resident_size; /* from the guest */
};

#define HV_INFO_VENDOR_SVM 1u
#define HV_INFO_VENDOR_VMX 2u

#endif
