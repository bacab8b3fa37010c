# hv.efi - a Hyper-V compatible (Hv#1) type-1 hypervisor as a UEFI application.
#
#   make          build build/hv.efi and the guest test payloads
#   make test     host unit tests + guest payloads under the emulators
#   make run      boot QEMU (SVM) with hv.efi and Debian's Linux kernel
#                 (GUEST=payload: the guest test payload instead)
#   make test-linux  the Linux guest tests alone (tests/linux/run.sh)
#   make test-slow   Linux on Bochs (Intel VMX) alone, about 3 minutes, and
#                 Linux's KVM on it (nested=on, about 5 minutes), then the
#                 gdb session on Bochs VMX (tests/run-gdb.sh --bochs)
#   make bench    exit costs and exit budget (docs/performance.md)
#   make fuzz-guest  the guest fuzzer, 10^6 operations per platform
#                 (SEED=, OPS=, PLATFORM=qemu|vmx|svm; docs/reliability.md)
#
# Two link units: the loader (boot/, a gnu-efi application, position
# independent) and the resident core (hv/, arch/, svm/, vmx/), linked at a
# fixed high virtual address and embedded in the loader as a flat blob. See
# docs/architecture.md.

.DEFAULT_GOAL := all

BUILD    ?= build
CC       ?= gcc
LD       ?= ld
OBJCOPY  ?= objcopy
NASM     ?= nasm
HOSTCC   ?= gcc

EFI_INC  := /usr/include/efi
EFI_LIB  := /usr/lib
EFI_LDS  := $(EFI_LIB)/elf_x86_64_efi.lds
EFI_CRT0 := $(EFI_LIB)/crt0-efi-x86_64.o

# Public headers by layer (docs/architecture.md): lib <- arch <- svm/vmx;
# lib <- hv <- synic/vsm/nested; boot is the loader's.
INCLUDES := -Iinclude/lib -Iinclude/arch -Iinclude/boot -Iinclude/hv -Iinclude/synic -Iinclude/vsm -Iinclude/nested -Iinclude/debug

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wpointer-arith \
        -Wno-unused-parameter

# Hypervisor code never touches SSE/AVX (guest vector state stays live in
# the registers across exits), has no red zone (exceptions on the host stack)
# and no stack protector (no TLS).
FREESTANDING := -ffreestanding -fno-stack-protector -fno-stack-check \
        -mno-red-zone -mgeneral-regs-only -fno-strict-aliasing \
        -fno-omit-frame-pointer -O2 -g -std=gnu11 $(INCLUDES)

EFI_CFLAGS  := $(FREESTANDING) $(WARN) -I$(EFI_INC) -I$(EFI_INC)/x86_64 -fpic \
        -fshort-wchar -maccumulate-outgoing-args -DHV_LOADER=1
CORE_CFLAGS := $(FREESTANDING) $(WARN) -mcmodel=kernel -fno-pic -fno-pie \
        -fno-asynchronous-unwind-tables -DHV_CORE=1
# -z defs: an undefined symbol (e.g. a libgcc helper) must fail the link,
# not become a PLT jump to nowhere at run time.
EFI_LDFLAGS := -nostdlib -znocombreloc -shared -Bsymbolic -z defs -T $(EFI_LDS)
EFI_SECTIONS := -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel \
        -j .rela -j .rel.* -j .rela.* -j .reloc

