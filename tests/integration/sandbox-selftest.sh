#!/bin/sh
# Test-only builds (-Dsandbox_selftest=true): the thread of role ROLE makes a
# forbidden system call (socket) once its filter is on; basalt must end with
# status 6 and name the call and the role.
#   sandbox-selftest.sh BASALT GUEST.elf ROLE
basalt=$1 guest=$2 role=$3
img=$(mktemp /tmp/basalt-sbdisk.XXXXXX)
dd if=/dev/zero of="$img" bs=1024 count=1024 2>/dev/null
# The disk gives the VM an I/O thread (role io).
out=$(BASALT_SECCOMP_SELFTEST=$role "$basalt" run --kernel "$guest" --memory 64M \
	--console none --timeout 30 --disk "path=$img" 2>&1)
rc=$?
rm -f "$img"
echo "$out"
echo "exit status $rc"
if [ "$rc" != 6 ]; then
	echo "FAIL: expected exit status 6"
	exit 1
fi
if ! echo "$out" | grep -q "seccomp: forbidden system call [0-9]* (socket) in $role thread"; then
	echo "FAIL: message does not name socket and the $role thread"
	exit 1
fi
echo PASS
