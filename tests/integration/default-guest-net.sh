#!/bin/sh
# virtio-net with Linux user space: the default guest (2 vCPUs, two queue
# pairs on a multi_queue tap) configures eth0, pings the host, then moves
# SIZE bytes (64 MiB) each way over TCP with busybox nc, both transfers at
# once, pinned to different vCPUs so that each uses its own queue pair
# (virtio_net maps queue pair i to CPU i; the tap steers a flow's packets
# to the queue it last sent on).  Both ends print the sha256 of what they
# sent and received; the host compares them.  The guest's /proc/interrupts
# must show interrupts on both receive and both transmit queues.
# Needs guest user space: run through with-kvm.sh --needs-guest-user (the
# nested L1 VM on PVM hosts).
#   default-guest-net.sh BASALT BZIMAGE INITRD [SIZE]
# POSIX sh (busybox too).
set -u
basalt=$1 kernel=$2 initrd=$3 size=${4:-67108864}

skip() { echo "SKIP: $*"; exit 77; }
command -v busybox > /dev/null || skip "busybox not installed (its nc is used)"
[ "$(id -u)" = 0 ] || skip "needs root (network namespace and tap)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
# iproute2's ip by path: busybox sh (the L1 VM's) runs its own ip applet,
# which has no netns or tuntap, for a bare "ip".
ip=''
for c in /usr/sbin/ip /sbin/ip /usr/bin/ip; do [ -x "$c" ] && { ip=$c; break; }; done
[ -n "$ip" ] || skip "iproute2's ip not installed"
ns=basalt-gnet-$$ tap=bgnet$$
"$ip" netns add "$ns" 2> /dev/null || skip "cannot create a network namespace (ip netns add)"

