; pcr.asm - control-register probes for checks_cr.c: MOV to CR0, LMSW and
; CLTS, each catching the exception it may raise. Same scheme as ptrap.asm
; (stubs.inc: ARM, RECOVER, RECOVER_COMMON; its own stubs and one-shot
; recovery point, so a window can stay open): checks_cr.c loads pcr_stubs
; with trap_window_enter around a whole sequence of probes, so nothing
; else runs while CR0 holds a value the firmware does not expect.
default rel
bits 64

%include "tests/payload/stubs.inc"

extern ptrap_unexpected

global pcr_stubs:function hidden
global pcr_write_cr0:function hidden
global pcr_lmsw:function hidden
global pcr_clts:function hidden
global pcr_errcode:function hidden

section .data
align 8
rec_rip: dq 0           ; recovery RIP, 0 = nothing armed
rec_err: dq 0           ; error code of the caught exception
rec_vec: dd -1          ; caught vector, -1 = none

section .text

align 16
pcr_stubs:
	EXC_STUBS pcr_common

align 16
pcr_common:
	RECOVER_COMMON

; int pcr_write_cr0(uint64_t val)
pcr_write_cr0:
	ARM .rec
	mov cr0, rdi
	RECOVER .rec

; int pcr_lmsw(uint16_t msw)
pcr_lmsw:
	ARM .rec
	lmsw di
	RECOVER .rec

; int pcr_clts(void)
pcr_clts:
	ARM .rec
	clts
	RECOVER .rec

; uint64_t pcr_errcode(void)
pcr_errcode:
	mov rax, [rec_err]
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
