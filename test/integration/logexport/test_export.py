#!/usr/bin/env python3
"""sekisho-logexport export: CSV read back by Python's csv module in UTF-8
(BOM) and CP932 with the Japanese content as it was logged, Japanese
headers, RFC 4180 quoting and CRLF, the formula guard, every filter, JSON
Lines identical to the source lines, CEF escaping read back by an
independent parser, and a broken chain: refused, or with --allow-broken
said at the top of the output and every unverified line marked."""
import csv
import io
import ipaddress
import json
import os
import re
import shutil
import sys
from datetime import datetime, timedelta, timezone
from fnmatch import fnmatch, fnmatchcase

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lxtest import Workdir, audit_files, check, done, genlog, lines_of, lx  # noqa: E402

JST = timezone(timedelta(hours=9))
COMMON_JA = ["検証", "時刻", "ホスト", "構成要素", "イベント", "連番", "送信元ゾーン", "宛先ゾーン", "送信元", "宛先",
             "プロトコル", "判定", "ルール"]
COMMON_EN = ["status", "ts", "host", "component", "event", "seq", "from_zone", "to_zone", "src", "dst", "proto",
             "action", "rule"]


def guarded(s):
    """What the formula guard makes of a cell."""
    if s and s[0] in "=+-@\t\r" and not re.fullmatch(r"-?\d+(\.\d+)?", s):
        return "'" + s
    return s


