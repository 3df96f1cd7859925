# Shared by prepare, run and check; sourced, never executed.
# shellcheck shell=bash disable=SC2034 # the variables are used by the sourcing scripts

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$VM_DIR/../.." && pwd)
CACHE=${VFIOCTL_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vfioctl-vm}

# The kernels the rig knows: alias -> Debian suite whose linux-image-amd64 picks the version.
declare -A KERNEL_SUITE=([6.1]=bookworm [7]=sid [iommufd]=sid)
# Kernels built here from that suite's linux-source (same version as its linux-image) rather
# than downloaded: alias -> config fragment in tests/vm, applied on top of `make tinyconfig`.
# Debian enables iommufd in none of its kernels.
declare -A KERNEL_CONFIG=([iommufd]=iommufd.config)
# What prepare and check do without --kernel; the other aliases are asked for by name.
KERNELS=(6.1 7 iommufd)
KNOWN_KERNELS=(6.1 7 iommufd)

# Guest userland. dpdk is only a 30 kB script package; it pulls python3 (~25 MB), affordable.
ROOTFS_SUITE=bookworm
ROOTFS_PACKAGES=(
	systemd-sysv udev kmod bats jq bash-completion
	libkmod2 libudev1 libpopt0 libpci3 libsmartcols1 pci.ids pciutils
	driverctl iproute2 e2fsprogs util-linux procps dpdk strace
)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# Exit codes of the rig itself: 2 wrong usage, 125 the rig failed (124: guest timed out).
say() { printf 'vm: %s\n' "$*" >&2; }
die() { printf 'vm: error: %s\n' "$*" >&2; exit 125; }
usage_error() { printf 'vm: %s\n' "$*" >&2; exit 2; }

known_kernel() { [[ -n "${KERNEL_SUITE[$1]+x}" ]] || usage_error "unknown kernel '$1' (known: ${KNOWN_KERNELS[*]})"; }

# URIs of the machine's own Debian archive, read from its deb822 sources at run time so that no
# host name is written into the repository. Prints "main-uri security-uri" (the latter may be -).
system_uris() {
	local src=/etc/apt/sources.list.d/debian.sources
	[[ -r "$src" ]] || die "$src not found: cannot tell which Debian archive to use"
	awk '
		function flush() {
			if (uri != "" && types ~ /(^| )deb( |$)/) {
				if (suites ~ /-security/) { if (sec == "") sec = uri }
				else if (main == "") main = uri
			}
			uri = ""; types = ""; suites = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		tolower($1) == "types:"  { types = $0; sub(/^[^:]*:[ \t]*/, "", types) }
		tolower($1) == "uris:"   { uri = $2 }
		tolower($1) == "suites:" { suites = $0 }
		END { flush(); if (main == "") exit 1; print main, (sec == "" ? "-" : sec) }
	' "$src" || die "no Debian archive URI found in $src"
}

# A private apt for one suite: own sources, lists, cache and (empty) status, so the system's
# apt state is neither read for pinning nor modified. Sets the array APT_OPTS.
apt_private_setup() {
	local suite=$1 d="$CACHE/apt/$1" main sec
	read -r main sec < <(system_uris)
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/parts" "$d/prefs.d" "$d/state"
	: >"$d/status.new" && mv "$d/status.new" "$d/status"
	{
		printf 'deb [arch=amd64 signed-by=%s] %s %s main\n' "$KEYRING" "$main" "$suite"
		if [[ "$suite" != sid ]]; then
			printf 'deb [arch=amd64 signed-by=%s] %s %s-updates main\n' "$KEYRING" "$main" "$suite"
			[[ "$sec" == - ]] ||
				printf 'deb [arch=amd64 signed-by=%s] %s %s-security main\n' "$KEYRING" "$sec" "$suite"
		fi
	} >"$d/sources.list"
	APT_OPTS=(
		-o "Dir::Etc::sourcelist=$d/sources.list" -o "Dir::Etc::sourceparts=$d/parts"
		-o "Dir::Etc::preferences=$d/prefs" -o "Dir::Etc::preferencesparts=$d/prefs.d"
		-o "Dir::State=$d/state" -o "Dir::State::Lists=$d/lists"
		-o "Dir::State::status=$d/status" -o "Dir::Cache=$d/cache"
		-o "APT::Architecture=amd64" -o "APT::Architectures::=amd64" -o "Acquire::Languages=none"
	)
	# As root, apt would hand downloads to _apt, which cannot enter a private cache under ~.
	[[ "$EUID" -ne 0 ]] || APT_OPTS+=(-o "APT::Sandbox::User=root")
}

# Short content hash of stdin, for cache keys.
key_of() { sha256sum | cut -c1-12; }

# Hash of the files under tests/vm that end up inside a cached artefact.
files_key() { (cd "$VM_DIR" && find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | key_of; }

# Two locks in the cache. build.lock: one prepare at a time builds or refreshes anything.
# lock: every running guest holds it shared; prepare removes old artefacts only when it can
# take it exclusively at once, so a long test run never makes another prepare wait.
cache_lock() { # file flock-options...
	mkdir -p "$CACHE"
	exec {LOCK_FD}>"$CACHE/$1"
	shift
	flock "$@" "$LOCK_FD"
}
