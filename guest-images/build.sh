#!/usr/bin/env bash
# Build basalt's guest images from Debian packages only (apt-get download +
# dpkg -x, or Debian's linux-source-6.1). Output goes under --out (the meson
# build dir when run through meson); nothing here is ever committed.
#
#   build.sh [--out DIR] [--jobs N] TARGET...
#   TARGET = debian-kernel | default | test-kernel | all
#
# Layout of DIR (docs/guest-images.md describes each image):
#   cache/             downloaded .debs, checked against apt's SHA256
#   debian-kernel/     vmlinuz config System.map modules/ version
#   default/           bzImage initramfs.cpio.gz
#   test-kernel/       bzImage vmlinux config stamp build.log
#   test-kernel-build/ extracted linux-source tree (incremental rebuilds)
#
# Every target is idempotent: a result is rebuilt only when its inputs
# (package version + hash, this script, the fragment, init) change. The only
# network access is apt. Concurrent runs on one DIR serialise on DIR/.lock.
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SRC_DIR
readonly SELF=$SRC_DIR/build.sh
readonly FRAGMENT=$SRC_DIR/test-kernel.config
readonly INIT=$SRC_DIR/init

readonly CLOUD_META=linux-image-cloud-amd64
readonly BUSYBOX_PKG=busybox-static
# Debian's cloud kernel has no CONFIG_DEVPORT, so init reports the exit
# status with ioport's `outb` (iopl; CONFIG_X86_IOPL_IOPERM=y there), which
# is dynamically linked: libc6 supplies libc.so.6 and the loader.
readonly IOPORT_PKG=ioport
readonly LIBC_PKG=libc6
readonly MULTIARCH=x86_64-linux-gnu
readonly LINUX_SRC_PKG=linux-source-6.1
readonly LINUX_SRC_TAR=/usr/src/linux-source-6.1.tar.xz

# Virtio drivers for the default initramfs; dependencies are added from
# modules.dep, so this is the wish list, not the load order.
readonly VIRTIO_MODULES=(virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev
	virtio_pci virtio_blk failover net_failover virtio_net virtio_balloon)
# Checked to exist in debian-kernel/modules (nested-KVM experiments).
readonly KVM_MODULES=(kvm kvm_amd kvm_intel irqbypass)

# Fixed build identity: same inputs, same bytes (bookworm's release date).
export SOURCE_DATE_EPOCH=1686355200
export KBUILD_BUILD_TIMESTAMP='Sat Jun 10 00:00:00 UTC 2023'
export KBUILD_BUILD_USER=basalt
export KBUILD_BUILD_HOST=basalt
export KBUILD_BUILD_VERSION=1
export LC_ALL=C TZ=UTC

die() {
	printf 'guest-images: error: %s\n' "$*" >&2
	exit 1
}

log() {
	printf 'guest-images: %s\n' "$*" >&2
}

usage() {
	cat <<'EOF'
usage: build.sh [--out DIR] [--jobs N] TARGET...
  TARGET: debian-kernel  Debian cloud kernel + modules, extracted
          default        default guest: cloud bzImage + busybox initramfs
          test-kernel    CI test kernel from linux-source-6.1 (~8 min/2 cores)
          all            all of the above
  --out DIR   output directory (default: ./guest-images-out)
  --jobs N    make -j for the test kernel (default: nproc)
EOF
}

# ---------------------------------------------------------------- apt helpers

apt_updated=0
apt_update_once() {
	((apt_updated)) && return 0
	log "apt-get update"
	apt-get update -qq >&2 || die "apt-get update failed"
	apt_updated=1
}

pkg_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# Install the packages that are missing (root only; otherwise name them).
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		pkg_installed "$p" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	((EUID == 0)) || die "missing packages: ${missing[*]} (run: apt-get install ${missing[*]})"
	log "installing ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >&2; then
		apt_update_once
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
	fi
}

