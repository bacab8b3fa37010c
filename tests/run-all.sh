#!/usr/bin/env bash
# tests/run-all.sh - everything `make test` runs once the images are built:
#
#   1. build/tests/host_tests (host unit tests; PASS:/FAIL: lines)
#   2. svm-payload:      build/tests/payload.efi as the guest of hv.efi (QEMU, SVM)
#   3. svm-payload-nohv: the same payload without a hypervisor (negative
#                        control: proves the checks can fail)
#
# The two QEMU runs go in parallel with the host tests (2 cores). Every
# guest check line and every harness check counts; the last line is
# "N passed, M failed" and the exit status is 1 if anything failed or is
# missing. Environment: HV_QEMU_TIMEOUT (seconds per QEMU run, default 120).
set -euo pipefail

# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HV_ROOT"

qemu_timeout="${HV_QEMU_TIMEOUT:-120}"
payload_efi="$HV_BUILD/tests/payload.efi"
hv_efi="$HV_BUILD/hv.efi"
host_tests="$HV_BUILD/tests/host_tests"
mkdir -p "$HV_BUILD"

# ---- start the QEMU runs in the background ------------------------------
# start_run NAME ARGS...: run-qemu.sh's own output goes to build/NAME.run.txt
declare -A run_pid=()
start_run() {
	local name="$1"
	shift
	rm -f "$HV_BUILD/$name.serial.log" "$HV_BUILD/$name.run.txt"
	tests/run-qemu.sh --name "$name" --timeout "$qemu_timeout" "$@" \
		>"$HV_BUILD/$name.run.txt" 2>&1 </dev/null &
	run_pid[$name]=$!
}

have_payload=0
[[ -f "$payload_efi" ]] && have_payload=1
have_hv=0
[[ -f "$hv_efi" ]] && have_hv=1

if [[ $have_payload == 1 && $have_hv == 1 ]]; then
	start_run svm-payload --guest payload
fi
if [[ $have_payload == 1 ]]; then
	start_run svm-payload-nohv --guest payload --no-hv
fi
# Boot paths (section 4): hv.efi started from the UEFI shell with a command
# line that overrides hv.cfg; and a guest that fails to load, after which
# the firmware's next boot option (the shell) runs the payload, still
# virtualized by the resident hypervisor.
if [[ $have_payload == 1 && $have_hv == 1 ]]; then
	start_run svm-shell --no-bootx64 --cfg-guest '\EFI\hv\missing.efi' \
		--startup 'fs0:\EFI\hv\hv.efi guest=\EFI\hv\payload.efi; log=info'
	start_run svm-fallback --cfg-guest '\EFI\hv\missing.efi' \
		--startup 'fs0:\EFI\hv\payload.efi'
fi

# wait_run NAME: wait for a background run and show its summary lines.
wait_run() {
	local name="$1" rc=0
	wait "${run_pid[$name]}" || rc=$?
	if [[ -f "$HV_BUILD/$name.run.txt" ]]; then
		sed 's/^/  /' "$HV_BUILD/$name.run.txt"
	fi
	if [[ $rc != 0 ]]; then
		echo "  run-qemu.sh exited $rc"
	fi
}

# ---- 1. host unit tests ---------------------------------------------------
section "host tests ($host_tests)"
if [[ -x "$host_tests" ]]; then
	hlog="$HV_BUILD/host_tests.log"
	rc=0
	"$host_tests" >"$hlog" 2>&1 </dev/null || rc=$?
	hp="$(count_lines '^PASS: ' "$hlog")"
	hf="$(count_lines '^FAIL: ' "$hlog")"
	grep -E '^FAIL: ' "$hlog" || true
	echo "host tests: $hp passed, $hf failed, exit status $rc (log $hlog)"
	T_PASS=$((T_PASS + hp))
	T_FAIL=$((T_FAIL + hf))
	if [[ $rc != 0 && $hf == 0 ]]; then
		echo "--- last 20 lines of $hlog ---"
		tail -n 20 "$hlog"
		tally host_tests.exit_status 0 "exited $rc without a FAIL line"
	fi
	if [[ $rc == 0 && $((hp + hf)) == 0 ]]; then
		tally host_tests.ran_nothing 0 "printed no PASS/FAIL line"
	fi
else
	tally host_tests.missing 0 "$host_tests does not exist"
fi

# ---- 2. the payload under hv.efi ----------------------------------------
section "svm-payload: payload.efi under hv.efi (QEMU TCG, SVM)"
if [[ $have_payload == 0 ]]; then
	tally harness.svm-payload.payload_missing 0 "$payload_efi does not exist"
elif [[ $have_hv == 0 ]]; then
	tally harness.svm-payload.hv_missing 0 "$hv_efi does not exist"
