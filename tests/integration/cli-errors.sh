#!/bin/bash
# The real binary's handling of user errors and of the config round trip.
# Every user error: one line naming the culprit, exit status 2, and no VM:
# /dev/kvm is never opened (checked with strace where available).
set -uo pipefail
basalt=$1
tmp=$(mktemp -d /tmp/basalt-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
have_strace=0
command -v strace >/dev/null && have_strace=1

kernel=$tmp/kernel.elf
printf '\177ELF-not-really' > "$kernel"

# expect_error EXPECTED-REGEX ARGS...
expect_error() {
	local re=$1; shift
	local out rc
	if [ $have_strace = 1 ]; then
		out=$(strace -f -qq -e trace=openat -o "$tmp/trace" "$basalt" "$@" 2>&1 >/dev/null)
	else
		out=$("$basalt" "$@" 2>&1 >/dev/null)
	fi
	rc=$?
	if [ $rc != 2 ]; then
		echo "FAIL: basalt $*: exit $rc, expected 2 ($out)"; fail=1; return
	fi
	if [ "$(printf '%s\n' "$out" | wc -l)" != 1 ]; then
		echo "FAIL: basalt $*: expected one line, got: $out"; fail=1; return
	fi
	if ! printf '%s' "$out" | grep -q -E -- "$re"; then
		echo "FAIL: basalt $*: message '$out' does not match /$re/"; fail=1; return
	fi
	if [ $have_strace = 1 ] && grep -q '/dev/kvm' "$tmp/trace"; then
		echo "FAIL: basalt $*: opened /dev/kvm despite a config error"; fail=1; return
	fi
	echo "ok: basalt $* -> $out"
}

expect_error "unknown option '--frobnicate'" run --frobnicate
expect_error "unknown command 'rn'" rn
expect_error "--cpus: invalid number 'many'" run --kernel "$kernel" --cpus many
expect_error "--memory: invalid size '12Q'" run --kernel "$kernel" --memory 12Q
expect_error "kernel: cannot open '/nonexistent/bzImage'" run --kernel /nonexistent/bzImage
expect_error "cpus" run --kernel "$kernel" --cpus 0
expect_error "console" run --kernel "$kernel" --console serial
printf 'MZ not a kernel at all, just some bytes' > "$tmp/notkernel"
expect_error "kernel '$tmp/notkernel'" run --kernel "$tmp/notkernel"

printf '{\n  "cpus": 2,\n  "cpu": 4\n}\n' > "$tmp/unknown.json"
expect_error "unknown.json:3:[0-9]+: unknown key 'cpu'" run --kernel "$kernel" --config "$tmp/unknown.json"
printf '{\n  "cpus": "two"\n}\n' > "$tmp/type.json"
expect_error "type.json:2:[0-9]+: 'cpus' must be an integer" run --kernel "$kernel" --config "$tmp/type.json"
printf '{\n  "memory": "1G",\n  "cpus": 1000\n}\n' > "$tmp/range.json"
expect_error "range.json:3:[0-9]+: 'cpus' out of range" run --kernel "$kernel" --config "$tmp/range.json"
printf '{\n  "cpus": 2,\n' > "$tmp/syntax.json"
expect_error "syntax.json:[0-9]+:[0-9]+: invalid JSON" run --kernel "$kernel" --config "$tmp/syntax.json"
expect_error "nope.json: cannot open" run --kernel "$kernel" --config "$tmp/nope.json"

# Disks: bad options, missing or unwritable images, bad JSON entries.
truncate -s 1M "$tmp/disk.img"
expect_error "--disk: needs path=FILE" run --kernel "$kernel" --disk readonly=on
expect_error "--disk: unknown key 'size'" run --kernel "$kernel" --disk "path=$tmp/disk.img,size=1G"
expect_error "--disk: cache must be writeback or writethrough, got 'none'" run --kernel "$kernel" --disk "path=$tmp/disk.img,cache=none"
expect_error "--disk: direct must be on or off, got 'yes please'" run --kernel "$kernel" --disk "path=$tmp/disk.img,direct=yes please"
expect_error "--disk: readonly must be on or off, got 'maybe'" run --kernel "$kernel" --disk "path=$tmp/disk.img,readonly=maybe"
expect_error "disks\[0\]: cannot open '$tmp/nodisk.img' for writing" run --kernel "$kernel" --disk "path=$tmp/nodisk.img"
expect_error "disks\[1\]: '$tmp/disk.img' is already disks\[0\]" run --kernel "$kernel" --disk "path=$tmp/disk.img" --disk "path=$tmp/disk.img,readonly=on"
expect_error "disks\[0\]: serial is longer than 20 bytes" run --kernel "$kernel" --disk "path=$tmp/disk.img,serial=abcdefghijklmnopqrstuvwxyz"
expect_error "disks\[0\]: '$tmp' is not a regular file or block device" run --kernel "$kernel" --disk "path=$tmp,readonly=on"
printf '{\n  "disks": [\n    { "path": "%s" },\n    { "path": "%s", "readonly": "yes" }\n  ]\n}\n' \
	"$tmp/disk.img" "$tmp/disk.img" > "$tmp/disks.json"
expect_error "disks.json:4:[0-9]+: 'disks\[1\].readonly' must be a boolean" run --kernel "$kernel" --config "$tmp/disks.json"
printf '{\n  "disks": [ { "path": "%s", "seriall": "x" } ]\n}\n' "$tmp/disk.img" > "$tmp/disks2.json"
expect_error "disks2.json:2:[0-9]+: unknown key 'seriall' in 'disks\[0\]' \(did you mean 'serial'\?\)" run --kernel "$kernel" --config "$tmp/disks2.json"
printf '{\n  "disks": { "path": "x" }\n}\n' > "$tmp/disks3.json"
expect_error "disks3.json:2:12: 'disks' must be an array, got object" run --kernel "$kernel" --config "$tmp/disks3.json"

# Passthrough devices: sockets that are missing, not sockets, or that
# nobody listens on (found when connecting, still before /dev/kvm); host
# functions not bound to vfio-pci or in a group that is not viable (a fake
# sysfs tree through BASALT_SYSFS_ROOT).
expect_error "--device: 'pci=0000:01:00.0' is not vfio=" run --kernel "$kernel" --device pci=0000:01:00.0
expect_error "devices\[0\]: vfio-user socket '$tmp/none.sock': No such file or directory \(start the device server first\)" run --kernel "$kernel" --device "vfio-user=$tmp/none.sock"
expect_error "devices\[0\]: vfio-user '$tmp/disk.img' is not a UNIX socket" run --kernel "$kernel" --device "vfio-user=$tmp/disk.img"
if command -v python3 >/dev/null; then
	python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('$tmp/stale.sock')"
	expect_error "vfio-user0: vfio-user '$tmp/stale.sock': Connection refused \(is the server running\?\)" run --kernel "$kernel" --device "vfio-user=$tmp/stale.sock"
fi
printf '{\n  "devices": [ { "vfio-user": "%s", "vfio": "x" } ]\n}\n' "$tmp/stale.sock" > "$tmp/dev.json"
expect_error "dev.json:2:[0-9]+: 'devices\[0\]' must be an object with one key" run --kernel "$kernel" --config "$tmp/dev.json"
sys=$tmp/sysroot
mkdir -p "$sys/sys/devices/pci0000:00/0000:01:00.0" "$sys/sys/bus/pci/devices" "$sys/sys/bus/pci/drivers/nvidia" \
	"$sys/sys/kernel/iommu_groups/5/devices"
echo 0x10de > "$sys/sys/devices/pci0000:00/0000:01:00.0/vendor"
ln -s ../../../devices/pci0000:00/0000:01:00.0 "$sys/sys/bus/pci/devices/0000:01:00.0"
ln -s ../../../bus/pci/drivers/nvidia "$sys/sys/devices/pci0000:00/0000:01:00.0/driver"
expect_error "devices\[0\]: no PCI device at '/sys/bus/pci/devices/0000:02:00.0'" run --kernel "$kernel" --device vfio=/sys/bus/pci/devices/0000:02:00.0
BASALT_SYSFS_ROOT=$sys expect_error "devices\[0\]: 0000:01:00.0 is bound to 'nvidia', not vfio-pci" run --kernel "$kernel" --device vfio=/sys/bus/pci/devices/0000:01:00.0
BASALT_SYSFS_ROOT=$sys expect_error "devices\[0\]: 0000:01:00.0 is bound to 'nvidia', not vfio-pci" run --kernel "$kernel" --device vfio=0000:01:00.0
mkdir -p "$sys/sys/bus/pci/drivers/vfio-pci"
ln -sfn ../../../bus/pci/drivers/vfio-pci "$sys/sys/devices/pci0000:00/0000:01:00.0/driver"
BASALT_SYSFS_ROOT=$sys expect_error "devices\[0\]: 0000:01:00.0 has no IOMMU group" run --kernel "$kernel" --device vfio=0000:01:00.0
ln -s ../../../kernel/iommu_groups/5 "$sys/sys/devices/pci0000:00/0000:01:00.0/iommu_group"
mkdir -p "$sys/sys/devices/pci0000:00/0000:01:00.1"
ln -s ../../../bus/pci/drivers/nvidia "$sys/sys/devices/pci0000:00/0000:01:00.1/driver"
ln -s ../../../../devices/pci0000:00/0000:01:00.1 "$sys/sys/kernel/iommu_groups/5/devices/0000:01:00.1"
BASALT_SYSFS_ROOT=$sys expect_error "devices\[0\]: IOMMU group 5 is not viable: 0000:01:00.1 in it is bound to 'nvidia'" run --kernel "$kernel" --device vfio=0000:01:00.0
# Balloon and control socket.
expect_error "--balloon: unknown key 'size'" run --kernel "$kernel" --balloon size=1G
expect_error "balloon: target 1G is more than the guest's memory \(512M\)" run --kernel "$kernel" --balloon target=1G
expect_error "api_socket: directory '/nonexistent-basalt' does not exist" run --kernel "$kernel" --api-socket /nonexistent-basalt/vm.sock
touch "$tmp/plain"
expect_error "api_socket: '$tmp/plain' exists and is not a socket" run --kernel "$kernel" --api-socket "$tmp/plain"
printf '{\n  "balloon": { "target": "256M", "stats_intervall": 3 }\n}\n' > "$tmp/balloon.json"
expect_error "balloon.json:2:[0-9]+: unknown key 'stats_intervall' in 'balloon' \(did you mean 'stats_interval'\?\)" run --kernel "$kernel" --config "$tmp/balloon.json"
# basalt ctl: usage errors exit 2 without connecting; an absent VM is 1.
expect_error "ctl: --socket PATH is required" ctl info
expect_error "ctl: unknown command 'reboot'" ctl --socket "$tmp/none.sock" reboot
expect_error "ctl: balloon-set: '12Q' is not a size" ctl --socket "$tmp/none.sock" balloon-set 12Q
expect_error "ctl: shutdown: 'soon' is not a number of seconds" ctl --socket "$tmp/none.sock" shutdown soon
out=$("$basalt" ctl --socket "$tmp/none.sock" info 2>&1)
rc=$?
if [ $rc = 1 ] && [ "$out" = "basalt: error: ctl: cannot connect to '$tmp/none.sock': No such file or directory" ]; then
	echo "ok: basalt ctl with no VM -> $out"
else
	echo "FAIL: basalt ctl with no VM: exit $rc, '$out'"; fail=1
fi

# Round trip: the printed config, fed back, prints the same config.
printf '{ "kernel": "%s", "cpus": 3, "memory": "1G", "cmdline": "console=ttyS0 quiet", "timeout": 9,
  "disks": [ { "path": "%s", "serial": "file-disk" } ],
  "balloon": { "target": "128M", "free_page_reporting": true }, "api_socket": "%s" }\n' \
	"$kernel" "$tmp/disk.img" "$tmp/vm.sock" > "$tmp/vm.json"
