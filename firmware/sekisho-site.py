#!/usr/bin/python3
"""sekisho-site: turn a site file into the appliance's configuration.

    sekisho-site check SITE             validate; errors as SITE:LINE: message
    sekisho-site render SITE DESTROOT   validate, then write the files below DESTROOT
    sekisho-site --help | --version

Written (paths below DESTROOT):
  etc/hostname, etc/hosts
  etc/systemd/network/10-<name>.link       stable name by MAC for each segment
  etc/systemd/network/20-<name>.network    addresses, routes (systemd-networkd)
  etc/postfix/main.cf, master.cf           the relay with the site's next hops, and
                                           smtpd_milters = the socket in sanitizer.conf
  etc/ssh/sshd_config.d/50-sekisho.conf    ListenAddress = management addresses only
  root/.ssh/authorized_keys                the administrators' keys (ssh_key)
  etc/systemd/system/ssh.service.d/50-sekisho.conf   sshd after the address exists
  etc/systemd/timesyncd.conf.d/50-sekisho.conf, etc/resolv.conf
  etc/sekisho/sekisho.conf, etc/sekisho/site.conf (a copy of SITE)
  etc/sekisho/portal.conf                  the file portals' addresses, URL and options
                                           (empty addresses without a [portal] section)
  etc/sekisho/tls/portal.crt, portal.key   the site's certificates when [portal] names
  etc/sekisho/tls/upload.crt, upload.key   them (else first boot makes self-signed ones)
  etc/systemd/system/sekisho-{portal,upload}.service.d/50-site.conf
                                           the peers each portal may talk to: its segment's
                                           networks and routes (IPAddressAllow=)
  etc/sekisho/policy.d/                    the policy with the zones bound to the segments

Templates (main.cf, master.cf, sekisho.conf, portal.conf) come from DESTROOT when sekisho
is installed there, else from this script's directory (the source tree).
The format is described in firmware/site.example and docs/image.md.
"""
import gettext
import ipaddress
import locale
import os
import re
import shutil
import subprocess
import sys


def messages():
    """The operator's language, as the C programs get it (common/i18n.c,
    docs/i18n.md): the "sekisho" catalogue from $SEKISHO_LOCALEDIR, else the
    installed share/locale (beside this script's lib/sekisho, else the
    system's).  Python's gettext reads $LANGUAGE even under the C locale;
    glibc does not, so neither do we: LANG=C stays English.  English when
    there is no catalogue."""
    try:
        locale.setlocale(locale.LC_MESSAGES, '')  # strerror in the same language
    except locale.Error:
        pass
    env = os.environ
    loc = env.get('LC_ALL') or env.get('LC_MESSAGES') or env.get('LANG') or 'C'
    if loc in ('C', 'POSIX'):
        return gettext.NullTranslations()
    langs = [lang for lang in env.get('LANGUAGE', '').split(':') if lang] or [loc]
    localedir = env.get('SEKISHO_LOCALEDIR')
    if not localedir:
        mine = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'share', 'locale')
        localedir = mine if os.path.isdir(mine) else None
    return gettext.translation('sekisho', localedir, languages=langs, fallback=True)


_T = messages()
_ = _T.gettext
ngettext = _T.ngettext

MAX_SITE_BYTES = 1 << 20        # a site file is a few KiB; refuse anything absurd
MAX_POLICY_FILES = 64           # include chain of the policy
SECTIONS = {'site', 'segment', 'mail', 'portal'}
KEYS = {
    'site': {'hostname', 'domain', 'policy', 'ntp', 'dns', 'ssh_key'},
    'segment': {'name', 'zone', 'mac', 'address', 'gateway', 'route', 'management'},
    'mail': {'relay_domains', 'lgwan_mail_server', 'internet_relayhost', 'mynetworks'},
    'portal': {'lgwan_address', 'internet_address', 'url', 'cert', 'key', 'upload_cert', 'upload_key',
               'rcpt_domain', 'mail_from', 'link_days', 'deliver_copies', 'originals', 'two_approvers',
               'release_hours', 'upload_approval'},
}
MAX_PEM_BYTES = 1 << 16         # a certificate chain or a key is a few KiB
URL_RE = re.compile(r'^https://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?/?$')
MAIL_RE = re.compile(r'^[A-Za-z0-9.!#$%&*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}$')
REPEATABLE = {'ntp', 'dns', 'address', 'gateway', 'route', 'relay_domains', 'mynetworks', 'ssh_key'}
LINE_LISTS = {'ssh_key'}        # repeated as lines only: a key's comment may hold commas
SSH_KEY_RE = re.compile(r'^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com'
                        r'|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$')
HOST_RE = re.compile(r'^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
                     r'(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$')
IFNAME_RE = re.compile(r'^sk-[A-Za-z0-9_.-]{1,12}$')
MAC_RE = re.compile(r'^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$')
ZONE_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_-]*$')


class SiteError(Exception):
    pass


