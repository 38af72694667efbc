#!/bin/bash
# Runs a command where /dev/kvm works: here if this host has it, else in
# the nested-KVM L1 VM (tests/l1/run-in-l1.sh; also with BASALT_TEST_L1=1),
# else exits 77 (skip).
#   with-kvm.sh COMMAND [ARGS...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ "${BASALT_TEST_L1:-0}" != 1 ]; then
	exec "$@"
fi
exec "$here/l1/run-in-l1.sh" --timeout 300 -- "$@"
