#!/bin/bash
# bench/boot on this host, or inside an L1 VM with nested KVM where this
# host has no /dev/kvm (then both VMMs run nested, under the same L1).
#   bench/run-boot.sh BUILD_DIR [N]
set -euo pipefail
build=$(realpath "${1:-build}")
n=${2:-11}
here=$(cd "$(dirname "$0")" && pwd)
guest=$build/tests/guests/hello.elf
qemu=$(command -v qemu-system-x86_64)
cmd=("$build/bench/boot" -n "$n" --basalt "$build/src/basalt" --qemu "$qemu" --guest "$guest")
def=$build/guest-images/default
if [ -e /sys/module/kvm_pvm ] && [ -w /dev/kvm ]; then
	# The Debian kernel needs over ten minutes on a PVM host and QEMU cannot
	# boot it there at all (it stops at the kernel's int3 self-test).
	echo "(PVM host: the Linux comparison needs hardware virtualization; test guest only)"
	# QEMU's -cpu host aborts there setting IA32_ARCH_CAPABILITIES (0x10a).
	cmd+=(--qemu-cpu host,-arch-capabilities)
elif [ -f "$def/bzImage" ]; then
	cmd+=(--linux "$(realpath "$def/bzImage")" --initrd "$(realpath "$def/initramfs.cpio.gz")")
fi
if [ -w /dev/kvm ]; then
	exec "${cmd[@]}"
fi
export BASALT_L1_KERNEL_DIR=${BASALT_L1_KERNEL_DIR:-$build/guest-images/debian-kernel}
fw=()
for f in /usr/share/qemu/bios-microvm.bin /usr/share/seabios/bios-microvm.bin /usr/share/qemu/qboot.rom; do
	[ -e "$f" ] && fw+=(--file "$(realpath "$f")" --file "$f")
done
echo "(no /dev/kvm here: both VMMs run inside an L1 VM with nested KVM)"
exec "$here/../tests/l1/run-in-l1.sh" --timeout 900 "${fw[@]}" --file "$qemu" -- "${cmd[@]}"