class Site:
    """The parsed file: sections as lists of (key, value, line)."""

    def __init__(self, path):
        self.path = path
        self.errors = []
        self.sections = []          # (kind, name, line, {key: [(value, line)]})

    def err(self, line, msg):
        self.errors.append(f'{self.path}:{line}: {msg}')

    def values(self, sec, key):
        return sec[3].get(key, [])

    def one(self, sec, key, required=True):
        v = sec[3].get(key, [])
        if not v:
            if required:
                section = f'[{sec[0]}{" " + sec[1] if sec[1] else ""}]'
                self.err(sec[2], _('{section}: "{key}" is missing').format(section=section, key=key))
            return None, sec[2]
        return v[-1]


def parse(path):
    site = Site(path)
    try:
        with open(path, 'rb') as f:
            raw = f.read(MAX_SITE_BYTES + 1)
    except OSError as e:
        raise SiteError(f'{path}: {e.strerror}')  # the C library's words (LC_MESSAGES)
    if len(raw) > MAX_SITE_BYTES:
        raise SiteError(_('{path}: larger than {max} bytes').format(path=path, max=MAX_SITE_BYTES))
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b'\n') + 1
        raise SiteError(_('{path}:{line}: not UTF-8').format(path=path, line=line))
    cur = None
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith('#'):
            continue
        m = re.fullmatch(r'\[\s*([a-z]+)(?:\s+([^\]\s]+))?\s*\]', s)
        if m:
            kind, name = m.group(1), m.group(2) or ''
            if kind not in SECTIONS:
                site.err(n, _('unknown section [{kind}] (sections: site, segment NAME, mail, portal)').format(kind=kind))
                cur = None
                continue
            if (kind == 'segment') != bool(name):
                site.err(n, _('[segment NAME] needs a name') if kind == 'segment'
                         else _('[{kind}] takes no name').format(kind=kind))
            if any(sec[0] == kind and sec[1] == name for sec in site.sections):
                site.err(n, _('section [{section}] given twice').format(section=f'{kind}{" " + name if name else ""}'))
            cur = (kind, name, n, {})
            site.sections.append(cur)
            continue
        if '=' not in s:
            site.err(n, _('expected "key = value" or "[section]"'))
            continue
        key, value = (x.strip() for x in s.split('=', 1))
        if cur is None:
            site.err(n, _('"{key}" outside a section').format(key=key))
            continue
        if key not in KEYS[cur[0]]:
            site.err(n, _('unknown key "{key}" in [{section}] (keys: {keys})').format(
                key=key, section=cur[0], keys=", ".join(sorted(KEYS[cur[0]]))))
            continue
        if key in cur[3] and key not in REPEATABLE:
            site.err(n, _('"{key}" given twice in this section').format(key=key))
        parts = [p.strip() for p in value.split(',')] if key in REPEATABLE - LINE_LISTS else [value]
        for p in parts:
            if p:
                cur[3].setdefault(key, []).append((p, n))
            elif key not in REPEATABLE:
                cur[3].setdefault(key, [])
    return site


