#!/bin/bash
# sekisho-netfilter: the appliance's base netfilter ruleset for sekisho-gatewayd.
#
# usage: see usage_text below (sekisho-netfilter --help)
#
# Run "start" before the daemon.  From then on every packet of FORWARD, INPUT
# and OUTPUT is either
#   - loopback, or ICMPv6 neighbour discovery (types 133-137) on INPUT/OUTPUT,
#   - of a flow whose connmark is ALLOW|current generation       -> accepted in the kernel,
#   - marked by the daemon's verdict (NF_REPEAT + packet mark):
#       0xc0000000|gen  -> 0x40000000|gen saved into the connmark, accepted
#       0xa0000000      -> REJECT (tcp reset, else icmp admin-prohibited)
#       any other mark with 0x80000000 (repeated) -> dropped: never loops
#   - a kernel REJECT answer leaving the box (OUTPUT, ctstate RELATED, connmark 0) -> accepted,
#   - conntrack INVALID -> dropped,
#   - everything else   -> NFQUEUE to the daemon, WITHOUT bypass: while no
#     daemon listens the kernel drops it (fail closed).  The packet mark
#     tells the daemon what the kernel knows: the connmark (0x40000000|gen of
#     an earlier decision), 0x08000000 for ct state established/related
#     (a flow to decide again after a reload), 0x04000000 for ct direction
#     reply.  (Kernels without CONFIG_NETFILTER_NETLINK_GLUE_CT cannot put
#     conntrack data in queued packets; the mark works everywhere.)
#
# Two backends, detected at start: the xt NFQUEUE target through iptables-nft
# (user chains SEKISHO-* jumped from the filter table's base chains), or
# nftables' native queue (table inet sekisho) where the kernel has it.
# "start" may be repeated: it refills our chains in one transaction per
# family and never deletes a base chain; "generation" replaces one rule.
#
# Fencing: generation 0 is never given to a flow (the daemon counts 1, 2,
# ... and skips 0), so "fence" = "generation 0" makes every established
# flow go to the queue again, where nothing listens while the daemon is
# down: fail closed for established flows too.  The daemon's helper fences
# when the daemon is gone (also after kill -9), the unit's ExecStopPost
# again; the next daemon moves to a new generation and decides every flow
# it sees again.  A fresh "start" is fenced (generation 0) until the daemon
# sets its generation; a repeated "start" keeps the current one.
#
# The egress gate (the second, independent gate; docs/gateway.md "Two
# gates"): every accept of ours that lets a packet leave the box (an allowed
# verdict, an established flow of the current generation, neighbour
# discovery and our REJECT answers on OUTPUT) also sets the packet mark bit
# PASSED (0x10000000, never saved into the connmark).  A classic-BPF
# direct-action filter on the egress hook (tc clsact) of every interface but
# lo drops each IPv4/IPv6 packet without that bit.  tc is not netfilter:
# "nft flush ruleset", a deleted table, "iptables -F" leave it in place, and
# since nothing marks any more, nothing leaves.  ARP and other non-IP frames
# pass.  "repair" puts everything back (start + generation + the backstop
# snapshot); the daemon's helper runs it when it sees a change
# (gateway/gw_nfhelp.c).
#
# Environment: SEKISHO_RULEC (path of sekisho-rulec for --policy/backstop);
# SEKISHO_GATEWAYD (the sekisho-gatewayd whose --version is ours: one
# version for the whole package, no copy here);
# SEKISHO_NF_GATE=off: no egress gate (tests use it to show what the gate
# holds; never on an appliance).
set -euo pipefail

# Messages in the operator's language, as sekishoctl and the HA scripts do
# (docs/i18n.md): the "sekisho" catalogue through gettext.sh (Debian's
# gettext-base), English without it.  What sekisho-gatewayd's helper runs
# (check, snapshot, repair with the start inside it, generation, fence)
# answers in English: its reasons go into the audit records, which stay
# English.  status is not translated either: sekisho-ha-check and the
# operators' scripts read it.
case ${1:-} in check | snapshot | repair | generation | fence) export LC_ALL=C ;; esac
export TEXTDOMAIN=sekisho
[ -z "${SEKISHO_LOCALEDIR:-}" ] || export TEXTDOMAINDIR="$SEKISHO_LOCALEDIR"
# shellcheck disable=SC1091
. gettext.sh 2>/dev/null || { gettext() { printf '%s' "$1"; }; eval_gettext() { eval "printf '%s' \"$1\""; }; }

