#!/bin/bash
# Runs a command inside a throwaway "L1" Linux VM that has /dev/kvm, for
# hosts that have none (CI here runs inside a PVM guest, where /dev/kvm is
# absent).  QEMU's TCG emulates AMD SVM (-cpu max), so the L1 kernel's
# kvm-amd module works and basalt runs against a real KVM inside it.
#
#   run-in-l1.sh [--mem SIZE] [--timeout SECONDS] [--stdin FILE] [--file PATH]...
#                [--qemu-arg ARG]... [--append STR] [--module 'REL.ko [PARAMS]']...
#                -- COMMAND [ARGS...]
#
# --qemu-arg adds an argument to the L1 QEMU command line (in order; e.g.
# an emulated IOMMU and a device for VFIO tests), --append words to the L1
# kernel's command line, --module a module of the L1 kernel (path under
# its kernel/ directory, loaded after kvm, with optional parameters).
#
# Every existing host path named in COMMAND/ARGS (and any file given with
# --file PATH) is copied into the L1 initramfs at the same path, with the
# shared libraries of executables.  COMMAND's stdout+stderr come back on
# stdout; the exit status is COMMAND's.  Exit 77 if the harness is not
# available (no qemu-system-x86_64 or no L1 kernel), 125 on harness failure.
#
# The L1 kernel is Debian's cloud kernel with its kvm modules, extracted by
# guest-images/build.sh debian-kernel; BASALT_L1_KERNEL_DIR points at it.
set -euo pipefail

mem=1G
timeout=300
extra_files=()
stdin_file=''
qemu_args=()
append=''
modules=()
while [ $# -gt 0 ]; do
	case "$1" in
	--qemu-arg) qemu_args+=("$2"); shift 2 ;;
	--append) append="$append $2"; shift 2 ;;
	--module) modules+=("$2"); shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--stdin) stdin_file=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--file) extra_files+=("$2"); shift 2 ;;
	--) shift; break ;;
	*) echo "run-in-l1: unknown option $1" >&2; exit 125 ;;
	esac
done
[ $# -gt 0 ] || { echo "run-in-l1: no command" >&2; exit 125; }

kdir=${BASALT_L1_KERNEL_DIR:-}
qemu=$(command -v qemu-system-x86_64 || true)
if [ -z "$qemu" ]; then
	echo "run-in-l1: SKIP: qemu-system-x86_64 not installed" >&2
	exit 77
fi
if [ -z "$kdir" ] || [ ! -f "$kdir/vmlinuz" ] || [ ! -d "$kdir/modules" ]; then
	echo "run-in-l1: SKIP: no L1 kernel (BASALT_L1_KERNEL_DIR='$kdir'; build it" \
	     "with guest-images/build.sh debian-kernel)" >&2
	exit 77
fi
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "run-in-l1: SKIP: busybox not installed" >&2; exit 77; }

work=$(mktemp -d /tmp/basalt-l1.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,mod,etc,run,var}
ln -s ../run "$root/var/run"	# ip netns keeps its names in /var/run/netns

# Modules: irqbypass, kvm, kvm-amd (decompressed if the package compresses).
for m in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do
	src=$(find -L "$kdir/modules" -path "*/kernel/$m.ko*" | head -1)
	[ -n "$src" ] || { echo "run-in-l1: $m.ko missing in $kdir" >&2; exit 125; }
	case "$src" in
	*.xz) xz -dc "$src" > "$root/mod/$(basename "$m").ko" ;;
	*.zst) zstd -qdc "$src" > "$root/mod/$(basename "$m").ko" ;;
	*) cp "$src" "$root/mod/$(basename "$m").ko" ;;
	esac
done
: > "$root/modlist"
for spec in "${modules[@]}"; do
	rel=${spec%% *} params=''
	[ "$rel" != "$spec" ] && params=${spec#* }
	src=$(find -L "$kdir/modules" -path "*/kernel/$rel*" | head -1)
	[ -n "$src" ] || { echo "run-in-l1: module $rel missing in $kdir" >&2; exit 125; }
	name=$(basename "$rel" .ko)
	case "$src" in
	*.xz) xz -dc "$src" > "$root/mod/$name.ko" ;;
	*.zst) zstd -qdc "$src" > "$root/mod/$name.ko" ;;
	*) cp "$src" "$root/mod/$name.ko" ;;
	esac
	echo "$name $params" >> "$root/modlist"
