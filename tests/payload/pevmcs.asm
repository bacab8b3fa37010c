; pevmcs.asm - L1's VM-entry wrapper with the enlightened VMCS
; (checks_nested_evmcs.c; TLFS 6.0 16.5). As pnvmx.asm's nvmx_enter, but
; HOST_RSP and HOST_RIP go into the eVMCS by plain stores (no VMWRITE),
; and their clean-field groups (HOST_POINTER, bit 13; HOST_GRP1, bit 14)
; are cleared only when the value changed, as Linux's KVM does on Hyper-V.
;
; evmcs_run(resume, regs, evmcs): VMLAUNCH (resume 0) or VMRESUME with the
; eVMCS at `evmcs` (its GPA is L1's VP assist page's CurrentNestedVmcs).
; Returns 0 after a VM exit (L2's RBX, RCX, RDX, RSI, RDI in regs[0..4]),
; 1 on VMfailInvalid, 2 on VMfailValid.
bits 64
default rel

EV_HOST_RIP equ 0x50
EV_HOST_RSP equ 0x268
EV_CLEAN equ 0x338

section .text
global evmcs_run:function hidden
evmcs_run:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	pushfq
	push rsi		; regs
	cmp [rdx + EV_HOST_RSP], rsp
	je .rsp_same
	mov [rdx + EV_HOST_RSP], rsp
	and dword [rdx + EV_CLEAN], ~(1 << 13)
.rsp_same:
	lea rax, [rel .exit]
	cmp [rdx + EV_HOST_RIP], rax
	je .rip_same
	mov [rdx + EV_HOST_RIP], rax
	and dword [rdx + EV_CLEAN], ~(1 << 14)
.rip_same:
	test edi, edi
	jnz .resume
	vmlaunch
	jmp .failed
.resume:
	vmresume
.failed:
	mov eax, 1
	jc .out
	mov eax, 2
	jz .out
	mov eax, 3		; neither: cannot happen
.out:
	pop rsi
	popfq
	jmp .ret
.exit:
	xchg rsi, [rsp]		; regs; L2's RSI saved on the stack
	mov [rsi], rbx
	mov [rsi + 8], rcx
	mov [rsi + 16], rdx
	pop rax			; L2's RSI
	mov [rsi + 24], rax
	mov [rsi + 32], rdi
	popfq
	xor eax, eax
.ret:
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
