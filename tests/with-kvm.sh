#!/bin/bash
# Runs a command where /dev/kvm works: here if this host has it, else in
# the nested-KVM L1 VM (tests/l1/run-in-l1.sh; also with BASALT_TEST_L1=1),
# else exits 77 (skip).
#   with-kvm.sh [--file PATH]... COMMAND [ARGS...]
# (--file: also copy PATH, e.g. a tool the command runs, into the L1 VM)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
files=()
while [ "${1:-}" = --file ]; do
	files+=(--file "$2")
	shift 2
done
if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ "${BASALT_TEST_L1:-0}" != 1 ]; then
	exec "$@"
fi
exec "$here/l1/run-in-l1.sh" --timeout "${BASALT_L1_TIMEOUT:-300}" "${files[@]}" -- "$@"
