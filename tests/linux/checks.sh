# tests/linux/checks.sh - the Linux guest checks (sourced by tests/run-all.sh
# and tests/linux/run.sh, after tests/lib.sh). Debian's stock kernel boots
# as hv.efi's guest with tests/linux/init, which prints facts between
# HVTEST-BEGIN/HVTEST-END markers; these functions start those runs and
# judge their serial logs with lib.sh's tally.
#
# Expected values are never written down here: the Hyper-V leaves Linux
# prints must equal what the test payload read from the same hypervisor
# (its "info: cpuid 40000003 ..." line, in PAYLOAD_LOG), and each
# enlightenment must be used when, and because, that CPUID advertises it.

# Kernel messages that must never appear (any of them is a failure with
# its line shown). "RETBleed: WARNING:" is a mitigation notice, not a
# kernel warning, hence "WARNING: CPU".
LINUX_BAD_PATTERNS=('unchecked MSR access error' 'WARNING: CPU' 'BUG:' 'Oops' 'Call Trace' 'panic')

declare -A linux_pid=()

# linux_start NAME RUN-QEMU-ARGS...: a QEMU run in the background; its
# own output goes to build/NAME.run.txt.
linux_start() {
	local name="$1"
	shift
	rm -f "$HV_BUILD/$name.serial.log" "$HV_BUILD/$name.run.txt"
	"$HV_ROOT/tests/run-qemu.sh" --name "$name" --timeout "${HV_LINUX_TIMEOUT:-150}" "$@" \
		>"$HV_BUILD/$name.run.txt" 2>&1 </dev/null &
	linux_pid[$name]=$!
}

# linux_wait NAME: wait for it and show run-qemu.sh's summary.
linux_wait() {
	local name="$1" rc=0
	[[ -n "${linux_pid[$name]:-}" ]] || return 0
	wait "${linux_pid[$name]}" || rc=$?
	unset "linux_pid[$name]"
	[[ -f "$HV_BUILD/$name.run.txt" ]] && sed 's/^/  /' "$HV_BUILD/$name.run.txt"
	[[ $rc == 0 ]] || echo "  run-qemu.sh exited $rc"
}

# linux_fetch: build/linux/ (kernel, initramfs); tallies a failure.
linux_fetch() {
	local out="$HV_BUILD/linux-fetch.txt"
	if "$HV_ROOT/tests/linux/fetch.sh" >"$out" 2>&1 </dev/null; then
		return 0
	fi
	sed 's/^/  /' "$out"
	tally linux.fetch 0 "tests/linux/fetch.sh failed (see $out)"
	return 1
}

# _lsec LOG NAME: the lines of section NAME (without the markers).
_lsec() {
	sed -n "/^HVTEST-BEGIN $2\$/,/^HVTEST-END $2\$/p" "$1" | sed '1d;$d'
}

# _has LOG STRING: fixed-string match.
_has() { grep -qF -- "$2" "$1"; }

# _first / _last LOG STRING: the number of the first / last line with
# STRING, or nothing (status 0 either way: callers run under set -e).
_first() { grep -nF -m1 -- "$2" "$1" | cut -d: -f1 || true; }
_last() { grep -nF -- "$2" "$1" | tail -n 1 | cut -d: -f1 || true; }

# _c NAME DETAIL COMMAND...: tally whether COMMAND succeeds (in an if:
# the callers run under set -e).
_c() {
	local name="$1" detail="$2"
	shift 2
	if "$@"; then
		tally "$name" 1
	else
		tally "$name" 0 "$detail"
	fi
}

# _glob STRING PATTERN: STRING matches the glob PATTERN.
_glob() { [[ $1 == $2 ]]; }

# linux_cpuid PAYLOAD_LOG: "EAX3 EBX3 EDX3 EAX4 EAXA" (hex, as printed
# by the payload), or nothing.
linux_cpuid() {
	[[ -f "$1" ]] || return 0
	sed -nE 's/.*info: cpuid 40000003 eax=(0x[0-9a-f]+) ebx=(0x[0-9a-f]+) edx=(0x[0-9a-f]+) 40000004 eax=(0x[0-9a-f]+) 4000000a eax=(0x[0-9a-f]+).*/\1 \2 \3 \4 \5/p' \
		"$1" | head -n 1 || true
}

# _bit VALUE N: bit N of a hex value is set.
_bit() { (((${1:-0} >> ${2}) & 1)); }

