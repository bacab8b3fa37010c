; isr.asm - host exception entry stubs and fixup-protected MSR access.
; Every vector gets a stub that pushes a uniform frame (struct trap_frame in
; include/arch.h) and calls trap_handler.
bits 64
default rel
extern trap_handler

section .text

%macro ISR_NOERR 1
isr_%1:
	push 0
	push %1
	jmp isr_common
%endmacro
%macro ISR_ERR 1
isr_%1:
	push %1
	jmp isr_common
%endmacro

%assign v 0
%rep 32
%if v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30
	ISR_ERR v
%else
	ISR_NOERR v
%endif
%assign v v+1
%endrep

isr_common:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	mov rdi, rsp
	mov rbx, rsp
	and rsp, -16
	call trap_handler
	mov rsp, rbx
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16		; vector, error code
	iretq

section .rodata
global isr_table
isr_table:
%assign v 0
%rep 32
	dq isr_ %+ v
%assign v v+1
%endrep

section .text
; int rdmsr_safe(u32 msr, u64 *val)
global rdmsr_safe
rdmsr_safe:
	mov ecx, edi
.insn:	rdmsr
	shl rdx, 32
	or rax, rdx
	mov [rsi], rax
	xor eax, eax
	ret
.fix:	mov eax, 1
	ret

; int wrmsr_safe(u32 msr, u64 val)
global wrmsr_safe
wrmsr_safe:
	mov ecx, edi
	mov eax, esi
	mov rdx, rsi
	shr rdx, 32
.insn:	wrmsr
	xor eax, eax
	ret
.fix:	mov eax, 1
	ret

section .extable
	dq rdmsr_safe.insn, rdmsr_safe.fix
	dq wrmsr_safe.insn, wrmsr_safe.fix

section .note.GNU-stack noalloc noexec nowrite progbits
