#!/usr/bin/env python3
"""tests/fuzz/make_seeds.py - write the meaningful seed inputs of the fuzz
targets into tests/fuzz/corpus/<target>/ (docs/reliability.md). Each
encoder mirrors the reader of its target (tests/fuzz/harness.c and
fuzz_<target>.c), so every seed starts the fuzzer at a real operation:
every implemented hypercall in its slow, fast and rep forms with a
well-formed header, every overlay MSR moved over RAM, the APIC page and
hypervisor memory, the store forms of the xAPIC emulation, page tables
of each paging mode, typical hv.cfg texts. The corpora also hold inputs
libFuzzer found that add coverage (merged with -merge=1)."""
import hashlib, os, struct, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
u8 = lambda v: struct.pack("<B", v & 0xff)
u16 = lambda v: struct.pack("<H", v & 0xffff)
u32 = lambda v: struct.pack("<I", v & 0xffffffff)
u64 = lambda v: struct.pack("<Q", v & 0xffffffffffffffff)

def write(target, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

# fz_gpa: sel & 15 picks the kind, (sel >> 4) & 7 one of the offsets
# {0, 8, 0x10, 0x7f8, 0xff0, 0xff8, 0xffc, 0xfff}.
def gpa_ram(page, off_idx=0): return u8(0 | (off_idx << 4)) + u8(page)
def gpa_kind(kind, off_idx=0, extra=b"\x00"): return u8(kind | (off_idx << 4)) + extra

CODES = 15  # fz_call_code's list (0x0001 ... 0x8001)
REP = {2, 9, 10, 13}  # list flush, get/set registers, VP index from APIC ID (by list index)
VARHDR = {5, 6, 7}

def call(v, ci, fast=False, count=0, start=0, var_hdr=0, in_page=0, out_page=1,
         block=b"", self_pid=True, xmm=b"", mode32=False):
    form = (1 if fast else 0) | (2 if count else 0) | (8 if start else 0) | \
           (0x10 if var_hdr else 0) | (0xc0 if mode32 else 0)
    out = u8(0) + u8(v) + u8(ci) + u8(form)
    if count:
        out += u8(count - 1)
        if start:
            out += u8(start)
    if var_hdr:
        out += u8(var_hdr)
    extra = (8 if self_pid else 0) | (0x10 if xmm else 0)
    out += u8(extra) + gpa_ram(in_page) + gpa_ram(out_page)
    out += u8(len(block)) + block
    if xmm:
        out += xmm.ljust(96, b"\0")
    return out

def hypercall_seeds():
    for n in (0, 1, 3):
        for ci in range(CODES):
            count = 2 if ci in REP else 0
            vh = 1 if ci in VARHDR else 0
            body = u32(0) + u32(0xff) + u64(0) + u64(1) + u64(0)  # VP index 0 .. a mask
            for fast in (False, True):
                write("hypercall", u8(n) + call(0, ci, fast, count, 0, vh, block=body))
            write("hypercall", u8(n) + call(n, ci, False, count, 1 if count else 0, vh,
                                           block=body, mode32=True))
    # Get/SetVpRegisters of each register block, translate with tables.
    for reg in (0x20000, 0x20010, 0x40000, 0x40003, 0x60001, 0x80001, 0x90001, 0x90013, 0x90017, 0x100):
        blk = u32(0xfffffffe) + u32(0) + u32(reg) + u32(0) + u64(0) + u64(0x1000)
        write("hypercall", u8(1) + call(0, 9, False, 1, 0, block=blk))
        write("hypercall", u8(1) + call(0, 10, False, 1, 0, block=blk))

def msr_op(v, which, kind_val):
    # fz_op_msr: v, sel (bit 0: one of the overlay MSRs, bits 1-2 which,
    # bits 3-4 value kind), then the value.
    return u8(v) + u8(1 | (which << 1) | (1 << 3) | 0x40) + kind_val

def msr_seeds():
    for which in range(4):
        for target in (gpa_ram(3), gpa_kind(8), gpa_kind(10, 0, b"\x05"), gpa_kind(12), gpa_kind(13, 0, b"\x01")):
            # enable (value kind 1: gpa | 1), then move it to RAM page 5
            data = u8(4) + u8(0) + msr_op(0, which, target) + u8(0) + msr_op(0, which, gpa_ram(5))
            write("msr", data)
    for m in range(0, 0x110, 3):  # reads across appendix C's window
        write("msr", u8(5) + u8(0) + u8(0) + u8(0x20) + u8(m))

def decode_seeds():
    for n in (1, 2, 4, 64):
        # vpset: banks, shape (well-formed sparse/all), bytes
        write("decode", u8(n) + u8(0) + u8(0) + u8(1) + u8(1 | 4) + u64(0) + u64(1) + u64((1 << n) - 1 if n < 64 else ~0))
        write("decode", u8(n) + u8(0) + u8(0) + u8(0) + u8(1 | 2) + u64(1) + u64(0))
        write("decode", u8(n) + u8(0) + u8(1) + u8(1) + u8(0x10) + u8(0))
    ctx = u64(0x1000) + u64(0x8000) + u64(2)  # RIP, RSP, RFLAGS
    write("decode", u8(2) + u8(0) + u8(2) + ctx.ljust(224, b"\0") + u32(0x3ff))

STORES = [b"\x89\x0a", b"\xa3\x10\x03\xe0\xfe\x00\x00\x00\x00", b"\xc7\x80\xb0\x00\x00\x00\x78\x56\x34\x12",
          b"\x87\x0a", b"\xf3\xab", b"\xaa", b"\x83\x0d\x80\x00\xe0\xfe\x00", b"\x0f\xab\x0a",
          b"\x0f\xc1\x0a", b"\x0f\xb1\x0a", b"\xf6\x12", b"\xfe\x02", b"\x66\x89\x0a", b"\x0f\xc3\x0a",
          b"\x48\x89\x0a", b"\x88\x62\x05", b"\xf0\x01\x0a", b"\x81\x32\x00\x00\x00\x80"]

def emulate_seeds():
    for s in STORES:
        for mode in range(3):
            write("emulate", u8(1) + u8(mode) + u8(len(s)) + s.ljust(15, b"\x90") + u64(0x1234) + u64(0x1f) + u64(0x202))
            # the whole store: mode/x2APIC bits, RIP page, bytes, registers
            write("emulate", u8(0) + u8(mode | 8) + u32(0x2000) + s.ljust(15, b"\x90") +
                  bytes(16) + u32(0) + bytes(256) + u16(0x300))
            write("emulate", u8(0) + u8(mode | 4 | 8) + u32(0x2000) + s.ljust(15, b"\x90") +
                  bytes(16) + u32(0) + bytes(256) + u16(0xff0))

def walk_seeds():
    # 4-level: PML4 page 0, PDPT page 1, PD page 2 (2M pages), via pokes
    # of entries pointing into RAM (fz_op_poke: off, len, 1, page, low12).
    def entry(off, page, low): return u16(off) + u8(0) + u8(1) + u8(page) + u16(low)
    tables = entry(0x0000, 1, 0x067) + entry(0x1000, 2, 0x067) + entry(0x2000, 0, 0x0e7) + entry(0x2008, 3, 0x067) + \
             entry(0x3000, 4, 0x063) + entry(0x3008, 5, 0x165)
    for mode in (0x27 | 0x40, 0x07, 0x05 | 0x08, 0x01, 0x35, 0x02):
        for flags in (0x01, 0x03, 0x13, 0x0c, 0x04):
            write("walk", u8(0) + u8(6) + tables + u8(mode) + u8(0) + u8(0) + u8(0) + u8(0) + u8(0) + u8(0) + u8(0) +
                  u8(0) + u32(0x1000) + u8(flags) + u8(0))

def config_seeds():
    texts = [b"guest=\\EFI\\Boot\\payload.efi\nlog=debug\nserial=3f8\n",
             b"# comment\r\n guest = \\EFI\\linux\\vmlinuz.efi \r\nguest_args=console=ttyS0 initrd=\\i.img\n",
             b"invariant_tsc=yes\nserial=none\nlog=warn\n", b"bogus\nserial=0x\nlog=loud\n",
             b"guest=" + b"A" * 300 + b"\n"]
    for t in texts:
        write("config", u8(0) + t)
    for c in (b"hv.efi log=debug;serial=2f8", b"hv.efi", b"guest=\\x.efi;guest_args=a=b c", b"  ;;=;"):
        write("config", u8(1) + c)

if __name__ == "__main__":
    hypercall_seeds(); msr_seeds(); decode_seeds(); emulate_seeds(); walk_seeds(); config_seeds()
