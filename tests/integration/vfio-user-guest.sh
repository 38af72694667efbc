#!/bin/sh
# PCI passthrough over vfio-user, end to end: the test accelerator
# (tests/vfio-user-dev) serves a device on a UNIX socket, basalt passes it
# through to the vfio_user test guest, which checks configuration space,
# BARs (the big one through a KVM memory slot), ROM, MSI-X (masking and
# pending bits), DMA and FLR from ring 3 (tests/guests/vfio_user.c).  Here
# we check the guest's verdict, that touching 64 MiB of the big BAR did not
# trap (the whole run stays under 20,000 VM exits where trapping would
# take 8 million), and what the server saw: interrupt eventfds, a refused
# DMA, the reset at start and the guest's FLR.
#   vfio-user-guest.sh BASALT GUEST.elf SERVER
# POSIX sh: it also runs inside the nested-KVM L1 VM's busybox.
set -u
basalt=$1 guest=$2 server=$3
dir=$(mktemp -d /tmp/basalt-vfu.XXXXXX)
sock=$dir/accel.sock
spid=''
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail=0

"$server" --socket "$sock" --big 8G --once > "$dir/server.log" 2>&1 &
spid=$!
i=0
while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$sock" ] || { cat "$dir/server.log"; echo "FAIL: the server did not start"; exit 1; }

echo "+ $basalt run --kernel $guest --device vfio-user=$sock"
"$basalt" run -v --stats --kernel "$guest" --memory 128M --console stdio --timeout 60 \
	--device "vfio-user=$sock" --cmdline "big=8G touch=64" > "$dir/out" 2>&1
rc=$?
cat "$dir/out"
echo "--- server:"
cat "$dir/server.log"
[ "$rc" = 0 ] || { echo "FAIL: exit status $rc, expected 0"; fail=1; }
grep -q 'vfio_user: [0-9]* checks, 0 failed' "$dir/out" || { echo "FAIL: guest checks"; fail=1; }
grep -q 'vfio-user0: /.*accel.sock at 00:1a.0: \[1234:ba5a\]' "$dir/out" ||
	{ echo "FAIL: device not at 00:1a.0"; fail=1; }
exits=$(sed -n 's/.*stats: .* exits=\([0-9]*\) .*/\1/p' "$dir/out")
if [ -n "$exits" ] && [ "$exits" -lt 20000 ]; then
	echo "ok: $exits VM exits in all (the big BAR did not trap)"
else
	echo "FAIL: ${exits:-no} VM exits: the big BAR traps"; fail=1
fi
for want in 'MSI-X: 4 eventfds from vector 0' 'DMA refused: 0xd0000000' 'client disconnected'; do
	grep -q "$want" "$dir/server.log" && echo "ok: server: $want" ||
		{ echo "FAIL: server log lacks '$want'"; fail=1; }
done
n=$(grep -c 'device reset' "$dir/server.log")
[ "$n" = 2 ] && echo "ok: two device resets (start, FLR)" ||
	{ echo "FAIL: $n device resets, expected 2"; fail=1; }
[ $fail = 0 ] && echo PASS
exit $fail
