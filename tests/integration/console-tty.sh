#!/bin/bash
# Terminal handling through a pty (tests/integration/ptyrun.c), where
# /dev/kvm works (tests/with-kvm.sh).
#   console-tty.sh PTYRUN BASALT GUEST.elf
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
exec "$here/with-kvm.sh" "$1" 'spin: spinning' "$(realpath "$2")" run --kernel "$3" --memory 64M
