; bloops.asm - the timed loops of the benchmark payload (bench.c).
;
; Each bl_* function executes its operation n times back to back (n >= 1)
; and returns the TSC ticks the loop took: RDTSC before the first and after
; the last iteration. The caller has disabled interrupts. Every loop is the
; skeleton of bl_empty (DEC + JNZ) around the instructions a guest uses for
; the operation, so bench.c subtracts bl_empty's cost and what remains is
; the operation itself: those guest instructions plus, where it exits, the
; whole exit round trip through the hypervisor.
;
; Under Bochs with `clock: sync=none` the TSC advances once per emulated
; instruction, so the result counts instructions (guest and hypervisor).

default rel
bits 64

global bl_empty:function hidden
global bl_cpuid:function hidden
global bl_rdmsr:function hidden
global bl_wrmsr:function hidden
global bl_hcall:function hidden
global bl_hcall_clear:function hidden
global bl_tsc_page:function hidden
global bl_store32:function hidden
global bl_store32_insn:function hidden
global bl_nested_cpuid:function hidden
global bl_l2_code:data hidden
global bl_l2_code_end:data hidden
global bl_cr4_pge:function hidden
global bl_nvmx_cpuid:function hidden
global bl_evmcs_cpuid:function hidden

section .text

; r12 = TSC now (RAX, RDX clobbered)
%macro TSC_TO_R12 0
	rdtsc
	shl rdx, 32
	or rax, rdx
	mov r12, rax
%endmacro

; RAX = TSC now - r12 (RDX clobbered)
%macro TSC_DELTA 0
	rdtsc
	shl rdx, 32
	or rax, rdx
	sub rax, r12
%endmacro

%macro SAVE 0
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
%endmacro

%macro RESTORE 0
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
%endmacro

; u64 bl_empty(u64 n)
bl_empty:
	SAVE
	mov r13, rdi
	TSC_TO_R12
.loop:
	dec r13
	jnz .loop
	TSC_DELTA
	RESTORE
	ret

; u64 bl_cpuid(u64 n, u32 leaf): CPUID leaf, subleaf 0
bl_cpuid:
	SAVE
	mov r13, rdi
	mov r14d, esi
	TSC_TO_R12
.loop:
	mov eax, r14d
	xor ecx, ecx
	cpuid
	dec r13
	jnz .loop
	TSC_DELTA
	RESTORE
	ret

; u64 bl_rdmsr(u64 n, u32 msr)
bl_rdmsr:
	SAVE
	mov r13, rdi
	mov r14d, esi
	TSC_TO_R12
.loop:
	mov ecx, r14d
	rdmsr
	dec r13
	jnz .loop
	TSC_DELTA
	RESTORE
	ret

; u64 bl_wrmsr(u64 n, u32 msr, u64 value)
bl_wrmsr:
	SAVE
	mov r13, rdi
	mov r14d, esi
	mov r15, rdx
	TSC_TO_R12
.loop:
	mov ecx, r14d
	mov eax, r15d
	mov rdx, r15
	shr rdx, 32
	wrmsr
	dec r13
	jnz .loop
	TSC_DELTA
	RESTORE
	ret

; u64 bl_hcall(u64 n, void *page, u64 rcx, u64 rdx, u64 r8)
; The hypercall as a guest OS makes it (TLFS 3.7): input value in RCX,
; input GPA or fast input in RDX, output GPA or fast input in R8, CALL into
; the hypercall page (ENDBR64; VMCALL or VMMCALL; RET). The result in RAX
; is not looked at here: bench.c checked one call beforehand.
bl_hcall:
	SAVE
	mov r13, rdi
	mov rbx, rsi
	mov r14, rdx
	mov r15, rcx
	mov rbp, r8
	TSC_TO_R12
.loop:
	mov rcx, r14
	mov rdx, r15
	mov r8, rbp
	call rbx
	dec r13
	jnz .loop
	TSC_DELTA
	RESTORE
	ret

; u64 bl_hcall_clear(u64 n, void *page, u64 rcx, u64 rdx, u64 r8, u32 *clear)
; bl_hcall, and after each call the guest's part of the protocol: a 32-bit
; zero stored at `clear` (a SynIC message slot's MessageType emptied, TLFS
; 11.4.1, or event flags cleared, 11.5.2), so every call takes the same
; path (the message goes into a free slot; the flag was clear).
bl_hcall_clear:
	SAVE
	push r9
	mov r13, rdi
	mov rbx, rsi
	mov r14, rdx
	mov r15, rcx
	mov rbp, r8
	TSC_TO_R12
.loop:
	mov rcx, r14
	mov rdx, r15
	mov r8, rbp
	call rbx
	mov rax, [rsp]
	mov dword [rax], 0
	dec r13
	jnz .loop
	TSC_DELTA
	add rsp, 8
	RESTORE
	ret

