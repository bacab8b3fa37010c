/*
 * kvmtest.c - Linux's own KVM runs a virtual machine on hv.efi (issues 16
 * and 18, docs/nested.md; tests/linux/init hvtest=kvm). Linked statically
 * into the initramfs (tests/linux/fetch.sh). Through /dev/kvm (Debian's
 * kvm.ko with kvm-amd.ko on AMD, kvm-intel.ko on Intel, loaded by /init)
 * it creates a VM with 64 KiB of memory and one vCPU in real mode, runs
 * the code below and checks each exit KVM reports, in order (the same on
 * SVM and VMX: proven on Bochs's own VMX without hv.efi,
 * vmx-skx-linux-kvm-nohv):
 *
 *   out 0x10, al (0x42)           KVM_EXIT_IO out, port 0x10, size 1, 0x42
 *   out dx (0x501), ax (0xbeef)   KVM_EXIT_IO out, port 0x501, size 2
 *   cpuid                         handled by KVM (an L2 -> L1 -> L2 trip)
 *   in al, 0x61                   KVM_EXIT_IO in, port 0x61, size 1: we
 *                                 answer 0x5a
 *   add al, 1; out 0x10, al       KVM_EXIT_IO out, 0x5b (the answer came in)
 *   mov word [0x2000], 0xcafe     a store into guest RAM (L2 -> L1's NPT ->
 *                                 hv.efi's shadow): read back here
 *   a loop of 64 stores, one per 4 KiB page from 0x3000 (one nested page
 *   fault each), then out 0x10 with the count
 *   a store into a second memory slot (GPA 0x50000), out 0x10, 0x77:
 *                                 the store reached that slot's page;
 *                                 dirty logging on, the next store must
 *                                 be logged (KVM write-protected the page
 *                                 and flushed: hv.efi's shadow must
 *                                 follow); then
 *                                 the slot is deleted and the same store
 *                                 must be KVM_EXIT_MMIO (KVM zapped and
 *                                 flushed its nested page tables: a stale
 *                                 mapping in hv.efi's shadow would write
 *                                 the old page instead)
 *   hlt                           KVM_EXIT_HLT
 *
 * Prints one "kvmtest: ok NAME" or "kvmtest: FAIL NAME ..." line per check
 * and ends with "kvmtest: PASS" or "kvmtest: FAILED N". Exit status 0 on
 * PASS.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE 0x44000 /* code page, data, 64 pages from 0x3000 */
#define CODE 0x1000

static const uint8_t code[] = {
	0xb0, 0x42,             /* mov al, 0x42 */
	0xe6, 0x10,             /* out 0x10, al */
	0xba, 0x01, 0x05,       /* mov dx, 0x501 */
	0xb8, 0xef, 0xbe,       /* mov ax, 0xbeef */
	0xef,                   /* out dx, ax */
	0x66, 0x31, 0xc0,       /* xor eax, eax */
	0x0f, 0xa2,             /* cpuid */
	0xe4, 0x61,             /* in al, 0x61 */
	0x04, 0x01,             /* add al, 1 */
	0xe6, 0x10,             /* out 0x10, al */
	0xc7, 0x06, 0x00, 0x20, 0xfe, 0xca, /* mov word [0x2000], 0xcafe */
	/* 64 stores, one per page from 0x3000: segment ES steps by 0x100 */
	0xb8, 0x00, 0x03,       /* mov ax, 0x300 */
	0xb9, 0x40, 0x00,       /* mov cx, 64 */
	0x8e, 0xc0,             /* l: mov es, ax */
	0x26, 0x89, 0x0e, 0x08, 0x00, /* mov es:[8], cx */
	0x05, 0x00, 0x01,       /* add ax, 0x100 */
	0xe2, 0xf4,             /* loop l */
	0xb0, 0x40,             /* mov al, 64 */
	0xe6, 0x10,             /* out 0x10, al */
	/* a store into the second slot (GPA 0x50000, ES = 0x5000) */
	0xb8, 0x00, 0x50,       /* mov ax, 0x5000 */
	0x8e, 0xc0,             /* mov es, ax */
	0x26, 0xc7, 0x06, 0x00, 0x00, 0x11, 0x11, /* mov word es:[0], 0x1111 */
	0xb0, 0x77,             /* mov al, 0x77 */
	0xe6, 0x10,             /* out 0x10, al */
	/* dirty logging is on now: the page is write-protected again */
	0x26, 0xc7, 0x06, 0x00, 0x00, 0x33, 0x33, /* mov word es:[0], 0x3333 */
	0xb0, 0x78,             /* mov al, 0x78 */
	0xe6, 0x10,             /* out 0x10, al */
	/* the slot is gone now: the same store is MMIO for KVM */
	0x26, 0xc7, 0x06, 0x00, 0x00, 0x22, 0x22, /* mov word es:[0], 0x2222 */
	0xf4,                   /* hlt */
};

