#!/bin/bash
# bench/blk on this host: basalt vs QEMU (virtio-blk-pci, aio=io_uring) on
# the same 256 MiB image, with host fio as the ceiling.
#   bench/run-blk.sh BUILD_DIR [N]
set -euo pipefail
build=$(realpath "${1:-build}")
n=${2:-5}
qemu=$(command -v qemu-system-x86_64)
img=$(mktemp /tmp/basalt-blkbench.XXXXXX)
trap 'rm -f "$img"' EXIT
dd if=/dev/urandom of="$img" bs=1M count=256 2>/dev/null
cmd=("$build/bench/blk" -n "$n" --basalt "$build/src/basalt" --qemu "$qemu"
     --guest "$build/tests/guests/blk_bench.elf" --image "$img")
command -v fio > /dev/null && cmd+=(--fio "$(command -v fio)")
if [ -e /sys/module/kvm_pvm ]; then
	# QEMU's -cpu host aborts on PVM hosts setting IA32_ARCH_CAPABILITIES.
	cmd+=(--qemu-cpu host,-arch-capabilities)
fi
if ! [ -w /dev/kvm ]; then
	echo "no /dev/kvm here: run it where KVM is available" >&2
	exit 77
fi
exec "${cmd[@]}"
