#!/usr/bin/env bash
# tests/bench/profile-bochs.sh - where the instructions of an exit go.
#
#   tests/bench/profile-bochs.sh [--model tigerlake|ryzen] [--op NAME|all] [--nested]
#
# Runs bench.efi under hv.efi on Bochs in profile mode (hv.cfg
# guest_args=profile=NAME): the payload executes each operation once
# between two Bochs magic breakpoints, and the Bochs debugger traces every
# instruction in between ("trace on"). For each operation it prints the
# number of exits and the hypervisor's instructions per function (symbols
# from build/core.elf). With `clock: sync=none` one instruction is one TSC
# tick, so these add up to the `make bench` numbers: ticks = the op's own
# guest instructions (2 to 5) + the hypervisor instructions listed here.
# The instructions that cost far more than one cycle on hardware (VMREAD,
# VMWRITE, VMRUN, host CPUID/RDMSR/RDTSC, ...) are counted separately.
#
# Uses tests/run-bochs.sh for the disk image and bochsrc (a 1 s run), then
# reruns Bochs in build/bochs-bench-profile-MODEL/ with the profile option
# and a debugger script. The raw trace is left in that directory
# (profile.out). Needs build/hv.efi and build/tests/bench.efi (make bench,
# or make all build/tests/bench.efi). About 15 s. --nested: nested=on, as
# `make bench` runs Bochs ryzen.
set -euo pipefail

# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$HV_ROOT"

model=tigerlake
op=all
nested_arg=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	--model) model="${2:?--model needs a value}"; shift ;;
	--op) op="${2:?--op needs a value}"; shift ;;
	--nested) nested_arg=(--nested) ;;
	-h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
	*) echo "profile-bochs: unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done
[[ "$op" =~ ^[A-Za-z0-9_]+$ ]] || { echo "profile-bochs: bad --op '$op'" >&2; exit 2; }
for f in "$HV_BUILD/hv.efi" "$HV_BUILD/tests/bench.efi" "$HV_BUILD/core.elf"; do
	[[ -f "$f" ]] || { echo "profile-bochs: missing $f" >&2; exit 3; }
done

name="bench-profile-$model"
dir="$HV_BUILD/bochs-$name"
log="$HV_BUILD/$name.serial.log"
tests/run-bochs.sh --model "$model" --guest bench --name "$name" --timeout 1 "${nested_arg[@]}" >/dev/null
if [[ ${#nested_arg[@]} -eq 0 ]]; then
	printf 'guest=\\EFI\\hv\\bench.efi\nguest_args=profile=%s\n' "$op" >"$dir/hv.cfg"
else
	printf 'guest=\\EFI\\hv\\bench.efi\nguest_args=profile=%s nested=on\nnested=on\n' "$op" >"$dir/hv.cfg"
fi
MTOOLS_SKIP_CHECK=1 mcopy -o -i "$dir/esp.img" "$dir/hv.cfg" ::/EFI/hv/hv.cfg
rm -f "$dir/esp.img.lock" # left by the stopped Bochs; a new one refuses the disk

# Continue to the first breakpoint, trace from there on; one "c" per
# breakpoint after it. After its last op the payload stops Bochs through
# the shutdown port, so the rest of the script is not read.
{
	echo c
	echo "trace on"
	for ((i = 0; i < 200; i++)); do echo c; done
	echo q
} >"$dir/profile.rc"
: >"$log"
echo "profile-bochs: tracing under Bochs $model (op $op) ..." >&2
(cd "$dir" && timeout -k 5 300 bochs-bin -q -f bochsrc -rc profile.rc </dev/null \
	>"$dir/profile.out" 2>&1) || true

clean="$HV_BUILD/$name.clean.log"
strip_log "$log" "$clean"
grep -q 'BENCH-PROFILE: end' "$clean" || {
	echo "profile-bochs: the payload did not finish; see $clean and $dir/profile.out" >&2
	exit 1
}
backend="$(grep -oE 'hypervisor launched \((vmx|svm)\)' "$clean" | grep -oE 'vmx|svm' | head -n 1)"
grep -E '^BENCH-PROFILE: ' "$clean" | grep -v 'end$' | grep -v ' traced$' |
	sed 's/^BENCH-PROFILE: /  not traced: /' >&2 || true

nm -n "$HV_BUILD/core.elf" | awk '$1 ~ /^ffffffff8/ && $2 ~ /^[tTwW]$/ { print $1, $3 }' \
	>"$dir/symbols.txt"
grep -E '^BENCH-PROFILE: [a-z0-9_]+ traced$' "$clean" | awk '{ print $2 }' >"$dir/ops.txt"

# Trace lines: "(0).[TICK] [0xPHYS] SEG:LINEAR (unk. ctxt): INSN ; BYTES".
# Odd segments between "Magic breakpoint" lines are the operations.
awk -v model="$model" -v backend="${backend:-?}" '
function hex(s,   i, n, c) {
	n = 0
	for (i = 1; i <= length(s); i++) {
		c = index("0123456789abcdef", tolower(substr(s, i, 1)))
		n = n * 16 + c - 1
	}
	return n
}
BEGIN { k = 0; nops = 0; ns = 0; seg = 0; nf = 0 }
FILENAME == ARGV[1] { sa[ns] = hex(substr($1, 10)); sn[ns] = $2; ns++; next }
FILENAME == ARGV[2] { opname[nops++] = $1; next }
/Magic breakpoint/ { seg++; if (seg % 2 == 0 && seg > 0) report(); next }
seg % 2 == 1 && /^\(0\)\.\[/ {
	lin = $3; sub(/^[0-9a-f]+:/, "", lin)
	host = lin ~ /^ffffffff8/
	if (host) {
		off = hex(substr(lin, 10))
		lo = 0; hi = ns - 1; f = "?"
		while (lo <= hi) { mid = int((lo + hi) / 2); if (sa[mid] <= off) { f = sn[mid]; lo = mid + 1 } else hi = mid - 1 }
		sub(/\..*/, "", f)
		if (!(f in cnt)) order[nf++] = f
		cnt[f]++; hosti++
		# Instructions that cost far more than one tick on hardware.
		insn = $0; sub(/.*ctxt\): /, "", insn); split(insn, w, " ")
		if (w[1] ~ /^(vmread|vmwrite|vmload|vmsave|vmrun|vmresume|vmlaunch|cpuid|rdmsr|wrmsr|rdtsc|rdtscp|invept|invvpid|in|out|lfence|mfence|lock)$/) heavy[w[1]]++
		else if (w[1] == "xchg" && insn ~ /ptr/) heavy["xchg(locked)"]++
		if (!was_host) exits++
	} else guesti++
	was_host = host
	next
}
function report(   i, name) {
	name = (k < nops) ? opname[k] : "op" k
	printf "%s (Bochs %s, %s): %d exit%s, %d hypervisor instructions (%d guest instructions traced, harness included)\n", name, model, backend, exits, exits == 1 ? "" : "s", hosti, guesti
	for (i = 0; i < nf; i++) printf "  %6d  %s\n", cnt[order[i]], order[i]
	h = ""
	for (i in heavy) h = h sprintf(" %s %d", i, heavy[i])
	if (h != "") printf "  costly on hardware:%s\n", h
	k++; delete cnt; delete order; delete heavy; nf = 0; hosti = guesti = exits = was_host = 0
}
' "$dir/symbols.txt" "$dir/ops.txt" "$dir/profile.out"