def validate(site):
    """Check everything; return the model the writers use."""
    secs = {k: [s for s in site.sections if s[0] == k] for k in SECTIONS}
    model = {'segments': [], 'ntp': [], 'dns': []}
    if len(secs['site']) != 1:
        site.err(1, _('exactly one [site] section is needed'))
        return model
    st = secs['site'][0]
    host, ln = site.one(st, 'hostname')
    if host is not None and not HOST_RE.match(host):
        site.err(ln, _('hostname "{host}" is not a valid host name').format(host=host))
    model['hostname'] = host
    dom, ln = site.one(st, 'domain')
    if dom is not None and not HOST_RE.match(dom):
        site.err(ln, _('domain "{domain}" is not a valid domain name').format(domain=dom))
    model['domain'] = dom
    pol, ln = site.one(st, 'policy')
    if pol is not None:
        p = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(site.path)), pol))
        if not os.path.isfile(p):
            site.err(ln, _('policy file "{file}" does not exist ({path})').format(file=pol, path=p))
        model['policy'] = (p, ln)
    for key in ('ntp', 'dns'):
        for v, ln in site.values(st, key):
            try:
                model[key].append(str(ipaddress.ip_address(v)))
            except ValueError:
                if key == 'ntp' and HOST_RE.match(v):
                    model[key].append(v)
                else:
                    site.err(ln, _('{key} "{value}" is not an IP address').format(key=key, value=v))

    model['ssh_keys'] = []
    for v, ln in site.values(st, 'ssh_key'):
        if SSH_KEY_RE.match(v):
            model['ssh_keys'].append(v)
        else:
            site.err(ln, _('ssh_key: expected "TYPE BASE64 [comment]" (an OpenSSH public key line)'))

    names, macs, addrs, gw_fam = {}, {}, {}, {}
    mgmt = []
    for sec in secs['segment']:
        seg = {'section': sec[1], 'line': sec[2], 'addresses': [], 'gateways': [], 'routes': []}
        name, ln = site.one(sec, 'name')
        if name is not None:
            if not IFNAME_RE.match(name):
                site.err(ln, _('interface name "{name}": must be "sk-" and 1-12 of [A-Za-z0-9_.-] (at most 15 bytes)')
                         .format(name=name))
            elif name in names:
                site.err(ln, _('interface name "{name}" already used at line {line}').format(name=name, line=names[name]))
            else:
                names[name] = ln
        seg['name'] = name
        zone, ln = site.one(sec, 'zone')
        if zone is not None and not ZONE_RE.match(zone):
            site.err(ln, _('zone "{zone}" is not a zone name').format(zone=zone))
        seg['zone'], seg['zone_line'] = zone, ln
        mac, ln = site.one(sec, 'mac')
        if mac is not None:
            if not MAC_RE.match(mac):
                site.err(ln, _('mac "{mac}" is not a MAC address (xx:xx:xx:xx:xx:xx)').format(mac=mac))
            elif int(mac[:2], 16) & 1:
                site.err(ln, _('mac "{mac}" is a multicast address').format(mac=mac))
            elif mac.lower() in macs:
                site.err(ln, _('mac "{mac}" already used at line {line}').format(mac=mac, line=macs[mac.lower()]))
            else:
                macs[mac.lower()] = ln
                mac = mac.lower()
        seg['mac'] = mac
        for v, ln in site.values(sec, 'address'):
            try:
                a = ipaddress.ip_interface(v)
            except ValueError:
                site.err(ln, _('address "{address}" is not ADDRESS/PREFIXLEN').format(address=v))
                continue
            if '/' not in v:
                site.err(ln, _('address "{address}" needs a prefix length').format(address=v))
                continue
            if a.ip == a.network.network_address and a.version == 4 and a.network.prefixlen < 31:
                site.err(ln, _('address "{address}" is the network address of {network}').format(address=v, network=a.network))
                continue
            if a.ip in addrs:
                site.err(ln, _('address {address} already used at line {line}').format(address=a.ip, line=addrs[a.ip]))
                continue
            addrs[a.ip] = ln
            seg['addresses'].append(a)
        if not site.values(sec, 'address'):
            site.err(sec[2], _('[segment {name}]: at least one "address" is needed').format(name=sec[1]))

        def on_link(ip, ln, msg):
            if not any(ip in a.network for a in seg['addresses'] if a.version == ip.version):
                site.err(ln, msg.format(address=ip))

        for v, ln in site.values(sec, 'gateway'):
            try:
                g = ipaddress.ip_address(v)
            except ValueError:
                site.err(ln, _('gateway "{value}" is not an IP address').format(value=v))
                continue
            if g.version in gw_fam:
                site.err(ln, _('a default gateway for IPv{version} is already given at line {line}').format(
                    version=g.version, line=gw_fam[g.version]))
                continue
            gw_fam[g.version] = ln
            on_link(g, ln, _('gateway {address} is not in a network of this segment'))
            seg['gateways'].append(g)
        for v, ln in site.values(sec, 'route'):
            m = re.fullmatch(r'(\S+)\s+via\s+(\S+)', v)
            try:
                dst = ipaddress.ip_network(m.group(1)) if m else None
                via = ipaddress.ip_address(m.group(2)) if m else None
            except ValueError:
                dst = None
            if dst is None or via is None:
                site.err(ln, _('route "{route}": expected "NETWORK/LEN via ADDRESS"').format(route=v))
                continue
            if dst.version != via.version:
                site.err(ln, _('route "{route}": destination and next hop are different families').format(route=v))
                continue
            on_link(via, ln, _('next hop {address} is not in a network of this segment'))
            seg['routes'].append((dst, via))
        mg, ln = site.one(sec, 'management', required=False)
        if mg is not None and mg not in ('yes', 'no'):
            site.err(ln, _('management must be yes or no'))
        seg['management'] = mg == 'yes'
        if seg['management']:
            mgmt.append(seg)
            if seg['gateways']:
                site.err(seg['line'], _('the management segment must not carry the default route'))
        model['segments'].append(seg)
    if not secs['segment']:
        site.err(1, _('no [segment NAME] section: the appliance needs its interfaces'))
    elif len(mgmt) != 1:
        site.err(mgmt[1]['line'] if len(mgmt) > 1 else secs['segment'][0][2],
                 _('exactly one segment needs "management = yes" (found {count})').format(count=len(mgmt)))
    model['mgmt'] = mgmt[0] if len(mgmt) == 1 else None

    model['mail'] = {}
    if len(secs['mail']) > 1:
        site.err(secs['mail'][1][2], _('one [mail] section only'))
    if not secs['mail']:
        site.err(1, _("a [mail] section is needed (the relay's next hop)"))
        return model
    ms = secs['mail'][0]
    rd = site.values(ms, 'relay_domains')
    if not rd:
        site.err(ms[2], _('[mail]: "relay_domains" is missing'))
    for v, ln in rd:
        if not HOST_RE.match(v):
            site.err(ln, _('relay domain "{domain}" is not a domain name').format(domain=v))
    model['mail']['relay_domains'] = [v for v, _ln in rd]
    for key in ('lgwan_mail_server', 'internet_relayhost'):
        v, ln = site.one(ms, key, required=key == 'lgwan_mail_server')
        hop = None
        if v:
            m = re.fullmatch(r'\[?([0-9A-Fa-f.:]+?)\]?(?::([0-9]{1,5}))?', v)
            try:
                ip = ipaddress.ip_address(m.group(1)) if m else None
                port = int(m.group(2) or 25) if m else 0
            except ValueError:
                ip = None
            if ip is None or not 0 < port < 65536:
                site.err(ln, _('{key} "{value}": expected ADDRESS or ADDRESS:PORT ([ADDRESS]:PORT for IPv6)').format(
                    key=key, value=v))
            else:
                hop = (ip, port)
        model['mail'][key] = hop
    nets = []
    for v, ln in site.values(ms, 'mynetworks'):
        try:
            nets.append(ipaddress.ip_network(v, strict=True))
        except ValueError:
            site.err(ln, _('mynetworks "{value}" is not NETWORK/LEN').format(value=v))
    model['mail']['mynetworks'] = nets
    model['portal'] = validate_portal(site, secs['portal'], model)
    return model


