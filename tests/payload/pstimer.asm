; pstimer.asm - interrupt handlers for the synthetic timer checks
; (checks_stimer.c): each reads the partition reference counter
; (HV_X64_MSR_TIME_REF_COUNT) when the interrupt is taken, keeps the first
; 32 readings, counts, and signals end-of-interrupt through HV_X64_MSR_EOI.
bits 64
default rel
%include "tests/payload/stubs.inc"

section .data
global pstimer_count, pstimer_ref
pstimer_count: times 2 dq 0
pstimer_ref: times 64 dq 0

section .text
; STIMER_ISR n: the handler of timer vector slot n (0 or 1).
%macro STIMER_ISR 1
global pstimer_isr%1
pstimer_isr%1:
	push rax
	push rcx
	push rdx
	push rbx
	mov ecx, 0x40000020             ; HV_X64_MSR_TIME_REF_COUNT
	rdmsr
	shl rdx, 32
	or rax, rdx
	mov rbx, [rel pstimer_count + 8*%1]
	cmp rbx, 32
	jae .full%1
	lea rcx, [rel pstimer_ref + 256*%1]
	mov [rcx + rbx*8], rax
.full%1:
	inc qword [rel pstimer_count + 8*%1]
	pop rbx
	HV_EOI_IRETQ
%endmacro

STIMER_ISR 0
STIMER_ISR 1

section .note.GNU-stack noalloc noexec nowrite progbits
