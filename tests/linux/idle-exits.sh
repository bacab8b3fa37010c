#!/usr/bin/env bash
# tests/linux/idle-exits.sh - an idle Linux guest's exits per second by
# reason under hv.efi (issue 13, item 6: the APIC path with stimer0):
#
#   tests/linux/idle-exits.sh [--bochs] [--seconds N] [--smp N]
#
# Boots Debian's kernel (tests/linux/fetch.sh) with hvtest=idle
# (tests/linux/init): it idles N s (default 10) between `hvtool mark` (a
# PM1 control write that makes hv.efi log vp0's exit counters) and a
# deliberate crash (whose notification logs them again); the difference
# over N is the idle rate. Without ACPI (Bochs) there is no mark: two
# boots then, idling 0 s and N s, each counted from Linux's
# HV_X64_MSR_GUEST_OS_ID write (the firmware's exits before it grow with
# wall-clock time, not with the idle time). QEMU TCG SVM by default (xAPIC: QEMU 7.2's TCG has no
# x2APIC), --bochs: Bochs corei7_skylake_x (Intel VMX; x2APIC when Linux
# enables it: the log says "x2apic enabled"). Last line:
#
#   LINUX_IDLE: PLATFORM APIC seconds N per_s total=R reason=R ...
#
# Run it on an otherwise idle machine (wall-clock emulation speed).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib.sh
source "$here/../lib.sh"

bochs=0 secs=10 smp=1
while [[ $# -gt 0 ]]; do
	case "$1" in
	--bochs) bochs=1 ;;
	--seconds) secs="${2:?}"; shift ;;
	--smp) smp="${2:?}"; shift ;;
	*) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
	shift
done
[[ -f "$HV_BUILD/hv.efi" ]] || { echo "idle-exits: missing $HV_BUILD/hv.efi (make all)" >&2; exit 3; }
"$here/fetch.sh" >/dev/null

# run S: boot with an idle of S seconds (the serial log is kept).
run() {
	local s="$1" name="linux-idle-$bochs-$1" log
	log="$HV_BUILD/$name.serial.log"
	rm -f "$log"
	if [[ $bochs == 1 ]]; then
		"$HV_ROOT/tests/run-bochs.sh" --name "$name" --model corei7_skylake_x --linux \
			--guest-args "hvtest=idle hvidle=$s noxsave" --timeout $((420 + 4 * s)) \
			>"$HV_BUILD/$name.run.txt" 2>&1 </dev/null || true
	else
		"$HV_ROOT/tests/run-qemu.sh" --name "$name" --timeout $((150 + 2 * s)) --linux --smp "$smp" \
			--guest-args "hvtest=idle hvidle=$s" >"$HV_BUILD/$name.run.txt" 2>&1 </dev/null || true
	fi
	strip_log "$log" "$HV_BUILD/$name.clean.log"
}
# counters NAME AFTER: the "exit counters vp0 since the guest OS ID" line
# after the first line matching AFTER.
counters() {
	awk -v pat="$2" '$0 ~ pat { n = 1 } n && /exit counters vp0 since the guest OS ID:/ { sub(/.*exit counters vp0 since the guest OS ID: /, ""); print; exit }' \
		"$HV_BUILD/$1.clean.log"
}

# One boot: hvtool mark (a PM1 control write hv.efi logs) starts the idle,
# the crash notification ends it. Without a FADT (Bochs) there is no mark:
# then two boots, idle 0 s and N s, and the difference (each counted from
# Linux's HV_X64_MSR_GUEST_OS_ID write: the firmware's exits before it
# grow with wall-clock time, not with the idle time).
run "$secs"
b="$(counters "linux-idle-$bochs-$secs" 'guest crash notification from vp0')"
a="$(counters "linux-idle-$bochs-$secs" 'guest writes PM1 control')"
how="one boot, from hvtool mark to the crash"
if [[ -z "$a" ]]; then
	run 0
	a="$(counters "linux-idle-$bochs-0" 'guest crash notification from vp0')"
	how="two boots (no mark), idle 0 s and $secs s"
fi
apic=xapic
grep -q 'x2apic enabled' "$HV_BUILD/linux-idle-$bochs-$secs.clean.log" && apic=x2apic
plat=qemu-svm
[[ $bochs == 1 ]] && plat=bochs-vmx
if [[ -z "$a" || -z "$b" ]]; then
	echo "LINUX_IDLE: $plat $apic failed (no exit counters after the crash notification: see $HV_BUILD/linux-idle-$bochs-*.serial.log)"
	exit 1
fi
echo "idle-exits: $how" >&2
echo "idle-exits: start: $a" >&2
echo "idle-exits: end:   $b" >&2
rates="$(awk -v a="$a" -v b="$b" -v n="$secs" 'BEGIN {
	na = split(a, x, " "); for (i = 1; i <= na; i++) { split(x[i], kv, "="); va[kv[1]] = kv[2] }
	nb = split(b, y, " "); out = ""
	for (i = 1; i <= nb; i++) { split(y[i], kv, "="); d = (kv[2] - va[kv[1]]) / n
		out = out sprintf(" %s=%.1f", kv[1], d) }
	print substr(out, 2) }')"
echo "LINUX_IDLE: $plat $apic seconds $secs per_s $rates"