; u64 bl_tsc_page(u64 n, const void *page)
; Reference time from the reference TSC page (TLFS 12.7.3):
;   do { seq = TscSequence; (seq 0: use the MSR instead)
;        time = ((RDTSC * TscScale) >> 64) + TscOffset;
;   } while (TscSequence != seq);
bl_tsc_page:
	SAVE
	mov r13, rdi
	mov rbx, rsi
	TSC_TO_R12
.loop:
	mov r8d, [rbx]
	test r8d, r8d
	jz .invalid
	rdtsc
	shl rdx, 32
	or rax, rdx
	mul qword [rbx + 8]
	add rdx, [rbx + 16]
	cmp r8d, [rbx]
	jne .loop
	dec r13
	jnz .loop
.invalid:
	TSC_DELTA
	RESTORE
	ret

; u64 bl_store32(u64 n, volatile u32 *addr, u32 val): n 32-bit stores, as
; an OS writes an xAPIC register (MOV [reg], reg: the form hv.efi decodes).
bl_store32:
	SAVE
	mov r13, rdi
	mov r14, rsi
	mov r15d, edx
	TSC_TO_R12
.loop:                          ; 45 89 3E: the protected-page row skips it
	mov [r14], r15d
	dec r13
	jnz .loop
	TSC_DELTA
	RESTORE
	ret

bl_store32_insn equ bl_store32.loop

; u64 bl_nested_cpuid(u64 n, u64 vmcb_pa): the guest as a hypervisor
; (nested=on, docs/nested.md): n times VMRUN its guest L2, whose CPUID
; exits to it (intercepted), and step L2's RIP past the CPUID (L2 jumps
; back to it): one L2 -> L1 -> L2 round trip per iteration, with the
; CLGI/STGI a hypervisor wraps VMRUN in. 0x578: RIP in the VMCB save area.
bl_nested_cpuid:
	SAVE
	mov r13, rdi
	mov r14, rsi
	TSC_TO_R12
.loop:
	mov rax, r14
	clgi
	vmrun
	stgi
	add qword [r14 + 0x578], 2
	dec r13
	jnz .loop
	TSC_DELTA
	RESTORE
	ret

; u64 bl_cr4_pge(u64 n): the global TLB flush of Linux without INVPCID
; (native_flush_tlb_global): CR4.PGE toggled and back, two MOV to CR4.
bl_cr4_pge:
	SAVE
	mov r13, rdi
	mov r14, cr4
	mov r15, r14
	xor r15, 0x80
	TSC_TO_R12
.loop:
	mov cr4, r15
	mov cr4, r14
	dec r13
	jnz .loop
	TSC_DELTA
	RESTORE
	ret

