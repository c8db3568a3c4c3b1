#!/usr/bin/env python3
"""The control socket and sekishoctl against the live daemon in the lab.

The daemon runs as the packaged user `sekisho-gw` with the control group
`sekisho`.

- Access: the socket is 0660, owned by the daemon's user, group sekisho.
  A member of the group (supplementary, and by primary group) may run
  `status`; a user outside the group is refused by the daemon's
  SO_PEERCRED check even when the file mode is loosened to 0666, the
  refusal is counted (`ctl_refused`) and logged; with the mode back at 0660
  the kernel refuses the connection itself.
- sekishoctl (the built script, run in the gateway namespace like on the
  appliance): `status` shows the running daemon, `counters` its counters,
  `reload` reloads it (generation moves); `apply` installs the lab policy;
  `apply --try N` of a policy without the LGWAN-ASP rule revokes that flow
  at once, and after N seconds the previous policy comes back by itself
  with the flow allowed again; `apply --try` + `confirm` keeps the new
  policy past the deadline.  The ctl audit chain holds policy.apply,
  policy.rollback (try-timeout) and config.change (confirm) with the hashes;
  the daemon's chain the matching gateway.reload records."""
import json
import os
import re
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gwtest  # noqa: E402
from gwtest import Checker, Server, client  # noqa: E402

gwtest.need_root("gateway-ctl")
BUILD = os.environ.get("SEKISHO_BUILD_ROOT") or gwtest.labmod._default_build()
SEKISHOCTL = os.path.join(BUILD, "tools", "ctl", "sekishoctl")
CTL_AUDIT = os.path.join(BUILD, "tools", "ctl", "sekisho-ctl-audit")
MEMBER, OUTSIDER = "skgwt-member", "skgwt-outsider"     # throwaway users, removed at the end

c = Checker()
lab = gwtest.new_lab("c")
servers = []
made_users = []
sock = os.path.join(lab.run_dir, "gatewayd.sock")


def status():
    return json.loads(lab.ctl("status").stdout)


def ctl_as(uid, gid, *groups_opt):
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", *groups_opt, lab.gatewayd, "ctl", sock,
                           "status"], capture_output=True, text=True)


def sekishoctl(*args):
    env = dict(os.environ, SEKISHO_CONF="/dev/null", SEKISHO_RULEC=lab.rulec, SEKISHO_GATEWAYD=lab.gatewayd,
               SEKISHO_NETFILTER=lab.netfilter, SEKISHO_CTL_AUDIT=CTL_AUDIT, SEKISHO_STATE_DIR=lab.dir,
               SEKISHO_RUN_DIR=os.path.join(lab.tmp, "run"), SEKISHO_CTL_SOCKET=sock,
               SEKISHO_AUDIT_KEY=lab.audit_key, SEKISHO_CTL_AUDIT_DIR=os.path.join(lab.tmp, "log", "ctl"),
               SEKISHO_RULEC_AUDIT_DIR=os.path.join(lab.tmp, "log", "rulec"), SEKISHO_HEALTH_TIMEOUT="10",
               SUDO_USER="tanaka")
    env.pop("SEKISHO_POLICY", None)
    env.pop("SSH_CLIENT", None)      # as on a console: no ssh peer
    for d in ("ctl", "rulec"):
        os.makedirs(os.path.join(lab.tmp, "log", d), exist_ok=True)
    return subprocess.run(["ip", "netns", "exec", lab.ns("gw"), "bash", SEKISHOCTL, *args], capture_output=True,
                          text=True, env=env)


def ctl_records():
    return gwtest.read_audit_dir(os.path.join(lab.tmp, "log", "ctl"))


def asp_flow():
    return client(lab, "lgwan", "198.18.20.150", "198.19.100.10", 443, timeout=2)


