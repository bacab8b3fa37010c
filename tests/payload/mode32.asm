; mode32.asm - hypercalls from a 32-bit caller (compatibility mode) for the
; guest test payload (checks_mode32.c).
;
; TLFS 3.7: the caller is 64-bit only when EFER.LMA and CS.L are both set;
; otherwise the registers are EDX:EAX (input value), EBX:ECX (input GPA),
; EDI:ESI (output GPA) and the result comes back in EDX:EAX. m32_call loads
; all of RAX, RBX, RCX, RDX, RSI, RDI, R8 and RBP with full 64-bit values in
; 64-bit mode (so their upper halves hold whatever the C side chose), far
; returns into compatibility mode through a 32-bit code selector of the
; firmware's GDT (CS.L = 0, CS.D = 1), does a near CALL to the "page" (the
; hypercall page, or m32_probe for the self test), stores the six 32-bit
; registers it returns with and far jumps back to the original 64-bit CS.
; Code, stack and struct must be below 4 GiB (checked by the C side).
;
; Exceptions: vectors 0-31 point at m32_stubs (C loads them with
; trap_window_enter, interrupts disabled); an exception in compatibility
; mode goes through the 64-bit IDT like any other, and the stub longjmps
; back to m32_call's recovery label (as in hcall.asm).
;
; struct m32_regs (checks_mode32.c):
;   in:  +0 RAX  +8 RBX  +16 RCX  +24 RDX  +32 RSI  +40 RDI  +48 R8  +56 RBP
;   out: +64 EAX +68 EBX +72 ECX  +76 EDX  +80 ESI  +84 EDI

default rel
bits 64

%include "tests/payload/stubs.inc"

extern ptrap_unexpected

global m32_stubs:function hidden
global m32_call:function hidden
global m32_probe:function hidden
global m32_fault:data hidden

section .data
align 8
m32_fault:  dq -1, 0, 0, 0  ; vector (-1 none), error code, RIP, CS
rec_rip:    dq 0            ; recovery label, 0 = nothing armed
rec_rsp:    dq 0            ; RSP at the recovery label
sel_ss:     dw 0
sel_ds:     dw 0
sel_es:     dw 0

section .text

; ---- the 32 exception stubs, 16 bytes apart -------------------------------
align 16
m32_stubs:
	EXC_STUBS m32_common

align 16
m32_common:
	LONGJMP_COMMON m32_fault

; int m32_call(struct m32_regs *r, uint64_t cs32, void *page)
; Returns -1, or the vector of an exception (then the outputs of *r are not
; all written).
m32_call:
	LONGJMP_ENTER .rec, m32_fault

	; The frame compatibility mode works with (ESP-relative, 16 bytes):
	;   +0 page  +4 struct  +8 offset of .back  +12 the 64-bit CS
	sub rsp, 16
	mov [rsp], edx
	mov [rsp+4], edi
	lea rax, [.back]
	mov [rsp+8], eax
	mov eax, cs
	mov [rsp+12], eax
	push rsi                        ; CS: the 32-bit code selector
	lea rax, [.c32]
	push rax                        ; RIP
	mov r11, rdi
	mov rax, [r11]
	mov rbx, [r11+8]
	mov rcx, [r11+16]
	mov rdx, [r11+24]
	mov rsi, [r11+32]
	mov rdi, [r11+40]
	mov r8, [r11+48]
	mov rbp, [r11+56]
	o64 retf                        ; to compatibility mode, CPL 0

bits 32
.c32:
	call [esp]                      ; the page (its RET pops 4 bytes here)
	mov ebp, [esp+4]
	mov [ebp+64], eax
	mov [ebp+68], ebx
	mov [ebp+72], ecx
	mov [ebp+76], edx
	mov [ebp+80], esi
	mov [ebp+84], edi
	jmp far [esp+8]                 ; m16:32, back to 64-bit mode

bits 64
.back:
	mov rsp, [rec_rsp]
	mov qword [rec_rip], 0
.rec:
	mov rax, [m32_fault]
	POP_CALLEE
	ret

; The self test's "page": in compatibility mode 0x40 is INC EAX; in 64-bit
; mode it is a REX prefix of the RET (EAX unchanged).
align 16
m32_probe:
	db 0x40, 0xC3

section .note.GNU-stack noalloc noexec nowrite progbits
