#!/usr/bin/env bash
# tests/run-apboot.sh - build/tests/apboot.efi (issue 4, test (b): the guest
# leaves the firmware and starts the APs itself with INIT-SIPI-SIPI, then
# restarts one) under hv.efi on the whole matrix:
#
#   svm-qemu    QEMU TCG, AMD SVM          2 and 4 processors
#   vmx-bochs   Bochs tigerlake, Intel VMX 2 and 4 processors
#   svm-bochs   Bochs ryzen, AMD SVM       2 and 4 processors
#
#   tests/run-apboot.sh [--only svm-qemu,vmx-bochs,svm-bochs] [--smp "2 4"]
#                       [--hv-log LEVEL] [--nohv]
#
# The QEMU runs go one after the other in the background while the Bochs
# runs go one at a time in the foreground. Then one line per run:
#   PASS: apboot.<platform>.smp<N> (<n> passed, <m> failed, <t> s)
#   FAIL: apboot.<platform>.smp<N>: <why> (<n> passed, <m> failed, <t> s, log <file>)
# (with the guest's FAIL lines indented below a failed run), and last
#   apboot: <r> of <t> runs passed; guest checks: <n> passed, <m> failed
# "n passed, m failed" count the guest's PASS:/FAIL: lines of that run.
# A run passes if the guest printed "APBOOT DONE" with totals that match
# its lines and no FAIL, every AP started and the restarted one came back,
# hv.efi launched on all N processors, and its log has no error or PANIC.
#
# --nohv adds the negative control (QEMU, 2 processors, no hypervisor): it
# passes if the APs start and the hypervisor checks fail on the BSP and on
# the AP. Exit status 0 iff every run passed. Logs: build/apboot-<platform>-
# smp<N>.serial.log; the control's expected FAILs are not in the totals.
# Environment: HV_QEMU_TIMEOUT (seconds per QEMU run,
# default 120), HV_BOCHS_TIMEOUT (per Bochs run, default 400).
set -euo pipefail

# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HV_ROOT"

usage() {
	sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

only="svm-qemu,vmx-bochs,svm-bochs"
smps="2 4"
hv_log=
nohv=0
while [[ $# -gt 0 ]]; do
	case "$1" in
	--only) only="${2:?--only needs a value}"; shift ;;
	--smp) smps="${2:?--smp needs a value}"; shift ;;
	--hv-log) hv_log="${2:?--hv-log needs a value}"; shift ;;
	--nohv) nohv=1 ;;
	-h | --help) usage ;;
	*) echo "run-apboot: unknown argument: $1" >&2; usage ;;
	esac
	shift
done
for n in $smps; do
	[[ "$n" =~ ^[0-9]+$ && $n -ge 1 ]] || { echo "run-apboot: bad --smp '$n'" >&2; exit 2; }
done

qemu_timeout="${HV_QEMU_TIMEOUT:-120}"
bochs_timeout="${HV_BOCHS_TIMEOUT:-400}"
apboot_efi="$HV_BUILD/tests/apboot.efi"
hv_efi="$HV_BUILD/hv.efi"
for f in "$apboot_efi" "$hv_efi"; do
	[[ -f "$f" ]] || { echo "FAIL: apboot.build: $f does not exist (make)"; exit 1; }
done
extra=()
[[ -z "$hv_log" ]] || extra=(--hv-log "$hv_log")

# The runs: "platform smp".
qemu_runs=()
bochs_runs=()
for p in ${only//,/ }; do
	for n in $smps; do
		case "$p" in
		svm-qemu) qemu_runs+=("$p $n") ;;
		vmx-bochs | svm-bochs) bochs_runs+=("$p $n") ;;
		*) echo "run-apboot: unknown platform '$p'" >&2; exit 2 ;;
		esac
	done
done
[[ $nohv == 1 ]] && qemu_runs+=("nohv-qemu 2")

# run_one PLATFORM N: one run; its wall time goes to build/NAME.time.
run_one() {
	local p="$1" n="$2" name="apboot-$1-smp$2" start=$SECONDS
	rm -f "$HV_BUILD/$name.serial.log"
	echo "run-apboot: $name ..." >&2
	case "$p" in
	svm-qemu) tests/run-qemu.sh --guest apboot --smp "$n" --name "$name" \
			--timeout "$qemu_timeout" "${extra[@]}" ;;
	nohv-qemu) tests/run-qemu.sh --guest apboot --smp "$n" --name "$name" --no-hv \
			--timeout "$qemu_timeout" ;;
	vmx-bochs) tests/run-bochs.sh --model tigerlake --guest apboot --smp "$n" --name "$name" \
			--timeout "$bochs_timeout" "${extra[@]}" ;;
	svm-bochs) tests/run-bochs.sh --model ryzen --guest apboot --smp "$n" --name "$name" \
			--timeout "$bochs_timeout" "${extra[@]}" ;;
	esac >"$HV_BUILD/$name.run.txt" 2>&1 </dev/null || true
	echo $((SECONDS - start)) >"$HV_BUILD/$name.time"
}