MARK_ALLOW=0x40000000          # connmark of an allowed flow (| generation)
V_ALLOW=0xc0000000             # verdict marks: repeated | allow / reject
V_REJECT=0xa0000000
REPEATED=0x80000000
F_OLD=0x08000000
F_REPLY=0x04000000
MARK_KIND=0xff000000
PASSED=0x10000000              # packet mark: passed our decision (egress gate)
GATE=${SEKISHO_NF_GATE:-on}
# The gate, classic BPF for tc's bpf classifier in direct-action mode (the
# return value is the verdict: 0 TC_ACT_OK, 2 TC_ACT_SHOT):
#   ld #proto; jeq #0x0800 -> 4; jeq #0x86dd -> 4; ret #0 (not IP)
#   4: ld #mark; jset #0x10000000 -> 6 else 7; 6: ret #0; 7: ret #2
# (32 = ld word abs, k = SKF_AD_OFF + SKF_AD_PROTOCOL / SKF_AD_MARK)
GATE_BPF='8,32 0 0 4294963200,21 2 0 2048,21 1 0 34525,6 0 0 0,32 0 0 4294963220,69 0 1 268435456,6 0 0 0,6 0 0 2'

die() { echo "sekisho-netfilter: $*" >&2; exit 1; }
# a usage error (unknown option): exit 2, as every sekisho program; the
# callers (the units, the daemon's helper, sekishoctl) only tell 0 from
# non-zero
usage_error() { echo "sekisho-netfilter: $*" >&2; exit 2; }

# The usage (translated as one block): --help prints it on stdout, a usage
# error on stderr.
usage_text() {
	# TRANSLATORS: sekisho-netfilter's usage; command and option names and metavariables
	# (N, Q, FILE, G, POLICY) stay as they are written
	gettext "sekisho-netfilter: the appliance's base netfilter ruleset for sekisho-gatewayd.
usage: sekisho-netfilter start [--queues N] [--queue-base Q] [--mode auto|xt|nft] [--policy FILE]
       sekisho-netfilter generation G        # accept established flows of generation G (atomic)
       sekisho-netfilter fence               # accept no established flow (generation 0; daemon gone)
       sekisho-netfilter backstop POLICY     # (re)load the compiler's emit-nft backstop
       sekisho-netfilter status              # mode, current generation, the egress gate
       sekisho-netfilter check [G]           # intact?  exit 0 and the fingerprint on stdout, else 1 and why
       sekisho-netfilter snapshot FILE       # keep the loaded backstop (for repair)
       sekisho-netfilter repair [--queues N] [--queue-base Q] --generation G [--backstop FILE]
       sekisho-netfilter stop                # remove everything (lab teardown only; never on reload)
       sekisho-netfilter --help | --version"
	echo
}

# The version is sekisho-gatewayd's (same package, common/version.h), with
# our name, as sekishoctl does with its audit helper.
version() {
	local gatewayd=${SEKISHO_GATEWAYD:-/usr/sbin/sekisho-gatewayd} v
	v=$("$gatewayd" --version 2>/dev/null) || die "$(eval_gettext 'cannot run $gatewayd --version')"
	printf 'sekisho-netfilter %s\n' "${v#* }"
}

ipt() { if command -v iptables-nft >/dev/null; then iptables-nft -w "$@"; else iptables -w "$@"; fi; }
ip6t() { if command -v ip6tables-nft >/dev/null; then ip6tables-nft -w "$@"; else ip6tables -w "$@"; fi; }
ipt_restore() { if command -v iptables-nft-restore >/dev/null; then iptables-nft-restore -w --noflush; else iptables-restore -w --noflush; fi; }
ip6t_restore() { if command -v ip6tables-nft-restore >/dev/null; then ip6tables-nft-restore -w --noflush; else ip6tables-restore -w --noflush; fi; }

genmark() { printf '0x%08x' $(( MARK_ALLOW | ($1 & 0xffffff) )); }

# Which backend is installed now: nft, xt or none.
installed_mode() {
	if nft list table inet sekisho >/dev/null 2>&1; then echo nft
	elif ipt -S SEKISHO-GEN >/dev/null 2>&1; then echo xt
	else echo none; fi
}

