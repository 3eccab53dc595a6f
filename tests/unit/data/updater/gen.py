#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Generates the signed repository that tests/unit/test-updater.c refreshes from.
# Run with Debian's python3 (python3-nacl, python3-securesystemslib):
#   /usr/bin/python3 tests/unit/data/updater/gen.py
# Keys come from fixed seeds and Ed25519 signatures are deterministic, so the output is
# reproducible byte for byte.
import hashlib
import json
import os
import shutil

import nacl.signing
from securesystemslib.formats import encode_canonical

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.join(HERE, "repo")
EXTRA = os.path.join(HERE, "extra")
EXPIRES = "2100-01-01T00:00:00Z"
SPEC = "1.0.31"
ROLE = "ml models"  # a delegated role whose name needs percent-encoding


def key(seed_byte):
    sk = nacl.signing.SigningKey(bytes([seed_byte]) * 32)
    pub = {"keytype": "ed25519", "scheme": "ed25519",
           "keyval": {"public": sk.verify_key.encode().hex()}}
    keyid = hashlib.sha256(encode_canonical(pub).encode()).hexdigest()
    return {"sk": sk, "pub": pub, "id": keyid}


KEYS = {name: key(i + 1) for i, name in enumerate(
    ["root1", "root2", "timestamp1", "timestamp2", "snapshot", "targets", "delegate"])}


def sign(signed, *names):
    data = encode_canonical(signed).encode()
    sigs = [{"keyid": KEYS[n]["id"], "sig": KEYS[n]["sk"].sign(data).signature.hex()}
            for n in names]
    return (json.dumps({"signed": signed, "signatures": sigs}, indent=1, sort_keys=True)
            + "\n").encode()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def fileinfo(data, version=None):
    info = {"length": len(data), "hashes": {"sha256": hashlib.sha256(data).hexdigest()}}
    if version is not None:
        info["version"] = version
    return info


def root(version, root_key, ts_key):
    names = [root_key, ts_key, "snapshot", "targets"]
    return {"_type": "root", "spec_version": SPEC, "version": version, "expires": EXPIRES,
            "consistent_snapshot": True,
            "keys": {KEYS[n]["id"]: KEYS[n]["pub"] for n in names},
            "roles": {"root": {"keyids": [KEYS[root_key]["id"]], "threshold": 1},
                      "timestamp": {"keyids": [KEYS[ts_key]["id"]], "threshold": 1},
                      "snapshot": {"keyids": [KEYS["snapshot"]["id"]], "threshold": 1},
                      "targets": {"keyids": [KEYS["targets"]["id"]], "threshold": 1}}}


def timestamp(version, snapshot_bytes, snapshot_version):
    return {"_type": "timestamp", "spec_version": SPEC, "version": version, "expires": EXPIRES,
            "meta": {"snapshot.json": fileinfo(snapshot_bytes, snapshot_version)}}


def main():
    shutil.rmtree(REPO, ignore_errors=True)
    shutil.rmtree(EXTRA, ignore_errors=True)
    md = os.path.join(REPO, "metadata")

    # Root 1 -> 2 rotates the root key and the timestamp key.
    write(os.path.join(md, "1.root.json"), sign(root(1, "root1", "timestamp1"), "root1"))
    write(os.path.join(md, "2.root.json"),
          sign(root(2, "root2", "timestamp2"), "root1", "root2"))

    top = b"top-level target\n"
    model = b"model bytes: not really onnx\n"
    write(os.path.join(REPO, "targets", hashlib.sha256(top).hexdigest() + ".top.txt"), top)
    write(os.path.join(REPO, "targets", "models",
                       hashlib.sha256(model).hexdigest() + ".detector.onnx"), model)

    delegated = sign({"_type": "targets", "spec_version": SPEC, "version": 1, "expires": EXPIRES,
                      "targets": {"models/detector.onnx": {
                          **fileinfo(model), "custom": {"sluice": {"kind": "model"}}}}},
                     "delegate")
    write(os.path.join(md, "1." + ROLE + ".json"), delegated)

    targets = sign({"_type": "targets", "spec_version": SPEC, "version": 1, "expires": EXPIRES,
                    "targets": {"top.txt": fileinfo(top)},
                    "delegations": {
                        "keys": {KEYS["delegate"]["id"]: KEYS["delegate"]["pub"]},
                        "roles": [{"name": ROLE, "keyids": [KEYS["delegate"]["id"]],
                                   "threshold": 1, "terminating": False,
                                   "paths": ["models/*"]}]}},
                   "targets")
    write(os.path.join(md, "1.targets.json"), targets)

    snapshot = sign({"_type": "snapshot", "spec_version": SPEC, "version": 1,
                     "expires": EXPIRES,
                     "meta": {"targets.json": fileinfo(targets, 1),
                              ROLE + ".json": fileinfo(delegated, 1)}},
                    "snapshot")
    write(os.path.join(md, "1.snapshot.json"), snapshot)

    write(os.path.join(md, "timestamp.json"), sign(timestamp(2, snapshot, 1), "timestamp2"))
    # An older, validly signed timestamp: serving it after version 2 is a rollback.
    write(os.path.join(EXTRA, "timestamp-v1.json"), sign(timestamp(1, snapshot, 1), "timestamp2"))
    # A fast-forwarded timestamp signed with the key that root 2 rotates away.
    write(os.path.join(EXTRA, "timestamp-ff.json"), sign(timestamp(99, snapshot, 1), "timestamp1"))


if __name__ == "__main__":
    main()
