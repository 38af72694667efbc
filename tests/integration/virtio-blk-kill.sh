#!/bin/sh
# Durability under SIGKILL: the virtio_blk test guest writes record n to
# sector n and FLUSHes it, then prints "flushed n"; basalt is killed with
# SIGKILL at a random moment.  Every record the guest saw flushed must be
# in the image.  ROUNDS rounds (default 20), each on the same image with
# records naming their round.
#   virtio-blk-kill.sh BASALT GUEST.elf [ROUNDS]
# POSIX sh (busybox too: it also runs inside the nested-KVM L1 VM).
set -u
basalt=$1 guest=$2 rounds=${3:-20}
dir=$(mktemp -d /tmp/basalt-blkkill.XXXXXX)
trap 'rm -rf "$dir"' EXIT
img=$dir/disk.img
dd if=/dev/zero of="$img" bs=1024 count=4096 2>/dev/null
fail=0 total=0 r=1
while [ $r -le "$rounds" ]; do
	"$basalt" run --kernel "$guest" --memory 64M --console stdio --timeout 60 \
		--disk "path=$img" --cmdline "records=$r" > "$dir/out" 2>&1 &
	pid=$!
	# 20..400 ms: from before the first record to well into the stream.
	ms=$(( (($(od -An -N2 -tu2 /dev/urandom) % 39) + 2) * 10 ))
	sleep "$(printf '0.%03d' "$ms")"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	last=$(sed -n 's/^flushed \([0-9]*\).*/\1/p' "$dir/out" | tail -1)
	if [ -z "$last" ]; then
		echo "round $r: killed after ${ms} ms, before the first flushed record"
		r=$((r + 1))
		continue
	fi
	n=0 bad=0
	while [ $n -le "$last" ]; do
		want="REC $r $n"
		got=$(dd if="$img" bs=512 skip="$n" count=1 2>/dev/null | head -c ${#want})
		if [ "$got" != "$want" ]; then
			echo "FAIL: round $r: record $n was flushed but the image has '$got'"
			bad=1
			break
		fi
		n=$((n + 1))
	done
	[ $bad = 0 ] && echo "round $r: killed after ${ms} ms; records 0..$last all in the image"
	[ $bad = 0 ] || fail=1
	total=$((total + last + 1))
	r=$((r + 1))
done
echo "$rounds rounds, $total flushed records checked"
[ $total -gt 0 ] || { echo "FAIL: no round got as far as a flushed record"; fail=1; }
[ $fail = 0 ] && echo PASS
exit $fail