# Does the kernel have nftables' native queue expression?  (A check-only
# transaction: nothing is installed.)
native_queue_available() {
	nft -c -f - >/dev/null 2>&1 <<-'NFT'
	add table inet sekisho_probe
	add chain inet sekisho_probe c { type filter hook forward priority 0; }
	add rule inet sekisho_probe c queue num 0
	NFT
}

queue_xt() {
	local base=$1 n=$2
	if [ "$n" -gt 1 ]; then echo "-j NFQUEUE --queue-balance $base:$((base + n - 1))"
	else echo "-j NFQUEUE --queue-num $base"; fi
}

xt_rules() {   # family(4|6) base n gen
	local fam=$1 base=$2 n=$3 gen=$4 unreach nd=""
	if [ "$fam" = 4 ]; then unreach=icmp-admin-prohibited
	else unreach=adm-prohibited
		nd=$(for t in 133 134 135 136 137; do echo "-A SEKISHO-ND -p ipv6-icmp --icmpv6-type $t -j SEKISHO-PASS"; done)
	fi
	cat <<-EOF2
	*filter
	:SEKISHO-GEN - [0:0]
	:SEKISHO-PASS - [0:0]
	:SEKISHO-ALLOW - [0:0]
	:SEKISHO-MAIN - [0:0]
	:SEKISHO-ND - [0:0]
	:SEKISHO-FWD - [0:0]
	:SEKISHO-IN - [0:0]
	:SEKISHO-OUT - [0:0]
	-F SEKISHO-GEN
	-F SEKISHO-PASS
	-F SEKISHO-ALLOW
	-F SEKISHO-MAIN
	-F SEKISHO-ND
	-F SEKISHO-FWD
	-F SEKISHO-IN
	-F SEKISHO-OUT
	-A SEKISHO-PASS -j MARK --or-mark $PASSED
	-A SEKISHO-PASS -j ACCEPT
	-A SEKISHO-GEN -m connmark --mark $(genmark "$gen") -j SEKISHO-PASS
	-A SEKISHO-ALLOW -j CONNMARK --save-mark --nfmask 0x40ffffff --ctmask 0xffffffff
	-A SEKISHO-ALLOW -j SEKISHO-PASS
	-A SEKISHO-MAIN -j SEKISHO-GEN
	-A SEKISHO-MAIN -m mark --mark $V_ALLOW/$MARK_KIND -j SEKISHO-ALLOW
	-A SEKISHO-MAIN -p tcp -m mark --mark $V_REJECT/$MARK_KIND -j REJECT --reject-with tcp-reset
	-A SEKISHO-MAIN -m mark --mark $V_REJECT/$MARK_KIND -j REJECT --reject-with $unreach
	-A SEKISHO-MAIN -m mark --mark $REPEATED/$REPEATED -j DROP
	-A SEKISHO-MAIN -m conntrack --ctstate INVALID -j DROP
	-A SEKISHO-MAIN -j CONNMARK --restore-mark
	-A SEKISHO-MAIN -m conntrack --ctstate ESTABLISHED,RELATED -j MARK --or-mark $F_OLD
	-A SEKISHO-MAIN -m conntrack --ctdir REPLY -j MARK --or-mark $F_REPLY
	-A SEKISHO-MAIN $(queue_xt "$base" "$n")
	$nd
	-A SEKISHO-FWD -j SEKISHO-MAIN
	-A SEKISHO-IN -i lo -j ACCEPT
	-A SEKISHO-IN -j SEKISHO-ND
	-A SEKISHO-IN -j SEKISHO-MAIN
	-A SEKISHO-OUT -o lo -j ACCEPT
	-A SEKISHO-OUT -j SEKISHO-ND
	-A SEKISHO-OUT -m conntrack --ctstate RELATED -m connmark --mark 0 -j SEKISHO-PASS
	-A SEKISHO-OUT -j SEKISHO-MAIN
	COMMIT
	EOF2
}

