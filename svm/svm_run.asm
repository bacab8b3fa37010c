; svm_run.asm - enter the guest and come back (APM 15.5, 15.6).
;
; svm_run_asm(gpr, vmcb_pa, host_save_pa): loads the guest GPRs from gpr[]
; (RAX and RSP live in the VMCB), VMLOADs the guest's FS/GS/TR/LDTR/
; KernelGsBase/STAR/... , VMRUNs, VMSAVEs them back on #VMEXIT and VMLOADs
; the host's own, then stores the guest GPRs. The host runs with GIF=0.
bits 64
default rel

%include "gpr.inc"

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
	GUEST_GPRS_LOAD
	vmload			; [rax]
	vmrun			; [rax]
	vmsave			; [rax]; RAX = vmcb_pa again (restored from host save)
	GUEST_GPRS_STORE
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
