# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of the scripted ceremony tests: run the real binaries, check invariants."""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--ceremony", required=True)
    p.add_argument("--helper", required=True)
    p.add_argument("--sluice-tuf", required=True)
    p.add_argument("--interop", required=True)
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    return p.parse_args()


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class Ceremony:
    """Runs sluice-ceremony in a work directory; passphrases go through --passphrase-fd 0."""

    def __init__(self, args, work):
        self.bin = os.path.abspath(args.ceremony)
        self.helper = os.path.abspath(args.helper)
        self.tuf = os.path.abspath(args.sluice_tuf)
        self.interop = args.interop
        self.work = work
        self.env = dict(os.environ)
        self.env.pop("SLUICE_AIRGAP", None)
        self.passes = {}

    def run(self, *argv, stdin=None, expect=0, binary=None, env=None):
        cmd = [binary or self.bin] + [str(a) for a in argv]
        p = subprocess.run(cmd, cwd=self.work, input=stdin, capture_output=True, text=True,
                           env=env or self.env, timeout=600)
        shown = " ".join(os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd))
        print(f"$ {shown}")
        for line in (p.stdout + p.stderr).splitlines():
            print(f"    {line}")
        if expect is not None and p.returncode != expect:
            raise Failure(f"exit {p.returncode}, expected {expect}: {shown}")
        return p

    def keygen(self, name, role):
        self.passes[name] = f"pass-{name}-correct horse"
        self.run("keygen", "--role", role, "--out", f"{name}.key", "--kdf", "interactive",
                 "--allow-network", "--passphrase-fd", "0", stdin=self.passes[name] + "\n")
        return f"{name}.key"

    def pw(self, *names):
        return "".join(self.passes[n] + "\n" for n in names)

    def path(self, name):
        return os.path.join(self.work, name)

    def keyid(self, name):
        p = self.run("pubkey", f"{name}.key", "--json")
        return json.loads(p.stdout)["keyid"]


def expect_error(p, code):
    """The one-line failure names the exact error code."""
    check(p.returncode == 1, f"exit {p.returncode}, expected 1")
    check(f"[{code}]" in p.stderr, f"stderr does not name {code}: {p.stderr!r}")
    return p


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def tree_state(path):
    """Every entry below path with the sha256 of regular files: for byte-identical checks."""
    state = {}
    for root, dirs, files in os.walk(path):
        for d in dirs:
            state[os.path.relpath(os.path.join(root, d), path)] = "dir"
        for f in files:
            p = os.path.join(root, f)
            state[os.path.relpath(p, path)] = sha256(p) if os.path.isfile(p) else "other"
    return state


def work_dir(args, name):
    d = tempfile.mkdtemp(prefix=f"sluice-{name}-")
    return d


def finish(fn):
    try:
        fn()
    except Failure as e:
        print(f"FAILED: {e}")
        sys.exit(1)
    print("PASSED")