start_xt() {
	local base=$1 n=$2 gen=$3
	xt_rules 4 "$base" "$n" "$gen" | ipt_restore || die "$(gettext 'iptables-nft-restore failed')"
	xt_rules 6 "$base" "$n" "$gen" | ip6t_restore || die "$(gettext 'ip6tables-nft-restore failed')"
	local c t base ours f
	# our jump must be the first rule of each base chain (a rule inserted
	# before it would decide first): moved back to the top when it is not
	for c in FORWARD:SEKISHO-FWD INPUT:SEKISHO-IN OUTPUT:SEKISHO-OUT; do
		base=${c%%:*} ours=${c##*:}
		for f in ipt ip6t; do
			if [ "$($f -S "$base" | sed -n 2p)" != "-A $base -j $ours" ]; then
				while $f -D "$base" -j "$ours" 2>/dev/null; do :; done
				$f -I "$base" 1 -j "$ours"
			fi
		done
	done
	# and a forward chain emptied by hand drops (nft: policy drop)
	ipt -P FORWARD DROP
	ip6t -P FORWARD DROP
}

nft_rules() {  # base n gen
	local base=$1 n=$2 gen=$3 q
	if [ "$n" -gt 1 ]; then q="$base-$((base + n - 1))"; else q=$base; fi
	cat <<-EOF2
	add table inet sekisho
	add chain inet sekisho gen
	add chain inet sekisho main
	add chain inet sekisho forward { type filter hook forward priority filter; policy drop; }
	add chain inet sekisho input { type filter hook input priority filter; policy drop; }
	add chain inet sekisho output { type filter hook output priority filter; policy drop; }
	flush chain inet sekisho gen
	flush chain inet sekisho main
	flush chain inet sekisho forward
	flush chain inet sekisho input
	flush chain inet sekisho output
	add rule inet sekisho gen ct mark $(genmark "$gen") meta mark set meta mark or $PASSED accept
	add rule inet sekisho main jump gen
	add rule inet sekisho main meta mark and $MARK_KIND == $V_ALLOW ct mark set meta mark and 0x40ffffff meta mark set meta mark or $PASSED accept
	add rule inet sekisho main meta mark and $MARK_KIND == $V_REJECT meta l4proto tcp reject with tcp reset
	add rule inet sekisho main meta mark and $MARK_KIND == $V_REJECT reject with icmpx admin-prohibited
	add rule inet sekisho main meta mark and $REPEATED == $REPEATED drop
	add rule inet sekisho main ct state invalid drop
	add rule inet sekisho main meta mark set ct mark
	add rule inet sekisho main ct state established,related meta mark set meta mark or $F_OLD
	add rule inet sekisho main ct direction reply meta mark set meta mark or $F_REPLY
	add rule inet sekisho main queue num $q
	add rule inet sekisho forward jump main
	add rule inet sekisho input iif lo accept
	add rule inet sekisho input icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } accept
	add rule inet sekisho input jump main
	add rule inet sekisho output oif lo accept
	add rule inet sekisho output icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } meta mark set meta mark or $PASSED accept
	add rule inet sekisho output ct state related ct mark 0 meta mark set meta mark or $PASSED accept
	add rule inet sekisho output jump main
	EOF2
}

backstop() {
	local policy=$1 rulec=${SEKISHO_RULEC:-sekisho-rulec} tmp
	tmp=$(mktemp)
	"$rulec" --no-color emit-nft "$policy" >"$tmp" || { rm -f "$tmp"; die "$(eval_gettext 'emit-nft $policy failed')"; }
	nft -f "$tmp" || { rm -f "$tmp"; die "$(gettext 'loading the backstop failed')"; }
	rm -f "$tmp"
}

current_generation() {
	local m
	case $(installed_mode) in
	xt) m=$(ipt -S SEKISHO-GEN | sed -n 's/.*--mark \(0x[0-9a-f]*\).*/\1/p' | head -1) ;;
	nft) m=$(nft list chain inet sekisho gen | sed -n 's/.*ct mark \(0x[0-9a-f]*\).*/\1/p' | head -1) ;;
	*) echo none; return ;;
	esac
	echo $(( ${m:-0} & 0xffffff ))
}

