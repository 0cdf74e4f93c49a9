#!/usr/bin/env bash
# Run Go test binaries inside a small qemu/KVM guest whose kernel has kTLS.
#
#   .ci/ktlsvm.sh BINARY[:PKGDIR]... [-- TEST_ARGS...]
#
# e.g. .ci/ktlsvm.sh bin/ktlsvm/tests/engine.test:engine -- -test.run KTLS -test.v
#
# Why: the development host's kernel has no CONFIG_TLS, so fjord's kTLS data
# path (setsockopt TCP_ULP "tls", then SOL_TLS TLS_TX/TLS_RX) cannot run
# there. Debian's own kernel builds tls as a module; this boots that kernel
# with an initramfs holding busybox, the tls and crypto modules and the test
# binaries, runs each binary in its package's directory with TEST_ARGS and
# FJORD_EXPECT_KTLS=1, and powers off. `make test-ktls` is the usual caller.
#
# Why here: .ci/ holds the scripts the Makefile's test targets call; dist/
# holds what `make install` ships, which this is not.
#
# The guest has no network device, only its own loopback, so no test traffic
# can leave it; nothing on the host (sysctls, modules) is changed. What it
# installs (qemu-system-x86, busybox-static, cpio) comes from apt; the kernel
# package is fetched with `apt-get download` and what is needed of it kept in
# $KTLSVM_CACHE, so only the first run downloads anything.
#
# Settings (environment):
#   KTLSVM_CACHE       cache and work directory (default: bin/ktlsvm of the repository)
#   KTLSVM_KERNEL_PKG  Debian kernel package (default: the one linux-image-amd64 depends on)
#   KTLSVM_TIMEOUT     seconds the whole guest may run (default 300 under KVM, 900 under TCG)
#   KTLSVM_ACCEL       kvm or tcg (default: kvm where the host has hardware KVM, else tcg, slower)
#   KTLSVM_MEM, KTLSVM_CPUS  guest memory and CPUs (default 1G, 2)
#
# Exit status: the first nonzero status of a test binary, 0 when all passed,
# and nonzero (2) when the guest never reported a result (boot failure,
# timeout, a crash), so a broken harness is never read as a pass.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${KTLSVM_CACHE:-$repo/bin/ktlsvm}
timeout_s=${KTLSVM_TIMEOUT:-300}
mem=${KTLSVM_MEM:-1G}
cpus=${KTLSVM_CPUS:-2}

# Modules the guest loads at boot: tls and the AEADs kTLS can use
# (AES-GCM, AES-CCM, ChaCha20-Poly1305), with their fast x86 versions. The
# initramfs carries every crypto module besides (about 4 MB), and
# /sbin/modprobe, so that whatever else the kernel asks for on demand
# (request_module "crypto-...") loads as on a real host.
preload="tls gcm ccm ctr ghash_generic ghash_clmulni_intel aesni_intel chacha20poly1305 chacha_x86_64 poly1305_x86_64 chacha_generic poly1305_generic"
moddirs="kernel/net/tls kernel/crypto kernel/arch/x86/crypto kernel/lib/crypto"

log() { echo "ktlsvm: $*" >&2; }
die() { log "$*"; exit 2; }

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# --- arguments ---------------------------------------------------------------
tests=()
while [ $# -gt 0 ]; do
	case $1 in
	--) shift; break ;;
	-h|--help) usage ;;
	*) tests+=("$1"); shift ;;
	esac
done
test_args=("$@")
[ ${#tests[@]} -gt 0 ] || usage

# --- host tools ----------------------------------------------------------------
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
apt_updated=""
apt_update() {
	[ -n "$apt_updated" ] && return
	$sudo apt-get update -qq
	apt_updated=1
}
# Install what is missing, without recommends: qemu-system-x86 would
# otherwise pull in a GUI.
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
# The guest has no libc: its busybox must be the static one.
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
command -v cpio >/dev/null || missing+=(cpio)
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	apt_update
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
busybox=/bin/busybox

# --- the kernel -------------------------------------------------------------
# The kernel package: what Debian's linux-image-amd64 points at today, unless
# KTLSVM_KERNEL_PKG says otherwise (the signed and the -unsigned package both
# work: qemu does not check the signature, and the modules are the same).
kpkg=${KTLSVM_KERNEL_PKG:-}
if [ -z "$kpkg" ]; then
	kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -1)
	if [ -z "$kpkg" ]; then
		apt_update
		kpkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -1)
	fi
	[ -n "$kpkg" ] || die "cannot tell which kernel linux-image-amd64 depends on (set KTLSVM_KERNEL_PKG)"
