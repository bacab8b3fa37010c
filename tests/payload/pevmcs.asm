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

; ---- L2 for direct virtual flush (checks_nested_evmcs.c): 32-bit, copied
; to L2 GPA 0x1800. A slow hypercall with the input value L1 left at 0x3820,
; its input block at L2 GPA 0x3a00 (TLFS 3.7: 32-bit callers pass EDX:EAX,
; EBX:ECX, EDI:ESI); the result's low half to 0x3810, then HLT.
global ev_l2_df:data hidden
global ev_l2_df_call:data hidden
global ev_l2_df_hlt:data hidden
global ev_l2_df_end:data hidden
bits 32
ev_l2_df:
	xor edx, edx
	mov eax, [0x3820]
	xor ebx, ebx
	mov ecx, 0x3a00
	xor edi, edi
	xor esi, esi
ev_l2_df_call:
	vmcall
	mov [0x3810], eax
ev_l2_df_hlt:
	hlt
	jmp ev_l2_df_hlt
ev_l2_df_end:

section .note.GNU-stack noalloc noexec nowrite progbits
