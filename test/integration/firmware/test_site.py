#!/usr/bin/env python3
"""firmware/sekisho-site: the example site file renders into a temporary root
with the .link names by MAC, the .network addresses and routes, sshd on the
management address only, the relay's next hops in main.cf, and the policy
bound to the segments (checked by the real compiler); variants of the site
file change exactly what they should; bad site files are refused with
FILE:LINE and nothing is written.  No root, no network.

    test_site.py SEKISHO_RULEC"""
import os
import re
import subprocess
import sys
import tempfile

SRC = os.environ["SEKISHO_SOURCE_ROOT"]
TOOL = os.path.join(SRC, "firmware", "sekisho-site.py")
EXAMPLE = os.path.join(SRC, "firmware", "site.example")
RULEC = sys.argv[1]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        return f.read()


def site_variant(tmpdir, name, edit):
    """An edited copy of the example in TMPDIR (its policy path made absolute)."""
    with open(EXAMPLE, encoding="utf-8") as f:
        text = f.read()
    new = edit(text)
    assert new != text, f"variant {name} changed nothing"
    new = new.replace("policy = ../rules/examples/", f"policy = {SRC}/rules/examples/")
    path = os.path.join(tmpdir, name + ".site")
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)
    return path


def render(site, root):
    return subprocess.run([TOOL, "render", site, root], capture_output=True, text=True)


def line_of(site, needle):
    with open(site, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if needle in line:
                return n
    raise AssertionError(needle)


def firstboot_certs(made):
    """firmware/image/sekisho-firstboot's certificate part against a rendered
    portal.conf (its /etc/sekisho made the temporary root's): judged by
    openssl's own reading of what it made."""
    with open(os.path.join(SRC, "firmware/image/sekisho-firstboot"), encoding="utf-8") as f:
        script = f.read()
    part = script[script.index("\nconf() {"):script.index("\nif [ ! -f /var/lib/sekisho/policy.table ]")]
    for name, edit, want_san in (
            ("v4", lambda t: t, ["IP Address:198.18.20.1"]),
            ("v6", lambda t: t.replace("lgwan_address = 198.18.20.1", "lgwan_address = 2001:db8:20::1")
             .replace("url = https://198.18.20.1", "url = https://portal.city.example.lg.jp:8443/")
             .replace("internet_address = 198.18.30.1\n", ""),
             ["IP Address:2001:DB8:20:0:0:0:0:1", "DNS:portal.city.example.lg.jp"])):
        v = site_variant(made, "firstboot-" + name, lambda t, edit=edit: edit(t).replace("hostname = sekisho-johoku",
                                                                                        "hostname = sekisho-fb"))
        with tempfile.TemporaryDirectory() as root:
            check(render(v, root).returncode == 0, f"first boot {name}: rendered")
            etc = os.path.join(root, "etc/sekisho")
            code = "set -euo pipefail\numask 077\n" + part.replace("/etc/sekisho", etc)
            runs = [subprocess.run(["bash", "-c", code], capture_output=True, text=True) for _ in range(2)]
            crt, key = os.path.join(etc, "tls/portal.crt"), os.path.join(etc, "tls/portal.key")
            ok = all(r.returncode == 0 for r in runs) and os.path.exists(crt)
            san = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName,basicConstraints,extendedKeyUsage",
                                  "-in", crt], capture_output=True, text=True).stdout if ok else ""
            pub1 = subprocess.run(["openssl", "x509", "-noout", "-pubkey", "-in", crt], capture_output=True).stdout if ok else b"1"
            pub2 = subprocess.run(["openssl", "pkey", "-pubout", "-in", key], capture_output=True).stdout if ok else b"2"
            check(ok and all(s in san for s in want_san) and "CA:FALSE" in san and "TLS Web Server Authentication" in san
                  and pub1 == pub2 and os.stat(key).st_mode & 0o777 == 0o600
                  and os.stat(os.path.dirname(key)).st_mode & 0o777 == 0o700
                  and "created" in runs[0].stdout and "created" not in runs[1].stdout,
                  f"first boot {name}: a self-signed certificate for {want_san}, its key 0600, made once "
                  f"({san.split()[-6:]}; {[r.stderr.strip()[-100:] for r in runs]})")
            check(os.path.exists(os.path.join(etc, "tls/upload.key")) == (name == "v4"),
                  f"first boot {name}: the upload portal's certificate exactly when it has an address")


def main():
    with tempfile.TemporaryDirectory() as made:
        run(made)


