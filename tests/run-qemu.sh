#!/usr/bin/env bash
# tests/run-qemu.sh - boot hv.efi (or a guest alone) under QEMU TCG with SVM.
#
#   tests/run-qemu.sh [--interactive] [--no-hv] [--guest NAME] [--smp N]
#                     [--log FILE] [--timeout SECONDS] [--name NAME]
#                     [--cfg-guest PATH] [--startup CMD] [--no-bootx64]
#                     [--guest-args ARGS] [--linux] [--hv-log LEVEL]
#                     [--accel tcg|kvm|auto] [--nested] [--gdb-tcp PORT]
#
# Builds the ESP directory build/esp-NAME/:
#   EFI/BOOT/BOOTX64.EFI   build/hv.efi (with --no-hv: the guest itself)
#   EFI/hv/NAME.efi        build/tests/NAME.efi (the guest, default payload)
#   EFI/hv/hv.cfg          guest=\EFI\hv\NAME.efi / guest_args=
# and boots it with OVMF. hv.efi is also at EFI/hv/hv.efi. --cfg-guest sets
# the guest= path in hv.cfg, --startup writes CMD to startup.nsh (run by the
# UEFI shell, after its 5 s countdown), --no-bootx64 leaves BOOTX64.EFI out
# (the firmware then falls through to its shell). Serial output goes to the log file (default
# build/NAME.serial.log); --interactive puts serial + monitor on stdio
# (Ctrl-A X quits) with no timeout.
#
# --linux: the guest is Debian's kernel from build/linux/ (tests/linux/
# fetch.sh), as EFI/linux/vmlinuz.efi with EFI/linux/initrd.img; hv.cfg
# gets guest=\EFI\linux\vmlinuz.efi and guest_args=initrd=\EFI\linux\
# initrd.img console=ttyS0, followed by --guest-args if given (e.g.
# hvtest=facts, see tests/linux/init). With --no-hv the UEFI shell starts
# the kernel with the same command line (startup.nsh). --hv-log sets log=
# in hv.cfg.
#
# --nested: nested=on in hv.cfg (SVM for the guest, docs/nested.md), and
# nested=on added to the guest's load options (the payload then expects
# SVM, tests/payload/checks_nested_svm.c).
#
# --gdb-tcp PORT: gdb=2f8 in hv.cfg (the GDB stub on COM2, docs/debugging.md)
# and COM2 as a TCP server on 127.0.0.1:PORT for gdb (target remote :PORT).
#
# --accel: tcg (the default, what the tests use: -cpu qemu64,+svm,+npt,
# the same on every machine), kvm (-accel kvm -cpu host: the host's own
# VMX or SVM through KVM's nested virtualization, so hv.efi picks the
# backend of the host's vendor), or auto (kvm when /dev/kvm is usable,
# else tcg; `make run` uses it). The choice is printed.
#
# The QEMU exit status is not a verdict (poweroff and isa-debug-exit differ):
# callers judge the serial log. This script exits non-zero only if it could
# not start the run. A run is stopped early (after a 2 s grace period) once
# the log shows a firmware exception dump, a payload abort or a PANIC.
set -euo pipefail

# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '2,36p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

interactive=0
no_hv=0
guest=payload
smp=1
log=
timeout_s=120
name=
cfg_guest=
guest_args=
startup=
no_bootx64=0
linux=0
hv_log=
accel=tcg
nested=0
gdb_tcp=

