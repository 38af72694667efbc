#!/bin/sh
# Host side of the virtio_blk test guest: prepares an image, runs the guest
# with it as a virtio-blk disk (2 vCPUs, so 2 request queues), and checks
# the image's bytes afterwards: what the guest wrote is there (after its
# FLUSH), discarded and zeroed ranges read as zeros, nothing else changed.
# With "ro" the disk is read-only and the image must be unchanged; with
# "sync" basalt runs as on a host without io_uring (BASALT_NO_IO_URING=1:
# poll() loop, synchronous block engine).
#   virtio-blk-guest.sh BASALT GUEST.elf [ro|sync]
# POSIX sh: it also runs inside the nested-KVM L1 VM's busybox.
set -u
basalt=$1 guest=$2 mode=${3:-rw}
dir=$(mktemp -d /tmp/basalt-blkguest.XXXXXX)
trap 'rm -rf "$dir"' EXIT
img=$dir/disk.img
fail=0

# fill FILE BYTE-OCTAL COUNT: COUNT bytes of one value
fill() { dd if=/dev/zero bs=512 count=$(($3 / 512)) 2>/dev/null | tr '\000' "\\$2" > "$1"; }
sector() { dd if="$img" bs=512 skip="$1" count="$2" 2>/dev/null; }

dd if=/dev/zero of="$img" bs=1024 count=1024 2>/dev/null
i=0
while [ $i -lt 256 ]; do printf 'basalt-blk-test-'; i=$((i + 1)); done > "$dir/pattern"
dd if="$dir/pattern" of="$img" conv=notrunc 2>/dev/null
fill "$dir/aa" 252 8192          # 0xaa: sectors 200-215, to be discarded
dd if="$dir/aa" of="$img" bs=512 seek=200 conv=notrunc 2>/dev/null
fill "$dir/ff" 377 2048          # 0xff: sectors 300-303, to be zeroed
dd if="$dir/ff" of="$img" bs=512 seek=300 conv=notrunc 2>/dev/null
cp "$img" "$dir/before.img"

ro='' cmd_ro=''
[ "$mode" = ro ] && { ro=,readonly=on; cmd_ro=' ro=1'; }
[ "$mode" = sync ] && { export BASALT_NO_IO_URING=1; echo "(no io_uring: BASALT_NO_IO_URING=1)"; }
echo "+ $basalt run --kernel $guest --cpus 2 --disk path=$img,serial=blk-guest-1$ro"
"$basalt" run -v --kernel "$guest" --memory 128M --cpus 2 --console stdio --timeout 60 \
	--disk "path=$img,serial=blk-guest-1$ro" --cmdline "serial=blk-guest-1$cmd_ro" \
	> "$dir/out" 2>&1
rc=$?
cat "$dir/out"
[ "$rc" = 0 ] || { echo "FAIL: exit status $rc, expected 0"; fail=1; }
grep -q 'virtio_blk: [0-9]* checks, 0 failed' "$dir/out" || { echo "FAIL: guest checks"; fail=1; }
if [ "$mode" = sync ]; then
	grep -q 'sync engine' "$dir/out" || { echo "FAIL: not on the sync engine"; fail=1; }
else
	grep -q 'uring engine' "$dir/out" || { echo "FAIL: not on the io_uring engine"; fail=1; }
fi

check() {	# check WHAT SECTOR COUNT EXPECTED-FILE
	sector "$2" "$3" > "$dir/got"
	if cmp -s "$dir/got" "$4"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}
if [ "$mode" = ro ]; then
	cmp -s "$img" "$dir/before.img" && echo "ok: image unchanged" ||
		{ echo "FAIL: a read-only image changed"; fail=1; }
else
	s=100
	while [ $s -lt 108 ]; do
		fill "$dir/want" "$(printf '%o' $s)" 512
		check "sector $s holds what the guest wrote" $s 1 "$dir/want"
		s=$((s + 1))
	done
	fill "$dir/zero8k" 000 8192
	check "sectors 200-215 discarded (read as zeros)" 200 16 "$dir/zero8k"
	fill "$dir/zero2k" 000 2048
	check "sectors 300-303 zeroed" 300 4 "$dir/zero2k"
	fill "$dir/want" 220 512	# 0x90
	check "sector 400 written through queue 1" 400 1 "$dir/want"
	check "sectors 0-7 untouched" 0 8 "$dir/pattern"
	sector 8 92 > "$dir/got"; dd if="$dir/before.img" bs=512 skip=8 count=92 2>/dev/null > "$dir/want"
	cmp -s "$dir/got" "$dir/want" && echo "ok: sectors 8-99 untouched" ||
		{ echo "FAIL: sectors 8-99 changed"; fail=1; }
fi
[ $fail = 0 ] && echo PASS
exit $fail
