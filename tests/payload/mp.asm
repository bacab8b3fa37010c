; mp.asm - the EFI_AP_PROCEDURE for the per-processor checks: MP services
; calls it on each AP with the Microsoft x64 convention (argument in RCX;
; RDI and RSI callee-saved); the C side is SysV.
bits 64
default rel
%include "tests/payload/stubs.inc"
extern mp_ap_check
section .text
global mp_ap_thunk
mp_ap_thunk:
	MS_ABI_THUNK mp_ap_check
section .note.GNU-stack noalloc noexec nowrite progbits
