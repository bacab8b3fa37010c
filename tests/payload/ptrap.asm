; ptrap.asm - exception-catching probes of the guest test payload.
;
; Each ptrap_* probe arms a one-shot "recovery RIP", executes one instruction
; that may fault, and returns -1 (no exception) or the vector that happened.
; The C side (payload.c) loads an IDT whose vectors 0-31 point at the stubs
; below, with interrupts disabled, around every probe.
;
; Interrupt frame on entry to a stub (64-bit mode, CPL0 -> CPL0, IST 0):
;   [rsp+0] error code (only vectors 8, 10-14, 17, 21, 29, 30), then
;   RIP, CS, RFLAGS, RSP, SS.
; Each stub pushes a dummy error code where the CPU pushes none, then the
; vector, so the common handler sees:
;   [rsp+0] vector  [rsp+8] error code  [rsp+16] RIP  [rsp+24] CS
;   [rsp+32] RFLAGS [rsp+40] RSP        [rsp+48] SS
; An armed exception rewrites RIP to the recovery address, records vector and
; error code, disarms, drops vector + error code and IRETQs. An exception with
; nothing armed calls ptrap_unexpected (C, never returns): the payload reports
; it on COM1 and powers off instead of hanging.

default rel
bits 64

%include "tests/payload/stubs.inc"

extern ptrap_unexpected

global ptrap_stubs:function hidden
global ptrap_rdmsr:function hidden
global ptrap_wrmsr:function hidden
global ptrap_read64:function hidden
global ptrap_write64:function hidden
global ptrap_insb:function hidden
global ptrap_write32:function hidden
global ptrap_call:function hidden
global ptrap_ud2:function hidden
global ptrap_errcode:function hidden
global ptrap_vmrun:function hidden
global ptrap_vmmcall:function hidden
global ptrap_vmload:function hidden
global ptrap_vmsave:function hidden
global ptrap_stgi:function hidden
global ptrap_clgi:function hidden
global ptrap_skinit:function hidden
global ptrap_invlpga:function hidden
global ptrap_vmcall:function hidden
global ptrap_vmxon:function hidden
global ptrap_vmxoff:function hidden
global ptrap_vmclear:function hidden
global ptrap_vmptrld:function hidden
global ptrap_vmptrst:function hidden
global ptrap_vmread:function hidden
global ptrap_vmwrite:function hidden
global ptrap_vmlaunch:function hidden
global ptrap_vmresume:function hidden
global ptrap_invept:function hidden
global ptrap_invvpid:function hidden
global ptrap_write_cr4:function hidden

section .data
align 8
rec_rip: dq 0           ; recovery RIP, 0 = nothing armed
rec_err: dq 0           ; error code of the caught exception
rec_vec: dd -1          ; caught vector, -1 = none

section .text

; ---- the 32 exception stubs, 16 bytes apart -------------------------------
align 16
ptrap_stubs:
	EXC_STUBS ptrap_common

align 16
ptrap_common:
	RECOVER_COMMON

; ---- probes (SysV: rdi, rsi; return eax) -----------------------------------

; int ptrap_rdmsr(uint32_t msr, uint64_t *val)
ptrap_rdmsr:
	ARM .rec
	mov ecx, edi
	rdmsr
	shl rdx, 32
	or rax, rdx
	mov [rsi], rax
	RECOVER .rec

; int ptrap_wrmsr(uint32_t msr, uint64_t val)
ptrap_wrmsr:
	ARM .rec
	mov ecx, edi
	mov eax, esi
	mov rdx, rsi
	shr rdx, 32
	wrmsr
	RECOVER .rec

; int ptrap_read64(uint64_t addr, uint64_t *val)
ptrap_read64:
	ARM .rec
	mov rax, [rdi]
	mov [rsi], rax
	RECOVER .rec

; int ptrap_write64(uint64_t addr, uint64_t val)
ptrap_write64:
	ARM .rec
	mov [rdi], rsi
	RECOVER .rec

; int ptrap_insb(uint16_t port, void *buf, uint64_t count) - REP INSB
ptrap_insb:
	ARM .rec
	mov rcx, rdx
	mov edx, edi
	mov rdi, rsi
	rep insb
	RECOVER .rec

; int ptrap_write32(uint64_t addr, uint32_t val)
ptrap_write32:
	ARM .rec
	mov [rdi], esi
	RECOVER .rec

; int ptrap_call(void (*fn)(uint64_t, uint64_t), uint64_t a, uint64_t b):
; call fn(a, b); a fault inside it (at another stack depth) comes back
; through RBX, which fn must preserve.
ptrap_call:
	push rbx
	mov rbx, rsp
	ARM .rec
	mov rax, rdi
	mov rdi, rsi
	mov rsi, rdx
	call rax
.rec:
	mov rsp, rbx
	pop rbx
	mov qword [rec_rip], 0
	mov eax, [rec_vec]
	ret

; int ptrap_ud2(void) - self test of the #UD path (no error code)
ptrap_ud2:
	ARM .rec
	ud2
	RECOVER .rec

; uint64_t ptrap_errcode(void)
ptrap_errcode:
	mov rax, [rec_err]
	ret

; Virtualization instructions: int ptrap_X(void *page), executed with
; RAX = page and ECX = 0. Encoded with db so no assembler support is needed.
%macro VIRT_PROBE 4
%1:
	ARM .rec
	xor ecx, ecx
	mov rax, rdi
	db %2, %3, %4
	RECOVER .rec
%endmacro

VIRT_PROBE ptrap_vmrun,   0x0f, 0x01, 0xd8
VIRT_PROBE ptrap_vmmcall, 0x0f, 0x01, 0xd9
VIRT_PROBE ptrap_vmload,  0x0f, 0x01, 0xda
VIRT_PROBE ptrap_vmsave,  0x0f, 0x01, 0xdb
VIRT_PROBE ptrap_stgi,    0x0f, 0x01, 0xdc
VIRT_PROBE ptrap_clgi,    0x0f, 0x01, 0xdd
VIRT_PROBE ptrap_skinit,  0x0f, 0x01, 0xde
VIRT_PROBE ptrap_invlpga, 0x0f, 0x01, 0xdf
VIRT_PROBE ptrap_vmcall,  0x0f, 0x01, 0xc1

; Intel VMX instructions (SDM vol. 3 31.3), RAX = page, ECX = 0: memory
; operands at [rax], register operands RAX (field) and RCX.
%macro VMX_PROBE 2+
%1:
	ARM .rec
	xor ecx, ecx
	mov rax, rdi
	%2
	RECOVER .rec
%endmacro

VMX_PROBE ptrap_vmxon,    vmxon [rax]
VMX_PROBE ptrap_vmxoff,   vmxoff
VMX_PROBE ptrap_vmclear,  vmclear [rax]
VMX_PROBE ptrap_vmptrld,  vmptrld [rax]
VMX_PROBE ptrap_vmptrst,  vmptrst [rax]
VMX_PROBE ptrap_vmread,   vmread rcx, rax
VMX_PROBE ptrap_vmwrite,  vmwrite rax, rcx
VMX_PROBE ptrap_vmlaunch, vmlaunch
VMX_PROBE ptrap_vmresume, vmresume
VMX_PROBE ptrap_invept,   invept rcx, [rax]
VMX_PROBE ptrap_invvpid,  invvpid rcx, [rax]

; int ptrap_write_cr4(uint64_t val)
ptrap_write_cr4:
	ARM .rec
	mov cr4, rdi
	RECOVER .rec

section .note.GNU-stack noalloc noexec nowrite progbits
