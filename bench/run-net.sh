#!/bin/bash
# bench/net on this host: basalt vs QEMU (virtio-net-pci, tap, vhost=off)
# with the net_bench test guest, in a network namespace made (and removed)
# here: tap 10.78.0.1/24 with a fixed MAC, IPv6 off, and a static neighbour
# entry for the guest (10.78.0.2, 52:54:00:78:00:02), as bench/net.c
# expects.
#   bench/run-net.sh BUILD_DIR [N] [bench/net options, e.g. --only RX]
set -euo pipefail
build=$(realpath "${1:-build}")
n=${2:-5}
shift $(($# < 2 ? $# : 2))
skip() { echo "SKIP: $*" >&2; exit 77; }
for f in bench/net src/basalt tests/guests/net_bench.elf; do
	[ -x "$build/$f" ] || { echo "run-net: no $build/$f (ninja -C BUILD_DIR first)" >&2; exit 2; }
done
[ -e /dev/kvm ] || skip "no /dev/kvm here: run it where KVM is available"
[ "$(id -u)" = 0 ] || skip "needs root (network namespace and tap)"
[ -w /dev/kvm ] || skip "/dev/kvm is not writable"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
qemu=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 not installed"
ns=bsnetbench-$$ tap=bsbench0
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns" 2>/dev/null || skip "ip netns add failed (no iproute2 or netns support)"
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add dev "$tap" mode tap
ip netns exec "$ns" sh -c "echo 1 > /proc/sys/net/ipv6/conf/$tap/disable_ipv6"
ip -n "$ns" link set "$tap" address 02:78:00:00:00:01
ip -n "$ns" addr add 10.78.0.1/24 dev "$tap"
ip -n "$ns" link set "$tap" up
ip -n "$ns" neigh add 10.78.0.2 lladdr 52:54:00:78:00:02 dev "$tap" nud permanent
cmd=("$build/bench/net" -n "$n" --basalt "$build/src/basalt" --qemu "$qemu"
     --guest "$build/tests/guests/net_bench.elf" --tap "$tap")
if [ -e /sys/module/kvm_pvm ]; then
	# QEMU's -cpu host aborts on PVM hosts setting IA32_ARCH_CAPABILITIES.
	cmd+=(--qemu-cpu host,-arch-capabilities)
fi
ip netns exec "$ns" "${cmd[@]}" "$@"