def pem(site, path, ln, what):
    """The PEM text of a file named relative to the site file, checked for
    its kind (what: 'certificate' or 'key')."""
    p = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(site.path)), path))
    try:
        with open(p, 'rb') as f:
            raw = f.read(MAX_PEM_BYTES + 1)
    except OSError as e:
        msg = _('certificate "{file}": {error} ({path})') if what == 'certificate' else \
            _('key "{file}": {error} ({path})')
        site.err(ln, msg.format(file=path, error=e.strerror, path=p))
        return None
    text = raw.decode('ascii', errors='replace')
    marker = '-----BEGIN CERTIFICATE-----' if what == 'certificate' else 'PRIVATE KEY-----'
    if len(raw) > MAX_PEM_BYTES or marker not in text:
        msg = _('certificate "{file}" is not a PEM certificate (at most {max} bytes)') if what == 'certificate' \
            else _('key "{file}" is not a PEM key (at most {max} bytes)')
        site.err(ln, msg.format(file=path, max=MAX_PEM_BYTES))
        return None
    return p


def key_matches(cert, key):
    """Whether the certificate's public key is the key's (openssl; True without openssl)."""
    openssl = shutil.which('openssl')
    if not openssl:
        return True
    a = subprocess.run([openssl, 'x509', '-noout', '-pubkey', '-in', cert], capture_output=True)
    b = subprocess.run([openssl, 'pkey', '-pubout', '-in', key], capture_output=True)
    return a.returncode == 0 and b.returncode == 0 and a.stdout == b.stdout


def validate_portal(site, secs, model):
    """The [portal] section (docs/portal.md, "Installation and operation"):
    each portal's address is one of a segment's (not management's), the two
    on different segments; certificates come in pairs that match."""
    if len(secs) > 1:
        site.err(secs[1][2], _('one [portal] section only'))
    if not secs:
        return None
    ps = secs[0]
    portal = {}
    owner = {}
    for seg in model['segments']:
        for a in seg['addresses']:
            owner[a.ip] = seg
    for key in ('lgwan_address', 'internet_address'):
        v, ln = site.one(ps, key, required=key == 'lgwan_address')
        portal[key] = None
        if v is None:
            continue
        try:
            ip = ipaddress.ip_address(v)
        except ValueError:
            site.err(ln, _('{key} "{value}" is not an IP address').format(key=key, value=v))
            continue
        seg = owner.get(ip)
        if seg is None:
            site.err(ln, _('{key} {address} is not an address of a segment').format(key=key, address=ip))
        elif seg['management']:
            site.err(ln, _('{key} {address} is on the management segment').format(key=key, address=ip))
        else:
            portal[key] = (ip, seg)
    lg, inet = portal['lgwan_address'], portal['internet_address']
    if lg and inet and lg[1] is inet[1]:
        site.err(site.one(ps, 'internet_address')[1],
                 _('internet_address is on the same segment as lgwan_address ({name}): '
                   'each portal must answer on its own side only').format(name=lg[1]["name"]))
    url, ln = site.one(ps, 'url', required=False)
    if url is None and lg:
        url = f'https://[{lg[0]}]' if lg[0].version == 6 else f'https://{lg[0]}'
    elif url is not None:
        m = URL_RE.match(url)
        if not m or (m.group(2) and not 0 < int(m.group(2)) < 65536):
            site.err(ln, _('url "{url}": expected https://HOST[:PORT] (the base of the links in the notices)').format(url=url))
        url = url.rstrip('/')
    portal['url'] = url
    portal['url_host'] = URL_RE.match(url).group(1).strip('[]') if url and URL_RE.match(url) else None
    for prefix, name in (('', 'portal'), ('upload_', 'upload')):
        c, cl = site.one(ps, prefix + 'cert', required=False)
        k, kl = site.one(ps, prefix + 'key', required=False)
        portal[name + '_tls'] = None
        if (c is None) != (k is None):
            site.err(kl if c is None else cl, _('{cert} and {key} go together (neither: self-signed at first boot)')
                     .format(cert=prefix + 'cert', key=prefix + 'key'))
            continue
        if c is None:
            continue
        cp, kp = pem(site, c, cl, 'certificate'), pem(site, k, kl, 'key')
        if cp and kp:
            if not key_matches(cp, kp):
                site.err(kl, _('{key} "{keyfile}" is not the key of {cert} "{certfile}"').format(
                    key=prefix + 'key', keyfile=k, cert=prefix + 'cert', certfile=c))
            else:
                portal[name + '_tls'] = (cp, kp)
    rd, ln = site.one(ps, 'rcpt_domain', required=False)
    relay = model['mail'].get('relay_domains') or []
    if rd is None:
        rd = relay[0] if relay else None
    elif rd not in relay:
        site.err(ln, _('rcpt_domain "{domain}" is not one of [mail] relay_domains ({domains})').format(
            domain=rd, domains=", ".join(relay)))
    portal['rcpt_domain'] = rd
    mf, ln = site.one(ps, 'mail_from', required=False)
    if mf is not None and not MAIL_RE.match(mf):
        site.err(ln, _('mail_from "{address}" is not a mail address').format(address=mf))
    portal['mail_from'] = mf or f'sekisho-portal@{model.get("hostname")}.{model.get("domain")}'
    for key, lo, hi, default in (('link_days', 1, 365, 7), ('release_hours', 1, 720, 24)):
        v, ln = site.one(ps, key, required=False)
        if v is not None and not (v.isdigit() and lo <= int(v) <= hi):
            site.err(ln, _('{key} must be a number from {low} to {high}').format(key=key, low=lo, high=hi))
            v = None
        portal[key] = int(v) if v is not None else default
    for key, allowed, default in (('deliver_copies', ('link', 'mail'), 'link'), ('originals', ('on', 'off'), 'on'),
                                  ('two_approvers', ('yes', 'no'), 'no'), ('upload_approval', ('on', 'off'), 'off')):
        v, ln = site.one(ps, key, required=False)
        if v is not None and v not in allowed:
            site.err(ln, _('{key} must be {one} or {other}').format(key=key, one=allowed[0], other=allowed[1]))
            v = None
        portal[key] = v or default
    return portal