qpid=
if [[ ${#qemu_runs[@]} -gt 0 ]]; then
	(for r in "${qemu_runs[@]}"; do run_one "${r% *}" "${r#* }"; done) &
	qpid=$!
fi
for r in "${bochs_runs[@]}"; do
	run_one "${r% *}" "${r#* }"
done
[[ -z "$qpid" ]] || wait "$qpid" || true

# judge PLATFORM N: print the run's line; count.
runs_passed=0
runs_total=0
G_PASS=0
G_FAIL=0
judge() {
	local p="$1" n="$2" name="apboot-$1-smp$2"
	local raw="$HV_BUILD/$name.serial.log" clean="$HV_BUILD/$name.clean.log"
	local t why=() gp gf done_line
	strip_log "$raw" "$clean"
	t="$(cat "$HV_BUILD/$name.time" 2>/dev/null || echo '?')"
	gp="$(count_lines '^PASS: ' "$clean")"
	gf="$(count_lines 'FAIL: ' "$clean")"
	if [[ $p != nohv-qemu ]]; then # the control's FAILs are expected
		G_PASS=$((G_PASS + gp))
		G_FAIL=$((G_FAIL + gf))
	fi
	done_line="$(grep -aoE 'APBOOT DONE: [0-9]+ passed, [0-9]+ failed' "$clean" | tail -n 1 || true)"
	if [[ -z "$done_line" ]]; then
		why+=("no APBOOT DONE")
	elif [[ "$done_line" != "APBOOT DONE: $gp passed, $gf failed" ]]; then
		why+=("guest says '$done_line', log has $gp PASS and $gf FAIL lines")
	fi
	if [[ $p == nohv-qemu ]]; then
		grep -qa '^FAIL: apboot.bsp.sees_hypervisor' "$clean" ||
			why+=("the BSP's hypervisor check did not fail")
		grep -qaE '^FAIL: apboot.apic[0-9]+.sees_hypervisor' "$clean" ||
			why+=("no AP's hypervisor check failed")
		grep -qaE '^PASS: apboot.apic[0-9]+.started' "$clean" || why+=("no AP started")
	else
		[[ $gf == 0 ]] || why+=("$gf FAIL lines")
		local started
		started="$(count_lines '^PASS: apboot\.apic[0-9]+\.started' "$clean")"
		[[ $started == $((n - 1)) ]] || why+=("$started of $((n - 1)) APs started")
		if ((n > 1)); then
			grep -qaE '^PASS: apboot\.restart\.apic[0-9]+\.came_back' "$clean" ||
				why+=("the restarted AP did not come back")
			grep -qaF "hypervisor launched on all $n processors" "$clean" ||
				why+=("no 'hypervisor launched on all $n processors'")
		fi
		grep -qaF 'hv.efi: hypervisor launched' "$clean" || why+=("hv.efi did not launch")
		local errs
		errs="$(grep -acE '\[hv E|PANIC' "$clean" || true)"
		[[ "${errs:-0}" == 0 ]] || why+=("$errs hypervisor error/PANIC lines")
	fi
	runs_total=$((runs_total + 1))
	local label="apboot.${p}.smp$n"
	if [[ ${#why[@]} == 0 ]]; then
		runs_passed=$((runs_passed + 1))
		echo "PASS: $label ($gp passed, $gf failed, $t s)"
	else
		local all="${why[0]}" w
		for w in "${why[@]:1}"; do all+="; $w"; done
		echo "FAIL: $label: $all ($gp passed, $gf failed, $t s, log $raw)"
		[[ $p == nohv-qemu ]] || grep -aE 'FAIL: |\[hv E|PANIC' "$clean" | head -n 20 | sed 's/^/    /'
	fi
}

for r in "${qemu_runs[@]}" "${bochs_runs[@]}"; do
	judge "${r% *}" "${r#* }"
done
echo "apboot: $runs_passed of $runs_total runs passed; guest checks: $G_PASS passed, $G_FAIL failed"
[[ $runs_passed == "$runs_total" ]]