static int failed;

static void check(int ok, const char *name, const char *fmt, unsigned long a, unsigned long b)
{
	if (ok) {
		printf("kvmtest: ok %s\n", name);
	} else {
		printf("kvmtest: FAIL %s ", name);
		printf(fmt, a, b);
		printf("\n");
		failed++;
	}
	fflush(stdout);
}

/* One KVM_RUN; the exit reason, or -1. */
static int run(int vcpu, struct kvm_run *r)
{
	if (ioctl(vcpu, KVM_RUN, 0) < 0) {
		printf("kvmtest: FAIL run KVM_RUN: %s\n", strerror(errno));
		failed++;
		return -1;
	}
	return (int)r->exit_reason;
}

static void expect_io(int vcpu, struct kvm_run *r, const char *name, int dir, unsigned port,
		      unsigned size, unsigned long data)
{
	int why = run(vcpu, r);
	char n[64];
	snprintf(n, sizeof(n), "%s.reason", name);
	check(why == KVM_EXIT_IO, n, "exit reason %lu (want KVM_EXIT_IO %lu)", (unsigned long)why,
	      KVM_EXIT_IO);
	if (why != KVM_EXIT_IO)
		return;
	uint8_t *d = (uint8_t *)r + r->io.data_offset;
	snprintf(n, sizeof(n), "%s.port", name);
	check(r->io.direction == dir && r->io.port == port && r->io.size == size && r->io.count == 1, n,
	      "port %lx (dir/size/count %lx)", r->io.port,
	      (unsigned long)(r->io.direction << 16 | r->io.size << 8 | r->io.count));
	if (dir == KVM_EXIT_IO_OUT) {
		unsigned long v = 0;
		memcpy(&v, d, size);
		snprintf(n, sizeof(n), "%s.data", name);
		check(v == data, n, "data %lx (want %lx)", v, data);
	} else {
		memcpy(d, &data, size);
	}
}

