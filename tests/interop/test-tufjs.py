#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Interop with tuf-js, an independent TUF implementation.

  test-tufjs.py our-client SLUICE_TUF  sluice-tuf init/refresh/download against a repository
                                       signed by @tufjs/models (tufjs-make-repo.mjs)
  test-tufjs.py their-client           tuf-js's Updater (tufjs-client.mjs) refreshes from and
                                       downloads off a repository made by tests/tuf/reposim.py

Exits 77 (skipped) when node or tests/interop/node_modules is missing (`npm ci` there).
"""

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tuf"))

FAILED = []
PASSED = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg, flush=True)
    (PASSED if cond else FAILED).append(msg)


def need_node():
    node = shutil.which("node")
    if not node:
        print("skip: node is not installed")
        sys.exit(77)
    for mod in ("tuf-js", "@tufjs/models"):
        if not os.path.isdir(os.path.join(HERE, "node_modules", mod)):
            print("skip: %s missing: run `npm ci` in tests/interop" % mod)
            sys.exit(77)
    return node


def env():
    e = {k: v for k, v in os.environ.items()
         if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    e["NO_PROXY"] = "*"
    return e


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env(), **kw)
    if p.returncode != 0:
        print("  $ %s\n  rc=%d\n  %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p


def serve_dir(root):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    handler = functools.partial(Quiet, directory=root)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, "http://127.0.0.1:%d/" % srv.server_address[1]


def quote(name):
    from urllib.parse import quote as q
    return q(name, safe="")


def our_client(binary):
    node = need_node()
    work = tempfile.mkdtemp(prefix="sluice-interop-")
    try:
        repo = os.path.join(work, "repo")
        p = run([node, os.path.join(HERE, "tufjs-make-repo.mjs"), repo])
        check(p.returncode == 0, "tuf-js signs a repository")
        if p.returncode:
            return
        with open(os.path.join(repo, "expected.json")) as f:
            expected = {k: bytes.fromhex(v) for k, v in json.load(f).items()}
        srv, base = serve_dir(repo)
        mdir, tdir = os.path.join(work, "md"), os.path.join(work, "tg")
        os.mkdir(mdir)
        os.mkdir(tdir)
        md = ["--metadata-dir", mdir]
        url = ["--metadata-url", base + "metadata/"]
        check(run([binary] + md + ["init", os.path.join(repo, "metadata", "1.root.json")])
              .returncode == 0, "sluice-tuf init with the tuf-js root")
        check(run([binary] + md + url + ["refresh"]).returncode == 0,
              "sluice-tuf refresh (root rotation, consistent snapshots) of the tuf-js repo")
        with open(os.path.join(repo, "metadata", "2.root.json"), "rb") as f:
            with open(os.path.join(mdir, "root.json"), "rb") as g:
                check(f.read() == g.read(), "trusted root is the rotated 2.root.json")
        args = [binary] + md + url
        for name in expected:
            args += ["--target-name", name]
        args += ["--target-base-url", base + "targets/", "--target-dir", tdir, "download"]
        check(run(args).returncode == 0, "sluice-tuf download of both targets (one delegated)")
        for name, data in expected.items():
            path = os.path.join(tdir, quote(name))
            got = open(path, "rb").read() if os.path.exists(path) else None
            check(got == data, "downloaded bytes of %s match" % name)
        check(os.path.exists(os.path.join(mdir, "models.json")),
              "delegated role stored as models.json")
        srv.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def their_client():
    import reposim
    node = need_node()
    cli = [node, os.path.join(HERE, "tufjs-client.mjs")]
    work = tempfile.mkdtemp(prefix="sluice-interop-")
    r = None
    try:
        r = reposim.Repo()
        r.snapshot_hashes = r.timestamp_hashes = True
        expected = {"file1.txt": b"hello from reposim\n", "dir/two.bin": os.urandom(3000)}
        for name, data in expected.items():
            r.add_target(name, data)
        r.delegate("targets", "models", paths=["models/*"], terminating=True)
        expected["models/m.onnx"] = b"model " * 100
        r.add_target("models/m.onnx", expected["models/m.onnx"], role="models")
        r.delegate_succinct("models", 3, "bins")
        r.publish_all()
        r.rotate_root()
        r.update(["targets"])
        r.serve()
        mdir, tdir = os.path.join(work, "md"), os.path.join(work, "tg")
        os.mkdir(mdir)
        os.mkdir(tdir)
        root1 = os.path.join(work, "1.root.json")
        with open(root1, "wb") as f:
            f.write(r.root_bytes[1])
        md = ["--metadata-dir", mdir]
        url = ["--metadata-url", r.metadata_url]
        check(run(cli + md + ["init", root1]).returncode == 0, "tuf-js init with reposim root")
        check(run(cli + md + url + ["refresh"]).returncode == 0,
              "tuf-js refresh (root rotation, hashes in meta) of the reposim repo")
        with open(os.path.join(mdir, "root.json"), "rb") as g:
            check(g.read() == r.root_bytes[2], "tuf-js trusts the rotated root")
        args = cli + md + url
        for name in expected:
            args += ["--target-name", name]
        args += ["--target-base-url", r.targets_url, "--target-dir", tdir, "download"]
        check(run(args).returncode == 0, "tuf-js download of three targets (one delegated)")
        for name, data in expected.items():
            path = os.path.join(tdir, quote(name))
            got = open(path, "rb").read() if os.path.exists(path) else None
            check(got == data, "tuf-js downloaded bytes of %s match" % name)
    finally:
        if r:
            r.close()
        shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "our-client":
        our_client(sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == "their-client":
        their_client()
    else:
        print(__doc__)
        sys.exit(2)
    print("%d passed, %d failed" % (len(PASSED), len(FAILED)))
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
