; launch.asm - hand the live firmware to the hypervisor as its guest.
;
; hv_launch(gs, entry, host_cr3, host_rsp, bi, cpu) records where the
; firmware is in *gs (RIP = .resume, RSP, RFLAGS; the rest of the state was
; captured in C), switches to the hypervisor's page tables and stack and
; jumps to core_entry(bi, cpu). It runs once on every logical processor.
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
	mov rdi, r8
	mov rax, rsi
	mov rsi, r9
	jmp rax			; core_entry(bi, cpu)
.resume:
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

; hv_abort(gs, status): called by the core on the host page tables, which
; identity-map this loader code; restores the firmware's CPU state *gs.
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

; ap_procedure_thunk(arg): the EFI_AP_PROCEDURE that MP services runs on
; each application processor, with the Microsoft x64 convention (arg in
; RCX; RDI/RSI callee-saved). The loader's C code is SysV and never touches
; vector registers, so only RDI and RSI need saving.
extern ap_procedure
global ap_procedure_thunk
ap_procedure_thunk:
	push rdi
	push rsi
	sub rsp, 8
	mov rdi, rcx
	call ap_procedure
	add rsp, 8
	pop rsi
	pop rdi
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
