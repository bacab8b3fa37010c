/*
 * boot_info.h - the hand-off from the UEFI loader (boot/) to the resident
 * core. It lives in the resident (reserved) memory, so it outlives the
 * loader image. The first member is the firmware's live CPU state captured
 * by boot/launch.asm: the core launches it as the guest, and on a failed
 * launch the loader's abort trampoline restores it natively.
 *
 * Offsets used from assembly are in boot_info.inc; keep them in step (the
 * static asserts below check it).
 */
#ifndef HV_BOOT_INFO_H
#define HV_BOOT_INFO_H

#include "types.h"

#define BOOT_INFO_MAGIC 0x4f464e49544f4f42ull /* "BOOTINFO" */
#define CORE_MAGIC 0x45524f4356485648ull      /* "HVHVCORE" */
#define CORE_VBASE 0xffffffff80000000ull
#define BOOT_MAX_RANGES 256
#define BOOT_MAX_CPUS 64 /* HV_MAX_LPS */

/* A segment register with its hidden part. attr holds descriptor bits
 * 40-55 (type, S, DPL, P, AVL, L, D/B, G) in the VMX access-rights layout;
 * attr == 0 means unusable (null selector). */
struct seg_state {
	u16 sel;
	u16 attr;
	u32 limit;
	u64 base;
};
_Static_assert(sizeof(struct seg_state) == 16, "seg_state");

enum seg_index { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG__COUNT };

struct PACKED dtr_state {
	u16 limit;
	u64 base;
	u8 pad[6];
};
_Static_assert(sizeof(struct dtr_state) == 16, "dtr_state");

/* The guest's initial state: the firmware as it was when hv.efi launched. */
struct guest_boot_state {
	u64 rip;    /* 0x00: the resume label in boot/launch.asm */
	u64 rsp;    /* 0x08 */
	u64 rflags; /* 0x10 */
	u64 cr0;    /* 0x18 */
	u64 cr3;    /* 0x20 */
	u64 cr4;    /* 0x28 */
	struct dtr_state gdtr; /* 0x30 */
	struct dtr_state idtr; /* 0x40 */
	struct seg_state seg[SEG__COUNT]; /* 0x50 */
	u64 cr2, dr6, dr7;
	u64 efer, pat, debugctl;
	u64 star, lstar, cstar, sfmask, kernel_gs_base;
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
};
_Static_assert(offsetof(struct guest_boot_state, seg) == 0x50, "seg");

struct mem_range {
	u64 base;
	u64 size;
	u32 type; /* MEM_* below */
	u32 pad;
};
enum { MEM_RAM = 1, MEM_RESERVED = 2, MEM_MMIO = 3, MEM_HV = 4 };

struct boot_info {
	struct guest_boot_state guest; /* must stay first (asm offsets) */
	u64 magic;
	u64 abort_fn; /* loader: void fn(struct boot_info *, u64 status) */
	u64 resident_base, resident_size; /* all hypervisor memory */
	u64 core_phys, core_size;
	u64 pool_base, pool_size, pool_used; /* page pool after the core */
	u64 host_cr3;
	u64 phys_top;       /* identity map covers [0, phys_top) */
	u32 phys_addr_bits; /* CPUID 0x80000008 EAX[7:0] */
	u32 log_level;
	u16 serial_port;    /* 0 = no serial log */
	u16 pm1a_cnt_port;  /* ACPI PM1a control (FADT), 0 = unknown */
	u16 pm1b_cnt_port;
	u16 reset_port;     /* FADT reset register if in I/O space, else 0 */
	u8 reset_value;
	u8 nested;          /* hv.cfg nested=on (docs/nested.md) */
	u8 pad;
	u16 gdb_port;       /* hv.cfg gdb=: the GDB stub's UART, 0 = off (docs/debugging.md) */
	u8 pad2[2];
	u64 tsc_hz;         /* TSC frequency measured by the loader */
	u64 apic_hz;        /* local APIC timer input frequency, 0 if unknown */
	u32 invariant_tsc;  /* CPUID 0x80000007 EDX[8] or invariant_tsc=yes */
	u16 pm_tmr_port;    /* ACPI PM timer (FADT PM_TMR_BLK), 0 = none */
	u16 pm_tmr_32bit;   /* FADT TMR_VAL_EXT */
	u32 range_count;
	u32 cpu_count;  /* logical processors (MP services), 1 without them */
	struct mem_range range[BOOT_MAX_RANGES];
	/* Per logical processor, indexed by the MP services processor number,
	 * which becomes the VP index (0 = the bootstrap processor). */
	u32 apic_id[BOOT_MAX_CPUS];
	u64 host_stack[BOOT_MAX_CPUS];               /* top of its host stack */
	struct guest_boot_state cpu_guest[BOOT_MAX_CPUS]; /* APs; BSP: guest */
};

/* Header at the very start of the core image (arch/x86_64/core_head.asm). */
struct core_header {
	u64 magic;
	u64 entry;      /* virtual address of core_entry */
	u64 mem_size;   /* bytes to map, including .bss */
	u64 bss_offset; /* zero [bss_offset, mem_size) after copying */
	u64 link_base;  /* CORE_VBASE */
};

#endif
