#!/bin/sh
# Free page reporting with guest user space: the default guest (Debian's
# kernel, virtio_balloon module) writes 300 MiB to a file in its RAM-backed
# root file system, then deletes it.  The host watches the VM's RAM memfd:
# it grows by at least 150 MiB (some of the file lands in pages the guest
# had touched before) and, after the delete, falls back to within 30 MiB of
# where it was before the file (the guest reports the freed blocks, basalt
# releases them; printed: how many seconds that took).  Then
# `basalt ctl shutdown 0` stops the VM (status 7).
# Needs guest user space: run through with-kvm.sh --needs-guest-user (the
# nested L1 VM on PVM hosts).
#   linux-balloon-user.sh BASALT BZIMAGE INITRD
# POSIX sh (busybox too).
set -u
basalt=$1 kernel=$2 initrd=$3
MIB=1048576
dir=$(mktemp -d /tmp/basalt-bluser.XXXXXX)
pid=''
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2> /dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
sock=$dir/api.sock
fail=0
ctl() { "$basalt" ctl --socket "$sock" "$@"; }
mib() { echo $(($(stat -L -c %b "$memfd") * 512 / MIB)); }
now() { date +%s; }
# until_ok SECONDS WHAT COMMAND...: polls every second (a hang guard only).
until_ok() {
	limit=$(($(now) + $1))
	what=$2
	shift 2
	until "$@"; do
		if [ "$(now)" -ge "$limit" ]; then
			echo "FAIL: gave up waiting for $what (host memory $(mib) MiB)"
			ctl info
			cat "$dir/log" "$dir/console"
			exit 1
		fi
		sleep 1
	done
}
said() { grep -q "^$1" "$dir/console"; }

# The guest: fill, report, free, report, then wait for the host.
cmd='echo%20bsl-start;dd%20if=/dev/zero%20of=/fill%20bs=1M%20count=300%202>/dev/null;sync;echo%20bsl-filled;sleep%205;rm%20/fill;echo%20bsl-freed;sleep%20100000'
echo "+ $basalt run --kernel $kernel --initrd $initrd --memory 512M --balloon free-page-reporting=on ..."
"$basalt" run -v --kernel "$kernel" --initrd "$initrd" --memory 512M --timeout 1200 \
	--balloon free-page-reporting=on --api-socket "$sock" --console "file:$dir/console" \
	--cmdline "console=ttyS0 panic=-1 quiet basalt.cmd=$cmd" > "$dir/log" 2>&1 &
pid=$!
until_ok 60 "the control socket" ctl info > /dev/null 2>&1
memfd=''
for f in /proc/"$pid"/fd/*; do
	case "$(readlink "$f")" in *basalt-ram*) memfd=$f ;; esac
done
[ -n "$memfd" ] || { echo "FAIL: no basalt-ram memfd"; exit 1; }
until_ok 1000 "the guest to start" said bsl-start
base=$(mib)
until_ok 600 "the guest to fill 300 MiB" said bsl-filled
sleep 3
full=$(mib)
echo "host memory: ${base} MiB before, ${full} MiB with 300 MiB written in the guest"
[ $((full - base)) -ge 150 ] || { echo "FAIL: it did not grow by 150 MiB"; fail=1; }
until_ok 600 "the guest to free it" said bsl-freed
t0=$(now)
dropped() { [ "$(mib)" -le $((base + 30)) ]; }
until_ok 300 "the host memory to fall back" dropped
echo "host memory back to $(mib) MiB $(($(now) - t0)) s after the guest deleted the file;" \
	"reported: $(ctl info | sed -n 's/.*"reported": \([0-9]*\).*/\1/p') bytes"
ctl shutdown 0 > /dev/null
wait "$pid"
rc=$?
pid=''
[ $rc = 7 ] || { echo "FAIL: exit status $rc after shutdown 0, expected 7"; fail=1; }
grep -q 'free page reporting on)' "$dir/log" || { echo "FAIL: reporting not negotiated"; fail=1; }
[ $fail = 0 ] && echo PASS
exit $fail
