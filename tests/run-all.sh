#!/usr/bin/env bash
# tests/run-all.sh - everything `make test` runs once the images are built:
#
#   1. build/tests/host_tests (host unit tests; PASS:/FAIL: lines)
#   2. svm-payload:      build/tests/payload.efi as the guest of hv.efi (QEMU, SVM)
#   3. svm-payload-nohv: the same payload without a hypervisor (negative
#                        control: proves the checks can fail)
#   4. vmx-payload:       the payload under hv.efi on Bochs tigerlake (Intel VMX)
#   5. svm-bochs-payload: the same on Bochs ryzen (AMD SVM with nRIP save)
#   5b. the host fuzz targets (tests/fuzz/run.sh --quick: corpus replay
#      and a seed-1 run of each, docs/reliability.md)
#   5c. nested=on (issue 16, docs/nested.md): svm-nested, svm-nested-smp2
#      (QEMU SVM, 1 and 2 CPUs) and svm-bochs-nested, svm-bochs-nested-smp2
#      (Bochs ryzen): the payload is itself a hypervisor
#      (checks_nested_svm.c); vmx-bochs-nested, vmx-bochs-nested-smp2
#      (Bochs tigerlake, issue 18): the same as a VMX hypervisor
#      (checks_nested_vmx.c)
#   5d. svm-gfuzz: the guest fuzzer (build/tests/gfuzz.efi, issue 14) under
#      hv.efi on QEMU SVM, fixed seed 0x5eed, 20000 operations (about 5 s
#      of fuzzing); its checks and the harness's (tests/gfuzz/judge.sh)
#      count. `make fuzz-guest` runs it for 10^6 operations per platform.
#   6. Linux (tests/linux/, switches below): Debian's stock kernel under
#      hv.efi on QEMU SVM, 1 CPU: svm-linux (detection, the Hyper-V leaves
#      against the payload's CPUID, reference TSC page clocksource and its
#      time, clean log, power-off) and svm-linux-crash (sysrq c: the crash
#      notification and message); svm-linux-kvm (nested=on: Debian's
#      kvm.ko/kvm-amd.ko run tests/linux/kvmtest.c's VM); svm-linux-smp2 (2 CPUs); vmx-skx-linux
#      (Bochs corei7_skylake_x, Intel VMX, in the Bochs chain)
#
# The two QEMU runs go in parallel with the host tests (2 cores); the Bochs
# runs go one after the other in one background chain alongside them. Every
# guest check line and every harness check counts; the last line is
# "N passed, M failed" and the exit status is 1 if anything failed or is
# missing. Environment: HV_QEMU_TIMEOUT (seconds per QEMU run, default 120),
# HV_BOCHS_TIMEOUT (seconds per Bochs run, default 240), HV_NO_BOCHS=1
# (skip the Bochs runs, reported as failures).
#
# Linux switches (0 or 1): HV_LINUX (default 1: svm-linux, svm-linux-crash),
# HV_LINUX_BOCHS (default 1: vmx-skx-linux, about 2 min more at the end of
# the Bochs chain), HV_LINUX_SMP (default 1: svm-linux-smp2, 2 CPUs,
# for when SMP, issue 4, is done); HV_LINUX_TIMEOUT (seconds per Linux QEMU
# run, default 150), HV_LINUX_BOCHS_TIMEOUT (default 420). The kernel is
# fetched from Debian once (tests/linux/fetch.sh, cached in build/linux).
set -euo pipefail

# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/linux/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/linux/checks.sh"
# shellcheck source=tests/gfuzz/judge.sh
source "$(dirname "${BASH_SOURCE[0]}")/gfuzz/judge.sh"
cd "$HV_ROOT"

qemu_timeout="${HV_QEMU_TIMEOUT:-120}"
bochs_timeout="${HV_BOCHS_TIMEOUT:-240}"
payload_efi="$HV_BUILD/tests/payload.efi"
hv_efi="$HV_BUILD/hv.efi"
host_tests="$HV_BUILD/tests/host_tests"
mkdir -p "$HV_BUILD"

