#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration test of sluice-controlplane with the real binaries: init -> bundle ->
root-import -> publish -> sluice-tuf refresh+download over file:// -> refused bundles change
nothing -> second publish -> sluice-tuf sees it; devices, rollout and audit verbs.

Bundles come from cp-make-bundle (the tuf writer). Environment: SLUICE_CONTROLPLANE,
SLUICE_TUF, CP_MAKE_BUNDLE (paths of the binaries)."""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

CP = os.environ["SLUICE_CONTROLPLANE"]
TUF = os.environ["SLUICE_TUF"]
MK = os.environ["CP_MAKE_BUNDLE"]


def run(*args, ok=True, code=None):
    p = subprocess.run(args, capture_output=True, text=True)
    if code is not None:
        assert p.returncode == code, f"{args}: exit {p.returncode} != {code}\n{p.stdout}{p.stderr}"
    elif ok and p.returncode != 0:
        raise AssertionError(f"{args} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


def tree_hash(path):
    h = hashlib.sha256()
    for root, dirs, files in sorted(os.walk(path)):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            h.update(os.path.relpath(p, path).encode() + b"\0")
            with open(p, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def db_dump(path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out = "\n".join(con.iterdump())
    con.close()
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="cp-integ-")
    try:
        state = os.path.join(tmp, "state")
        keys = os.path.join(tmp, "keys.hex")
        root = os.path.join(tmp, "root.json")
        d = ["--dir", state]

        # Usage errors: one line on stderr, exit 1; --help exits 0.
        p = run(CP, "publish", "--bogus", code=1)
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert run(CP, "publish", "--help").stdout.startswith("Usage")

        p = run(CP, "init", *d)
        assert "online-keys.json" in p.stdout
        assert "air-gap mode" in p.stderr
        assert oct(os.stat(state).st_mode & 0o777) == "0o700"
        run(CP, "init", *d, code=2)  # not empty

        run(MK, "keys", keys)
        run(MK, "root", keys, state, root)
        p = run(CP, "root-import", *d, root)
        assert hashlib.sha256(open(root, "rb").read()).hexdigest() in p.stdout
        run(CP, "root-import", *d, root, code=2)  # a root is already trusted

        b1 = os.path.join(tmp, "b1")
        run(MK, "bundle", keys, b1, "2026.11.1", "1", "images/rootfs.img=image one")
        p = run(CP, "publish", *d, b1)
        assert "targets version 1" in p.stdout, p.stdout

        client = os.path.join(tmp, "client")
        out = os.path.join(tmp, "out")
        os.makedirs(client)
        os.makedirs(out)
        murl = f"file://{state}/repo/metadata/"
        turl = f"file://{state}/repo/targets/"
        run(TUF, "--metadata-dir", client, "init", root)
        run(TUF, "--metadata-dir", client, "--metadata-url", murl, "refresh")
        run(TUF, "--metadata-dir", client, "--metadata-url", murl, "--target-name",
            "images/rootfs.img", "--target-base-url", turl, "--target-dir", out, "download")
        got = [open(os.path.join(out, f), "rb").read() for f in os.listdir(out)]
        assert got == [b"image one"], got

        # Refused bundles change nothing (invariant R).
        repo = os.path.join(state, "repo")
        dbp = os.path.join(state, "controlplane.db")
        before = (tree_hash(repo), db_dump(dbp))
        rolled = os.path.join(tmp, "rolled")
        run(MK, "bundle", keys, rolled, "old", "1", "images/rootfs.img=image zero")
        p = run(CP, "publish", *d, rolled, code=2)
        assert "TUF_E_ROLLBACK" in p.stderr, p.stderr
        other_keys = os.path.join(tmp, "other.hex")
        run(MK, "keys", other_keys)
        badsig = os.path.join(tmp, "badsig")
        run(MK, "bundle", other_keys, badsig, "bad", "2", "images/rootfs.img=evil")
        p = run(CP, "publish", *d, badsig, code=2)
        assert "TUF_E_THRESHOLD" in p.stderr, p.stderr
        missing = os.path.join(tmp, "missing")
        run(MK, "bundle", keys, missing, "m", "2", "images/rootfs.img=image two")
        os.unlink(os.path.join(missing, "targets/images/rootfs.img"))
        p = run(CP, "publish", *d, missing, code=2)
        assert "CP_E_BUNDLE" in p.stderr, p.stderr
        assert (tree_hash(repo), db_dump(dbp)) == before
        assert os.listdir(os.path.join(state, "tmp")) == []

        b2 = os.path.join(tmp, "b2")
        run(MK, "bundle", keys, b2, "2026.11.2", "2", "images/rootfs.img=image two")
        run(CP, "publish", *d, b2)
        shutil.rmtree(out)
        os.makedirs(out)
        run(TUF, "--metadata-dir", client, "--metadata-url", murl, "--target-name",
            "images/rootfs.img", "--target-base-url", turl, "--target-dir", out, "download")
        got = [open(os.path.join(out, f), "rb").read() for f in os.listdir(out)]
        assert got == [b"image two"], got

        st = json.loads(run(CP, "status", *d, "--json").stdout)
        roles = {r["role"]: r for r in st["roles"]}
        assert roles["targets"]["version"] == 2 and roles["timestamp"]["days_left"] in (0, 1)
        assert roles["root"]["days_left"] >= 360
        assert st["last_publish"]["release"] == "2026.11.2"
        run(CP, "status", *d)

        # Devices, escaping of hostile identities, rollout, audit.
        hostile = "evil\x1b[2J\nid"
        run(CP, "devices", *d, "approve", hostile, "--hardware", "board-a", "--tags", "lab")
        p = run(CP, "devices", *d, "list")
        assert "\x1b" not in p.stdout and "evil\\x1b[2J\\x0aid" in p.stdout, p.stdout
        devs = json.loads(run(CP, "devices", *d, "list", "--json").stdout)
        assert devs[0]["id"] == hostile
        p = run(CP, "rollout", *d, "create", "--release", "2026.11.2", "--waves", "50,100",
                "--max-failure-rate", "0.2")
        rid = p.stdout.strip()
        ro = json.loads(run(CP, "rollout", *d, "status", rid, "--json").stdout)
        assert ro[0]["state"] == "active" and ro[0]["current_wave"]["eligible"] == 1
        run(CP, "rollout", *d, "pause", rid)
        run(CP, "rollout", *d, "pause", rid, code=2)
        run(CP, "rollout", *d, "abort", rid)
        run(CP, "history", *d, "--json")
        run(CP, "devices", *d, "decommission", hostile)

        p = run(CP, "audit", *d, "verify")
        assert p.stdout.startswith("OK"), p.stdout
        rows = json.loads(run(CP, "audit", *d, "export", "--json").stdout)
        assert [r["action"] for r in rows][:3] == ["init", "root-import", "publish"]
        # Tamper through a raw connection: verify names the row, exit 3.
        con = sqlite3.connect(dbp)
        con.execute("DROP TRIGGER audit_no_update")
        con.execute("UPDATE audit SET detail = 'nothing happened' WHERE seq = 3")
        con.commit()
        con.close()
        p = run(CP, "audit", *d, "verify", code=3)
        assert "row 3" in p.stdout, p.stdout
        print("controlplane integration: OK")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
