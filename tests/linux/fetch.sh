#!/usr/bin/env bash
# tests/linux/fetch.sh - the Linux guest of `make run` and the Linux tests,
# fetched from Debian and cached under build/linux/ (nothing from these
# packages is committed):
#
#   build/linux/vmlinuz.efi     Debian's stock kernel (the package that
#                               linux-image-amd64 depends on); only
#                               /boot/vmlinuz-* is extracted. Its EFI stub
#                               is what hv.efi starts.
#   build/linux/kernel.txt      the package and version it came from
#   build/linux/busybox         busybox-static's /bin/busybox
#   build/linux/hvtool          tests/linux/hvtool.c (clock and SMP
#                               measurements), linked statically
#   build/linux/kvmtest         tests/linux/kvmtest.c (Linux's KVM runs a
#                               VM on hv.efi, issue 16), linked statically
#   build/linux/kvm/*.ko        kvm.ko, kvm-amd.ko, kvm-intel.ko and the
#                               modules they depend on (irqbypass, ccp;
#                               kvm-intel needs only kvm), from the same
#                               kernel package as vmlinuz.efi (its
#                               version in kernel.txt); load-order lists
#                               the order /init loads them in (it skips
#                               the vendor module of the other vendor)
#   build/linux/initrd.img      initramfs: /init (tests/linux/init), busybox
#                               and its applet links, hvtool, kvmtest,
#                               /lib/modules/kvm/, /dev/console
#
# Idempotent: the kernel, its KVM modules and busybox are downloaded once; the initramfs is
# rebuilt when tests/linux/init, hvtool.c or this script changed. `tests/linux/fetch.sh --force`
# downloads again (e.g. after a Debian kernel update). Runs `apt-get update`
# when apt does not know the packages yet (needs root). Needs apt-get,
# dpkg-deb, cpio, gzip and a C compiler with static libc (build-essential).
# Prints the directory on success.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib.sh
source "$here/../lib.sh"

force=0
[[ "${1:-}" == --force ]] && force=1

out="$HV_BUILD/linux"
mkdir -p "$out"

say() { echo "linux/fetch: $*" >&2; }
die() { say "$*"; exit 1; }

for t in apt-get apt-cache dpkg-deb cpio gzip tar; do
	command -v "$t" >/dev/null || die "$t not installed (Debian: apt-get install ${t/dpkg-deb/dpkg})"
done

# apt_update: refresh the package lists (once per run).
updated=0
apt_update() {
	[[ $updated == 1 ]] && return 0
	updated=1
	if [[ $(id -u) != 0 ]]; then
		say "apt does not know the packages: run 'apt-get update' as root"
		return 1
	fi
	say "apt-get update"
	apt-get update -qq >&2
}

