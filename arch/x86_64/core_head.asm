; core_head.asm - the core image header (struct core_header in
; include/boot_info.h) and its entry point. The loader jumps to core_entry
; on the host page tables and a host stack, with RDI = boot_info.
bits 64
default rel
extern core_main
extern __core_start, __core_mem_size, __core_bss_offset

section .head
	dq 0x45524f4356485648	; CORE_MAGIC "HVHVCORE"
	dq core_entry
	dq __core_mem_size	; defined in core.lds
	dq __core_bss_offset
	dq __core_start

section .text
global core_entry
core_entry:
	call core_main		; never returns
.hang:	cli
	hlt
	jmp .hang

section .note.GNU-stack noalloc noexec nowrite progbits