fi
kdir=$cache/kernel/$kpkg

# Fetch and extract once. The package is 70 MB and unpacks to 400 MB; only
# vmlinuz, the config and the modules the guest needs (about 4 MB) are kept.
if [ ! -e "$kdir/.complete" ]; then
	log "fetching $kpkg (once; kept in $kdir)"
	work=$cache/tmp
	rm -rf "$work" "$kdir"
	mkdir -p "$work" "$kdir"
	# apt drops to its _apt user to download unless told not to; it cannot
	# write into a root-owned directory.
	(cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$kpkg" >&2) || {
		apt_update
		(cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$kpkg" >&2)
	}
	dpkg-deb -x "$work"/*.deb "$work/x"
	kver=$(ls "$work/x/lib/modules")
	[ "$(echo "$kver" | wc -w)" = 1 ] || die "expected one kernel version in $kpkg, found: $kver"
	cp "$work/x/boot/vmlinuz-$kver" "$kdir/vmlinuz"
	cp "$work/x/boot/config-$kver" "$kdir/config"
	# Debian ships no modules.dep (its postinst runs depmod); make one for the
	# whole tree to find what the modules we keep depend on.
	"$busybox" depmod -b "$work/x" "$kver"
	mods=$work/x/lib/modules/$kver
	# Those modules and, per modules.dep, what they depend on, transitively.
	# shellcheck disable=SC2086 # (word splitting intended: paths without spaces)
	want=$(cd "$mods" && find $moddirs -name '*.ko*' |
		awk -v dep="$mods/modules.dep" '
			BEGIN { while ((getline l < dep) > 0) { split(l, f, ":"); deps[f[1]] = f[2] } }
			function add(m,   n, d, i) {
				if (m in seen) return
				seen[m] = 1; print m
				n = split(deps[m], d, " ")
				for (i = 1; i <= n; i++) add(d[i])
			}
			{ add($0) }' | sort)
	for m in $want; do
		mkdir -p "$kdir/lib/modules/$kver/$(dirname "$m")"
		cp "$mods/$m" "$kdir/lib/modules/$kver/$m"
	done
	cp "$mods/modules.builtin" "$mods/modules.order" "$kdir/lib/modules/$kver/"
	# modules.dep and modules.alias for just the kept modules, for the guest's
	# busybox modprobe.
	"$busybox" depmod -b "$kdir" "$kver"
	echo "$kver" > "$kdir/version"
	rm -rf "$work"
	touch "$kdir/.complete"
fi
kver=$(cat "$kdir/version")
grep -q '^CONFIG_TLS=[ym]' "$kdir/config" || die "$kpkg has no CONFIG_TLS"

# --- the initramfs ------------------------------------------------------------
# Rebuilt every run (a second or two): the test binaries change each time.
root=$cache/root
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,tests,src,ktlsvm,lib/modules}
cp "$busybox" "$root/bin/busybox"
# Enough of /etc for tests that resolve "localhost" (Go's resolver reads
# /etc/hosts, and there is no DNS) or look up root and nobody.
mkdir -p "$root/etc"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$root/etc/hosts"
printf 'root:x:0:0:root:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
cp -a "$kdir/lib/modules/$kver" "$root/lib/modules/"

# Each test binary goes to /tests/NAME and runs in /src/PKGDIR, which holds
# a copy of the package's testdata/ if it has one (go test runs a test
# binary in its package's directory, and tests open testdata/ relative to it).
: > "$root/ktlsvm/tests"
for t in "${tests[@]}"; do
	bin=${t%%:*}
	dir=.; [ "$t" != "$bin" ] && dir=${t#*:}
	dir=${dir#./}; dir=${dir%/}; [ -n "$dir" ] || dir=.
	[ -f "$bin" ] || die "no test binary $bin"
	# A dynamically linked binary would fail in the guest with a puzzling
	# "not found": say so here instead. (Build with CGO_ENABLED=0.)
	if head -c 65536 "$bin" | grep -aq '/ld-linux'; then
		die "$bin is dynamically linked; build it with CGO_ENABLED=0"
	fi
	name=$(basename "$bin")
	cp "$bin" "$root/tests/$name"
	mkdir -p "$root/src/$dir"
	[ -d "$repo/$dir/testdata" ] && cp -a "$repo/$dir/testdata" "$root/src/$dir/"
	echo "$name $dir" >> "$root/ktlsvm/tests"
done

# The test arguments, quoted for the guest's shell: `set -- 'a' 'b c'`.
{
	printf 'set --'
	for a in "${test_args[@]+"${test_args[@]}"}"; do
		printf " '%s'" "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"
	done
	echo
} > "$root/ktlsvm/args"

cat > "$root/init" <<EOF
#!/bin/busybox sh
# PID 1 of the kTLS test guest (written by .ci/ktlsvm.sh).
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/tmp TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
ip link set lo up
echo "ktlsvm: guest kernel \$(uname -r), \$(nproc) CPUs"
# Loaded now rather than on demand, so that a module that will not load
# shows here, before any test.
for m in $preload; do
	modprobe \$m || echo "ktlsvm: modprobe \$m failed"
done
# Tests named *KTLS* skip on a kernel without kTLS; here they must run.
export FJORD_EXPECT_KTLS=1
. /ktlsvm/args
status=0
while read name dir; do
	echo "ktlsvm: running /tests/\$name in /src/\$dir"
	cd "/src/\$dir"
	/tests/\$name "\$@"
	rc=\$?
	# On a line of its own even if the test's last line was not ended.
	echo; echo "KTLSVM-RESULT \$name \$rc"
	[ \$status = 0 ] && status=\$rc
done < /ktlsvm/tests
echo; echo "KTLSVM-DONE \$status"
sync
poweroff -f
EOF
chmod 0755 "$root/init"

initrd=$cache/initramfs.cpio.gz
# gzip -1: the test binaries are most of it, and barely compress anyway.
(cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet --owner 0:0) | gzip -1 > "$initrd"
rm -rf "$root"

# --- boot ---------------------------------------------------------------------
# KVM when the host has hardware KVM; else TCG, qemu's emulator, which is
# slower (here the guest boots in about 10 s and the kTLS probe takes under
# a second: fine for functional tests, meaningless for timing).
accel=${KTLSVM_ACCEL:-}
if [ -z "$accel" ]; then
	accel=tcg
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		log "no usable /dev/kvm: emulating the guest with TCG, which is slow"
	elif [ -d /sys/module/kvm_pvm ] && [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; then
		# PVM (pagetable-based nested virtualization, kvm_pvm) runs only
		# kernels built as PVM guests at speed: Debian's did not get past
		# its decompressor in 6 minutes here, where TCG boots it in 10 s.
		log "/dev/kvm is PVM (kvm_pvm), which cannot run Debian's kernel at speed: emulating the guest with TCG, which is slow"
	else
		accel=kvm
	fi
fi
case $accel in
kvm) qaccel=(-enable-kvm -cpu host) ;;
# -cpu max: AES-NI, PCLMUL and AVX, so the guest's crypto takes the same
# (aesni_intel, ghash_clmulni_intel) paths as on real hardware.
tcg)
	qaccel=(-accel tcg -cpu max)
	timeout_s=${KTLSVM_TIMEOUT:-$((timeout_s * 3))} ;;
*) die "KTLSVM_ACCEL is kvm or tcg, not $accel" ;;
esac

console=$cache/console.log
log "booting $kpkg ($kver) with ${#tests[@]} test binaries, $(du -h "$initrd" | cut -f1) initramfs, timeout ${timeout_s}s"
start=$(date +%s)
# No -netdev/-nic: the guest has loopback only. stdin from /dev/null: the
# console is output only, and qemu leaves the caller's terminal alone.
set +e
timeout -k 10 "$timeout_s" qemu-system-x86_64 "${qaccel[@]}" -m "$mem" -smp "$cpus" \
	-nographic -no-reboot -nic none \
	-kernel "$kdir/vmlinuz" -initrd "$initrd" \
	-append 'console=ttyS0 quiet panic=-1' </dev/null |
	# SeaBIOS resets and clears the terminal (ESC c, ESC [2J) and turns off
	# line wrap: drop escape sequences and carriage returns, so the caller's
	# terminal is left as it was and the log is plain text.
	sed -u -e 's/\x1bc//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\r//g' | tee "$console"
qrc=${PIPESTATUS[0]}
set -e
log "guest ran $(($(date +%s) - start))s; console in $console"

done_line=$(grep -a '^KTLSVM-DONE ' "$console" | tail -1 || true)
if [ -z "$done_line" ]; then
	[ "$qrc" = 124 ] && die "the guest timed out after ${timeout_s}s without reporting a result"
	die "the guest never reported a result (qemu exit status $qrc)"
fi
status=${done_line#KTLSVM-DONE }
grep -a '^KTLSVM-RESULT ' "$console" | while read -r _ name rc; do
	log "$name: exit status $rc"
done
exit "$status"