# Accept established flows of generation $1 only: one rule replaced per family.
set_generation() {
	local g=$1
	case $(installed_mode) in
	xt)
		ipt -R SEKISHO-GEN 1 -m connmark --mark "$(genmark "$g")" -j SEKISHO-PASS
		ip6t -R SEKISHO-GEN 1 -m connmark --mark "$(genmark "$g")" -j SEKISHO-PASS ;;
	nft)
		printf 'flush chain inet sekisho gen\nadd rule inet sekisho gen ct mark %s meta mark set meta mark or %s accept\n' \
			"$(genmark "$g")" "$PASSED" | nft -f - ;;
	*) die "no base ruleset installed (run start first)" ;;
	esac
}

# Every interface of this namespace but lo (the gate's places).
gate_ifaces() {
	ip -o link show | sed -n 's/^[0-9]*: \([^:@ ]*\)[:@].*/\1/p' | grep -vx lo || true
}

gate_present() {  # dev
	tc filter show dev "$1" egress 2>/dev/null | grep -q "direct-action.*bytecode '$GATE_BPF'"
}

# The egress gate on every interface but lo (idempotent: an interface that
# has it keeps it; a missing or different one is replaced).
gate_install() {
	[ "$GATE" = off ] && return 0
	local dev
	for dev in $(gate_ifaces); do
		gate_present "$dev" && continue
		tc qdisc add dev "$dev" clsact 2>/dev/null || true
		tc filter replace dev "$dev" egress pref 1 handle 1 protocol all bpf da bytecode "$GATE_BPF" ||
			die "$(eval_gettext 'egress gate on $dev failed')"
	done
}

gate_remove() {
	local d
	for d in $(gate_ifaces); do tc qdisc del dev "$d" clsact 2>/dev/null || true; done
}

# Is everything in place for generation $1 (empty: any)?  Prints what a
# change would alter (our chains, every table's name, the gate) so that the
# caller can compare it with the last one; exit 1 and the reason when
# something is missing.
check() {
	local g=${1:-} mode c d out
	mode=$(installed_mode)
	[ "$mode" != none ] || { echo "no sekisho ruleset" >&2; return 1; }
	if [ -n "$g" ] && [ "$(current_generation)" != "$g" ]; then
		echo "generation $(current_generation), expected $g" >&2; return 1
	fi
	echo "mode $mode"
	case $mode in
	xt)
		for f in ipt ip6t; do
			out=$($f -S) || { echo "$f -S failed" >&2; return 1; }
			for c in FORWARD:SEKISHO-FWD INPUT:SEKISHO-IN OUTPUT:SEKISHO-OUT; do
				[ "$(printf '%s\n' "$out" | grep -m1 "^-A ${c%%:*} ")" = "-A ${c%%:*} -j ${c##*:}" ] ||
					{ echo "$f: ${c%%:*} does not start with our jump" >&2; return 1; }
			done
			printf '%s\n' "$out" | grep -qx -- '-P FORWARD DROP' || { echo "$f: FORWARD policy is not DROP" >&2; return 1; }
			printf '%s\n' "$out" | grep -q -- '^-A SEKISHO-MAIN .*NFQUEUE' || { echo "$f: no queue rule" >&2; return 1; }
			printf '%s\n' "$out"
		done ;;
	nft)
		out=$(nft list table inet sekisho) || return 1
		for c in forward input output; do
			printf '%s\n' "$out" | grep -q "type filter hook $c priority filter; policy drop;" ||
				{ echo "nft: chain $c missing or not policy drop" >&2; return 1; }
		done
		printf '%s\n' "$out" ;;
	esac
	nft list tables
	if [ "$GATE" != off ]; then
		for d in $(gate_ifaces); do
			gate_present "$d" || { echo "no egress gate on $d" >&2; return 1; }
			echo "gate $d"
		done
	fi
}

