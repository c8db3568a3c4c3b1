#!/usr/bin/env python3
"""sekisho-logexport and the file portals (issue 15): the report's portal
section and the exports of the portals' events, on records genlog writes
through the real audit writer (--component portal).

The expected numbers come from the records themselves (read with Python's
json), never from the tool: per event, the count row; approvals, denials,
releases and uploads by user; failed logins by user and peer; refusals by
reason; every original's request, approval, denial and release in the
originals table.  The CSV (Python's csv) has the portal columns and one row
per record; CEF names the events; markup in the records stays text.

Usage: test_portal.py LOGEXPORT GENLOG"""
import csv
import html
import io
import os
import re
import sys
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lxtest import Workdir, check, done, genlog, lx, records_of  # noqa: E402

PORTAL = ("portal.", "upload.")
OTHER = ("file.released", "mail.copies_sent", "mail.upload_notice")


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def portal_event(ev):
    return ev.startswith(PORTAL) or ev in OTHER


def row_count(doc, label, event):
    """The number in the count row of label (None when absent); '–' is 0."""
    m = re.search(rf'<tr><td>{re.escape(label)}</td><td class="mono">{re.escape(event)}</td>'
                  r'<td class="n[^"]*">([^<]*)</td></tr>', doc)
    if not m:
        return None
    return 0 if m.group(1) == "–" else int(m.group(1).replace(",", ""))


