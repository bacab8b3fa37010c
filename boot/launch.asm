; launch.asm - hand the live firmware to the hypervisor as its guest.
;
; hv_launch(bi, entry, host_cr3, host_rsp) records where the firmware is
; (RIP = .resume, RSP, RFLAGS; the rest of the state was captured in C),
; switches to the hypervisor's page tables and stack and jumps to the core.
; The core launches that state as the guest, so the firmware "returns" from
; hv_launch with RAX = 0, now virtualized. If the core cannot launch, it
; calls hv_abort, which restores the firmware natively and returns the
; status through the same label.
default rel
bits 64
%include "boot_info.inc"

section .text

global hv_launch
hv_launch:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	mov [rdi + GS_RSP], rsp
	lea rax, [rel .resume]
	mov [rdi + GS_RIP], rax
	pushfq
	pop rax
	mov [rdi + GS_RFLAGS], rax
	cli
	mov cr3, rdx		; host page tables identity-map this code
	mov rsp, rcx
	xor ebp, ebp
	push 0			; the core never returns
	jmp rsi			; core_entry(bi)
.resume:
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

; hv_abort(bi, status): called by the core on the host page tables, which
; identity-map this loader code; restores the firmware's CPU state.
global hv_abort
hv_abort:
	cli
	mov rax, [rdi + GS_CR3]
	mov cr3, rax
	lgdt [rdi + GS_GDTR]
	lidt [rdi + GS_IDTR]
	mov rsp, [rdi + GS_RSP]
	movzx eax, word [rdi + GS_CS_SEL]
	push rax
	lea rax, [rel .reload]
	push rax
	o64 retf
.reload:
	mov ax, [rdi + GS_SS_SEL]
	mov ss, ax
	mov ax, [rdi + GS_DS_SEL]
	mov ds, ax
	mov ax, [rdi + GS_ES_SEL]
	mov es, ax
	push qword [rdi + GS_RFLAGS]
	popfq
	mov rax, rsi
	jmp qword [rdi + GS_RIP]

section .note.GNU-stack noalloc noexec nowrite progbits
