; realmode.asm - a round trip to real mode for the guest test payload
; (checks_realmode.c): TLFS 3.5, a hypercall in real mode raises #UD.
;
; rm_blob (position independent, copied by C to a page B below 1 MiB) runs
; at B. The data area (struct rm_data in checks_realmode.c) is at B + RD, the
; stack below B + STACK. C fills the GDT there (flat 32-bit code/data,
; 16-bit code/data with base B, 64-bit code) and the three instruction
; bytes at rm_insn. rm_run(B), with interrupts disabled:
;
;   64-bit: save CR0/CR3/CR4/EFER, FS/GS base, GDTR/IDTR, selectors, RSP;
;           load our GDT; far return to the 32-bit code segment
;   compatibility mode (rm_pm32a): flat data segments, CR0.PG = 0 (legacy
;           protected mode, identity-mapped page), EFER.LME = 0, IDTR =
;           the real-mode IVT (base 0, limit 0x3FF); far jump to 16-bit code
;   16-bit protected (rm_pm16): 64 KiB data segments, CR0.PE = 0; far jump
;           to B>>4:rm_real
;   real mode (rm_real): save IVT vectors 0-31 (linear 0-0x7F), point them
;           at rm_stubs, load EAX EBX ECX EDX ESI EDI from the data area,
;           execute rm_insn (no exception: store EAX, EDX); an exception
;           lands in a stub which records vector, IP, CS, FLAGS; restore
;           the IVT; CR0.PE = 1; far jump to flat 32-bit code
;   32-bit (rm_pm32b): CR4, CR3, EFER (LME), CR0 (PG: IA-32e compatibility
;           mode again); far jump to 64-bit code
;   64-bit (.back64): firmware GDT, IDT, CS, data selectors, FS/GS base,
;           RSP; return.

default rel
bits 64

%include "tests/payload/stubs.inc"

global rm_run:function hidden
global rm_blob:data hidden
global rm_blob_end:data hidden
global rm_insn:data hidden

; struct rm_data (checks_realmode.c), at B + RD
RD          equ 0x800
D_GDT       equ RD + 0x00   ; 8 descriptors
D_GDTR      equ RD + 0x40   ; limit, base (ours)
D_RM_IDTR   equ RD + 0x50   ; limit 0x3FF, base 0
D_FW_GDTR   equ RD + 0x60
D_FW_IDTR   equ RD + 0x70
D_CR0       equ RD + 0x80
D_CR3       equ RD + 0x88
D_CR4       equ RD + 0x90
D_EFER      equ RD + 0x98
D_FS_BASE   equ RD + 0xA0
D_GS_BASE   equ RD + 0xA8
D_RSP       equ RD + 0xB0
D_SEL       equ RD + 0xB8   ; CS DS ES SS FS GS (words)
D_PTR_RM    equ RD + 0xC8   ; m16:16 rm_real
D_PTR_PM32  equ RD + 0xCC   ; m16:32 rm_pm32b
D_PTR_64    equ RD + 0xD8   ; m16:32 .back64
D_RES       equ RD + 0xE0   ; vector (0xFFFF none), IP, CS, FLAGS (words)
D_OUT       equ RD + 0xE8   ; EAX, EDX after the instruction (no exception)
D_IVT       equ RD + 0x100  ; saved IVT vectors 0-31
D_IN        equ RD + 0x180  ; EAX EBX ECX EDX ESI EDI for the instruction
STACK       equ 0xF00

SEL_CODE32  equ 0x08
SEL_DATA32  equ 0x10
SEL_CODE16  equ 0x18
SEL_DATA16  equ 0x20
SEL_CODE64  equ 0x28

MSR_EFER    equ 0xC0000080
MSR_FS_BASE equ 0xC0000100
MSR_GS_BASE equ 0xC0000101

section .text

; int rm_run(uint8_t *base)
rm_run:
	PUSH_CALLEE
	mov rbx, rdi
	mov [rbx+D_RSP], rsp
	mov rax, cr0
	mov [rbx+D_CR0], rax
	mov rax, cr3
	mov [rbx+D_CR3], rax
	mov rax, cr4
	mov [rbx+D_CR4], rax
	mov ecx, MSR_EFER
	rdmsr
	mov [rbx+D_EFER], eax
	mov [rbx+D_EFER+4], edx
	mov ecx, MSR_FS_BASE
	rdmsr
	mov [rbx+D_FS_BASE], eax
	mov [rbx+D_FS_BASE+4], edx
	mov ecx, MSR_GS_BASE
	rdmsr
	mov [rbx+D_GS_BASE], eax
	mov [rbx+D_GS_BASE+4], edx
	sgdt [rbx+D_FW_GDTR]
	sidt [rbx+D_FW_IDTR]
	mov [rbx+D_SEL], cs
	mov [rbx+D_SEL+2], ds
	mov [rbx+D_SEL+4], es
	mov [rbx+D_SEL+6], ss
	mov [rbx+D_SEL+8], fs
	mov [rbx+D_SEL+10], gs

	; far pointers (B-relative targets)
	mov word [rbx+D_PTR_RM], rm_real - rm_blob
	mov eax, ebx
	shr eax, 4
	mov [rbx+D_PTR_RM+2], ax
	lea eax, [rbx + rm_pm32b - rm_blob]
	mov [rbx+D_PTR_PM32], eax
	mov word [rbx+D_PTR_PM32+4], SEL_CODE32
	lea rax, [.back64]
	mov [rbx+D_PTR_64], eax
	mov word [rbx+D_PTR_64+4], SEL_CODE64
	mov word [rbx+D_RES], 0xFFFF

	lgdt [rbx+D_GDTR]
	push SEL_CODE32
	lea rax, [rbx + rm_pm32a - rm_blob]
	push rax
	o64 retf