def policy_files(entry):
    """The entry file and everything it includes (same directory tree)."""
    base = os.path.dirname(entry)
    todo, seen = [entry], []
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.append(f)
        if len(seen) > MAX_POLICY_FILES:
            raise SiteError(_('{file}: more than {max} include files').format(file=entry, max=MAX_POLICY_FILES))
        with open(f, encoding='utf-8') as fh:
            for inc in re.findall(r'^\s*include\s+"([^"]+)"', fh.read(), re.M):
                p = os.path.normpath(os.path.join(os.path.dirname(f), inc))
                if not p.startswith(base + os.sep):
                    raise SiteError(_('{file}: include "{include}" leaves the policy directory').format(file=f, include=inc))
                todo.append(p)
    return seen


ZONE_STMT = re.compile(r'^zone\s+(\S+)((?:(?!^\S).)*)', re.M | re.S)
IFACE_WORDS = re.compile(r'\binterface\s+[^\s,]+(?:\s*,\s*[^\s,]+)*')


def bind_zones(text, model):
    """Rewrite each zone's interface words to the segments carrying it."""
    by_zone = {}
    for seg in model['segments']:
        by_zone.setdefault(seg['zone'], []).append(seg['name'])
    found = set()
    unbound = []

    def zone(m):
        z = m.group(1)
        found.add(z)
        ifs = by_zone.get(z)
        if not ifs:
            unbound.append(z)
            # a name no .link file gives and the kernel never picks
            ifs = [f'sk-none{len(unbound)}']
        body = m.group(2)
        if IFACE_WORDS.search(body):
            body = IFACE_WORDS.sub('interface ' + ', '.join(ifs), body, count=1)
        else:
            body = f' interface {", ".join(ifs)}' + body
        return f'zone {z}' + body

    return ZONE_STMT.sub(zone, text), unbound, found


def bind_policy(model, site):
    """{relative path: bound text} of the policy and its includes; unbound zones."""
    entry = model['policy'][0]
    base = os.path.dirname(entry)
    policies, unbound, found = {}, [], set()
    for f in policy_files(entry):
        with open(f, encoding='utf-8') as fh:
            text, ub, fz = bind_zones(fh.read(), model)
        unbound += ub
        found |= fz
        policies['main.policy' if f == entry else os.path.relpath(f, base)] = text
    for seg in model['segments']:
        if seg['zone'] and seg['zone'] not in found:
            site.err(seg['zone_line'], _('zone "{zone}" is not defined in the policy').format(zone=seg["zone"]))
    return policies, unbound


WRITTEN = []                    # what render wrote (its summary)


def write(root, rel, text, mode=0o644):
    WRITTEN.append(rel)
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    tmp = p + '.tmp'
    if os.path.lexists(tmp):
        os.unlink(tmp)
    # created with its mode (a key is never readable by others, not even briefly)
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o600), 'w', encoding='utf-8') as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, p)


def template(root, rel_installed, rel_source):
    for p in (os.path.join(root, rel_installed),
              os.path.join(os.path.dirname(os.path.abspath(__file__)), rel_source)):
        if os.path.isfile(p):
            with open(p, encoding='utf-8') as f:
                return f.read()
    raise SiteError(_('template {file} not found (install sekisho first or run from the source tree)')
                    .format(file=rel_installed))


