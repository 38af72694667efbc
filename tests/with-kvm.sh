#!/bin/bash
# Runs a command where /dev/kvm works: here if this host has it, else in
# the nested-KVM L1 VM (tests/l1/run-in-l1.sh; also with BASALT_TEST_L1=1),
# else exits 77 (skip).
#   with-kvm.sh [--needs-guest-user] [--file PATH]... [--module REL.ko]... COMMAND [ARGS...]
# (--file: also copy PATH, e.g. a tool the command runs, into the L1 VM;
# --module: load that module of the L1 kernel there, e.g. drivers/net/tun.ko;
# BASALT_L1_TIMEOUT and BASALT_L1_MEM: the L1 VM's time limit and memory;
# --needs-guest-user: the guest's user space makes system calls, which PVM
# hosts cannot run, so use the L1 VM there)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
files=()
l1=${BASALT_TEST_L1:-0}
while :; do
	case "${1:-}" in
	--file) files+=(--file "$2"); shift 2 ;;
	--module) files+=(--module "$2"); shift 2 ;;
	--needs-guest-user) [ -e /sys/module/kvm_pvm ] && l1=1; shift ;;
	*) break ;;
	esac
done
if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ "$l1" != 1 ]; then
	exec "$@"
fi
exec "$here/l1/run-in-l1.sh" --timeout "${BASALT_L1_TIMEOUT:-300}" --mem "${BASALT_L1_MEM:-1G}" \
	"${files[@]}" -- "$@"
