# tests/lib.sh - shared helpers of the test harness scripts (sourced, bash).

# Repository root and build directory (BUILD may be overridden like in make).
HV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HV_BUILD="${BUILD:-build}"
case "$HV_BUILD" in
/*) ;;
*) HV_BUILD="$HV_ROOT/$HV_BUILD" ;;
esac

OVMF_CODE="${OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}"
OVMF_VARS="${OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}"

# strip_log IN OUT: drop ANSI/VT100 escape sequences (CSI: ESC [, parameter
# bytes 0x30-0x3F, intermediate bytes 0x20-0x2F, final byte 0x40-0x7E; charset
# selection; other two-byte ESC sequences) and carriage returns that OVMF's
# terminal driver mixes into COM1 output.
strip_log() {
	local in="$1" out="$2"
	if [[ ! -f "$in" ]]; then
		: >"$out"
		return 0
	fi
	LC_ALL=C sed -E \
		-e 's/\x1b\[[0-?]*[ -/]*[@-~]//g' \
		-e 's/\x1b[()][0-9A-Za-z]//g' \
		-e 's/\x1b[=>78cDEHMNOZ]//g' \
		-e 's/\r//g' \
		"$in" >"$out"
}

# Counters for "N passed, M failed" summaries.
T_PASS=0
T_FAIL=0

# tally NAME OK [DETAIL]: count and print one harness check.
tally() {
	local name="$1" ok="$2" detail="${3:-}"
	if [[ "$ok" == 1 ]]; then
		T_PASS=$((T_PASS + 1))
		echo "PASS: $name"
	else
		T_FAIL=$((T_FAIL + 1))
		if [[ -n "$detail" ]]; then
			echo "FAIL: $name: $detail"
		else
			echo "FAIL: $name"
		fi
	fi
}

# count_lines REGEX FILE: number of matching lines (0 if none or no file).
count_lines() {
	local n
	n="$(grep -cE -- "$1" "$2" 2>/dev/null || true)"
	echo "${n:-0}"
}

section() {
	echo
	echo "=== $* ==="
}
