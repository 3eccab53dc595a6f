#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Interop over mutual TLS: tuf-js's Updater (tufjs-mtls-client.mjs, a fetcher that presents
the device certificate) refreshes from and downloads off a running `sluice-controlplane
serve`, whose repository was made by a real key ceremony and publish (the world of
tests/integration/e2e/e2elib.py); it sees a second publish; without a client certificate,
or as a device that was issued but not approved, it gets nothing.

Usage: test-tufjs-mtls.py PROVISION CONTROLPLANE CEREMONY AGENT TUF
Exits 77 (skipped) when node or tests/interop/node_modules is missing (`npm ci` there)."""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "e2e"))
import e2elib as E  # noqa: E402

CLIENT = os.path.join(HERE, "tufjs-mtls-client.mjs")


def need_node():
    node = shutil.which("node")
    if not node:
        print("skip: node is not installed")
        sys.exit(E.SKIP)
    for mod in ("tuf-js", "@tufjs/models"):
        if not os.path.isdir(os.path.join(HERE, "node_modules", mod)):
            print(f"skip: {mod} missing: run `npm ci` in tests/interop")
            sys.exit(E.SKIP)
    return node


def env():
    e = {k: v for k, v in os.environ.items()
         if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    e["NO_PROXY"] = "*"
    return e


def main():
    node = need_node()
    b = E.binaries(sys.argv, need=("provision", "controlplane", "ceremony", "tuf"))
    tmp = E.tmpdir("sluice-tufjs-mtls-")
    t = E.Checks()
    w = E.World(b, tmp)
    srv = None

    def tufjs(ident, mdir, *args):
        tls = ["--ca-file", ident["ca"]]
        if ident.get("cert"):
            tls += ["--cert", ident["cert"], "--key", ident["key"]]
        return subprocess.run([node, CLIENT, "--metadata-dir", mdir, "--metadata-url",
                               w.https("metadata/"), *tls, *args], capture_output=True,
                              text=True, timeout=120, env=env())

    def client(ident, name):
        d = os.path.join(tmp, "tufjs-" + name)
        os.makedirs(d)
        p = tufjs(ident, d, "init", w.root)
        t.check(p.returncode == 0, f"tuf-js init for {name}", p.stderr)
        return d

    try:
        w.setup()
        img1 = os.urandom(150 * 1024)
        b1 = w.release("2026.11.1", {"images/board-a/rootfs.img": img1,
                                     "files/notes.txt": b"release one\n"})
        w.publish(b1)
        media = {d: w.device(d) for d in ("dev-1", "dev-2")}
        exp = w.export()  # only dev-1 is approved below; dev-2 stays unapproved
        line = json.loads(open(exp).readline())
        w.cp("devices", "approve", "dev-1", "--hardware", "board-a", "--cert-sha256",
             line["cert_sha256"])
        ident = {d: {"ca": os.path.join(m, "ca.pem"), "cert": os.path.join(m, "device.crt"),
                     "key": os.path.join(m, "device.key")} for d, m in media.items()}
        srv = w.serve()

        c1 = client(ident["dev-1"], "dev-1")
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        p = tufjs(ident["dev-1"], c1, "--target-name", "images/board-a/rootfs.img",
                  "--target-name", "files/notes.txt", "--target-base-url", w.https("targets/"),
                  "--target-dir", out, "download")
        img = os.path.join(out, "images%2Fboard-a%2Frootfs.img")
        t.check(p.returncode == 0 and open(img, "rb").read() == img1 and
                open(os.path.join(out, "files%2Fnotes.txt"), "rb").read() == b"release one\n",
                "tuf-js over mTLS: refresh and download equal the artifacts", p.stderr)
        for role in ("timestamp", "snapshot", "targets"):
            ok = os.path.exists(os.path.join(c1, role + ".json"))
            t.check(ok and json.load(open(os.path.join(c1, role + ".json")))["signed"]["version"]
                    == 1, f"tuf-js trusts {role} v1")

        # a second publish is seen by the next refresh
        img2 = os.urandom(100 * 1024)
        b2 = w.release("2026.11.2", {"images/board-a/rootfs.img": img2},
                       prev=w.targets_file(b1))
        w.publish(b2)
        t.check(w.wait_served(ident["dev-1"]), "the server serves the new timestamp")
        p = tufjs(ident["dev-1"], c1, "--target-name", "images/board-a/rootfs.img",
                  "--target-base-url", w.https("targets/"), "--target-dir", out, "download")
        t.check(p.returncode == 0 and
                json.load(open(os.path.join(c1, "targets.json")))["signed"]["version"] == 2 and
                open(img, "rb").read() == img2,
                "tuf-js refreshes to targets v2 and downloads the new image", p.stderr)

        # no client certificate: the handshake is refused
        c0 = client(ident["dev-1"], "nocert")
        p = tufjs({"ca": ident["dev-1"]["ca"]}, c0, "refresh")
        t.check(p.returncode == 1 and "Failed to refresh" in p.stderr,
                "tuf-js without a client certificate fails", p.stderr)
        # issued but not approved: 403 on timestamp.json
        c2 = client(ident["dev-2"], "dev-2")
        p = tufjs(ident["dev-2"], c2, "refresh")
        t.check(p.returncode == 1 and "HTTP 403" in p.stderr,
                "tuf-js as an unapproved device: HTTP 403", p.stderr)
        t.check(sorted(os.listdir(c0)) == ["root.json"] and
                sorted(os.listdir(c2)) == ["root.json"], "refused clients trust nothing new")
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
