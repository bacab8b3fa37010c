; pnested.asm - the payload as a small hypervisor (checks_nested_svm.c):
; the VMRUN wrapper L1 uses, and the code of its guest L2.
;
; nested_vmrun(vmcb_pa, regs): as KVM enters its guest: interrupts off,
; GIF clear (CLGI), then STI; VMRUN (RFLAGS.IF is set at VMRUN: with
; V_INTR_MASKING it gates physical interrupts in L2, APM 15.21.1) and CLI
; after the #VMEXIT; then STGI, RFLAGS as before, and L2's RBX, RCX, RDX,
; RSI, RDI in regs[0..4]. The GPRs other than RAX/RSP are the
; processor's: L2 leaves its values in them (APM 15.5.1, 15.6).
bits 64
default rel

section .text
global nested_vmrun:function hidden
nested_vmrun:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	push rsi		; regs
	pushfq
	cli
	mov rax, rdi
	clgi
	sti
	vmrun
	cli
	stgi
	popfq
	xchg rsi, [rsp]		; regs; L2's RSI saved on the stack
	mov [rsi], rbx
	mov [rsi + 8], rcx
	mov [rsi + 16], rdx
	pop rax			; L2's RSI
	mov [rsi + 24], rax
	mov [rsi + 32], rdi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

; gif_isr: the interrupt of the GIF check (checks_nested_svm.c): counts,
; then EOI (x2APIC MSR 0x80B, or the xAPIC EOI register at gif_eoi).
section .data
global gif_count:data hidden
global gif_x2:data hidden
global gif_eoi:data hidden
gif_count: dq 0
gif_x2: dq 0
gif_eoi: dq 0

section .text
; The local APIC's spurious interrupt (OVMF programs vector 0x0F): no EOI
; (SDM 10.9). hv.efi raises the TPR while L1's GIF is 0 (docs/nested.md);
; on Bochs an interrupt already on its way then arrives as spurious.
global spurious_isr:function hidden
spurious_isr:
	iretq

global gif_isr:function hidden
gif_isr:
	push rax
	push rcx
	push rdx
	inc qword [rel gif_count]
	cmp qword [rel gif_x2], 0
	je .xapic
	mov ecx, 0x80b
	xor eax, eax
	xor edx, edx
	wrmsr
	jmp .done
.xapic:
	mov rax, [rel gif_eoi]
	mov dword [rax], 0
.done:
	pop rdx
	pop rcx
	pop rax
	iretq

; ---- L2: 32-bit protected mode, paging off, copied to L2 GPA 0x1000 ----
; L2 GPAs: 0x1000 code, 0x2000 stack, 0x3000 data (IDT at 0x3000, GDT at
; 0x3100, results from 0x3800), 0x4000 read-only, 0x5000 unmapped (later
; mapped by L1), 0x6000 hypervisor memory. Every step ends in an exit L1
; checks; L1 moves RIP on by the instruction's length where the exit does
; not (labels l2_at_*, offsets from l2_code).
global l2_code:data hidden
global l2_code_end:data hidden
global l2_handler:data hidden
global l2_at_cpuid:data hidden
global l2_at_out:data hidden
global l2_at_rdmsr:data hidden
global l2_at_wrmsr:data hidden
global l2_at_npf_np:data hidden
global l2_at_npf_ro:data hidden
global l2_at_ud2:data hidden
global l2_at_hvmem:data hidden
global l2_at_vmmcall:data hidden
global l2_at_hlt:data hidden
global l2_at_end:data hidden
global l2_spin:data hidden
global l2_spin_end:data hidden
global l2_dflush:data hidden
global l2_at_dflush:data hidden
global l2_after_dflush:data hidden
global l2_at_dflush_hlt:data hidden
bits 32
l2_code:
	mov eax, 0x12345
	xor ecx, ecx
l2_at_cpuid:
	cpuid				; L1 intercepts CPUID
	mov eax, 0x40000000		; L1 no longer does: hv.efi answers
	cpuid
	mov [0x380c], ebx
	in al, 0x61			; not in L1's I/O map: no exit to L1
l2_at_out:
	out 0x80, al			; in L1's map
	mov ecx, 0x176
	rdmsr				; not in L1's MSR map
	mov ecx, 0x174
l2_at_rdmsr:
	rdmsr				; read intercepted
	mov ecx, 0x175
	xor eax, eax
	xor edx, edx
l2_at_wrmsr:
	wrmsr				; write intercepted
l2_at_npf_np:
	mov eax, [0x5000]		; not mapped by L1 (5 bytes)
	mov [0x3808], eax
l2_at_npf_ro:
	mov dword [0x4000], 1		; read-only for L2 (10 bytes)
	mov eax, [0x4000]		; reading it is fine
	mov [0x3804], eax
l2_at_ud2:
	ud2
l2_at_hvmem:
	mov eax, [0x6000]		; hypervisor memory: #GP (5 bytes)
l2_at_vmmcall:
	vmmcall
l2_at_hlt:
	hlt				; L1 injects vector 0x40 before this
l2_at_end:
	hlt
	jmp l2_at_end
l2_spin:				; a while, then HLT (exit)
	mov ecx, 1000000
.loop:
	dec ecx
	jnz .loop
l2_spin_end:
	hlt
; Direct virtual flush (checks_nested_enl.c): L2 with paging on (L1
; sets CR0.PG, CR4.PSE, CR3 0x7000: a 4 MiB identity page, and GVA
; 0x400000 through the page table at 0x8000, accessed and dirty bits
; preset). Every page is touched first so that the shadow has them all;
; then L2 reads GVA 0x400000 (GPA 0x4000), points it at GPA 0x5000
; without INVLPG, reads it again (a TLB may still give 0x4000's), calls
; the hypercall L1 put in 0x3900 (input EDX:EAX, input GPA EBX:ECX,
; output GPA EDI:ESI, TLFS 3.7) and reads it once more.
l2_dflush:
	mov eax, [0x8000]
	mov [0x8000], eax
	mov eax, [0x7000]
	mov eax, [0x5000]
	mov eax, [0x4000]
	mov [0x3930], eax
	mov eax, [0x400000]
	mov [0x3930], eax
	mov dword [0x8000], 0x5063
	mov eax, [0x400000]
	mov [0x3934], eax
	mov eax, [0x3900]
	mov edx, [0x3904]
	mov ecx, [0x3908]
	mov ebx, [0x390c]
	mov esi, [0x3910]
	mov edi, [0x3914]
l2_at_dflush:
	vmmcall
l2_after_dflush:
	mov [0x3920], eax
	mov [0x3924], edx
	mov eax, [0x400000]
	mov [0x3938], eax
l2_at_dflush_hlt:
	hlt
l2_handler:				; vector 0x40
	mov dword [0x3800], 0x40
	iretd
l2_code_end:

section .note.GNU-stack noalloc noexec nowrite progbits
