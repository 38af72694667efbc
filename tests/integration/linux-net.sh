#!/bin/sh
# virtio-net with a Linux guest and no guest user space (so it runs on PVM
# hosts too).  The CI test kernel configures eth0 itself (ip= on its
# command line, CONFIG_IP_PNP), sends its log to the host over UDP
# (netconsole), runs its KUnit suites (output after netconsole started),
# and root=/dev/nonexistent rootwait then keeps it alive and idle.
# In a network namespace of its own, the host side
#   - pings the idle guest's kernel PINGS times (default 2000 every 0.04 s:
#     where guest ring 0 is emulated, PVM hosts, the kernel answers ~45
#     echoes a second at most) and requires every one to be answered,
#   - stops basalt with SIGTERM (exit status 130),
#   - requires the netconsole stream it received (socat) to be the end of
#     the serial console's log, from at least the line "netconsole: network
#     logging started" on (netconsole given on the kernel command line first
#     replays the log buffer, so it is normally all of it).
#
#   linux-net.sh BASALT KERNEL [PINGS [INTERVAL]]
# POSIX sh: it also runs inside the nested-KVM L1 VM's busybox.
set -u
basalt=$1 kernel=$2 pings=${3:-2000} interval=${4:-0.04}

skip() { echo "SKIP: $*"; exit 77; }
command -v socat > /dev/null || skip "socat not installed"
command -v busybox > /dev/null || skip "busybox not installed (its ping is used)"
[ "$(id -u)" = 0 ] || skip "needs root (network namespace and tap)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
# iproute2's ip by path: busybox sh (the L1 VM's) runs its own ip applet,
# which has no netns or tuntap, for a bare "ip".
ip=''
for c in /usr/sbin/ip /sbin/ip /usr/bin/ip; do [ -x "$c" ] && { ip=$c; break; }; done
[ -n "$ip" ] || skip "iproute2's ip not installed"
ns=basalt-lnet-$$ tap=blnet$$
"$ip" netns add "$ns" 2> /dev/null || skip "cannot create a network namespace (ip netns add)"

dir=$(mktemp -d /tmp/basalt-lnet.XXXXXX)
bpid='' spid=''
cleanup() {
	[ -n "$bpid" ] && kill -KILL "$bpid" 2> /dev/null
	[ -n "$spid" ] && kill "$spid" 2> /dev/null
	wait 2> /dev/null
	"$ip" -n "$ns" link del "$tap" 2> /dev/null
	"$ip" netns del "$ns"
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
nsx() { "$ip" netns exec "$ns" "$@"; }

host=10.77.1.1 guest=10.77.1.2 gmac=52:54:00:77:01:02
"$ip" -n "$ns" tuntap add dev "$tap" mode tap || exit 1
"$ip" -n "$ns" addr add "$host/24" dev "$tap" || exit 1
"$ip" -n "$ns" link set "$tap" up || exit 1
hmac=$("$ip" -n "$ns" link show "$tap" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
[ -n "$hmac" ] || { echo "FAIL: no MAC address on $tap"; exit 1; }

"$ip" netns exec "$ns" socat -u "UDP-RECV:6666,bind=$host" "CREATE:$dir/netcon" &
spid=$!

cmdline="console=ttyS0 ignore_loglevel ip=$guest::$host:255.255.255.0::eth0:off"
cmdline="$cmdline netconsole=6666@$guest/eth0,6666@$host/$hmac"
cmdline="$cmdline root=/dev/nonexistent rootwait"
echo "+ ip netns exec $ns $basalt run --kernel $kernel --net tap=$tap,mac=$gmac --cmdline '$cmdline'"
start=$(date +%s)
# ip netns exec execs basalt: $! is basalt's pid.
"$ip" netns exec "$ns" "$basalt" run --stats --kernel "$kernel" --memory 128M \
	--net "tap=$tap,mac=$gmac" --cmdline "$cmdline" > "$dir/serial" 2> "$dir/err" &
bpid=$!

fail=0
# Until boot is over (~100 s on a PVM host, at most 10 minutes): the
# kernel has run its KUnit suites (output after netconsole registered)
# and waits for the root device.  Then a few tries for its first answer
# (ARP).
up=0 i=0
while [ $i -lt 600 ] && kill -0 "$bpid" 2> /dev/null &&
	! grep -q 'Waiting for root device' "$dir/serial"; do
	sleep 1
	i=$((i + 1))
done
i=0
while [ $i -lt 10 ] && kill -0 "$bpid" 2> /dev/null; do
	if nsx busybox ping -c 1 -w 2 "$guest" > /dev/null 2>&1; then up=1; break; fi
	i=$((i + 1))
done
booted=$(date +%s)
if [ $up = 1 ]; then
	echo "guest booted and answered after $((booted - start)) s"
	nsx busybox ping -q -c "$pings" -i "$interval" -W 60 "$guest" > "$dir/ping" 2>&1
	pinged=$(date +%s)
	cat "$dir/ping"
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$dir/ping")
	got=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' "$dir/ping")
	echo "pings: $pings sent at ${interval}s intervals, ${got:-?} answered, in $((pinged - booted)) s"
	[ "${sent:-}" = "$pings" ] && [ "${got:-}" = "$pings" ] ||
		{ echo "FAIL: lost echo requests or replies (sent ${sent:-?}, answered ${got:-?} of $pings)"; fail=1; }
else
	echo "FAIL: the guest never answered a ping"
	fail=1
fi

if kill -0 "$bpid" 2> /dev/null; then
	kill -TERM "$bpid"
	wait "$bpid"
	rc=$?
else
	wait "$bpid"
	rc=$?
	echo "FAIL: basalt ended before it was stopped"
	fail=1
fi
bpid=''
echo "basalt exit status: $rc"
[ "$rc" = 130 ] || { echo "FAIL: exit status $rc, expected 130 (SIGTERM)"; fail=1; }
# Datagrams still queued on the host side reach socat.
sleep 1
kill "$spid" 2> /dev/null
wait "$spid" 2> /dev/null
spid=''

tr -d '\r' < "$dir/serial" > "$dir/console"
cat "$dir/console" "$dir/err"
for re in 'pci 0000:00:11\.0: \[1af4:1041\] type 00 class 0x020000' \
	  'IP-Config: Complete:' \
	  'netconsole: network logging started' \
	  'Waiting for root device /dev/nonexistent'; do
	grep -Eq "$re" "$dir/console" || { echo "FAIL: console does not match /$re/"; fail=1; }
done
grep -q 'Kernel panic' "$dir/console" && { echo "FAIL: the guest panicked"; fail=1; }

# The netconsole stream must be the serial log's last lines, including the
# registration line and everything printed after it.
n=$(wc -l < "$dir/netcon" 2> /dev/null || echo 0)
tail -n "$n" "$dir/console" > "$dir/console-tail"
if [ "$n" -gt 0 ] && cmp -s "$dir/console-tail" "$dir/netcon" &&
	grep -q 'netconsole: network logging started' "$dir/netcon"; then
	after=$(sed -n '/netconsole: network logging started/,$p' "$dir/netcon" | wc -l)
	echo "netconsole: $n lines ($(wc -c < "$dir/netcon") bytes), $after of them from registration on, all on the serial console too"
else
	echo "FAIL: the netconsole stream ($n lines) is not the end of the serial log; differences:"
	diff "$dir/console-tail" "$dir/netcon" | head -40
	fail=1
fi
echo "seconds: $(($(date +%s) - start)) in all"
[ $fail = 0 ] && echo PASS
exit $fail