# The package linux-image-cloud-amd64 depends on, e.g.
# linux-image-6.1.0-NN-cloud-amd64 (NN changes with every Debian kernel ABI).
resolve_cloud_kernel_pkg() {
	local dep try
	for try in 1 2; do
		dep=$(apt-cache depends "$CLOUD_META" 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
		[[ -n $dep || $try == 2 ]] && break
		apt_update_once
	done
	[[ $dep =~ ^linux-image-[0-9][0-9.]*-[0-9]+-cloud-amd64$ ]] ||
		die "$CLOUD_META: cannot resolve its linux-image-*-cloud-amd64 dependency (got '${dep}')"
	printf '%s\n' "$dep"
}

# Download the candidate .debs of PKG... into DIR/cache (once; verified
# against the SHA256 apt publishes) and print their paths, one per line, in
# argument order. One apt query for all: apt is the slow part of a no-op run.
fetch_debs() {
	local -A line_of=()
	local uri name size hash path pkg try l
	for try in 1 2; do
		line_of=()
		while read -r l; do
			read -r uri name size hash <<<"$l"
			line_of[${name%%_*}]=$l		# apt lists them in its own order
		done < <(apt-get download --print-uris "$@" 2>/dev/null)
		((${#line_of[@]} == $#)) && break
		((try == 2)) || apt_update_once
	done
	for pkg in "$@"; do
		[[ -n ${line_of[$pkg]:-} ]] || die "$pkg: apt-get download --print-uris found no candidate"
		read -r uri name size hash <<<"${line_of[$pkg]}"
		[[ $hash == SHA256:* ]] || die "$pkg: apt gave no SHA256 for $name (got '$hash')"
		hash=${hash#SHA256:}
		path=$CACHE/$name
		if ! { [[ -f $path ]] && sha256sum "$path" | grep -q "^$hash "; }; then
			log "downloading $name ($((size / 1024)) KiB) from ${uri//\'/}"
			rm -f "$path"
			# Same candidate, so apt-get download names the file $name.
			(cd "$CACHE" && apt-get download -o APT::Sandbox::User=root -qq "$pkg" >&2) ||
				die "$pkg: apt-get download failed"
			[[ -f $path ]] || die "$pkg: apt-get download did not produce $name"
			sha256sum "$path" | grep -q "^$hash " || {
				rm -f "$path"
				die "$name: SHA256 mismatch after download"
			}
		fi
		printf '%s\n' "$path"
	done
}

# Hash of files and strings, for cache stamps.
stamp_of() {
	local f
	{
		for f in "$@"; do
			if [[ -f $f ]]; then sha256sum "$f"; else printf '%s\n' "$f"; fi
		done
	} | sha256sum | cut -d' ' -f1
}

# Replace directory $2 by $1 (both under DIR; serialised by the lock).
commit_dir() {
	rm -rf "$2"
	mv "$1" "$2"
}

# --------------------------------------------------------------- debian-kernel

# Extract linux-image-6.1.0-NN-cloud-amd64 into DIR/debian-kernel. The .deb
# ships no modules.dep (the postinst runs depmod), so run depmod here.
build_debian_kernel() {
	local pkg deb stamp dst=$OUT/debian-kernel tmp root vmlinuz ver moddir m
	need_pkgs kmod
	pkg=$(resolve_cloud_kernel_pkg)
	deb=$(fetch_debs "$pkg")
	stamp=$(stamp_of "$deb" "$SELF")
	if [[ -f $dst/stamp && $(<"$dst/stamp") == "$stamp" ]]; then
		log "debian-kernel: up to date ($(<"$dst/version"))"
		return 0
	fi
	log "debian-kernel: extracting $(basename "$deb")"
	tmp=$OUT/.debian-kernel.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp/root"
	root=$tmp/root
	dpkg -x "$deb" "$root" || die "dpkg -x $deb failed"

	vmlinuz=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' -print -quit 2>/dev/null)
	[[ -n $vmlinuz ]] || die "$(basename "$deb"): no boot/vmlinuz-* inside"
	ver=${vmlinuz##*/vmlinuz-}
	moddir=
	for m in "$root/lib/modules/$ver" "$root/usr/lib/modules/$ver"; do
		[[ -d $m ]] && moddir=$m && break
	done
	[[ -n $moddir ]] || die "$(basename "$deb"): no lib/modules/$ver inside"
	[[ -f $root/boot/config-$ver ]] || die "$(basename "$deb"): no boot/config-$ver"
	[[ -f $root/boot/System.map-$ver ]] || die "$(basename "$deb"): no boot/System.map-$ver"

	# depmod -b wants BASE/lib/modules/VER.
	if [[ $moddir != "$root/lib/modules/$ver" ]]; then
		mkdir -p "$root/lib/modules"
		ln -s "$moddir" "$root/lib/modules/$ver"
	fi
	depmod -b "$root" -F "$root/boot/System.map-$ver" "$ver" ||
		die "depmod for $ver failed"

	mkdir -p "$tmp/out"
	cp "$vmlinuz" "$tmp/out/vmlinuz"
	cp "$root/boot/config-$ver" "$tmp/out/config"
	cp "$root/boot/System.map-$ver" "$tmp/out/System.map"
	mv "$moddir" "$tmp/out/modules"
	printf '%s\n' "$ver" >"$tmp/out/version"
	printf '%s\n' "$pkg" >"$tmp/out/package"
	for m in "${KVM_MODULES[@]}"; do
		grep -Eq "/${m//_/[-_]}\\.ko(\\.(xz|zst|gz))?:" "$tmp/out/modules/modules.dep" ||
			die "debian-kernel $ver: module $m not found in modules.dep"
	done
	printf '%s\n' "$stamp" >"$tmp/out/stamp"
	commit_dir "$tmp/out" "$dst"
	rm -rf "$tmp"
	log "debian-kernel: $ver -> $dst"
}

# --------------------------------------------------------------------- default

# Print the modules.dep paths (relative to the modules dir) of the wanted
# modules plus their dependencies, each after everything it depends on.
# Built-in modules (modules.builtin) are skipped; unknown ones are fatal.
modules_in_load_order() {
	local mdir=$1
	shift
	local -A path_of=() deps_of=() state=()
	local line key rest name b
	local -a order=()
	while IFS= read -r line; do
		key=${line%%:*}
		rest=${line#*:}
		name=${key##*/}
		name=${name%%.ko*}
		name=${name//-/_}
		path_of[$name]=$key
		deps_of[$key]=$rest
	done <"$mdir/modules.dep"

	visit() {	# depth-first post-order = dependency order
		local p=$1 d
		case ${state[$p]:-} in
		finished) return 0 ;;
		active) die "modules.dep: dependency cycle through $p" ;;
		esac
		state[$p]=active
		# shellcheck disable=SC2086 # modules.dep: space-separated paths
		for d in ${deps_of[$p]}; do
			[[ -n ${deps_of[$d]+x} ]] || die "modules.dep: $p needs $d, which has no entry"
			visit "$d"
		done
		state[$p]=finished
		order+=("$p")
	}

	for name in "$@"; do
		if [[ -n ${path_of[$name]:-} ]]; then
			visit "${path_of[$name]}"
			continue
		fi
		b=$(grep -E "/${name//_/[-_]}\\.ko\$" "$mdir/modules.builtin" 2>/dev/null || true)
		[[ -n $b ]] || die "module $name: neither in modules.dep nor modules.builtin of $(basename "$mdir")"
		log "default: $name is built into the kernel"
	done
	printf '%s\n' "${order[@]}"
}

# Copy module $1 to $2 uncompressed (busybox insmod cannot decompress).
unpack_module() {
	case $1 in
	*.ko) cp "$1" "$2" ;;
	*.ko.xz) xz -dc "$1" >"$2" ;;
	*.ko.zst) need_pkgs zstd && zstd -qdc "$1" >"$2" ;;
	*.ko.gz) gzip -dc "$1" >"$2" ;;
	*) die "module $1: unknown compression" ;;
	esac || die "module $1: decompression failed"
}

# newc cpio header + padded name for one entry without data (mode in octal).
newc_entry() {
	local name=$1 mode=$2 rmaj=$3 rmin=$4 ino=$5 nsz pad
	nsz=$((${#name} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$ino" "$((8#$mode))" 0 0 1 "$SOURCE_DATE_EPOCH" 0 0 0 "$rmaj" "$rmin" "$nsz" 0
	printf '%s\0' "$name"
	pad=$(((4 - (110 + nsz) % 4) % 4))
	head -c "$pad" /dev/zero
}

# The kernel opens /dev/console before running /init, so the node must be
# in the archive; GNU cpio can only copy existing nodes (mknod needs root),
# so this second archive, appended to the first, carries it.
console_cpio() {
	newc_entry dev/console 020600 5 1 999999
	newc_entry 'TRAILER!!!' 0 0 0 0
}

build_default() {
	local kdir=$OUT/debian-kernel dst=$OUT/default ver bbdeb iodeb libcdeb stamp tmp root m base
	local applets order needed debs
	[[ -f $kdir/stamp ]] || die "default: $kdir missing (build debian-kernel first)"
	need_pkgs cpio gzip xz-utils binutils
	ver=$(<"$kdir/version")
	debs=$(fetch_debs "$BUSYBOX_PKG" "$IOPORT_PKG" "$LIBC_PKG")
	{ read -r bbdeb; read -r iodeb; read -r libcdeb; } <<<"$debs"
	stamp=$(stamp_of "$(<"$kdir/stamp")" "$bbdeb" "$iodeb" "$libcdeb" "$INIT" "$SELF")
	if [[ -f $dst/stamp && $(<"$dst/stamp") == "$stamp" ]]; then
		log "default: up to date ($ver)"
		return 0
	fi
	grep -qx 'CONFIG_DEVPORT=y' "$kdir/config" || grep -qx 'CONFIG_X86_IOPL_IOPERM=y' "$kdir/config" ||
		die "default: $ver has neither CONFIG_DEVPORT nor CONFIG_X86_IOPL_IOPERM; init could not report exit status"
	grep -qx 'CONFIG_DEVTMPFS=y' "$kdir/config" || die "default: $ver lacks CONFIG_DEVTMPFS=y"
	grep -qx 'CONFIG_SERIAL_8250_CONSOLE=y' "$kdir/config" ||
		die "default: $ver lacks CONFIG_SERIAL_8250_CONSOLE=y"

	log "default: packing initramfs for $ver"
	tmp=$OUT/.default.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp/deb" "$tmp/out"
	root=$tmp/root
	for m in "$bbdeb" "$iodeb" "$libcdeb"; do
		dpkg -x "$m" "$tmp/deb" || die "dpkg -x $m failed"
	done
	[[ -x $tmp/deb/bin/busybox ]] || die "$(basename "$bbdeb"): no bin/busybox inside"
	[[ -x $tmp/deb/usr/bin/outb ]] || die "$(basename "$iodeb"): no usr/bin/outb inside"
	needed=$(readelf -d "$tmp/deb/usr/bin/outb" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
	[[ $needed == "libc.so.6 " ]] ||
		die "$(basename "$iodeb"): outb needs '$needed', only libc.so.6 is packed"
	for m in libc.so.6 ld-linux-x86-64.so.2; do
		[[ -f $tmp/deb/lib/$MULTIARCH/$m ]] ||
			die "$(basename "$libcdeb"): no lib/$MULTIARCH/$m inside"
	done

	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc,lib/modules/"$ver"}
	chmod 1777 "$root/tmp"
	cp "$tmp/deb/bin/busybox" "$root/bin/busybox"
	# Applet links made now, not by `busybox --install` at boot.
	applets=$("$root/bin/busybox" --list-full) ||
		die "cannot run $root/bin/busybox on this host to list applets"
	while IFS= read -r m; do
		[[ -z $m || $m == bin/busybox || -e $root/$m || -L $root/$m ]] && continue
		mkdir -p "$root/$(dirname "$m")"
		ln -s /bin/busybox "$root/$m"
	done <<<"$applets"
	[[ -L $root/bin/sh && -L $root/sbin/insmod && -L $root/bin/cttyhack ]] ||
		die "busybox lacks sh/insmod/cttyhack applets"
	install -m 0755 "$INIT" "$root/init"
	install -m 0755 "$tmp/deb/usr/bin/outb" "$root/usr/bin/outb"
	mkdir -p "$root/lib/$MULTIARCH" "$root/lib64"
	install -m 0755 "$tmp/deb/lib/$MULTIARCH/libc.so.6" \
		"$tmp/deb/lib/$MULTIARCH/ld-linux-x86-64.so.2" "$root/lib/$MULTIARCH/"
	ln -s "/lib/$MULTIARCH/ld-linux-x86-64.so.2" "$root/lib64/ld-linux-x86-64.so.2"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"

	order=$(modules_in_load_order "$kdir/modules" "${VIRTIO_MODULES[@]}") || exit 1
	: >"$root/lib/modules/$ver/load-order"
	while IFS= read -r m; do
		[[ -n $m ]] || continue
		base=${m##*/}
		base=${base%%.ko*}.ko
		unpack_module "$kdir/modules/$m" "$root/lib/modules/$ver/$base"
		printf '%s\n' "$base" >>"$root/lib/modules/$ver/load-order"
	done <<<"$order"
	log "default: modules: $(tr '\n' ' ' <"$root/lib/modules/$ver/load-order")"

	find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	{
		(cd "$root" && find . -mindepth 1 | sed 's|^\./||' | sort |
			cpio -o -H newc -R 0:0 --reproducible --quiet) ||
			die "cpio failed"
		console_cpio
	} | gzip -n -9 >"$tmp/out/initramfs.cpio.gz"
	cp "$kdir/vmlinuz" "$tmp/out/bzImage"
	printf '%s\n' "$ver" >"$tmp/out/version"
	printf '%s\n' "$stamp" >"$tmp/out/stamp"
	commit_dir "$tmp/out" "$dst"
	rm -rf "$tmp"
	log "default: $dst/bzImage + initramfs.cpio.gz ($(du -k "$dst/initramfs.cpio.gz" | cut -f1) KiB)"
}

# ----------------------------------------------------------------- test-kernel

# Print fragment lines that .config $1 does not honour: a CONFIG_X=V line
# must appear verbatim; "# CONFIG_X is not set" must not be set to anything.
dropped_options() {
	local cfg=$1 line sym
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=.+$ ]]; then
			grep -qxF -- "$line" "$cfg" ||
				printf '%s (got: %s)\n' "$line" \
					"$(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$cfg" || echo unset)"
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			sym=${BASH_REMATCH[1]}
			if grep -q "^$sym=" "$cfg"; then
				printf '%s (got: %s)\n' "$line" "$(grep "^$sym=" "$cfg")"
			fi
		fi
	done <"$FRAGMENT"
}

build_test_kernel() {
	local dst=$OUT/test-kernel bdir=$OUT/test-kernel-build src srcver stamp blog dropped
	local -a kmake
	need_pkgs "$LINUX_SRC_PKG" bc bison flex libelf-dev libssl-dev lz4 cpio make gcc xz-utils
	[[ -f $LINUX_SRC_TAR ]] || die "$LINUX_SRC_TAR missing (is $LINUX_SRC_PKG installed?)"
	srcver=$(dpkg-query -W -f='${Version}' "$LINUX_SRC_PKG")
	stamp=$(stamp_of "$FRAGMENT" "$SELF" "$LINUX_SRC_PKG=$srcver" "$(gcc -dumpfullversion)")
	if [[ -f $dst/stamp && $(<"$dst/stamp") == "$stamp" ]]; then
		log "test-kernel: up to date ($LINUX_SRC_PKG $srcver)"
		return 0
	fi

	src=$bdir/linux-source-6.1
	if [[ ! -f $bdir/source-version || $(<"$bdir/source-version") != "$srcver" ]]; then
		log "test-kernel: extracting $LINUX_SRC_PKG $srcver"
		rm -rf "$bdir"
		mkdir -p "$bdir"
		tar -C "$bdir" -xf "$LINUX_SRC_TAR" || die "cannot extract $LINUX_SRC_TAR"
		[[ -f $src/Makefile ]] || die "$LINUX_SRC_TAR: no linux-source-6.1/Makefile inside"
		printf '%s\n' "$srcver" >"$bdir/source-version"
	fi

	mkdir -p "$dst"
	blog=$dst/build.log
	: >"$blog"
	kmake=(make -C "$src" ARCH=x86_64 LOCALVERSION=)
	log "test-kernel: configuring (log: $blog)"
	{
		"${kmake[@]}" tinyconfig &&
			(cd "$src" && ARCH=x86_64 scripts/kconfig/merge_config.sh -m .config "$FRAGMENT") &&
			"${kmake[@]}" olddefconfig
	} >>"$blog" 2>&1 || {
		tail -n 20 "$blog" >&2
		die "test-kernel: configuration failed (full log: $blog)"
	}
	dropped=$(dropped_options "$src/.config")
	if [[ -n $dropped ]]; then
		printf '%s\n' "$dropped" >&2
		die "test-kernel: olddefconfig dropped the fragment options above (missing dependencies?)"
	fi

	log "test-kernel: make -j$JOBS bzImage (takes minutes; log: $blog)"
	"${kmake[@]}" -j"$JOBS" bzImage >>"$blog" 2>&1 || {
		tail -n 30 "$blog" >&2
		die "test-kernel: build failed (full log: $blog)"
	}
	rm -f "$dst/stamp"
	cp "$src/arch/x86/boot/bzImage" "$dst/bzImage"
	cp "$src/vmlinux" "$dst/vmlinux"
	cp "$src/.config" "$dst/config"
	printf '%s\n' "$stamp" >"$dst/stamp"
	log "test-kernel: $("${kmake[@]}" -s kernelrelease) -> $dst ($(du -k "$dst/bzImage" | cut -f1) KiB bzImage)"
}

# ------------------------------------------------------------------------ main

# Everything runs from main, which bash parses completely before running:
# editing this file during a (long) build cannot break the running build.
main() {
	local -a targets=()
	local t
	OUT=./guest-images-out
	JOBS=$(nproc 2>/dev/null || echo 2)
	while (($#)); do
		case $1 in
		--out) (($# >= 2)) || die "--out needs a directory"; OUT=$2; shift 2 ;;
		--out=*) OUT=${1#--out=}; shift ;;
		--jobs) (($# >= 2)) || die "--jobs needs a number"; JOBS=$2; shift 2 ;;
		--jobs=*) JOBS=${1#--jobs=}; shift ;;
		-h | --help) usage; exit 0 ;;
		-*) usage >&2; die "unknown option $1" ;;
		debian-kernel | default | test-kernel) targets+=("$1"); shift ;;
		all) targets+=(debian-kernel default test-kernel); shift ;;
		*) usage >&2; die "unknown target '$1'" ;;
		esac
	done
	((${#targets[@]})) || { usage >&2; die "no target given"; }
	[[ $JOBS =~ ^[1-9][0-9]*$ ]] || die "--jobs: '$JOBS' is not a positive number"

	mkdir -p "$OUT" || die "cannot create $OUT"
	OUT=$(cd "$OUT" && pwd)
	readonly OUT JOBS
	readonly CACHE=$OUT/cache
	mkdir -p "$CACHE"

	exec 9>"$OUT/.lock"
	if ! flock -n 9; then
		log "waiting for another build.sh using $OUT"
		flock 9 || die "cannot lock $OUT/.lock"
	fi

	local -A done_target=()
	for t in "${targets[@]}"; do
		[[ -n ${done_target[$t]:-} ]] && continue
		case $t in
		debian-kernel) build_debian_kernel ;;
		default)
			[[ -n ${done_target[debian-kernel]:-} ]] || build_debian_kernel
			done_target[debian-kernel]=1
			build_default
			;;
		test-kernel) build_test_kernel ;;
		esac
		done_target[$t]=1
	done
}

main "$@"
exit