def text(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    return str(v)


def expected_cells(rec):
    """Cells the export must show for a record, by English column name."""
    d = rec.get("data", {})
    cells = {"status": "ok", "ts": rec["ts"], "host": rec["host"], "component": rec["component"],
             "event": rec["event"], "seq": str(rec["seq"]), "rule": text(d.get("rule_id"))}
    for k in ("from_zone", "to_zone", "src", "dst", "proto", "action"):
        cells[k] = text(d.get(k))
    if rec["event"] == "flow.decision":
        for k in ("rule_name", "rule_at", "sport", "dport", "in_if", "out_if", "from_zone_desc", "to_zone_desc",
                  "policy_sha256", "table_gen"):
            cells[k] = text(d.get(k))
    if rec["event"] == "mail.sanitized":
        for k in ("queue_id", "message_id", "env_from", "subject", "verdict", "size", "original_sha256",
                  "output_sha256"):
            cells[k] = text(d.get(k))
        for k in ("env_to", "actions", "quarantine_ids"):
            cells[k] = "\n".join(d.get(k, []))
        rm = d.get("removed", [])
        cells["removed_count"] = str(len(rm))
        for k in ("name", "content_type", "detected_type", "size", "sha256", "reason", "quarantine_id"):
            cells["removed_" + k] = "\n".join(text(x.get(k)) for x in rm)
    return {k: guarded(v) for k, v in cells.items()}


def read_csv(raw, encoding):
    rows = list(csv.reader(io.StringIO(raw.decode(encoding), newline="")))
    return rows


def ts_ns(s):
    return datetime.fromisoformat(s).timestamp()


wd = Workdir("export")
try:
    gw, mail = wd.sub("gateway"), wd.sub("sanitizer")
    genlog(wd, gw, "--count", 1500, "--step-ms", 120000, "--seed", 11, "--policy-change-day", 1,
           "--unsynced-hour", 20)
    genlog(wd, mail, "--component", "sanitizer", "--host", "relay1", "--count", 400, "--step-ms", 500000,
           "--seed", 12)
    gw_lines, mail_lines = lines_of(gw), lines_of(mail)
    gw_recs = [json.loads(l) for l in gw_lines]
    mail_recs = [json.loads(l) for l in mail_lines]
    by_key = {(r["component"], r["seq"]): r for r in gw_recs + mail_recs}
    allrecs = gw_recs + mail_recs

    # ---- CSV, UTF-8 with BOM, English headers ----
    out = wd.sub("all.csv")
    r = lx("export", "--key", wd.key, "-o", out, gw, mail)
    check("csv: exit 0", r.returncode == 0, r.stderr)
    raw = open(out, "rb").read()
    check("csv: starts with a UTF-8 BOM", raw.startswith(b"\xef\xbb\xbf"))
    rows = read_csv(raw, "utf-8-sig")
    header, body = rows[0], rows[1:]
    check("csv: common columns first", header[:len(COMMON_EN)] == COMMON_EN, str(header[:14]))
    check("csv: notes and other last", header[-2:] == ["notes", "other"], str(header[-3:]))
    check("csv: one row per record", len(body) == len(allrecs), f"{len(body)} vs {len(allrecs)}")
    # every record line ends in CRLF: count CRLF outside quoted cells
    in_q, crlf = False, 0
    for i, c in enumerate(raw):
        if c == 0x22:
            in_q = not in_q
        elif c == 0x0A and not in_q:
            crlf += raw[i - 1] == 0x0D
    check("csv: every row ends in CRLF", crlf == len(rows), f"{crlf} vs {len(rows)}")
    mism = []
    seen = set()
    for row in body:
        cells = dict(zip(header, row))
        rec = by_key.get((cells["component"], int(cells["seq"])))
        if not rec:
            mism.append(("unknown", cells["seq"]))
            continue
        seen.add((rec["component"], rec["seq"]))
        for k, v in expected_cells(rec).items():
            if k in cells and cells[k] != v:
                mism.append((rec["seq"], k, cells[k][:80], v[:80]))
    check("csv: every cell as logged (Japanese zone descriptions, rule names, subjects, file names)",
          not mism and len(seen) == len(allrecs), str(mism[:5]))
    times = [ts_ns(dict(zip(header, row))["ts"]) for row in body]
    check("csv: the two chains merged in time order", times == sorted(times))
    subj = [dict(zip(header, row))["subject"] for row in body if dict(zip(header, row))["event"] == "mail.sanitized"]
    check("csv: a formula subject is guarded", any(s.startswith("'=HYPERLINK(") for s in subj))
    check("csv: a subject with | \\ newline = , and quotes survives",
          "区切り|パイプ\\円記号\n改行=等号, \"引用\"" in subj)
    check("csv: a Japanese file name survives", any("予算要求資料.xlsm" in dict(zip(header, row))["removed_name"]
                                                   for row in body))
    # the column set follows the events exported
    r = lx("export", "--key", wd.key, "--event", "flow.decision", gw)
    h = next(csv.reader(io.StringIO(r.stdout.lstrip("\ufeff"))))
    check("csv: flow-only export has flow columns and no mail columns",
          "rule_name" in h and "rule_at" in h and "subject" not in h and "synchronized" not in h, str(h))
    check("csv: columns of members no record has are left out", "icmp_type" not in header and
          "reason" not in h and "removed_detected_type" in header, str(h))

    # ---- Japanese headers ----
    r = lx("export", "--key", wd.key, "--headers", "ja", gw, mail, binary=True)
    rows_ja = read_csv(r.stdout, "utf-8-sig")
    check("csv --headers ja: Japanese common headers", rows_ja[0][:len(COMMON_JA)] == COMMON_JA, str(rows_ja[0][:14]))
    check("csv --headers ja: 注記 and その他 last", rows_ja[0][-2:] == ["注記", "その他"])
    check("csv --headers ja: same data rows",
          [r_[1:] for r_ in rows_ja[1:]] == [r_[1:] for r_ in body] and rows_ja[1][0] == "検証済")
    for name in ("件名", "差出人(エンベロープ)", "宛先(エンベロープ)", "削除した添付ファイル名", "実際の形式",
                 "申告された形式", "ルール名", "ルールの位置", "送信元ゾーン説明"):
        check(f"csv --headers ja: has {name}", name in rows_ja[0])

    # ---- CP932 ----
    out932 = wd.sub("all-cp932.csv")
    r = lx("export", "--key", wd.key, "--encoding", "cp932", "--headers", "ja", "-o", out932, gw, mail)
    check("cp932: exit 0", r.returncode == 0, r.stderr)
    raw932 = open(out932, "rb").read()
    check("cp932: no BOM", not raw932.startswith(b"\xef\xbb\xbf"))
    rows932 = read_csv(raw932, "cp932")
    # what cp932 cannot hold becomes '?', and the count is on stderr
    unrepresentable = 0
    want_rows = []
    for row in rows_ja:
        nr = []
        for c in row:
            o = ""
            for ch in c:
                try:
                    ch.encode("cp932")
                    o += ch
                except UnicodeEncodeError:
                    o += "?"
                    unrepresentable += 1
            nr.append(o)
        want_rows.append(nr)
    check("cp932: read back identical (unrepresentable characters as '?')", rows932 == want_rows,
          str([(a, b) for a, b in zip(rows932, want_rows) if a != b][:2]))
    m = re.search(r"(\d+) characters? not representable in CP932", r.stderr)
    check("cp932: count of '?' reported on stderr", unrepresentable > 0 and m and int(m.group(1)) == unrepresentable,
          f"{unrepresentable}: {r.stderr}")
    check("cp932: RTLO in a file name became '?'", any("請求書?fdp.exe" in c for row in rows932 for c in row))
    check("cp932: Japanese subjects intact", any("住民説明会（11月30日）のご案内" in c for row in rows932 for c in row))
    check("cp932 is for CSV only", lx("export", "--key", wd.key, "--format", "jsonl", "--encoding", "cp932",
                                      gw).returncode == 2)

    # ---- JSON Lines: the original bytes ----
    r = lx("export", "--key", wd.key, "--format", "jsonl", gw, binary=True)
    check("jsonl: identical to the source lines", r.returncode == 0 and r.stdout.split(b"\n")[:-1] == gw_lines)
    r = lx("export", "--key", wd.key, "--format", "jsonl", gw, mail, binary=True)
    got = r.stdout.split(b"\n")[:-1]
    check("jsonl: two chains, every line once, each chain in order",
          sorted(got) == sorted(gw_lines + mail_lines) and [l for l in got if l in set(gw_lines)] == gw_lines)

    # ---- filters: compare with what Python selects ----
    def sel(pred, recs=None):
        return [json.dumps(x, sort_keys=True) for x in (recs or allrecs) if pred(x)]

    def exported(*args):
        r = lx("export", "--key", wd.key, "--format", "jsonl", *args, gw, mail)
        return r.returncode, [json.dumps(json.loads(l), sort_keys=True) for l in r.stdout.splitlines()]

    def t(r_):
        return datetime.fromisoformat(r_["ts"])

    def in_net(v, net):
        try:
            return ipaddress.ip_address(v) in ipaddress.ip_network(net)
        except ValueError:
            return False

    def any_addr(r_, net):
        d = r_.get("data", {})
        return any(isinstance(v, str) and in_net(v, net) for v in d.values())

    day2 = datetime(2026, 11, 21, tzinfo=JST)
    day3 = datetime(2026, 11, 22, tzinfo=JST)
    filters = [
        ("--since DATE", ["--since", "2026-11-21"], lambda x: t(x) >= day2),
        ("--until DATE (whole day)", ["--until", "2026-11-21"], lambda x: t(x) < day3),
        ("--since/--until RFC 3339", ["--since", "2026-11-21T09:00:00+09:00", "--until", "2026-11-21T03:30:00Z"],
         lambda x: datetime(2026, 11, 21, 9, tzinfo=JST) <= t(x) < datetime(2026, 11, 21, 12, 30, tzinfo=JST)),
        ("--component", ["--component", "sanitizer"], lambda x: x["component"] == "sanitizer"),
        ("--event glob", ["--event", "policy.*"], lambda x: fnmatchcase(x["event"], "policy.*")),
        ("--event twice (or)", ["--event", "clock.status", "--event", "config.change"],
         lambda x: x["event"] in ("clock.status", "config.change")),
        ("--zone-pair", ["--zone-pair", "lgwan:internet"],
         lambda x: x["data"].get("from_zone") == "lgwan" and x["data"].get("to_zone") == "internet"),
        ("--zone-pair FROM: (any to)", ["--zone-pair", "mynumber:"], lambda x: x["data"].get("from_zone") == "mynumber"),
        ("--rule ID", ["--rule", "17"], lambda x: x["data"].get("rule_id") == 17),
        ("--rule name", ["--rule", "中間サーバー連携"], lambda x: x["data"].get("rule_name") == "中間サーバー連携"),
        ("--rule FILE:LINE", ["--rule", "/etc/sekisho/policy.d/municipality.policy:26"],
         lambda x: x["data"].get("rule_at") == "/etc/sekisho/policy.d/municipality.policy:26"),
        ("--address ADDR", ["--address", "198.18.20.11"], lambda x: any_addr(x, "198.18.20.11/32")),
        ("--address PREFIX", ["--address", "198.18.10.0/24"], lambda x: any_addr(x, "198.18.10.0/24")),
        ("--address IPv6 PREFIX", ["--address", "2001:db8:20::/48"], lambda x: any_addr(x, "2001:db8:20::/48")),
        ("--sender glob", ["--sender", "*@vendor.example.co.jp"],
         lambda x: fnmatch(x["data"].get("env_from", "\0"), "*@vendor.example.co.jp")),
        ("--recipient", ["--recipient", "BOUSAI@johoku.example.lg.jp"],
         lambda x: "bousai@johoku.example.lg.jp" in x["data"].get("env_to", [])),
        ("filters combine (and)", ["--event", "flow.decision", "--zone-pair", "lgwan:internet", "--address",
                                   "198.18.20.10", "--since", "2026-11-21"],
         lambda x: x["event"] == "flow.decision" and x["data"].get("from_zone") == "lgwan" and
         x["data"].get("to_zone") == "internet" and any_addr(x, "198.18.20.10/32") and t(x) >= day2),
    ]
    for what, args, pred in filters:
        rc, got = exported(*args)
        want = sel(pred)
        check(f"filter {what}: {len(want)} records", rc == 0 and sorted(got) == sorted(want) and len(want) > 0,
              f"rc={rc} got {len(got)} want {len(want)}")
    r = lx("export", "--key", wd.key, "--rule", "17", "--headers", "ja", gw, binary=True)
    rows17 = read_csv(r.stdout, "utf-8-sig")
    check("filter in CSV: only rule 17 rows", len(rows17) > 1 and
          all(row[12] == "17" for row in rows17[1:]) and len(rows17) - 1 == len(sel(lambda x: x["data"].get("rule_id") == 17)))
    for bad in (["--since", "yesterday"], ["--zone-pair", "lgwan"], ["--address", "198.18.20.1/24"],
                ["--format", "xml"], ["--headers", "fr"], ["--since", "2026-11-22", "--until", "2026-11-21"]):
        check(f"bad argument {' '.join(bad)}: exit 2", lx("export", "--key", wd.key, *bad, gw).returncode == 2)

    # ---- CEF, read back by an independent parser ----
    def cef_parse(line):
        parts, cur, i = [], "", 0
        while len(parts) < 7:
            c = line[i]
            if c == "\\" and line[i + 1] in "\\|":
                cur += line[i + 1]
                i += 2
                continue
            if c == "|":
                parts.append(cur)
                cur = ""
            else:
                cur += c
            i += 1
        ext, keys = line[i:], {}
        # keys are [A-Za-z0-9]+ followed by an unescaped '='
        pos = [(m.start(), m.group(1)) for m in re.finditer(r"(?:^| )([A-Za-z0-9]+)=", ext)
               if not (m.start() > 0 and ext[m.start() - 1] == "\\")]
        for n, (start, k) in enumerate(pos):
            vstart = start + len(k) + (1 if start == 0 and ext[0] != " " else 2)
            vend = pos[n + 1][0] if n + 1 < len(pos) else len(ext)
            v = ext[vstart:vend]
            v = re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), v)
            keys[k] = v
        return parts, keys

    r = lx("export", "--key", wd.key, "--format", "cef", gw, mail)
    cef = r.stdout.splitlines()
    check("cef: one line per record", r.returncode == 0 and len(cef) == len(allrecs), f"{len(cef)}")
    bad = []
    for line in cef:
        hdr, ext = cef_parse(line)
        rec = by_key[(ext["deviceFacility"], int(ext["externalId"]))]
        d = rec["data"]
        if hdr[:4] != ["CEF:0", "sekisho", "sekisho", "0.1.0"] or hdr[4] != rec["event"] or not 0 <= int(hdr[6]) <= 10:
            bad.append(("header", hdr))
        if ext.get("dvchost") != rec["host"] or ext.get("cs6") != rec["mac"]:
            bad.append(("host/mac", rec["seq"]))
        if rec["event"] == "flow.decision":
            for k, ck in (("rule_at", "cs4"), ("rule_name", "msg"), ("from_zone", "cs1"), ("to_zone", "cs2"),
                          ("action", "act"), ("policy_sha256", "cs5")):
                if ext.get(ck) != d.get(k):
                    bad.append((k, ext.get(ck), d.get(k)))
            addr = "src" if ":" not in d["src"] else "c6a2"
            if ext.get(addr) != d["src"]:
                bad.append(("src", d["src"]))
        if rec["event"] == "mail.sanitized":
            if ext.get("suser") != d["env_from"] or ext.get("msg") != d["subject"] or \
               ext.get("duser") != ", ".join(d["env_to"]) or ext.get("outcome") != d["verdict"]:
                bad.append(("mail", ext.get("msg"), d["subject"]))
            if d["removed"] and (ext.get("fname") != ", ".join(x["name"] for x in d["removed"]) or
                                 ext.get("fileType") != ", ".join(x["detected_type"] for x in d["removed"])):
                bad.append(("fname", ext.get("fname")))
    check("cef: every field read back as logged (escaping of \\ = | CR LF)", not bad, str(bad[:3]))
    check("cef: the subject with | \\ = and a newline is escaped on one line",
          any("msg=区切り|パイプ\\\\円記号\\n改行\\=等号, \"引用\"" in l for l in cef))
    check("cef: denied flows rate higher than allowed ones",
          any("|Flow allowed|1|" in l for l in cef) and any("|Flow denied|5|" in l or "|Flow rejected|5|" in l for l in cef))

    # ---- a broken chain ----
    broken = wd.sub("broken")
    shutil.copytree(gw, broken)
    files = audit_files(broken)
    lines = open(files[1], "rb").read().split(b"\n")
    orig = lines[20]
    lines[20] = lines[20].replace(b'"action":"', b'"action":"x', 1)
    open(files[1], "wb").write(b"\n".join(lines))
    tampered_line = lines[20]
    tseq = json.loads(orig)["seq"]
    fname = os.path.basename(files[1])
    outb = wd.sub("broken.csv")
    r = lx("export", "--key", wd.key, "-o", outb, broken)
    check("broken: refused with exit 1", r.returncode == 1 and "refusing" in r.stderr, r.stderr)
    check("broken: no output file left behind", not os.path.exists(outb) and
          not any(n.startswith("broken.csv") for n in os.listdir(wd.path)))
    check("broken: stderr says where", f"edited at {fname}:21" in r.stderr, r.stderr)

    r = lx("export", "--key", wd.key, "--allow-broken", "-o", outb, broken)
    check("--allow-broken: exit 1 (the chain is broken) but written", r.returncode == 1 and os.path.exists(outb),
          r.stderr)
    check("--allow-broken: stderr says so", "BROKEN" in r.stderr)
    rows = read_csv(open(outb, "rb").read(), "utf-8-sig")
    check("--allow-broken csv: first row states the break and where",
          rows[0][0].startswith("# WARNING") and rows[1][0].startswith("#") and f"edited at {fname}:21" in rows[1][0],
          str(rows[:2]))
    hi = next(i for i, row in enumerate(rows) if row and row[0] == "status")
    hdr = rows[hi]
    marked = [dict(zip(hdr, row)) for row in rows[hi + 1:] if row[0] != "ok"]
    check("--allow-broken csv: exactly the edited record is marked",
          len(marked) == 1 and marked[0]["status"] == "edited" and marked[0]["seq"] == str(tseq) and
          "MAC does not verify" in marked[0]["notes"], str(marked)[:400])
    check("--allow-broken csv: all other records ok", len(rows) - hi - 1 == len(gw_lines))
    r = lx("export", "--key", wd.key, "--allow-broken", "--headers", "ja", broken)
    check("--allow-broken csv ja: 警告 row", r.stdout.lstrip("\ufeff").startswith("# 警告"))

    r = lx("export", "--key", wd.key, "--allow-broken", "--format", "jsonl", broken, binary=True)
    jl = r.stdout.split(b"\n")[:-1]
    first = json.loads(jl[0])
    check("--allow-broken jsonl: a first record states the break",
          first.get("sekisho_export") == "chain-broken" and first["breaks"][0]["kind"] == "edited" and
          first["breaks"][0]["file"] == fname and first["breaks"][0]["line"] == 21, str(first)[:300])
    wrapped = [json.loads(l) for l in jl[1:] if l.startswith(b'{"sekisho_export"')]
    check("--allow-broken jsonl: the edited line is wrapped, never passed as a record",
          len(wrapped) == 1 and wrapped[0]["sekisho_export"] == "unverified-line" and
          wrapped[0]["status"] == "edited" and wrapped[0]["raw"].encode() == tampered_line and
          tampered_line not in jl, str(wrapped)[:300])
    check("--allow-broken jsonl: every other line identical",
          [l for l in jl[1:] if not l.startswith(b'{"sekisho_export"')] == [l for l in gw_lines if l != orig])

    r = lx("export", "--key", wd.key, "--allow-broken", "--format", "cef", broken)
    cl = r.stdout.splitlines()
    check("--allow-broken cef: first line states the break",
          cl[0].startswith("CEF:0|sekisho|sekisho|0.1.0|export.chain_broken|Audit chain broken|10|") and
          f"{fname}:21" in cl[0], cl[0])
    mk = [l for l in cl[1:] if "flexString1=" in l]
    check("--allow-broken cef: the edited record has severity 10 and is marked",
          len(mk) == 1 and "|Unverified record (MAC failed)|10|" in mk[0] and "flexString1=mac-failed" in mk[0],
          str(mk)[:300])
finally:
    wd.cleanup()
done()