.back64:
	mov ebx, ebx                    ; B (< 1 MiB): drop the upper half
	lgdt [rbx+D_FW_GDTR]
	lidt [rbx+D_FW_IDTR]
	mov rsp, [rbx+D_RSP]
	movzx eax, word [rbx+D_SEL]
	push rax
	lea rax, [.cs]
	push rax
	o64 retf                        ; the firmware's CS
.cs:
	mov ss, [rbx+D_SEL+6]
	mov ds, [rbx+D_SEL+2]
	mov es, [rbx+D_SEL+4]
	mov fs, [rbx+D_SEL+8]
	mov gs, [rbx+D_SEL+10]
	mov ecx, MSR_FS_BASE
	mov eax, [rbx+D_FS_BASE]
	mov edx, [rbx+D_FS_BASE+4]
	wrmsr
	mov ecx, MSR_GS_BASE
	mov eax, [rbx+D_GS_BASE]
	mov edx, [rbx+D_GS_BASE+4]
	wrmsr
	xor eax, eax
	POP_CALLEE
	ret

; ---- the blob: runs at B, copied there by C --------------------------------
align 16
rm_blob:

bits 32
rm_pm32a:                               ; compatibility mode, EBX = B
	mov ax, SEL_DATA32
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov fs, ax
	mov gs, ax
	lea esp, [ebx+STACK]
	mov eax, cr0
	and eax, 0x7FFFFFFF
	mov cr0, eax                    ; paging off: legacy protected mode
	mov ecx, MSR_EFER
	rdmsr
	and eax, ~0x100                 ; LME
	wrmsr
	lidt [ebx+D_RM_IDTR]
	jmp SEL_CODE16:(rm_pm16 - rm_blob)

bits 16
rm_pm16:                                ; 16-bit protected mode, CS base B
	mov ax, SEL_DATA16
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov fs, ax
	mov gs, ax
	mov esp, STACK
	mov eax, cr0
	and eax, 0xFFFFFFFE
	mov cr0, eax                    ; real mode
	jmp far [D_PTR_RM]

rm_real:                                ; real mode, CS = B >> 4
	mov ax, cs
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov esp, STACK
	xor ax, ax
	mov fs, ax
	mov gs, ax
	xor si, si
.save:
	mov eax, [fs:si]
	mov [D_IVT+si], eax
	add si, 4
	cmp si, 128
	jb .save
	xor si, si
	mov dx, rm_stubs - rm_blob
.install:
	mov [fs:si], dx
	mov [fs:si+2], cs
	add dx, 8
	add si, 4
	cmp si, 128
	jb .install
	mov eax, [D_IN]
	mov ebx, [D_IN+4]
	mov ecx, [D_IN+8]
	mov edx, [D_IN+12]
	mov esi, [D_IN+16]
	mov edi, [D_IN+20]
rm_insn:
	db 0x90, 0x90, 0x90             ; patched by C
	mov [D_OUT], eax
	mov [D_OUT+4], edx
rm_cont:
	mov ax, cs
	mov ds, ax
	mov ss, ax
	mov esp, STACK
	xor ax, ax
	mov fs, ax
	xor si, si
.restore:
	mov eax, [D_IVT+si]
	mov [fs:si], eax
	add si, 4
	cmp si, 128
	jb .restore
	mov bx, cs
	movzx ebx, bx
	shl ebx, 4                      ; B
	mov eax, cr0
	or eax, 1
	mov cr0, eax                    ; protected mode
	o32 jmp far [D_PTR_PM32]

; Real-mode exception stubs, 8 bytes apart (no error codes in real mode):
; the frame is IP, CS, FLAGS.
align 8
rm_stubs:
%assign i 0
%rep 32
	align 8
rm_stub%[i]:
	push word i
	jmp rm_stub_common
%assign i i+1
%endrep

rm_stub_common:
	pop word [cs:D_RES]
	pop word [cs:D_RES+2]
	pop word [cs:D_RES+4]
	pop word [cs:D_RES+6]
	jmp rm_cont

bits 32
rm_pm32b:                               ; flat 32-bit protected mode, EBX = B
	mov ax, SEL_DATA32
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov fs, ax
	mov gs, ax
	lea esp, [ebx+STACK]
	mov eax, [ebx+D_CR4]
	mov cr4, eax
	mov eax, [ebx+D_CR3]
	mov cr3, eax
	mov ecx, MSR_EFER
	mov eax, [ebx+D_EFER]
	mov edx, [ebx+D_EFER+4]
	wrmsr                           ; LME
	mov eax, [ebx+D_CR0]
	mov cr0, eax                    ; paging on: IA-32e compatibility mode
	jmp far [ebx+D_PTR_64]

rm_blob_end:

section .note.GNU-stack noalloc noexec nowrite progbits
