#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Refused bundles change nothing (invariant R), end to end with the real binaries while
`sluice-controlplane serve` is running: a targets signature that does not verify, a
rolled-back and a replayed targets version, an artifact missing from the bundle (listed, or
left out of the index too), substituted artifact bytes and an unlisted extra file. Each
publish exits 2 naming the fault; the repository, STATE/tmp and the audit trail are as
before; a device refreshing over mTLS with sluice-tuf sees the same timestamp version and
keeps a byte-identical metadata directory; afterwards a good bundle still publishes.

Usage: test-e2e-bad-bundle.py PROVISION CONTROLPLANE CEREMONY AGENT TUF"""
import hashlib
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402


def reindex(bundle, drop=()):
    """Rewrite bundle.json's files list from what is in the directory (an index consistent
    with a tampered tree: the fault must be caught by the signed metadata)."""
    path = os.path.join(bundle, "bundle.json")
    with open(path) as f:
        idx = json.load(f)
    files = []
    for e in idx["files"]:
        if e["path"] in drop:
            continue
        p = os.path.join(bundle, e["path"])
        with open(p, "rb") as f:
            data = f.read()
        files.append({"path": e["path"], "length": len(data),
                      "sha256": hashlib.sha256(data).hexdigest()})
    idx["files"] = files
    with open(path, "w") as f:
        json.dump(idx, f, indent=2)


def main():
    b = E.binaries(sys.argv, need=("provision", "controlplane", "ceremony", "tuf"))
    tmp = E.tmpdir("sluice-e2e-bad-")
    t = E.Checks()
    w = E.World(b, tmp)
    srv = None
    try:
        w.setup()
        b1 = w.release("2026.11.1", {"images/board-a/rootfs.img": b"one" * 5000})
        w.publish(b1)
        b2 = w.release("2026.11.2", {"images/board-a/rootfs.img": b"two" * 5000},
                       prev=w.targets_file(b1))
        w.publish(b2)
        # the good next release; every bad bundle below is a tampered copy of it
        b3 = w.release("2026.11.3", {"images/board-a/rootfs.img": b"three" * 5000,
                                     "files/new.txt": b"a file the repository does not have\n"},
                       prev=w.targets_file(b2))

        media = w.device("dev-1")
        exp = w.export()
        line = json.loads(open(exp).readline())
        w.cp("devices", "approve", "dev-1", "--hardware", "board-a", "--cert-sha256",
             line["cert_sha256"])
        ident = {"ca": os.path.join(media, "ca.pem"), "cert": os.path.join(media, "device.crt"),
                 "key": os.path.join(media, "device.key")}
        srv = w.serve()
        client = w.tuf_client(ident, "dev-1")
        p = w.tuf(ident, client, "refresh")
        t.check(p.returncode == 0, "dev-1 refreshes over mTLS", p.stderr)
        ts_path = os.path.join(client, "timestamp.json")
        ts_version = json.load(open(ts_path))["signed"]["version"]
        t.check(ts_version == 2, f"served timestamp is version 2 ({ts_version})")

        repo = os.path.join(w.state, "repo")
        tmpd = os.path.join(w.state, "tmp")
        repo_hash = E.tree_hash(repo)
        client_hash = E.tree_hash(client)
        audit = w.cp("audit", "export").stdout
        served = w.get(ident, "/tuf/metadata/timestamp.json")

        def copy(name):
            d = os.path.join(tmp, "bad-" + name)
            shutil.copytree(b3, d)
            return d

        def refused(bundle, what, codes):
            p = w.publish(bundle, ok=False)
            err = (p.stdout + p.stderr).strip()
            t.check(p.returncode == 2 and any(c in err for c in codes),
                    f"{what}: publish exits 2 naming {'/'.join(codes)}",
                    f"rc={p.returncode}: {err}")
            t.check(E.tree_hash(repo) == repo_hash, f"{what}: STATE/repo byte-identical")
            t.check(os.listdir(tmpd) == [], f"{what}: STATE/tmp empty", str(os.listdir(tmpd)))
            t.check(w.cp("audit", "export").stdout == audit, f"{what}: audit trail unchanged")
            p = w.tuf(ident, client, "refresh")
            ver = json.load(open(ts_path))["signed"]["version"]
            t.check(p.returncode == 0 and ver == ts_version and
                    E.tree_hash(client) == client_hash,
                    f"{what}: refresh over mTLS: same timestamp version, metadata identical",
                    p.stderr)
            print(f"    ({what}: {err.splitlines()[-1] if err else ''})")

        # 1. a targets signature that does not verify (index updated to match)
        d = copy("sig")
        tf = w.targets_file(d)
        md = json.load(open(tf))
        sig = md["signatures"][0]["sig"]
        md["signatures"][0]["sig"] = ("0" if sig[0] != "0" else "1") + sig[1:]
        with open(tf, "w") as f:
            json.dump(md, f, indent=2)
        reindex(d)
        refused(d, "bad targets signature", ["TUF_E_THRESHOLD"])

        # 2. rolled back: the first release again (targets v1 < served v2)
        refused(b1, "rolled-back targets version", ["TUF_E_ROLLBACK"])
        # ... and the current release replayed (same version 2)
        refused(b2, "replayed targets version", ["TUF_E_ROLLBACK"])

        # 3. a missing artifact, still listed in bundle.json
        d = copy("missing-listed")
        os.unlink(os.path.join(d, "targets", "files", "new.txt"))
        refused(d, "artifact listed but missing", ["CP_E_BUNDLE"])
        # ... and left out of the index as well: only the signed targets name it
        d = copy("missing")
        os.unlink(os.path.join(d, "targets", "files", "new.txt"))
        reindex(d, drop=("targets/files/new.txt",))
        refused(d, "artifact missing from bundle and repository", ["CP_E_BUNDLE"])

        # 4. substituted artifact bytes, same length, index updated
        d = copy("subst")
        art = os.path.join(d, "targets", "images", "board-a", "rootfs.img")
        with open(art, "r+b") as f:
            f.write(b"X")
        reindex(d)
        refused(d, "substituted artifact bytes", ["TUF_E_HASH"])

        # 5. an unlisted extra file
        d = copy("extra")
        with open(os.path.join(d, "targets", "extra.sh"), "w") as f:
            f.write("#!/bin/sh\n")
        # (docs/bundle-format.md names SL_E_INVALID for the ceremony's reader; the control
        # plane's bundle reader reports CP_E_BUNDLE, as docs/controlplane.md lists)
        refused(d, "unlisted extra file", ["CP_E_BUNDLE"])

        # every loop still serves the same bytes
        time.sleep(0.6)  # longer than the server's generation poll
        t.check(all(w.get(ident, "/tuf/metadata/timestamp.json") == served for _ in range(6)),
                "the server still answers the same timestamp.json")

        # R (d): the next good publish succeeds and is seen
        p = w.publish(b3)
        t.check("targets version 3" in p.stdout, "the good bundle publishes afterwards", p.stdout)
        t.check(w.wait_served(ident), "the server serves the new timestamp")
        out = os.path.join(tmp, "out")
        p = w.download(ident, client, ["files/new.txt"], out)
        t.check(p.returncode == 0 and
                json.load(open(os.path.join(client, "targets.json")))["signed"]["version"] == 3
                and open(os.path.join(out, "files%2Fnew.txt"), "rb").read() ==
                b"a file the repository does not have\n",
                "dev-1 refreshes to targets v3 and downloads the new file", p.stderr)
        p = w.cp("audit", "verify", ok=False)
        t.check(p.returncode == 0, "audit verify passes", p.stdout + p.stderr)
        rc = srv.stop()
        t.check(rc == 0, f"SIGTERM: serve exits 0 ({rc})")
        srv = None
    except Exception as e:
        t.check(False, f"scenario ran to the end: {e}")
    finally:
        if srv:
            srv.stop()
            print("--- serve log ---\n" + srv.output())
    r = t.done()
    if r == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"work directory kept: {tmp}")
    return r


if __name__ == "__main__":
    sys.exit(main())
