#!/bin/sh
# The control socket with a running VM (test guests, milliseconds to boot):
#  - the socket is mode 0600; a second VM on the same path is refused (2);
#  - error replies: wrong state (resume a running VM, pause twice, shutdown
#    while paused), no balloon, malformed / oversized / unknown requests on
#    one connection that stays usable;
#  - pause stops every vCPU (each vCPU thread sits in futex(), the counter
#    guest prints nothing) and resume lets the count go on;
#  - 50 clients connected at once, each answered on its own connection;
#  - shutdown presses the ACPI power button: the counter guest powers off
#    (exit 0); the spin guest ignores it and basalt stops it after the
#    deadline (exit 7); both times the socket is removed.
#   ctl-guest.sh BASALT COUNTER.elf SPIN.elf
# POSIX sh: it also runs inside the nested-KVM L1 VM's busybox.
set -u
basalt=$1 counter=$2 spin=$3
dir=$(mktemp -d /tmp/basalt-ctl.XXXXXX)
pid=''
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2> /dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
sock=$dir/api.sock
fail=0
ctl() { "$basalt" ctl --socket "$sock" "$@"; }
bad() { echo "FAIL: $*"; fail=1; }
num() { sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p" | head -n 1; }
lines() { grep -c '^counter: [0-9]' "$dir/console"; }
last_count() { grep '^counter: [0-9]' "$dir/console" | tail -n 1 | cut -d' ' -f2; }
# expect_error CODE ctl-args...: the command fails (1) with that code.
expect_error() {
	code=$1
	shift
	ctl "$@" > "$dir/out" 2> "$dir/err"
	rc=$?
	[ $rc = 1 ] && grep -q "ctl: $code: " "$dir/err" ||
		bad "'ctl $*': status $rc, '$(cat "$dir/err")', expected $code"
}
wait_until() {	# SECONDS COMMAND...
	n=$(($1 * 10))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

"$basalt" run --kernel "$counter" --cpus 2 --memory 64M --timeout 300 --cmdline pwrbtn=1 \
	--console "file:$dir/console" --api-socket "$sock" > "$dir/log" 2>&1 &
pid=$!
wait_until 30 ctl info > /dev/null 2>&1 || { cat "$dir/log"; bad "no control socket"; exit 1; }
[ "$(stat -c %a "$sock")" = 600 ] || bad "socket mode $(stat -c %a "$sock"), expected 600"
"$basalt" run --kernel "$spin" --api-socket "$sock" > "$dir/second" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "api_socket: '$sock' is in use by a running process" "$dir/second" ||
	bad "a second VM on the same socket: status $rc, $(cat "$dir/second")"

ctl info > "$dir/info"
grep -q '"state": "running"' "$dir/info" || bad "info: not running: $(cat "$dir/info")"
grep -q '"balloon": null' "$dir/info" || bad "info: a balloon that was not asked for"
[ "$(num cpus < "$dir/info")" = 2 ] || bad "info: cpus"
expect_error wrong-state resume
expect_error no-device balloon-set 64M
expect_error no-device balloon-stats

# Errors on one connection, which keeps working.
big=$(head -c 5000 /dev/zero | tr '\0' x)
printf '%s\n%s\n%s\n%s\n%s\n' 'not json' "$big" '{"cmd":"fly","id":1}' \
	'{"cmd":"pause","now":true}' '{"cmd":"info","id":"last"}' |
	ctl --raw > "$dir/raw" || bad "--raw failed"
for code in parse-error too-large unknown-command bad-request; do
	grep -q "\"code\":\"$code\"" "$dir/raw" || bad "no $code reply: $(cat "$dir/raw")"
done
[ "$(wc -l < "$dir/raw")" = 5 ] || bad "$(wc -l < "$dir/raw") replies to 5 requests"
tail -n 1 "$dir/raw" | grep -q '^{"ok":true,"id":"last","result":{"state":"running"' ||
	bad "the connection did not recover: $(tail -n 1 "$dir/raw")"

# Pause: no vCPU runs, nothing is printed; resume: it goes on.
wait_until 30 sh -c "[ \$(grep -c '^counter: [0-9]' '$dir/console') -ge 3 ]" ||
	bad "the counter guest does not count"
ctl pause > /dev/null || bad "pause failed"
n0=$(wc -c < "$dir/console") c0=$(last_count)
[ "$(ctl info | num vcpus_parked)" = 2 ] || bad "not every vCPU is parked"
for t in /proc/"$pid"/task/*; do
	case "$(cat "$t/comm")" in
	vcpu*) sc=$(cut -d' ' -f1 "$t/syscall")
	       [ "$sc" = 202 ] || bad "$(cat "$t/comm") is in system call $sc, not futex (202)" ;;
	esac
done
sleep 2
[ "$(wc -c < "$dir/console")" = "$n0" ] || bad "the guest printed while paused"
ctl info | grep -q '"state": "paused"' || bad "info: not paused"
expect_error wrong-state pause
expect_error wrong-state shutdown
ctl resume > /dev/null || bad "resume failed"
grows() { [ "$(lines)" -gt 0 ] && [ "$(last_count)" -gt "$c0" ]; }
wait_until 30 grows || bad "no progress after resume"
echo "paused at count $c0; now $(last_count)"

# 50 clients at once: each holds its connection for 3 s between two requests.
i=0
while [ $i -lt 50 ]; do
	( printf '{"cmd":"info","id":%d}\n' $i; sleep 3; printf '{"cmd":"info","id":%d}\n' $i ) |
		ctl --raw > "$dir/c.$i" 2>&1 &
	i=$((i + 1))
done
many() { [ "$(ctl info | num clients)" -ge 51 ]; }
wait_until 10 many || bad "50 clients were not connected at once ($(ctl info | num clients))"
wait_until 30 sh -c "[ \$(cat $dir/c.* | grep -c '\"ok\":true') -ge 100 ]" ||
	bad "not every client got its two replies"
i=0
while [ $i -lt 50 ]; do
	[ "$(grep -c "^{\"ok\":true,\"id\":$i,\"result\"" "$dir/c.$i")" = 2 ] ||
		bad "client $i: $(cat "$dir/c.$i")"
	i=$((i + 1))
done

# Shutdown: the counter guest handles the power button.
ctl shutdown 30 > /dev/null || bad "shutdown failed"
wait "$pid"
rc=$?
pid=''
grep -q 'counter: power button' "$dir/console" || bad "the guest saw no power button"
[ $rc = 0 ] || bad "exit status $rc after the power button, expected 0"
[ -e "$sock" ] && bad "socket left behind"

# ... the spin guest does not: stopped at the deadline.
"$basalt" run --kernel "$spin" --memory 64M --timeout 300 --console none \
	--api-socket "$sock" > "$dir/log2" 2>&1 &
pid=$!
wait_until 30 ctl info > /dev/null 2>&1 || bad "no control socket (spin)"
ctl shutdown 1 > /dev/null || bad "shutdown failed (spin)"
wait "$pid"
rc=$?
pid=''
[ $rc = 7 ] || bad "exit status $rc at the shutdown deadline, expected 7"
grep -q 'did not power off within 1 s of the power button' "$dir/log2" || bad "no deadline message"
[ -e "$sock" ] && bad "socket left behind (spin)"
[ $fail = 0 ] && echo PASS
exit $fail