def milter_spec(root):
    """Postfix's smtpd_milters for the socket sekisho-milter listens on
    (SEKISHO_MILTER_SOCKET of DESTROOT's /etc/sekisho/sanitizer.conf, else
    the shipped one), so that the two agree after an upgrade that kept an
    older sanitizer.conf: libmilter's unix:PATH stays unix:PATH,
    inet:PORT@HOST becomes inet:HOST:PORT (inet6: inet:[HOST]:PORT)."""
    text = template(root, 'etc/sekisho/sanitizer.conf', 'etc/sanitizer.conf')
    m = re.findall(r'^\s*SEKISHO_MILTER_SOCKET=["\']?([^"\'\s]+)["\']?\s*$', text, re.M)
    if not m:
        raise SiteError(_('sanitizer.conf: no SEKISHO_MILTER_SOCKET'))
    spec = m[-1]
    kind, _sep, rest = spec.partition(':')
    if kind in ('unix', 'local') and rest.startswith('/'):
        return f'unix:{rest}'
    port, _sep, host = rest.partition('@')
    if kind in ('inet', 'inet6') and port.isdigit() and 0 < int(port) < 65536 and host:
        return f'inet:[{host}]:{port}' if kind == 'inet6' else f'inet:{host}:{port}'
    raise SiteError(_('sanitizer.conf: SEKISHO_MILTER_SOCKET "{spec}": expected unix:/PATH or inet:PORT@ADDRESS')
                    .format(spec=spec))


def set_lines(text, values, sep):
    """Each key's "KEY<sep>VALUE" line replaced (a line "KEY = ..." or "KEY=..."
    matches either form), missing ones appended."""
    for key, val in values.items():
        line = f'{key}{sep}{val}'
        text, n = re.subn(rf'^{re.escape(key)}\s*=.*$', lambda _m: line, text, flags=re.M)
        if n == 0:
            text += f'{line}\n'
    return text


def set_keys(text, values):
    """Postfix-style "key = value" (main.cf)."""
    return set_lines(text, values, ' = ')


def hop(h):
    ip, port = h
    return f'[{ip}]:{port}'


def render(site, model, root):
    hdr = f'# written by sekisho-site from {os.path.basename(site.path)}; edit the site file, not this\n'
    segs = model['segments']
    # policy: bound to the segments (checked before anything is written)
    pline = model['policy'][1]
    policies, unbound = bind_policy(model, site)
    if site.errors:
        return []
    milter = milter_spec(root)  # before anything is written, like the policy
    warnings = [_('{file}:{line}: zone "{zone}" has no segment in this site: it matches no packet').format(
        file=site.path, line=pline, zone=z) for z in unbound]
    if not model['ssh_keys']:
        warnings.append(_('{file}: no ssh_key: nobody can log in over ssh (console only)').format(file=site.path))

    write(root, 'etc/hostname', f'{model["hostname"]}\n')
    write(root, 'etc/hosts', f'127.0.0.1\tlocalhost\n127.0.1.1\t{model["hostname"]}.{model["domain"]} '
          f'{model["hostname"]}\n::1\tlocalhost ip6-localhost ip6-loopback\n')
    netdir = 'etc/systemd/network'
    for seg in segs:
        write(root, f'{netdir}/10-{seg["name"]}.link',
              f'{hdr}# segment {seg["section"]} (zone {seg["zone"]})\n[Match]\nMACAddress={seg["mac"]}\n\n'
              f'[Link]\nName={seg["name"]}\nNamePolicy=\n')
        net = [hdr, f'# segment {seg["section"]} (zone {seg["zone"]}); forwarding per interface is set by\n'
               '# /usr/lib/sysctl.d/50-sekisho.conf (sk-* forward, sk-mgmt never)\n',
               f'[Match]\nName={seg["name"]}\n\n[Link]\n'
               f'RequiredForOnline={"yes" if seg["management"] else "no"}\n\n[Network]\n'
               'LinkLocalAddressing=ipv6\nIPv6AcceptRA=no\nConfigureWithoutCarrier=yes\n'
               'LLDP=no\nEmitLLDP=no\n']
        net += [f'Address={a}\n' for a in seg['addresses']]
        for g in seg['gateways']:
            net.append(f'\n[Route]\nGateway={g}\n')
        for dst, via in seg['routes']:
            net.append(f'\n[Route]\nDestination={dst}\nGateway={via}\n')
        write(root, f'{netdir}/20-{seg["name"]}.network', ''.join(net))

    mgmt = model['mgmt']
    listen = ''.join(f'ListenAddress {a.ip if a.version == 4 else f"[{a.ip}]"}\n' for a in mgmt['addresses'])
    write(root, 'etc/ssh/sshd_config.d/50-sekisho.conf',
          f'{hdr}# management access only on the management segment {mgmt["name"]}\n'
          '# (the policy and its backstop allow ssh to the appliance only from the mgmt zone)\n'
          f'{listen}PermitRootLogin prohibit-password\nPasswordAuthentication no\n')
    if model['ssh_keys']:
        os.makedirs(os.path.join(root, 'root/.ssh'), mode=0o700, exist_ok=True)
        write(root, 'root/.ssh/authorized_keys', ''.join(k + '\n' for k in model['ssh_keys']), 0o600)
    write(root, 'etc/systemd/system/ssh.service.d/50-sekisho.conf',
          f'{hdr}# sshd binds the management address: start when it is configured\n'
          '[Unit]\nWants=network-online.target\nAfter=network-online.target\n')
    if model['ntp']:
        write(root, 'etc/systemd/timesyncd.conf.d/50-sekisho.conf',
              f'{hdr}[Time]\nNTP={" ".join(model["ntp"])}\nFallbackNTP=\n')
    if model['dns']:
        rc = os.path.join(root, 'etc/resolv.conf')
        if os.path.islink(rc):
            os.unlink(rc)
        write(root, 'etc/resolv.conf', hdr + ''.join(f'nameserver {d}\n' for d in model['dns']))

    mail = model['mail']
    # the relay listens where mail comes from: every segment but management
    listen_addrs = ['127.0.0.1'] + [str(a.ip) for s in segs if not s['management']
                                    for a in s['addresses'] if a.version == 4]
    v6 = any(a.version == 6 for s in segs if not s['management'] for a in s['addresses'])
    if v6:
        listen_addrs += ['[::1]'] + [f'[{a.ip}]' for s in segs if not s['management']
                                     for a in s['addresses'] if a.version == 6]
    mynet = ['127.0.0.0/8'] + (['[::1]/128'] if v6 else [])
    main = {
        'myhostname': f'{model["hostname"]}.{model["domain"]}',
        'mydomain': model['domain'],
        'inet_protocols': 'all' if v6 else 'ipv4',
        'inet_interfaces': ', '.join(listen_addrs),
        'relay_domains': ', '.join(mail['relay_domains']),
        'relay_transport': f'relay:{hop(mail["lgwan_mail_server"])}',
    }
    if mail['internet_relayhost']:
        ip = mail['lgwan_mail_server'][0]
        mynet.append(f'[{ip}]/{ip.max_prefixlen}' if ip.version == 6 else f'{ip}/32')
        main['relayhost'] = hop(mail['internet_relayhost'])
        main['default_transport'] = 'smtp'
    for n in mail['mynetworks']:
        mynet.append(f'[{n.network_address}]/{n.prefixlen}' if n.version == 6 else str(n))
    main['mynetworks'] = ', '.join(dict.fromkeys(mynet))
    main['smtpd_milters'] = milter
    text = template(root, 'usr/share/sekisho/postfix/main.cf', 'postfix/main.cf')
    write(root, 'etc/postfix/main.cf', set_keys(text, main))
    write(root, 'etc/postfix/master.cf', template(root, 'usr/share/sekisho/postfix/master.cf', 'postfix/master.cf'))

    conf = template(root, 'etc/sekisho/sekisho.conf', 'etc/sekisho.conf')
    conf = re.sub(r'^SEKISHO_POLICY=.*$', 'SEKISHO_POLICY=/etc/sekisho/policy.d/main.policy', conf, flags=re.M)
    write(root, 'etc/sekisho/sekisho.conf', conf)
    shutil.copyfile(site.path, os.path.join(root, 'etc/sekisho/site.conf'))
    render_portal(root, model, hdr)
    pdir = 'etc/sekisho/policy.d'
    for rel, text in policies.items():
        write(root, f'{pdir}/{rel}', f'# bound to the segments of {os.path.basename(site.path)} by sekisho-site\n' + text)
    return warnings


