#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End to end with the real ceremony: sluice-controlplane init -> sluice-ceremony keygen, root
init (with STATE/online-keys.json), sign -> root-import -> sluice-ceremony release (image and a
delegated model) -> publish -> sluice-tuf downloads both over file:// -> a second release
(--previous-targets) -> publish -> sluice-tuf sees it.

Environment: SLUICE_CONTROLPLANE, SLUICE_TUF, SLUICE_CEREMONY."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

CP = os.environ["SLUICE_CONTROLPLANE"]
TUF = os.environ["SLUICE_TUF"]
CER = os.environ["SLUICE_CEREMONY"]


def run(*args, stdin=None, cwd=None):
    p = subprocess.run([str(a) for a in args], input=stdin, capture_output=True, text=True,
                       cwd=cwd, timeout=600)
    if p.returncode != 0:
        raise AssertionError(f"{args} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


def main():
    tmp = tempfile.mkdtemp(prefix="cp-cer-")
    try:
        state = os.path.join(tmp, "state")
        work = os.path.join(tmp, "ceremony")
        os.makedirs(work)
        d = ["--dir", state]
        run(CP, "init", *d)

        def keygen(name, role):
            run(CER, "keygen", "--role", role, "--out", f"{name}.key", "--kdf", "interactive",
                "--allow-network", "--passphrase-fd", "0", stdin=f"pw-{name}\n", cwd=work)
            run(CER, "pubkey", f"{name}.key", "--out", f"{name}.pub", cwd=work)

        keygen("root", "root")
        keygen("targets", "targets")
        keygen("models", "models")
        run(CER, "root", "init", "--root-key", "root.pub", "--targets-key", "targets.pub",
            "--online-keys", os.path.join(state, "online-keys.json"), "--root-threshold", "1",
            "--targets-threshold", "1", "--expires-days", "365", "--out", "1.root.json",
            cwd=work)
        run(CER, "sign", "1.root.json", "--key", "root.key", "--passphrase-fd", "0",
            stdin="pw-root\n", cwd=work)
        root = os.path.join(work, "1.root.json")
        run(CP, "root-import", *d, root)

        def release(name, image, model, prev=None):
            rel = os.path.join(work, name)
            os.makedirs(rel)
            with open(os.path.join(rel, "rootfs.img"), "w") as f:
                f.write(image)
            with open(os.path.join(rel, "det.onnx"), "w") as f:
                f.write(model)
            manifest = {
                "sluice_manifest": 1, "release": name,
                "delegations": [{"name": "models", "keys": ["../models.pub"], "threshold": 1,
                                 "paths": ["models/*"], "terminating": True}],
                "artifacts": [
                    {"file": "rootfs.img", "target": "images/rootfs.img", "kind": "image",
                     "hardware": ["board-a"], "slot_class": "rootfs"},
                    {"file": "det.onnx", "target": "models/det.onnx", "kind": "model",
                     "hardware": ["board-a"], "role": "models", "model": {"name": "det"}}]}
            with open(os.path.join(rel, "release.json"), "w") as f:
                json.dump(manifest, f)
            out = os.path.join(work, f"bundle-{name}")
            extra = ["--previous-targets", prev] if prev else []
            run(CER, "release", "--manifest", os.path.join(rel, "release.json"), "--root",
                "1.root.json", "--key", "targets.key", "--key", "models.key", "--out", out,
                "--passphrase-fd", "0", *extra, stdin="pw-targets\npw-models\n", cwd=work)
            return out

        b1 = release("2026.11.1", "image one", "model one")
        p = run(CP, "publish", *d, b1)
        assert "targets version 1" in p.stdout and "1 delegated role" in p.stdout, p.stdout

        client = os.path.join(tmp, "client")
        out = os.path.join(tmp, "out")
        os.makedirs(client)
        murl = f"file://{state}/repo/metadata/"
        turl = f"file://{state}/repo/targets/"
        run(TUF, "--metadata-dir", client, "init", root)

        def download(want):
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            run(TUF, "--metadata-dir", client, "--metadata-url", murl, "--target-name",
                "images/rootfs.img", "--target-name", "models/det.onnx", "--target-base-url",
                turl, "--target-dir", out, "download")
            got = sorted(open(os.path.join(out, f)).read() for f in os.listdir(out))
            assert got == sorted(want), got

        download(["image one", "model one"])
        prev = os.path.join(b1, "metadata", "1.targets.json")
        b2 = release("2026.11.2", "image two", "model two", prev)
        p = run(CP, "publish", *d, b2)
        assert "targets version 2" in p.stdout, p.stdout
        download(["image two", "model two"])
        assert run(CP, "audit", *d, "verify").stdout.startswith("OK")
        print("controlplane + ceremony integration: OK")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
