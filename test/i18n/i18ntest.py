"""Shared helpers of the message tests (messages_test.py, programs_test.py):
counted checks printed as "ok"/"FAIL", and whether a locale is generated."""
import subprocess

failures = 0


def check(what, cond, detail=""):
    global failures
    if cond:
        print(f"ok   {what}")
    else:
        failures += 1
        print(f"FAIL {what}\n{detail}")


def has_locale(name):
    r = subprocess.run(["locale", "-a"], capture_output=True, text=True)
    want = name.lower().replace("utf-8", "utf8")
    return want in (l.strip().lower() for l in r.stdout.splitlines())


def done():
    """Print the count and return the exit status."""
    print(f"{failures} failures")
    return 1 if failures else 0
