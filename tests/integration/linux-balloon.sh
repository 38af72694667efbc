#!/bin/sh
# virtio-balloon with the CI test kernel (its driver is built in) idling
# after boot: root=/dev/nonexistent rootwait keeps it waiting for a root
# device forever, and no guest user space is needed, so this runs on PVM
# hosts too.  1 GiB of guest RAM, free page reporting on.
#
#  1. Right after start the host fills the VM's RAM memfd (fallocate through
#     /proc/PID/fd: the guest reads a hole and an allocated zero page alike,
#     so it sees no difference) -- as if the guest had used all its memory.
#  2. Free page reporting: the guest reports the memory it does not use and
#     basalt releases it: the memfd must shrink by at least 512 MiB.
#  3. Refill, then `basalt ctl balloon-set 512M`: once the guest reports the
#     balloon full, the memfd must be at least 460 MiB smaller.
#  4. `balloon-stats`: the guest's numbers (its total memory, its free memory
#     down by the balloon's size).
#  5. `balloon-set 0`: the guest gets the memory back (actual 0, its free
#     memory up again by at least 460 MiB).
#  6. `shutdown 2`: the test kernel has no power button driver, so after
#     2 s basalt stops the VM itself: exit status 7.
# Host memory is the memfd's allocated blocks (stat -L on /proc/PID/fd/N).
#
#   linux-balloon.sh BASALT KERNEL
# POSIX sh: it also runs inside the nested-KVM L1 VM's busybox.
set -u
basalt=$1 kernel=$2
MIB=1048576
command -v fallocate > /dev/null || { echo "SKIP: fallocate not installed"; exit 77; }
dir=$(mktemp -d /tmp/basalt-balloon.XXXXXX)
pid=''
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2> /dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
sock=$dir/api.sock
fail=0
ctl() { "$basalt" ctl --socket "$sock" "$@"; }
# The first number after "KEY": in ctl's indented JSON.
num() { sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p" | head -n 1; }
blocks_mib() { echo $(($(stat -L -c %b "$memfd") * 512 / MIB)); }
info() { ctl info 2> /dev/null | num "$1"; }
now() { date +%s; }
# wait_for SECONDS WHAT COMMAND...: polls every 2 s.
wait_for() {
	limit=$(($(now) + $1))
	what=$2
	shift 2
	until "$@"; do
		if [ "$(now)" -ge "$limit" ]; then
			echo "FAIL: timed out waiting for $what"
			tail -n 20 "$dir/console"
			exit 1
		fi
		sleep 2
	done
}

echo "+ $basalt run --memory 1G --balloon free-page-reporting=on --api-socket $sock ..."
"$basalt" run -v --stats --timeout 1800 --kernel "$kernel" --memory 1G --cpus 1 \
	--balloon free-page-reporting=on --api-socket "$sock" --console "file:$dir/console" \
	--cmdline 'console=ttyS0 root=/dev/nonexistent rootwait kunit.filter_glob=none.none' \
	> "$dir/log" 2>&1 &
pid=$!
wait_for 60 "the control socket" ctl info > /dev/null 2>&1
memfd=''
for f in /proc/"$pid"/fd/*; do
	case "$(readlink "$f")" in *basalt-ram*) memfd=$f ;; esac
done
[ -n "$memfd" ] || { echo "FAIL: no basalt-ram memfd in /proc/$pid/fd"; exit 1; }
fallocate -l $((1024 * MIB)) "$memfd" || exit 1
full=$(blocks_mib)
echo "guest RAM filled on the host: ${full} MiB"

# 2. free page reporting: Linux reports a sixteenth of each free list per
# pass, passes 2 s apart; wait until it has released 512 MiB and then
# reported nothing new for 16 s (so that it does not go on under step 3).
last_r=-1 same=0
reporting_done() {
	r=$(info reported)
	[ -n "$r" ] || return 1
	if [ "$r" = "$last_r" ]; then same=$((same + 1)); else same=0 last_r=$r; fi
	[ "$r" -gt 0 ] && [ $((full - $(blocks_mib))) -ge 512 ] && [ $same -ge 8 ]
}
wait_for 1200 "free page reporting to release 512 MiB and settle" reporting_done
echo "free page reporting: $(info reported) bytes reported; host holds $(blocks_mib) MiB" \
	"of ${full} MiB"

# 3. inflate by 512 MiB
fallocate -l $((1024 * MIB)) "$memfd" || exit 1
before=$(blocks_mib)
ctl balloon-stats > "$dir/stats0" || fail=1
ctl balloon-set 512M > /dev/null || fail=1
t0=$(now)
inflated() { [ "$(info actual)" = $((512 * MIB)) ]; }
wait_for 1500 "the balloon to reach 512 MiB" inflated
after=$(blocks_mib)
released=$(info released)
echo "inflate: 512 MiB in $(($(now) - t0)) s; host ${before} -> ${after} MiB;" \
	"basalt released $((released / MIB)) MiB"
[ $((before - after)) -ge 460 ] ||
	{ echo "FAIL: host memory dropped by $((before - after)) MiB, expected >= 460"; fail=1; }
[ "$released" -ge $((460 * MIB)) ] ||
	{ echo "FAIL: basalt released $released bytes, expected >= 460 MiB"; fail=1; }

# 4. statistics
ctl balloon-stats > "$dir/stats1" || fail=1
cat "$dir/stats1"
free0=$(num free_memory < "$dir/stats0") free1=$(num free_memory < "$dir/stats1")
total1=$(num total_memory < "$dir/stats1")
[ -n "$free0" ] && [ -n "$free1" ] && [ -n "$total1" ] ||
	{ echo "FAIL: balloon-stats lacks free_memory or total_memory"; exit 1; }
grep -q '"fresh": true' "$dir/stats1" || { echo "FAIL: statistics not fresh"; fail=1; }
[ $((free0 - free1)) -ge $((460 * MIB)) ] ||
	{ echo "FAIL: guest free memory $free0 -> $free1, expected 512 MiB less"; fail=1; }
# Without deflate-on-oom the guest also takes the pages off its total.
[ "$total1" -le $((600 * MIB)) ] && [ "$total1" -ge $((400 * MIB)) ] ||
	{ echo "FAIL: guest total memory $total1, expected about 1 GiB - 512 MiB"; fail=1; }

# 5. deflate
ctl balloon-set 0 > /dev/null || fail=1
deflated() { [ "$(info actual)" = 0 ]; }
wait_for 900 "the balloon to empty" deflated
ctl balloon-stats > "$dir/stats2" || fail=1
free2=$(num free_memory < "$dir/stats2")
echo "deflate: guest free memory $((free1 / MIB)) -> $((free2 / MIB)) MiB"
[ $((free2 - free1)) -ge $((460 * MIB)) ] ||
	{ echo "FAIL: the guest did not get its memory back"; fail=1; }

# 6. shutdown: no driver for the power button in this kernel
ctl shutdown 2 > /dev/null || fail=1
wait "$pid"
rc=$?
pid=''
grep -E 'shutdown|balloon|error' "$dir/log"
[ "$rc" = 7 ] || { echo "FAIL: exit status $rc, expected 7 (shutdown deadline)"; fail=1; }
[ -e "$sock" ] && { echo "FAIL: the control socket was not removed"; fail=1; }
grep -q 'virtio-balloon: driver ready (statistics on, deflate on OOM off, free page reporting on)' \
	"$dir/log" || { echo "FAIL: no 'driver ready' line"; fail=1; }
[ $fail = 0 ] && echo PASS
exit $fail