def listen(addr):
    ip = addr[0]
    return f'[{ip}]:443' if ip.version == 6 else f'{ip}:443'


def set_env(text, values):
    """Shell-style KEY=VALUE (an EnvironmentFile)."""
    return set_lines(text, values, '=')


def opt(opts, flag, value):
    """OPTS with FLAG's value set (appended when absent; value None: a bare flag)."""
    words = opts.split()
    if flag in words:
        i = words.index(flag)
        del words[i:i + (1 if value is None or i + 1 >= len(words) or words[i + 1].startswith('--') else 2)]
    words += [flag] if value is None else [flag, str(value)]
    return ' '.join(words)


def peers(unit, seg):
    """A drop-in: UNIT talks only to its segment's networks and the networks
    routed through it, never through its default route (the Internet at large
    for the upload portal): a kernel filter under the policy's rules."""
    nets = [str(a.network) for a in seg['addresses']] + [str(dst) for dst, _via in seg['routes']]
    nets = list(dict.fromkeys(nets))
    return (f'# {unit} answers only on segment {seg["section"]} ({seg["name"]}): its networks and the\n'
            '# networks routed through it; not its default route (docs/portal.md)\n'
            f'[Service]\nIPAddressDeny=any\nIPAddressAllow={" ".join(nets)}\n')