try:
    servers.append(Server(lab, "lgwan-wan", "0.0.0.0", 443))
    gwtest.check_unprivileged(c, lab)

    # --- who may use the control socket
    st = os.stat(sock)
    gw_uid = int(subprocess.run(["id", "-u", gwtest.GW_USER], capture_output=True, text=True).stdout)
    ctl_gid = gwtest.ensure_group(gwtest.CTL_GROUP)
    c.expect("socket mode", oct(stat.S_IMODE(st.st_mode)), "0o660")
    c.expect("socket owner: the daemon's user", st.st_uid, gw_uid)
    c.expect("socket group: the control group", st.st_gid, ctl_gid)
    for u in (MEMBER, OUTSIDER):
        if subprocess.run(["getent", "passwd", u], capture_output=True).returncode != 0:
            made_users.append(u)
    member_uid = gwtest.ensure_user(MEMBER, groups=(gwtest.CTL_GROUP,))
    outsider_uid = gwtest.ensure_user(OUTSIDER)
    r = ctl_as(member_uid, MEMBER, "--init-groups")
    c.true("member of the control group (supplementary): status", r.returncode == 0 and '"table_gen"' in r.stdout,
           (r.stdout + r.stderr).strip()[:200])
    r = ctl_as(outsider_uid, ctl_gid, "--clear-groups")
    c.true("primary group = control group: status", r.returncode == 0 and '"table_gen"' in r.stdout,
           (r.stdout + r.stderr).strip()[:200])
    r = ctl_as(outsider_uid, OUTSIDER, "--clear-groups")
    c.true("outsider, mode 0660: the kernel refuses the connection", r.returncode == 2 and '"table_gen"' not in r.stdout,
           (r.stdout + r.stderr).strip()[:200])
    refused0 = status()["ctl_refused"]
    os.chmod(sock, 0o666)
    r = ctl_as(outsider_uid, OUTSIDER, "--clear-groups")
    c.true("outsider, mode loosened to 0666: the daemon refuses",
           r.returncode == 1 and "permission denied" in r.stdout and '"table_gen"' not in r.stdout,
           (r.stdout + r.stderr).strip()[:200])
    r = ctl_as(outsider_uid, OUTSIDER, "--clear-groups")
    os.chmod(sock, 0o660)
    c.expect("refusals counted", status()["ctl_refused"], refused0 + 2)
    c.true("refusal logged", f"control socket: refused uid {outsider_uid}" in open(lab.log).read())

    # --- sekishoctl: status, counters, reload
    r = sekishoctl("status")
    live_hash = status()["policy_sha256"]
    c.true("sekishoctl status: shows the running daemon", r.returncode == 0 and live_hash in r.stdout, r.stdout[-300:])
    c.expect("before: the LGWAN-ASP flow", asp_flow(), "open")
    r = sekishoctl("counters")
    counters = json.loads(r.stdout) if r.returncode == 0 else {}
    c.true("sekishoctl counters: per rule and per queue", bool(counters.get("per_rule")) and
           len(counters.get("per_queue", [])) == lab.queues, r.stdout[:200] + r.stderr)
    gen0 = status()["table_gen"]
    r = sekishoctl("reload")
    c.true("sekishoctl reload", r.returncode == 0 and json.loads(r.stdout).get("result") == "ok", r.stdout + r.stderr)
    c.expect("  generation moved", status()["table_gen"], gen0 + 1)

    # --- apply the lab policy (the one to come back to)
    r = sekishoctl("apply", lab.policy)
    c.expect("sekishoctl apply (the lab policy)", r.returncode, 0)
    base_hash = status()["policy_sha256"]
    c.expect("  the daemon runs it", base_hash, live_hash)

    # --- apply --try of a policy that revokes the LGWAN-ASP flow; rollback by itself
    os.makedirs(lab.tmp + "/revoked")
    revoked = gwtest.make_policy(lab.tmp + "/revoked", drop_line='rule "LGWAN-ASP 利用"')
    try_s = 4
    t0 = time.monotonic()
    r = sekishoctl("apply", "--try", str(try_s), revoked)
    c.true("sekishoctl apply --try (revoking policy)", r.returncode == 0 and "TRIAL" in r.stdout,
           (r.stdout + r.stderr)[-400:])
    new_hash = status()["policy_sha256"]
    c.true("  the daemon runs the new policy", new_hash != base_hash)
    c.expect("  the revoked flow is refused", asp_flow(), "timeout")
    r = sekishoctl("status")
    c.true("  sekishoctl status shows the trial", "trial:" in r.stdout, r.stdout[-300:])
    back = gwtest.wait_for(lambda: status()["policy_sha256"] == base_hash, try_s + 20)
    c.true("  the previous policy came back by itself", back)
    c.true("  not before the deadline", time.monotonic() - t0 >= try_s - 0.5, f"{time.monotonic() - t0:.1f}s")
    c.expect("  the flow is allowed again", asp_flow(), "open")
    c.true("  no trial left", "trial:" not in sekishoctl("status").stdout)

    # --- apply --try + confirm keeps the new policy past the deadline
    r = sekishoctl("apply", "--try", "3", revoked)
    c.expect("sekishoctl apply --try 3 (again)", r.returncode, 0)
    r = sekishoctl("confirm")
    c.true("sekishoctl confirm", r.returncode == 0 and "confirmed" in r.stdout, r.stdout + r.stderr)
    time.sleep(5)
    c.expect("  past the deadline: still the new policy", status()["policy_sha256"], new_hash)
    c.expect("  the revoked flow stays refused", asp_flow(), "timeout")
    c.expect("confirm with nothing pending", sekishoctl("confirm").returncode, 1)

    # --- the audit records
    recs = ctl_records()
    applies = [x["data"] for x in recs if x["event"] == "policy.apply"]
    c.true("ctl audit: policy.apply permanent ok",
           any(a.get("result") == "ok" and a.get("mode") == "permanent" and a.get("policy_sha256") == base_hash
               for a in applies), applies)
    c.expect("ctl audit: two trials applied", len([a for a in applies if a.get("mode") == "try" and
                                                     a.get("result") == "ok" and a.get("policy_sha256") == new_hash]), 2)
    rb = [x["data"] for x in recs if x["event"] == "policy.rollback"]
    c.true("ctl audit: policy.rollback after the try timeout",
           len(rb) == 1 and rb[0].get("reason") == "try-timeout" and rb[0].get("result") == "ok" and
           rb[0].get("policy_sha256") == base_hash and rb[0].get("rolled_back_policy_sha256") == new_hash, rb)
    cf = [x["data"] for x in recs if x["event"] == "config.change"]
    c.true("ctl audit: config.change confirm", len(cf) == 1 and cf[0].get("action") == "confirm" and
           cf[0].get("policy_sha256") == new_hash, cf)
    mine = [x["data"] for x in recs if x["event"] in ("policy.apply", "policy.rollback", "config.change")]
    c.true("ctl audit: who did it", len(mine) == 5 and all(d.get("user") == "tanaka" for d in mine),
           [d.get("user") for d in mine])
    reloads = [x["data"] for x in gwtest.audit_records(lab) if x["event"] == "gateway.reload"]
    hashes = [x.get("policy_sha256") for x in reloads if x.get("result") == "ok"]
    c.true("daemon audit: reloads to the new policy, back, and to it again",
           re.search("B+N+B+N", "".join("N" if h == new_hash else "B" if h == base_hash else "?" for h in hashes))
           is not None, hashes)
finally:
    for s in servers:
        s.kill()
    lab.down()
    for u in made_users:
        subprocess.run(["userdel", u], capture_output=True)
c.finish()
