#!/bin/sh
# sekisho-ha-check: keepalived's track script (vrrp_script) of a sekisho
# pair (docs/ha.md).  Exit 0 only while this box's datapath can forward:
#
#   - the netfilter bootstrap is installed (sekisho-netfilter status shows a
#     backend), so nothing would cross undecided;
#   - sekisho-gatewayd answers on its control socket, so new flows get
#     decided (a box whose daemon is dead drops every new flow: fail closed);
#   - IPv4 forwarding is on.
#
# When it fails ("fall" times in a row) keepalived puts the box's sync group
# into FAULT: the virtual addresses go to the peer.
#
# usage: see usage() below (sekisho-ha-check --help)
#
# Exit 0 ready, 1 not ready (why on stderr; keepalived counts any non-zero
# as a failed check), 2 usage error.  Environment: SEKISHO_GATEWAYD (the
# default of --gatewayd; its --version is ours, no copy here).
set -u

# Messages in the operator's language, as sekishoctl does (docs/i18n.md):
# the "sekisho" catalogue through gettext.sh (Debian's gettext-base); the
# text is single-quoted so that it is looked up before $variables expand.
# Without gettext.sh the English is printed.
export TEXTDOMAIN=sekisho
[ -z "${SEKISHO_LOCALEDIR:-}" ] || export TEXTDOMAINDIR="$SEKISHO_LOCALEDIR"
# shellcheck disable=SC1091
. gettext.sh 2>/dev/null || { gettext() { printf '%s' "$1"; }; eval_gettext() { eval "printf '%s' \"$1\""; }; }

# The usage, translated as one block.
usage() {
	# TRANSLATORS: sekisho-ha-check's usage; command and option names and metavariables
	# (PATH) stay as they are written
	gettext "usage: sekisho-ha-check [--gatewayd PATH] [--socket PATH] [--netfilter PATH]
       sekisho-ha-check --help | --version"
	echo
}

# The version is sekisho-gatewayd's (common/version.h) with our name, as
# sekishoctl does with its audit helper: the appliance package that holds
# this script depends on the gateway package of the same version.
version() {
	v=$("$gatewayd" --version 2>/dev/null) ||
		{ echo "sekisho-ha-check: $(eval_gettext 'cannot run $gatewayd --version')" >&2; exit 1; }
	printf 'sekisho-ha-check %s\n' "${v#* }"
}

gatewayd=${SEKISHO_GATEWAYD:-/usr/sbin/sekisho-gatewayd}
socket=/run/sekisho/gateway/gatewayd.sock
netfilter=/usr/lib/sekisho/sekisho-netfilter
while [ $# -gt 0 ]; do
	case $1 in
	--gatewayd) gatewayd=$2; shift 2 ;;
	--socket) socket=$2; shift 2 ;;
	--netfilter) netfilter=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	--version) version; exit 0 ;;
	*) opt=$1; echo "sekisho-ha-check: $(eval_gettext 'unknown option $opt')" >&2; exit 2 ;;
	esac
done

case $("$netfilter" status 2>/dev/null) in
"mode xt"* | "mode nft"*) ;;
*) echo "sekisho-ha-check: $(gettext 'bootstrap not installed')" >&2; exit 1 ;;
esac
[ "$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null)" = 1 ] ||
	{ echo "sekisho-ha-check: $(gettext 'forwarding is off')" >&2; exit 1; }
# keepalived's script timeout bounds a daemon that accepts but never answers
"$gatewayd" ctl "$socket" status >/dev/null 2>&1 ||
	{ echo "sekisho-ha-check: $(eval_gettext 'sekisho-gatewayd does not answer on $socket')" >&2; exit 1; }
exit 0
