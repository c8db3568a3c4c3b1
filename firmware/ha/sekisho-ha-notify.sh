#!/bin/sh
# sekisho-ha-notify: keepalived's notify script for an active/standby pair of
# sekisho appliances (docs/ha.md).  It moves the conntrack state that
# conntrackd synchronised from the peer into this box's kernel, following the
# primary-backup steps of the conntrackd documentation:
#
# usage: see usage() below (sekisho-ha-notify --help)
#
#   master  commit the external cache (the peer's flows, with their connmark)
#           into the kernel, flush both caches, resync the internal cache from
#           the kernel and send a bulk update to the peer;
#   backup  shorten the kernel timers of flows this box no longer forwards
#           (they expire unless traffic comes back) and ask the peer for a
#           full resync;
#   fault   shorten the kernel timers (the peer takes the traffic).
#
# The connmark of a committed flow is the peer's "ALLOW|generation": this
# box's sekisho-gatewayd decides such a flow again on its first packet (same
# policy, same verdict) and re-marks it with its own generation.
#
# conntrackd itself is started and restarted by its service (systemd), never
# by this script: a missing daemon is reported and the step fails.
# Each transition is appended (monotonic seconds, state, result) to
# STATE_FILE (default /run/sekisho/ha.state) for operators and tests.
#
# Environment: CONNTRACKD (the conntrackd binary, default /usr/sbin/conntrackd);
# SEKISHO_GATEWAYD (the sekisho-gatewayd whose --version is ours).
# Exit 0 the step succeeded, 1 it failed, 2 usage error.
set -u

# Messages in the operator's language: as in sekisho-ha-check.
export TEXTDOMAIN=sekisho
[ -z "${SEKISHO_LOCALEDIR:-}" ] || export TEXTDOMAINDIR="$SEKISHO_LOCALEDIR"
# shellcheck disable=SC1091
. gettext.sh 2>/dev/null || { gettext() { printf '%s' "$1"; }; eval_gettext() { eval "printf '%s' \"$1\""; }; }

# The usage, translated as one block.
usage() {
	# TRANSLATORS: sekisho-ha-notify's usage; command and option names and metavariables
	# (CONNTRACKD_CONF, STATE_FILE) stay as they are written
	gettext "usage: sekisho-ha-notify [-C CONNTRACKD_CONF] [-S STATE_FILE] master|backup|fault
       sekisho-ha-notify --help | --version"
	echo
}

# --help and --version (long options: before getopts, which knows short
# ones only).  The version is sekisho-gatewayd's with our name, as in
# sekisho-ha-check.
case ${1:-} in
-h | --help) usage; exit 0 ;;
--version)
	gatewayd=${SEKISHO_GATEWAYD:-/usr/sbin/sekisho-gatewayd}
	v=$("$gatewayd" --version 2>/dev/null) ||
		{ echo "sekisho-ha-notify: $(eval_gettext 'cannot run $gatewayd --version')" >&2; exit 1; }
	printf 'sekisho-ha-notify %s\n' "${v#* }"
	exit 0 ;;
esac

conf=/etc/conntrackd/conntrackd.conf
statefile=/run/sekisho/ha.state
while getopts C:S: opt; do
	case $opt in
	C) conf=$OPTARG ;;
	S) statefile=$OPTARG ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
state=${1:-}
ctd=${CONNTRACKD:-/usr/sbin/conntrackd}
failed=0

# log PRIORITY TEXT: syslog priority (err, warning, notice, info) kept in
# the journal (logger -p), so that journalctl -p warning shows failures.
log() {
	prio=$1
	shift
	echo "sekisho-ha-notify: $*" >&2
	logger -t sekisho-ha -p "daemon.$prio" -- "$*" 2>/dev/null || true
}

# One conntrackd client command; a failure is logged and remembered, the
# remaining steps still run (a commit that failed should not keep the peer
# from getting our bulk update).
step() {
	if ! "$ctd" -C "$conf" "$@" >/dev/null 2>&1; then
		args=$*
		log err "$(eval_gettext 'conntrackd $args failed ($state)')"
		failed=1
	fi
}

running() {
	"$ctd" -C "$conf" -s >/dev/null 2>&1
}

case $state in
master)
	if running; then
		step -c        # commit the external cache into the kernel table
		step -f        # flush the internal and external caches
		step -R        # resync the internal cache with the kernel table
		step -B        # bulk update to the peer (now the backup)
	else
		log err "$(gettext 'conntrackd is not running: flows of the peer are not committed')"
		failed=1
	fi
	;;
backup)
	if running; then
		step -t        # shorten kernel timers: flows we no longer forward expire
		step -n        # request a resync from the master
	else
		log warning "$(gettext 'conntrackd is not running: this standby gets no state')"
		failed=1
	fi
	;;
fault)
	running && step -t
	;;
*)
	usage >&2
	exit 2
	;;
esac

# /proc/uptime is CLOCK_BOOTTIME; tests and sekishoctl compare it with the
# same clock.
now=$(cut -d' ' -f1 /proc/uptime)
mkdir -p "$(dirname "$statefile")" 2>/dev/null
if [ "$failed" = 0 ]; then r=ok; else r=failed; fi
echo "$now $state $r" >>"$statefile" 2>/dev/null || true
if [ "$failed" = 0 ]; then log notice "$state: $r"; else log err "$state: $r"; fi
exit "$failed"