# ---- source lists, one per directory ----------------------------------------
# A new file in a directory needs no edit here; a new directory is one line.
LIB_C   := $(sort $(wildcard lib/*.c))
ARCH_C  := $(sort $(wildcard arch/x86_64/*.c))
HV_C    := $(sort $(wildcard hv/*.c))
SYNIC_C := $(sort $(wildcard synic/*.c))
VSM_C   := $(sort $(wildcard vsm/*.c))
NESTED_C := $(sort $(wildcard nested/*.c))
DEBUG_C := $(sort $(wildcard debug/*.c))
SVM_C   := $(sort $(wildcard svm/*.c))
VMX_C   := $(sort $(wildcard vmx/*.c))
BOOT_C  := $(sort $(wildcard boot/*.c))
ARCH_ASM := arch/x86_64/core_head.asm arch/x86_64/isr.asm
SVM_ASM := $(sort $(wildcard svm/*.asm))
VMX_ASM := $(sort $(wildcard vmx/*.asm))

# ---- resident core ------------------------------------------------------
CORE_C := $(HV_C) $(SYNIC_C) $(VSM_C) $(NESTED_C) $(DEBUG_C) $(LIB_C) $(ARCH_C) $(SVM_C) $(VMX_C)
CORE_ASM := $(ARCH_ASM) $(SVM_ASM) $(VMX_ASM)
CORE_OBJ := $(CORE_C:%.c=$(BUILD)/core/%.o) $(CORE_ASM:%.asm=$(BUILD)/core/%.o)
# The run stubs share the GPR load/store macros.
$(SVM_ASM:%.asm=$(BUILD)/core/%.o) $(VMX_ASM:%.asm=$(BUILD)/core/%.o): include/arch/gpr.inc

# ---- loader (UEFI application) ------------------------------------------
# The loader links the runtime library and the two arch pieces it uses.
LOADER_C := $(BOOT_C) $(filter-out lib/string.c,$(LIB_C)) arch/x86_64/slat.c arch/x86_64/serial.c
LOADER_ASM := $(sort $(wildcard boot/*.asm))
LOADER_OBJ := $(LOADER_C:%.c=$(BUILD)/efi/%.o) $(LOADER_ASM:%.asm=$(BUILD)/efi/%.o)

# ---- guest test payload (UEFI application) ------------------------------
PAYLOAD_C := $(sort $(wildcard tests/payload/*.c))
PAYLOAD_ASM := $(sort $(wildcard tests/payload/*.asm))
PAYLOAD_OBJ := $(PAYLOAD_C:%.c=$(BUILD)/efi/%.o) $(PAYLOAD_ASM:%.asm=$(BUILD)/efi/%.o)
# The payload's assembly shares macros (%include "tests/payload/stubs.inc").
$(PAYLOAD_ASM:%.asm=$(BUILD)/efi/%.o): tests/payload/stubs.inc

# ---- benchmark payload (UEFI application, `make bench`) -----------------
# Reuses the test payload's COM1 output (pserial) and hypercall caller
# (hcall) as they are. docs/performance.md.
BENCH_OBJ := $(BUILD)/efi/tests/bench/bench.o $(BUILD)/efi/tests/bench/bloops.o \
             $(BUILD)/efi/tests/payload/pserial.o $(BUILD)/efi/tests/payload/hcall.o

# ---- guest fuzzer payload (issue 14, `make fuzz-guest`) -------------------
# Seeded random Hv#1 operations with checks from inside (tests/gfuzz/,
# docs/reliability.md). Reuses the test payload's COM1 output (pserial).
GFUZZ_OBJ := $(BUILD)/efi/tests/gfuzz/gfuzz.o $(BUILD)/efi/tests/gfuzz/gfz_ops.o \
             $(BUILD)/efi/tests/gfuzz/gfz.o $(BUILD)/efi/tests/payload/pserial.o
$(BUILD)/efi/tests/gfuzz/gfz.o: tests/payload/stubs.inc

# ---- the debugger tests' guest (issue 17, tests/run-gdb.sh) -----------------
# Calls gdbt_tick() in a loop until gdb writes gdbt_done (docs/debugging.md).
GDBT_OBJ := $(BUILD)/efi/tests/gdb/gdbt.o $(BUILD)/efi/tests/payload/pserial.o

# ---- AP start-up payload (issue 4, test (b): tests/run-apboot.sh) -------
# Leaves the firmware and starts the APs itself with INIT-SIPI-SIPI through
# a real-mode trampoline, as an OS does (docs/smp.md). Reuses the test
# payload's COM1 output and check reporting (pserial).
APBOOT_OBJ := $(BUILD)/efi/tests/apboot/apboot.o $(BUILD)/efi/tests/apboot/ap.o \
              $(BUILD)/efi/tests/apboot/ipi.o $(BUILD)/efi/tests/apboot/tramp.o \
              $(BUILD)/efi/tests/payload/pserial.o

# ---- host unit tests ----------------------------------------------------
# The Hv#1 logic (hv/, lib/) unchanged, against the fakes of tests/host,
# with the core's warnings and the sanitizers.
HOST_CFLAGS := -std=gnu11 -g -O1 $(WARN) -fno-strict-aliasing \
        -fsanitize=address,undefined -fno-sanitize-recover=all \
        $(INCLUDES) -Itests/host -DHV_HOST_TEST=1
HOST_SRC := $(sort $(wildcard tests/host/*.c)) $(filter-out hv/core.c,$(HV_C)) $(SYNIC_C) $(VSM_C) $(NESTED_C) debug/gdbproto.c $(filter-out lib/string.c,$(LIB_C)) \
            boot/config.c arch/x86_64/slat.c vmx/vmx_caps.c vmx/vmx_evmcs.c vmx/vmx_vmcs12.c vmx/vmx_nested_check.c svm/svm_vmcb_check.c

# ---- host fuzz targets (libFuzzer, docs/reliability.md) -----------------
# One binary per tests/fuzz/fuzz_<name>.c: the target, the shared harness
# (tests/fuzz/harness.c) and the host build of hv/ on the fake backend of
# tests/host/fakes.c, with Debian's clang, ASan and UBSan. A new target is
# a new file (and its seed corpus tests/fuzz/corpus/<name>/).
FUZZ_CC  ?= clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 $(WARN) -fno-strict-aliasing \
        -fsanitize=address,undefined -fno-sanitize-recover=all \
        $(INCLUDES) -Itests/host -Itests/fuzz -DHV_HOST_TEST=1
# The code under test gets libFuzzer's coverage instrumentation; the
# harness and the fakes (the oracles' loops) only the sanitizers.
FUZZ_LIB_C := $(filter-out hv/core.c,$(HV_C)) $(SYNIC_C) $(VSM_C) $(NESTED_C) \
        $(filter-out lib/string.c,$(LIB_C)) boot/config.c arch/x86_64/slat.c svm/svm_vmcb_check.c
FUZZ_HARNESS_C := tests/host/fakes.c tests/fuzz/harness.c
FUZZ_LIB_OBJ := $(FUZZ_LIB_C:%.c=$(BUILD)/fuzz/obj/%.o) $(FUZZ_HARNESS_C:%.c=$(BUILD)/fuzz/harness/%.o)
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
# make fuzz: FUZZ_TIME seconds in all, shared by the targets (default 10
# minutes); FUZZ_TARGETS_RUN to pick some.
FUZZ_TIME ?= 600

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -c $< -o $@
$(BUILD)/fuzz/harness/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -c $< -o $@
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MF $@.d $< $(FUZZ_LIB_OBJ) -o $@

.PHONY: fuzz fuzz-build fuzz-cov
fuzz-build: $(FUZZ_BINS)
# Every target for its share of FUZZ_TIME: execs, coverage, findings (a
# crash leaves its reproducer and the replay command).
fuzz: $(FUZZ_BINS)
	tests/fuzz/run.sh --time $(FUZZ_TIME) $(FUZZ_TARGETS_RUN)

# Line coverage of hv/ (and boot/config.c) reached by the corpora (the
# committed seeds and make fuzz's working corpus): the targets rebuilt with
# clang's source-based coverage, each corpus replayed, llvm-cov's report
# (needs Debian's llvm). build/fuzz/coverage.txt.
FUZZ_COV_CFLAGS := -std=gnu11 -g -O1 -fno-strict-aliasing $(INCLUDES) -Itests/host -Itests/fuzz \
        -DHV_HOST_TEST=1 -fprofile-instr-generate -fcoverage-mapping
FUZZ_COV_OBJ := $(FUZZ_LIB_C:%.c=$(BUILD)/fuzzcov/obj/%.o) $(FUZZ_HARNESS_C:%.c=$(BUILD)/fuzzcov/obj/%.o)
$(BUILD)/fuzzcov/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_COV_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(BUILD)/fuzzcov/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_COV_OBJ)
	$(FUZZ_CC) $(FUZZ_COV_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_COV_OBJ) -o $@
.SECONDARY: $(FUZZ_COV_OBJ) $(FUZZ_LIB_OBJ)
fuzz-cov: $(FUZZ_TARGETS:%=$(BUILD)/fuzzcov/fuzz_%)
	tests/fuzz/cov.sh $(FUZZ_TARGETS)

.DELETE_ON_ERROR:
.PHONY: all test run bench clean host-test guest-test linux test-linux test-slow
all: $(BUILD)/hv.efi $(BUILD)/tests/payload.efi

$(BUILD)/core/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -MMD -c $< -o $@
$(BUILD)/core/%.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -Iinclude/boot/ -Iinclude/arch/ -o $@ $<
$(BUILD)/efi/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) -MMD -c $< -o $@
$(BUILD)/efi/%.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -Iinclude/boot/ -I$(BUILD)/ -o $@ $<

$(BUILD)/core.elf: $(CORE_OBJ) arch/x86_64/core.lds
	$(LD) -nostdlib -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments -T arch/x86_64/core.lds \
		-o $@ $(CORE_OBJ)
$(BUILD)/core.bin: $(BUILD)/core.elf
	$(OBJCOPY) -O binary $< $@

# The blob is included with incbin, so the loader object depends on it.
$(BUILD)/efi/boot/core_blob.o: $(BUILD)/core.bin

define efi_app
$(1): $(2)
	@mkdir -p $$(dir $$@)
	$(LD) $(EFI_LDFLAGS) $(EFI_CRT0) $(2) -o $$@.so -L$(EFI_LIB) -lgnuefi -lefi
	$(OBJCOPY) $(EFI_SECTIONS) --target efi-app-x86_64 --subsystem=10 $$@.so $$@
endef
$(eval $(call efi_app,$(BUILD)/hv.efi,$(LOADER_OBJ)))
$(eval $(call efi_app,$(BUILD)/tests/payload.efi,$(PAYLOAD_OBJ)))
$(eval $(call efi_app,$(BUILD)/tests/bench.efi,$(BENCH_OBJ)))
$(eval $(call efi_app,$(BUILD)/tests/apboot.efi,$(APBOOT_OBJ)))
$(eval $(call efi_app,$(BUILD)/tests/gfuzz.efi,$(GFUZZ_OBJ)))
$(eval $(call efi_app,$(BUILD)/tests/gdbt.efi,$(GDBT_OBJ)))
all: $(BUILD)/tests/apboot.efi $(BUILD)/tests/gfuzz.efi $(BUILD)/tests/gdbt.efi

# The guest fuzzer, 10^6 operations with a random seed on QEMU SVM, Bochs
# VMX and Bochs SVM (tests/run-gfuzz.sh; docs/reliability.md). Replay a
# failing run: make fuzz-guest SEED=0x... PLATFORM=qemu|vmx|svm [OPS=n].
SEED ?=
OPS ?=
PLATFORM ?=
.PHONY: fuzz-guest fuzz
# make fuzz: the guest fuzzer first, then the host targets' recipe (when
# the host fuzzing rule is there: a prerequisite-only rule adds to it).
fuzz: fuzz-guest
fuzz-guest: $(BUILD)/hv.efi $(BUILD)/tests/gfuzz.efi
	tests/run-gfuzz.sh $(if $(SEED),--seed $(SEED)) $(if $(OPS),--ops $(OPS)) \
		$(if $(PLATFORM),--platform $(PLATFORM))

# The guest debugger (issue 17, docs/debugging.md): the protocol test and a
# gdb session on QEMU SVM with 1 and 2 processors, then on Debian's kernel
# with 1 and 2 (about 4 minutes).
.PHONY: test-gdb
test-gdb: $(BUILD)/hv.efi $(BUILD)/tests/gdbt.efi
	tests/run-gdb.sh --smp 1 && tests/run-gdb.sh --smp 2 && \
		tests/run-gdb-linux.sh --smp 1 && tests/run-gdb-linux.sh --smp 2

# The AP start-up payload on QEMU SVM, Bochs VMX and Bochs SVM with 2 and 4
# processors (about 2 minutes; tests/run-apboot.sh).
.PHONY: test-apboot
test-apboot: $(BUILD)/hv.efi $(BUILD)/tests/apboot.efi
	tests/run-apboot.sh

$(BUILD)/tests/host_tests: $(HOST_SRC) $(wildcard include/*/*.h tests/host/*.h vmx/*.h svm/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) $(HOST_SRC) -o $@

host-test: $(BUILD)/tests/host_tests
	$(BUILD)/tests/host_tests

test: all $(BUILD)/tests/host_tests $(FUZZ_BINS)
	tests/run-all.sh

# The guest of `make run`: linux (Debian's kernel, fetched once into
# build/linux by tests/linux/fetch.sh, ending at a busybox shell) or the
# name of a test image, e.g. GUEST=payload. LINUX_ARGS are added to the
# kernel command line (e.g. LINUX_ARGS=nopv: Linux ignores the hypervisor).
GUEST ?= linux
LINUX_ARGS ?=
# auto: KVM (-cpu host, nested virtualization) when /dev/kvm is usable,
# else TCG; tcg or kvm to force one (tests/run-qemu.sh --accel).
ACCEL ?= auto
run: all
	@if [ "$(GUEST)" = linux ]; then \
		tests/linux/fetch.sh >/dev/null && \
		tests/run-qemu.sh --interactive --accel $(ACCEL) --linux $(if $(LINUX_ARGS),--guest-args '$(LINUX_ARGS)'); \
	else \
		tests/run-qemu.sh --interactive --accel $(ACCEL) --guest '$(GUEST)'; \
	fi

# Debian's kernel and the busybox initramfs in build/linux (cached).
linux:
	tests/linux/fetch.sh

test-linux: all
	tests/linux/run.sh

# Slower checks than `make test` runs: Linux on Bochs corei7_skylake_x
# under the VMX backend (vmx-skx-linux), then Linux's KVM running a VM on
# it with nested=on (vmx-skx-linux-kvm, tests/linux/kvm-vmx.sh).
test-slow: all
	tests/linux/run.sh --no-qemu --bochs
	tests/run-gdb.sh --bochs tigerlake

# Exit costs and exit budget on Bochs VMX, Bochs SVM and QEMU SVM: one
# table, build/bench.json (docs/performance.md).
bench: all $(BUILD)/tests/bench.efi
	tests/run-bench.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
