"""What the man-page, --help/--version and completion tests share: the
installed programs of this build (from `meson introspect --installed`), how
to run each from the build tree, and the programs other work owns."""
import json
import os
import subprocess
import sys

SRC = os.environ.get("SEKISHO_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ["SEKISHO_BUILD_ROOT"]

# Programs whose pages and --help/--version are not written yet (issue 16
# item 2): none left.  A program added without them goes here until they
# exist.
NOT_YET = set()


def skip_or_fail(why):
    """A missing tool: skip outside CI, fail in CI (tools/packages.txt)."""
    print(why)
    sys.exit(1 if os.environ.get("CI") == "true" else 77)


def installed_programs():
    """{name: (build path, install path)} of every installed program: what
    lands in sbin or in lib/sekisho (the helpers)."""
    out = subprocess.run(["meson", "introspect", "--installed", BUILD], check=True,
                         capture_output=True, text=True).stdout
    progs = {}
    for src, dst in json.loads(out).items():
        d = os.path.dirname(dst)
        if d.endswith("/sbin") or d.endswith("/lib/sekisho"):
            progs[os.path.basename(dst)] = (src, dst)
    return progs


def command(path):
    """argv to run an installed program from the build tree.  Generated
    scripts (configure_file) get their mode only at install: run them with
    the interpreter of their #! line."""
    if os.access(path, os.X_OK):
        return [path]
    with open(path, "rb") as f:
        first = f.readline().decode()
    if not first.startswith("#!"):
        raise RuntimeError(path + ": not executable and no #! line")
    return first[2:].split() + [path]


def run_env(progs):
    """The environment for running them: the scripts that take their
    --version from a C program find it in the build tree (sekishoctl the
    audit helper, sekisho-netfilter and the HA scripts sekisho-gatewayd,
    sekisho-site the compiler), no site settings are read, and the
    language is English (C.UTF-8, no LANGUAGE)."""
    env = dict(os.environ)
    for var, prog in (("SEKISHO_CTL_AUDIT", "sekisho-ctl-audit"), ("SEKISHO_GATEWAYD", "sekisho-gatewayd"),
                      ("SEKISHO_RULEC", "sekisho-rulec")):
        if prog in progs:
            env[var] = progs[prog][0]
    env["SEKISHO_CONF"] = "/nonexistent"
    # English, whatever the caller's language: the usage these tests compare
    # with the pages is the msgid (a Japanese one is checked on its own)
    for k in [k for k in env if k in ("LANGUAGE", "LANG") or k.startswith("LC_")]:
        del env[k]
    env["LC_ALL"] = "C.UTF-8"
    return env
