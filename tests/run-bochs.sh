#!/usr/bin/env bash
# tests/run-bochs.sh - boot hv.efi with the test payload under Bochs.
#
#   tests/run-bochs.sh --model tigerlake|ryzen|corei7_skylake_x [--name NAME] [--timeout S]
#                      [--log FILE] [--guest NAME] [--no-hv] [--ips N]
#                      [--hv-log error|warn|info|debug] [--smp N] [--nested]
#                      [--gdb-socket PORT]
# --gdb-socket PORT: gdb=2f8 in hv.cfg (the GDB stub, docs/debugging.md)
# and COM2 as a TCP server on localhost:PORT; Bochs waits for a client
# there before it starts (tests/run-gdb.sh --bochs bridges gdb to it).
#
# --nested: nested=on in hv.cfg and in the payload's load options (SVM or
# VMX for the guest, docs/nested.md; tests/payload/checks_nested_svm.c);
# with --linux in hv.cfg only (Linux's KVM as L1, vmx-skx-linux-kvm).
#
# tigerlake is Intel VMX (EPT, VPID, unrestricted guest), ryzen is AMD SVM
# with nRIP save. Builds build/bochs-NAME/ with a FAT16 disk image esp.img
# (65x16x63 sectors):
#   EFI/BOOT/BOOTX64.EFI   build/hv.efi (with --no-hv: the guest itself)
#   EFI/hv/NAME.efi        build/tests/NAME.efi (the guest, default payload)
#   EFI/hv/hv.cfg          guest=\EFI\hv\NAME.efi
# a bochsrc and cont.rc (Debian's Bochs has a debugger that stops at start),
# and runs bochs-bin under `timeout`. Serial output goes to the log file
# (default build/NAME.serial.log), Bochs's own log to build/bochs-NAME/
# bochs.log (it names the failing check of a rejected VM entry).
#
# Bochs's exit status is not a verdict (the payload's "Shutdown" on port
# 0x8900 exits with status 1): callers judge the serial log. The run is
# stopped early (2 s grace) once the log shows PAYLOAD DONE, a payload
# abort, a PANIC or a firmware exception dump. Run one Bochs at a time.
#
# --guest-args ARGS: the guest's command line (hv.cfg guest_args), e.g.
# seed=N ops=N for the guest fuzzer (tests/run-gfuzz.sh).
# --linux [--guest-args ARGS]: the guest is Debian's kernel from
# build/linux/ (tests/linux/fetch.sh) as EFI/linux/vmlinuz.efi with
# EFI/linux/initrd.img, started with initrd=... console=ttyS0 ARGS (by
# hv.efi, or with --no-hv by the UEFI shell's startup.nsh). Linux runs on
# corei7_skylake_x (see shared docs/emulators.md); the run also stops once
# Linux powers down, halts, restarts or panics (Bochs has no ACPI tables).
set -euo pipefail

# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '2,39p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

model=
name=
timeout_s=300
log=
guest=payload
no_hv=0
ips=120000000
hv_log=
linux=0
guest_args=
nested=0
gdb_socket=

smp=1
while [[ $# -gt 0 ]]; do
	case "$1" in
	--model) model="${2:?--model needs a value}"; shift ;;
	--name) name="${2:?--name needs a value}"; shift ;;
	--timeout) timeout_s="${2:?--timeout needs a value}"; shift ;;
	--log) log="${2:?--log needs a value}"; shift ;;
	--guest) guest="${2:?--guest needs a value}"; shift ;;
	--no-hv) no_hv=1 ;;
	--nested) nested=1 ;;
	--gdb-socket) gdb_socket="${2:?--gdb-socket needs a port}"; shift ;;
	--ips) ips="${2:?--ips needs a value}"; shift ;;
	--smp) smp="${2:?--smp needs a value}"; shift ;;
	--hv-log) hv_log="${2:?--hv-log needs a value}"; shift ;;
	--linux) linux=1 ;;
	--guest-args) guest_args="${2:?--guest-args needs a value}"; shift ;;
	-h | --help) usage ;;
	*) echo "run-bochs: unknown argument: $1" >&2; usage ;;
	esac
	shift
