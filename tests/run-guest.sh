#!/bin/bash
# Host-side check for one VM run (meson suite 'guest' and 'linux').
#
#   run-guest.sh --basalt BASALT --expect-exit N [--expect REGEX]...
#                [--reject REGEX]... [--max-rss-mib N] [--timeout S]
#                [--l1-mem SIZE] [--needs-guest-user] [--stdin FILE] [--expect-clock]
#                -- <basalt run args>
#
# Runs `BASALT run --stats <args>`, then checks basalt's exit status, that
# every --expect extended regex matches its combined output, that no
# --reject regex does, (with --max-rss-mib) basalt's peak RSS, and (with
# --expect-clock) that a "basalt-clock: EPOCH" line from the guest is within
# two minutes of the host clock (the guest read it from the CMOS RTC).
# Where /dev/kvm is missing (or, with --needs-guest-user, on a PVM host,
# whose guests' user space cannot make system calls) it runs the same
# command inside an L1 VM with nested KVM (tests/l1/run-in-l1.sh); without
# that either it exits 77 (skip).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
basalt='' expect_exit='' max_rss='' timeout=60 l1_mem=1G needs_user=0 stdin_file=/dev/null expect_clock=0
expects=() rejects=()
while [ $# -gt 0 ]; do
	case "$1" in
	--basalt) basalt=$2; shift 2 ;;
	--expect-exit) expect_exit=$2; shift 2 ;;
	--expect) expects+=("$2"); shift 2 ;;
	--reject) rejects+=("$2"); shift 2 ;;
	--max-rss-mib) max_rss=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--l1-mem) l1_mem=$2; shift 2 ;;
	--needs-guest-user) needs_user=1; shift ;;
	--stdin) stdin_file=$2; shift 2 ;;
	--expect-clock) expect_clock=1; shift ;;
	--) shift; break ;;
	*) echo "run-guest: unknown option $1" >&2; exit 2 ;;
	esac
done
if [ -z "$basalt" ] || [ -z "$expect_exit" ]; then echo "run-guest: need --basalt and --expect-exit" >&2; exit 2; fi

# Where to run: directly when /dev/kvm works, except that a guest needing
# user-space system calls (--needs-guest-user) cannot run on a PVM host; such
# tests, and every test when /dev/kvm is missing or BASALT_TEST_L1=1, run in
# the nested-KVM L1 VM instead (skip 77 if that harness is unavailable).
use_l1=0
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ] || [ "${BASALT_TEST_L1:-0}" = 1 ]; then
	use_l1=1
elif [ "$needs_user" = 1 ] && [ -e /sys/module/kvm_pvm ]; then
	echo "(PVM host: guest user space cannot make system calls here; using the L1 VM)"
	use_l1=1
fi

out=$(mktemp /tmp/basalt-run.XXXXXX)
trap 'rm -f "$out"' EXIT
cmd=("$basalt" run --stats --timeout "$timeout" "$@")
echo "+ ${cmd[*]}"
if [ "$use_l1" = 0 ]; then
	"${cmd[@]}" > "$out" 2>&1 < "$stdin_file"
	rc=$?
else
	l1_stdin=()
	[ "$stdin_file" != /dev/null ] && l1_stdin=(--stdin "$stdin_file")
	"$here/l1/run-in-l1.sh" --mem "$l1_mem" --timeout $((timeout * 3 + 60)) "${l1_stdin[@]}" \
		-- "${cmd[@]}" > "$out" 2>&1
	rc=$?
	if [ $rc = 77 ]; then
		cat "$out"
		echo "SKIP: needs the nested-KVM L1 harness here, which is unavailable"
		exit 77
	fi
	echo "(ran inside an L1 VM with nested KVM)"
fi

# Long outputs (serial storms) are summarised.
if [ "$(wc -c < "$out")" -gt 20000 ]; then
	head -c 4000 "$out"; echo; echo "[... $(wc -c < "$out") bytes ...]"; tail -c 4000 "$out"
else
	cat "$out"
fi

fail=0
if [ "$rc" != "$expect_exit" ]; then
	echo "FAIL: exit status $rc, expected $expect_exit"
	fail=1
fi
for re in "${expects[@]}"; do
	if ! grep -a -q -E -- "$re" "$out"; then
		echo "FAIL: output does not match /$re/"
		fail=1
	fi
done
for re in "${rejects[@]}"; do
	if grep -a -q -E -- "$re" "$out"; then
		echo "FAIL: output matches rejected /$re/"
		fail=1
	fi
done
if [ -n "$max_rss" ]; then
	rss=$(grep -a -o 'max_rss_kib=[0-9]*' "$out" | tail -1 | cut -d= -f2)
	if [ -z "$rss" ]; then
		echo "FAIL: no stats line with max_rss_kib"
		fail=1
	elif [ "$rss" -gt $((max_rss * 1024)) ]; then
		echo "FAIL: basalt peak RSS ${rss} KiB exceeds ${max_rss} MiB"
		fail=1
	else
		echo "peak RSS ${rss} KiB (limit ${max_rss} MiB)"
	fi
fi
if [ "$expect_clock" = 1 ]; then
	guest=$(grep -a -o 'basalt-clock: [0-9]*' "$out" | tail -1 | cut -d' ' -f2)
	now=$(date +%s)
	if [ -z "$guest" ]; then
		echo "FAIL: no basalt-clock line"
		fail=1
	elif [ $((guest > now ? guest - now : now - guest)) -gt 120 ]; then
		echo "FAIL: guest clock $guest is off the host's $now by more than 120 s"
		fail=1
	else
		echo "guest clock $guest, host $now"
	fi
fi
[ $fail = 0 ] && echo "PASS"
exit $fail
