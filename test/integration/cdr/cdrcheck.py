"""The CDR and portal integration tests' one assertion helper: check()
counts and prints each failure; done() prints "N checks, N failures" and
exits with the status (it never returns: a script that forgot to pass its
result on to sys.exit once passed with a failure).  Imported by the test
scripts beside it (their directory is on sys.path when they run)."""
import sys

failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what)
    return bool(cond)


def done(extra=""):
    print(f"{checks} checks, {failures} failures{extra}")
    sys.exit(1 if failures else 0)