else
	wait_run svm-payload
	raw="$HV_BUILD/svm-payload.serial.log"
	clean="$HV_BUILD/svm-payload.clean.log"
	strip_log "$raw" "$clean"

	gp="$(count_lines '^PASS: ' "$clean")"
	gf="$(count_lines 'FAIL: ' "$clean")"
	grep -E 'FAIL: ' "$clean" || true
	echo "guest checks: $gp passed, $gf failed"
	T_PASS=$((T_PASS + gp))
	T_FAIL=$((T_FAIL + gf))

	if grep -q 'PAYLOAD DONE' "$clean"; then
		tally harness.svm-payload.done 1
		# The payload's own totals must match the lines seen: a mangled
		# line (e.g. hypervisor output in the middle) would hide a check.
		done_line="$(grep -oE 'PAYLOAD DONE: [0-9]+ passed, [0-9]+ failed' "$clean" | tail -n 1)"
		want="PAYLOAD DONE: $gp passed, $gf failed"
		if [[ "$done_line" == "$want" ]]; then
			tally harness.svm-payload.counts_match 1
		else
			tally harness.svm-payload.counts_match 0 \
				"payload says '$done_line', log has $gp PASS and $gf FAIL lines"
		fi
	else
		tally harness.svm-payload.done 0 "the guest never finished (no PAYLOAD DONE)"
		echo "--- last 40 lines of $clean ---"
		tail -n 40 "$clean"
		echo "---"
	fi
	tally harness.svm-payload.no_fail_lines "$([[ $gf == 0 ]] && echo 1 || echo 0)" \
		"$gf FAIL lines"
	tally harness.svm-payload.min_pass "$([[ $gp -ge 40 ]] && echo 1 || echo 0)" \
		"$gp PASS lines, expected at least 40"
	tally harness.svm-payload.hv_launched \
		"$(grep -qF 'hv.efi: hypervisor launched' "$clean" && echo 1 || echo 0)" \
		"no 'hv.efi: hypervisor launched' in the log"
	tally harness.svm-payload.exit_counters \
		"$(grep -qF 'exit counters' "$clean" && echo 1 || echo 0)" \
		"no 'exit counters' in the log"
	if grep -nE '\[hv E|PANIC' "$clean" >"$HV_BUILD/svm-payload.errors.txt"; then
		head -n 20 "$HV_BUILD/svm-payload.errors.txt"
		tally harness.svm-payload.no_hv_errors 0 \
			"$(wc -l <"$HV_BUILD/svm-payload.errors.txt") lines with '[hv E' or 'PANIC'"
	else
		tally harness.svm-payload.no_hv_errors 1
	fi
fi

# ---- 3. negative control: the payload without a hypervisor ----------------
section "svm-payload-nohv: payload.efi without hv.efi (negative control)"
if [[ $have_payload == 0 ]]; then
	tally harness.svm-payload-nohv.negative_control 0 "$payload_efi does not exist"
else
	wait_run svm-payload-nohv
	raw="$HV_BUILD/svm-payload-nohv.serial.log"
	clean="$HV_BUILD/svm-payload-nohv.clean.log"
	strip_log "$raw" "$clean"
	np="$(count_lines '^PASS: ' "$clean")"
	nf="$(count_lines 'FAIL: ' "$clean")"
	echo "native checks (not counted): $np passed, $nf failed"
	if ! grep -q 'PAYLOAD DONE' "$clean"; then
		tally harness.svm-payload-nohv.negative_control 0 \
			"the payload never finished natively (no PAYLOAD DONE)"
		echo "--- last 40 lines of $clean ---"
		tail -n 40 "$clean"
		echo "---"
	elif ! grep -q '^FAIL: cpuid.40000000.vendor' "$clean"; then
		tally harness.svm-payload-nohv.negative_control 0 \
			"no 'FAIL: cpuid.40000000.vendor' without a hypervisor: the checks cannot fail"
	else
		tally harness.svm-payload-nohv.negative_control 1
	fi
fi

# ---- 4. boot paths: UEFI shell + command line, fallback -------------------
# boot_path_checks NAME PATTERN...: the payload finished with no failure and
# the log has each fixed-string PATTERN.
boot_path_checks() {
	local name="$1" clean="$HV_BUILD/$1.clean.log"
	shift
	wait_run "$name"
	strip_log "$HV_BUILD/$name.serial.log" "$clean"
	local done_line
	done_line="$(grep -oE 'PAYLOAD DONE: [0-9]+ passed, [0-9]+ failed' "$clean" | tail -n 1)"
	tally "harness.$name.payload_passed" \
		"$([[ "$done_line" =~ ^PAYLOAD\ DONE:\ [1-9][0-9]*\ passed,\ 0\ failed$ ]] && echo 1 || echo 0)" \
		"payload result: '${done_line:-none}'"
	local pat i=0
	for pat in "$@"; do
		i=$((i + 1))
		tally "harness.$name.log_$i" "$(grep -qF -- "$pat" "$clean" && echo 1 || echo 0)" \
			"no '$pat' in the log"
	done
	if grep -nE 'PANIC' "$clean" >/dev/null; then
		tally "harness.$name.no_panic" 0 "PANIC in the log"
	else
		tally "harness.$name.no_panic" 1
	fi
}
if [[ $have_payload == 1 && $have_hv == 1 ]]; then
	section "svm-shell: hv.efi from the UEFI shell, command line overrides hv.cfg"
	boot_path_checks svm-shell 'hv.efi: hypervisor launched' \
		'starting guest \EFI\hv\payload.efi' 'exit counters'
	section "svm-fallback: the guest does not load; the next boot option runs virtualized"
	boot_path_checks svm-fallback 'hv.efi: hypervisor launched' \
		'did not load' 'falling back to the next boot option' 'exit counters'
fi

echo
echo "$T_PASS passed, $T_FAIL failed"
[[ $T_FAIL == 0 ]]
