; svm_run.asm - enter the guest and come back (APM 15.5, 15.6).
;
; svm_run_asm(gpr, vmcb_pa, host_save_pa): loads the guest GPRs from gpr[]
; (RAX and RSP live in the VMCB), VMLOADs the guest's FS/GS/TR/LDTR/
; KernelGsBase/STAR/... , VMRUNs, VMSAVEs them back on #VMEXIT and VMLOADs
; the host's own, then stores the guest GPRs. The host runs with GIF=0.
bits 64
default rel

%include "gpr.inc"

; The body, once per entry point: IF_ON 1 enables interrupts in the host
; across VMRUN (svm_run_asm_if), for an L2 whose L1 asked for V_INTR_MASKING
; with its own RFLAGS.IF set: physical interrupts are then masked by the
; host's RFLAGS.IF (APM 15.21.1), which must be L1's. The host still runs
; with GIF=0: nothing is taken in the host between STI and CLI.
%macro RUN_BODY 1
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
%if %1
	sti
%endif
	vmrun			; [rax]
%if %1
	cli
%endif
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
%endmacro

section .text
global svm_run_asm
svm_run_asm:
	RUN_BODY 0

global svm_run_asm_if
svm_run_asm_if:
	RUN_BODY 1

section .note.GNU-stack noalloc noexec nowrite progbits