# ---- start the QEMU runs in the background ------------------------------
# start_run NAME ARGS...: run-qemu.sh's own output goes to build/NAME.run.txt
declare -A run_pid=()
# At most HV_QEMU_PARALLEL (default 3) QEMU runs at once: the machines have
# 2 cores, and an emulator thread descheduled for long stretches makes the
# guest's wall-clock checks (reference time vs. the firmware's timer) noisy.
qemu_parallel="${HV_QEMU_PARALLEL:-3}"
start_run() {
	local name="$1" p alive
	shift
	while :; do
		alive=0
		for p in "${run_pid[@]}"; do
			kill -0 "$p" 2>/dev/null && alive=$((alive + 1))
		done
		((alive < qemu_parallel)) && break
		sleep 0.5
	done
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
gfuzz_efi="$HV_BUILD/tests/gfuzz.efi"
gfuzz_ops=20000
if [[ -f "$gfuzz_efi" && $have_hv == 1 ]]; then
	start_run svm-gfuzz --guest gfuzz --guest-args "seed=0x5eed ops=$gfuzz_ops"
fi
if [[ $have_payload == 1 ]]; then
	start_run svm-payload-nohv --guest payload --no-hv
fi
# Every processor virtualized (issue 4): the payload's per-processor checks
# through MP services on 2 and 4 processors (section 2b).
if [[ $have_payload == 1 && $have_hv == 1 ]]; then
	start_run svm-payload-smp2 --guest payload --smp 2
	start_run svm-payload-smp4 --guest payload --smp 4
	# nested=on: the payload runs its own guest (docs/nested.md).
	start_run svm-nested --guest payload --nested
	start_run svm-nested-smp2 --guest payload --nested --smp 2
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
	# HV_X64_MSR_RESET resets the machine (QEMU runs with -no-reboot).
	start_run svm-reset --guest-args 'test=reset'
fi

# ---- Linux on QEMU (section 6) ---------------------------------------------
linux_on="${HV_LINUX:-1}"
linux_smp="${HV_LINUX_SMP:-1}" # 2 CPUs (issue 4)
linux_bochs="${HV_LINUX_BOCHS:-1}"
linux_ready=0
if [[ ($linux_on == 1 || $linux_smp == 1 || $linux_bochs == 1) && $have_hv == 1 ]]; then
	if linux_fetch; then
		linux_ready=1
	fi
fi
if [[ $linux_ready == 1 && $linux_on == 1 ]]; then
	linux_start svm-linux --linux --guest-args hvtest=facts
	linux_start svm-linux-crash --linux --guest-args hvtest=crash
	# nested=on: Linux's own KVM runs a VM on hv.efi (issue 16)
	linux_start svm-linux-kvm --linux --nested --guest-args hvtest=kvm
fi
[[ $linux_ready == 1 && $linux_smp == 1 ]] &&
	linux_start svm-linux-smp2 --linux --smp 2 --guest-args hvtest=facts

# ---- the Bochs runs: one at a time (Bochs is single-threaded and slow),
# in one background chain next to the QEMU runs ---------------------------
# NAME MODEL BACKEND EXTRA: BACKEND is the one hv.efi must say it launched;
# EXTRA a log line proving the path the run is there for (ryzen: the nRIP
# path of svm_advance_rip, which QEMU's SVM cannot exercise).
# NAME MODEL BACKEND EXTRA [PROCESSORS]
bochs_runs=("vmx-payload tigerlake vmx unrestricted.guest"
	"svm-bochs-payload ryzen svm nRIP.yes"
	"vmx-payload-smp2 tigerlake vmx unrestricted.guest 2"
	"vmx-payload-smp4 tigerlake vmx unrestricted.guest 4"
	"svm-bochs-payload-smp2 ryzen svm nRIP.yes 2"
	"svm-bochs-payload-smp4 ryzen svm nRIP.yes 4"
	"svm-bochs-nested ryzen svm nRIP.yes"
	"svm-bochs-nested-smp2 ryzen svm nRIP.yes 2"
	"vmx-bochs-nested tigerlake vmx unrestricted.guest"
	"vmx-bochs-nested-smp2 tigerlake vmx unrestricted.guest 2")
bochs_pid=
if [[ $have_payload == 1 && $have_hv == 1 && "${HV_NO_BOCHS:-0}" != 1 ]] &&
	command -v bochs-bin >/dev/null; then
	for spec in "${bochs_runs[@]}"; do
		read -r bname _ <<<"$spec"
		rm -f "$HV_BUILD/$bname.serial.log" "$HV_BUILD/$bname.run.txt"
	done
	(
		for spec in "${bochs_runs[@]}"; do
			read -r bname bmodel _ _ bsmp <<<"$spec"
			rc=0
			bnested=()
			[[ $bname != *nested* ]] || bnested=(--nested)
			tests/run-bochs.sh --name "$bname" --model "$bmodel" --timeout "$bochs_timeout" \
				--smp "${bsmp:-1}" "${bnested[@]}" \
				>"$HV_BUILD/$bname.run.txt" 2>&1 </dev/null || rc=$?
			[[ $rc == 0 ]] || echo "run-bochs.sh exited $rc" >>"$HV_BUILD/$bname.run.txt"
		done
		[[ $linux_ready == 1 && $linux_bochs == 1 ]] && linux_bochs_run vmx-skx-linux
		true
	) &
	bochs_pid=$!
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

# check_payload NAME COUNTERS: judge the serial log of a payload run under
# hv.efi (build/NAME.serial.log). COUNTERS=required: the hypervisor's
# "exit counters" line must be there (it prints it when the guest powers
# off through the FADT's PM1 port). COUNTERS=or-exit-log: on Bochs, OVMF
# installs no ACPI tables, so the hypervisor never learns the PM1 port and
# cannot print them; there the hypervisor's own log line from handling
# second-level faults on its hidden memory ("#GP injected") stands in as
# proof that guest exits went through the dispatcher.
check_payload() {
	local name="$1" counters="$2"
	local raw="$HV_BUILD/$name.serial.log"
	local clean="$HV_BUILD/$name.clean.log"
	strip_log "$raw" "$clean"

	local gp gf
	gp="$(count_lines '^PASS: ' "$clean")"
	gf="$(count_lines 'FAIL: ' "$clean")"
	grep -E 'FAIL: ' "$clean" || true
	echo "guest checks: $gp passed, $gf failed"
	T_PASS=$((T_PASS + gp))
	T_FAIL=$((T_FAIL + gf))

	if grep -q 'PAYLOAD DONE' "$clean"; then
		tally "harness.$name.done" 1
		# The payload's own totals must match the lines seen: a mangled
		# line (e.g. hypervisor output in the middle) would hide a check.
		local done_line want
		done_line="$(grep -oE 'PAYLOAD DONE: [0-9]+ passed, [0-9]+ failed' "$clean" | tail -n 1)"
		want="PAYLOAD DONE: $gp passed, $gf failed"
		if [[ "$done_line" == "$want" ]]; then
			tally "harness.$name.counts_match" 1
		else
			tally "harness.$name.counts_match" 0 \
				"payload says '$done_line', log has $gp PASS and $gf FAIL lines"
		fi
	else
		tally "harness.$name.done" 0 "the guest never finished (no PAYLOAD DONE)"
		echo "--- last 40 lines of $clean ---"
		tail -n 40 "$clean"
		echo "---"
	fi
	tally "harness.$name.no_fail_lines" "$([[ $gf == 0 ]] && echo 1 || echo 0)" \
		"$gf FAIL lines"
	tally "harness.$name.min_pass" "$([[ $gp -ge 40 ]] && echo 1 || echo 0)" \
		"$gp PASS lines, expected at least 40"
	tally "harness.$name.hv_launched" \
		"$(grep -qF 'hv.efi: hypervisor launched' "$clean" && echo 1 || echo 0)" \
		"no 'hv.efi: hypervisor launched' in the log"
	if [[ $counters == required ]]; then
		tally "harness.$name.exit_counters" \
			"$(grep -qF 'exit counters' "$clean" && echo 1 || echo 0)" \
			"no 'exit counters' in the log"
	elif grep -qF 'exit counters' "$clean"; then
		tally "harness.$name.exit_counters" 1
	else
		echo "  note: no 'exit counters' line (no ACPI FADT under Bochs: the PM1 port is unknown)"
		tally "harness.$name.hv_exit_log" \
			"$(grep -qE '\[hv W cpu0\] guest (read|write) of hypervisor memory .*#GP injected' "$clean" && echo 1 || echo 0)" \
			"neither 'exit counters' nor the hypervisor's '#GP injected' exit log in the log"
	fi
	# The payload's crash test (TLFS 4.3) must reach the log, with its
	# parameters and message; those two error lines are expected.
	if grep -q '^PASS: crash.ctl.notify' "$clean"; then
		tally "harness.$name.crash_notification" \
			"$(grep -qF 'guest crash notification from vp0: P0 c0de0000 P1 c0de0001 P2 c0de0002' "$clean" && echo 1 || echo 0)" \
			"no crash notification with the payload's parameters in the log"
		tally "harness.$name.crash_message" \
			"$(grep -qF 'guest crash message: hv.efi payload crash message test: token 5e1f' "$clean" && echo 1 || echo 0)" \
			"no crash message in the log"
	fi
	if grep -nE '\[hv E|PANIC' "$clean" | grep -vE '\] guest crash (notification|message)' \
		>"$HV_BUILD/$name.errors.txt"; then
		head -n 20 "$HV_BUILD/$name.errors.txt"
		tally "harness.$name.no_hv_errors" 0 \
			"$(wc -l <"$HV_BUILD/$name.errors.txt") lines with '[hv E' or 'PANIC'"
	else
		tally "harness.$name.no_hv_errors" 1
	fi
}

# ---- 2. the payload under hv.efi ----------------------------------------
section "svm-payload: payload.efi under hv.efi (QEMU TCG, SVM)"
if [[ $have_payload == 0 ]]; then
	tally harness.svm-payload.payload_missing 0 "$payload_efi does not exist"
elif [[ $have_hv == 0 ]]; then
	tally harness.svm-payload.hv_missing 0 "$hv_efi does not exist"
else
	wait_run svm-payload
	check_payload svm-payload required
	# hv.cfg asserts an invariant TSC here: the reference TSC page must be
	# valid and agree with the reference counter (TLFS 12.7).
	tally harness.svm-payload.tsc_page_valid \
		"$(grep -q '^PASS: time.tsc_page.agrees' "$HV_BUILD/svm-payload.clean.log" && echo 1 || echo 0)" \
		"no 'PASS: time.tsc_page.agrees'"
fi

# ---- 2c. the guest fuzzer, a fixed seed (tests/gfuzz/, docs/reliability.md)
section "svm-gfuzz: gfuzz.efi under hv.efi, seed 0x5eed, $gfuzz_ops operations (QEMU SVM)"
if [[ ! -f "$gfuzz_efi" || $have_hv == 0 ]]; then
	tally harness.svm-gfuzz.missing 0 "$gfuzz_efi or $hv_efi does not exist"
else
	wait_run svm-gfuzz
	gfuzz_judge svm-gfuzz "$gfuzz_ops"
fi

# smp_checks NAME N: with N > 1 processors, the hypervisor launched on all
# of them and every AP ran the payload's checks (checks_mp.c: MP services
# restarts the APs with INIT-SIPI-SIPI, which must reach them in software).
smp_checks() {
	local name="$1" n="$2" clean="$HV_BUILD/$1.clean.log"
	[[ $n -gt 1 ]] || return 0
	tally "harness.$name.launched_on_all" \
		"$(grep -qF "hypervisor launched on all $n processors" "$clean" && echo 1 || echo 0)" \
		"no 'hypervisor launched on all $n processors'"
	tally "harness.$name.aps_checked" \
		"$(grep -q '^PASS: mp.all_aps_checked' "$clean" && echo 1 || echo 0)" \
		"no 'PASS: mp.all_aps_checked'"
}

# ---- 2b. the payload on 2 and 4 processors (QEMU SVM) ----------------------
for n in 2 4; do
	section "svm-payload-smp$n: payload.efi under hv.efi on $n processors (QEMU SVM)"
	if [[ $have_payload == 1 && $have_hv == 1 ]]; then
		wait_run "svm-payload-smp$n"
		check_payload "svm-payload-smp$n" required
		smp_checks "svm-payload-smp$n" "$n"
	fi
done

# nested_checks NAME: with nested=on the payload ran its guest to the end
# (checks_nested_svm.c: the last L2 exit, the GIF check).
nested_checks() {
	local name="$1" clean="$HV_BUILD/$1.clean.log" c
	local must=(nested.l2.hlt.exit nested.vmcb_invalid.asid0 nested.gif.stgi_delivers)
	# Nested VMX (issue 18, checks_nested_vmx.c): the last L2 exit, the
	# failed entry, the refused hypervisor memory, VMXOFF at the end.
	# The enlightened VMCS (issue 18 item 4, checks_nested_evmcs.c): L2
	# through the eVMCS to its HLT, a clean group not re-read, the
	# enlightened MSR bitmap, VMXOFF at the end.
	[[ $name != vmx-* ]] || must=(nested.vmx.l2.hlt.exit nested.vmx.entry.bad_guest.exit33
		nested.vmx.l2.hv_memory.gp nested.vmx.l2.ept.mapped_after_invept nested.vmx.vmxoff.ok
		nested.evmcs.l2.hlt.exit nested.evmcs.clean.guest_basic_not_reread
		nested.evmcs.msr_bitmap.clean_not_reread nested.evmcs.gpa_flush.space_seen
		nested.evmcs.dflush.answered nested.evmcs.dflush.trap_after_flush
		nested.evmcs.vmxoff)
	for c in "${must[@]}"; do
		tally "harness.$name.ran_$c" "$(grep -q "^PASS: $c\$" "$clean" && echo 1 || echo 0)" \
			"no 'PASS: $c'"
	done
}

# ---- 2c. nested=on: the payload as a hypervisor (QEMU SVM, 1 and 2 CPUs) ----
for name in svm-nested svm-nested-smp2; do
	section "$name: payload.efi under hv.efi with nested=on (QEMU SVM)"
	if [[ $have_payload == 1 && $have_hv == 1 ]]; then
		wait_run "$name"
		check_payload "$name" required
		[[ $name != *smp2 ]] || smp_checks "$name" 2
		nested_checks "$name"
	fi
done

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
	done_line="$(grep -oE 'PAYLOAD DONE: [0-9]+ passed, [0-9]+ failed' "$clean" | tail -n 1 || true)"
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
	section "svm-reset: HV_X64_MSR_RESET resets the system"
	wait_run svm-reset
	clean="$HV_BUILD/svm-reset.clean.log"
	strip_log "$HV_BUILD/svm-reset.serial.log" "$clean"
	grep -E '^(PASS|FAIL): reset' "$clean" || true
	for c in reset.reserved_gp reset.read reset.read_zero; do
		tally "harness.svm-reset.$c" "$(grep -q "^PASS: $c\$" "$clean" && echo 1 || echo 0)" \
			"no 'PASS: $c'"
	done
	tally harness.svm-reset.logged \
		"$(grep -qF 'guest resets the system through HV_X64_MSR_RESET' "$clean" && echo 1 || echo 0)" \
		"the hypervisor did not log the reset"
	tally harness.svm-reset.reset_happened \
		"$(grep -qE 'PAYLOAD RESET FAILED|PAYLOAD DONE' "$clean" && echo 0 || echo 1)" \
		"the payload kept running after writing HV_X64_MSR_RESET"
fi

# ---- 6. Linux under hv.efi (QEMU) ------------------------------------------
if [[ $linux_on == 1 || $linux_smp == 1 ]]; then
	if [[ $have_hv == 0 ]]; then
		tally linux.hv_missing 0 "$hv_efi does not exist"
	elif [[ $linux_ready == 1 ]]; then
		# Expected CPUID values: the svm-payload run's (section 2).
		if [[ $linux_on == 1 ]]; then
			section "svm-linux: Debian's kernel under hv.efi (QEMU TCG, SVM, 1 CPU)"
			linux_wait svm-linux
			linux_check_facts svm-linux "$HV_BUILD/svm-payload.clean.log" 1
			section "svm-linux-crash: a deliberate kernel crash (sysrq c)"
			linux_wait svm-linux-crash
			linux_check_crash svm-linux-crash
			section "svm-linux-kvm: Linux's KVM runs a VM on hv.efi (nested=on, QEMU TCG SVM)"
			linux_wait svm-linux-kvm
			linux_check_kvm svm-linux-kvm
		fi
		if [[ $linux_smp == 1 ]]; then
			section "svm-linux-smp2: Debian's kernel under hv.efi (QEMU TCG, SVM, 2 CPUs)"
			linux_wait svm-linux-smp2
			linux_check_facts svm-linux-smp2 "$HV_BUILD/svm-payload.clean.log" 2
		fi
	fi
else
	section "Linux under hv.efi (QEMU): not run (HV_LINUX=0)"
fi

# ---- 5b. host fuzz targets (tests/fuzz, docs/reliability.md) -------------
# Every committed corpus replayed, then each target fuzzed a few seconds
# with the fixed seed 1. Here, once the QEMU runs are done: only the Bochs
# chain (deterministic, clock sync=none) runs alongside.
section "host fuzz targets: corpus replay and a seed-1 run each (tests/fuzz/run.sh --quick)"
flog="$HV_BUILD/fuzz_quick.log"
rc=0
tests/fuzz/run.sh --quick >"$flog" 2>&1 </dev/null || rc=$?
grep -E '^(PASS|FAIL): fuzz\.' "$flog" || true
fp="$(count_lines '^PASS: fuzz\.' "$flog")"
ff="$(count_lines '^FAIL: fuzz\.' "$flog")"
T_PASS=$((T_PASS + fp))
T_FAIL=$((T_FAIL + ff))
if [[ $rc != 0 && $ff == 0 ]]; then
	tail -n 20 "$flog"
	tally fuzz.exit_status 0 "tests/fuzz/run.sh exited $rc without a FAIL line"
fi
[[ $((fp + ff)) -gt 0 ]] || tally fuzz.ran_nothing 0 "tests/fuzz/run.sh printed no PASS/FAIL line"

# ---- 4./5. the payload under hv.efi on Bochs (VMX, and SVM with nRIP) -----
bochs_waited=0
for spec in "${bochs_runs[@]}"; do
	read -r bname bmodel _ <<<"$spec"
	section "$bname: payload.efi under hv.efi (Bochs $bmodel)"
	if [[ $have_payload == 0 ]]; then
		tally "harness.$bname.payload_missing" 0 "$payload_efi does not exist"
	elif [[ $have_hv == 0 ]]; then
		tally "harness.$bname.hv_missing" 0 "$hv_efi does not exist"
	elif [[ -z "$bochs_pid" ]]; then
		tally "harness.$bname.bochs" 0 "not run (HV_NO_BOCHS=1 or bochs-bin missing)"
	else
		if [[ $bochs_waited == 0 ]]; then
			wait "$bochs_pid" || true
			bochs_waited=1
		fi
		[[ -f "$HV_BUILD/$bname.run.txt" ]] && sed 's/^/  /' "$HV_BUILD/$bname.run.txt"
		check_payload "$bname" or-exit-log
		read -r _ _ bbackend bextra bsmp <<<"$spec"
		smp_checks "$bname" "${bsmp:-1}"
		[[ $bname != *nested* ]] || nested_checks "$bname"
		tally "harness.$bname.backend_$bbackend" \
			"$(grep -qF "hv.efi: hypervisor launched ($bbackend)" "$HV_BUILD/$bname.clean.log" && echo 1 || echo 0)" \
			"no 'hv.efi: hypervisor launched ($bbackend)' in the log"
		tally "harness.$bname.log_${bextra//./_}" \
			"$(grep -qF "${bextra//./ }" "$HV_BUILD/$bname.clean.log" && echo 1 || echo 0)" \
			"no '${bextra//./ }' in the hypervisor's log"
	fi
done

if [[ $linux_bochs == 1 && $linux_ready == 1 && -n "$bochs_pid" ]]; then
	section "vmx-skx-linux: Debian's kernel under hv.efi (Bochs corei7_skylake_x, VMX)"
	[[ $bochs_waited == 1 ]] || wait "$bochs_pid" || true
	[[ -f "$HV_BUILD/vmx-skx-linux.run.txt" ]] && sed 's/^/  /' "$HV_BUILD/vmx-skx-linux.run.txt"
	linux_check_bochs vmx-skx-linux
elif [[ $linux_bochs == 1 && $linux_ready == 1 ]]; then
	tally linux.vmx-skx-linux.bochs 0 "not run (HV_NO_BOCHS=1 or bochs-bin missing)"
fi

# ---- 7. OS-style AP start (issue 4, test (b)): apboot.efi leaves the
# firmware and starts the APs itself with INIT-SIPI-SIPI, then restarts one;
# 2 and 4 processors on QEMU SVM, Bochs VMX and Bochs SVM, plus the
# negative control. After the Bochs chain: one Bochs at a time.
section "apboot: the guest starts the APs itself (tests/run-apboot.sh)"
if [[ $have_hv == 1 && -f "$HV_BUILD/tests/apboot.efi" && -n "$bochs_pid" ]]; then
	[[ $bochs_waited == 1 ]] || wait "$bochs_pid" || true
	alog="$HV_BUILD/apboot.run.txt"
	rc=0
	tests/run-apboot.sh --nohv >"$alog" 2>&1 </dev/null || rc=$?
	grep -E '^(PASS|FAIL): apboot|^apboot:|^  ' "$alog" || true
	ap="$(count_lines '^PASS: apboot' "$alog")"
	af="$(count_lines '^FAIL: apboot' "$alog")"
	T_PASS=$((T_PASS + ap))
	T_FAIL=$((T_FAIL + af))
	tally harness.apboot.ran_all "$([[ $((ap + af)) -ge 7 && $rc == 0 ]] && echo 1 || echo 0)" \
		"$ap passed and $af failed runs, exit status $rc (expected 7 runs)"
else
	tally harness.apboot.ran 0 "not run (no hv.efi, no apboot.efi, or no Bochs)"
fi

# ---- 8. The guest debugger (issue 17, docs/debugging.md): the protocol
# test and a gdb session over COM2 as a TCP socket, QEMU SVM, 2 processors
# (about 40 s; tests/run-gdb.sh).
section "gdb: the GDB stub on COM2 (tests/run-gdb.sh --smp 2)"
if [[ $have_hv == 1 && -f "$HV_BUILD/tests/gdbt.efi" ]] && command -v gdb >/dev/null; then
	glog="$HV_BUILD/gdb.run.txt"
	rc=0
	tests/run-gdb.sh --smp 2 >"$glog" 2>&1 </dev/null || rc=$?
	grep -E '^FAIL: ' "$glog" || true
	gp="$(count_lines '^PASS: gdb' "$glog")"
	gf="$(count_lines '^FAIL: gdb' "$glog")"
	echo "gdb: $gp passed, $gf failed (log $glog)"
	T_PASS=$((T_PASS + gp))
	T_FAIL=$((T_FAIL + gf))
	tally harness.gdb.ran "$([[ $gp -ge 50 && $rc == 0 ]] && echo 1 || echo 0)" \
		"$gp passed, $gf failed, exit status $rc (log $glog)"
else
	tally harness.gdb.ran 0 "not run (no hv.efi, no gdbt.efi or no gdb)"
fi
# The same debugger on stock Linux (nokaslr, 2 processors, about 60 s;
# tests/run-gdb-linux.sh): kernel symbols, a breakpoint in a function
# /init calls, step, Ctrl-C, a write the guest sees, a clean power-off.
if [[ $linux_on == 1 && $have_hv == 1 ]] && command -v gdb >/dev/null; then
	section "gdb-linux: gdb on Debian's kernel (tests/run-gdb-linux.sh --smp 2)"
	glog="$HV_BUILD/gdb-linux.run.txt"
	rc=0
	tests/run-gdb-linux.sh --smp 2 >"$glog" 2>&1 </dev/null || rc=$?
	grep -E '^FAIL: ' "$glog" || true
	gp="$(count_lines '^PASS: gdb' "$glog")"
	gf="$(count_lines '^FAIL: gdb' "$glog")"
	echo "gdb-linux: $gp passed, $gf failed (log $glog)"
	T_PASS=$((T_PASS + gp))
	T_FAIL=$((T_FAIL + gf))
	tally harness.gdb-linux.ran "$([[ $gp -ge 15 && $rc == 0 ]] && echo 1 || echo 0)" \
		"$gp passed, $gf failed, exit status $rc (log $glog)"
fi

echo
echo "$T_PASS passed, $T_FAIL failed"
[[ $T_FAIL == 0 ]]
