; papic.asm - an interrupt handler for the APIC MSR checks: counts the
; interrupt and signals end-of-interrupt through HV_X64_MSR_EOI (TLFS
; 10.2.3.1), so the test can see that the EOI reached the local APIC.
bits 64
default rel
%include "tests/payload/stubs.inc"

section .data
global papic_count
papic_count: dq 0

section .text
global papic_isr
papic_isr:
	push rax
	push rcx
	push rdx
	inc qword [rel papic_count]
	HV_EOI_IRETQ

section .note.GNU-stack noalloc noexec nowrite progbits