# linux_check_common NAME LOG [UNTIL]: what every Linux run must show;
# the kernel's log is clean up to the first line matching UNTIL (the
# whole log without it).
linux_check_common() {
	local t="linux.$1" log="$2" until="${3:-}" pat n
	local head="$log.head"
	if [[ -n "$until" ]]; then
		awk -v u="$until" 'index($0, u) { exit } { print }' "$log" >"$head"
	else
		cp "$log" "$head"
	fi
	_c "$t.hv_launched" "no 'hv.efi: hypervisor launched'" _has "$log" 'hv.efi: hypervisor launched'
	_c "$t.guest_started" "hv.efi did not start \\EFI\\linux\\vmlinuz.efi" _has "$log" 'starting guest \EFI\linux\vmlinuz.efi'
	_c "$t.reached_init" "Linux never ran /init" _has "$log" 'HVTEST: /init reached'
	_c "$t.detected" "no 'Hypervisor detected: Microsoft Hyper-V'" _has "$log" 'Hypervisor detected: Microsoft Hyper-V'
	for pat in 'unchecked MSR access error' 'WARNING: CPU' 'BUG:' 'Oops' 'Call Trace'; do
		n="$(grep -cF -- "$pat" "$head" || true)"
		tally "$t.no_${pat//[^A-Za-z]/_}" "$([[ $n == 0 ]] && echo 1 || echo 0)" \
			"$n lines with '$pat', first: $(grep -m1 -F -- "$pat" "$head" || true)"
	done
}

