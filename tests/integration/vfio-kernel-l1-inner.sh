#!/bin/sh
# Inside the L1 VM of vfio-kernel-l1.sh (busybox sh): binds QEMU's edu
# device to vfio-pci and runs basalt with it passed through.
#   vfio-kernel-l1-inner.sh BASALT EDU-GUEST.elf
basalt=$1 guest=$2 dev=''
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] && dev=$d
done
[ -n "$dev" ] || { echo "no edu device (1234:11e8) in L1"; exit 1; }
echo vfio-pci > "$dev/driver_override"
basename "$dev" > /sys/bus/pci/drivers_probe
echo "edu $(basename "$dev"): driver $(basename "$(readlink "$dev/driver")"), IOMMU group $(basename "$(readlink "$dev/iommu_group")")"
"$basalt" run -v --stats --kernel "$guest" --memory 128M --timeout 300 --device "vfio=$dev"