done

case "$model" in
tigerlake) default_name=vmx ;;
ryzen) default_name=svm-bochs ;;
corei7_skylake_x) default_name=vmx-skx ;;
*) echo "run-bochs: --model must be tigerlake, ryzen or corei7_skylake_x" >&2; usage ;;
esac
if [[ $linux == 1 ]]; then
	guest=linux
	guest_args="initrd=\\EFI\\linux\\initrd.img console=ttyS0${guest_args:+ $guest_args}"
fi
if [[ -z "$name" ]]; then
	name="$default_name-$guest"
	[[ $no_hv == 1 ]] && name="$name-nohv"
fi
[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "run-bochs: bad --name '$name'" >&2; exit 2; }
[[ "$guest" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "run-bochs: bad --guest '$guest'" >&2; exit 2; }
[[ "$timeout_s" =~ ^[0-9]+$ ]] || { echo "run-bochs: bad --timeout '$timeout_s'" >&2; exit 2; }
[[ "$ips" =~ ^[0-9]+$ ]] || { echo "run-bochs: bad --ips '$ips'" >&2; exit 2; }
[[ -n "$log" ]] || log="$HV_BUILD/$name.serial.log"
case "$log" in /*) ;; *) log="$PWD/$log" ;; esac

OVMF_FD="${OVMF_FD:-/usr/share/ovmf/OVMF.fd}"
VGABIOS="${VGABIOS:-/usr/share/bochs/VGABIOS-lgpl-latest}"
hv_efi="$HV_BUILD/hv.efi"
guest_efi="$HV_BUILD/tests/$guest.efi"
[[ $linux == 1 ]] && guest_efi="$HV_BUILD/linux/vmlinuz.efi"
for f in "$guest_efi" "$OVMF_FD" "$VGABIOS"; do
	[[ -f "$f" ]] || { echo "run-bochs: missing $f" >&2; exit 3; }
done
if [[ $no_hv == 0 && ! -f "$hv_efi" ]]; then
	echo "run-bochs: missing $hv_efi (build it, or use --no-hv)" >&2
	exit 3
fi
for t in bochs-bin mkfs.vfat mmd mcopy; do
	command -v "$t" >/dev/null || { echo "run-bochs: $t not installed" >&2; exit 3; }
done

# ---- the disk image: FAT16, 65 cylinders x 16 heads x 63 sectors ---------
dir="$HV_BUILD/bochs-$name"
rm -rf "$dir"
mkdir -p "$dir"
img="$dir/esp.img"
dd if=/dev/zero of="$img" bs=512 count=$((65 * 16 * 63)) status=none
mkfs.vfat -F 16 -n HVESP "$img" >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$img" ::/EFI ::/EFI/BOOT ::/EFI/hv
if [[ $linux == 1 ]]; then
	[[ -f "$HV_BUILD/linux/initrd.img" ]] || { echo "run-bochs: missing $HV_BUILD/linux/initrd.img" >&2; exit 3; }
	mmd -i "$img" ::/EFI/linux
	mcopy -i "$img" "$guest_efi" ::/EFI/linux/vmlinuz.efi
	mcopy -i "$img" "$HV_BUILD/linux/initrd.img" ::/EFI/linux/initrd.img
	if [[ $no_hv == 1 ]]; then
		printf 'fs0:\\EFI\\linux\\vmlinuz.efi %s\r\n' "$guest_args" >"$dir/startup.nsh"
		mcopy -i "$img" "$dir/startup.nsh" ::/startup.nsh
	else
		mcopy -i "$img" "$hv_efi" ::/EFI/BOOT/BOOTX64.EFI
		printf 'guest=\\EFI\\linux\\vmlinuz.efi\nguest_args=%s\n' "$guest_args" >"$dir/hv.cfg"
		[[ -z "$hv_log" ]] || printf 'log=%s\n' "$hv_log" >>"$dir/hv.cfg"
		# Linux's KVM as L1 (tests/linux/init hvtest=kvm): only hv.cfg
		# (Linux's command line takes no nested=on).
		[[ $nested == 0 ]] || printf 'nested=on\n' >>"$dir/hv.cfg"
		mcopy -i "$img" "$dir/hv.cfg" ::/EFI/hv/hv.cfg
	fi
elif [[ $no_hv == 1 ]]; then
	mcopy -i "$img" "$guest_efi" ::/EFI/BOOT/BOOTX64.EFI
else
	mcopy -i "$img" "$hv_efi" ::/EFI/BOOT/BOOTX64.EFI
	mcopy -i "$img" "$guest_efi" "::/EFI/hv/$guest.efi"
	args="$guest_args"
	[[ $nested == 0 ]] || args="${args:+$args }nested=on"
	printf 'guest=\\EFI\\hv\\%s.efi\nguest_args=%s\n' "$guest" "$args" >"$dir/hv.cfg"
	[[ -z "$hv_log" ]] || printf 'log=%s\n' "$hv_log" >>"$dir/hv.cfg"
	[[ $nested == 0 ]] || printf 'nested=on\n' >>"$dir/hv.cfg"
	[[ -z "$gdb_socket" ]] || printf 'gdb=2f8\n' >>"$dir/hv.cfg"
	mcopy -i "$img" "$dir/hv.cfg" ::/EFI/hv/hv.cfg
fi

# ---- bochsrc (see shared docs/emulators.md) ------------------------------
cat >"$dir/bochsrc" <<EOF
plugin_ctrl: speaker=false, parallel=false, sb16=false, es1370=false, e1000=false, ne2k=false
config_interface: textconfig
display_library: rfb, options="timeout=0"
memory: host=1024, guest=1024
romimage: file="$OVMF_FD", address=0xffe00000, options=none
vgaromimage: file="$VGABIOS"
pci: enabled=1, chipset=i440fx
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=disk, path="esp.img", mode=flat, cylinders=65, heads=16, spt=63
boot: disk
cpu: count=$smp, ips=$ips, model=$model, reset_on_triple_fault=0, ignore_bad_msrs=1
clock: sync=none, time0=local
log: bochs.log
panic: action=fatal
magic_break: enabled=1
com1: enabled=1, mode=file, dev="$log"
EOF
[[ -z "$gdb_socket" ]] || echo "com2: enabled=1, mode=socket-server, dev=localhost:$gdb_socket" >>"$dir/bochsrc"
echo c >"$dir/cont.rc"

mkdir -p "$(dirname "$log")"
: >"$log"

stop_re='PAYLOAD DONE|PAYLOAD ABORTED|PANIC|!!!! X64 Exception'
[[ $linux == 0 ]] ||
	stop_re+='|reboot: Power down|reboot: System halted|reboot: Restarting system|end Kernel panic'
start=$SECONDS
(cd "$dir" && exec timeout -k 5 "$timeout_s" bochs-bin -q -f bochsrc -rc cont.rc \
	</dev/null >"$dir/bochs.out" 2>&1) &
bpid=$!
stopped=
while kill -0 "$bpid" 2>/dev/null; do
	if [[ -z "$stopped" ]] && LC_ALL=C grep -qaE -- "$stop_re" "$log" 2>/dev/null; then
		stopped=$SECONDS
	fi
	if [[ -n "$stopped" ]] && ((SECONDS - stopped >= 2)); then
		# The subshell execs timeout, which forwards TERM to Bochs.
		kill -TERM "$bpid" 2>/dev/null || true
		break
	fi
	sleep 0.5
done
rc=0
wait "$bpid" || rc=$?
elapsed=$((SECONDS - start))

note=""
if [[ -n "$stopped" ]]; then
	note=" (stopped: log matched /$stop_re/)"
elif [[ $rc == 124 || $rc == 137 ]]; then
	note=" (TIMEOUT after ${timeout_s}s)"
fi
echo "run-bochs: $name ($model): bochs exit status $rc after ${elapsed}s$note (not a verdict)"
echo "run-bochs: $name: serial log $log, bochs log $dir/bochs.log"
exit 0
