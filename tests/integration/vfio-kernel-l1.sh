#!/bin/bash
# Kernel VFIO for real, on any host with QEMU: an L1 VM (tests/l1, QEMU TCG
# with nested KVM) gets an emulated Intel IOMMU and QEMU's "edu" PCI device;
# inside it the device is bound to vfio-pci and basalt passes it through
# with --device vfio=... to the edu test guest (tests/guests/edu.c):
# configuration space through the VFIO region, BAR 0 through the KVM slot
# of VFIO's mmap, MSI through VFIO's eventfd and a KVM irqfd, DMA both ways
# through the type1 IOMMU mappings of guest RAM.  Skips (77) without the
# L1 harness (QEMU, the L1 kernel and its vfio modules).
#   vfio-kernel-l1.sh BASALT EDU-GUEST.elf
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
basalt=$1 guest=$2
out=$(mktemp /tmp/basalt-vfiol1.XXXXXX)
trap 'rm -f "$out"' EXIT

"$here/../l1/run-in-l1.sh" --mem 1G --timeout "${BASALT_L1_TIMEOUT:-600}" \
	--qemu-arg -device --qemu-arg intel-iommu,intremap=off --qemu-arg -device --qemu-arg edu \
	--append intel_iommu=on \
	--module drivers/vfio/vfio.ko --module drivers/vfio/vfio_virqfd.ko \
	--module 'drivers/vfio/vfio_iommu_type1.ko allow_unsafe_interrupts=1' \
	--module drivers/vfio/pci/vfio-pci-core.ko --module drivers/vfio/pci/vfio-pci.ko \
	-- "$here/vfio-kernel-l1-inner.sh" "$basalt" "$guest" > "$out" 2>&1
rc=$?
cat "$out"
[ $rc = 77 ] && { echo "SKIP: the L1 harness is not available here"; exit 77; }
fail=0
[ $rc = 0 ] || { echo "FAIL: exit status $rc"; fail=1; }
for want in 'edu: [0-9]+ checks, 0 failed' \
	'vfio0: 0000:[0-9a-f:.]+ through VFIO group /dev/vfio/[0-9]+ \(type1' \
	'vfio0: MSI on, 1 vectors'; do
	grep -q -E "$want" "$out" && echo "ok: /$want/" || { echo "FAIL: no /$want/"; fail=1; }
done
exits=$(sed -n 's/.*stats: .* exits=\([0-9]*\) .*/\1/p' "$out")
if [ -n "$exits" ] && [ "$exits" -lt 10000 ]; then
	echo "ok: $exits VM exits in all: BAR 0 (20000 reads) went through the slot"
else
	echo "FAIL: ${exits:-no} VM exits: BAR 0 traps"; fail=1
fi
[ $fail = 0 ] && echo PASS
exit $fail
