#!/bin/sh
# Kernel VFIO passthrough of a real host PCI function.  Needs a host with
# an IOMMU and a spare device bound to vfio-pci, named by
# BASALT_TEST_VFIO_DEVICE (/sys/bus/pci/devices/DDDD:BB:DD.F); skips (77)
# anywhere else.  Checks that
#   - the pci test guest sees the function at 00:1a.0 with the host's
#     vendor/device IDs and class (configuration space through VFIO);
#   - the CI test kernel enumerates it with the same IDs and every memory
#     BAR at the size the host's sysfs `resource` file gives (BARs through
#     VFIO region info, 64-bit ones above 4 GiB when they are large).
#   vfio-kernel.sh BASALT PCI-GUEST.elf BZIMAGE
set -u
basalt=$1 guest=$2 kernel=$3
dev=${BASALT_TEST_VFIO_DEVICE:-}
if [ -z "$dev" ]; then
	echo "SKIP: set BASALT_TEST_VFIO_DEVICE=/sys/bus/pci/devices/DDDD:BB:DD.F (a spare"
	echo "      function bound to vfio-pci, on a host with an IOMMU) to run this"
	exit 77
fi
if [ ! -e /dev/vfio/vfio ] && [ ! -e /dev/iommu ]; then
	echo "SKIP: no VFIO on this host (/dev/vfio/vfio, /dev/iommu)"; exit 77
fi
dir=$(mktemp -d /tmp/basalt-vfk.XXXXXX)
bpid=''
trap '[ -n "$bpid" ] && kill "$bpid" 2>/dev/null; rm -rf "$dir"' EXIT
fail=0
vendor=$(sed 's/^0x//' "$dev/vendor") device=$(sed 's/^0x//' "$dev/device")
class=$(sed 's/^0x//' "$dev/class")

echo "+ $basalt run --kernel $guest --device vfio=$dev"
"$basalt" run -v --kernel "$guest" --memory 128M --timeout 60 --device "vfio=$dev" > "$dir/pci" 2>&1
rc=$?
cat "$dir/pci"
[ $rc = 0 ] || { echo "FAIL: pci guest exit status $rc"; fail=1; }
grep -q "pci 00:1a\.0 $vendor:$device class $(echo "$class" | sed 's/\(..\)\(..\)\(..\)/\1\/\2\/\3/')" "$dir/pci" &&
	echo "ok: the guest sees $vendor:$device class $class at 00:1a.0" ||
	{ echo "FAIL: the guest does not see $vendor:$device at 00:1a.0"; fail=1; }

[ -f "$kernel" ] || { echo "SKIP: no test kernel at $kernel"; exit 77; }
"$basalt" run -v --kernel "$kernel" --memory 512M --timeout 400 --device "vfio=$dev" \
	--cmdline 'console=ttyS0 panic=-1 kunit.filter_glob=none.none root=/dev/nonexistent rootwait' \
	> "$dir/linux" 2>&1 &
bpid=$!
i=0
while [ $i -lt 420 ] && kill -0 "$bpid" 2>/dev/null && ! grep -q 'Waiting for root device' "$dir/linux"; do
	sleep 1; i=$((i + 1))
done
kill "$bpid" 2>/dev/null; wait "$bpid"; bpid=''
grep -E 'basalt:|00:1a\.0' "$dir/linux"
grep -q "pci 0000:00:1a\.0: \[$vendor:$device\]" "$dir/linux" && echo "ok: Linux enumerates $vendor:$device" ||
	{ echo "FAIL: Linux does not enumerate $vendor:$device at 00:1a.0"; fail=1; }
# Memory BARs: the host's sizes (sysfs resource: start end flags, one line
# per BAR, flags bit 0x200 = memory) against what Linux decoded.
n=0
while read -r start end flags; do
	if [ $n -lt 6 ] && [ "$start" != 0x0000000000000000 ] && [ $((flags & 0x200)) != 0 ]; then
		want=$((end - start + 1))
		got=$(sed -n "s/.*pci 0000:00:1a\.0: BAR $n \[mem 0x\([0-9a-f]*\)-0x\([0-9a-f]*\).*/\1 \2/p" "$dir/linux" | head -1)
		if [ -n "$got" ]; then set -- $got; got=$((0x$2 - 0x$1 + 1)); fi
		[ "$got" = "$want" ] && echo "ok: BAR $n is $want bytes" ||
			{ echo "FAIL: BAR $n is ${got:-missing}, host has $want bytes"; fail=1; }
	fi
	n=$((n + 1))
done < "$dev/resource"
[ $fail = 0 ] && echo PASS
exit $fail