def run(made):
    with tempfile.TemporaryDirectory() as root:
        r = render(EXAMPLE, root)
        check(r.returncode == 0, f"example renders ({r.stderr.strip()})")
        segs = {"sk-mynumber": "52:54:00:5e:10:01", "sk-lgwan": "52:54:00:5e:20:01",
                "sk-lgwanwan": "52:54:00:5e:50:01", "sk-internet": "52:54:00:5e:30:01",
                "sk-mgmt": "52:54:00:5e:40:01"}
        for name, mac in segs.items():
            link = read(root, f"etc/systemd/network/10-{name}.link")
            check(f"MACAddress={mac}\n" in link and f"Name={name}\n" in link,
                  f"{name}: .link names the port with MAC {mac}")
        net = read(root, "etc/systemd/network/20-sk-lgwan.network")
        check("Name=sk-lgwan\n" in net and "Address=198.18.20.1/24\n" in net
              and "Address=2001:db8:20::1/64\n" in net, "sk-lgwan: both addresses")
        check("IPv6AcceptRA=no" in net and "Gateway=" not in net, "sk-lgwan: no RA, no route")
        net = read(root, "etc/systemd/network/20-sk-lgwanwan.network")
        check("[Route]\nDestination=198.19.0.0/16\nGateway=198.19.0.254\n" in net, "sk-lgwanwan: the LGWAN route")
        net = read(root, "etc/systemd/network/20-sk-internet.network")
        check("[Route]\nGateway=198.18.30.254\n" in net, "sk-internet: the default route")
        check("RequiredForOnline=yes" in read(root, "etc/systemd/network/20-sk-mgmt.network")
              and "RequiredForOnline=no" in net, "online = the management segment")
        check(not any(f.endswith(".network") and "IPForward" in read(root, f"etc/systemd/network/{f}")
                      for f in os.listdir(os.path.join(root, "etc/systemd/network"))),
              "no .network turns on global forwarding (sysctl.d decides per interface)")

        sshd = read(root, "etc/ssh/sshd_config.d/50-sekisho.conf")
        listen = re.findall(r"^ListenAddress (\S+)$", sshd, re.M)
        check(listen == ["198.18.40.1"], f"sshd listens on the management address only ({listen})")
        keys = os.path.join(root, "root/.ssh/authorized_keys")
        check(read(root, "root/.ssh/authorized_keys").startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5")
              and os.stat(keys).st_mode & 0o777 == 0o600
              and os.stat(os.path.dirname(keys)).st_mode & 0o777 == 0o700,
              "administrators' key: root's authorized_keys 0600 in a 0700 directory")
        check("PasswordAuthentication no" in sshd, "sshd: no passwords")
        check("After=network-online.target" in read(root, "etc/systemd/system/ssh.service.d/50-sekisho.conf"),
              "sshd starts after its address exists")

        main_cf = read(root, "etc/postfix/main.cf")

        def pf(key):
            m = re.findall(rf"^{key} = (.*)$", main_cf, re.M)
            return m[-1] if len(m) == 1 else f"<{len(m)} lines>"
        check(pf("relay_transport") == "relay:[198.18.20.25]:25", "relay to the LGWAN mail server")
        check(pf("relay_domains") == "city.example.lg.jp", "relay domains")
        check(pf("mynetworks") == "127.0.0.0/8, [::1]/128", "no outward relay: loopback only in mynetworks")
        check(pf("default_transport").startswith("error:"), "no outward relay: default transport refuses")
        check(pf("myhostname") == "sekisho-johoku.city.example.lg.jp", "myhostname")
        check(pf("smtpd_milters") == "unix:/run/sekisho/milter/milter.sock",
              "smtpd_milters: the socket of the shipped sanitizer.conf")
        check(read(root, "etc/postfix/master.cf") == read(SRC, "firmware/postfix/master.cf"), "master.cf")
        check(read(root, "etc/hostname") == "sekisho-johoku\n", "hostname")
        check(read(root, "etc/resolv.conf").endswith("nameserver 198.18.20.53\n"), "resolver")
        check("NTP=198.18.20.123\n" in read(root, "etc/systemd/timesyncd.conf.d/50-sekisho.conf"), "NTP")
        check("SEKISHO_POLICY=/etc/sekisho/policy.d/main.policy" in read(root, "etc/sekisho/sekisho.conf"),
              "sekisho.conf names the installed policy")

        # an installation that kept an older sanitizer.conf (loopback TCP):
        # Postfix is pointed where the milter listens; a bad socket renders nothing
        for spec, want in (("inet:10025@127.0.0.1", "inet:127.0.0.1:10025"), ("inet6:10025@::1", "inet:[::1]:10025"),
                           ("unix:/run/other/m.sock", "unix:/run/other/m.sock"), ("tcp:25", None)):
            with tempfile.TemporaryDirectory() as r2:
                os.makedirs(os.path.join(r2, "etc/sekisho"))
                with open(os.path.join(r2, "etc/sekisho/sanitizer.conf"), "w") as f:
                    f.write("# kept from an older version\nSEKISHO_MILTER_SOCKET=%s\n" % spec)
                rr = render(EXAMPLE, r2)
                if want:
                    got = re.findall(r"^smtpd_milters = (.*)$", read(r2, "etc/postfix/main.cf"), re.M)
                    check(rr.returncode == 0 and got == [want], f"sanitizer.conf {spec}: smtpd_milters {got}")
                else:
                    check(rr.returncode != 0 and "SEKISHO_MILTER_SOCKET" in rr.stderr
                          and not os.path.exists(os.path.join(r2, "etc/hostname")),
                          f"sanitizer.conf {spec}: refused, nothing written ({rr.stderr.strip()})")

        # the file portals ([portal]): portal.conf names each portal's own address,
        # the URL in the milter's and the worker's options; no certificate given:
        # none written (first boot makes them)
        pc = read(root, "etc/sekisho/portal.conf")

        def env(key):
            m = re.findall(rf"^{key}=(.*)$", pc, re.M)
            return m[-1] if len(m) == 1 else f"<{len(m)} lines>"
        check(env("SEKISHO_PORTAL_LISTEN") == "198.18.20.1:443" and env("SEKISHO_UPLOAD_LISTEN") == "198.18.30.1:443",
              "portal.conf: the LGWAN portal on the LGWAN address, the upload portal on the Internet one")
        check(env("SEKISHO_PORTAL_URL") == "https://198.18.20.1" and env("SEKISHO_UPLOAD_RCPT_DOMAIN") == "city.example.lg.jp",
              "portal.conf: URL, the uploads' recipient domain")
        check(env("SEKISHO_MILTER_PORTAL_OPTS") == "--links-dir /var/lib/sekisho/links --copies-dir /var/lib/sekisho/copies "
              "--portal-url https://198.18.20.1 --link-days 7 --deliver-copies link --originals on",
              f"portal.conf: the milter's link options ({env('SEKISHO_MILTER_PORTAL_OPTS')})")
        check(env("SEKISHO_CDRD_PORTAL_OPTS") == "--portal-url https://198.18.20.1 --smtp 127.0.0.1:10026 "
              "--mail-from sekisho-portal@sekisho-johoku.city.example.lg.jp",
              f"portal.conf: the worker's options ({env('SEKISHO_CDRD_PORTAL_OPTS')})")
        popts = env("SEKISHO_PORTAL_OPTS").split()
        check("--originals" in popts and popts[popts.index("--originals") + 1] == "on" and "--two-approvers" not in popts
              and popts[popts.index("--release-hours") + 1] == "24" and "--max-conn" in popts,
              f"portal.conf: the portal's options ({' '.join(popts)})")
        check("--approval off" in env("SEKISHO_UPLOAD_OPTS"), "portal.conf: the upload's approval option")
        check(not os.path.exists(os.path.join(root, "etc/sekisho/tls")), "no certificate given: none written")
        for unit, allow in (("sekisho-portal", "198.18.20.0/24 2001:db8:20::/64"), ("sekisho-upload", "198.18.30.0/24")):
            drop = read(root, f"etc/systemd/system/{unit}.service.d/50-site.conf")
            check("\n[Service]\nIPAddressDeny=any\n" in drop and re.findall(r"^IPAddressAllow=(.*)$", drop, re.M) == [allow],
                  f"{unit}: peers only its segment's networks, not the default route ({allow})")

        pol = read(root, "etc/sekisho/policy.d/main.policy")
        zones = dict(re.findall(r"^zone\s+(\S+)\s.*?\binterface\s+(\S+)", pol, re.M))
        check(zones == {"mynumber": "sk-mynumber", "lgwan": "sk-lgwan", "lgwan-wan": "sk-lgwanwan",
                        "internet": "sk-internet", "mgmt": "sk-mgmt"}, f"zones bound to the segments ({zones})")
        check(os.path.isfile(os.path.join(root, "etc/sekisho/policy.d/objects.policy")), "include file copied")
        r = subprocess.run([RULEC, "--no-color", "check", os.path.join(root, "etc/sekisho/policy.d/main.policy")],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"the bound policy passes sekisho-rulec check ({r.stderr.strip()[-300:]})")

    # variants: outward relay; a zone without a segment
    v = site_variant(made, "relay", lambda t: t.replace("internet_relayhost =", "internet_relayhost = 198.18.31.25:587")
                     .replace("mynetworks =", "mynetworks = 198.18.20.26/32"))
    with tempfile.TemporaryDirectory() as root:
        r = render(v, root)
        main_cf = read(root, "etc/postfix/main.cf")
        check(r.returncode == 0 and "\nrelayhost = [198.18.31.25]:587\n" in main_cf
              and "\ndefault_transport = smtp\n" in main_cf
              and "\nmynetworks = 127.0.0.0/8, [::1]/128, 198.18.20.25/32, 198.18.20.26/32\n" in main_cf,
              "internet_relayhost: relayhost, smtp transport, the LGWAN mail server may relay out")
    v = site_variant(made, "unbound", lambda t: re.sub(r"\[segment mynumber\].*?\n\n", "", t, flags=re.S))
    with tempfile.TemporaryDirectory() as root:
        r = render(v, root)
        pol = read(root, "etc/sekisho/policy.d/main.policy") if r.returncode == 0 else ""
        check(r.returncode == 0 and 'zone "mynumber" has no segment' in r.stderr
              and re.search(r"^zone mynumber .*interface sk-none1 ", pol, re.M) is not None
              and not os.path.exists(os.path.join(root, "etc/systemd/network/10-sk-mynumber.link")),
              "a zone without a segment: warned, bound to a name no interface has")
        r = subprocess.run([RULEC, "--no-color", "check", os.path.join(root, "etc/sekisho/policy.d/main.policy")],
                           capture_output=True, text=True)
        check(r.returncode == 0, "that policy still compiles")

    # [portal] variants: none (portals off), the options, the site's certificates
    v = site_variant(made, "noportal", lambda t: t[:t.index("[portal]")])
    with tempfile.TemporaryDirectory() as root:
        r = render(v, root)
        pc = read(root, "etc/sekisho/portal.conf") if r.returncode == 0 else ""
        check(r.returncode == 0 and re.search(r"^SEKISHO_PORTAL_LISTEN=$", pc, re.M)
              and re.search(r"^SEKISHO_UPLOAD_LISTEN=$", pc, re.M) and re.search(r"^SEKISHO_MILTER_PORTAL_OPTS=$", pc, re.M),
              "no [portal]: portal.conf names no address (the units are skipped), no links")
    v = site_variant(made, "portalopts", lambda t: t.replace("two_approvers = no", "two_approvers = yes")
                     .replace("originals = on", "originals = off").replace("deliver_copies = link", "deliver_copies = mail")
                     .replace("upload_approval = off", "upload_approval = on").replace("link_days = 7", "link_days = 14")
                     .replace("internet_address = 198.18.30.1\n", "").replace("url = https://198.18.20.1", "url = https://portal.city.example.lg.jp/"))
    with tempfile.TemporaryDirectory() as root:
        r = render(v, root)
        pc = read(root, "etc/sekisho/portal.conf") if r.returncode == 0 else ""
        check(r.returncode == 0 and "--originals off" in pc and "--two-approvers" in pc and "--approval on" in pc
              and "--link-days 14 --deliver-copies mail" in pc and "--portal-url https://portal.city.example.lg.jp " in pc
              and re.search(r"^SEKISHO_UPLOAD_LISTEN=$", pc, re.M) and re.search(r"^SEKISHO_UPLOAD_RCPT_DOMAIN=$", pc, re.M),
              "[portal] options reach portal.conf; without internet_address no upload portal")
    firstboot_certs(made)

    tls = os.path.join(made, "tls")
    os.makedirs(tls)
    for n in ("a", "b"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "2", "-subj", f"/CN={n}", "-keyout", f"{tls}/{n}.key", "-out", f"{tls}/{n}.crt"],
                       check=True, capture_output=True)
    v = site_variant(made, "certs", lambda t: t.replace("#cert = tls/portal.crt", "cert = tls/a.crt")
                     .replace("#key = tls/portal.key", "key = tls/a.key")
                     .replace("#upload_cert = tls/upload.crt", "upload_cert = tls/b.crt")
                     .replace("#upload_key = tls/upload.key", "upload_key = tls/b.key"))
    with tempfile.TemporaryDirectory() as root:
        r = render(v, root)
        ok = r.returncode == 0
        for name, src in (("portal", "a"), ("upload", "b")):
            key = os.path.join(root, f"etc/sekisho/tls/{name}.key")
            ok = ok and os.path.exists(key) and read(root, f"etc/sekisho/tls/{name}.crt") == read(tls, f"{src}.crt") \
                and read(root, f"etc/sekisho/tls/{name}.key") == read(tls, f"{src}.key") \
                and os.stat(key).st_mode & 0o777 == 0o600
        check(ok and os.stat(os.path.join(root, "etc/sekisho/tls")).st_mode & 0o777 == 0o700,
              f"the site's certificates: tls/portal.* and upload.*, keys 0600 in a 0700 directory ({r.stderr.strip()})")

    # refused: (name, edit, text on the reported line, message)
    bad = [
        ("mac", lambda t: t.replace("mac = 52:54:00:5e:20:01", "mac = 52:54:00:5e:20"),
         "mac = 52:54:00:5e:20", "is not a MAC address"),
        ("dupmac", lambda t: t.replace("mac = 52:54:00:5e:50:01", "mac = 52:54:00:5e:20:01"),
         "mac = 52:54:00:5e:20:01\naddress = 198.19", "already used at line"),
        ("multicast", lambda t: t.replace("mac = 52:54:00:5e:20:01", "mac = 01:00:5e:00:00:01"),
         "mac = 01:00:5e:00:00:01", "multicast"),
        ("name", lambda t: t.replace("name = sk-lgwan\n", "name = eth2\n"), "name = eth2", "must be \"sk-\""),
        ("longname", lambda t: t.replace("name = sk-lgwan\n", "name = sk-lgwan-segment0\n"),
         "name = sk-lgwan-segment0", "at most 15 bytes"),
        ("dupname", lambda t: t.replace("name = sk-internet", "name = sk-lgwan"), "name = sk-lgwan\nzone = internet", "already used at line"),
        ("addr", lambda t: t.replace("address = 198.18.30.1/24", "address = 198.18.30.300/24"),
         "198.18.30.300", "is not ADDRESS/PREFIXLEN"),
        ("noprefix", lambda t: t.replace("address = 198.18.30.1/24", "address = 198.18.30.1"),
         "address = 198.18.30.1", "needs a prefix length"),
        ("dupaddr", lambda t: t.replace("address = 198.18.30.1/24", "address = 198.18.20.1/24"),
         "address = 198.18.20.1/24\ngateway", "already used"),
        ("gw", lambda t: t.replace("gateway = 198.18.30.254", "gateway = 198.18.99.254"),
         "gateway = 198.18.99.254", "not in a network of this segment"),
        ("twogw", lambda t: t.replace("address = 198.18.40.1/24", "address = 198.18.40.1/24\ngateway = 198.18.40.254"),
         "gateway = 198.18.40.254", "already given"),
        ("route", lambda t: t.replace("route = 198.19.0.0/16 via 198.19.0.254", "route = 198.19.0.0/16 198.19.0.254"),
         "route = 198.19.0.0/16 198.19.0.254", "expected \"NETWORK/LEN via ADDRESS\""),
        ("nomgmt", lambda t: t.replace("management = yes", "management = no"), "[segment mynumber]",
         "exactly one segment needs \"management = yes\""),
        ("twomgmt", lambda t: t.replace("zone = internet", "zone = internet\nmanagement = yes"),
         "[segment mgmt]", "(found 2)"),
        ("key", lambda t: t.replace("zone = lgwan\n", "zone = lgwan\nmtu = 9000\n"), "mtu = 9000", "unknown key"),
        ("zone", lambda t: t.replace("zone = lgwan\n", "zone = lgwan2\n"), "zone = lgwan2", "not defined in the policy"),
        ("section", lambda t: t.replace("[mail]", "[smtp]"), "[smtp]", "unknown section"),
        ("policy", lambda t: t.replace("policy = ../rules/examples/municipality.policy", "policy = nosuch.policy"),
         "policy = nosuch.policy", "does not exist"),
        ("relay", lambda t: t.replace("lgwan_mail_server = 198.18.20.25", "lgwan_mail_server = mail.lgwan"),
         "lgwan_mail_server = mail.lgwan", "expected ADDRESS"),
        ("nomailhop", lambda t: t.replace("lgwan_mail_server = 198.18.20.25", "lgwan_mail_server ="),
         "[mail]", '"lgwan_mail_server" is missing'),
        ("syntax", lambda t: t.replace("hostname = sekisho-johoku", "hostname sekisho-johoku"),
         "hostname sekisho-johoku", "expected \"key = value\""),
        ("sshkey", lambda t: t.replace("ssh_key = ssh-ed25519 AAAA", "ssh_key = ssh-dss AAAA"),
         "ssh_key = ssh-dss", "OpenSSH public key"),
        ("twice", lambda t: t.replace("zone = lgwan\n", "zone = lgwan\nzone = internet\n"),
         "zone = internet\nmac = 52:54:00:5e:20:01", "given twice"),
    ]
    # [portal]: one key's value swapped; reported on that line
    for name, old, new, msg in (
            ("portaladdr", "lgwan_address = 198.18.20.1", "lgwan_address = 198.18.20.9", "is not an address of a segment"),
            ("portalmgmt", "lgwan_address = 198.18.20.1", "lgwan_address = 198.18.40.1", "on the management segment"),
            ("portalsame", "internet_address = 198.18.30.1", "internet_address = 2001:db8:20::1",
             "same segment as lgwan_address"),
            ("portalurl", "url = https://198.18.20.1", "url = http://198.18.20.1", "expected https://HOST[:PORT]"),
            ("portalurlpath", "url = https://198.18.20.1", "url = https://198.18.20.1/../x", "expected https://HOST[:PORT]"),
            ("portalrcpt", "rcpt_domain = city.example.lg.jp", "rcpt_domain = example.com", "not one of [mail] relay_domains"),
            ("portaldays", "link_days = 7", "link_days = 0", "from 1 to 365"),
            ("portalcopies", "deliver_copies = link", "deliver_copies = both", "link or mail"),
            ("portalfrom", "#mail_from = sekisho-portal@", "mail_from = a b@", "not a mail address"),
            ("portalhalf", "#cert = tls/portal.crt", "cert = tls/a.crt", "cert and key go together")):
        bad.append((name, lambda t, old=old, new=new: t.replace(old, new), new, msg))
    bad += [
        ("portalnone", lambda t: t.replace("lgwan_address = 198.18.20.1\n", ""), "[portal]", '"lgwan_address" is missing'),
        ("portalnocert", lambda t: t.replace("#cert = tls/portal.crt", "cert = tls/nosuch.crt")
         .replace("#key = tls/portal.key", "key = tls/a.key"), "cert = tls/nosuch.crt", "No such file"),
        ("portalnotpem", lambda t: t.replace("#cert = tls/portal.crt", "cert = tls/a.key")
         .replace("#key = tls/portal.key", "key = tls/a.key"), "cert = tls/a.key", "is not a PEM certificate"),
        ("portalpair", lambda t: t.replace("#cert = tls/portal.crt", "cert = tls/a.crt")
         .replace("#key = tls/portal.key", "key = tls/b.key"), "key = tls/b.key", "is not the key of cert"),
        ("portaltwice", lambda t: t + "\n[ portal ]\nlgwan_address = 198.18.20.1\n", "[ portal ]", "given twice"),
    ]
    for name, edit, where, msg in bad:
        v = site_variant(made, name, edit)
        with open(v, encoding="utf-8") as f:
            text = f.read()
        n = text[:text.index(where)].count("\n") + 1
        with tempfile.TemporaryDirectory() as root:
            r = render(v, root)
            written = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
            want = f"{v}:{n}: "
            got = [ln for ln in r.stderr.splitlines() if ln.startswith(want) and msg in ln]
            check(r.returncode == 1 and got and not written,
                  f"refused: {name} at line {n} ({r.stderr.strip().splitlines()[:2]})")
    r = subprocess.run([TOOL, "check", "/nonexistent/site"], capture_output=True, text=True)
    check(r.returncode == 1 and "/nonexistent/site" in r.stderr, "a missing site file is an error")
    v = os.path.join(made, "utf8.site")
    with open(v, "wb") as f:
        f.write(open(EXAMPLE, "rb").read().replace(b"hostname = sekisho-johoku", b"hostname = \xff"))
    r = subprocess.run([TOOL, "check", v], capture_output=True, text=True)
    check(r.returncode == 1 and f"{v}:{line_of(EXAMPLE, 'hostname = sekisho-johoku')}: not UTF-8" in r.stderr,
          "not UTF-8: refused with its line")


if __name__ == "__main__":
    main()
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)
