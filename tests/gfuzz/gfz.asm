; gfz.asm - the guest fuzzer's probes (tests/gfuzz/gfuzz.c): a hypercall
; with every general-purpose and XMM register loaded from and stored back to
; a struct (the TLFS 3.9 register check), MSR and memory accesses, each
; catching the exception it may raise.
;
; The whole run executes with interrupts disabled under an IDT whose vectors
; 0-31 are the stubs below (gfuzz.c loads it once). A fault is recovered the
; way hcall.asm does it (stubs.inc LONGJMP_COMMON: vector, error code, RIP,
; CS into fz_fault, back to the probe's recovery label with its stack). An
; NMI (vector 2; the fuzzer sends itself some through the ICR MSR) is only
; counted and returns where it hit.
;
; struct fz_regs (gfuzz.h):
;   +0 .. +120   GPRs in encoding order: RAX RCX RDX RBX RSP RBP RSI RDI R8-R15
;                (RSP: the value after the call, written here)
;   +128 .. +383 XMM0-XMM15, 16 bytes each
;   +384         RSP before the call

default rel
bits 64

%include "tests/payload/stubs.inc"

extern ptrap_unexpected

global fz_stubs:function hidden
global fz_call_vmmcall:function hidden
global fz_call_vmcall:function hidden
global fz_rdmsr:function hidden
global fz_wrmsr:function hidden
global fz_read64:function hidden
global fz_write64:function hidden
global fz_read32:function hidden
global fz_write_cr0:function hidden
global fz_write_cr4:function hidden
global fz_write32:function hidden
global fz_fault:data hidden
global fz_nmis:data hidden
global fz_spurious:data hidden

section .data
align 8
fz_fault:   dq -1, 0, 0, 0  ; vector (-1 none), error code, RIP, CS
fz_nmis:    dq 0            ; NMIs taken
fz_spurious: dq 0           ; vector-15 interrupts taken
rec_rip:    dq 0
rec_rsp:    dq 0
regs_ptr:   dq 0
sel_ss:     dw 0
sel_ds:     dw 0
sel_es:     dw 0

section .text

%macro LEAVE 0
	mov rax, [fz_fault]
	POP_CALLEE
	ret
%endmacro

align 16
fz_stubs:
	EXC_STUBS fz_common

align 16
fz_common:
	cmp qword [rsp], 2
	jne .not_nmi
	add rsp, 16                     ; vector + dummy error code
	inc qword [fz_nmis]
	iretq
.not_nmi:
	; Vector 15 is reserved: never an exception (SDM 6.3.1), so an
	; interrupt: the APIC's spurious vector (OVMF sets 15), which the
	; fuzzer's random TPR writes next to its pending self-IPIs can
	; legally cause (SDM 10.9), or a self-IPI the fuzzer sent with it.
	; A spurious interrupt takes no EOI.
	cmp qword [rsp], 15
	jne .exc
	add rsp, 16
	inc qword [fz_spurious]
	iretq
.exc:
	LONGJMP_COMMON fz_fault

; int fz_call_X(struct fz_regs *r): every register from *r, the hypercall
; instruction, every register back. Returns -1 or the exception's vector.
%macro FZ_CALL 4
%1:
	LONGJMP_ENTER .rec, fz_fault
	mov [regs_ptr], rdi
	mov [rdi+384], rsp
%assign i 0
%rep 16
	movdqu xmm %+ i, [rdi+128+16*i]
%assign i i+1
%endrep
	mov rcx, [rdi+8]
	mov rdx, [rdi+16]
	mov rbx, [rdi+24]
	mov rbp, [rdi+40]
	mov rsi, [rdi+48]
	mov r8, [rdi+64]
	mov r9, [rdi+72]
	mov r10, [rdi+80]
	mov r11, [rdi+88]
	mov r12, [rdi+96]
	mov r13, [rdi+104]
	mov r14, [rdi+112]
	mov r15, [rdi+120]
	mov rax, [rdi+0]
	mov rdi, [rdi+56]
	db %2, %3, %4
	push rdi
	mov rdi, [regs_ptr]
	mov [rdi+0], rax
	pop rax
	mov [rdi+56], rax
	mov [rdi+8], rcx
	mov [rdi+16], rdx
	mov [rdi+24], rbx
	mov [rdi+32], rsp
	mov [rdi+40], rbp
	mov [rdi+48], rsi
	mov [rdi+64], r8
	mov [rdi+72], r9
	mov [rdi+80], r10
	mov [rdi+88], r11
	mov [rdi+96], r12
	mov [rdi+104], r13
	mov [rdi+112], r14
	mov [rdi+120], r15
%assign i 0
%rep 16
	movdqu [rdi+128+16*i], xmm %+ i
%assign i i+1
%endrep
	mov qword [rec_rip], 0
.rec:
	LEAVE
%endmacro

FZ_CALL fz_call_vmmcall, 0x0f, 0x01, 0xd9
FZ_CALL fz_call_vmcall, 0x0f, 0x01, 0xc1

; int fz_rdmsr(uint32_t msr, uint64_t *val)
fz_rdmsr:
	LONGJMP_ENTER .rec, fz_fault
	mov ecx, edi
	rdmsr
	shl rdx, 32
	or rax, rdx
	mov [rsi], rax
	mov qword [rec_rip], 0
.rec:
	LEAVE

; int fz_wrmsr(uint32_t msr, uint64_t val)
fz_wrmsr:
	LONGJMP_ENTER .rec, fz_fault
	mov ecx, edi
	mov eax, esi
	mov rdx, rsi
	shr rdx, 32
	wrmsr
	mov qword [rec_rip], 0
.rec:
	LEAVE

; int fz_read64(uint64_t addr, uint64_t *val)
fz_read64:
	LONGJMP_ENTER .rec, fz_fault
	mov rax, [rdi]
	mov [rsi], rax
	mov qword [rec_rip], 0
.rec:
	LEAVE

; int fz_read32(uint64_t addr, uint32_t *val): a 32-bit load (the xAPIC
; page takes only those, SDM 10.4.1; Bochs stops on a wider one)
fz_read32:
	LONGJMP_ENTER .rec, fz_fault
	mov eax, [rdi]
	mov [rsi], eax
	mov qword [rec_rip], 0
.rec:
	LEAVE

; int fz_write_cr0(uint64_t val), fz_write_cr4(uint64_t val)
fz_write_cr0:
	LONGJMP_ENTER .rec, fz_fault
	mov cr0, rdi
	mov qword [rec_rip], 0
.rec:
	LEAVE

fz_write_cr4:
	LONGJMP_ENTER .rec, fz_fault
	mov cr4, rdi
	mov qword [rec_rip], 0
.rec:
	LEAVE

; int fz_write64(uint64_t addr, uint64_t val)
fz_write64:
	LONGJMP_ENTER .rec, fz_fault
	mov [rdi], rsi
	mov qword [rec_rip], 0
.rec:
	LEAVE

; int fz_write32(uint64_t addr, uint32_t val)
fz_write32:
	LONGJMP_ENTER .rec, fz_fault
	mov [rdi], esi
	mov qword [rec_rip], 0
.rec:
	LEAVE

section .note.GNU-stack noalloc noexec nowrite progbits
