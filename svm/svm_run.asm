; svm_run.asm - enter the guest and come back (APM 15.5, 15.6).
;
; svm_run_asm(gpr, vmcb_pa, host_save_pa): loads the guest GPRs from gpr[]
; (RAX and RSP live in the VMCB), VMLOADs the guest's FS/GS/TR/LDTR/
; KernelGsBase/STAR/... , VMRUNs, VMSAVEs them back on #VMEXIT and VMLOADs
; the host's own, then stores the guest GPRs. The host runs with GIF=0.
bits 64
default rel

section .text
global svm_run_asm
svm_run_asm:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	push rdx		; [rsp+8]: host_save_pa
	push rdi		; [rsp]:   gpr
	mov rax, rsi
	mov rcx, [rdi + 1*8]
	mov rdx, [rdi + 2*8]
	mov rbx, [rdi + 3*8]
	mov rbp, [rdi + 5*8]
	mov rsi, [rdi + 6*8]
	mov r8,  [rdi + 8*8]
	mov r9,  [rdi + 9*8]
	mov r10, [rdi + 10*8]
	mov r11, [rdi + 11*8]
	mov r12, [rdi + 12*8]
	mov r13, [rdi + 13*8]
	mov r14, [rdi + 14*8]
	mov r15, [rdi + 15*8]
	mov rdi, [rdi + 7*8]
	vmload			; [rax]
	vmrun			; [rax]
	vmsave			; [rax]; RAX = vmcb_pa again (restored from host save)
	push rdi
	mov rdi, [rsp + 8]	; gpr
	mov [rdi + 1*8], rcx
	mov [rdi + 2*8], rdx
	mov [rdi + 3*8], rbx
	mov [rdi + 5*8], rbp
	mov [rdi + 6*8], rsi
	mov [rdi + 8*8], r8
	mov [rdi + 9*8], r9
	mov [rdi + 10*8], r10
	mov [rdi + 11*8], r11
	mov [rdi + 12*8], r12
	mov [rdi + 13*8], r13
	mov [rdi + 14*8], r14
	mov [rdi + 15*8], r15
	pop qword [rdi + 7*8]
	add rsp, 8
	pop rax			; host_save_pa
	vmload			; [rax]		; the host's GS (current VP), TR, ...
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