while [[ $# -gt 0 ]]; do
	case "$1" in
	--interactive) interactive=1 ;;
	--no-hv) no_hv=1 ;;
	--nested) nested=1 ;;
	--gdb-tcp) gdb_tcp="${2:?--gdb-tcp needs a port}"; shift ;;
	--guest) guest="${2:?--guest needs a value}"; shift ;;
	--accel) accel="${2:?--accel needs tcg, kvm or auto}"; shift ;;
	--smp) smp="${2:?--smp needs a value}"; shift ;;
	--log) log="${2:?--log needs a value}"; shift ;;
	--timeout) timeout_s="${2:?--timeout needs a value}"; shift ;;
	--name) name="${2:?--name needs a value}"; shift ;;
	--cfg-guest) cfg_guest="${2:?--cfg-guest needs a value}"; shift ;;
	--guest-args) guest_args="${2:?--guest-args needs a value}"; shift ;;
	--startup) startup="${2:?--startup needs a value}"; shift ;;
	--no-bootx64) no_bootx64=1 ;;
	--linux) linux=1 ;;
	--hv-log) hv_log="${2:?--hv-log needs a value}"; shift ;;
	-h | --help) usage ;;
	*) echo "run-qemu: unknown argument: $1" >&2; usage ;;
	esac
	shift
done
[[ $nested == 0 ]] || guest_args="${guest_args:+$guest_args }nested=on"

if [[ $linux == 1 ]]; then
	guest=linux
	linux_args='initrd=\EFI\linux\initrd.img console=ttyS0'
	guest_args="$linux_args${guest_args:+ $guest_args}"
fi
if [[ -z "$name" ]]; then
	name="svm-$guest"
	[[ $no_hv == 1 ]] && name="$name-nohv"
fi
[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "run-qemu: bad --name '$name'" >&2; exit 2; }
[[ "$guest" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "run-qemu: bad --guest '$guest'" >&2; exit 2; }
[[ "$smp" =~ ^[0-9]+$ ]] || { echo "run-qemu: bad --smp '$smp'" >&2; exit 2; }
[[ "$timeout_s" =~ ^[0-9]+$ ]] || { echo "run-qemu: bad --timeout '$timeout_s'" >&2; exit 2; }
[[ -n "$log" ]] || log="$HV_BUILD/$name.serial.log"

hv_efi="$HV_BUILD/hv.efi"
guest_efi="$HV_BUILD/tests/$guest.efi"
linux_dir="$HV_BUILD/linux"
[[ $linux == 1 ]] && guest_efi="$linux_dir/vmlinuz.efi"
for f in "$guest_efi" "$OVMF_CODE" "$OVMF_VARS"; do
	[[ -f "$f" ]] || { echo "run-qemu: missing $f" >&2; exit 3; }
done
if [[ $no_hv == 0 && ! -f "$hv_efi" ]]; then
	echo "run-qemu: missing $hv_efi (build it, or use --no-hv)" >&2
	exit 3
fi

# ---- the ESP directory -------------------------------------------------
esp="$HV_BUILD/esp-$name"
rm -rf "$esp"
mkdir -p "$esp/EFI/BOOT" "$esp/EFI/hv"
if [[ $linux == 1 ]]; then
	[[ -f "$linux_dir/initrd.img" ]] || { echo "run-qemu: missing $linux_dir/initrd.img" >&2; exit 3; }
	mkdir -p "$esp/EFI/linux"
	cp "$guest_efi" "$esp/EFI/linux/vmlinuz.efi"
	cp "$linux_dir/initrd.img" "$esp/EFI/linux/initrd.img"
	[[ -n "$cfg_guest" ]] || cfg_guest='\EFI\linux\vmlinuz.efi'
fi
[[ -n "$cfg_guest" ]] || cfg_guest="\\EFI\\hv\\$guest.efi"
if [[ $no_hv == 1 && $linux == 1 ]]; then
	# The kernel needs its command line: the UEFI shell gives it one.
	no_bootx64=1
	[[ -n "$startup" ]] || startup="fs0:$cfg_guest $guest_args"
elif [[ $no_hv == 1 ]]; then
	[[ $no_bootx64 == 1 ]] || cp "$guest_efi" "$esp/EFI/BOOT/BOOTX64.EFI"
	cp "$guest_efi" "$esp/EFI/hv/$guest.efi"
else
	[[ $no_bootx64 == 1 ]] || cp "$hv_efi" "$esp/EFI/BOOT/BOOTX64.EFI"
	cp "$hv_efi" "$esp/EFI/hv/hv.efi"
	[[ $linux == 1 ]] || cp "$guest_efi" "$esp/EFI/hv/$guest.efi"
	# QEMU's TCG TSC runs at a constant rate but CPUID does not say so:
	# assert it, so the reference TSC page is valid (TLFS 12.3).
	printf 'guest=%s\nguest_args=%s\ninvariant_tsc=yes\n' "$cfg_guest" "$guest_args" \
		>"$esp/EFI/hv/hv.cfg"
	[[ -z "$hv_log" ]] || printf 'log=%s\n' "$hv_log" >>"$esp/EFI/hv/hv.cfg"
	[[ $nested == 0 ]] || printf 'nested=on\n' >>"$esp/EFI/hv/hv.cfg"
	[[ -z "$gdb_tcp" ]] || printf 'gdb=2f8\n' >>"$esp/EFI/hv/hv.cfg"
fi
[[ -z "$startup" ]] || printf '%s\r\n' "$startup" >"$esp/startup.nsh"

vars="$HV_BUILD/ovmf-vars-$name.fd"
cp "$OVMF_VARS" "$vars"

case "$accel" in
auto) if [[ -r /dev/kvm && -w /dev/kvm ]]; then accel=kvm; else accel=tcg; fi ;;
tcg | kvm) ;;
*) echo "run-qemu: --accel must be tcg, kvm or auto" >&2; exit 2 ;;
esac
if [[ $accel == kvm ]]; then
	accel_args=(-accel kvm -cpu host)
	echo "run-qemu: KVM (-cpu host): hv.efi runs on the host's VMX or SVM through nested virtualization" >&2
