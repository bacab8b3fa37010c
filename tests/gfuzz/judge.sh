# tests/gfuzz/judge.sh - the verdict on one guest fuzzer run (sourced, bash;
# needs tests/lib.sh): used by tests/run-all.sh (`make test`) and
# tests/run-gfuzz.sh (`make fuzz-guest`).
#
# gfuzz_judge NAME OPS: judge build/NAME.serial.log of a gfuzz.efi run of
# OPS operations. Counts the guest's PASS/FAIL lines (its checks from
# inside, tests/gfuzz/gfuzz.c) and tallies the harness checks from outside:
# the run finished all operations, the guest's totals match its lines, and
# hv.efi's log has no PANIC, no error line (a triple fault, a failed entry),
# no parked processor and no firmware exception dump.
gfuzz_judge() {
	local name="$1" ops="$2"
	local clean="$HV_BUILD/$name.clean.log"
	strip_log "$HV_BUILD/$name.serial.log" "$clean"
	local gp gf
	gp="$(count_lines '^PASS: ' "$clean")"
	gf="$(count_lines 'FAIL: ' "$clean")"
	grep -E 'FAIL: |GFUZZ FINDING' "$clean" | head -n 20 || true
	[[ -n "$(grep -m1 'GFUZZ DONE' "$clean" || true)" ]] || { echo "--- last 30 lines of $clean ---"; tail -n 30 "$clean"; }
	echo "guest checks: $gp passed, $gf failed"
	T_PASS=$((T_PASS + gp))
	T_FAIL=$((T_FAIL + gf))
	local done_line
	done_line="$(grep -oE 'GFUZZ DONE seed=[0-9a-fx]+ ops=[0-9]+ findings=[0-9]+' "$clean" | tail -n 1 || true)"
	tally "harness.$name.done" "$([[ "$done_line" == *" ops=$ops findings=0" ]] && echo 1 || echo 0)" \
		"expected 'GFUZZ DONE ... ops=$ops findings=0', got '${done_line:-nothing}'"
	local pd
	pd="$(grep -oE 'PAYLOAD DONE: [0-9]+ passed, [0-9]+ failed' "$clean" | tail -n 1 || true)"
	tally "harness.$name.counts_match" "$([[ "$pd" == "PAYLOAD DONE: $gp passed, $gf failed" && $gp -ge 12 ]] && echo 1 || echo 0)" \
		"payload says '${pd:-nothing}', log has $gp PASS and $gf FAIL lines"
	tally "harness.$name.hv_launched" "$(grep -qF 'hv.efi: hypervisor launched' "$clean" && echo 1 || echo 0)" \
		"no 'hv.efi: hypervisor launched'"
	local bad
	bad="$(grep -nE 'PANIC|\[hv E|parking|!!!! X64 Exception|PAYLOAD ABORTED' "$clean" | head -n 10 || true)"
	[[ -z "$bad" ]] || echo "$bad"
	tally "harness.$name.no_panic_or_park" "$([[ -z "$bad" ]] && echo 1 || echo 0)" \
		"hv.efi log has PANIC/[hv E/parking/an exception dump (above)"
}
