#!/bin/bash
# Boots one test guest under QEMU TCG and checks its verdict (suite
# 'guest-qemu'), so the guests themselves are known good independently of
# basalt.
#
#   qemu-run.sh --kernel X.elf [--cmdline STR] [--machine microvm|q35]
#               [--smp N] (--expect-exit N | --expect-shutdown)
#               [--expect REGEX]... [--reject REGEX]... [--timeout S]
#
# --expect-exit N: the guest wrote N to the exit port; QEMU's isa-debug-exit
#   then exits with ((N << 1) | 1) & 0xff, which is what is compared.
# --expect-shutdown: triple fault / reset; with -no-reboot QEMU exits 0.
# Every --expect extended regex must match the serial output, no --reject
# may.  Exits 77 (skip) when qemu-system-x86_64 is not installed.
set -uo pipefail

qemu=${QEMU:-qemu-system-x86_64}
kernel='' cmdline='' machine=microvm smp=1 want='' timeout=20
expects=() rejects=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--cmdline) cmdline=$2; shift 2 ;;
	--machine) machine=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--expect-exit)
		if ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -gt 255 ]; then
			echo "qemu-run: --expect-exit needs 0..255, got '$2'" >&2; exit 2
		fi
		want=$(( (($2 << 1) | 1) & 255 )); shift 2 ;;
	--expect-shutdown) want=0; shift ;;
	--expect) expects+=("$2"); shift 2 ;;
	--reject) rejects+=("$2"); shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	*) echo "qemu-run: unknown option '$1'" >&2; exit 2 ;;
	esac
done
if [ -z "$kernel" ] || [ -z "$want" ]; then
	echo "qemu-run: need --kernel and --expect-exit or --expect-shutdown" >&2
	exit 2
fi
if ! command -v "$qemu" > /dev/null; then
	echo "SKIP: $qemu not installed"
	exit 77
fi

out=$(mktemp /tmp/basalt-qemu.XXXXXX)
trap 'rm -f "$out"' EXIT
# microvm's ISA serial is COM1; q35 (for the pci guest) needs no NIC ROM.
cmd=("$qemu" -M "$machine,accel=tcg" -cpu max -m 256M -smp "$smp" -nographic
     -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=1
     -kernel "$kernel" -append "$cmdline")
[ "$machine" = microvm ] || cmd+=(-net none)
echo "+ ${cmd[*]}"
timeout -s KILL "$timeout" "${cmd[@]}" > "$out" 2>&1 < /dev/null
rc=$?

# The output can be megabytes (serial_storm): show its ends only.
lines=$(wc -l < "$out")
if [ "$lines" -gt 60 ]; then
	head -n 20 "$out"
	echo "... ($((lines - 40)) lines skipped) ..."
	tail -n 20 "$out"
else
	cat "$out"
fi

fail=0
if [ $rc = 137 ]; then
	echo "FAIL: QEMU killed after ${timeout}s"
	exit 1
fi
if [ "$rc" != "$want" ]; then
	echo "FAIL: QEMU exit status $rc, expected $want"
	fail=1
fi
for re in ${expects[@]+"${expects[@]}"}; do
	if ! grep -qE -- "$re" "$out"; then
		echo "FAIL: output does not match '$re'"
		fail=1
	fi
done
for re in ${rejects[@]+"${rejects[@]}"}; do
	if grep -qE -- "$re" "$out"; then
		echo "FAIL: output matches rejected '$re'"
		fail=1
	fi
done
[ $fail = 0 ] && echo "PASS (QEMU exit status $rc)"
exit $fail