done
cp "$busybox" "$root/bin/busybox"

copy_with_libs() {
	local f=$1
	[ -e "$root$f" ] && return 0
	mkdir -p "$root$(dirname "$f")"
	cp -L "$f" "$root$f"
	if [ -x "$f" ] && [ ! -d "$f" ] && file_is_dynamic "$f"; then
		ldd "$f" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
			[ -e "$root$lib" ] && continue
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	fi
}
file_is_dynamic() { ldd "$1" >/dev/null 2>&1; }

# Relative paths to existing files become absolute (the L1 has no cwd of
# ours).  Handles plain arguments and key=PATH / --flag=PATH forms.
args=()
for arg in "$@"; do
	if [ -e "$arg" ] && [ "${arg#/}" = "$arg" ]; then
		arg=$(realpath "$arg")
	elif [ "${arg#*=}" != "$arg" ] && [ -e "${arg#*=}" ] && [ "${arg#*=/}" = "$arg" ]; then
		arg="${arg%%=*}=$(realpath "${arg#*=}")"
	fi
	args+=("$arg")
done
set -- "${args[@]}"

for arg in "$@" "${extra_files[@]}"; do
	# Arguments like key=PATH or --flag=PATH carry paths too.
	for cand in "$arg" "${arg#*=}"; do
		case "$cand" in /*) ;; *) continue ;; esac
		if [ -f "$cand" ]; then copy_with_libs "$cand"; fi
	done
done

# The command, quoted for the L1 shell; stdin from --stdin FILE or empty.
if [ -n "$stdin_file" ]; then
	cp "$stdin_file" "$root/stdin"
else
	: > "$root/stdin"
fi
{
	printf '#!/bin/sh\n'
	printf 'exec'
	printf ' %q' "$@"
	printf ' < /stdin\n'
} > "$root/cmd.sh"
chmod +x "$root/cmd.sh"

cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
for m in irqbypass kvm kvm-amd; do insmod /mod/$m.ko || echo "insmod $m failed"; done
while read -r m params; do
	[ -n "$m" ] && { insmod /mod/$m.ko $params || echo "insmod $m failed" > /dev/ttyS1; }
done < /modlist
stty -F /dev/ttyS1 raw -echo 2>/dev/null
if [ -e /dev/kvm ]; then
	cd /tmp
	/cmd.sh > /dev/ttyS1 2>&1
	rc=$?
else
	echo "run-in-l1: /dev/kvm did not appear in L1" > /dev/ttyS1
	rc=125
fi
echo "@@L1-EXIT=$rc@@" > /dev/ttyS1
sync
poweroff -f
INIT
chmod +x "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet) > "$work/initrd.cpio"

touch "$work/out" "$work/console"
set +e
timeout --kill-after=10 "$timeout" "$qemu" -M q35,accel=tcg -cpu max -smp 1 -m "$mem" \
	-display none -monitor none -no-reboot \
	-serial "file:$work/console" -serial "file:$work/out" \
	-kernel "$kdir/vmlinuz" -initrd "$work/initrd.cpio" "${qemu_args[@]}" \
	-append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init$append" </dev/null
qrc=$?
set -e
# (|| true: no marker must reach the report below, not end this script)
rc=$(grep -a -o '@@L1-EXIT=[0-9]*@@' "$work/out" | tail -1 | sed 's/[^=]*=\([0-9]*\)@@/\1/') || true
grep -a -v '@@L1-EXIT=' "$work/out" || true
if [ -z "$rc" ]; then
	echo "run-in-l1: L1 VM ended without a result (qemu status $qrc); its console:" >&2
	tail -30 "$work/console" >&2
	[ "$qrc" = 124 ] && exit 124
	exit 125
fi
exit "$rc"
