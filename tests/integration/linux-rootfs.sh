#!/bin/sh
# The CI test kernel boots with root=/dev/vda rw on an ext4 image the host
# made (mkfs.ext4 -d): through virtio-blk it reads the partition table and
# the file system, mounts it read-write (journal and superblock writes),
# then panics for want of an init (guest user space is not needed, so this
# runs on PVM hosts too).  Afterwards the host checks the image: e2fsck -n
# is clean and the superblock's mount count went up.
#
#   linux-rootfs.sh BASALT KERNEL
# POSIX sh: it also runs inside the nested-KVM L1 VM's busybox.
set -u
basalt=$1 kernel=$2
for t in mkfs.ext4 dumpe2fs e2fsck; do
	command -v "$t" > /dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
dir=$(mktemp -d /tmp/basalt-rootfs.XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/tree"
echo "written by the host" > "$dir/tree/hello.txt"
mkfs.ext4 -q -F -L basaltroot -d "$dir/tree" "$dir/root.img" 64M || exit 1
count() { dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Mount count: *//p'; }
before=$(count "$dir/root.img")

echo "+ $basalt run --disk path=$dir/root.img,serial=rootdisk ... root=/dev/vda rw"
"$basalt" run --stats --timeout 400 --kernel "$kernel" --memory 128M \
	--disk "path=$dir/root.img,serial=rootdisk" \
	--cmdline 'console=ttyS0 panic=-1 root=/dev/vda rw kunit.filter_glob=none.none' \
	> "$dir/out" 2>&1
rc=$?
cat "$dir/out"
fail=0
[ "$rc" = 3 ] || { echo "FAIL: exit status $rc, expected 3 (panic, no init)"; fail=1; }
for re in 'pci 0000:00:01\.0: \[1af4:1042\] type 00 class 0x018000' \
	  'virtio_blk virtio0: .*\[vda\] 131072 512-byte logical blocks' \
	  'EXT4-fs \(vda\): mounted filesystem' \
	  'VFS: Mounted root \(ext4 filesystem\)' \
	  'Kernel panic - not syncing: No working init found'; do
	grep -Eq "$re" "$dir/out" || { echo "FAIL: output does not match /$re/"; fail=1; }
done
after=$(count "$dir/root.img")
echo "mount count: $before -> $after"
[ -n "$after" ] && [ "$after" -gt "$before" ] ||
	{ echo "FAIL: the guest's superblock write did not reach the image"; fail=1; }
e2fsck -fn "$dir/root.img" || { echo "FAIL: e2fsck -n found problems"; fail=1; }
[ $fail = 0 ] && echo PASS
exit $fail
