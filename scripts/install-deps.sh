#!/bin/bash
# Installs everything basalt needs to build, test and build its guest images
# (Debian 12 packages).  Run as root; idempotent.
set -euo pipefail

pkgs=(
	# build
	meson ninja-build pkg-config gcc libc6-dev
	liburing-dev libseccomp-dev libcap-dev libfdt-dev libjansson-dev check
	# guest images (guest-images/build.sh)
	busybox-static cpio gzip xz-utils lz4 kmod
	linux-source-6.1 bc bison flex libelf-dev libssl-dev make
	# tests: nested-KVM harness and side-by-side benchmarks, disk images
	qemu-system-x86 e2fsprogs iproute2 socat
)
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (apt-get)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${pkgs[@]}"
