#!/bin/bash
# Balloon inflation: MiB per second given back to the host while a Linux
# guest inflates its balloon by SIZE MiB, basalt vs QEMU (virtio-balloon-pci,
# QMP `balloon`), same CI test kernel idling with 1 GiB, one vCPU.  Guest
# RAM is a memfd in both (QEMU: memory-backend-memfd), so host memory is
# measured the same way: the memfd's allocated blocks.  Before each round
# the host fills the memfd (fallocate on /proc/PID/fd/N; the guest cannot
# tell), so every page the balloon takes was host memory.  A round: fill,
# set the target, wait until the guest reports the balloon full (timed from
# the request), measure the memfd, then deflate to 0.  Prints each round's
# MiB/s (memfd drop / time) and the median, after the device's own ceiling
# (bench/balloon: basalt's balloon fed 1 MiB requests with no guest at
# all).  Not a test: asserts nothing.
#   bench/run-balloon.sh BUILD_DIR [ROUNDS] [SIZE_MIB]
set -euo pipefail
build=$(realpath "${1:-build}")
rounds=${2:-3}
size=${3:-512}
basalt=$build/src/basalt
kernel=$build/guest-images/test-kernel/bzImage
qemu=$(command -v qemu-system-x86_64 || true)
MIB=1048576
[ -w /dev/kvm ] || { echo "no /dev/kvm here: run it where KVM is available" >&2; exit 77; }
[ -f "$kernel" ] || { echo "no test kernel at $kernel (meson compile -C $build guest-images)" >&2; exit 77; }
dir=$(mktemp -d /tmp/basalt-balloonbench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$dir"' EXIT
idle='console=ttyS0 root=/dev/nonexistent rootwait kunit.filter_glob=none.none'

now() { date +%s.%N; }
memfd_of() {	# PID: the 1 GiB memfd among its fds
	local f
	for f in /proc/"$1"/fd/*; do
		case "$(readlink "$f")" in
		/memfd:*) [ "$(stat -L -c %s "$f")" = $((1024 * MIB)) ] && { echo "$f"; return; } ;;
		esac
	done
	return 1
}
mib() { echo $(($(stat -L -c %b "$1") * 512 / MIB)); }
wait_console() {	# FILE SECONDS PID [LOG]: the guest idles, or its VMM stopped it
	local i
	for ((i = 0; i < $2 * 5; i++)); do
		grep -q 'Waiting for root device' "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		# QEMU stops the VM (but not itself) on a KVM internal error.
		[ -n "${4:-}" ] && grep -q 'KVM internal error' "$4" 2>/dev/null && return 1
		sleep 0.2
	done
	return 1
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

"$build/bench/balloon" "$size"
echo

# One VMM: set_target BYTES_IN_BALLOON and actual (bytes in the balloon).
run_rounds() {	# NAME PID
	local name=$1 pid=$2 memfd rates=() r t0 t1 before after
	memfd=$(memfd_of "$pid") || { echo "$name: no 1 GiB memfd" >&2; return 1; }
	for ((r = 1; r <= rounds; r++)); do
		fallocate -l $((1024 * MIB)) "$memfd"
		before=$(mib "$memfd")
		t0=$(now)
		"${name}_set" $((size * MIB))
		until [ "$("${name}_actual")" = $((size * MIB)) ]; do sleep 0.1; done
		t1=$(now)
		after=$(mib "$memfd")
		rates+=("$(echo "$before $after $t0 $t1" | awk '{printf "%.1f", ($1 - $2) / ($4 - $3)}')")
		echo "  $name round $r: $((before - after)) MiB back to the host in" \
			"$(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') s: ${rates[-1]} MiB/s"
		"${name}_set" 0
		until [ "$("${name}_actual")" = 0 ]; do sleep 0.2; done
	done
	echo "$name: median $(median "${rates[@]}") MiB/s over $rounds rounds"
	result[$name]=$(median "${rates[@]}")
}
declare -A result

# --- basalt ---
sock=$dir/api.sock
basalt_set() { "$basalt" ctl --socket "$sock" balloon-set "$1" > /dev/null; }
basalt_actual() { "$basalt" ctl --socket "$sock" info | sed -n 's/.*"actual": \([0-9]*\).*/\1/p'; }
"$basalt" run -v --kernel "$kernel" --memory 1G --cpus 1 --balloon on --api-socket "$sock" \
	--console "file:$dir/basalt.console" --cmdline "$idle" > "$dir/basalt.log" 2>&1 &
pids+=($!)
bpid=$!
wait_console "$dir/basalt.console" 600 "$bpid" || { echo "basalt: the guest did not boot" >&2; exit 1; }
echo "basalt: booted; $rounds rounds of $size MiB"
run_rounds basalt "$bpid"
guest_cmdline=$(sed -n 's/.*Linux guest command line: //p' "$dir/basalt.log" | tr -d '\r')
"$basalt" ctl --socket "$sock" shutdown 0 > /dev/null || true
wait "$bpid" || true

# --- QEMU, with the command line basalt gave the guest (host quirks included) ---
qmp() {	# COMMAND-JSON...: replies, one per line
	{ echo '{"execute":"qmp_capabilities"}'; printf '%s\n' "$@"; sleep 0.2; } |
		socat -t 2 - UNIX-CONNECT:"$dir/qmp.sock" 2>/dev/null
}
qemu_set() { qmp "{\"execute\":\"balloon\",\"arguments\":{\"value\":$((1024 * MIB - $1))}}" > /dev/null; }
qemu_actual() {
	local a
	a=$(qmp '{"execute":"query-balloon"}' | sed -n 's/.*"actual": *\([0-9]*\).*/\1/p')
	[ -n "$a" ] && echo $((1024 * MIB - a))
}
if [ -z "$qemu" ] || ! command -v socat > /dev/null; then
	echo "qemu: not run (needs qemu-system-x86_64 and socat)"
else
	cpu=host
	[ -e /sys/module/kvm_pvm ] && cpu=host,-arch-capabilities	# QEMU aborts otherwise there
	"$qemu" -accel kvm -cpu "$cpu" -M q35 -m 1G -smp 1 \
		-object memory-backend-memfd,id=ram,size=1G -machine memory-backend=ram \
		-kernel "$kernel" -append "$guest_cmdline" -display none -monitor none \
		-serial "file:$dir/qemu.console" -device virtio-balloon-pci,id=balloon0 \
		-qmp "unix:$dir/qmp.sock,server=on,wait=off" -no-reboot > "$dir/qemu.log" 2>&1 &
	pids+=($!)
	qpid=$!
	if wait_console "$dir/qemu.console" 600 "$qpid" "$dir/qemu.log"; then
		echo "qemu: booted; $rounds rounds of $size MiB"
		run_rounds qemu "$qpid"
	else
		echo "qemu: the guest did not boot; last console line and QEMU's report:"
		tail -n 1 "$dir/qemu.console" | sed 's/^/  /'
		grep -E 'error|Code=' "$dir/qemu.log" | sed 's/^/  /'
	fi
	kill "$qpid" 2>/dev/null || true
fi

echo
echo "balloon inflate by $size MiB, MiB/s returned to the host (median of $rounds):"
printf '  %-8s %s\n' basalt "${result[basalt]:-n/a}" qemu "${result[qemu]:-n/a}"
[ -e /sys/module/kvm_pvm ] && echo "  (PVM host: guest ring-0 code is emulated; the guest's page allocation bounds both)"
exit 0
