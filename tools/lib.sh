# tools/lib.sh: shared by tools/test and tools/demo.  Sourced, not run.

SEKISHO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

# Packages from tools/packages.txt that are not installed.
missing_packages() {
	local pkg
	sed -e 's/#.*//' "$SEKISHO_ROOT/tools/packages.txt" | while read -r pkg; do
		[ -n "$pkg" ] || continue
		dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || echo "$pkg"
	done
}

# Install what is missing (needs root; apt-get update once first).
ensure_packages() {
	local missing
	missing=$(missing_packages | tr '\n' ' ')
	[ -z "${missing// }" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		die "missing Debian packages: $missing (run as root, or: apt-get install $missing)"
	fi
	say "installing: $missing"
	export DEBIAN_FRONTEND=noninteractive
	# Postfix is only run as private instances by the tests and the demo:
	# never let its package configure or start the system's MTA.
	if command -v debconf-set-selections >/dev/null; then
		printf '%s\n' "postfix postfix/main_mailer_type select No configuration" \
			"postfix postfix/mailname string sekisho.invalid" | debconf-set-selections
	fi
	apt-get update -qq >/dev/null || die "apt-get update failed"
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null || die "apt-get install failed: $missing"
}

# meson setup or reconfigure a build directory: configure DIR [meson args...]
configure() {
	local dir=$1; shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}
