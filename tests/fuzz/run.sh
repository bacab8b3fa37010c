#!/usr/bin/env bash
# tests/fuzz/run.sh - run the host fuzz targets (build/fuzz/fuzz_<name>,
# docs/reliability.md).
#
#   tests/fuzz/run.sh --quick [NAME...]   what `make test` runs: replay each
#       committed corpus (tests/fuzz/corpus/<name>), then fuzz each target
#       for QUICK_SECS seconds (default 5) with the fixed seed 1. One
#       `PASS:`/`FAIL:` line per target and step (fuzz.<name>.replay,
#       fuzz.<name>.seed1).
#   tests/fuzz/run.sh --time SECS [NAME...]   `make fuzz`: SECS in all,
#       shared by the targets, random seeds, the working corpus in
#       build/fuzz/corpus/<name> (it grows from run to run; the committed
#       seeds are read too). Prints execs, coverage (libFuzzer's cov/ft)
#       and findings per target; a finding leaves its reproducer in
#       build/fuzz/findings/<name>/ and the command that replays it.
set -uo pipefail
cd "$(dirname "$0")/../.."
B=${HV_BUILD:-build}/fuzz
mode=quick total=600
case "${1:-}" in
--quick) shift ;;
--time) mode=long total=$2; shift 2 ;;
esac
targets=("$@")
if ((${#targets[@]} == 0)); then
	for f in tests/fuzz/fuzz_*.c; do
		n=${f##*/fuzz_}
		targets+=("${n%.c}")
	done
fi
quick=${QUICK_SECS:-5}
per=$((total / ${#targets[@]}))
((per < 1)) && per=1
# Options for every run: a hang is a finding, so is a runaway heap.
common=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
fail=0 sum_execs=0
printf '%-10s %10s %8s %8s %7s %8s  %s\n' target seconds execs exec/s cov ft findings >"$B/summary.txt" 2>/dev/null || true

# stats LOG: "execs cov ft" from a libFuzzer log.
stats() {
	local execs cov ft
	execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$1" | grep -oE '[0-9]+$' | tail -n 1)
	cov=$(grep -oE 'cov: [0-9]+' "$1" | tail -n 1 | grep -oE '[0-9]+')
	ft=$(grep -oE 'ft: [0-9]+' "$1" | tail -n 1 | grep -oE '[0-9]+')
	echo "${execs:-0} ${cov:-0} ${ft:-0}"
}

for t in "${targets[@]}"; do
	bin="$B/fuzz_$t" seeds="tests/fuzz/corpus/$t"
	if [[ ! -x "$bin" ]]; then
		echo "FAIL: fuzz.$t.built: $bin does not exist (make fuzz-build; needs clang and libclang-rt-14-dev)"
		fail=1
		continue
	fi
	mkdir -p "$B/findings/$t" "$B/logs"
	if [[ $mode == quick ]]; then
		log="$B/logs/$t.replay.log"
		if "$bin" -runs=0 "${common[@]}" "$seeds" >"$log" 2>&1; then
			echo "PASS: fuzz.$t.replay ($(ls "$seeds" | wc -l) inputs)"
		else
			echo "FAIL: fuzz.$t.replay: see $log"
			tail -n 30 "$log"
			fail=1
		fi
		work=$(mktemp -d)
		log="$B/logs/$t.seed1.log"
		if "$bin" -seed=1 -max_total_time="$quick" "${common[@]}" \
			-artifact_prefix="$B/findings/$t/" "$work" "$seeds" >"$log" 2>&1; then
			read -r execs cov ft < <(stats "$log")
			echo "PASS: fuzz.$t.seed1 ($execs execs in ${quick}s, cov $cov ft $ft)"
		else
			echo "FAIL: fuzz.$t.seed1: see $log"
			grep -E 'ORACLE|ERROR|unexpected|host #GP|Test unit written' "$log" | head -n 5
			fail=1
		fi
		rm -rf "$work"
		continue
	fi
	log="$B/logs/$t.fuzz.log"
	mkdir -p "$B/corpus/$t"
	before=$(ls "$B/findings/$t" | wc -l)
	start=$(date +%s)
	"$bin" -max_total_time="$per" "${common[@]}" -artifact_prefix="$B/findings/$t/" \
		"$B/corpus/$t" "$seeds" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	read -r execs cov ft < <(stats "$log")
	sum_execs=$((sum_execs + execs))
	found=$(($(ls "$B/findings/$t" | wc -l) - before))
	printf '%-10s %10s %8s %8s %7s %8s  %s\n' "$t" "$secs" "$execs" "$((execs / (secs ? secs : 1)))" \
		"$cov" "$ft" "$found" | tee -a "$B/summary.txt"
	if ((rc != 0 || found > 0)); then
		fail=1
		grep -E 'ORACLE|ERROR|unexpected|host #GP' "$log" | head -n 3
		for a in $(ls -t "$B/findings/$t" | head -n "$((found ? found : 1))"); do
			echo "  reproducer: $B/findings/$t/$a"
			echo "  replay:     $bin $B/findings/$t/$a"
		done
	fi
done
if [[ $mode == long ]]; then
	echo "total: $sum_execs executions (log: $B/logs, table: $B/summary.txt)"
	[[ $fail == 0 ]] && echo "no findings" || echo "FINDINGS: see above"
fi
exit $fail
