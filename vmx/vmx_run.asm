; vmx_run.asm - enter the guest and come back (SDM vol. 3 26 (VM entry),
; 28 (VM exit), 31 (VMLAUNCH/VMRESUME)).
;
; int vmx_run_asm(u64 *gpr, u64 launched): saves the host's callee-saved
; registers, points HOST_RSP at this frame, loads the guest GPRs from gpr[]
; (RSP lives in the VMCS) and executes VMLAUNCH (launched == 0) or VMRESUME.
; A VM exit lands at vmx_exit_entry (HOST_RIP) with RSP = HOST_RSP, which
; stores the guest GPRs and returns 0. If the instruction itself fails, it
; falls through with the guest GPRs loaded: the host registers come back
; from the stack and the result is 1 (VMfailInvalid, CF) or 2 (VMfailValid,
; ZF: the VM-instruction error field says why). A VM exit clears RFLAGS
; (SDM 28.5.3), so the host runs with IF=0 as before.
bits 64
default rel

%include "gpr.inc"

VMCS_HOST_RSP equ 0x6c14

section .text
global vmx_run_asm
global vmx_exit_entry
vmx_run_asm:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	push rdi		; [rsp]: gpr, found again at the exit
	mov eax, VMCS_HOST_RSP
	vmwrite rax, rsp
	jbe .fail		; CF or ZF: VMCS not usable
	test rsi, rsi		; flags survive the MOVs below
	mov rax, [rdi + GPR_RAX*8]
	GUEST_GPRS_LOAD
	jnz .resume
	vmlaunch
	jmp .fail
.resume:
	vmresume
.fail:
	mov eax, 2		; MOV keeps the flags of the failed instruction
	jz .out			; ZF: VMfailValid
	mov eax, 1		; CF: VMfailInvalid
.out:
	add rsp, 8
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret

; HOST_RIP: RSP = HOST_RSP, i.e. [rsp] = gpr.
vmx_exit_entry:
	GUEST_GPRS_STORE
	mov [rdi + GPR_RAX*8], rax
	xor eax, eax
	add rsp, 8
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
