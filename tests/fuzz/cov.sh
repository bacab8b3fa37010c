#!/usr/bin/env bash
# tests/fuzz/cov.sh TARGET... - `make fuzz-cov`: replay every corpus of the
# targets (tests/fuzz/corpus/<t> and build/fuzz/corpus/<t>) through the
# coverage builds (build/fuzzcov/fuzz_<t>) and report the line and region
# coverage of hv/ and boot/config.c with llvm-cov (docs/reliability.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${HV_BUILD:-build}
C="$B/fuzzcov"
rm -rf "$C/prof"
mkdir -p "$C/prof"
objs=()
for t in "$@"; do
	dirs=(tests/fuzz/corpus/"$t")
	[[ -d "$B/fuzz/corpus/$t" ]] && dirs+=("$B/fuzz/corpus/$t")
	LLVM_PROFILE_FILE="$C/prof/$t.profraw" "$C/fuzz_$t" -runs=0 "${dirs[@]}" >"$C/prof/$t.log" 2>&1
	objs+=(-object "$C/fuzz_$t")
done
llvm-profdata merge -sparse "$C"/prof/*.profraw -o "$C/all.profdata"
llvm-cov report "${objs[@]:1}" -instr-profile "$C/all.profdata" hv/*.c boot/config.c \
	>"$B/fuzz/coverage.txt"
cat "$B/fuzz/coverage.txt"
