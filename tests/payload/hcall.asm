; hcall.asm - hypercall and ring-3 probes of the guest test payload
; (checks_hypercall.c).
;
; Unlike ptrap.asm, a fault here may happen at a different stack depth (inside
; the hypercall page, after its CALL pushed a return address) or at CPL 3, so
; recovery is a longjmp: the exception stubs below record vector, error code,
; RIP and CS in hc_fault, reload RSP and the data segments saved on entry and
; jump to the armed recovery label. C loads them as vectors 0-31 with
; trap_window_enter(hc_stubs) (payload.c); interrupts stay disabled.
;
; struct hc_regs (checks_hypercall.c):
;   +0 RCX  +8 RDX  +16 R8  +24 RAX  +32 XMM0 ... +112 XMM5 (16 bytes each)

default rel
bits 64

%include "tests/payload/stubs.inc"

extern ptrap_unexpected

global hc_stubs:function hidden
global hc_call:function hidden
global hc_user:function hidden
global hc_fault:data hidden

section .data
align 8
hc_fault:   dq -1, 0, 0, 0  ; vector (-1 none), error code, RIP, CS
rec_rip:    dq 0            ; recovery label, 0 = nothing armed
rec_rsp:    dq 0            ; RSP at the recovery label
regs_ptr:   dq 0
fs_base:    dq 0
gs_base:    dq 0
sel_ss:     dw 0
sel_ds:     dw 0
sel_es:     dw 0
sel_fs:     dw 0
sel_gs:     dw 0

section .text

%macro LEAVE 0
	POP_CALLEE
	ret
%endmacro

; ---- the 32 exception stubs, 16 bytes apart -------------------------------
align 16
hc_stubs:
	EXC_STUBS hc_common

align 16
hc_common:
	LONGJMP_COMMON hc_fault

; int hc_call(struct hc_regs *r, void *page)
; Load RCX, RDX, R8, XMM0-XMM5 from *r, CALL the hypercall page, store RAX,
; RCX, RDX, R8, XMM0-XMM5 back. Returns -1, or the vector of an exception
; (then *r is not updated).
hc_call:
	LONGJMP_ENTER .rec, hc_fault
	mov [regs_ptr], rdi
	movdqu xmm0, [rdi+32]
	movdqu xmm1, [rdi+48]
	movdqu xmm2, [rdi+64]
	movdqu xmm3, [rdi+80]
	movdqu xmm4, [rdi+96]
	movdqu xmm5, [rdi+112]
	mov rcx, [rdi]
	mov rdx, [rdi+8]
	mov r8, [rdi+16]
	call rsi
	mov rdi, [regs_ptr]
	mov [rdi], rcx
	mov [rdi+8], rdx
	mov [rdi+16], r8
	mov [rdi+24], rax
	movdqu [rdi+32], xmm0
	movdqu [rdi+48], xmm1
	movdqu [rdi+64], xmm2
	movdqu [rdi+80], xmm3
	movdqu [rdi+96], xmm4
	movdqu [rdi+112], xmm5
	mov qword [rec_rip], 0
.rec:
	mov rax, [hc_fault]
	LEAVE

; int hc_user(uint64_t rip, uint64_t rsp, uint64_t cs, uint64_t ss,
;             const struct hc_regs *r)
; IRETQ to CPL 3 at rip/rsp (RFLAGS 2: interrupts off) with RCX, RDX, R8
; from *r. Only an exception comes back (TSS.RSP0 stack, C sets it up):
; returns its vector, hc_fault has the details. FS/GS (selectors and bases)
; are restored as well.
hc_user:
	LONGJMP_ENTER .rec, hc_fault
	mov r10, rdx
	mov r11, rcx
	mov [sel_fs], fs
	mov [sel_gs], gs
	mov ecx, 0xC0000100             ; FS_BASE
	rdmsr
	mov [fs_base], eax
	mov [fs_base+4], edx
	mov ecx, 0xC0000101             ; GS_BASE
	rdmsr
	mov [gs_base], eax
	mov [gs_base+4], edx
	push r11                        ; SS
	push rsi                        ; RSP
	push 2                          ; RFLAGS
	push r10                        ; CS
	push rdi                        ; RIP
	mov rcx, [r8]
	mov rdx, [r8+8]
	mov r8, [r8+16]
	iretq
.rec:
	mov fs, [sel_fs]
	mov gs, [sel_gs]
	mov ecx, 0xC0000100
	mov eax, [fs_base]
	mov edx, [fs_base+4]
	wrmsr
	mov ecx, 0xC0000101
	mov eax, [gs_base]
	mov edx, [gs_base+4]
	wrmsr
	mov rax, [hc_fault]
	LEAVE

section .note.GNU-stack noalloc noexec nowrite progbits
