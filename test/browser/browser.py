"""browser.py: the Python side of the browser harness (test/browser).

    import browser
    b = browser.Browser()                      # or skip: browser.available() says why not
    r = b.run([{"goto": url}, {"fill": {"label": "利用者名"}, "value": "yamada"},
               {"click": {"role": "button", "name": "ログイン"}, "navigate": True},
               {"download": {"text": "報告書.pdf"}, "path": "/tmp/x.pdf"},
               {"screenshot": "/tmp/page.png"}])
    r["ok"], r["results"][i], r.get("error"), r.get("step")

Each run is one headless chromium (Debian's) in driver.js, with cookies kept
across its steps; state=PATH keeps them from one run to the next.  Bounded:
each step by step_ms, the run by total_ms, and this process waits at most a
little longer before it kills the driver.  The modules come from
tools/lib.sh's ensure_browser_modules (the same cache path)."""
import hashlib
import json
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "driver.js")


def modules_dir():
    """tools/lib.sh browser_modules_dir: the cache named after the lock's hash."""
    with open(os.path.join(HERE, "package-lock.json"), "rb") as f:
        h = hashlib.sha256(f.read()).hexdigest()[:16]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.environ.get("HOME") or "/root", ".cache")
    return os.path.join(cache, "sekisho", f"browser-{h}")


def available(chromium="/usr/bin/chromium"):
    """None when the harness can run, else why not."""
    if not shutil.which("node"):
        return "no node (apt-get install nodejs)"
    if not os.access(chromium, os.X_OK):
        return f"no {chromium} (apt-get install chromium)"
    if not os.path.isfile(os.path.join(modules_dir(), "node_modules", "playwright-core", "package.json")):
        return f"playwright-core not installed in {modules_dir()} (tools/lib.sh ensure_browser_modules)"
    return None


class Browser:
    def __init__(self, ignore_https_errors=True, locale="ja-JP", step_ms=10000, total_ms=60000,
                 chromium="/usr/bin/chromium"):
        self.job = {"ignore_https_errors": ignore_https_errors, "locale": locale, "step_ms": step_ms,
                    "total_ms": total_ms, "chromium": chromium}

    def run(self, steps, state=None, **overrides):
        """The driver's answer: {"ok": bool, "results": [...], "error", "step"}."""
        job = dict(self.job, steps=steps, **overrides)
        if state:
            job["state_in"] = job["state_out"] = state
        env = dict(os.environ, NODE_PATH=os.path.join(modules_dir(), "node_modules"))
        try:
            r = subprocess.run(["node", DRIVER], input=json.dumps(job), capture_output=True, text=True,
                               env=env, timeout=job["total_ms"] / 1000 + 30)
        except subprocess.TimeoutExpired:
            return {"ok": False, "error": "driver did not exit in time", "results": []}
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"ok": False, "error": f"driver exit {r.returncode}: {(r.stdout + r.stderr)[-500:]}",
                    "results": []}
