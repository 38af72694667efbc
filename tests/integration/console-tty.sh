#!/bin/bash
# Terminal handling through a pty (tests/integration/ptyrun.c), on this
# host's /dev/kvm or inside the nested-KVM L1 VM.
#   console-tty.sh PTYRUN BASALT GUEST.elf
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cmd=("$1" 'spin: spinning' "$(realpath "$2")" run --kernel "$3" --memory 64M)
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	exec "${cmd[@]}"
fi
exec "$here/l1/run-in-l1.sh" --timeout 120 -- "${cmd[@]}"
