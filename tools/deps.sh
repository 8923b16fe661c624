#!/bin/bash
# tools/deps.sh - install what kmem needs to build and test, if missing.
#
# Idempotent: installs only the Debian packages that are absent, and runs
# `apt-get update` only when something must be installed.  Needs root
# (the README's commands run as root).  Usage: tools/deps.sh [extra-pkg...]
#
# Everything the test command needs is here, so that no test installs
# anything itself.  The sanitizer runtimes (libasan, libubsan, libtsan)
# come with gcc.  The kernel's own test suites (tests/kernel) need the
# kernel sources of Linux 6.1 (linux-source-6.1, Debian 12's own) and
# 6.12 (linux-source-6.12), with xz-utils and binutils.  Debian 12 ships
# 6.12 in bookworm-backports (and, since the release carried it as its
# second kernel, in bookworm-security).  On bookworm this script
# therefore adds, once, an apt source for bookworm-backports signed by the
# distribution's own keyring, and an apt preferences file that lets
# linux-source-6.12 alone come from it:
#
#   /etc/apt/sources.list.d/kmem-bookworm-backports.sources
#   /etc/apt/preferences.d/kmem-bookworm-backports
#
# Every other backports package is pinned to -1 (never installed, never
# upgraded from there).  Both files are rewritten only if their content
# differs.  Other releases (trixie and later carry linux-source-6.12 in
# their main suite) get no extra source.  Every apt call waits for the
# dpkg lock (other engineers install packages too).
# scdoc and groff make and check the man pages; dpkg-dev, file, binutils,
# lintian and man-db build and check the Debian packages (tools/package.sh,
# tests/package).
set -euo pipefail

pkgs=(gcc make cmake pkg-config check liburcu-dev libncurses-dev python3
      libjansson-dev libdw-dev nodejs
      procps util-linux time
      linux-source-6.1 linux-source-6.12 xz-utils binutils
      scdoc groff-base gzip dpkg-dev file lintian man-db "$@")

APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
BPO_SOURCES=/etc/apt/sources.list.d/kmem-bookworm-backports.sources
BPO_PREFS=/etc/apt/preferences.d/kmem-bookworm-backports
BPO_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
BPO_PKG=linux-source-6.12

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# speedscope (npm, the version pinned in tests/profile/speedscope's
# package-lock.json) reads "kmeminfo profile --folded" in tests/profile.
# Installed beside the test, in the source tree (ignored by git).
node_tools() {
	local dir
	dir="$(cd "$(dirname "$0")/.." && pwd)/tests/profile/speedscope"
	[ -f "$dir/node_modules/speedscope/package.json" ] && return 0
	# Debian's nodejs leaves npm to its own package; NodeSource's has it.
	command -v npm > /dev/null ||
		apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends npm > /dev/null
	echo "deps.sh: installing speedscope (npm) in $dir"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error > /dev/null)
}

missing=()
for p in "${pkgs[@]}"; do
	installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	node_tools
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages (${missing[*]}); run as root to install them" >&2
	exit 1
fi

# write_if_changed FILE - stdin into FILE unless it already holds exactly
# that; never leaves a half-written file for apt to read.
write_if_changed() {
	local file=$1 tmp

	tmp=$(mktemp "$file.XXXXXX")
	cat >"$tmp"
	if cmp -s "$tmp" "$file"; then
		rm -f "$tmp"
	else
		chmod 644 "$tmp"
		mv -f "$tmp" "$file"
		echo "deps.sh: wrote $file"
	fi
}

# The mirror this machine already uses for bookworm's main suite (so that
# a local or snapshot mirror serves backports too), else deb.debian.org.
debian_mirror() {
	local uri

	uri=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' \
		2>/dev/null | awk '$2 == "bookworm" && $3 == "deb" { print $1; exit }')
	echo "${uri:-http://deb.debian.org/debian/}"
}

enable_backports() {
	[ -f "$BPO_KEYRING" ] || {
		echo "deps.sh: $BPO_KEYRING missing (package debian-archive-keyring)" >&2
		exit 1
	}
	write_if_changed "$BPO_SOURCES" <<EOF
# Written by kmem's tools/deps.sh: bookworm-backports, for $BPO_PKG only
# (see $BPO_PREFS).
Types: deb
URIs: $(debian_mirror)
Suites: bookworm-backports
Components: main
Signed-By: $BPO_KEYRING
EOF
	write_if_changed "$BPO_PREFS" <<EOF
# Written by kmem's tools/deps.sh: from bookworm-backports take
# $BPO_PKG (the kernel's test suites, tests/kernel) and nothing else.
Package: $BPO_PKG
Pin: release n=bookworm-backports
Pin-Priority: 500

Package: *
Pin: release n=bookworm-backports
Pin-Priority: -1
EOF
}

codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
for p in "${missing[@]}"; do
	if [ "$p" = "$BPO_PKG" ] && [ "$codename" = bookworm ]; then
		enable_backports
	fi
done

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get "${APT_OPTS[@]}" update -qq
apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
node_tools
