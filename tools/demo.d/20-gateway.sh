# tools/demo.d/20-gateway.sh — sourced by tools/demo after the compiler parts.
# The datapath live: the three segments in network namespaces (tools/lab),
# sekisho-gatewayd on the table the demo compiled ($work/municipality.table),
# unprivileged, with its pcap ring of refused packets; allowed, rejected and
# denied flows with their audit records; a reload that revokes a flow; kill -9
# proving fail-closed (an established flow stops too: the daemon's helper
# fences the bootstrap) and the flow resuming after the restart; a replay of
# what was refused.  The lab is always torn
# down (trap), also on failure.  Needs root; without it the part is skipped.

gw_demo() {
	local build="${SEKISHO_DEMO_BUILD:-$SEKISHO_ROOT/build/demo}" lab="$SEKISHO_ROOT/tools/lab" prefix="skdemo$$"
	local gwd="$build/gateway/sekisho-gatewayd" replay="$build/gateway/sekisho-replay"
	if [ "$(id -u)" != 0 ]; then
		say "(skipped: the gateway part needs root for network namespaces)"
		return 0
	fi
	[ -x "$gwd" ] || { say "(skipped: $gwd was not built)"; return 0; }
	local dir="/run/sekisho-lab/$prefix" audit="$work/audit/gateway"
	# shellcheck disable=SC2064
	trap "python3 '$lab' down --prefix '$prefix' >/dev/null 2>&1" EXIT INT TERM

	step "8. データパス / the gateway in a lab of network namespaces"
	say "three segments + management on veth pairs, the real netfilter bootstrap, and"
	say "sekisho-gatewayd as user 'nobody' with CAP_NET_ADMIN only, on municipality.table"
	run python3 "$lab" up --prefix "$prefix" --build "$build" --policy "$work/municipality.policy" \
		--user nobody --capture --no-daemon >/dev/null || { say "lab up failed"; return 0; }
	# the daemon on the demo's table and the demo's audit key and chain
	cp "$work/municipality.table" "$dir/policy.table"
	mkdir -p "$audit" "$dir/capture"
	ip netns exec "$prefix-gw" "$gwd" --table "$dir/policy.table" --audit-dir "$audit" \
		--audit-key "$work/audit.key" --run-dir "$dir/run" --queues 2 \
		--netfilter "$SEKISHO_ROOT/firmware/sekisho-netfilter.sh" --host demo --user nobody \
		--capture-dir "$dir/capture" >"$dir/gatewayd.log" 2>&1 &
	local pid=$!
	local i
	for i in $(seq 50); do
		"$gwd" ctl "$dir/run/gatewayd.sock" status >/dev/null 2>&1 && break
		sleep 0.1
	done
	if ! kill -0 "$pid" 2>/dev/null; then
		say "the daemon did not start:"; cat "$dir/gatewayd.log"; return 0
	fi
	say "daemon pid $pid: $(grep -E '^(Uid|CapEff)' /proc/$pid/status | tr -s '\t' ' ' | paste -sd' ')"

	# flows: tcp through python one-liners (a listener on the far side answers)
	gw_listen() {   # host addr port
		ip netns exec "$prefix-$1" python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8); s.settimeout(30)
while True:
    try: c,_=s.accept(); c.sendall(b"hello from the far side\n"); c.close()
    except OSError: break' "$2" "$3" 2>/dev/null &
		disown
	}
	gw_try() {      # label host src dst port
		local out
		out=$(ip netns exec "$prefix-$2" python3 -c 'import socket,sys
s=socket.socket(); s.bind((sys.argv[1],0)); s.settimeout(1.5)
try: s.connect((sys.argv[2], int(sys.argv[3]))); print("通った / connected:", s.recv(100).decode().strip())
except socket.timeout: print("破棄 / no answer (dropped)")
except ConnectionRefusedError: print("拒否 / refused (TCP reset)")' "$3" "$4" "$5")
		printf '  %-52s %s\n' "$1" "$out"
	}
	gw_listen lgwan-wan 198.19.100.10 443
	gw_listen internet 198.18.30.50 3389
	gw_listen internet 198.18.30.60 443
	gw_listen lgwan 198.18.20.25 25
	sleep 0.3
	step "9. 通信の判定 (実トラフィック) / flows decided live"
	gw_try "LGWAN 端末 -> LGWAN-ASP https (allowed)" lgwan 198.18.20.150 198.19.100.10 443
	gw_try "LGWAN 端末 -> 仮想ブラウザ 3389 (allowed)" lgwan 198.18.20.150 198.18.30.50 3389
	gw_try "インターネット -> 庁内メール 25 direct (backstop)" internet 198.18.30.60 198.18.20.25 25
	gw_try "LGWAN 端末 -> LGWAN-ASP ssh (zone default: deny)" lgwan 198.18.20.150 198.19.100.10 22
	gw_try "マイナンバー端末 -> インターネット (backstop)" mynumber 198.18.10.20 198.18.30.60 443
	sleep 1.2
	say ""
	say "their audit records (flow.decision; denied floods are folded per source and second):"
	gw_records() {
		python3 - "$audit" "$@" <<'PY'
import json, os, sys
d, want = sys.argv[1], sys.argv[2:]
for name in sorted(os.listdir(d)):
    if not name.endswith(".jsonl"):
        continue
    for line in open(os.path.join(d, name), "rb"):
        r = json.loads(line)
        if r.get("event") not in want:
            continue
        x = r["data"]
        if r["event"] == "flow.decision":
            if x.get("dport") in (None,) or x.get("from_zone") == "":
                continue
            print(f"  {r['ts'][11:19]} {x['action']:6} {x['from_zone']:>9} -> {x['to_zone']:<9} {x['proto']} "
                  f"{x['src']}:{x.get('sport')} -> {x['dst']}:{x.get('dport')}  rule {x['rule_id']} "
                  f"{x.get('rule_name', '(zone default)')}{'  [recheck]' if x.get('recheck') else ''}")
        else:
            print(f"  {r['ts'][11:19]} {r['event']} " + json.dumps(x, ensure_ascii=False)[:150])
PY
	}
	gw_records flow.decision

	step "10. ポリシー変更で通信を取り消す / a reload that revokes a running flow"
	say "an LGWAN-ASP session is open; the new policy removes the rule 'LGWAN-ASP 利用':"
	ip netns exec "$prefix-lgwan-wan" python3 -c 'import socket
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("198.19.100.10", 80)); s.listen(1); s.settimeout(20)
c,_=s.accept(); c.settimeout(20)
while True:
    d=c.recv(100)
    if not d: break
    c.sendall(d)' 2>/dev/null &
	disown
	sleep 0.3
	ip netns exec "$prefix-lgwan" python3 -c 'import socket, time
