#!/bin/sh
# A Linux guest with user space lists its PCI devices in sysfs, formats its
# virtio-blk disk, writes files,
# syncs and powers off; the host then reads them back out of the image
# (debugfs) and checks the file system (e2fsck -n).  Needs guest user
# space: run through with-kvm.sh --needs-guest-user (the nested L1 VM on
# PVM hosts).
#   default-guest-disk.sh BASALT BZIMAGE INITRD
# POSIX sh (busybox too).
set -u
basalt=$1 kernel=$2 initrd=$3
for t in debugfs e2fsck; do
	command -v "$t" > /dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
dir=$(mktemp -d /tmp/basalt-gdisk.XXXXXX)
trap 'rm -rf "$dir"' EXIT
dd if=/dev/zero of="$dir/disk.img" bs=1024 count=32768 2>/dev/null
# basalt.cmd is percent-decoded by the default guest's init.
cmd='cat%20/sys/bus/pci/devices/0000:00:01.0/vendor%20/sys/bus/pci/devices/0000:00:01.0/device&&mkdir%20-p%20/mnt&&mke2fs%20-q%20/dev/vda&&mount%20-t%20ext2%20/dev/vda%20/mnt&&echo%20basalt-disk-data>/mnt/hello.txt&&head%20-c%201048576%20/dev/urandom>/mnt/blob&&sha256sum%20/mnt/blob&&umount%20/mnt&&sync'
echo "+ $basalt run --kernel $kernel --initrd $initrd --disk path=$dir/disk.img ..."
"$basalt" run --kernel "$kernel" --initrd "$initrd" --memory 256M --timeout 300 \
	--console stdio --disk "path=$dir/disk.img,serial=gdisk" \
	--cmdline "console=ttyS0 panic=-1 quiet basalt.cmd=$cmd" > "$dir/out" 2>&1
rc=$?
cat "$dir/out"
fail=0
[ "$rc" = 0 ] || { echo "FAIL: exit status $rc, expected 0 (the command's)"; fail=1; }
# lspci's view: /sys/bus/pci/devices shows the disk with virtio's IDs.
grep -q '^0x1af4' "$dir/out" && grep -q '^0x1042' "$dir/out" &&
	echo "ok: /sys/bus/pci/devices/0000:00:01.0 is 1af4:1042 (virtio-blk)" ||
	{ echo "FAIL: the guest's sysfs does not show 1af4:1042 at 00:01.0"; fail=1; }
sum=$(sed -n 's/^\([0-9a-f]\{64\}\)  \/mnt\/blob.*/\1/p' "$dir/out" | head -1)
[ -n "$sum" ] || { echo "FAIL: the guest printed no checksum"; fail=1; }
debugfs -R 'cat /hello.txt' "$dir/disk.img" 2>/dev/null > "$dir/hello"
grep -qx basalt-disk-data "$dir/hello" && echo "ok: /hello.txt reads back" ||
	{ echo "FAIL: /hello.txt: '$(cat "$dir/hello")'"; fail=1; }
debugfs -R "dump /blob $dir/blob" "$dir/disk.img" 2>/dev/null
got=$(sha256sum "$dir/blob" 2>/dev/null | cut -c1-64)
[ -n "$sum" ] && [ "$got" = "$sum" ] && echo "ok: 1 MiB /blob matches the guest's sha256" ||
	{ echo "FAIL: /blob sha256 '$got', guest said '$sum'"; fail=1; }
e2fsck -fn "$dir/disk.img" > "$dir/fsck" 2>&1 && echo "ok: e2fsck -n clean" ||
	{ cat "$dir/fsck"; echo "FAIL: e2fsck -n"; fail=1; }
[ $fail = 0 ] && echo PASS
exit $fail
