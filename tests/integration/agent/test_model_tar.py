#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Model targets that are tar archives (a target path ending in .tar): unpacked into
models/<name>/<sha256>/ next to the archive, smoke test reading a file of the tree, a failing
smoke test swapping back, a hostile archive refused with nothing left behind, and a tree
changed between staging and verification caught."""

import hashlib
import io
import json
import os
import signal
import stat
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bootsim as bs  # noqa: E402

W = bs.World()
failures = 0

# The smoke test reads a file inside the unpacked tree: SLUICE_MODEL_PATH names the archive,
# its directory is the model's tree (through `current`).
SMOKE = 'grep -q GOODMODEL "$(dirname "$SLUICE_MODEL_PATH")/model/labels.txt"'


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures += 1


def make_tar(name, labels, extra=()):
    """A model directory as tar: model/, model/labels.txt, model/weights.bin, model/run.sh."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        def add(ti, data=None):
            ti.mtime = 0
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
        d = tarfile.TarInfo("model")
        d.type, d.mode = tarfile.DIRTYPE, 0o755
        add(d)
        for n, data, mode in (("model/labels.txt", labels, 0o644),
                              ("model/weights.bin", bytes(range(256)) * 64, 0o600),
                              ("model/run.sh", b"#!/bin/sh\n", 0o4755)):
            ti = tarfile.TarInfo(n)
            ti.size, ti.mode = len(data), mode
            add(ti, data)
        for ti, data in extra:
            add(ti, data)
    return W.file(name, buf.getvalue())


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def model_custom(release):
    return bs.sluice_custom("model", release, model={"name": "det", "runtime": "onnxruntime"})


def tree(root):
    """{relative path: (mode, content or None)} of a directory, not following symlinks."""
    out = {}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            st = os.lstat(p)
            data = open(p, "rb").read() if stat.S_ISREG(st.st_mode) else None
            out[os.path.relpath(p, root)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), data)
    return out


def leftovers(dev):
    """Staging directories left in the model's directory (anything but sha256 dirs and current)."""
    d = os.path.join(dev.models, "det")
    return [n for n in os.listdir(d) if n != "current" and len(n) != 64] if os.path.isdir(d) else []


def main():
    # 1. A tar model installs: the tree unpacked next to the archive, modes masked, committed.
    t2 = make_tar("det-2.tar", b"GOODMODEL v2\n")
    W.publish([("models/det-2.tar", t2, model_custom("2"))])
    dev = W.device(smoke=SMOKE)
    cur = os.path.join(dev.models, "det", "current")
    p = dev.agent("install", "--from", W.repo)
    st = dev.install_state()
    h2 = sha(t2)
    d2 = os.path.join(dev.models, "det", h2)
    check("tar model committed", p.returncode == 0 and st["phase"] == "committed" and
          os.readlink(cur) == h2, f"{p.stdout}{p.stderr} {st}")
    got = tree(d2)
    check("tree unpacked next to the archive",
          sorted(got) == ["det-2.tar", "model", "model/labels.txt", "model/run.sh", "model/weights.bin"] and
          got["model/labels.txt"][2] == b"GOODMODEL v2\n" and
          got["model/weights.bin"][2] == bytes(range(256)) * 64, sorted(got))
    check("modes masked (no setuid, files 0644/0755, dirs 0755)",
          got["model/run.sh"][1] == 0o755 and got["model/weights.bin"][1] == 0o644 and
          got["model/labels.txt"][1] == 0o644 and got["model"][1] == 0o755 and
          stat.S_IMODE(os.stat(d2).st_mode) == 0o755, {k: oct(v[1]) for k, v in got.items()})
    check("no staging directory left", leftovers(dev) == [], leftovers(dev))
    dev.assert_consistent()

    # 2. A tar model whose smoke test fails (labels lack GOODMODEL) swaps back to the old tree.
    before = tree(d2)
    t3 = make_tar("det-3.tar", b"BROKEN\n")
    W.publish([("models/det-3.tar", t3, model_custom("3"))])
    p = dev.agent("install", "--from", W.repo)
    st = dev.install_state()
    check("failing smoke test swaps back", p.returncode == 1 and st["phase"] == "rolled_back" and
          "smoke test" in (st.get("error") or "") and os.readlink(cur) == h2 and tree(d2) == before,
          f"{p.stderr} {st}")
    check("the previous model still serves", open(os.path.join(cur, "model", "labels.txt"), "rb").read()
          == b"GOODMODEL v2\n")

    # 3. A hostile archive (a symlink member pointing out of the tree) is refused before the
    #    swap: current, the old tree and the models directory's contents stay as they were.
    link = tarfile.TarInfo("model/escape")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc"
    t4 = make_tar("det-4.tar", b"GOODMODEL v4\n", extra=[(link, None)])
    W.publish([("models/det-4.tar", t4, model_custom("4"))])
    names_before = sorted(os.listdir(os.path.join(dev.models, "det")))
    p = dev.agent("install", "--from", W.repo)
    st = dev.install_state()
    check("archive with a symlink refused", p.returncode == 1 and "symbolic link" in p.stderr and
          "model/escape" in p.stderr and st["phase"] == "failed" and
          st["error"].startswith("TUF_E_PATH") and os.readlink(cur) == h2 and tree(d2) == before and
          not os.path.exists(os.path.join(dev.models, "det", sha(t4))) and
          sorted(os.listdir(os.path.join(dev.models, "det"))) == names_before,
          f"{p.stdout}{p.stderr} {dev.install_state()}")

    # 4. The unpacked tree changed after staging: the verify phase compares it with the archive.
    t5 = make_tar("det-5.tar", b"GOODMODEL v5\n")
    W.publish([("models/det-5.tar", t5, model_custom("5"))])
    proc = dev.spawn("install", "--from", W.repo, env={"SLUICE_AGENT_TEST_PAUSE": "written"})
    stopped = bs.wait_stopped(proc)
    staged = os.path.join(dev.models, "det", sha(t5), "model", "labels.txt")
    if stopped and os.path.exists(staged):
        with open(staged, "r+b") as f:
            f.write(b"EVILMODEL")
    os.kill(proc.pid, signal.SIGCONT)
    proc.wait()
    err = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    st = dev.install_state()
    check("tree changed after staging caught", stopped and proc.returncode == 1 and
          st["phase"] == "failed" and (st.get("error") or "").startswith("TUF_E_HASH") and
          "differs from the archive" in st["error"] and os.readlink(cur) == h2, f"{err} {st}")

    # 5. The next good tar model still installs.
    t6 = make_tar("det-6.tar", b"GOODMODEL v6\n")
    W.publish([("models/det-6.tar", t6, model_custom("6"))])
    p = dev.agent("install", "--from", W.repo)
    st = dev.install_state()
    h6 = sha(t6)
    check("the next install commits", p.returncode == 0 and st["phase"] == "committed" and
          os.readlink(cur) == h6 and
          open(os.path.join(cur, "model", "labels.txt"), "rb").read() == b"GOODMODEL v6\n" and
          not os.path.exists(d2), f"{p.stderr} {st}")
    status = dev.status()
    check("status lists the model", json.dumps(status).find(h6) >= 0, status)

    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        W.cleanup()
    sys.exit(rc)
