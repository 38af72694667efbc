#!/bin/sh
# Host side of the virtio_net test guest: a network namespace with a tap
# (10.77.0.1/24, IPv6 off so the host sends nothing unasked), a UDP echo
# server in it, the guest on the tap under basalt (or QEMU, to keep the
# guest honest), then the guest's verdict and the host's own counters:
# the tap received exactly the frames the guest sent and dropped none, sent
# at least the frames the guest received; the echo server echoed every
# datagram; the kernel answered every echo request and counted exactly
# one UDP checksum error (the guest's deliberately wrong one).
#   virtio-net-guest.sh RUNNER GUEST.elf UDP-ECHO QUEUES [GUEST-ARGS...]
# RUNNER is basalt's binary or "qemu"; QUEUES 1 or 2 (a multi_queue tap,
# 2 vCPUs, pairs=2 for the guest).  Exits 77 without root, /dev/net/tun or
# network namespaces.  POSIX sh (with-kvm.sh may run it in the L1 VM).
set -u
runner=$1 guest=$2 echo_srv=$3 queues=$4
shift 4
count=1000
mac=52:54:00:5e:77:02
ns=bsnet-$$ tap=bstap$$
dir=$(mktemp -d /tmp/basalt-netguest.XXXXXX)
echo_pid=''
cleanup() {
	[ -n "$echo_pid" ] && kill "$echo_pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespace and tap)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
ip netns add "$ns" 2>/dev/null || skip "ip netns add failed (no iproute2 or netns support)"
mq='' pairs=1
[ "$queues" -gt 1 ] && { mq=multi_queue; pairs=$queues; }
set -e
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add dev "$tap" mode tap $mq
ip netns exec "$ns" sh -c "echo 1 > /proc/sys/net/ipv6/conf/$tap/disable_ipv6"
ip -n "$ns" addr add 10.77.0.1/24 dev "$tap"
ip -n "$ns" link set "$tap" up
set +e

ip netns exec "$ns" "$echo_srv" 10.77.0.1 7777 "$dir/ready" > "$dir/echo.out" 2>&1 &
echo_pid=$!
i=0
while [ ! -e "$dir/ready" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$dir/ready" ] || { cat "$dir/echo.out"; echo "FAIL: UDP echo server did not start"; exit 1; }

args="ip=10.77.0.2 host=10.77.0.1 port=7777 mac=$mac count=$count bad_csum=1 pairs=$pairs $*"
if [ "$runner" = qemu ]; then
	command -v qemu-system-x86_64 > /dev/null || skip "qemu-system-x86_64 not installed"
	netdev="tap,id=n,ifname=$tap,script=no,downscript=no"
	dev="virtio-net-pci,netdev=n,disable-legacy=on,romfile=,mac=$mac"
	[ "$queues" -gt 1 ] && { netdev="$netdev,queues=$queues"; dev="$dev,mq=on,vectors=$((2 * queues + 2))"; }
	echo "+ qemu-system-x86_64 -M q35,accel=tcg -netdev $netdev -device $dev -append '$args'"
	ip netns exec "$ns" timeout -s KILL 120 qemu-system-x86_64 -M q35,accel=tcg -cpu max \
		-smp "$queues" -m 256M -nographic -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=1 -kernel "$guest" -append "$args" \
		-netdev "$netdev" -device "$dev" < /dev/null > "$dir/out" 2>&1
	rc=$?
	want=1		# isa-debug-exit: (0 << 1) | 1
else
	echo "+ $runner run --kernel $guest --cpus $queues --net tap=$tap,mac=$mac,queues=$queues --cmdline '$args'"
	ip netns exec "$ns" "$runner" run -v --kernel "$guest" --memory 128M --cpus "$queues" \
		--console stdio --timeout 120 --net "tap=$tap,mac=$mac,queues=$queues" \
		--cmdline "$args" < /dev/null > "$dir/out" 2>&1
	rc=$?
	want=0
fi
kill -TERM "$echo_pid"
wait "$echo_pid"
echo_pid=''
sed 's/.*Booting from ROM\.\.//' "$dir/out"
cat "$dir/echo.out"

fail=0
bad() { echo "FAIL: $*"; fail=1; }
[ "$rc" = "$want" ] || bad "exit status $rc, expected $want"
grep -q 'virtio_net: [0-9]* checks, 0 failed: PASS' "$dir/out" || bad "guest verdict"
udp=$(sed -n 's/.*virtio_net: udp: \([0-9]*\) datagrams, \([0-9]*\) echoed.*/\2/p' "$dir/out")
frames=$(sed -n 's/.*virtio_net: frames tx=\([0-9]*\) rx=\([0-9]*\),.*/\1 \2/p' "$dir/out")
gtx=${frames% *} grx=${frames#* }
if [ -n "$frames" ] && [ -n "$udp" ]; then
	stat() { ip netns exec "$ns" cat "/sys/class/net/$tap/statistics/$1"; }
	snmp() {	# snmp PROTO FIELD: a counter of /proc/net/snmp in the namespace
		ip netns exec "$ns" awk -v p="$1:" -v f="$2" '$1 == p {
			if (!n) { for (i = 2; i <= NF; i++) col[$i] = i; n = 1 } else print $col[f] }' /proc/net/snmp
	}
	echo "host: tap rx_packets $(stat rx_packets) tx_packets $(stat tx_packets)" \
	     "rx_dropped $(stat rx_dropped) tx_dropped $(stat tx_dropped)"
	[ "$(stat rx_packets)" = "$gtx" ] || bad "tap received $(stat rx_packets) frames, guest sent $gtx"
	[ "$(stat tx_packets)" -ge "$grx" ] || bad "tap sent $(stat tx_packets) frames, guest received $grx"
	[ "$(stat rx_dropped)" = 0 ] || bad "tap dropped $(stat rx_dropped) frames from the guest"
	[ "$(stat tx_dropped)" = 0 ] || bad "tap dropped $(stat tx_dropped) frames for the guest"
	echo "host: Icmp InEchos $(snmp Icmp InEchos) OutEchoReps $(snmp Icmp OutEchoReps)," \
	     "Udp InDatagrams $(snmp Udp InDatagrams) InCsumErrors $(snmp Udp InCsumErrors)"
	[ "$(snmp Icmp InEchos)" = $count ] || bad "host got $(snmp Icmp InEchos) echo requests, not $count"
	[ "$(snmp Icmp OutEchoReps)" = $count ] || bad "host sent $(snmp Icmp OutEchoReps) echo replies"
	[ "$(snmp Udp InCsumErrors)" = 1 ] || bad "UDP checksum errors $(snmp Udp InCsumErrors), expected 1"
	# Every datagram plus the one after the bad checksum.
	grep -q "udp-echo: $((udp + 1)) datagrams" "$dir/echo.out" ||
		bad "echo server did not echo exactly $((udp + 1)) datagrams"
else
	bad "guest reported no counters"
fi
[ $fail = 0 ] && echo PASS
exit $fail
