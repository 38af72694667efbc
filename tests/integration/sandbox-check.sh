#!/bin/sh
# Runs inside the VM host (directly, or in the nested-KVM L1 VM): starts
# basalt on a spinning test guest with a disk (so an I/O thread exists) and
# checks every thread of the running process: CapEff 0, NoNewPrivs 1,
# Seccomp 2 (filter mode).  Then SIGTERM
# must end it with status 130.  With JAIL=1 it also runs basalt jailed in an
# empty directory as uid/gid 65534 and checks both.
#   sandbox-check.sh BASALT GUEST.elf [jail]
basalt=$1 guest=$2 mode=${3:-plain}
fail=0
img=$(mktemp /tmp/basalt-sbdisk.XXXXXX)
# The control socket's directory: writable by the jail's user too (sticky,
# like /tmp), so that the dropped process can remove its socket.
sockdir=$(mktemp -d /tmp/basalt-sbsock.XXXXXX)
chmod 1777 "$sockdir"
sock=$sockdir/api.sock
trap 'rm -f "$img"; rm -rf "$sockdir"' EXIT
dd if=/dev/zero of="$img" bs=1024 count=1024 2>/dev/null
# A disk and a balloon (two I/O threads), and the control socket.
set -- --disk "path=$img" --balloon on --api-socket "$sock"
# And a network device with two queue pairs (two more I/O threads), on a tap
# basalt creates in a network namespace of its own, where that works.
netns=''
if unshare -n true 2>/dev/null && [ -w /dev/net/tun ]; then
	netns='unshare -n'
	set -- "$@" --cpus 2 --net tap=bsbox0,create=on,queues=2
fi
if [ "$mode" = jail ]; then
	jail=$(mktemp -d /tmp/basalt-jail.XXXXXX)
	set -- "$@" --jail "$jail" --uid 65534 --gid 65534
	# LeakSanitizer lists threads through /proc, which an empty jail lacks.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
# unshare execs basalt: $! is basalt's pid.
$netns "$basalt" run --kernel "$guest" --memory 64M --console none "$@" &
pid=$!
sleep 2
n=0
for t in "/proc/$pid/task/"*; do
	n=$((n + 1))
	tid=${t##*/}
	cap=$(grep '^CapEff:' "$t/status" | tr -d '[:space:]' | cut -d: -f2)
	nnp=$(grep '^NoNewPrivs:' "$t/status" | tr -d '[:space:]' | cut -d: -f2)
	sec=$(grep '^Seccomp:' "$t/status" | tr -d '[:space:]' | cut -d: -f2)
	name=$(cat "$t/comm")
	echo "thread $tid ($name): CapEff $cap NoNewPrivs $nnp Seccomp $sec"
	[ "$cap" = 0000000000000000 ] || { echo "FAIL: $name has capabilities"; fail=1; }
	[ "$nnp" = 1 ] || { echo "FAIL: $name without no_new_privs"; fail=1; }
	[ "$sec" = 2 ] || { echo "FAIL: $name has no seccomp filter"; fail=1; }
done
[ "$n" -ge 3 ] || { echo "FAIL: expected main, vCPU and I/O threads, saw $n"; fail=1; }
grep -qx blk0 /proc/"$pid"/task/*/comm || { echo "FAIL: no I/O thread (blk0)"; fail=1; }
grep -qx balloon /proc/"$pid"/task/*/comm || { echo "FAIL: no I/O thread (balloon)"; fail=1; }
# The control socket works under the main thread's filter (accept4,
# SO_PEERCRED, replies), jailed or not.
"$basalt" ctl --socket "$sock" info | grep -q '"state": "running"' ||
	{ echo "FAIL: the control socket does not answer"; fail=1; }
if [ -n "$netns" ]; then
	for q in net0q0 net0q1; do
		grep -qx $q /proc/"$pid"/task/*/comm || { echo "FAIL: no I/O thread ($q)"; fail=1; }
	done
else
	echo "note: no network namespace here; network I/O threads not checked"
fi
if [ "$mode" = jail ]; then
	uid=$(grep '^Uid:' "/proc/$pid/status" | awk '{print $2, $3, $4}')
	gid=$(grep '^Gid:' "/proc/$pid/status" | awk '{print $2, $3, $4}')
	echo "uid $uid gid $gid; root holds: $(find "/proc/$pid/root/" -mindepth 1 -maxdepth 1 | wc -l) entries"
	[ "$uid" = "65534 65534 65534" ] || { echo "FAIL: uid not dropped"; fail=1; }
	[ "$gid" = "65534 65534 65534" ] || { echo "FAIL: gid not dropped"; fail=1; }
	[ "$(find "/proc/$pid/root/" -mindepth 1 -maxdepth 1 | wc -l)" = 0 ] || { echo "FAIL: root is not the empty jail"; fail=1; }
fi
kill -TERM "$pid"
wait "$pid"
rc=$?
echo "basalt exit status after SIGTERM: $rc"
[ "$rc" = 130 ] || { echo "FAIL: expected 130"; fail=1; }
[ -e "$sock" ] && { echo "FAIL: the control socket was not removed at exit"; fail=1; }
[ $fail = 0 ] && echo PASS
exit $fail
