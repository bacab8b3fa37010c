#!/usr/bin/env bash
# tests/linux/boot-time.sh - Linux boot time under hv.efi against the same
# boot without it, on QEMU TCG (SVM), for `make bench` (issue 8):
#
#   tests/linux/boot-time.sh [--runs N] [--smp N]
#
# Boots Debian's kernel (tests/linux/fetch.sh) with hvtest=boot, whose
# /init prints "HVTEST: /init reached" and powers off at once: N times
# under hv.efi (hv.cfg starts the kernel) and N times without it (the UEFI
# shell's startup.nsh starts it with the same command line), alternating,
# one run at a time. The boot time of one run is the wall-clock time from
# the EFI stub's first line ("EFI stub: Loaded initrd ...", printed once
# it has read the initramfs) to "HVTEST: /init reached", both seen by
# polling the serial log every 20 ms. Firmware time before the kernel is
# not counted (it differs: the shell adds its 5 s startup.nsh countdown).
# The last line is
#
#   LINUX_BOOT: with_hv S without_hv S ratio R exits <counters>
#
# S are the medians in seconds, R = with_hv / without_hv, and <counters>
# is hv.efi's exit counter line at the guest's ACPI power-off in the
# median run under hv.efi (the reasons and counts: total=... cpuid=...
# msr_read=...), counting every exit from hv.efi's launch (the firmware's
# last steps, the EFI stub and the kernel) to the power-off. That run's
# serial log is copied to build/linux-boot-hv.serial.log (for run-bench.sh's
# HV_BENCH_LINUX_LOG / extract). Exit status 1 if a run did not reach
# /init. Call it when the machine is otherwise idle: the two cores are
# shared by QEMU's threads, and other load lengthens both boots unevenly.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib.sh
source "$here/../lib.sh"

runs=1
smp=1
while [[ $# -gt 0 ]]; do
	case "$1" in
	--runs) runs="${2:?}"; shift ;;
	--smp) smp="${2:?}"; shift ;;
	*) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
	shift
done
[[ "$runs" =~ ^[1-9][0-9]*$ && "$smp" =~ ^[1-9][0-9]*$ ]] || { echo "boot-time: bad --runs/--smp" >&2; exit 2; }
[[ -f "$HV_BUILD/hv.efi" ]] || { echo "boot-time: missing $HV_BUILD/hv.efi (make all)" >&2; exit 3; }
"$here/fetch.sh" >/dev/null

# one_run NAME ARGS...: prints "SECONDS" (or "fail") after the run.
one_run() {
	local name="$1"
	shift
	local log="$HV_BUILD/$name.serial.log"
	rm -f "$log"
	"$HV_ROOT/tests/run-qemu.sh" --name "$name" --timeout 120 --linux --smp "$smp" \
		--guest-args hvtest=boot "$@" >"$HV_BUILD/$name.run.txt" 2>&1 </dev/null &
	local pid=$! t0= t1= now
	while kill -0 "$pid" 2>/dev/null; do
		now="$(date +%s.%N)"
		if [[ -z "$t0" ]] && grep -qa 'EFI stub: Loaded initrd' "$log" 2>/dev/null; then
			t0="$now"
		fi
		if [[ -n "$t0" && -z "$t1" ]] && grep -qa 'HVTEST: /init reached' "$log" 2>/dev/null; then
			t1="$now"
		fi
		sleep 0.02
	done
	wait "$pid" || true
	if [[ -n "$t0" && -n "$t1" ]]; then
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
	else
		echo fail
	fi
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

with=() without=() failed=0
declare -A counters=() runlog=()
for ((i = 1; i <= runs; i++)); do
	s="$(one_run "linux-boot-hv-$i")"
	with+=("$s")
	[[ $s == fail ]] && failed=1
	strip_log "$HV_BUILD/linux-boot-hv-$i.serial.log" "$HV_BUILD/linux-boot-hv-$i.clean.log"
	counters[$s]="$(grep -E 'exit counters vp[0-9]+:' "$HV_BUILD/linux-boot-hv-$i.clean.log" | tail -n 1 |
		sed -E 's/.*exit counters vp[0-9]+: //' || true)"
	runlog[$s]="$HV_BUILD/linux-boot-hv-$i.serial.log"
	s="$(one_run "linux-boot-nohv-$i" --no-hv)"
	without+=("$s")
	[[ $s == fail ]] && failed=1
	echo "boot-time: run $i: with_hv ${with[-1]} s, without_hv $s s" >&2
done
if [[ $failed == 1 ]]; then
	echo "LINUX_BOOT: failed (a run did not reach /init: see $HV_BUILD/linux-boot-*.serial.log)"
	exit 1
fi
mw="$(printf '%s\n' "${with[@]}" | median)"
mn="$(printf '%s\n' "${without[@]}" | median)"
# the counters of the run closest to the median
best=
for s in "${with[@]}"; do
	if [[ -z "$best" ]] || awk -v a="$s" -v b="$best" -v m="$mw" \
		'BEGIN { d = a - m; e = b - m; exit !((d < 0 ? -d : d) < (e < 0 ? -e : e)) }'; then
		best="$s"
	fi
done
cp "${runlog[$best]}" "$HV_BUILD/linux-boot-hv.serial.log"
ratio="$(awk -v a="$mw" -v b="$mn" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')"
echo "LINUX_BOOT: with_hv $mw without_hv $mn ratio $ratio exits ${counters[$best]:-none}"