dir=$(mktemp -d /tmp/basalt-gnet.XXXXXX)
pids=''
cleanup() {
	for p in $pids; do kill -KILL "$p" 2> /dev/null; done
	wait 2> /dev/null
	"$ip" -n "$ns" link del "$tap" 2> /dev/null
	"$ip" netns del "$ns"
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
nsx() { "$ip" netns exec "$ns" "$@"; }

host=10.77.2.1 guest=10.77.2.2
"$ip" -n "$ns" tuntap add dev "$tap" mode tap multi_queue || exit 1
"$ip" -n "$ns" addr add "$host/24" dev "$tap" || exit 1
"$ip" -n "$ns" link set "$tap" up || exit 1

# Host side, streamed (no copies of the data in RAM: the L1 VM is small):
# 5002 sends SIZE random bytes, hashed on the way; 5001 receives the
# guest's, hashed and counted.  5001's stdin, a FIFO held open here, never
# ends: at end of input busybox nc half-closes, and the guest's nc quits
# when its peer does.  The listeners' pids are in $pids; the rest of each
# pipeline ends with them.
mkfifo "$dir/hold" "$dir/h2g" "$dir/h2g-net" "$dir/g2h-net" "$dir/g2h"
exec 3<> "$dir/hold"
sha256sum < "$dir/h2g" > "$dir/h2g.sum" &
head -c "$size" /dev/urandom | tee "$dir/h2g" > "$dir/h2g-net" &
"$ip" netns exec "$ns" busybox nc -l -p 5002 < "$dir/h2g-net" > /dev/null &
pids="$pids $!"
"$ip" netns exec "$ns" busybox nc -l -p 5001 < "$dir/hold" > "$dir/g2h-net" &
pids="$pids $!"
tee "$dir/g2h" < "$dir/g2h-net" | sha256sum > "$dir/g2h.sum" &
wc -c < "$dir/g2h" > "$dir/g2h.bytes" &

# The guest's half, run by the default guest's init (basalt.cmd; only
# whitespace, % and " need percent-encoding on a kernel command line).
# Its interrupt counts are taken before and after the transfers.
gcmd="ip addr add $guest/24 dev eth0 && ip link set eth0 up || exit 10
echo queues: \$(ls /sys/class/net/eth0/queues)
ping -c 20 -i 0.1 $host; echo ping-status \$?
grep virtio0- /proc/interrupts | sed 's/^/before: /'
mkfifo /hold /tx; exec 3<> /hold
sha256sum < /tx > /tx.sum &
start=\$(date +%s)
head -c $size /dev/urandom | tee /tx | taskset 1 nc $host 5001 & a=\$!
taskset 2 nc $host 5002 < /hold | sha256sum > /rx.sum & b=\$!
wait \$a || exit 12; wait \$b || exit 13; wait
echo transfer-seconds \$((\$(date +%s) - start))
echo g2h-sent \$(cat /tx.sum)
echo h2g-received \$(cat /rx.sum)
grep virtio0- /proc/interrupts | sed 's/^/after: /'"
enc=$(printf '%s\n' "$gcmd" | sed -e 's/%/%25/g' -e 's/"/%22/g' -e 's/ /%20/g' -e 's/	/%09/g' |
	awk '{ printf "%s%%0A", $0 }')

start=$(date +%s)
echo "+ ip netns exec $ns $basalt run --kernel $kernel --initrd $initrd --cpus 2 --net tap=$tap,queues=2 ..."
# The console goes out as it comes (an L1 VM that times out still shows
# how far the guest got).
{
	nsx "$basalt" run --kernel "$kernel" --initrd "$initrd" --cpus 2 --memory 512M \
		--timeout 900 --stats --console stdio --net "tap=$tap,mac=52:54:00:77:02:02,queues=2" \
		--cmdline "console=ttyS0 panic=-1 quiet basalt.cmd=$enc" 2>&1
	echo $? > "$dir/rc"
} | tee "$dir/out"
rc=$(cat "$dir/rc")
end=$(date +%s)
tr -d '\r' < "$dir/out" > "$dir/console"
# The listeners end with their connections; a guest that never connected
# leaves them waiting.
for p in $pids; do kill "$p" 2> /dev/null; done
exec 3>&-
wait
pids=''

fail=0
[ "$rc" = 0 ] || { echo "FAIL: exit status $rc, expected 0 (the guest command's)"; fail=1; }
grep -q '^queues: rx-0 rx-1 tx-0 tx-1$' "$dir/console" || { echo "FAIL: eth0 does not have two queue pairs"; fail=1; }
grep -q '^20 packets transmitted, 20 packets received, 0% packet loss' "$dir/console" &&
	echo "ok: the guest pinged the host 20 times, no loss" ||
	{ echo "FAIL: the guest's pings of the host were not all answered"; fail=1; }
g2h_sent=$(sed -n 's/^g2h-sent \([0-9a-f]\{64\}\).*/\1/p' "$dir/console")
h2g_recv=$(sed -n 's/^h2g-received \([0-9a-f]\{64\}\).*/\1/p' "$dir/console")
g2h_recv=$(cut -c1-64 "$dir/g2h.sum")
h2g_sum=$(cut -c1-64 "$dir/h2g.sum")
echo "guest->host: guest sent $g2h_sent, host received $g2h_recv ($(cat "$dir/g2h.bytes") bytes)"
echo "host->guest: host sent $h2g_sum, guest received $h2g_recv"
[ -n "$g2h_sent" ] && [ "$g2h_sent" = "$g2h_recv" ] || { echo "FAIL: guest->host data differs"; fail=1; }
[ -n "$h2g_recv" ] && [ "$h2g_recv" = "$h2g_sum" ] || { echo "FAIL: host->guest data differs"; fail=1; }
# Each queue's interrupts during the transfers, summed over the CPUs: none
# may stay put.
irqs() {
	awk -v w="$1:" -v q="virtio0-$2" '$1 == w && $NF == q {
		s = 0; for (i = 3; i < NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print s }' "$dir/console"
}
for q in input.0 input.1 output.0 output.1; do
	b=$(irqs before $q) a=$(irqs after $q)
	echo "interrupts on virtio0-$q during the transfers: ${b:-?} -> ${a:-?}"
	[ -n "$b" ] && [ -n "$a" ] && [ "$a" -gt "$b" ] || { echo "FAIL: queue $q was not used"; fail=1; }
done
echo "seconds: $((end - start)) for the VM run, $(sed -n 's/^transfer-seconds //p' "$dir/console") for the transfers"
[ $fail = 0 ] && echo PASS
exit $fail