s=socket.socket(); s.bind(("198.18.20.150",0)); s.settimeout(0.5); s.connect(("198.19.100.10", 80))
t0=time.monotonic(); last=None
for i in range(40):
    try:
        s.sendall(b"x"); s.recv(10); last=time.monotonic()-t0
    except OSError:
        pass
    time.sleep(0.1)
print(f"  the open session: last echo {last:.1f} s after it started; after the reload nothing more passed")' 2>/dev/null &
	local client=$!
	sleep 1
	grep -v '^rule "LGWAN-ASP 利用"' "$work/municipality.policy" >"$work/revoke.policy"
	"$rulec" compile "$work/revoke.policy" -o "$dir/policy.table.new" >/dev/null 2>&1 && mv "$dir/policy.table.new" "$dir/policy.table"
	run "$gwd" ctl "$dir/run/gatewayd.sock" reload
	wait "$client"
	gw_try "a new LGWAN-ASP connection after the reload" lgwan 198.18.20.150 198.19.100.10 443
	sleep 1.2
	gw_records gateway.reload

	step "11. 異常終了時は遮断 / kill -9: fail closed, also for established flows"
	gw_ping() {     # label host dst
		if ip netns exec "$prefix-$2" ping -c 1 -W 1 "$3" >/dev/null 2>&1; then
			printf '  %-52s %s\n' "$1" "通った / answered"
		else
			printf '  %-52s %s\n' "$1" "破棄 / no answer (dropped)"
		fi
	}
	# one established flow across the whole step: a ping every 0.2 s (one
	# conntrack entry); its seq numbers are sorted into the three phases
	local nf="$SEKISHO_ROOT/firmware/sekisho-netfilter.sh" t_kill t_back
	ip netns exec "$prefix-mgmt" ping -n -i 0.2 -c 40 -W 1 198.18.30.50 >"$dir/ping.log" 2>&1 &
	local pinger=$!
	sleep 1.5
	t_kill=$(date +%s.%N)
	run kill -9 "$pid"
	wait "$pid" 2>/dev/null
	for _ in $(seq 50); do
		ip netns exec "$prefix-gw" "$nf" status | grep -q fenced && break
		sleep 0.1
	done
	say "  bootstrap: $(ip netns exec "$prefix-gw" "$nf" status)"
	gw_ping "管理端末 -> インターネット new ping while the daemon is dead" mgmt 198.18.30.50
	say "  (the queue rule has no bypass, and the daemon's helper fenced the bootstrap:"
	say "   no established flow is accepted by connmark while no daemon decides)"
	sleep 1.5
	t_back=$(date +%s.%N)
	ip netns exec "$prefix-gw" "$gwd" --table "$dir/policy.table" --audit-dir "$audit" \
		--audit-key "$work/audit.key" --run-dir "$dir/run" --queues 2 \
		--netfilter "$SEKISHO_ROOT/firmware/sekisho-netfilter.sh" --host demo --user nobody \
		--capture-dir "$dir/capture" >>"$dir/gatewayd.log" 2>&1 &
	pid=$!
	for i in $(seq 50); do
		"$gwd" ctl "$dir/run/gatewayd.sock" status >/dev/null 2>&1 && break
		sleep 0.1
	done
	gw_ping "the same after the daemon is back" mgmt 198.18.30.50
	wait "$pinger" 2>/dev/null
	# send time of seq n: start + (n-1) * 0.2 s; the start is 1.5 s before the kill
	awk -v tk="$t_kill" -v tb="$t_back" '
		/icmp_seq=/ { split($0, a, "icmp_seq="); split(a[2], b, " "); ok[b[1] + 0] = 1 }
		END {
			t0 = tk - 1.5
			for (n = 1; n <= 40; n++) {
				t = t0 + (n - 1) * 0.2
				ph = t < tk ? 1 : (t < tb ? 2 : 3)
				sent[ph]++; got[ph] += ok[n]
			}
			printf "  the established ping flow (one echo every 0.2 s):\n"
			printf "    %-40s %2d of %2d answered\n", "before kill -9", got[1], sent[1]
			printf "    %-40s %2d of %2d answered\n", "daemon dead (fenced)", got[2], sent[2]
			printf "    %-40s %2d of %2d answered\n", "daemon back (flow decided again)", got[3], sent[3]
		}' "$dir/ping.log"

	step "12. 拒否したパケットの再評価 / replay of the refused packets"
	say "the daemon kept what it refused in a capped ring of pcap files ($dir/capture);"
	say "what would the original policy (with LGWAN-ASP) have done to them?"
	local nets=(--net 198.18.10.0/24=mynumber --net 198.18.20.0/24=lgwan --net 198.19.0.0/16=lgwan-wan
		--net 198.18.30.0/24=internet --net 198.18.40.0/24=mgmt --net ff00::/8=self)
	for f in "$dir"/capture/denied-q*.pcap; do
		run "$replay" --table "$work/municipality.table" "${nets[@]}" "$f" 2>&1 | grep -v 'icmpv6\|^summary' | head -8
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	python3 "$lab" down --prefix "$prefix" >/dev/null 2>&1
	trap - EXIT INT TERM
	say ""
	say "the lab is gone; the gateway's audit chain stays in $audit"
}
gw_demo
unset -f gw_demo