def render_portal(root, model, hdr):
    """etc/sekisho/portal.conf from the shipped one; the site's certificates."""
    text = template(root, 'etc/sekisho/portal.conf', 'etc/portal.conf')
    text = re.sub(r'^# written by sekisho-site.*\n', '', text, flags=re.M)
    env = {k: re.findall(rf'^{k}=(.*)$', text, re.M)[-1:] or [''] for k in ('SEKISHO_PORTAL_OPTS', 'SEKISHO_UPLOAD_OPTS')}
    env = {k: v[0] for k, v in env.items()}
    p = model.get('portal')
    if p is None:
        values = {'SEKISHO_PORTAL_LISTEN': '', 'SEKISHO_PORTAL_URL': '', 'SEKISHO_UPLOAD_LISTEN': '', 'SEKISHO_UPLOAD_RCPT_DOMAIN': '',
                  'SEKISHO_MILTER_PORTAL_OPTS': '', 'SEKISHO_CDRD_PORTAL_OPTS': ''}
    else:
        popts = opt(env['SEKISHO_PORTAL_OPTS'], '--originals', p['originals'])
        popts = opt(popts, '--release-hours', p['release_hours'])
        popts = ' '.join(w for w in popts.split() if w != '--two-approvers')
        if p['two_approvers'] == 'yes':
            popts = opt(popts, '--two-approvers', None)
        inet = p['internet_address']
        values = {
            'SEKISHO_PORTAL_LISTEN': listen(p['lgwan_address']),
            'SEKISHO_PORTAL_URL': p['url'],
            'SEKISHO_PORTAL_OPTS': popts,
            'SEKISHO_UPLOAD_LISTEN': listen(inet) if inet else '',
            'SEKISHO_UPLOAD_RCPT_DOMAIN': p['rcpt_domain'] if inet else '',
            'SEKISHO_UPLOAD_OPTS': opt(env['SEKISHO_UPLOAD_OPTS'], '--approval', p['upload_approval']),
            'SEKISHO_MILTER_PORTAL_OPTS': f'--links-dir /var/lib/sekisho/links --copies-dir /var/lib/sekisho/copies '
                                          f'--portal-url {p["url"]} --link-days {p["link_days"]} '
                                          f'--deliver-copies {p["deliver_copies"]} --originals {p["originals"]}',
            'SEKISHO_CDRD_PORTAL_OPTS': f'--portal-url {p["url"]} --smtp 127.0.0.1:10026 --mail-from {p["mail_from"]}',
        }
    write(root, 'etc/sekisho/portal.conf', hdr + set_env(text, values))
    for unit, key in (('sekisho-portal', 'lgwan_address'), ('sekisho-upload', 'internet_address')):
        addr = p and p[key]
        if addr:
            write(root, f'etc/systemd/system/{unit}.service.d/50-site.conf', hdr + peers(unit, addr[1]))
    for name in ('portal', 'upload'):
        tls = p and p[name + '_tls']
        if not tls:
            continue
        os.makedirs(os.path.join(root, 'etc/sekisho/tls'), mode=0o700, exist_ok=True)
        for src, ext, mode in ((tls[0], 'crt', 0o644), (tls[1], 'key', 0o600)):
            with open(src, encoding='ascii', errors='replace') as f:
                write(root, f'etc/sekisho/tls/{name}.{ext}', f.read(), mode)


def usage():
    return _('usage: sekisho-site check SITE             validate; errors as SITE:LINE: message\n'
             '       sekisho-site render SITE DESTROOT   validate, then write the files below DESTROOT\n'
             '       sekisho-site --help | --version\n')


def rulec():
    """sekisho-rulec: $SEKISHO_RULEC (as sekisho-netfilter takes it), else
    the one installed with us (lib/sekisho/../../sbin, as messages() finds
    share/locale), else the one on $PATH."""
    mine = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'sbin', 'sekisho-rulec')
    return os.environ.get('SEKISHO_RULEC') or (mine if os.access(mine, os.X_OK) else 'sekisho-rulec')


def version():
    """Our version is the compiler's (common/version.h; the appliance package
    depends on sekisho-rules), with our name, as sekishoctl does with its
    audit helper: no second copy of the version."""
    program = rulec()
    try:
        r = subprocess.run([program, '--version'], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        r = None
    if r is None or r.returncode != 0 or ' ' not in r.stdout:
        sys.stderr.write('sekisho-site: ' + _('cannot run {program} --version').format(program=program) + '\n')
        return 1
    sys.stdout.write('sekisho-site ' + r.stdout.split(' ', 1)[1])
    return 0


def main(argv):
    if argv in (['--help'], ['-h']):
        sys.stdout.write(usage())
        return 0
    if argv == ['--version']:
        return version()
    if len(argv) < 2 or argv[0] not in ('check', 'render') or (argv[0] == 'render') != (len(argv) == 3) \
            or len(argv) > 3:
        sys.stderr.write(usage())
        return 2
    try:
        site = parse(argv[1])
        model = validate(site)
        warnings = []
        if not site.errors and 'policy' in model:
            if argv[0] == 'render':
                warnings = render(site, model, argv[2])
            else:
                bind_policy(model, site)
    except SiteError as e:
        sys.stderr.write(f'sekisho-site: {e}\n')
        return 1
    for e in site.errors:
        sys.stderr.write(f'{e}\n')
    for w in warnings:
        sys.stderr.write(_('warning: {message}').format(message=w) + '\n')
    if site.errors:
        n = len(site.errors)
        sys.stderr.write(ngettext('sekisho-site: {count} error; nothing written',
                                  'sekisho-site: {count} errors; nothing written', n).format(count=n) + '\n')
        return 1
    if argv[0] == 'render':
        n = len(WRITTEN)
        sys.stdout.write(ngettext('sekisho-site: wrote {count} file below {root}',
                                  'sekisho-site: wrote {count} files below {root}', n).format(count=n, root=argv[2])
                         + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
