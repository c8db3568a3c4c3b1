# tools/demo.d/30-mail.sh: mail through Postfix and sekisho-milter (issue 5).
# Sourced by tools/demo: uses step/run/say, $work, $SEKISHO_ROOT, build/demo.
# A private Postfix instance (loopback ports, its own directories under
# $work/mail) is started by pfharness.py and always torn down (trap).

mail_demo() {
	local bin="$SEKISHO_ROOT/build/demo/sanitizer" harness="$SEKISHO_ROOT/test/integration/sanitizer/pfharness.py"
	local dir="$work/mail" pid ports smtp
	step "13. 無害化メール中継 / mail through Postfix and the sanitising milter"
	if [ "$(id -u)" != 0 ] || ! command -v postfix >/dev/null || [ ! -x "$bin/sekisho-milter" ]; then
		say "(skipped: needs root, postfix and build/demo/sanitizer/sekisho-milter)"
		return 0
	fi
	mkdir -p "$dir" "$work/audit"
	chmod 755 "$dir"
	python3 "$harness" serve "$dir/run" --milter "$bin/sekisho-milter" \
		--audit-dir "$work/audit/sanitizer" --audit-key "$work/audit.key" --max-seconds 300 \
		>"$dir/harness.log" 2>&1 &
	pid=$!
	# shellcheck disable=SC2064
	trap "kill $pid 2>/dev/null; wait $pid 2>/dev/null" EXIT
	for _ in $(seq 100); do [ -f "$dir/run/ports.json" ] && break; sleep 0.2; done
	[ -f "$dir/run/ports.json" ] || { say "Postfix did not start:"; tail -20 "$dir/harness.log"; kill "$pid"; wait "$pid"; trap - EXIT; return 0; }
	ports="$dir/run/ports.json"
	smtp=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["smtp"])' "$ports")
	say "private Postfix on 127.0.0.1:$smtp (firmware/postfix config, milter_default_action = tempfail) -> LGWAN sink"
	python3 "$SEKISHO_ROOT/test/integration/sanitizer/demo_mail.py" write "$dir/in"
	local f n=0
	for f in "$dir"/in/*.eml; do
		n=$((n + 1))
		printf '\n%s── %s ──%s\n' "$bold" "$(basename "$f" .eml)" "$off"
		say "before (as sent from the Internet):"
		python3 "$SEKISHO_ROOT/test/integration/sanitizer/demo_mail.py" show "$f" | sed 's/^/  | /'
		run swaks -4 --silent 2 --server "127.0.0.1:$smtp" --from sender@example.co.jp --to "soumu$n@lgwan.test" --data @"$f"
	done
	for _ in $(seq 100); do [ "$(ls "$dir/run/sink" 2>/dev/null | grep -c '\.eml$')" -ge "$n" ] && break; sleep 0.2; done
	for f in "$dir"/run/sink/*.eml; do
		printf '\n%s── after: %s (delivered to LGWAN) ──%s\n' "$bold" "$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["to"]))' "${f%.eml}.env")" "$off"
		python3 "$SEKISHO_ROOT/test/integration/sanitizer/demo_mail.py" show "$f" | sed 's/^/  | /'
	done
	printf '\n'
	say "the audit records (mail.sanitized):"
	python3 - "$work/audit/sanitizer" <<'PY'
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.jsonl")):
    for line in open(f, encoding="utf-8"):
        r = json.loads(line)
        if r["event"] != "mail.sanitized":
            continue
        d = r["data"]
        print(f"  seq {r['seq']} queue {d['queue_id']} {d['result']}/{d['verdict']} actions={','.join(d['actions'])}")
        for it in d["removed"]:
            print(f"      removed {it['name']!r} declared {it['content_type']} actual {it['detected_type']} quarantine {it['quarantine_id']}")
PY
	say "quarantine: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["quarantine"])' "$ports")"
	kill "$pid"; wait "$pid" 2>/dev/null
	trap - EXIT
	say "private Postfix stopped"
}
mail_demo
