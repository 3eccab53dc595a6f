#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Offline media end to end with the real binaries: sluice-ceremony release bundle -> publish ->
devices approve --from -> export-offline -> sluice-agent provision + install --from on
file-backed slots (boot simulator of tests/integration/agent) -> receipts -> import-receipts ->
history and audit verify; a tampered medium (changed artifact byte, rolled-back timestamp)
is refused by the agent with invariant R.

Environment: SLUICE_CONTROLPLANE, SLUICE_CEREMONY, SLUICE_AGENT."""
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "agent"))
import bootsim as bs  # noqa: E402

CP = os.environ["SLUICE_CONTROLPLANE"]
CER = os.environ["SLUICE_CEREMONY"]
failures = 0


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures += 1


def run(*args, stdin=None, cwd=None, ok=True):
    p = subprocess.run([str(a) for a in args], input=stdin, capture_output=True, text=True,
                       cwd=cwd, timeout=600)
    if ok and p.returncode != 0:
        raise AssertionError(f"{args} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


def ceremony(state, work):
    """Offline keys, the first root (imported), and a release bundle with one image."""
    def keygen(name, role):
        run(CER, "keygen", "--role", role, "--out", f"{name}.key", "--kdf", "interactive",
            "--allow-network", "--passphrase-fd", "0", stdin=f"pw-{name}\n", cwd=work)
        run(CER, "pubkey", f"{name}.key", "--out", f"{name}.pub", cwd=work)

    keygen("root", "root")
    keygen("targets", "targets")
    run(CER, "root", "init", "--root-key", "root.pub", "--targets-key", "targets.pub",
        "--online-keys", os.path.join(state, "online-keys.json"), "--root-threshold", "1",
        "--targets-threshold", "1", "--expires-days", "365", "--out", "1.root.json", cwd=work)
    run(CER, "sign", "1.root.json", "--key", "root.key", "--passphrase-fd", "0",
        stdin="pw-root\n", cwd=work)
    root = os.path.join(work, "1.root.json")
    run(CP, "root-import", "--dir", state, root)

    rel = os.path.join(work, "rel-2")
    os.makedirs(rel)
    bs.make_image(os.path.join(rel, "rootfs.img"), "2", 1 << 20)
    manifest = {"sluice_manifest": 1, "release": "2", "artifacts": [
        {"file": "rootfs.img", "target": "images/rootfs.img", "kind": "image",
         "hardware": [bs.HW], "slot_class": "rootfs"}]}
    with open(os.path.join(rel, "release.json"), "w") as f:
        json.dump(manifest, f)
    out = os.path.join(work, "bundle-2")
    run(CER, "release", "--manifest", os.path.join(rel, "release.json"), "--root",
        "1.root.json", "--key", "targets.key", "--out", out, "--passphrase-fd", "0",
        stdin="pw-targets\n", cwd=work)
    return root, out


def cert_sha256(pem_path):
    der = subprocess.run(["openssl", "x509", "-in", pem_path, "-outform", "DER"],
                         capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()


def device(tmp, name, media):
    root = os.path.join(tmp, name)
    os.makedirs(root)
    d = bs.Device(root)
    d.agent("provision", media, check=True)
    return d


def receipts(medium):
    return sorted(glob.glob(os.path.join(medium, "receipts", "*.json")))


def main():
    tmp = tempfile.mkdtemp(prefix="sluice-offline-")
    try:
        state = os.path.join(tmp, "state")
        work = os.path.join(tmp, "ceremony")
        os.makedirs(work)
        d = ["--dir", state]
        run(CP, "init", *d)
        root, bundle = ceremony(state, work)
        run(CP, "publish", *d, bundle)

        # The device: CA, provisioning medium, approval with its certificate's fingerprint.
        ca = bs.make_ca(os.path.join(tmp, "ca"))
        media = bs.make_media(ca, os.path.join(tmp, "media"), "dev-1", root)
        shutil.copy(os.path.join(ca, "ca.crt"), os.path.join(state, "tls", "device-ca.pem"))
        export = os.path.join(tmp, "provisioning-export.jsonl")
        with open(export, "w") as f:
            fpr = cert_sha256(os.path.join(media, "device.crt"))
            f.write(json.dumps({"id": "dev-1", "hardware": bs.HW, "cert_sha256": fpr}) + "\n")
        run(CP, "devices", "approve", *d, "--from", export)

        # Export: refused for an unknown release and a non-empty directory, then made.
        usb = os.path.join(tmp, "usb")
        p = run(CP, "export-offline", *d, "--release", "9", "--out", usb, ok=False)
        check("unknown release refused", p.returncode == 2 and "TUF_E_NOT_FOUND" in p.stderr and
              not os.path.exists(usb), p.stderr)
        full = os.path.join(tmp, "full")
        os.makedirs(full)
        open(os.path.join(full, "x"), "w").write("x")
        p = run(CP, "export-offline", *d, "--release", "2", "--out", full, ok=False)
        check("non-empty directory refused", p.returncode == 2 and os.listdir(full) == ["x"],
              p.stderr)
        p = run(CP, "export-offline", *d, "--release", "2", "--out", usb, "--json")
        res = json.loads(p.stdout)
        check("export written", res["artifacts"] == 1 and res["snapshot"] == 2 and
              res["timestamp"] == 2 and sorted(os.listdir(usb)) == ["metadata", "targets"] and
              sorted(os.listdir(os.path.join(usb, "metadata"))) ==
              ["1.root.json", "1.targets.json", "2.snapshot.json", "timestamp.json"], p.stdout)
        pristine = os.path.join(tmp, "usb-pristine")
        shutil.copytree(usb, pristine, symlinks=True)

        # Install from the medium, trial boot, commit; the receipts come back on the medium.
        dev = device(tmp, "dev1", media)
        p = dev.agent("install", "--from", usb)
        check("install from the medium switches", p.returncode == 0 and
              dev.install_state()["phase"] == "switched", p.stdout + p.stderr)
        booted = dev.reboot()
        st = dev.assert_consistent()
        check("trial boot commits", booted == "b" and st["phase"] == "committed" and
              bs.image_release(dev.slots["b"]) == "2", st)
        p = dev.agent("install", "--from", usb)  # no-op; flushes the committed receipt
        outs = sorted(json.load(open(r))["signed"]["outcome"] for r in receipts(usb))
        check("receipts on the medium", outs == ["committed", "noop", "reboot"], outs)

        # Import: accepted once, duplicates after; history and audit trail.
        before = {r: open(r, "rb").read() for r in receipts(usb)}
        p = run(CP, "import-receipts", *d, usb)
        check("receipts accepted", "3 accepted, 0 duplicate, 0 refused" in p.stdout,
              p.stdout + p.stderr)
        p = run(CP, "import-receipts", *d, "--json", usb)
        j = json.loads(p.stdout)
        check("second import adds nothing", j["accepted"] == 0 and j["duplicate"] == 3 and
              j["refused"] == 0, p.stdout)
        check("the medium is untouched", {r: open(r, "rb").read() for r in receipts(usb)} == before)
        hist = json.loads(run(CP, "history", *d, "--device", "dev-1", "--json").stdout)
        types = sorted((e["release"], e["type"]) for e in hist)
        check("history shows the offline install", types == [("2", "committed"), ("2", "switched")],
              hist)
        p = run(CP, "audit", *d, "verify", ok=False)
        check("audit verify passes", p.returncode == 0 and p.stdout.startswith("OK"),
              p.stdout + p.stderr)
        trail = run(CP, "audit", *d, "export", "--json").stdout
        check("audit trail records export and imports", trail.count("receipt-import") == 3 and
              trail.count("export-offline") == 1, trail[-2000:])

        # A forged receipt (body changed after signing) is refused, exit 2.
        forged = os.path.join(tmp, "forged")
        os.makedirs(os.path.join(forged, "receipts"))
        r = json.load(open(receipts(usb)[0]))
        r["signed"]["release"] = "3"
        json.dump(r, open(os.path.join(forged, "receipts", "x.json"), "w"))
        p = run(CP, "import-receipts", *d, forged, ok=False)
        check("forged receipt refused", p.returncode == 2 and "refused" in p.stdout and
              "TUF_E_SIGNATURE" in p.stdout, p.stdout + p.stderr)

        # Tampered media, on a second device: a changed artifact byte.
        dev2 = device(tmp, "dev2", media)
        bad = os.path.join(tmp, "usb-bad")
        shutil.copytree(pristine, bad, symlinks=True)
        for f in glob.glob(os.path.join(bad, "targets", "images", "*.rootfs.img")):
            data = bytearray(open(f, "rb").read())
            data[4096] ^= 1
            open(f, "wb").write(data)
        env_before = open(dev2.env_path).read()
        p = dev2.agent("install", "--from", bad)
        st = dev2.install_state()
        check("changed artifact byte refused", p.returncode == 1 and st["phase"] == "failed" and
              st["error"].startswith("TUF_E_HASH") and open(dev2.env_path).read() == env_before and
              bs.image_good(dev2.slots["a"]), p.stderr + str(st))
        good = os.path.join(tmp, "usb-good")
        shutil.copytree(pristine, good, symlinks=True)
        p = dev2.agent("install", "--from", good)
        booted = dev2.reboot()
        st = dev2.assert_consistent()
        check("the next good medium installs", p.returncode == 0 and st["phase"] == "committed",
              p.stderr + str(st))

        # A rolled-back timestamp: the served one (version 1) against the trusted version 2.
        rb = os.path.join(tmp, "usb-rollback")
        shutil.copytree(pristine, rb, symlinks=True)
        shutil.copy(os.path.join(state, "repo", "metadata", "timestamp.json"),
                    os.path.join(rb, "metadata", "timestamp.json"))
        before = dev2.state_hash()
        p = dev2.agent("install", "--from", rb)
        check("rolled-back timestamp refused", p.returncode == 1 and
              "older than trusted" in p.stderr and dev2.state_hash() == before, p.stderr)
        p = dev2.agent("install", "--from", good)
        check("still fine afterwards", p.returncode == 0 and "nothing to do" in p.stdout,
              p.stdout + p.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"offline media: {'OK' if failures == 0 else f'{failures} failure(s)'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