# linux_check_facts NAME PAYLOAD_LOG SMP [PLATFORM]: the hvtest=facts run.
# PLATFORM qemu (default) or bochs: OVMF installs no ACPI tables under
# Bochs, so there Linux cannot read the PM timer nor power off through
# ACPI (it halts: "reboot: System halted"), and hv.efi prints no exit
# counters. An empty PAYLOAD_LOG skips the comparison with CPUID.
linux_check_facts() {
	local name="$1" plog="$2" smp="${3:-1}" platform="${4:-qemu}"
	local t="linux.$name" raw="$HV_BUILD/$name.serial.log" log="$HV_BUILD/$name.clean.log"
	strip_log "$raw" "$log"
	linux_check_common "$name" "$log"

	# 'panic' anywhere (the crash run expects one; this one must not).
	local n
	n="$(grep -c 'panic' "$log" || true)"
	tally "$t.no_panic" "$([[ $n == 0 ]] && echo 1 || echo 0)" \
		"$n lines with 'panic', first: $(grep -m1 'panic' "$log" || true)"
	if grep -nE '\[hv E|PANIC' "$log" >"$HV_BUILD/$name.errors.txt"; then
		head -n 10 "$HV_BUILD/$name.errors.txt"
		tally "$t.no_hv_errors" 0 "$(wc -l <"$HV_BUILD/$name.errors.txt") lines with '[hv E' or 'PANIC'"
	else
		tally "$t.no_hv_errors" 1
	fi

	# ---- the Hyper-V leaves as Linux printed them = the payload's CPUID
	local cpuid flags
	cpuid="$(linux_cpuid "$plog")"
	flags="$(sed -nE 's/.*Hyper-V: privilege flags low (0x[0-9a-f]+), high (0x[0-9a-f]+), hints (0x[0-9a-f]+), misc (0x[0-9a-f]+).*/\1 \2 \3 \4/p' "$log" | head -n 1)"
	local a3=0 b3=0 d3=0 a4=0 aa=0 # stay 0 when Linux printed no flags
	# Read here, not only below: the CPUID checks further down use them
	# even when Linux printed no flags (a run that never got that far).
	if [[ -n "$cpuid" ]]; then
		read -r a3 b3 d3 a4 aa <<<"$cpuid"
	fi
	if [[ -z "$plog" ]]; then
		echo "  ${flags:+Hyper-V: privilege flags low/high/hints/misc $flags (not compared: no payload run here)}"
		_c "$t.privilege_flags_printed" "no 'Hyper-V: privilege flags ...' line" [ -n "$flags" ]
	elif [[ -z "$cpuid" ]]; then
		tally "$t.privilege_flags" 0 "no 'info: cpuid 40000003 ...' line in $plog (the payload run)"
	elif [[ -z "$flags" ]]; then
		tally "$t.privilege_flags" 0 "no 'Hyper-V: privilege flags ...' line"
	else
		read -r a3 b3 d3 a4 aa <<<"$cpuid"
		local want="$a3 $b3 $a4 $d3"
		tally "$t.privilege_flags" "$([[ "$flags" == "$want" ]] && echo 1 || echo 0)" \
			"Linux: low/high/hints/misc $flags; CPUID 3.EAX/3.EBX/4.EAX/3.EDX: $want"
		local nested
		nested="$(sed -nE 's/.*Hyper-V: Nested features: (0x[0-9a-f]+).*/\1/p' "$log" | head -n 1)"
		tally "$t.nested_features" "$([[ "$nested" == "$aa" ]] && echo 1 || echo 0)" \
			"Linux: 'Nested features: ${nested:-none}', CPUID 0x4000000A EAX: $aa"
	fi

	# ---- Host Build = leaf 0x40000002 = the version hv.efi prints
	local hb ver
	hb="$(sed -nE 's/.*Hyper-V: Host Build ([0-9]+)\.([0-9]+)\.([0-9]+)\..*/\1.\2.\3/p' "$log" | head -n 1)"
	ver="$(sed -nE 's/.*\] hv\.efi ([0-9]+)\.([0-9]+) build ([0-9]+).*/\1.\2.\3/p' "$log" | head -n 1)"
	tally "$t.host_build" "$([[ -n "$hb" && "$hb" == "$ver" ]] && echo 1 || echo 0)" \
		"Linux 'Host Build ${hb:-none}', hv.efi says version ${ver:-none}"

	# ---- enlightenments in use because CPUID offers them
	local cs
	cs="$(_lsec "$log" clocksource | sed -n 's/^current //p')"
	# Leaf 0x40000003 as Linux printed it (low = EAX, misc = EDX).
	local fl_a=0 fl_d=0
	if [[ -n "$flags" ]]; then
		read -r fl_a _ _ fl_d <<<"$flags"
	fi
	if _bit "$fl_a" 15; then
		# AccessTscInvariantControls: Linux 6.1 writes
		# HV_X64_MSR_TSC_INVARIANT_CONTROL, keeps the TSC as reliable and
		# lowers the Hyper-V clocksources below it (hyperv_timer.c):
		# 'tsc' is the clocksource, the TSC page still registered.
		_c "$t.tsc_not_unstable" "'Marking TSC unstable' although AccessTscInvariantControls is offered" \
			bash -c "! grep -q 'Marking TSC unstable' '$log'"
		if [[ $smp == 1 ]]; then
			tally "$t.clocksource_tsc_reliable" \
				"$([[ "$cs" == tsc ]] && _lsec "$log" clocksource | grep -q hyperv_clocksource_tsc_page && echo 1 || echo 0)" \
				"current clocksource '${cs:-none}', expected tsc with hyperv_clocksource_tsc_page available"
		fi
	elif [[ $smp == 1 ]]; then
		tally "$t.clocksource_tsc_page" \
			"$([[ "$cs" == hyperv_clocksource_tsc_page ]] && _has "$log" 'Switched to clocksource hyperv_clocksource_tsc_page' && echo 1 || echo 0)" \
			"current clocksource '${cs:-none}', expected hyperv_clocksource_tsc_page"
	fi
	if [[ -n "$cpuid" ]]; then
		if _bit "$a3" 11 && _bit "$d3" 8; then # frequency MSRs
			_c "$t.lapic_frequency_used" "frequency MSRs offered, no 'Hyper-V: LAPIC Timer Frequency'" _has "$log" 'Hyper-V: LAPIC Timer Frequency:'
		fi
		if _bit "$d3" 10; then # crash MSRs
			_c "$t.crash_msrs_used" "crash MSRs offered, no 'Hyper-V: enabling crash_kexec_post_notifiers'" _has "$log" 'Hyper-V: enabling crash_kexec_post_notifiers'
		fi
		if ! _bit "$a3" 9; then
			tally "$t.tsc_page_offered" 0 "CPUID 0x40000003 EAX $a3 lacks bit 9 (reference TSC page)"
		fi
		if [[ $smp -gt 1 ]]; then
			if _bit "$a4" 2; then
				_c "$t.remote_tlb_flush_hypercall" "hint bit 2 offered, Linux does not use it" _has "$log" 'Hyper-V: Using hypercall for remote TLB flush'
			fi
			if _bit "$a4" 10; then
				_c "$t.ipi_hypercalls" "hint bit 10 offered, Linux does not use it" _has "$log" 'Hyper-V: Using IPI hypercalls'
			fi
		fi
	fi

	# ---- synthetic timers (issue 13, TLFS 12): with timers (leaf 3 EAX
	# bit 3) and direct mode (EDX bit 19) offered, Linux 6.1's
	# hv_stimer_setup_percpu_clockev makes stimer0 the clockevent of every
	# CPU ("Hyper-V clockevent", rated above the local APIC timer), and its
	# vector counts in /proc/interrupts' HVS row.
	# The leaf 3 bits: the payload's CPUID, else (Bochs, no payload run to
	# compare with) Linux's own 'privilege flags' line (low = EAX, misc = EDX).
	local fa3="" fd3=""
	if [[ -n "$cpuid" ]]; then
		fa3="$a3" fd3="$d3"
	elif [[ -n "$flags" ]]; then
		read -r fa3 _ _ fd3 <<<"$flags"
	fi
	# QEMU only: under Bochs OVMF has no ACPI tables and Linux, in
	# virtual-wire APIC mode, keeps the PIT (clockevent0 pit, no stimer0
	# interrupts, observed with the timers offered): open (issue 13).
	if [[ $platform == qemu && -n "$fa3" ]] && _bit "$fa3" 3 && _bit "$fd3" 19; then
		local ce n_ce n_hv hvs
		ce="$(_lsec "$log" clockevents)"
		n_ce="$(grep -c . <<<"$ce" || true)"
		n_hv="$(grep -c ' Hyper-V clockevent$' <<<"$ce" || true)"
		tally "$t.clockevent_stimer0" "$([[ $n_ce -ge $smp && $n_hv == "$n_ce" ]] && echo 1 || echo 0)" \
			"clockevents: $(tr '\n' ';' <<<"$ce") (expected 'Hyper-V clockevent' on all $smp CPUs)"
		hvs="$(_lsec "$log" interrupts | grep -m1 -E '^ *HVS:' || true)"
		local hvs_ok=1 c
		[[ -n "$hvs" ]] || hvs_ok=0
		for ((c = 0; c < smp; c++)); do
			local v
			v="$(awk -v i=$((c + 2)) '{ print $i }' <<<"$hvs")"
			[[ "$v" =~ ^[0-9]+$ && $v -gt 0 ]] || hvs_ok=0
		done
		tally "$t.stimer0_interrupts" "$hvs_ok" "/proc/interrupts HVS row: '${hvs:-none}' (expected a count > 0 per CPU)"
	fi
	# A one-second sleep lasts one second of reference time (the clocksource
	# is the reference TSC page) and wakes within 100 ms of it; with stimer0
	# it is woken by an HVS interrupt.
	local slp
	slp="$(grep -m1 '^HVSLEEP: ' "$log" || true)"
	if [[ -z "$slp" ]]; then
		tally "$t.sleep_measured" 0 "no HVSLEEP line (hvtool sleep)"
	else
		echo "  $slp"
		local rq sl pmns hirq
		rq="$(sed -nE 's/.*requested_ns=([0-9]+).*/\1/p' <<<"$slp")"
		sl="$(sed -nE 's/.*slept_ns=(-?[0-9]+).*/\1/p' <<<"$slp")"
		pmns="$(sed -nE 's/.*pm_ns=(-?[0-9]+).*/\1/p' <<<"$slp")"
		hirq="$(sed -nE 's/.*hvs_irqs=(-?[0-9]+).*/\1/p' <<<"$slp")"
		tally "$t.sleep_one_second" "$([[ -n "$sl" && $sl -ge $rq && $sl -lt $((rq + 100000000)) ]] && echo 1 || echo 0)" \
			"slept ${sl:-?} ns of clocksource time for $rq ns requested (limit +100 ms)"
		if [[ $smp == 1 && -n "$pmns" && $pmns -ge 0 ]]; then
			local dpm=$((pmns - sl))
			dpm=${dpm#-}
			tally "$t.sleep_vs_pm_timer" "$((dpm * 100 <= sl ? 1 : 0))" \
				"the sleep took $pmns ns of PM timer time, $sl ns of clocksource time (limit 1%)"
		fi
		if [[ $platform == qemu && -n "$fa3" ]] && _bit "$fa3" 3 && _bit "$fd3" 19; then
			_c "$t.sleep_woken_by_stimer0" "HVS interrupts during the sleep: '${hirq:-?}'" \
				eval '[[ "${hirq:-0}" -gt 0 ]]'
		fi
	fi

	# ---- time: the clocksource against the TSC and the ACPI PM timer
	local clk khz
	clk="$(grep -m1 '^HVCLOCK: ' "$log" || true)"
	khz="$(sed -nE 's/.*tsc: Detected ([0-9]+)\.([0-9]{3}) MHz processor.*/\1\2/p' "$log" | head -n 1)"
	if [[ -z "$clk" ]]; then
		tally "$t.clock_measured" 0 "no HVCLOCK line (hvtool clock)"
	else
		echo "  $clk"
		_c "$t.clock_vdso_syscall_agree" "$clk" _glob "$clk" '*vdso_syscall=ok*'
		local by_clock ppm
		by_clock="$(sed -nE 's/.*tsc_hz_by_clock=([0-9]+).*/\1/p' <<<"$clk")"
		ppm="$(sed -nE 's/.*clock_ppm_vs_pm=(-?[0-9]+).*/\1/p' <<<"$clk")"
		# TSC ticks per clocksource second = the frequency Linux was told
		# (HV_X64_MSR_TSC_FREQUENCY): the page's scale matches it, 0.2%.
		if [[ -n "$khz" && -n "$by_clock" ]]; then
			local d=$((by_clock - khz * 1000))
			d=${d#-}
			tally "$t.clock_tsc_rate" "$((d * 1000000 <= khz * 1000 * 2000 ? 1 : 0))" \
				"TSC runs at $by_clock Hz of clocksource time; Linux was told $khz kHz"
		else
			tally "$t.clock_tsc_rate" 0 "no TSC frequency ('tsc: Detected ... MHz') or no measurement"
		fi
		# The clocksource keeps real time: within 1% of the platform's
		# ACPI PM timer over 0.5 s.
		if [[ $smp == 1 ]]; then
			if [[ -n "$ppm" ]]; then
				tally "$t.clock_vs_pm_timer" "$((${ppm#-} <= 10000 ? 1 : 0))" \
					"clocksource time is $ppm ppm off the ACPI PM timer (limit 10000)"
			elif [[ $platform == bochs ]]; then
				echo "  note: no ACPI PM timer under Bochs (no FADT): clocksource not compared with it"
			else
				tally "$t.clock_vs_pm_timer" 0 "the PM timer could not be read: $clk"
			fi
		fi
	fi

	# ---- /proc/cpuinfo: a hypervisor, no virtualization extensions
	local fl
	fl=" $(_lsec "$log" cpuinfo | sed -n 's/^flags[[:space:]]*: //p' | head -n 1) "
	_c "$t.cpuinfo_hypervisor" "no 'hypervisor' in the cpuinfo flags" _glob "$fl" '* hypervisor *'
	_c "$t.cpuinfo_no_svm_vmx" "svm or vmx visible in the cpuinfo flags" \
		eval '! _glob "$fl" "* svm *" && ! _glob "$fl" "* vmx *"'

	# ---- CPUs
	local online nproc
	online="$(_lsec "$log" cpus | sed -n 's/^online //p')"
	nproc="$(_lsec "$log" cpus | sed -n 's/^nproc //p')"
	local want_online=0
	[[ $smp -gt 1 ]] && want_online="0-$((smp - 1))"
	tally "$t.cpus_online" "$([[ "$online" == "$want_online" && "$nproc" == "$smp" ]] && echo 1 || echo 0)" \
		"online '${online:-?}', nproc '${nproc:-?}', expected $want_online and $smp"
	if [[ $smp -gt 1 ]]; then
		local smpl
		smpl="$(grep -m1 '^HVSMP: ' "$log" || true)"
		echo "  ${smpl:-no HVSMP line}"
		_c "$t.smp_workload" "the SMP workload did not complete: ${smpl:-no HVSMP line}" \
			_glob "$smpl" '* ok'
		# With the remote-flush hint (leaf 4 EAX bit 2) every shootdown of
		# the munmap loop goes through HvFlushVirtualAddressList/Space(Ex);
		# Linux falls back to TLB IPIs only when a call fails.
		if [[ -n "$cpuid" ]] && _bit "$a4" 2; then
			local tlbi
			tlbi="$(sed -nE 's/.* tlb_ipis=(-?[0-9]+) .*/\1/p' <<<"$smpl")"
			_c "$t.tlb_shootdowns_by_hypercall" "TLB IPIs during the workload: '${tlbi:-?}' (expected 0: a flush hypercall failed?)" \
				_glob "${tlbi:-x}" '0'
		fi
	fi

	# ---- clean power-off, and the hypervisor saw it
	local done_ln off_ln cnt_ln
	done_ln="$(_first "$log" 'HVTEST: facts done')"
	if [[ $platform == bochs ]]; then
		# Without ACPI, Linux halts instead ("reboot: System halted").
		off_ln="$(grep -nE 'reboot: (Power down|System halted)' "$log" | tail -n 1 | cut -d: -f1 || true)"
		tally "$t.powered_down" \
			"$([[ -n "$done_ln" && -n "$off_ln" && $off_ln -gt $done_ln ]] && echo 1 || echo 0)" \
			"no 'reboot: Power down' or 'reboot: System halted' after 'HVTEST: facts done'"
		return 0
	fi
	off_ln="$(_last "$log" 'guest enters ACPI sleep state')"
	cnt_ln="$(_last "$log" 'exit counters')"
	tally "$t.powered_off" \
		"$([[ -n "$done_ln" && -n "$off_ln" && $off_ln -gt $done_ln ]] && echo 1 || echo 0)" \
		"no ACPI power-off after 'HVTEST: facts done'"
	tally "$t.exit_counters" \
		"$([[ -n "$done_ln" && -n "$cnt_ln" && $cnt_ln -gt $done_ln ]] && echo 1 || echo 0)" \
		"no 'exit counters' after the power-off"
	[[ -n "$cnt_ln" ]] && sed -n "${cnt_ln}p" "$log" | sed 's/^/  /'
	return 0
}

# linux_check_crash NAME: the hvtest=crash run. Linux 6.1 with crash MSRs
# and CrashNotify+CrashMessage in CRASH_CTL reports a panic through its
# kmsg dumper (drivers/hv/hv_common.c: hv_kmsg_dump): P0-P2 zero, P3 the
# GPA of a page holding the end of the kernel log, P4 its length, then
# CRASH_CTL = CrashNotify|CrashMessage. hv.efi logs the parameters and
# the message a line at a time (lines split at 160 characters).
linux_check_crash() {
	local name="$1"
	local t="linux.$name" raw="$HV_BUILD/$name.serial.log" log="$HV_BUILD/$name.clean.log"
	strip_log "$raw" "$log"
	linux_check_common "$name" "$log" 'HVTEST: crashing the kernel'

	local trig_ln panic_line
	trig_ln="$(_first "$log" 'sysrq: Trigger a crash')"
	panic_line="$(grep -m1 -E '^\[ *[0-9]+\.[0-9]+\] Kernel panic - not syncing: sysrq triggered crash' "$log" || true)"
	tally "$t.crashed" "$([[ -n "$trig_ln" && -n "$panic_line" ]] && echo 1 || echo 0)" \
		"no 'sysrq: Trigger a crash' and 'Kernel panic - not syncing: sysrq triggered crash'"

	local note note_ln
	note="$(grep -m1 -E '\] guest crash notification from vp0: P0 [0-9a-f]+ P1 [0-9a-f]+ P2 [0-9a-f]+ P3 [0-9a-f]+ P4 [0-9a-f]+$' "$log" || true)"
	note_ln="$(_first "$log" 'guest crash notification from vp0')"
	if [[ -z "$note" ]]; then
		tally "$t.crash_notification" 0 "no 'guest crash notification from vp0: P0 ... P4 ...' from hv.efi"
	else
		echo "  ${note#*\] }"
		local p0 p1 p2 p3 p4
		read -r p0 p1 p2 p3 p4 <<<"$(sed -E 's/.*P0 ([0-9a-f]+) P1 ([0-9a-f]+) P2 ([0-9a-f]+) P3 ([0-9a-f]+) P4 ([0-9a-f]+)$/\1 \2 \3 \4 \5/' <<<"$note")"
		tally "$t.crash_notification_after_panic" \
			"$([[ -n "$trig_ln" && $note_ln -gt $trig_ln ]] && echo 1 || echo 0)" \
			"the notification (line $note_ln) is not after the sysrq crash (line ${trig_ln:-none})"
		# The kmsg-dump form: P0-P2 zero, P3 a page-aligned GPA, P4 1..4096.
		tally "$t.crash_parameters" \
			"$([[ $p0 == 0 && $p1 == 0 && $p2 == 0 && $p3 != 0 && $((0x$p3 & 0xfff)) == 0 && $((0x$p4)) -ge 1 && $((0x$p4)) -le 4096 ]] && echo 1 || echo 0)" \
			"P0 $p0 P1 $p1 P2 $p2 P3 $p3 P4 $p4: expected Linux's kmsg form (0, 0, 0, page GPA, length 1-4096)"
		# The message hv.efi read at P3 is the P4 bytes Linux wrote: the
		# end of its log, with the panic line exactly as on the console.
		local msg="$HV_BUILD/$name.crash-message.txt"
		awk -v s="$note_ln" 'NR > s && /\] guest crash message: / { sub(/^.*\] guest crash message: /, ""); print }' \
			"$log" >"$msg"
		local nlines nchars
		nlines="$(wc -l <"$msg")"
		nchars="$(awk '{ n += length($0) } END { print n + 0 }' "$msg")"
		tally "$t.crash_message_length" \
			"$([[ $nlines -gt 0 && $((0x$p4)) -ge $nchars && $((0x$p4)) -le $((nchars + nlines)) ]] && echo 1 || echo 0)" \
			"hv.efi logged $nlines message lines with $nchars characters; P4 says $((0x$p4)) bytes"
		_c "$t.crash_message_has_panic" \
			"the crash message lacks the console's '${panic_line:-Kernel panic ...}' line" \
			grep -qxF -- "${panic_line:-no panic line on the console}" "$msg"
	fi

	# panic = -1: Linux restarts through the FADT reset register (0xCF9
	# on q35) at once. hv.efi does not intercept that port (it would trap
	# every PCI configuration access), so the proof is QEMU itself: with
	# -no-reboot it exits on the reset, before run-qemu.sh's timeout.
	local run_txt="$HV_BUILD/$name.run.txt"
	tally "$t.reset_after_crash" \
		"$([[ -f "$run_txt" && -n "$note_ln" ]] && ! grep -qE 'TIMEOUT|stopped early' "$run_txt" && echo 1 || echo 0)" \
		"the guest did not reset after the crash notification (QEMU did not exit by itself: $(cat "$run_txt" 2>/dev/null | tr '\n' ' '))"
	if grep -nE '\[hv E|PANIC' "$log" | grep -vE '\] guest crash (notification|message)' \
		>"$HV_BUILD/$name.errors.txt"; then
		head -n 10 "$HV_BUILD/$name.errors.txt"
		tally "$t.no_hv_errors" 0 "$(wc -l <"$HV_BUILD/$name.errors.txt") lines with '[hv E' or 'PANIC' besides the crash report"
	else
		tally "$t.no_hv_errors" 1
	fi
	return 0
}

# ---- Bochs (Intel VMX) ------------------------------------------------------
declare -A linux_bochs_pid=()

# linux_bochs_run NAME [HVTEST [RUN-BOCHS-ARGS...]]: Linux under hv.efi on
# Bochs corei7_skylake_x, the Bochs model that boots Linux 6.1 (tigerlake
# hangs it early, ryzen right after the EFI stub), with noxsave (Bochs's
# XSAVE leaf is inconsistent) and hvtest=HVTEST (default facts); e.g.
# `linux_bochs_run vmx-skx-linux-kvm kvm --nested`. In the foreground;
# linux_bochs_start runs it in the background.
linux_bochs_run() {
	local name="$1" mode="${2:-facts}" rc=0
	shift
	[[ $# == 0 ]] || shift
	rm -f "$HV_BUILD/$name.serial.log" "$HV_BUILD/$name.run.txt"
	"$HV_ROOT/tests/run-bochs.sh" --name "$name" --model corei7_skylake_x --linux \
		--guest-args "hvtest=$mode noxsave" --timeout "${HV_LINUX_BOCHS_TIMEOUT:-420}" "$@" \
		>"$HV_BUILD/$name.run.txt" 2>&1 </dev/null || rc=$?
	[[ $rc == 0 ]] || echo "run-bochs.sh exited $rc" >>"$HV_BUILD/$name.run.txt"
}

linux_bochs_start() {
	linux_bochs_run "$@" &
	linux_bochs_pid[$1]=$!
}

linux_bochs_wait() {
	local name="$1" rc=0
	[[ -n "${linux_bochs_pid[$name]:-}" ]] || return 0
	wait "${linux_bochs_pid[$name]}" || rc=$?
	unset "linux_bochs_pid[$name]"
	[[ -f "$HV_BUILD/$name.run.txt" ]] && sed 's/^/  /' "$HV_BUILD/$name.run.txt"
	[[ $rc == 0 ]] || echo "  run-bochs.sh exited $rc"
}

# linux_check_bochs NAME: detection and clocksource on Intel VMX.
linux_check_bochs() {
	local name="$1" log="$HV_BUILD/$1.clean.log"
	linux_check_facts "$name" "" 1 bochs
	_c "linux.$name.backend_vmx" "no 'hv.efi: hypervisor launched (vmx)'" _has "$log" 'hv.efi: hypervisor launched (vmx)'
}

# linux_check_kvm NAME: the hvtest=kvm run (nested=on, issue 16): Debian's
# kvm.ko and kvm-amd.ko load, /dev/kvm appears, tests/linux/kvmtest.c's VM
# runs with the exits it expects, KVM never saw a failed VMRUN, and Linux
# and KVM use exactly the nested enlightenments hv.efi offers (leaf
# 0x4000000A EAX, TLFS "Nested Virtualization"; the value hv.efi logs).
linux_check_kvm() {
	local name="$1"
	local t="linux.$name" raw="$HV_BUILD/$name.serial.log" log="$HV_BUILD/$name.clean.log"
	strip_log "$raw" "$log"
	linux_check_common "$name" "$log"
	local load m
	load="$(_lsec "$log" kvm-load)"
	for m in irqbypass ccp kvm kvm-amd; do
		_c "$t.insmod_${m//-/_}" "no 'insmod $m ok' in section kvm-load" \
			grep -qx "insmod $m ok" <<<"$load"
	done
	_c "$t.no_kvm_intel" "init tried kvm-intel on AMD" _lacks "$load" '^insmod kvm-intel'
	_c "$t.dev_kvm" "no /dev/kvm after loading kvm-amd" grep -qx '/dev/kvm present' <<<"$load"
	_c "$t.kvm_npt" "KVM does not use nested paging ('SVM: kvm: Nested Paging enabled')" \
		_has "$log" 'kvm: Nested Paging enabled'
	local kt nok nfail
	kt="$(_lsec "$log" kvmtest)"
	nok="$(grep -c '^kvmtest: ok ' <<<"$kt" || true)"
	nfail="$(grep -c '^kvmtest: FAIL' <<<"$kt" || true)"
	grep '^kvmtest: FAIL' <<<"$kt" | head -n 5 | sed 's/^/  /' || true
	# Every check of kvmtest.c (36 with the exits of the VM) passed.
	_c "$t.kvmtest_checks" "$nok checks ok, $nfail failed (want 36 ok)" [ "$nok" -ge 36 -a "$nfail" = 0 ]
	_c "$t.kvmtest_pass" "no 'kvmtest: PASS'" grep -qx 'kvmtest: PASS' <<<"$kt"
	_c "$t.no_invalid_vmrun" "KVM dumped a VMCB (a VMRUN failed: $(grep -m1 -F 'SVM: VMCB' "$log" || true))" \
		bash -c "! grep -qF 'SVM: VMCB Control Area' '$log'"
	if grep -nE '\[hv E|PANIC' "$log" >"$HV_BUILD/$name.errors.txt"; then
		tally "$t.no_hv_errors" 0 "$(wc -l <"$HV_BUILD/$name.errors.txt") lines with '[hv E' or 'PANIC'"
	else
		tally "$t.no_hv_errors" 1
	fi
	# The nested features: Linux's value = hv.efi's; each offered one in use.
	local hv lx
	hv="$(sed -nE 's/.*nested: enlightenments: CPUID 4000000A EAX (0x[0-9a-f]+).*/\1/p' "$log" | head -n 1)"
	lx="$(sed -nE 's/.*Hyper-V: Nested features: (0x[0-9a-f]+).*/\1/p' "$log" | head -n 1)"
	echo "  hv.efi offers 0x4000000A EAX ${hv:-none}; Linux read ${lx:-none}"
	_c "$t.nested_features" "Linux 'Nested features: ${lx:-none}', hv.efi offers ${hv:-none}" \
		[ -n "$hv" -a "$((${lx:-0}))" = "$((${hv:-1}))" ]
	local bit msg
	for bit in "22:Hyper-V enlightened NPT TLB flush enabled" "17:Hyper-V Direct TLB Flush enabled"; do
		msg="${bit#*:}"
		bit="${bit%%:*}"
		if _bit "${hv:-0}" "$bit"; then
			_c "$t.kvm_uses_bit$bit" "bit $bit offered, no '$msg' from kvm_amd" _has "$log" "$msg"
		else
			_c "$t.kvm_not_bit$bit" "bit $bit not offered, yet '$msg'" bash -c "! grep -qF '$msg' '$log'"
		fi
	done
	# With bit 17, kvmtest turns on KVM_CAP_HYPERV_DIRECT_TLBFLUSH: KVM
	# sets nested_flush_hypercall in the VMCB and hv.efi logs it.
	if _bit "${hv:-0}" 17; then
		_c "$t.direct_flush_on" "hv.efi did not log L1 turning on direct virtual flush" \
			_has "$log" 'L1 turned on direct virtual flush'
	fi
	# With bit 22, KVM's flushes (the dirty-logging step of kvmtest) are
	# the nested flush hypercalls: hv.efi's exit dump counts them.
	if _bit "${hv:-0}" 22; then
		local nf
		nf="$(sed -nE 's/.*nested vp0: .* flush hypercalls ([0-9]+).*/\1/p' "$log" | head -n 1)"
		_c "$t.flush_hypercalls" "hv.efi counted ${nf:-no} nested flush hypercalls (want > 0)" \
			[ "${nf:-0}" -gt 0 ]
	fi
	grep -E 'kvm_amd: Hyper-V|SVM: Hyper-V|kvm: Hyper-V' "$log" | sort -u | sed 's/^/  /' || true
}

# Linux's KVM on Intel VMX (issue 18): linux_check_kvm_vmx.
# shellcheck source=tests/linux/kvm-vmx.sh
source "$(dirname "${BASH_SOURCE[0]}")/kvm-vmx.sh"
