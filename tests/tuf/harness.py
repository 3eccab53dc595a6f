#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Scenario runner for black-box tests of sluice-tuf: a sandbox per case, the CLI run as a
subprocess against a reposim repository, and the checks of invariant R (TESTING.md)."""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reposim  # noqa: E402

ERR_LINE = re.compile(r"^sluice-tuf: Failed to [a-z-]+: .*\S")
CASES = []


class Fail(Exception):
    pass


def case(fn):
    """Register a scenario: fn(t) with t a Ctx."""
    CASES.append(fn)
    return fn


class Result:
    def __init__(self, args, rc, out, err, reqs, elapsed):
        self.args, self.rc, self.out, self.err = args, rc, out, err
        self.reqs, self.elapsed = reqs, elapsed

    def paths(self):
        return [r["path"] for r in self.reqs]

    def __str__(self):
        return "rc=%s err=%r requests=%s" % (self.rc, self.err.strip()[-300:],
                                             self.paths()[:40])


def tree_state(top):
    """{relative name: sha256 (or 'dir'/'link:<target>')} of everything below top."""
    st = {}
    if not os.path.isdir(top):
        return st
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, top)
            if os.path.islink(p):
                st[rel] = "link:" + os.readlink(p)
            elif os.path.isdir(p):
                st[rel] = "dir"
            else:
                with open(p, "rb") as f:
                    st[rel] = hashlib.sha256(f.read()).hexdigest()
    return st


class Ctx:
    """One scenario: a sandbox directory, repositories it serves, and the CLI."""

    def __init__(self, binary):
        self.binary = binary
        self.top = tempfile.mkdtemp(prefix="sluice-tuf-scenario-")
        self.mdir = os.path.join(self.top, "metadata")
        self.tdir = os.path.join(self.top, "targets")
        self.tmp = os.path.join(self.top, "tmp")
        self.outside = os.path.join(self.top, "outside")
        for d in (self.mdir, self.tdir, self.tmp, self.outside):
            os.mkdir(d, 0o700)
        self.victim = os.path.join(self.outside, "victim")
        with open(self.victim, "wb") as f:
            f.write(b"must not change\n")
        self.repos = []
        self.repo = None
        self.allow_links = False
        self.notes = []

    def close(self):
        for r in self.repos:
            r.close()
        shutil.rmtree(self.top, ignore_errors=True)

    # ---- setup -----------------------------------------------------------------------
    def new_repo(self, targets=None, serve=True, **kw):
        r = reposim.new_repo(targets, **kw)
        if serve:
            r.serve()
        self.repos.append(r)
        self.repo = r
        return r

    def env(self, extra=None):
        e = {k: v for k, v in os.environ.items()
             if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
        e["NO_PROXY"] = "*"
        e["TMPDIR"] = self.tmp
        if extra:
            e.update(extra)
        return e

    def run(self, args, timeout=60, faketime=None, env=None, repo=None):
        repo = repo or self.repo
        start = len(repo.requests()) if repo else 0
        cmd = [self.binary] + args
        e = self.env(env)
        if faketime:
            cmd = ["faketime", "-f", "@" + faketime] + cmd
            e["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
            # a sanitizer build must accept libfaketime preloaded before its runtime
            e["ASAN_OPTIONS"] = ":".join(filter(None, [e.get("ASAN_OPTIONS"),
                                                       "verify_asan_link_order=0"]))
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=timeout, env=e, cwd=self.outside)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as ex:
            rc, out, err = "timeout", ex.stdout or b"", ex.stderr or b""
        elapsed = time.monotonic() - t0
        time.sleep(0.01)
        reqs = repo.requests()[start:] if repo else []
        return Result(cmd, rc, out.decode("utf-8", "replace"),
                      err.decode("utf-8", "replace"), reqs, elapsed)

    def init(self, root=None, **kw):
        """sluice-tuf init with root bytes (default: the repo's version-1 root)."""
        data = root if root is not None else self.repo.root_bytes[1]
        p = os.path.join(self.outside, "trusted-root.json")
        with open(p, "wb") as f:
            f.write(data)
        return self.run(["--metadata-dir", self.mdir, "init", p], **kw)

    def refresh(self, repo=None, **kw):
        repo = repo or self.repo
        return self.run(["--metadata-dir", self.mdir, "--metadata-url", repo.metadata_url,
                         "refresh"], repo=repo, **kw)

    def download(self, names, repo=None, **kw):
        repo = repo or self.repo
        args = ["--metadata-dir", self.mdir, "--metadata-url", repo.metadata_url]
        for n in ([names] if isinstance(names, str) else names):
            args += ["--target-name", n]
        args += ["--target-base-url", repo.targets_url, "--target-dir", self.tdir, "download"]
        return self.run(args, repo=repo, **kw)

    # ---- checks ----------------------------------------------------------------------
    def check(self, cond, msg, res=None):
        if not cond:
            raise Fail(msg + ("" if res is None else " [%s]" % res))

    def ok(self, res, what="command"):
        self.check(res.rc == 0, what + " should succeed", res)
        self.check_clean(res)
        return res

    def fails(self, res, what="command"):
        """A rejection: exit 1 and one stderr line naming what failed."""
        self.check(res.rc == 1, what + " should fail with exit 1", res)
        lines = [ln for ln in res.err.splitlines() if ln.strip()]
        self.check(len(lines) == 1 and ERR_LINE.match(lines[0]) is not None,
                   what + ": expected one stderr line 'sluice-tuf: Failed to <verb>: <why>'",
                   res)
        self.check_clean(res)
        return res

    def state(self):
        return {"metadata": tree_state(self.mdir), "targets": tree_state(self.tdir)}

    def check_clean(self, res=None):
        """No file outside metadata/ and targets/ (temporary directory empty, outside/
        untouched, nothing new at the sandbox top), no temporary names inside them."""
        top = set(os.listdir(self.top))
        self.check(top == {"metadata", "targets", "tmp", "outside"},
                   "stray entries in sandbox: %s" % sorted(top), res)
        left = [p for p in tree_state(self.tmp)]
        self.check(not left, "files left in TMPDIR: %s" % left, res)
        out = tree_state(self.outside)
        self.check(set(out) <= {"victim", "trusted-root.json"},
                   "files written outside: %s" % sorted(out), res)
        with open(self.victim, "rb") as f:
            self.check(f.read() == b"must not change\n", "file outside changed", res)
        roles = {"root", "timestamp", "snapshot", "targets"}
        names = set()
        for r in self.repos:
            roles |= set(r.roles)
            names |= set(r.blobs)
        known_md = {reposim.quote_name(n) + ".json" for n in roles}
        for n in tree_state(self.mdir):
            self.check(n in known_md, "unexpected name in metadata dir: %r" % n, res)
        known_t = {reposim.quote_name(n) for n in names}
        for n, v in tree_state(self.tdir).items():
            self.check(n in known_t or (v.startswith("link:") and self.allow_links),
                       "unexpected name in target dir: %r" % n, res)

    def refresh_rejected(self, allow=None, **kw):
        """Run refresh, expect rejection and the trusted state byte-identical (allow:
        {name: [sha256 of acceptable new contents]} for legitimately updated files)."""
        before = self.state()
        res = self.fails(self.refresh(**kw), "refresh")
        self.same_state(before, allow, res)
        return res

    def same_state(self, before, allow=None, res=None):
        """The trusted state after a rejection equals before, except files named in allow
        ({name: [acceptable sha256 or None for "removed"]})."""
        after = self.state()
        allow = allow or {}
        for area in ("metadata", "targets"):
            b, a = before[area], after[area]
            for n in set(a) | set(b):
                if a.get(n) != b.get(n) and a.get(n) not in allow.get(n, ()):
                    raise Fail("%s/%s changed after rejection (%s -> %s) [%s]" %
                               (area, n, (b.get(n) or "absent")[:12],
                                (a.get(n) or "absent")[:12], res))

    def reset_client(self):
        """Forget all trusted metadata and downloaded targets."""
        for d in (self.mdir, self.tdir):
            shutil.rmtree(d)
            os.mkdir(d, 0o700)

    def setup_client(self, **kw):
        """init + a good refresh against self.repo."""
        self.ok(self.init(), "init")
        return self.ok(self.refresh(**kw), "initial refresh")

    def good_again(self):
        """Invariant R (d): with the attacker gone, the next refresh succeeds."""
        self.repo.clear_overrides()
        return self.ok(self.refresh(), "refresh after recovery")

    def md(self, name):
        with open(os.path.join(self.mdir, name), "rb") as f:
            return f.read()

    def target(self, name):
        p = os.path.join(self.tdir, reposim.quote_name(name))
        if not os.path.exists(p):
            return None
        with open(p, "rb") as f:
            return f.read()


def h(data):
    return hashlib.sha256(data).hexdigest()


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SLUICE_TUF")
    if not binary or not os.access(binary, os.X_OK):
        print("skip: sluice-tuf binary not given (argv[1] or SLUICE_TUF)")
        sys.exit(77)
    only = sys.argv[2:]
    failed = passed = 0
    t0 = time.monotonic()
    for fn in CASES:
        if only and fn.__name__ not in only:
            continue
        t = Ctx(os.path.abspath(binary))
        c0 = time.monotonic()
        try:
            fn(t)
            passed += 1
            print("ok   %-50s %.2fs" % (fn.__name__, time.monotonic() - c0), flush=True)
        except Fail as e:
            failed += 1
            print("FAIL %-50s %s" % (fn.__name__, e), flush=True)
        except Exception:
            failed += 1
            print("FAIL %-50s harness error:\n%s" % (fn.__name__, traceback.format_exc()),
                  flush=True)
        finally:
            t.close()
    print("%s: %d cases in %.1fs" % (os.path.basename(sys.argv[0]), passed + failed,
                                     time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


# ---- helpers shared by the scenario files -------------------------------------------------
def signed_copy(repo, role):
    """A deep copy of role's signed dict as it would be published now."""
    import copy
    if role == "timestamp":
        return copy.deepcopy(repo.timestamp_signed())
    if role == "snapshot":
        return copy.deepcopy(repo.snapshot_signed())
    return copy.deepcopy(repo.signed(role))


def next_timestamp(repo, **changes):
    """Signed dict of a timestamp one version newer than the published one, with changes."""
    s = signed_copy(repo, "timestamp")
    s["version"] += 1
    s.update(changes)
    return s


def fails_with(t, res, pattern, what="refresh"):
    """The one-line error names the fault class (case-insensitive regex)."""
    t.check(re.search(pattern, res.err, re.I) is not None,
            "%s: error message should match /%s/" % (what, pattern), res)


def requested(res, path):
    return path in res.paths()