int main(void)
{
	alarm(60);
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	check(kvm >= 0, "open", "/dev/kvm: errno %lu%lu", (unsigned long)errno, 0);
	if (kvm < 0)
		goto out;
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	check(api == KVM_API_VERSION, "api", "version %lu (want %lu)", (unsigned long)api,
	      KVM_API_VERSION);
	int vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	check(vm >= 0, "create_vm", "errno %lu%lu", (unsigned long)errno, 0);
	if (vm < 0)
		goto out;
	uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		check(0, "mmap", "errno %lu%lu", (unsigned long)errno, 0);
		goto out;
	}
	memcpy(mem + CODE, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	int rc = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
	check(rc == 0, "memory_region", "errno %lu%lu", (unsigned long)errno, 0);
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
	check(vcpu >= 0, "create_vcpu", "errno %lu%lu", (unsigned long)errno, 0);
	if (rc || vcpu < 0)
		goto out;
	/* Direct virtual flush (leaf 0x4000000A bit 17, hv.efi's
	 * nested/dflush.c): KVM offers the capability only when Hyper-V (here
	 * hv.efi) does; enabling it sets nested_flush_hypercall, the VM id and
	 * the partition assist page in this vCPU's VMCB, and every exit below
	 * then runs with it (the real-mode guest makes no hypercall). */
#ifndef KVM_CAP_HYPERV_DIRECT_TLBFLUSH
#define KVM_CAP_HYPERV_DIRECT_TLBFLUSH 175
#endif
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_HYPERV_DIRECT_TLBFLUSH) > 0) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_HYPERV_DIRECT_TLBFLUSH };
		int ec = ioctl(vcpu, KVM_ENABLE_CAP, &cap);
		check(ec == 0, "direct_tlbflush.enable", "rc %lu errno %lu", (unsigned long)ec,
		      (unsigned long)errno);
	} else {
		printf("kvmtest: note: KVM_CAP_HYPERV_DIRECT_TLBFLUSH not offered\n");
	}
	int sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_run *r = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (sz <= 0 || r == MAP_FAILED) {
		check(0, "mmap_run", "size %lu errno %lu", (unsigned long)sz, (unsigned long)errno);
		goto out;
	}
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		check(0, "sregs", "errno %lu%lu", (unsigned long)errno, 0);
		goto out;
	}
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds = sregs.es = sregs.cs;
	sregs.ds.type = sregs.es.type = 3; /* data, read/write, accessed */
	struct kvm_regs regs = { .rip = CODE, .rflags = 2, .rsp = 0xf00 };
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
		check(0, "set_regs", "errno %lu%lu", (unsigned long)errno, 0);
		goto out;
	}

	expect_io(vcpu, r, "io.out8", KVM_EXIT_IO_OUT, 0x10, 1, 0x42);
	expect_io(vcpu, r, "io.out16", KVM_EXIT_IO_OUT, 0x501, 2, 0xbeef);
	expect_io(vcpu, r, "io.in8", KVM_EXIT_IO_IN, 0x61, 1, 0x5a);
	expect_io(vcpu, r, "io.in8_result", KVM_EXIT_IO_OUT, 0x10, 1, 0x5b);
	expect_io(vcpu, r, "io.pages_done", KVM_EXIT_IO_OUT, 0x10, 1, 64);
	uint16_t w;
	memcpy(&w, mem + 0x2000, 2);
	check(w == 0xcafe, "mem.store", "[0x2000] = %lx (want %lx)", w, 0xcafe);
	int bad = 0;
	for (unsigned i = 0; i < 64; i++) {
		memcpy(&w, mem + 0x3000 + i * 0x1000 + 8, 2);
		if (w != 64 - i)
			bad++;
	}
	check(bad == 0, "mem.pages", "%lu of 64 pages wrong%lu", (unsigned long)bad, 0);
	/* The second slot: the guest stores into it, then KVM deletes it
	 * (zapping its nested page table entries and flushing: the nested
	 * flush hypercalls when hv.efi offers them, else a new ASID), and
	 * the same store must reach KVM as MMIO, not the old page. */
	uint8_t *mem2 = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct kvm_userspace_memory_region slot1 = {
		.slot = 1, .guest_phys_addr = 0x50000, .memory_size = 0x1000,
		.userspace_addr = (uintptr_t)mem2,
	};
	check(mem2 != MAP_FAILED && ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot1) == 0, "slot1.add",
	      "errno %lu%lu", (unsigned long)errno, 0);
	expect_io(vcpu, r, "slot1.stored", KVM_EXIT_IO_OUT, 0x10, 1, 0x77);
	memcpy(&w, mem2, 2);
	check(w == 0x1111, "slot1.store", "[0x50000] = %lx (want %lx)", w, 0x1111);
	/* Dirty logging: KVM write-protects the slot in its nested page
	 * tables and flushes, without a new root (HvFlushGuestPhysical-
	 * AddressList with the enlightened NPT TLB, else a new ASID). The
	 * next store must fault into KVM, which logs the page: a stale
	 * writable mapping in hv.efi's shadow would let it through unseen. */
	slot1.flags = KVM_MEM_LOG_DIRTY_PAGES;
	check(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot1) == 0, "slot1.dirty_log_on", "errno %lu%lu",
	      (unsigned long)errno, 0);
	expect_io(vcpu, r, "slot1.stored_again", KVM_EXIT_IO_OUT, 0x10, 1, 0x78);
	uint64_t bitmap = 0;
	struct kvm_dirty_log dlog = { .slot = 1, .dirty_bitmap = &bitmap };
	check(ioctl(vm, KVM_GET_DIRTY_LOG, &dlog) == 0 && (bitmap & 1), "slot1.dirty_logged",
	      "dirty bitmap %lx (want bit 0: the store after write protection was not seen) %lu",
	      (unsigned long)bitmap, 0);
	memcpy(&w, mem2, 2);
	check(w == 0x3333, "slot1.store_again", "[0x50000] = %lx (want %lx)", w, 0x3333);
	slot1.memory_size = 0;
	slot1.flags = 0;
	check(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot1) == 0, "slot1.delete", "errno %lu%lu",
	      (unsigned long)errno, 0);
	int why = run(vcpu, r);
	check(why == KVM_EXIT_MMIO && r->mmio.phys_addr == 0x50000 && r->mmio.is_write &&
	      r->mmio.len == 2 && r->mmio.data[0] == 0x22, "slot1.deleted_mmio",
	      "exit %lu at %lx (want KVM_EXIT_MMIO at 0x50000)", (unsigned long)why,
	      (unsigned long)r->mmio.phys_addr);
	memcpy(&w, mem2, 2);
	check(w == 0x3333, "slot1.stale_untouched", "old page [0] = %lx (want %lx: a stale mapping was used)",
	      w, 0x3333);
	why = run(vcpu, r);
	check(why == KVM_EXIT_HLT, "hlt", "exit reason %lu (want KVM_EXIT_HLT %lu)",
	      (unsigned long)why, KVM_EXIT_HLT);
	struct kvm_regs after;
	if (ioctl(vcpu, KVM_GET_REGS, &after) == 0)
		check(after.rip == CODE + sizeof(code), "hlt.rip", "rip %lx (want %lx)",
		      (unsigned long)after.rip, (unsigned long)(CODE + sizeof(code)));
out:
	if (failed)
		printf("kvmtest: FAILED %d\n", failed);
	else
		printf("kvmtest: PASS\n");
	fflush(stdout);
	return failed ? 1 : 0;
}
