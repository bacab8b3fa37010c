#!/usr/bin/env bash
# tests/linux/run.sh - the Linux guest tests on their own (`make test-linux`,
# `make test-slow`); tests/run-all.sh runs the same checks inside
# `make test`. Debian's stock kernel (tests/linux/fetch.sh) boots as
# hv.efi's guest:
#
#   svm-linux         QEMU TCG SVM, 1 CPU, hvtest=facts (tests/linux/init):
#                     detection, the Hyper-V leaves against the payload's
#                     CPUID, the reference TSC page clocksource and its
#                     time, a clean kernel log, ACPI power-off
#   svm-linux-crash   the same kernel crashed with sysrq c: hv.efi's crash
#                     notification with Linux's parameters and message
#   svm-linux-kvm     nested=on, hvtest=kvm: Debian's kvm.ko and kvm-amd.ko
#                     load, tests/linux/kvmtest.c's VM runs (issue 16)
#   linux-cpuid       the test payload under hv.efi, for the CPUID values
#                     Linux must print
#   svm-linux-smp2    --smp2: 2 CPUs (needs SMP, issue 4)
#   svm-linux-kvm-smp2  --smp2: svm-linux-kvm with 2 CPUs
#   vmx-skx-linux     --bochs: Bochs corei7_skylake_x (Intel VMX), noxsave,
#                     1 CPU: detection and clocksource (about 3 min)
#   vmx-skx-linux-kvm --bochs, after vmx-skx-linux: nested=on, hvtest=kvm
#                     hvend=crash: Debian's kvm.ko and kvm-intel.ko run
#                     kvmtest's VM as hv.efi's L1, with the enlightened
#                     VMCS when hv.efi offers it (issue 18;
#                     tests/linux/kvm-vmx.sh)
#   vmx-skx-linux-kvm-nohv  --bochs-nohv: the same on Bochs's own VMX
#                     without hv.efi: proves kvmtest and the harness on
#                     VMX (about 3 min)
#
#   tests/linux/run.sh [--smp2] [--bochs] [--bochs-nohv] [--no-qemu]
#
# Ends with "N passed, M failed"; exit status 1 on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib.sh
source "$here/../lib.sh"
# shellcheck source=tests/linux/checks.sh
source "$here/checks.sh"
cd "$HV_ROOT"

smp2=0
bochs=0
bochs_nohv=0
qemu=1
while [[ $# -gt 0 ]]; do
	case "$1" in
	--smp2) smp2=1 ;;
	--bochs) bochs=1 ;;
	--bochs-nohv) bochs_nohv=1 ;;
	--no-qemu) qemu=0 ;;
	*) sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
	shift
done

for f in "$HV_BUILD/hv.efi" "$HV_BUILD/tests/payload.efi"; do
	[[ -f "$f" ]] || { echo "linux/run: missing $f (make all)" >&2; exit 3; }
done
mkdir -p "$HV_BUILD"

section "fetch: Debian's kernel and the initramfs (tests/linux/fetch.sh)"
if linux_fetch; then
	echo "kernel: $(cat "$HV_BUILD/linux/kernel.txt" 2>/dev/null || echo unknown)"
	if [[ $qemu == 1 ]]; then
		linux_start linux-cpuid --guest payload
		linux_start svm-linux --linux --guest-args hvtest=facts
		linux_start svm-linux-crash --linux --guest-args hvtest=crash
		linux_start svm-linux-kvm --linux --nested --guest-args hvtest=kvm
		[[ $smp2 == 0 ]] || linux_start svm-linux-smp2 --linux --smp 2 --guest-args hvtest=facts
		[[ $smp2 == 0 ]] || linux_start svm-linux-kvm-smp2 --linux --nested --smp 2 --guest-args hvtest=kvm
	fi
	# One Bochs at a time (each is single-threaded and slow): a chain.
	bochs_chain=
	if [[ $bochs == 1 || $bochs_nohv == 1 ]]; then
		(
			if [[ $bochs == 1 ]]; then
				linux_bochs_run vmx-skx-linux
				HV_LINUX_BOCHS_TIMEOUT="${HV_LINUX_BOCHS_TIMEOUT:-900}" \
					linux_bochs_run vmx-skx-linux-kvm 'kvm hvend=crash' --nested
			fi
			if [[ $bochs_nohv == 1 ]]; then
				HV_LINUX_BOCHS_TIMEOUT="${HV_LINUX_BOCHS_TIMEOUT:-600}" \
					linux_bochs_run vmx-skx-linux-kvm-nohv kvm --no-hv
			fi
		) &
		bochs_chain=$!
	fi

	if [[ $qemu == 1 ]]; then
		section "linux-cpuid: the payload's view of CPUID (expected values)"
		linux_wait linux-cpuid
		strip_log "$HV_BUILD/linux-cpuid.serial.log" "$HV_BUILD/linux-cpuid.clean.log"
		grep -m1 'info: cpuid 40000003' "$HV_BUILD/linux-cpuid.clean.log" || echo "  (no CPUID info line)"
		section "svm-linux: Debian's kernel under hv.efi (QEMU TCG, SVM, 1 CPU)"
		linux_wait svm-linux
		linux_check_facts svm-linux "$HV_BUILD/linux-cpuid.clean.log" 1
		section "svm-linux-crash: a deliberate kernel crash (sysrq c)"
		linux_wait svm-linux-crash
		linux_check_crash svm-linux-crash
		section "svm-linux-kvm: Linux's KVM runs a VM on hv.efi (nested=on, QEMU TCG SVM)"
		linux_wait svm-linux-kvm
		linux_check_kvm svm-linux-kvm
		if [[ $smp2 == 1 ]]; then
			section "svm-linux-smp2: Debian's kernel under hv.efi (QEMU TCG, SVM, 2 CPUs)"
			linux_wait svm-linux-smp2
			linux_check_facts svm-linux-smp2 "$HV_BUILD/linux-cpuid.clean.log" 2
			section "svm-linux-kvm-smp2: Linux's KVM on hv.efi with 2 CPUs (nested=on)"
			linux_wait svm-linux-kvm-smp2
			linux_check_kvm svm-linux-kvm-smp2
		fi
	fi
	if [[ -n "$bochs_chain" ]]; then
		wait "$bochs_chain" || true
	fi
	_show_run() { [[ -f "$HV_BUILD/$1.run.txt" ]] && sed 's/^/  /' "$HV_BUILD/$1.run.txt"; }
	if [[ $bochs == 1 ]]; then
		section "vmx-skx-linux: Debian's kernel under hv.efi (Bochs corei7_skylake_x, VMX)"
		_show_run vmx-skx-linux
		linux_check_bochs vmx-skx-linux
		section "vmx-skx-linux-kvm: Linux's KVM runs a VM on hv.efi (nested=on, Bochs VMX)"
		_show_run vmx-skx-linux-kvm
		linux_check_kvm_vmx vmx-skx-linux-kvm
	fi
	if [[ $bochs_nohv == 1 ]]; then
		section "vmx-skx-linux-kvm-nohv: Linux's KVM on Bochs's own VMX (no hv.efi)"
		_show_run vmx-skx-linux-kvm-nohv
		linux_check_kvm_vmx vmx-skx-linux-kvm-nohv nohv
	fi
fi

echo
echo "$T_PASS passed, $T_FAIL failed"
[[ $T_FAIL == 0 ]]
