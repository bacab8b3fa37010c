; ptlb.asm - the application-processor worker of checks_tlb.c and
; checks_ipi.c: the EFI_AP_PROCEDURE thunk (MP services call it with the
; Microsoft x64 convention, argument in RCX, RDI/RSI callee-saved; the C
; side is SysV) and the interrupt handler for the IPI checks, shared by
; every processor: it counts the interrupt in apw_ipi_count[VP index]
; (HV_X64_MSR_VP_INDEX) and signals end-of-interrupt through
; HV_X64_MSR_EOI (TLFS 10.2.3.1), which works in xAPIC and x2APIC mode.
bits 64
default rel
%include "tests/payload/stubs.inc"
extern apw_main
section .data
align 8
global apw_ipi_count
apw_ipi_count: times 64 dq 0

section .text
global apw_thunk
apw_thunk:
	MS_ABI_THUNK apw_main

global apw_isr
apw_isr:
	push rax
	push rcx
	push rdx
	mov ecx, 0x40000002             ; HV_X64_MSR_VP_INDEX
	rdmsr
	and eax, 63
	lea rcx, [apw_ipi_count]
	lock inc qword [rcx + rax * 8]
	HV_EOI_IRETQ

section .note.GNU-stack noalloc noexec nowrite progbits
