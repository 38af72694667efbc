#!/bin/bash
# PCI passthrough over vfio-user, from the test guest (tests/guests/
# vfio_user.c, bench=1) against the test accelerator (tests/vfio-user-dev):
#   - bandwidth of the big BAR through its KVM memory slot, 8-byte loop;
#   - the ceiling: the same loop, and memcpy, on the host over the server's
#     own BAR memfd (the server measures before it serves);
#   - guest RAM with the same loop (what a slot should match);
#   - the floor: the BAR's trapped tail (every access a VM exit and a
#     vfio-user message round trip);
#   - interrupt latency: DMA completion (the device's completion write,
#     seen by the spinning vCPU) to the guest's handler, through the
#     eventfd the device signals and KVM's irqfd (no VMM thread).
# There is no comparison with QEMU: Debian 12's QEMU (7.2) has no vfio-user
# client (it arrived in QEMU 10.1).
#   bench/run-vfio-user.sh BUILD_DIR [MIB] [ROUNDS]
set -euo pipefail
build=$(realpath "${1:-build}")
mib=${2:-256}
rounds=${3:-500}
server=$build/tests/vfio-user-dev/vfio-user-dev
if ! [ -w /dev/kvm ]; then
	echo "no /dev/kvm here: run it where KVM is available" >&2
	exit 77
fi
dir=$(mktemp -d /tmp/basalt-vfubench.XXXXXX)
spid=''
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; rm -rf "$dir"' EXIT
khz=$("$server" --tsc-khz)
echo "host: $(nproc) CPUs, TSC $khz kHz$( [ -e /sys/module/kvm_pvm ] && echo ', PVM (guest ring 0 emulated)')"
"$server" --socket "$dir/a.sock" --big 8G --bench-host "$mib" --once > "$dir/server.out" 2> "$dir/server.err" &
spid=$!
for _ in $(seq 100); do [ -S "$dir/a.sock" ] && break; sleep 0.1; done
cat "$dir/server.out"
"$build/src/basalt" run --stats --kernel "$build/tests/guests/vfio_user.elf" --memory 512M \
	--timeout 600 --device "vfio-user=$dir/a.sock" \
	--cmdline "bench=1 big=8G tsc_khz=$khz bench_mib=$mib rounds=$rounds ram_at=0x8000000" 2>&1 |
	grep -E '^bench:|stats:'
echo "(QEMU comparison: none possible; Debian's QEMU 7.2 has no vfio-user client)"