; u64 bl_nvmx_cpuid(u64 n, u64 launch): the guest as a VMX hypervisor
; (nested=on on Intel, docs/nested.md "Nested VMX"): n times VMRESUME
; (the first VMLAUNCH when launch) its guest L2, whose CPUID always exits
; to it (SDM 26.1.2), and step L2's RIP past the CPUID with VMREAD and
; VMWRITE of the plain VMCS: one L2 -> L1 -> L2 round trip per iteration
; (four exits to hv.efi: L2's CPUID, VMREAD, VMWRITE, VMRESUME). A VM exit
; loads HOST_RSP/HOST_RIP (set here) and the GDTR/IDTR limits 0xFFFF,
; RFLAGS 2 (SDM 28.5): put back at the end. Returns ~0 on VMfail.
bl_nvmx_cpuid:
	SAVE
	pushfq
	sub rsp, 32
	sgdt [rsp]
	sidt [rsp + 16]
	mov r13, rdi
	mov r14, rsi
	mov rax, 0x6c14			; HOST_RSP
	vmwrite rax, rsp
	mov rax, 0x6c16			; HOST_RIP
	lea rdx, [rel .exit]
	vmwrite rax, rdx
	mov r15, 0x681e			; guest RIP
	TSC_TO_R12
.loop:
	test r14, r14
	jnz .launch
	vmresume
	jmp .fail
.launch:
	xor r14, r14
	vmlaunch
	jmp .fail
.exit:
	vmread rdx, r15
	add rdx, 2
	vmwrite r15, rdx
	dec r13
	jnz .loop
	TSC_DELTA
	jmp .out
.fail:
	mov rax, -1
.out:
	lgdt [rsp]
	lidt [rsp + 16]
	add rsp, 32
	popfq
	RESTORE
	ret

; u64 bl_evmcs_cpuid(u64 n, u8 *evmcs): the same round trip with the
; enlightened VMCS (TLFS 16.5; docs/nested.md "Enlightened VMCS"), as
; Linux's KVM runs on Hyper-V: L1's VP assist page names the eVMCS, so
; VMRESUME needs no current VMCS, and L2's RIP moves with a plain store
; to the eVMCS's GuestRip (0x330, no clean group: read at every entry):
; two exits to hv.efi per iteration (L2's CPUID, VMRESUME). HOST_RSP
; (0x268) and HOST_RIP (0x50) are stored in the eVMCS, their clean groups
; (HOST_POINTER bit 13, HOST_GRP1 bit 14 of 0x338) cleared when they
; change. Returns ~0 on VMfail.
bl_evmcs_cpuid:
	SAVE
	pushfq
	sub rsp, 32
	sgdt [rsp]
	sidt [rsp + 16]
	mov r13, rdi
	mov r15, rsi
	cmp [r15 + 0x268], rsp
	je .rsp_same
	mov [r15 + 0x268], rsp
	and dword [r15 + 0x338], ~(1 << 13)
.rsp_same:
	lea rax, [rel .exit]
	cmp [r15 + 0x50], rax
	je .rip_same
	mov [r15 + 0x50], rax
	and dword [r15 + 0x338], ~(1 << 14)
.rip_same:
	TSC_TO_R12
.loop:
	vmresume
	jmp .fail
.exit:
	add qword [r15 + 0x330], 2
	dec r13
	jnz .loop
	TSC_DELTA
	jmp .out
.fail:
	mov rax, -1
.out:
	lgdt [rsp]
	lidt [rsp + 16]
	add rsp, 32
	popfq
	RESTORE
	ret

; L2's code (32-bit, at L2 GPA 0x1000): CPUID, then back to it.
bits 32
bl_l2_code:
	cpuid
	jmp bl_l2_code
bl_l2_code_end:
bits 64

; VTL 1 of the vtl_call_return op (TLFS 15.6-15.8): on its first entry it
; sets its own guest OS ID and hypercall page (private per VTL, 15.11.1.1)
; from bench_v1_msrs, then returns at once, fast (RCX = 1), every time a
; VTL call enters it. Only RAX and RCX change (the sequences' registers).
global bench_v1_entry:function hidden
global bench_v1_ret:data hidden
global bench_v1_msrs:data hidden
global bench_v1_op:data hidden
global bench_v1_hc:data hidden

; VTL 1: its MSRs (guest OS ID, hypercall page, SIMP, SynIC on), then at
; each entry what bench_v1_op says, and a fast VTL return:
;   0: nothing (the VTL call row);
;   1: set up the protections: HvSetVpRegisters (its
;      HvRegisterVsmPartitionConfig) and HvModifyVtlProtectionMask, with the
;      inputs bench.c prepared; statuses to bench_v1_hc[4], [5];
;   2: a secure intercept of the protected-page row: the message slot
;      freed, VTL 0's RIP moved past its store (HvSetVpRegisters).
bench_v1_entry:
	mov ecx, 0x40000000
	mov eax, [bench_v1_msrs]
	mov edx, [bench_v1_msrs + 4]
	wrmsr
	mov ecx, 0x40000001
	mov eax, [bench_v1_msrs + 8]
	mov edx, [bench_v1_msrs + 12]
	wrmsr
	mov ecx, 0x40000083
	mov eax, [bench_v1_msrs + 16]
	mov edx, [bench_v1_msrs + 20]
	wrmsr
	mov ecx, 0x40000080
	mov eax, 1
	xor edx, edx
	wrmsr
.l:
	mov rax, [bench_v1_op]
	cmp rax, 2
	jne .n2
	mov rax, [bench_v1_hc + 48]
	mov dword [rax], 0              ; SINT0's slot free again
	mov rcx, 0x100000051            ; HvSetVpRegisters, 1 rep
	mov rdx, [bench_v1_hc + 24]
	xor r8d, r8d
	call [bench_v1_hc]
	jmp .ret
.n2:
	cmp rax, 1
	jne .ret
	mov rcx, 0x100000051
	mov rdx, [bench_v1_hc + 8]
	xor r8d, r8d
	call [bench_v1_hc]
	mov [bench_v1_hc + 32], rax
	mov rcx, 0x10000000C            ; HvModifyVtlProtectionMask, 1 rep
	mov rdx, [bench_v1_hc + 16]
	xor r8d, r8d
	call [bench_v1_hc]
	mov [bench_v1_hc + 40], rax
	mov qword [bench_v1_op], 0
.ret:
	mov ecx, 1
	call [bench_v1_ret]
	jmp .l

section .data
align 8
bench_v1_ret:  dq 0       ; VTL 1's hypercall page + the return offset
bench_v1_msrs: dq 0, 0, 0 ; its guest OS ID, its hypercall MSR, its SIMP MSR
bench_v1_op:   dq 0
; its hypercall page, the inputs (config, modify, skip), two statuses, SIMP
bench_v1_hc:   dq 0, 0, 0, 0, 0, 0, 0

section .note.GNU-stack noalloc noexec nowrite progbits