# kernel_package: the package linux-image-amd64 depends on
# (linux-image-6.1.0-NN-amd64 on Debian 12).
kernel_package() {
	{ apt-cache depends linux-image-amd64 2>/dev/null || true; } |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

# download PKG DIR: apt-get download PKG into DIR (as root, without the
# _apt sandbox user, which cannot write into our directory).
download() {
	local pkg="$1" dir="$2"
	local opts=()
	[[ $(id -u) == 0 ]] && opts=(-o APT::Sandbox::User=root)
	(cd "$dir" && apt-get download -qq "${opts[@]}" "$pkg" >&2)
}

# fetch PKG DIR: download, with an apt-get update and a retry on failure
# (stale lists name a version the mirror no longer has).
fetch() {
	download "$1" "$2" && return 0
	apt_update && download "$1" "$2"
}

tmp="$(mktemp -d "$out/tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# ---- the kernel ------------------------------------------------------------
if [[ $force == 1 || ! -s "$out/vmlinuz.efi" ]]; then
	pkg="$(kernel_package)"
	if [[ -z "$pkg" ]]; then
		apt_update || exit 1
		pkg="$(kernel_package)"
	fi
	[[ -n "$pkg" ]] || die "cannot find the package linux-image-amd64 depends on"
	say "downloading $pkg"
	fetch "$pkg" "$tmp" || die "apt-get download $pkg failed"
	deb="$(ls "$tmp"/*.deb)"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./boot
	vmlinuz="$(ls "$tmp"/boot/vmlinuz-*)"
	[[ -s "$vmlinuz" ]] || die "no /boot/vmlinuz-* in $deb"
	mv "$vmlinuz" "$out/vmlinuz.efi"
	printf '%s %s\n' "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" \
		>"$out/kernel.txt"
	rm -rf "$tmp"/*
	say "kernel $(cat "$out/kernel.txt")"
fi

# ---- KVM's modules (from the package the kernel came from) ---------------
# The modules a kernel module needs: its .modinfo "depends=" field.
mod_depends() {
	tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | tr ',' ' '
}
kvm_mods="irqbypass ccp kvm kvm-amd kvm-intel" # load order: each after what it depends on
need_mods=$force
for m in $kvm_mods; do
	[[ -s "$out/kvm/$m.ko" ]] || need_mods=1
done
if [[ $need_mods == 1 ]]; then
	read -r pkg ver <"$out/kernel.txt" || die "no kernel.txt"
	say "downloading $pkg=$ver for its KVM modules"
	fetch "$pkg=$ver" "$tmp" || die "apt-get download $pkg=$ver failed"
	deb="$(ls "$tmp"/*.deb)"
	kdir="$(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -n 's|^\./lib/modules/\([^/]*\)/$|\1|p' | head -n 1)"
	[[ -n "$kdir" ]] || die "no /lib/modules/ in $deb"
	base="./lib/modules/$kdir/kernel"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "$base/arch/x86/kvm/kvm.ko" \
		"$base/arch/x86/kvm/kvm-amd.ko" "$base/arch/x86/kvm/kvm-intel.ko" \
		"$base/virt/lib/irqbypass.ko" \
		"$base/drivers/crypto/ccp/ccp.ko"
	rm -rf "$out/kvm"
	mkdir -p "$out/kvm"
	find "$tmp/lib/modules" -name '*.ko' -exec mv {} "$out/kvm/" \;
	# Every dependency must be in the list, before the module.
	seen=" "
	for m in $kvm_mods; do
		[[ -s "$out/kvm/$m.ko" ]] || die "$m.ko missing from $deb"
		for d in $(mod_depends "$out/kvm/$m.ko"); do
			[[ "$seen" == *" $d "* ]] || die "$m.ko depends on $d, not loaded before it"
		done
		seen="$seen${m//-/_} $m "
	done
	echo "$kvm_mods" >"$out/kvm/load-order"
	rm -rf "$tmp"/*
	say "KVM modules of $pkg $ver: $kvm_mods"
fi

# ---- busybox ---------------------------------------------------------------
if [[ $force == 1 || ! -x "$out/busybox" ]]; then
	say "downloading busybox-static"
	fetch busybox-static "$tmp" || die "apt-get download busybox-static failed"
	dpkg-deb --fsys-tarfile "$tmp"/busybox-static_*.deb | tar -x -C "$tmp" ./bin/busybox
	mv "$tmp/bin/busybox" "$out/busybox"
	touch "$out/busybox" # the package's mtime may be in the future
	rm -rf "$tmp"/*
fi

# ---- hvtool (static: the initramfs has no libraries) -----------------------
if [[ ! -x "$out/hvtool" || "$here/hvtool.c" -nt "$out/hvtool" ]]; then
	${CC:-gcc} -static -O2 -Wall -Wextra -Werror -o "$out/hvtool.tmp" "$here/hvtool.c"
	mv "$out/hvtool.tmp" "$out/hvtool"
fi

# ---- kvmtest (static) ------------------------------------------------------
if [[ ! -x "$out/kvmtest" || "$here/kvmtest.c" -nt "$out/kvmtest" ]]; then
	${CC:-gcc} -static -O2 -Wall -Wextra -Werror -o "$out/kvmtest.tmp" "$here/kvmtest.c"
	mv "$out/kvmtest.tmp" "$out/kvmtest"
fi

# ---- the initramfs ---------------------------------------------------------
# cpio_node NAME MODE MAJOR MINOR: one newc header for a device node (no
# data), so that building the archive needs no mknod (no root).
cpio_node() {
	local name="$1" mode="$2" maj="$3" min="$4"
	local namesize=$((${#name} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
		1 "$mode" 0 0 1 0 0 0 0 "$maj" "$min" "$namesize" 0 "$name"
	# the header (110 bytes) plus the name is padded to a multiple of 4
	local pad=$(((4 - (110 + namesize) % 4) % 4))
	head -c "$pad" /dev/zero
}
cpio_trailer() {
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
		0 0 0 0 1 0 0 0 0 0 0 11 0 'TRAILER!!!'
	head -c $(((4 - (110 + 11) % 4) % 4)) /dev/zero
}

need_initrd=0
[[ -s "$out/initrd.img" ]] || need_initrd=1
for f in "$here/init" "$here/fetch.sh" "$out/busybox" "$out/hvtool" "$out/kvmtest" "$out/kvm/load-order"; do
	[[ "$f" -nt "$out/initrd.img" ]] && need_initrd=1
done
if [[ $need_initrd == 1 ]]; then
	root="$tmp/root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc}
	cp "$out/busybox" "$root/bin/busybox"
	cp "$out/hvtool" "$root/bin/hvtool"
	cp "$out/kvmtest" "$root/bin/kvmtest"
	mkdir -p "$root/lib/modules/kvm"
	cp "$out/kvm/"*.ko "$out/kvm/load-order" "$root/lib/modules/kvm/"
	cp "$here/init" "$root/init"
	chmod 755 "$root/init" "$root/bin/busybox" "$root/bin/hvtool" "$root/bin/kvmtest"
	for app in $("$out/busybox" --list-full); do
		[[ -e "$root/$app" ]] || ln -s /bin/busybox "$root/$app"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	# Two concatenated archives (the kernel unpacks both): /dev/console
	# first (the kernel opens it for init's stdin/stdout before anything
	# mounts devtmpfs), then everything else, gzip-compressed.
	{
		cpio_node dev 040755 0 0
		cpio_node dev/console 020600 5 1
		cpio_trailer
		(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
			cpio -o -H newc -R 0:0 --quiet | gzip -9n)
	} >"$out/initrd.img.tmp"
	mv "$out/initrd.img.tmp" "$out/initrd.img"
	say "initramfs $(du -k "$out/initrd.img" | cut -f1) KiB"
fi

echo "$out"
