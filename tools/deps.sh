#!/bin/bash
# tools/deps.sh - install what kmem needs to build and test, if missing.
#
# Idempotent: installs only the Debian packages that are absent, and runs
# `apt-get update` only when something must be installed.  Needs root
# (the README's commands run as root).  Usage: tools/deps.sh [extra-pkg...]
#
# Everything the test command needs is here, so that no test installs
# anything itself: linux-source-6.1 (with xz-utils and binutils) is the
# kernel's radix-tree/IDR/XArray test suite that tests/kernel runs on kmem.
# The sanitizer runtimes (libasan, libubsan, libtsan) come with gcc.
# scdoc and groff make and check the man pages; dpkg-dev, file, binutils,
# lintian and man-db build and check the Debian packages (tools/package.sh,
# tests/package).
set -euo pipefail

pkgs=(gcc make cmake pkg-config check liburcu-dev libncurses-dev python3
      libjansson-dev
      procps util-linux time linux-source-6.1 xz-utils binutils
      scdoc groff-base gzip dpkg-dev file lintian man-db "$@")
missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages (${missing[*]}); run as root to install them" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Other builds may hold the dpkg lock: wait for it rather than fail.
apt-get update -qq -o DPkg::Lock::Timeout=600
apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 \
	"${missing[@]}" > /dev/null