if "$basalt" run --config "$tmp/vm.json" --memory 2G --print-config > "$tmp/a.json" &&
   "$basalt" run --config "$tmp/a.json" --print-config > "$tmp/b.json" &&
   cmp -s "$tmp/a.json" "$tmp/b.json" &&
   grep -q '"cpus": 3' "$tmp/a.json" && grep -q '"memory": "2G"' "$tmp/a.json" &&
   grep -q '"serial": "file-disk"' "$tmp/a.json" && grep -q '"target": "128M"' "$tmp/a.json" &&
   grep -q "\"api_socket\": \"$tmp/vm.sock\"" "$tmp/a.json"; then
	echo "ok: --print-config round trip (flags override the file)"
else
	echo "FAIL: --print-config round trip"; cat "$tmp/a.json" "$tmp/b.json"; fail=1
fi

# A --disk flag replaces the file's disks.
truncate -s 1M "$tmp/disk2.img"
if "$basalt" run --config "$tmp/vm.json" --disk "path=$tmp/disk2.img,readonly=on,cache=writethrough" \
	--print-config > "$tmp/c.json" && grep -q "disk2.img" "$tmp/c.json" &&
   ! grep -q "file-disk" "$tmp/c.json" && grep -q '"cache": "writethrough"' "$tmp/c.json"; then
	echo "ok: --disk replaces the config file's disks"
else
	echo "FAIL: --disk with --config"; cat "$tmp/c.json"; fail=1
fi

# Help and version.
"$basalt" --version | grep -q -E '^basalt [0-9]+\.[0-9]+' || { echo "FAIL: --version"; fail=1; }
"$basalt" help run | grep -q -- '--kernel' || { echo "FAIL: help run"; fail=1; }
"$basalt" run --help | grep -q -- '--timeout' || { echo "FAIL: run --help"; fail=1; }

[ $fail = 0 ] && echo PASS
exit $fail
