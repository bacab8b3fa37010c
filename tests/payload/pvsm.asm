; pvsm.asm - the payload's VTL 1 "secure kernel" and the VTL 0 side of the
; register-by-register checks (checks_vsm.c, TLFS 15.6-15.11).
;
; VTL 1 enters at vsm_v1_entry (HvEnableVpVtl's initial context) on a stack
; of its own, interrupts off. Each entry (the first one, then each time a
; VTL call resumes it after its VTL return) records the GPRs it sees and
; counts itself by VP index, then does what vsm_v1_mode says:
;   0: calls vsm_v1_service (C, checks_vsm.c) with every GPR kept, then
;      a VTL return with the control it returns (0: RAX/RCX from the
;      control area; 1: fast)
;   1: loads patterns into every GPR but RSP (0xB0B0...00 + n), CR2, DR0,
;      DR6 and XMM0, then a VTL return with RCX = vsm_v1_ret_ctl
; The return goes through VTL 1's hypercall page (vsm_v1_ret_addr).

bits 64
default rel

global vsm_v1_entry:function hidden
global vsm_gpr_call:function hidden
global vsm_v1_seen:data hidden
global vsm_v1_mode:data hidden
global vsm_v1_ret_ctl:data hidden
global vsm_v1_ret_addr:data hidden
global vsm_v1_count:data hidden
global vsm_v0_after:data hidden
global vsm_v1_isr:function hidden
global vsm_v1_irqs:data hidden
global vsm_v0_isr:function hidden
global vsm_v0_irqs:data hidden
extern vsm_v1_service

%define PAT(n) (0xB0B0B0B000000000 + n)

section .data
align 8
vsm_v1_seen:     times 16 dq 0  ; GPRs at the last VTL 1 entry
vsm_v1_mode:     dq 0
vsm_v1_ret_ctl:  dq 0
vsm_v1_ret_addr: dq 0           ; VTL 1's hypercall page + return offset
vsm_v1_count:    times 64 dd 0  ; VTL 1 entries by VP index
vsm_v0_after:    times 20 dq 0  ; vsm_gpr_call: GPRs 0-15, CR2, DR0, DR6, XMM0 low
out_ptr:         dq 0
vsm_v1_irqs:     dq 0           ; interrupts VTL 1's handler took
vsm_v0_irqs:     dq 0           ; VTL 0's handler of VTL 1's SINT vector (must stay 0)

section .text

%macro SAVE_GPRS 1
	mov [%1 + 0*8], rax
	mov [%1 + 1*8], rcx
	mov [%1 + 2*8], rdx
	mov [%1 + 3*8], rbx
	mov [%1 + 4*8], rsp
	mov [%1 + 5*8], rbp
	mov [%1 + 6*8], rsi
	mov [%1 + 7*8], rdi
	mov [%1 + 8*8], r8
	mov [%1 + 9*8], r9
	mov [%1 + 10*8], r10
	mov [%1 + 11*8], r11
	mov [%1 + 12*8], r12
	mov [%1 + 13*8], r13
	mov [%1 + 14*8], r14
	mov [%1 + 15*8], r15
%endmacro

vsm_v1_entry:
.top:
	SAVE_GPRS vsm_v1_seen
	cmp qword [vsm_v1_mode], 1
	je .patterns
	; Mode 0: every GPR but RSP kept for the lower VTL (an interrupt entry
	; stops VTL 0 anywhere); the service gets them (its argument: r15 at
	; [0] ... rax at [14]) and returns the return control, which goes to
	; the saved RCX slot.
	push rax
	push rcx
	push rdx
	push rbx
	push rbp
	push rsi
	push rdi
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	mov rdi, rsp
	mov rbp, rsp
	and rsp, -16
	call vsm_v1_service
	mov rsp, rbp
	mov [rsp + 13*8], rax
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rdi
	pop rsi
	pop rbp
	pop rbx
	pop rdx
	pop rcx
	pop rax
	jmp .ret
.patterns:
	mov rax, PAT(15)
	mov cr2, rax
	mov rax, PAT(16)
	mov dr0, rax
	mov eax, 0xffff4ff1             ; DR6: B0 and BS set, reserved bits as read
	mov dr6, rax
	mov rax, PAT(17)
	movq xmm0, rax
	mov rbx, PAT(3)
	mov rdx, PAT(2)
	mov rbp, PAT(5)
	mov rsi, PAT(6)
	mov rdi, PAT(7)
	mov r8, PAT(8)
	mov r9, PAT(9)
	mov r10, PAT(10)
	mov r11, PAT(11)
	mov r12, PAT(12)
	mov r13, PAT(13)
	mov r14, PAT(14)
	mov r15, PAT(15)
	mov rcx, [vsm_v1_ret_ctl]
	lock inc dword [vsm_v1_count]   ; mode 1 runs on VP 0 only
.ret:
	call [vsm_v1_ret_addr]
	jmp .top

; VTL 1's handler of the test vector: injected by the hypervisor (no EOI).
vsm_v1_isr:
	lock inc qword [vsm_v1_irqs]
	iretq

; VTL 0's handler of the vector VTL 1's SynIC uses (checks_vsm_sint.c): it
; must never run; if it does, it counts and ends the interrupt (EOI MSR,
; TLFS 10.2.3.1) so that the checks after it still get interrupts.
vsm_v0_isr:
	push rax
	push rcx
	push rdx
	lock inc qword [vsm_v0_irqs]
	mov ecx, 0x40000070
	xor eax, eax
	xor edx, edx
	wrmsr
	pop rdx
	pop rcx
	pop rax
	iretq

; void vsm_gpr_call(void *call_seq): every GPR but RSP and RCX (the control
; input, 0) set to 0xA0A0...00 + n, the VTL call, then every GPR, CR2, DR0,
; DR6 and XMM0's low quadword into vsm_v0_after.
vsm_gpr_call:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	mov [out_ptr], rdi
	mov rax, 0xA0A0A0A000000000
	mov rdx, rax
	or rdx, 2
	mov rbx, rax
	or rbx, 3
	mov rbp, rax
	or rbp, 5
	mov rsi, rax
	or rsi, 6
	mov r8, rax
	or r8, 8
	mov r9, rax
	or r9, 9
	mov r10, rax
	or r10, 10
	mov r11, rax
	or r11, 11
	mov r12, rax
	or r12, 12
	mov r13, rax
	or r13, 13
	mov r14, rax
	or r14, 14
	mov r15, rax
	or r15, 15
	mov rdi, rax
	or rdi, 7
	xor ecx, ecx
	call [out_ptr]
	SAVE_GPRS vsm_v0_after
	mov rax, cr2
	mov [vsm_v0_after + 16*8], rax
	mov rax, dr0
	mov [vsm_v0_after + 17*8], rax
	mov rax, dr6
	mov [vsm_v0_after + 18*8], rax
	movq rax, xmm0
	mov [vsm_v0_after + 19*8], rax
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret
section .note.GNU-stack noalloc noexec nowrite progbits
