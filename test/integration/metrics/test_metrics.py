#!/usr/bin/env python3
"""sekisho-metrics against the real collectors (issue 16, item 6).

usage: test_metrics.py SEKISHO-METRICS GENLOG MIB

- Audit chains written by the real audit writer (genlog: a gateway and a
  sanitiser chain, plus a third chain of CDR and portal records written
  here), and a gateway control socket answering "counters" in the
  gateway's format (a stand-in process: the socket protocol of
  gateway/gw_control.c, whose own tests cover the daemon side).
- sekisho-metrics collect writes the textfile; Debian's
  prometheus-node-exporter (textfile collector only, on a free loopback
  port) serves it: every sekisho metric is there with the values counted
  here independently from the JSONL files, and node_exporter reports no
  textfile scrape error (it parsed our exposition format).
- Debian's snmpd runs sekisho-metrics snmp under pass_persist (its own
  config, a free loopback port): snmpwalk (v2c) of the subtree gives the
  same values with the types SEKISHO-MIB.txt declares for each object
  (the MIB is parsed here: every served OID is a declared object); a new
  collection is seen by the running agent; set is refused.
- Incremental: records appended after a collection are counted once; the
  state file keeps counters monotonic across runs."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "logexport"))
from lxtest import check, done, need_program  # noqa: E402

METRICS, GENLOG, MIB = sys.argv[1:4]
EXPORTER = need_program("prometheus-node-exporter", "prometheus-node-exporter")
SNMPD = need_program("snmpd", "snmpd")
SNMPWALK = need_program("snmpwalk", "snmp")
BASE = ".1.3.6.1.4.1.32473.1"

COUNTERS = {
    "pid": 42, "uptime_s": 3600, "queues": 2, "queue_base": 0, "table_gen": 7, "rules": 3, "reloads": 4,
    "reload_failures": 1, "ctl_refused": 0, "last_reload_error": None,
    "netfilter": {"watch": True, "tampers": 2, "repairs": 2, "repair_failures": 0, "forwarding_closed": False},
    "packets": 123456, "new_flows": 2345, "allowed": 2000, "denied": 300, "rejected": 45, "parse_errors": 0,
    "enobufs": 0, "audit_dropped": 3, "audit_written": 9999,
    "per_queue": [],
    "per_rule": [{"rule_id": 1, "name": "mail-relay", "hits": 1500},
                 {"rule_id": 2, "name": "lgwan \"web\"", "hits": 500},
                 {"rule_id": 0, "name": "(zone default)", "hits": 345}],
    "per_zone_pair": [{"from": "lgwan", "to": "internet", "flows": 1800},
                      {"from": "internet", "to": "lgwan", "flows": 545}],
    "kernel_queues": [{"queue": 0, "queued": 0, "queue_dropped": 11, "user_dropped": 1, "id_sequence": 5},
                      {"queue": 1, "queued": 0, "queue_dropped": 4, "user_dropped": 0, "id_sequence": 5}],
}


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def control_socket(path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            with c:
                line = c.makefile("rb").readline().strip()
                ans = COUNTERS if line == b"counters" else {"error": "unknown command"}
                c.sendall(json.dumps(ans).encode() + b"\n")
    threading.Thread(target=serve, daemon=True).start()
    return srv


def audit_counts(logdir):
    """Independent count of the JSONL files: events per component, and the
    derived figures."""
    ev, removed, mails, cdr = {}, 0, 0, {}
    for comp in sorted(os.listdir(logdir)):
        for f in sorted(os.listdir(os.path.join(logdir, comp))):
            for line in open(os.path.join(logdir, comp, f), encoding="utf-8"):
                r = json.loads(line)
                k = (r["component"], r["event"])
                ev[k] = ev.get(k, 0) + 1
                if r["event"] == "mail.sanitized":
                    mails += 1
                    removed += len(r["data"].get("removed", []))
                if r["event"] == "file.sanitized":
                    cdr[r["data"]["result"]] = cdr.get(r["data"]["result"], 0) + 1
    return ev, mails, removed, cdr


def write_portal_chain(d, n):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "audit-20261207T100000-000001.jsonl"), "a") as f:
        for i in range(n):
            for comp, ev, data in (("cdr", "file.sanitized", {"result": ["ok", "no-copy", "failed"][i % 3]}),
                                   ("portal", "portal.download", {}), ("portal", "portal.approve", {}),
                                   ("portal", "portal.login_failed", {})):
                f.write(json.dumps({"ts": "2026-12-07T10:00:00+09:00", "host": "gw1", "component": comp,
                                    "event": ev, "seq": i, "data": data}) + "\n")


def prom_samples(text):
    out = {}
    for line in text.splitlines():
        if line.startswith("sekisho_"):
            name, val = line.rsplit(" ", 1)
            out[name] = int(float(val))
    return out


def mib_objects(path):
    """OID suffix (below sekishoMIB) -> (name, syntax) from the MIB text."""
    text = open(path).read()
    parent = {"sekishoMIB": ()}
    for m in re.finditer(r"(\w+)\s+OBJECT IDENTIFIER\s*::=\s*\{\s*(\w+)\s+(\d+)\s*\}", text):
        parent[m.group(1)] = (m.group(2), int(m.group(3)))
    objs = {}
    for m in re.finditer(r"(\w+) OBJECT-TYPE\s+SYNTAX\s+(.*?)\n.*?::=\s*\{\s*(\w+)\s+(\d+)\s*\}", text, re.S):
        parent[m.group(1)] = (m.group(3), int(m.group(4)))
        objs[m.group(1)] = m.group(2).strip()

    def oid(name):
        if name == "sekishoMIB":
            return ()
        p, n = parent[name]
        return oid(p) + (n,)
    return {oid(n): (n, s) for n, s in objs.items()}


def snmp_type_ok(syntax, served):
    if syntax.startswith("Counter64"):
        return served == "Counter64"
    if syntax.startswith("DisplayString"):
        return served == "STRING"
    if syntax.startswith("Unsigned32"):
        return served in ("Gauge32", "Unsigned32")
    if syntax.startswith("TruthValue") or syntax.startswith("INTEGER"):
        return served == "INTEGER"
    return False


tmp = tempfile.mkdtemp(prefix="metrics-test-")
procs = []
try:
    logdir = os.path.join(tmp, "log")
    os.makedirs(logdir)
    key = os.path.join(tmp, "audit.key")
    with open(key, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(key, 0o600)
    subprocess.run([GENLOG, os.path.join(logdir, "gateway"), key, "--count", "400", "--seed", "7"], check=True,
                   capture_output=True)
    subprocess.run([GENLOG, os.path.join(logdir, "sanitizer"), key, "--component", "sanitizer", "--count", "150",
                    "--seed", "8"], check=True, capture_output=True)
    write_portal_chain(os.path.join(logdir, "portal"), 30)
    sock = os.path.join(tmp, "gatewayd.sock")
    srv = control_socket(sock)
    textdir = os.path.join(tmp, "textfile")
    os.makedirs(textdir)
    prom, snap, state = os.path.join(textdir, "sekisho.prom"), os.path.join(tmp, "snap.json"), \
        os.path.join(tmp, "state.json")
    qdir = os.path.join(tmp, "cdr-queue")
    for sub in ("new", "cur"):
        os.makedirs(os.path.join(qdir, sub))
    for i in range(3):
        open(os.path.join(qdir, "new", "job%d" % i), "w").close()

    def collect():
        return subprocess.run([METRICS, "collect", "--log-dir", logdir, "--state", state, "--gateway-socket", sock,
                               "--queue", "cdr=" + qdir, "--dir", "textfile=" + textdir, "--prom", prom,
                               "--json", snap], capture_output=True, text=True, timeout=120)

    r = collect()
    check("collect: exit 0, every source read", r.returncode == 0, r.stderr)

    # ---- Prometheus: the real node_exporter serves the textfile ----
    port = free_port()
    ex = subprocess.Popen([EXPORTER, "--web.listen-address=127.0.0.1:%d" % port, "--collector.disable-defaults",
                           "--collector.textfile", "--collector.textfile.directory=" + textdir],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    procs.append(ex)
    body = ""
    for _ in range(100):
        try:
            body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2).read().decode()
            break
        except OSError:
            time.sleep(0.1)
    got = prom_samples(body)
    check("node_exporter: no textfile scrape error", "node_textfile_scrape_error 0" in body,
          [x for x in body.splitlines() if "textfile" in x][:5])
    ev, mails, removed, cdr = audit_counts(logdir)
    want = {
        "sekisho_gateway_up": 1,
        "sekisho_gateway_packets_total": 123456,
        "sekisho_gateway_flows_denied_total": 300,
        'sekisho_gateway_rule_hits_total{name="mail-relay",rule_id="1"}': 1500,
        'sekisho_gateway_rule_hits_total{name="lgwan \\"web\\"",rule_id="2"}': 500,
        'sekisho_gateway_zone_pair_flows_total{from="lgwan",to="internet"}': 1800,
        'sekisho_gateway_kernel_queue_dropped_total{queue="0"}': 11,
        "sekisho_mail_sanitized_total": mails,
        "sekisho_mail_attachments_removed_total": removed,
        'sekisho_cdr_jobs_total{result="ok"}': cdr["ok"],
        'sekisho_cdr_jobs_total{result="no-copy"}': cdr["no-copy"],
        'sekisho_portal_downloads_total{what="copy"}': 30,
        'sekisho_portal_decisions_total{decision="approve"}': 30,
        "sekisho_portal_login_failures_total": 30,
        'sekisho_queue_jobs{queue="cdr"}': 3,
        'sekisho_audit_events_total{component="gateway",event="flow.decision"}': ev[("gateway", "flow.decision")],
        'sekisho_audit_events_total{component="sanitizer",event="mail.sanitized"}': mails,
    }
    bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    check("node_exporter serves every sekisho metric with the values counted independently", not bad,
          "%s\n%s" % (bad, "\n".join(sorted(got))[:1500]))
    check("every audit event of every chain is a sample",
          all(got.get('sekisho_audit_events_total{component="%s",event="%s"}' % k) == n for k, n in ev.items()),
          [k for k, n in ev.items() if got.get('sekisho_audit_events_total{component="%s",event="%s"}' % k) != n])

    # ---- SNMP: the real snmpd with pass_persist ----
    sport = free_port(socket.SOCK_DGRAM)
    conf = os.path.join(tmp, "snmpd.conf")
    with open(conf, "w") as f:
        f.write("agentaddress udp:127.0.0.1:%d\nrocommunity sekishotest 127.0.0.1\n"
                "pass_persist %s %s snmp --json %s\n" % (sport, BASE, METRICS, snap))
    # MIBS empty: Debian ships no IETF MIBs (non-free), so snmpd would only
    # complain about each one it cannot load
    sd = subprocess.Popen([SNMPD, "-f", "-Lo", "-C", "-c", conf, "-p", os.path.join(tmp, "snmpd.pid")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, MIBS=""))
    procs.append(sd)

    def walk():
        r = subprocess.run([SNMPWALK, "-m", "", "-v2c", "-c", "sekishotest", "-On", "-t", "3", "-r", "2",
                            "127.0.0.1:%d" % sport, BASE], capture_output=True, text=True, timeout=60)
        rows = {}
        for line in r.stdout.splitlines():
            m = re.match(r"^(\S+) = (\w+): (.*)$", line)
            if m:
                v = m.group(3)
                if m.group(2) == "STRING" and len(v) >= 2 and v[0] == v[-1] == '"':
                    v = v[1:-1].replace('\\"', '"')
                rows[m.group(1)] = (m.group(2), v)
        return rows, r
    rows, wr = {}, None
    for _ in range(10):
        rows, wr = walk()
        if rows or sd.poll() is not None:
            break
        time.sleep(0.5)
    scal = lambda n: rows.get("%s.1.1.%d.0" % (BASE, n), (None, None))  # noqa: E731
    check("snmpwalk: scalars (packets, denied, mails, CDR ok, approvals) as Counter64 with the same values",
          scal(3) == ("Counter64", "123456") and scal(6) == ("Counter64", "300") and
          scal(13) == ("Counter64", str(mails)) and scal(15) == ("Counter64", str(cdr["ok"])) and
          scal(20) == ("Counter64", "30") and scal(8) == ("Counter64", "15"),
          "%s %s" % (sorted(rows.items())[:30], wr.stderr if wr else ""))
    check("snmpwalk: gateway up true(1), clock known", scal(2) == ("INTEGER", "1") and scal(12)[1] in ("1", "2"),
          (scal(2), scal(12)))
    names = {v[1] for k, v in rows.items() if k.startswith(BASE + ".1.2.1.3.")}
    check("snmpwalk: the rule table has the rules by name", names == {"mail-relay", 'lgwan "web"', "(zone default)"},
          names)
    objs = mib_objects(MIB)
    unknown = []
    for k, (typ, _) in rows.items():
        parts = tuple(int(x) for x in k[len(BASE) + 1:].split("."))
        obj = objs.get(parts[:-1])  # the object: the OID without its instance
        if not obj or not snmp_type_ok(obj[1], typ):
            unknown.append((k, typ, obj))
    check("every served OID is an object of SEKISHO-MIB.txt with its declared type (%d objects)" % len(rows),
          rows and not unknown, unknown[:5])
    r = subprocess.run(["snmpset", "-v2c", "-c", "sekishotest", "127.0.0.1:%d" % sport, BASE + ".1.1.13.0", "c",
                        "1"], capture_output=True, text=True, timeout=30)
    check("snmpset is refused", r.returncode != 0, r.stdout + r.stderr)

    # ---- incremental: appended records counted once; the agent sees it ----
    write_portal_chain(os.path.join(logdir, "portal"), 3)
    time.sleep(1.1)  # a new mtime for the snapshot
    r = collect()
    r2 = collect()
    got = prom_samples(open(prom).read())
    check("incremental: 3 more downloads counted once over two runs",
          r.returncode == 0 and r2.returncode == 0 and got.get('sekisho_portal_downloads_total{what="copy"}') == 33,
          got.get('sekisho_portal_downloads_total{what="copy"}'))
    rows, _ = walk()
    check("the running agent serves the new snapshot", scal(18) == ("Counter64", "33"), scal(18))

    # ---- a source down: reported, the rest still written ----
    srv.close()
    os.unlink(sock)
    r = collect()
    got = prom_samples(open(prom).read())
    check("gateway down: exit 1, gateway_up 0 and source_up 0, audit counts still there",
          r.returncode == 1 and got.get("sekisho_gateway_up") == 0 and
          got.get('sekisho_metrics_source_up{source="gateway"}') == 0 and
          got.get("sekisho_mail_sanitized_total") == mails, r.stderr)
finally:
    for p in procs:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    shutil.rmtree(tmp, ignore_errors=True)
done()
