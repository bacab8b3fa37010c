#!/usr/bin/env bash
# tests/run-gfuzz.sh - the guest fuzzer (build/tests/gfuzz.efi) under hv.efi:
# `make fuzz-guest` (docs/reliability.md, "Guest fuzzer").
#
#   tests/run-gfuzz.sh [--platform qemu|vmx|svm|all] [--seed N] [--ops N]
#                      [--smp N] [--timeout S]
#
# Platforms: qemu = QEMU TCG SVM, vmx = Bochs tigerlake (Intel VMX), svm =
# Bochs ryzen (AMD SVM with nRIP); all (default) runs the three one after
# the other. --ops defaults to 1000000; --seed to a random 32-bit seed per
# platform (printed first, so a failing run can be replayed:
#   make fuzz-guest SEED=<seed> PLATFORM=<platform> [OPS=<ops>]
# replays it exactly: the guest draws every operation from the seed, with
# interrupts off). Each run prints one line
#   GFUZZ-RESULT <platform> seed=<seed> ops=<n> seconds=<s> ops/s=<r> findings=<n> <PASS|FAIL>
# where seconds and ops/s are wall clock from the guest's "GFUZZ START" to
# its "GFUZZ DONE" line (or, when Bochs wrote them to the file only at the
# end, of the whole run with the firmware boot: a lower bound of the rate); then the harness checks (tests/gfuzz/judge.sh) and
# "N passed, M failed". Serial logs: build/gfuzz-<platform>.serial.log.
# Exit status 1 if any run failed.
set -euo pipefail

# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/gfuzz/judge.sh
source "$(dirname "${BASH_SOURCE[0]}")/gfuzz/judge.sh"
cd "$HV_ROOT"

platform=all
seed=
ops=1000000
smp=1
timeout_s=
while [[ $# -gt 0 ]]; do
	case "$1" in
	--platform) platform="${2:?}"; shift ;;
	--seed) seed="${2:?}"; shift ;;
	--ops) ops="${2:?}"; shift ;;
	--smp) smp="${2:?}"; shift ;;
	--timeout) timeout_s="${2:?}"; shift ;;
	-h | --help) sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
	*) echo "run-gfuzz: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[[ "$ops" =~ ^[0-9]+$ ]] || { echo "run-gfuzz: bad --ops" >&2; exit 2; }
[[ -z "$seed" || "$seed" =~ ^(0x[0-9a-fA-F]+|[0-9]+)$ ]] || { echo "run-gfuzz: bad --seed" >&2; exit 2; }
case "$platform" in
all) platforms=(qemu vmx svm) ;;
qemu | vmx | svm) platforms=("$platform") ;;
*) echo "run-gfuzz: --platform must be qemu, vmx, svm or all" >&2; exit 2 ;;
esac

for p in "${platforms[@]}"; do
	s="$seed"
	[[ -n "$s" ]] || s="0x$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
	name="gfuzz-$p"
	log="$HV_BUILD/$name.serial.log"
	args="seed=$s ops=$ops"
	rm -f "$log"
	echo "run-gfuzz: $p: seed $s, $ops operations (replay: make fuzz-guest SEED=$s PLATFORM=$p OPS=$ops)"
	# Time budget: QEMU does about 5000 operations a second, Bochs about
	# 100-300; generous, plus the boot.
	case "$p" in
	qemu) t="${timeout_s:-$((120 + ops / 500))}"
		tests/run-qemu.sh --name "$name" --guest gfuzz --smp "$smp" --timeout "$t" \
			--guest-args "$args" >"$HV_BUILD/$name.run.txt" 2>&1 </dev/null & ;;
	vmx | svm)
		model=tigerlake
		[[ $p == svm ]] && model=ryzen
		t="${timeout_s:-$((300 + ops / 20))}"
		tests/run-bochs.sh --name "$name" --model "$model" --guest gfuzz --smp "$smp" \
			--timeout "$t" --guest-args "$args" >"$HV_BUILD/$name.run.txt" 2>&1 </dev/null & ;;
	esac
	pid=$!
	t_run="$(date +%s.%N)"
	t_start= t_done=
	while kill -0 "$pid" 2>/dev/null; do
		now="$(date +%s.%N)"
		if [[ -z "$t_start" ]] && grep -qa 'GFUZZ START' "$log" 2>/dev/null; then t_start="$now"; fi
		if [[ -z "$t_done" ]] && grep -qa 'GFUZZ DONE' "$log" 2>/dev/null; then t_done="$now"; fi
		sleep 0.5
	done
	wait "$pid" || true
	t_end="$(date +%s.%N)"
	# Bochs writes the serial file in blocks: when the guest's first or
	# last line only showed at the end, time the whole run (boot included).
	[[ -n "$t_start" && -n "$t_done" ]] || { t_start="${t_start:-$t_run}"; t_done="$t_end"; }
	cat "$HV_BUILD/$name.run.txt"
	T_PASS=0 T_FAIL=0
	gfuzz_judge "$name" "$ops"
	secs=- rate=-
	if [[ -n "$t_start" && -n "$t_done" ]]; then
		secs="$(echo "$t_done - $t_start" | bc -l | xargs printf '%.1f')"
		rate="$(echo "$ops / ($t_done - $t_start + 0.001)" | bc -l | xargs printf '%.0f')"
	fi
	findings="$(grep -aoE 'GFUZZ DONE .* findings=[0-9]+' "$HV_BUILD/$name.clean.log" | grep -oE '[0-9]+$' || echo '?')"
	verdict=PASS
	[[ $T_FAIL == 0 ]] || verdict=FAIL
	echo "GFUZZ-RESULT $p seed=$s ops=$ops seconds=$secs ops/s=$rate findings=$findings $verdict"
	echo "$T_PASS passed, $T_FAIL failed"
	[[ $verdict == PASS ]] || overall_fail=1
done
exit "${overall_fail:-0}"
