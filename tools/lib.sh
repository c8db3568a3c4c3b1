# tools/lib.sh: shared by tools/test and tools/demo.  Sourced, not run.

SEKISHO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

# Packages that are not installed, of those named (default: tools/packages.txt).
missing_packages() {
	local pkg
	if [ $# -gt 0 ]; then printf '%s\n' "$@"; else sed -e 's/#.*//' "$SEKISHO_ROOT/tools/packages.txt"; fi |
	while read -r pkg; do
		[ -n "$pkg" ] || continue
		dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || echo "$pkg"
	done
}

# Install what is missing of the packages named, by default those of
# tools/packages.txt (needs root; apt-get update once first); with the
# default list, also the browser harness's npm modules (below).
ensure_packages() {
	local missing
	missing=$(missing_packages "$@" | tr '\n' ' ')
	if [ -z "${missing// }" ]; then
		[ $# -gt 0 ] || ensure_browser_modules
		return 0
	fi
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
	# keepalived and conntrackd (the HA test), node_exporter and snmpd (the
	# metrics test) likewise run only as private
	# instances in test namespaces: their packages must not start or enable
	# the system's daemons (Debian's policy-rc.d protocol: 101 = not allowed).
	local rcd=/usr/sbin/policy-rc.d own_rcd=
	if [ ! -e "$rcd" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$rcd" && chmod 0755 "$rcd" && own_rcd=1
	fi
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
		{ [ -z "$own_rcd" ] || rm -f "$rcd"; die "apt-get install failed: $missing"; }
	[ -z "$own_rcd" ] || rm -f "$rcd"
	local unit
	for unit in keepalived conntrackd prometheus-node-exporter snmpd; do
		case " $missing " in
		*" $unit "*) systemctl disable "$unit.service" >/dev/null 2>&1 || true ;;
		esac
	done
	[ $# -gt 0 ] || ensure_browser_modules
}

# Where the browser harness's npm modules live (test/browser: playwright-core
# driving Debian's chromium): a cache directory named after the lock file's
# hash, so that a changed lock installs anew and an unchanged one never goes
# to the network again.  test/browser/browser.py computes the same path.
browser_modules_dir() {
	local lock=$SEKISHO_ROOT/test/browser/package-lock.json
	printf '%s/sekisho/browser-%s\n' "${XDG_CACHE_HOME:-${HOME:-/root}/.cache}" \
		"$(sha256sum "$lock" | cut -c1-16)"
}

# npm ci of test/browser's lock into browser_modules_dir when it is not
# there yet (offline when it is).  Debian's nodejs 18 and npm, or any
# newer node that brings its own npm; a failure leaves the browser tests
# skipped, it does not stop the other tests.
ensure_browser_modules() {
	local dir
	dir=$(browser_modules_dir)
	[ -f "$dir/node_modules/playwright-core/package.json" ] && return 0
	if ! command -v npm >/dev/null; then
		if [ "$(id -u)" = 0 ] && ! dpkg-query -W -f='${Status}\n' npm 2>/dev/null | grep -q 'ok installed'; then
			apt-get install -y -qq --no-install-recommends npm >/dev/null 2>&1 || true
		fi
		command -v npm >/dev/null || { say "warning: no npm: the browser tests will be skipped"; return 0; }
	fi
	say "installing the browser harness's npm modules into $dir"
	mkdir -p "$dir"
	cp "$SEKISHO_ROOT/test/browser/package.json" "$SEKISHO_ROOT/test/browser/package-lock.json" "$dir/"
	(cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null) ||
		say "warning: npm ci failed in $dir: the browser tests will be skipped"
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

# Generate a locale (e.g. ja_JP.UTF-8) when it is missing and we are root:
# the i18n test runs its LANG=ja_JP.UTF-8 case with it (the golden-ja tests
# need none: they use LANGUAGE=ja under C.UTF-8).  Without root the case is
# skipped, which CI=true counts as a failure.
ensure_locale() {
	local want=$1 norm
	norm=$(printf '%s' "$want" | tr 'A-Z' 'a-z' | sed 's/utf-8/utf8/')
	locale -a 2>/dev/null | tr 'A-Z' 'a-z' | grep -qx "$norm" && return 0
	[ "$(id -u)" = 0 ] || { say "locale $want missing (run as root to generate it)"; return 0; }
	command -v locale-gen >/dev/null || { say "locale-gen missing (package locales)"; return 0; }
	grep -q "^$want UTF-8" /etc/locale.gen 2>/dev/null || echo "$want UTF-8" >>/etc/locale.gen
	locale-gen "$want" >/dev/null 2>&1 || locale-gen >/dev/null 2>&1 || say "locale-gen $want failed"
}