wd = Workdir("portal")
try:
    pd = wd.sub("portal")
    genlog(wd, pd, "--component", "portal", "--host", "portal1", "--count", 96, "--step-ms", 600000,
           "--seed", 41, "--start", "2026-11-20T09:00:00+09:00")
    recs = [r for r in records_of(pd) if portal_event(r["event"])]
    by_ev = {}
    for r in recs:
        by_ev.setdefault(r["event"], []).append(r)
    check("genlog: every portal event kind written",
          {"portal.view", "portal.download", "mail.copies_sent", "portal.request", "portal.approve",
           "portal.deny", "portal.release", "file.released", "portal.login", "portal.login_failed",
           "upload.received", "mail.upload_notice", "portal.refused", "upload.login_failed"} <= set(by_ev),
          str(sorted(by_ev)))
    since, until = recs[0]["ts"][:10], recs[-1]["ts"][:10]

    r = lx("report", "--key", wd.key, "--since", since, "--until", until, pd)
    doc = r.stdout
    check("report: exit 0", r.returncode == 0, r.stderr)
    check("report: the portal section", "<h2>ファイル受け渡しポータル</h2>" in doc)
    n = lambda ev: len(by_ev.get(ev, []))  # noqa: E731
    for label, ev, want in [
            ("無害化コピーのダウンロード", "portal.download", n("portal.download")),
            ("無害化コピーのメール送付", "mail.copies_sent", n("mail.copies_sent")),
            ("リンクの閲覧", "portal.view", n("portal.view")),
            ("原本の取り出し申請", "portal.request", n("portal.request")),
            ("承認", "portal.approve", n("portal.approve")),
            ("却下", "portal.deny", n("portal.deny")),
            ("原本のダウンロード", "portal.release", n("portal.release")),
            ("原本の払い出し（ワーカー）", "file.released", n("file.released")),
            ("アップロードの受付", "upload.received", n("upload.received")),
            ("受け渡しの通知メール", "mail.upload_notice", n("mail.upload_notice")),
            ("ログイン", "portal.login + upload.login", n("portal.login") + n("upload.login")),
            ("ログイン失敗", "portal.login_failed + upload.login_failed",
             n("portal.login_failed") + n("upload.login_failed")),
            ("拒否した要求", "portal.refused + upload.refused", n("portal.refused") + n("upload.refused")),
            ("リンクの無効化", "portal.revoke", 0)]:
        got = row_count(doc, label, ev)
        check(f"report: {ev} counted ({want})", got == want, f"report says {got}")
    check("report: failed logins in red", re.search(r'ログイン失敗</td><td class="mono">[^<]*</td>'
                                                    r'<td class="n deny">', doc) is not None)

    # by whom: approvals, denials, releases by the approver's name
    who = {}
    for ev in ("portal.approve", "portal.deny", "upload.received"):
        for x in by_ev.get(ev, []):
            u = x["data"].get("user") or x["data"].get("uploader")
            who[(ev, u)] = who.get((ev, u), 0) + 1
    for (ev, u), c in who.items():
        label = {"portal.approve": "承認", "portal.deny": "却下", "upload.received": "アップロードの受付"}[ev]
        check(f"report: {ev} by {u} ({c})", f"<tr><td>{label}</td><td>{u}</td><td class=\"n\">{c}</td></tr>" in doc)
    rel = {}
    for x in by_ev["file.released"]:
        u = ", ".join(x["data"]["approvers"])
        rel[u] = rel.get(u, 0) + 1
    for u, c in rel.items():
        check(f"report: released, approved by {u} ({c})",
              f"<tr><td>原本の払い出し（ワーカー）</td><td>{u}</td><td class=\"n\">{c}</td></tr>" in doc)

    # failed logins by user and peer; refusals by reason
    failed = {}
    for ev in ("portal.login_failed", "upload.login_failed"):
        for x in by_ev.get(ev, []):
            k = (x["data"]["user"], x["data"]["peer"])
            failed[k] = failed.get(k, 0) + 1
    top = sorted(failed.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    for (u, p), c in top:
        check(f"report: failed logins of {u} from {p} ({c})",
              f"<tr><td>{u}</td><td>{p}</td><td class=\"n\">{c}</td></tr>" in doc)
    refused = {}
    for x in by_ev.get("portal.refused", []):
        refused[x["data"]["reason"]] = refused.get(x["data"]["reason"], 0) + 1
    for why, c in refused.items():
        check(f"report: refused for {why} ({c})",
              f"<tr><td>portal.refused</td><td>{why}</td><td class=\"n\">{c}</td></tr>" in doc)

    # the originals table: one row per request, decision and release
    orig = [x for x in recs if x["event"] in ("portal.request", "portal.approve", "portal.deny",
                                               "portal.release", "file.released")]
    table = doc.split("<h3>原本の取り出し</h3>", 1)[-1].split("</table>", 1)[0]
    check(f"report: originals table has {len(orig)} rows", table.count("<tr>") == len(orig) + 1,
          str(table.count("<tr>")))
    for x in orig:
        req = x["data"]["id"]
        check(f"report: {x['event']} of {req} listed", f'<td class="mono">{req}</td>' in table)
    denied = by_ev["portal.deny"][0]["data"]
    row = re.search(r'<tr><td class="mono"[^>]*>[^<]*</td><td><span class="tag t-bad">却下</span></td><td></td>'
                    rf'<td class="mono">{denied["id"]}</td><td>.*?</td><td>([^<]*)</td><td>([^<]*)</td></tr>', table)
    check("report: a denial with its approver and comment",
          row is not None and row.groups() == (denied["user"], html.escape(denied["comment"])),
          row.groups() if row else table[:300])
    req = by_ev["portal.request"][0]["data"]
    row = re.search(rf'<td class="mono">{req["id"]}</td><td>.*?</td><td>([^<]*)</td><td>([^<]*)</td></tr>', table)
    check("report: a link holder's request: by its peer, with the reason",
          row is not None and row.groups() == (req["peer"], req["reason"]), row.groups() if row else "")

    # English
    r = lx("report", "--key", wd.key, "--since", since, "--until", until, "--lang", "en", pd)
    check("report --lang en: the portal section", r.returncode == 0 and "<h2>File portals</h2>" in r.stdout and
          row_count(r.stdout, "Safe copies downloaded", "portal.download") == n("portal.download"))

    # without portal records: the section says so
    gd = wd.sub("gateway")
    genlog(wd, gd, "--count", 20, "--start", "2026-11-20T09:00:00+09:00")
    r = lx("report", "--key", wd.key, "--since", "2026-11-20", "--until", "2026-11-21", gd)
    check("report: no portal records, said so", r.returncode == 0 and "期間中のポータルの記録はありません。" in r.stdout)

    # CSV: the portal columns, one row per record, the values as logged
    r = lx("export", "--key", wd.key, "--format", "csv", pd)
    check("export csv: exit 0", r.returncode == 0, r.stderr)
    rows = list(csv.DictReader(io.StringIO(r.stdout.lstrip("\ufeff"))))
    prow = [x for x in rows if portal_event(x["event"])]
    check(f"export csv: one row per portal record ({len(recs)})", len(prow) == len(recs), str(len(prow)))
    hdr = rows[0].keys() if rows else []
    check("export csv: portal columns", all(c in hdr for c in ("user", "approvers", "peer", "id", "link", "n",
                                                               "uploader", "comment", "rcpt", "why", "final")),
          str(list(hdr)))
    ok = all(x["id"] == y["data"].get("id", "") and x["user"] == y["data"].get("user", "") and
             x["peer"] == y["data"].get("peer", "") and x["approvers"] == "\n".join(y["data"].get("approvers", []))
             for x, y in zip(prow, recs))
    check("export csv: request, user, peer, approvers as logged", ok)
    # "status" is the common verification column's name: the HTTP status of
    # a refusal stays in "other"
    check("export csv: nothing left in 'other' but a refusal's HTTP status",
          all(x["other"] == "" or (x["event"] == "portal.refused" and re.fullmatch(r'\{"status":\d+\}', x["other"]))
              for x in prow), str({x["other"] for x in prow}))
    r = lx("export", "--key", wd.key, "--format", "csv", "--headers", "ja", pd)
    head = r.stdout.lstrip("\ufeff").splitlines()[0]
    check("export csv --headers ja: Japanese portal labels", "承認者" in head and "接続元" in head and "申請・受付ID" in head)

    # CEF: named, failed logins at severity 6
    r = lx("export", "--key", wd.key, "--format", "cef", pd)
    cef = r.stdout.splitlines()
    check("export cef: named portal events", any("|portal.login_failed|Portal login failed|6|" in x for x in cef) and
          any("|portal.approve|Original approved|4|" in x for x in cef) and
          any("|portal.download|Safe copy downloaded|2|" in x for x in cef))

    # JSON Lines: the records byte for byte
    r = lx("export", "--key", wd.key, "--format", "jsonl", pd)
    check("export jsonl: every portal record", sum(1 for x in r.stdout.splitlines()
                                                   if '"event":"portal.' in x or '"event":"upload.' in x) ==
          sum(1 for x in recs if x["event"].startswith(PORTAL)))

    # markup in portal records stays text
    hd = wd.sub("hostile")
    genlog(wd, hd, "--component", "portal", "--count", 8, "--start", "2026-11-20T09:00:00+09:00", "--hostile")
    r = lx("report", "--key", wd.key, "--since", "2026-11-20", "--until", "2026-11-21", hd)
    t = Tags()
    t.feed(r.stdout)
    check("hostile: exit 0", r.returncode == 0, r.stderr)
    check("hostile: no markup from the portal records became markup",
          not {"script", "img", "iframe", "embed", "object", "a"} & set(t.tags), str(set(t.tags)))
    check("hostile: shown escaped", "&lt;script&gt;alert(5)&lt;/script&gt;.xlsx" in r.stdout and
          "&lt;img src=x onerror=alert(6)&gt;" in r.stdout and "&lt;svg onload=alert(7)&gt;" in r.stdout and
          "&lt;object data=x&gt;" in r.stdout)
finally:
    wd.cleanup()
done()
