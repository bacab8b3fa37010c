; psynic.asm - the interrupt handlers of checks_synic.c (SynIC, TLFS 11),
; shared by every processor: handler K counts its interrupt in
; synic_count[VP index * 8 + K] (VP index from HV_X64_MSR_VP_INDEX) and
; records the vector's arrival order in synic_last[VP index]. Handlers
; with EOI signal end-of-interrupt through HV_X64_MSR_EOI (TLFS 10.2.3.1);
; the AutoEOI handler must not (TLFS 11.8.5: the hypervisor did).
bits 64
default rel
%include "tests/payload/stubs.inc"

section .data
align 8
global synic_count
synic_count: times 64 * 8 dq 0
global synic_last
synic_last: times 64 dq 0

section .text

; SYNIC_ISR name, k, eoi(0/1)
%macro SYNIC_ISR 3
global %1
%1:
	push rax
	push rcx
	push rdx
	mov ecx, 0x40000002             ; HV_X64_MSR_VP_INDEX
	rdmsr
	and eax, 63
	lea rcx, [synic_last]
	mov qword [rcx + rax * 8], %2 + 1
	shl eax, 3
	lea rcx, [synic_count]
	lock inc qword [rcx + rax * 8 + %2 * 8]
%if %3
	HV_EOI_IRETQ
%else
	pop rdx
	pop rcx
	pop rax
	iretq
%endif
%endmacro

SYNIC_ISR synic_isr0, 0, 1
SYNIC_ISR synic_isr1, 1, 1
SYNIC_ISR synic_isr2, 2, 0
SYNIC_ISR synic_isr3, 3, 1
SYNIC_ISR synic_isr4, 4, 1
SYNIC_ISR synic_isr5, 5, 1

section .note.GNU-stack noalloc noexec nowrite progbits
