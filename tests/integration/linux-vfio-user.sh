#!/bin/sh
# The CI test kernel (no driver changes) with two vfio-user devices passed
# through: the test accelerator, which Linux must enumerate with its IDs
# and BARs at their full sizes (8 GiB for BAR 2, in the 64-bit window), and
# a virtio-balloon served by the same test server, which Linux's stock
# virtio-pci and virtio_balloon drivers bind to: they allocate MSI-X
# vectors (the device gets 3 eventfds), the device's configuration
# interrupt makes the driver inflate, each inflate request is acknowledged
# with a queue interrupt, and the driver finally writes `actual`, which the
# server logs.  The VM idles afterwards (root=/dev/nonexistent rootwait)
# and is stopped once the server saw `actual` (or --timeout ends it).
#   linux-vfio-user.sh BASALT BZIMAGE SERVER
# POSIX sh: it also runs inside the nested-KVM L1 VM's busybox.
set -u
basalt=$1 kernel=$2 server=$3
dir=$(mktemp -d /tmp/basalt-lvfu.XXXXXX)
spids='' bpid=''
cleanup() {
	for p in $bpid $spids; do kill "$p" 2>/dev/null; done
	for p in $bpid $spids; do wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
fail=0
[ -f "$kernel" ] || { echo "SKIP: no test kernel at $kernel"; exit 77; }

"$server" --socket "$dir/accel.sock" --big 8G --once > "$dir/accel.log" 2>&1 &
spids="$!"
"$server" --socket "$dir/balloon.sock" --device virtio-balloon --once > "$dir/balloon.log" 2>&1 &
spids="$spids $!"
i=0
while { [ ! -S "$dir/accel.sock" ] || [ ! -S "$dir/balloon.sock" ]; } && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done

echo "+ $basalt run --kernel $kernel --device vfio-user=accel.sock --device vfio-user=balloon.sock"
"$basalt" run -v --kernel "$kernel" --memory 256M --console stdio --timeout 400 \
	--device "vfio-user=$dir/accel.sock" --device "vfio-user=$dir/balloon.sock" \
	--cmdline 'console=ttyS0 panic=-1 kunit.filter_glob=none.none root=/dev/nonexistent rootwait' \
	> "$dir/out" 2>&1 &
bpid=$!
i=0
while [ $i -lt 420 ] && kill -0 "$bpid" 2>/dev/null && ! grep -q 'balloon: actual' "$dir/balloon.log"; do
	sleep 1; i=$((i + 1))
done
sleep 1
kill "$bpid" 2>/dev/null
wait "$bpid"
bpid=''
grep -E 'basalt:|1a\.0|1b\.0|virtio|BAR|Kernel panic' "$dir/out"
echo "--- accelerator server:"; cat "$dir/accel.log"
echo "--- balloon server:"; cat "$dir/balloon.log"

expect() {	# expect FILE WHAT REGEX
	if grep -q -E -- "$3" "$1"; then echo "ok: $2"; else echo "FAIL: $2 (/$3/)"; fail=1; fi
}
expect "$dir/out" "accelerator enumerated with its IDs" \
	'pci 0000:00:1a\.0: \[1234:ba5a\] type 00 class 0x120000'
expect "$dir/out" "virtio-balloon enumerated" 'pci 0000:00:1b\.0: \[1af4:1045\] type 00 class 0x00ff00'
# BAR sizes as Linux decoded them: "BAR n [mem START-END ...]".
size() {
	r=$(sed -n "s/.*pci 0000:00:1a\.0: $1 \[mem 0x\([0-9a-f]*\)-0x\([0-9a-f]*\).*/\1 \2/p" "$dir/out" | head -1)
	[ -n "$r" ] || { echo 0; return; }
	set -- $r
	echo $((0x$2 - 0x$1 + 1))
}
for b in 'BAR 0:16384' 'BAR 2:8589934592' 'ROM:32768'; do
	n=${b%%:*} want=${b#*:} got=$(size "$n")
	[ "$got" = "$want" ] && echo "ok: $n of 00:1a.0 is $got bytes" ||
		{ echo "FAIL: $n of 00:1a.0 is $got bytes, want $want"; fail=1; }
done
expect "$dir/out" "BAR 2 is 64-bit prefetchable above 4 GiB" \
	'pci 0000:00:1a\.0: BAR 2 \[mem 0x[1-9a-f][0-9a-f]{8,}-0x[0-9a-f]+ 64bit pref\]'
expect "$dir/out" "virtio-pci bound to the passed-through function" \
	'virtio-pci 0000:00:1b\.0: enabling device'
expect "$dir/out" "MSI-X vectors handed to the device" 'vfio-user1: MSI-X on, 3 vectors'
expect "$dir/balloon.log" "the driver took 3 MSI-X vectors" 'MSI-X: 3 eventfds from vector 0'
expect "$dir/balloon.log" "driver ready" 'balloon: driver ready'
expect "$dir/balloon.log" "config interrupt and inflate-queue interrupts reached the guest" \
	'balloon: actual 256 pages \(256 page numbers received\)'
if grep -q -E 'no space for|failed to assign|BAR [0-9]+: can.t' "$dir/out"; then
	echo "FAIL: Linux could not assign a BAR"; fail=1
fi
[ $fail = 0 ] && echo PASS
exit $fail
