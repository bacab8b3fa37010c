; tramp.asm - the real-mode trampoline of apboot.efi (issue 4, test (b)):
; what an OS puts below 1 MiB so that an application processor started with
; INIT-SIPI-SIPI reaches its 64-bit C code (SDM vol. 3A 8.4.4 MP
; initialization, 9.9 switching to protected mode, 9.8.5 initializing
; IA-32e mode).
;
; ap_tramp .. ap_tramp_end is copied by apboot.c to a page B below 1 MiB;
; the SIPI vector is B >> 12, so the AP starts in real mode at CS = B >> 4,
; IP = 0 (SDM 8.4.4.1, 10.6.1 "Start-Up"). The data area at B + TD (struct
; tramp_data in apboot.h, filled by the BSP before each start) holds the
; GDT, the far pointers, CR3 (the BSP's: below 4 GiB), the CR4 and EFER bits,
; the IDT, the C entry point, the stack and the index for this AP. APs are
; started one at a time, so one data area serves them all.
;
;   real mode:    record EDX (CPUID.1.EAX after INIT, SDM 9.1.4) and CR0;
;                 GDT; CR0.PE (CD/NW cleared: caching on); far jump
;   32-bit:       flat segments; CR4.PAE; CR3; EFER.LME (+NXE); CR0.PG:
;                 IA-32e compatibility mode; far jump to the 64-bit segment
;   64-bit:       IDT (exception stubs below); own stack; call
;                 ap_main(index) (SysV); park (cli; hlt)
;
; D_STAGE records how far the AP got (1 real mode, 2 protected mode,
; 3 64-bit mode, 4 in C), for the BSP's diagnostics.

bits 16

global ap_tramp:data hidden
global ap_tramp_end:data hidden
global ap_tramp_stubs:data hidden
global ap_tramp_pm32:data hidden
global ap_tramp_64:data hidden

; struct tramp_data (apboot.h), at B + TD
TD          equ 0x800
D_GDT       equ TD + 0x00   ; 4 descriptors: null, code32, data, code64
D_GDTR      equ TD + 0x20   ; limit, base (32 bits)
D_IDTR      equ TD + 0x30   ; limit, base (64 bits)
D_PTR_PM32  equ TD + 0x40   ; m16:32 -> tramp_pm32
D_PTR_64    equ TD + 0x48   ; m16:32 -> tramp_64
D_CR3       equ TD + 0x50
D_CR4       equ TD + 0x58   ; bits to set (PAE, LA57 if the BSP has it)
D_EFER      equ TD + 0x60   ; bits to set (LME, NXE if the BSP has it)
D_ENTRY     equ TD + 0x68   ; ap_main
D_STACK     equ TD + 0x70   ; top of this AP's stack (16-byte aligned)
D_INDEX     equ TD + 0x78   ; argument of ap_main
D_INIT_EDX  equ TD + 0x80   ; EDX at the SIPI entry
D_INIT_CR0  equ TD + 0x84   ; CR0 at the SIPI entry
D_STAGE     equ TD + 0x88
D_EXC_COUNT equ TD + 0x8C
D_EXC_VEC   equ TD + 0x90
D_EXC_ERR   equ TD + 0x98
D_EXC_RIP   equ TD + 0xA0
D_EXC_CR2   equ TD + 0xA8
D_EXC_APIC  equ TD + 0xB0
D_IDT       equ TD + 0x100  ; 32 gates of 16 bytes

SEL_CODE32  equ 0x08
SEL_DATA    equ 0x10
SEL_CODE64  equ 0x18

MSR_EFER    equ 0xC0000080

section .text
align 16
ap_tramp:                               ; real mode, CS = B >> 4, IP = 0
	cli
	mov [cs:D_INIT_EDX], edx
	mov eax, cr0
	mov [cs:D_INIT_CR0], eax
	mov ax, cs
	mov ds, ax
	mov dword [D_STAGE], 1
	movzx ebx, ax
	shl ebx, 4                      ; EBX = B from here on
	o32 lgdt [D_GDTR]
	mov eax, cr0
	and eax, 0x9FFFFFFF             ; CD, NW off (the INIT state has them set)
	or eax, 0x00000031              ; PE, ET, NE
	mov cr0, eax
	jmp dword far [D_PTR_PM32]      ; SDM 9.9.1: far jump right after CR0.PE

bits 32
ap_tramp_pm32:                          ; 32-bit protected mode, paging off
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov fs, ax
	mov gs, ax
	mov dword [ebx+D_STAGE], 2
	mov eax, cr4
	or eax, [ebx+D_CR4]             ; PAE (SDM 9.8.5 step 2)
	mov cr4, eax
	mov eax, [ebx+D_CR3]            ; PML4 (or PML5), below 4 GiB
	mov cr3, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, [ebx+D_EFER]            ; LME (+NXE: the BSP's tables use XD)
	wrmsr
	mov eax, cr0
	or eax, 0x80000000              ; PG: IA-32e mode, compatibility submode
	mov cr0, eax
	jmp far [ebx+D_PTR_64]          ; 64-bit code segment (L = 1)

bits 64
ap_tramp_64:
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov fs, ax
	mov gs, ax
	mov ebx, ebx
	mov dword [rbx+D_STAGE], 3
	lidt [rbx+D_IDTR]
	mov rsp, [rbx+D_STACK]
	mov rdi, [rbx+D_INDEX]
	mov rax, [rbx+D_ENTRY]
	mov dword [rbx+D_STAGE], 4
	call rax                        ; ap_main(index): does not return
.park:
	cli
	hlt
	jmp .park

; 64-bit exception stubs, 16 bytes apart (the IDT that apboot.c builds
; points at them): push a 0 error code where the CPU pushes none, then
; the vector. The common part records the first exception in the data area
; and parks the AP: the BSP reports it.
align 16
ap_tramp_stubs:
%assign v 0
%rep 32
align 16
%if v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30
%else
	push 0
%endif
	push v
	jmp tramp_exc
%assign v v+1
%endrep

tramp_exc:                              ; [rsp] vector, error, RIP, CS, RFLAGS
	lea rbx, [rel ap_tramp]         ; B, position independent
	lock inc dword [rbx+D_EXC_COUNT]
	cmp dword [rbx+D_EXC_COUNT], 1
	jne .park
	mov rax, [rsp]
	mov [rbx+D_EXC_VEC], rax
	mov rax, [rsp+8]
	mov [rbx+D_EXC_ERR], rax
	mov rax, [rsp+16]
	mov [rbx+D_EXC_RIP], rax
	mov rax, cr2
	mov [rbx+D_EXC_CR2], rax
	mov eax, 1
	cpuid
	shr ebx, 24
	lea rax, [rel ap_tramp]
	mov [rax+D_EXC_APIC], rbx
.park:
	cli
	hlt
	jmp .park

ap_tramp_end:

section .note.GNU-stack noalloc noexec nowrite progbits