cmd=${1:-}; shift || true
case $cmd in
start)
	queues=2 base=0 mode=${SEKISHO_NF_MODE:-auto} policy=
	while [ $# -gt 0 ]; do
		case $1 in
		--queues) queues=$2; shift 2 ;;
		--queue-base) base=$2; shift 2 ;;
		--mode) mode=$2; shift 2 ;;
		--policy) policy=$2; shift 2 ;;
		*) opt=$1; usage_error "$(eval_gettext 'unknown option $opt')" ;;
		esac
	done
	modprobe nf_conntrack_netlink 2>/dev/null || true   # NFQA_CT in queued packets
	[ "$mode" = auto ] && { native_queue_available && mode=nft || mode=xt; }
	have=$(installed_mode)
	[ "$have" = none ] || [ "$have" = "$mode" ] || die "$(eval_gettext 'the $have backend is installed; stop it first')"
	gen=0
	[ "$have" = none ] || gen=$(current_generation)
	case $mode in
	xt) start_xt "$base" "$queues" "$gen" ;;
	nft) nft_rules "$base" "$queues" "$gen" | nft -f - || die "$(gettext 'nft failed')" ;;
	*) die "$(gettext 'mode must be auto, xt or nft')" ;;
	esac
	[ -z "$policy" ] || backstop "$policy"
	gate_install
	last=$((base + queues - 1))
	echo "sekisho-netfilter: $(eval_gettext '$mode backend, queues $base..$last, generation $gen, egress gate $GATE')"
	;;
check) check "${1:-}" ;;
snapshot)
	f=${1:?file}
	nft list table inet sekisho_backstop >"$f.tmp" 2>/dev/null || : >"$f.tmp"
	mv -f "$f.tmp" "$f" ;;
repair)
	# after a change by someone else: the base ruleset (start keeps what is
	# still there), the daemon's generation, the backstop as it was, the gate
	queues=2 base=0 g= bs=
	while [ $# -gt 0 ]; do
		case $1 in
		--queues) queues=$2; shift 2 ;;
		--queue-base) base=$2; shift 2 ;;
		--generation) g=$2; shift 2 ;;
		--backstop) bs=$2; shift 2 ;;
		*) usage_error "unknown option $1" ;;
		esac
	done
	[[ $g =~ ^[0-9]+$ ]] || die "repair needs --generation G"
	"$0" start --queues "$queues" --queue-base "$base" >/dev/null
	set_generation "$g"
	if [ -n "$bs" ] && [ -s "$bs" ] && [ "$(nft list table inet sekisho_backstop 2>/dev/null)" != "$(cat "$bs")" ]; then
		# one transaction: the table as it was, whatever is there now
		{ echo "table inet sekisho_backstop"; echo "delete table inet sekisho_backstop"; cat "$bs"; } |
			nft -f - || die "restoring the backstop failed"
	fi
	echo "sekisho-netfilter: repaired, generation $g" ;;
generation)
	g=${1:?generation}
	[[ $g =~ ^[0-9]+$ ]] || die "generation must be a number"
	set_generation "$g" ;;
fence) set_generation 0 ;;
backstop) backstop "${1:?policy file}" ;;
status)
	g=$(current_generation)
	gated=0 open=
	for d in $(gate_ifaces); do if gate_present "$d"; then gated=$((gated + 1)); else open="$open $d"; fi; done
	echo "mode $(installed_mode) generation $g$([ "$g" = 0 ] && echo ' (fenced: no established flow crosses)');" \
		"egress gate on $gated interface(s)${open:+, NOT on$open}" ;;
stop)
	case $(installed_mode) in
	xt)
		for c in FORWARD:SEKISHO-FWD INPUT:SEKISHO-IN OUTPUT:SEKISHO-OUT; do
			while ipt -D "${c%%:*}" -j "${c##*:}" 2>/dev/null; do :; done
			while ip6t -D "${c%%:*}" -j "${c##*:}" 2>/dev/null; do :; done
		done
		for c in SEKISHO-FWD SEKISHO-IN SEKISHO-OUT SEKISHO-MAIN SEKISHO-ND SEKISHO-ALLOW SEKISHO-PASS SEKISHO-GEN; do
			ipt -F "$c" 2>/dev/null || true; ip6t -F "$c" 2>/dev/null || true
		done
		for c in SEKISHO-FWD SEKISHO-IN SEKISHO-OUT SEKISHO-MAIN SEKISHO-ND SEKISHO-ALLOW SEKISHO-PASS SEKISHO-GEN; do
			ipt -X "$c" 2>/dev/null || true; ip6t -X "$c" 2>/dev/null || true
		done
		ipt -P FORWARD ACCEPT; ip6t -P FORWARD ACCEPT ;;
	nft) nft delete table inet sekisho ;;
	esac
	nft delete table inet sekisho_backstop 2>/dev/null || true
	gate_remove
	;;
-h | --help) usage_text ;;
--version) version ;;
*) usage_text >&2; exit 2 ;;
esac