else
	accel_args=(-accel tcg -cpu qemu64,+svm,+npt)
	[[ $interactive == 0 ]] || echo "run-qemu: TCG (-cpu qemu64,+svm,+npt): no usable /dev/kvm, or --accel tcg" >&2
fi

qemu=(qemu-system-x86_64
	-machine q35 "${accel_args[@]}" -smp "$smp" -m 512M
	-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
	-drive "if=pflash,format=raw,unit=1,file=$vars"
	-drive "format=raw,file=fat:rw:$esp"
	-nic none -display none -no-reboot
	-device isa-debug-exit,iobase=0xf4,iosize=0x04)

if [[ $interactive == 1 ]]; then
	echo "run-qemu: $name: interactive (Ctrl-A X quits)"
	exec "${qemu[@]}" -serial mon:stdio
fi

mkdir -p "$(dirname "$log")"
: >"$log"
qemu+=(-serial "file:$log" -monitor none -parallel none)
[[ -z "$gdb_tcp" ]] || qemu+=(-serial "tcp:127.0.0.1:$gdb_tcp,server=on,wait=off")

# Patterns after which nothing useful follows: stop instead of waiting for
# the timeout. OVMF's exception handler prints "!!!! X64 Exception Type"
# and then spins forever.
stop_re='!!!! X64 Exception|PAYLOAD ABORTED|PANIC'

start=$SECONDS
timeout -k 5 "$timeout_s" "${qemu[@]}" </dev/null &
qpid=$!
stopped=
while kill -0 "$qpid" 2>/dev/null; do
	if [[ -z "$stopped" ]] && LC_ALL=C grep -qaE -- "$stop_re" "$log" 2>/dev/null; then
		stopped=$SECONDS
	fi
	if [[ -n "$stopped" ]] && ((SECONDS - stopped >= 2)); then
		kill -TERM "$qpid" 2>/dev/null || true
		break
	fi
	sleep 0.5
done
rc=0
wait "$qpid" || rc=$?
elapsed=$((SECONDS - start))

note=""
if [[ -n "$stopped" ]]; then
	note=" (stopped early: log matched /$stop_re/)"
elif [[ $rc == 124 || $rc == 137 ]]; then
	note=" (TIMEOUT after ${timeout_s}s)"
fi
echo "run-qemu: $name: qemu exit status $rc after ${elapsed}s$note (not a verdict)"
echo "run-qemu: $name: serial log $log"
exit 0
