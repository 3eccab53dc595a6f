#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Provisioning scenarios (P) on the agent side: sluice-agent provision against good, incomplete,
tampered and hostile media; every refusal leaves the state directory byte-identical and no
staging directory behind."""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bootsim as bs  # noqa: E402

W = bs.World()
failures = 0


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures += 1


def fresh_media(name, device_id="dev-1", **kw):
    return bs.make_media(W.ca, os.path.join(W.tmp, "media-" + name), device_id, W.root_json(), **kw)


def refused(dev, media, name, fragment, force=False):
    before = dev.state_hash(include_events=True)
    args = ["provision", media] + (["--force"] if force else [])
    p = dev.agent(*args)
    after = dev.state_hash(include_events=True)
    leftovers = [e for e in os.listdir(dev.state) if e.startswith("sluice-")] if os.path.isdir(dev.state) else []
    check(name, p.returncode == 1 and fragment in p.stderr and before == after and not leftovers,
          f"rc={p.returncode} stderr={p.stderr.strip()!r} unchanged={before == after} leftovers={leftovers}")


def main():
    W.publish([])
    good = fresh_media("good")

    # A fresh device takes good media; status shows what was imported.
    dev = bs.Device(os.path.join(W.tmp, "d1"))
    p = dev.agent("provision", good)
    check("good media provisions", p.returncode == 0, p.stderr)
    st = dev.status()
    ident = st["identity"]
    check("status: identity", ident.get("common_name") == "dev-1" and ident.get("provisioned")
          and 28 <= ident.get("expires_in_days", 0) <= 30, json.dumps(ident))
    check("status: root version and url", st.get("root_version") == 1 and
          st.get("controlplane_url") == "https://cp.example:8443/" and st.get("device_id") == "dev-1",
          json.dumps(st))
    key = os.path.join(dev.state, "identity", "device.key")
    check("device.key is 0600 and identity 0700",
          (os.stat(key).st_mode & 0o777) == 0o600 and
          (os.stat(os.path.dirname(key)).st_mode & 0o777) == 0o700)
    check("tuf/root.json pinned", open(os.path.join(dev.state, "tuf", "root.json"), "rb").read() ==
          open(W.root_json(), "rb").read())

    # Re-provisioning needs --force; refusals with --force leave the old identity intact.
    refused(dev, good, "re-provision without --force refused", "provisioned already")
    other = fresh_media("other")
    p = dev.agent("provision", other, "--force")
    check("re-provision with --force", p.returncode == 0 and
          open(os.path.join(dev.state, "identity", "device.crt"), "rb").read() ==
          open(os.path.join(other, "device.crt"), "rb").read(), p.stderr)

    # Incomplete media.
    m = fresh_media("incomplete")
    os.unlink(os.path.join(m, "device.key"))
    refused(dev, m, "missing device.key refused", "device.key: missing", force=True)
    m = fresh_media("nomanifest")
    os.unlink(os.path.join(m, "manifest.json"))
    refused(dev, m, "missing manifest refused", "manifest.json: missing", force=True)

    # Tampered: bytes changed after the manifest was written.
    m = fresh_media("tampered")
    with open(os.path.join(m, "ca.pem"), "ab") as f:
        f.write(b"\n")
    refused(dev, m, "tampered ca.pem refused", "the manifest records", force=True)
    m = fresh_media("tampered2")
    data = bytearray(open(os.path.join(m, "agent.conf"), "rb").read())
    data[-3] ^= 1
    open(os.path.join(m, "agent.conf"), "wb").write(data)
    refused(dev, m, "tampered agent.conf refused", "agent.conf: SHA-256", force=True)

    # Key not matching the certificate.
    m = fresh_media("keymismatch")
    bs.make_cert(W.ca, os.path.join(W.tmp, "otherkey"), "dev-1")
    shutil.copy(os.path.join(W.tmp, "otherkey", "device.key"), os.path.join(m, "device.key"))
    bs.write_manifest(m, "dev-1")
    refused(dev, m, "key not matching the certificate refused", "does not match", force=True)

    # Pinned root not matching its recorded hash; a root that is not validly self-signed.
    m = fresh_media("roothash")
    bs.write_manifest(m, "dev-1", root_sha256="00" * 32)
    refused(dev, m, "root hash mismatch refused", "differs from root_sha256", force=True)
    m = fresh_media("badroot")
    root = json.load(open(os.path.join(m, "root.json")))
    root["signed"]["version"] = 7
    json.dump(root, open(os.path.join(m, "root.json"), "w"))
    bs.write_manifest(m, "dev-1")
    refused(dev, m, "unsigned root refused", "root", force=True)

    # Certificate checks: CN, EKU, expiry.
    m = fresh_media("cn")
    bs.make_cert(W.ca, m, "dev-2")
    bs.write_manifest(m, "dev-1")
    refused(dev, m, "certificate for another device refused", "is not the device id", force=True)
    m = fresh_media("eku")
    bs.make_cert(W.ca, m, "dev-1", eku="serverAuth")
    bs.write_manifest(m, "dev-1")
    refused(dev, m, "certificate without clientAuth refused", "clientAuth", force=True)
    m = fresh_media("expired")
    bs.make_cert(W.ca, m, "dev-1", days=5, expired=True)
    bs.write_manifest(m, "dev-1")
    refused(dev, m, "expired certificate refused", "expired", force=True)
    m = fresh_media("conf")
    open(os.path.join(m, "agent.conf"), "w").write("[device]\nid = dev-9\nhardware = board-a\n")
    bs.write_manifest(m, "dev-1")
    refused(dev, m, "agent.conf for another device refused", "agent.conf", force=True)

    # Hostile media: symlinks, FIFOs, '..', huge files.
    m = fresh_media("symlink")
    os.unlink(os.path.join(m, "device.key"))
    os.symlink(os.path.join(W.tmp, "otherkey", "device.key"), os.path.join(m, "device.key"))
    refused(dev, m, "symlinked device.key refused", "symbolic link", force=True)
    m = fresh_media("fifo")
    os.unlink(os.path.join(m, "ca.pem"))
    os.mkfifo(os.path.join(m, "ca.pem"))
    refused(dev, m, "FIFO ca.pem refused", "not a regular file", force=True)
    m = fresh_media("dotdot")
    bs.write_manifest(m, "dev-1", extra={"../x": {"sha256": "00" * 32, "length": 1}})
    refused(dev, m, "'..' in the manifest refused", "unsafe file name", force=True)
    m = fresh_media("huge")
    with open(os.path.join(m, "root.json"), "wb") as f:
        f.truncate(600 * 1024)
    bs.write_manifest(m, "dev-1")
    refused(dev, m, "huge root.json refused", "exceed the limit", force=True)
    m = fresh_media("badid")
    man = json.load(open(os.path.join(m, "manifest.json")))
    man["device_id"] = "../../etc"
    json.dump(man, open(os.path.join(m, "manifest.json"), "w"))
    refused(dev, m, "unsafe device id refused", "device_id", force=True)

    # After every refusal, good media still provisions.
    p = dev.agent("provision", good, "--force")
    check("next good provisioning succeeds", p.returncode == 0, p.stderr)

    # An interrupted --force (identity swapped, tuf/ not yet) is repaired on next use.
    gen = os.path.join(dev.state, "tuf", "generation")
    open(gen, "w").write("stale")
    p = dev.agent("install", "--from", W.repo)
    check("stale tuf/ rebuilt from the pinned root",
          open(gen).read() == open(os.path.join(dev.state, "identity", "generation")).read(),
          p.stderr)

    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        W.cleanup()
    sys.exit(rc)
