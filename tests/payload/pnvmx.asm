; pnvmx.asm - the payload as a small VMX hypervisor (checks_nested_vmx.c):
; the VM-entry wrapper L1 uses, and the code of its guest L2.
;
; nvmx_enter(resume, regs): VMLAUNCH (resume 0) or VMRESUME with HOST_RSP
; and HOST_RIP pointing here (SDM 28.5: a VM exit loads them), RFLAGS
; saved around it (a VM exit loads RFLAGS = 2). Returns 0 after a VM
; exit (L2's RBX, RCX, RDX, RSI, RDI in regs[0..4]: the GPRs other than
; RSP are the processor's, SDM 28.5), 1 on VMfailInvalid, 2 on
; VMfailValid (SDM 31.2).
bits 64
default rel

section .text
global nvmx_enter:function hidden
nvmx_enter:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	pushfq
	push rsi		; regs
	mov rax, 0x6c14		; HOST_RSP
	vmwrite rax, rsp
	mov rax, 0x6c16		; HOST_RIP
	lea rdx, [rel .exit]
	vmwrite rax, rdx
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

; ---- L2: 32-bit protected mode, paging off, copied to L2 GPA 0x1000 ----
; L2 GPAs (L1's EPT): 0x1000 code, 0x2000 stack, 0x3000 data (IDT at
; 0x3000, GDT at 0x3100, results from 0x3800), 0x4000 read-only, 0x5000
; unmapped (later mapped by L1), 0x6000 hypervisor memory. Every step
; ends in an exit L1 checks; L1 moves RIP on where the exit does not.
global l2v_code:data hidden
global l2v_code_end:data hidden
global l2v_handler:data hidden
global l2v_at_cpuid:data hidden
global l2v_at_out:data hidden
global l2v_at_rdmsr:data hidden
global l2v_at_wrmsr:data hidden
global l2v_at_ept_np:data hidden
global l2v_at_ept_ro:data hidden
global l2v_after_ept_ro:data hidden
global l2v_at_ud2:data hidden
global l2v_at_hvmem:data hidden
global l2v_after_hvmem:data hidden
global l2v_at_vmcall:data hidden
global l2v_at_inject:data hidden
global l2v_at_hlt:data hidden
global l2v_spin:data hidden
global l2v_loop:data hidden
bits 32
l2v_code:
	mov eax, 0x12345
	xor ecx, ecx
l2v_at_cpuid:
	cpuid				; always L1's in VMX non-root operation
	in al, 0x61			; not in L1's I/O bitmap: no exit to L1
l2v_at_out:
	out 0x80, al			; in L1's bitmap
	mov ecx, 0x176
	rdmsr				; not in L1's MSR bitmap
	mov ecx, 0x174
l2v_at_rdmsr:
	rdmsr				; read intercepted
	mov ecx, 0x175
	xor eax, eax
	xor edx, edx
l2v_at_wrmsr:
	wrmsr				; write intercepted
l2v_at_ept_np:
	mov eax, [0x5000]		; not mapped by L1's EPT
	mov [0x3808], eax
l2v_at_ept_ro:
	mov dword [0x4000], 1		; read-only in L1's EPT
l2v_after_ept_ro:
	mov eax, [0x4000]		; reading it is fine
	mov [0x3804], eax
l2v_at_ud2:
	ud2
l2v_at_hvmem:
	mov eax, [0x6000]		; hypervisor memory: #GP
l2v_after_hvmem:
l2v_at_vmcall:
	vmcall				; always L1's
l2v_at_inject:
	nop				; L1 injects INT 0x40 (length 2) here
	nop
l2v_at_hlt:
	hlt
	jmp l2v_at_hlt
l2v_spin:				; the bench: CPUID forever
	cpuid
	jmp l2v_spin
l2v_loop:				; no exit of its own
	pause
	jmp l2v_loop
l2v_handler:				; vector 0x40
	mov dword [0x3800], 0x40
	iretd
l2v_code_end:

; An L2 in 64-bit mode on L1's own paging, no EPT (checks_nested_vmx.c
; no_ept): run in place, in L1's address space.
global l2v64_code:function hidden
global l2v64_at_hlt:data hidden
global l2v64_at_dr:data hidden
global l2v64_at_invlpg:data hidden
global l2v64_at_rdpmc:data hidden
global l2v64_at_cr8:data hidden
global l2v64_at_end:data hidden
global l2v64_loop:data hidden
bits 64
l2v64_code:
	cpuid				; always L1's
l2v64_at_hlt:
	hlt
l2v64_at_dr:
	mov rax, dr7			; L1's MOV-DR exiting
l2v64_at_invlpg:
	invlpg [rsp]			; INVLPG exiting
	xor ecx, ecx
l2v64_at_rdpmc:
	rdpmc				; RDPMC exiting
	xor eax, eax
l2v64_at_cr8:
	mov cr8, rax			; CR8-load exiting
l2v64_at_end:
	hlt
	jmp l2v64_at_end
l2v64_loop:
	pause
	jmp l2v64_loop

section .note.GNU-stack noalloc noexec nowrite progbits
