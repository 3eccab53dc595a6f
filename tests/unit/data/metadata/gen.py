#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Write the metadata test fixtures of tests/unit/test-{metadata,delegation,target-check}.c.

Signatures come from an implementation independent of ours: PyNaCl (Ed25519), python3-cryptography
(ECDSA P-256) and securesystemslib's canonical JSON for the signed bytes. Keys are derived from
fixed seeds, so only the ECDSA signatures change when this is re-run.

Run from anywhere: /usr/bin/python3 tests/unit/data/metadata/gen.py
"""

import copy
import hashlib
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from nacl.signing import SigningKey
from securesystemslib.formats import encode_canonical

OUT = os.path.dirname(os.path.abspath(__file__))
EXPIRES = "2031-01-01T00:00:00Z"
SPEC = "1.0.31"

# The content of target "file1.txt"; test-target-check.c holds the same string.
FILE1 = b"This is an example target file."
FILE2 = b"second file\n"


def canonical(obj):
    return encode_canonical(obj).encode("utf-8")


def keyid_of(public):
    return hashlib.sha256(canonical(public)).hexdigest()


class Ed25519:
    def __init__(self, seed_byte):
        self.sk = SigningKey(bytes([seed_byte]) * 32)
        self.public = {
            "keytype": "ed25519",
            "scheme": "ed25519",
            "keyval": {"public": self.sk.verify_key.encode().hex()},
        }
        self.keyid = keyid_of(self.public)

    def sign(self, data):
        return self.sk.sign(data).signature.hex()


class EcdsaP256:
    def __init__(self, secret):
        self.sk = ec.derive_private_key(secret, ec.SECP256R1())
        pem = self.sk.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public = {
            "keytype": "ecdsa",
            "scheme": "ecdsa-sha2-nistp256",
            "keyval": {"public": pem.decode("ascii")},
        }
        self.keyid = keyid_of(self.public)

    def sign(self, data):
        return self.sk.sign(data, ec.ECDSA(hashes.SHA256())).hex()


ROOT1, ROOT2 = Ed25519(1), Ed25519(2)
ROOT3 = EcdsaP256(0x5EED0003)
TIMESTAMP, SNAPSHOT, TARGETS = Ed25519(4), Ed25519(5), Ed25519(6)
DELEG1, DELEG2 = Ed25519(7), EcdsaP256(0x5EED0008)


def sign(signed, *signers):
    data = canonical(signed)
    return {
        "signatures": [{"keyid": k.keyid, "sig": k.sign(data)} for k in signers],
        "signed": signed,
    }


def write(name, doc):
    data = json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    return data


def hashes_of(data, algs=("sha256",)):
    return {a: hashlib.new(a, data).hexdigest() for a in algs}


def role(keys, threshold):
    return {"keyids": [k.keyid for k in keys], "threshold": threshold}


def root_signed():
    keys = [ROOT1, ROOT2, ROOT3, TIMESTAMP, SNAPSHOT, TARGETS]
    return {
        "_type": "root",
        "spec_version": SPEC,
        "version": 1,
        "expires": EXPIRES,
        "consistent_snapshot": True,
        "keys": {k.keyid: k.public for k in keys},
        "roles": {
            "root": role([ROOT1, ROOT2, ROOT3], 2),
            "timestamp": role([TIMESTAMP], 1),
            "snapshot": role([SNAPSHOT], 1),
            "targets": role([TARGETS], 1),
        },
    }


def targets_signed():
    return {
        "_type": "targets",
        "spec_version": SPEC,
        "version": 2,
        "expires": EXPIRES,
        "targets": {
            "file1.txt": {"length": len(FILE1), "hashes": hashes_of(FILE1, ("sha256", "sha512"))},
            "dir/file2.txt": {
                "length": len(FILE2),
                "hashes": hashes_of(FILE2),
                "custom": {"sluice": {"kind": "file", "release": "2026.11.1"}},
            },
            "unknown-alg.bin": {
                "length": len(FILE2),
                "hashes": {**hashes_of(FILE2), "blake2b-256": "00" * 32},
            },
        },
        "delegations": {
            "keys": {DELEG1.keyid: DELEG1.public, DELEG2.keyid: DELEG2.public},
            "roles": [
                {
                    "name": "role-a",
                    "keyids": [DELEG1.keyid],
                    "threshold": 1,
                    "terminating": False,
                    "paths": ["a/*", "files/*.txt"],
                },
                {
                    "name": "role-b",
                    "keyids": [DELEG1.keyid, DELEG2.keyid],
                    "threshold": 2,
                    "terminating": True,
                    # The first four hex digits of sha256("file1.txt"); "ff" matches no test path.
                    "path_hash_prefixes": [hashlib.sha256(b"file1.txt").hexdigest()[:4], "ff"],
                },
                {
                    "name": "role-c",
                    "keyids": [DELEG2.keyid],
                    "threshold": 1,
                    "terminating": False,
                },
            ],
        },
    }


def main():
    root = root_signed()
    write("root.json", sign(root, ROOT1, ROOT2, ROOT3))

    targets = targets_signed()
    targets_bytes = write("targets.json", sign(targets, TARGETS))

    role_a = {
        "_type": "targets",
        "spec_version": SPEC,
        "version": 1,
        "expires": EXPIRES,
        "targets": {"a/x.bin": {"length": len(FILE2), "hashes": hashes_of(FILE2)}},
    }
    write("role-a.json", sign(role_a, DELEG1))

    succinct = {
        "_type": "targets",
        "spec_version": SPEC,
        "version": 1,
        "expires": EXPIRES,
        "targets": {},
        "delegations": {
            "keys": {DELEG1.keyid: DELEG1.public},
            "succinct_roles": {
                "keyids": [DELEG1.keyid],
                "threshold": 1,
                "bit_length": 8,
                "name_prefix": "bins",
            },
        },
    }
    write("targets-succinct.json", sign(succinct, TARGETS))

    snapshot = {
        "_type": "snapshot",
        "spec_version": SPEC,
        "version": 3,
        "expires": EXPIRES,
        "meta": {
            "targets.json": {
                "version": 2,
                "length": len(targets_bytes),
                "hashes": hashes_of(targets_bytes),
            },
            "role-a.json": {"version": 1},
            "role-b.json": {"version": 1, "length": 604},
        },
    }
    snapshot_bytes = write("snapshot.json", sign(snapshot, SNAPSHOT))

    timestamp = {
        "_type": "timestamp",
        "spec_version": SPEC,
        "version": 7,
        "expires": EXPIRES,
        "meta": {
            "snapshot.json": {
                "version": 3,
                "length": len(snapshot_bytes),
                "hashes": hashes_of(snapshot_bytes, ("sha256", "sha512")),
            }
        },
    }
    write("timestamp.json", sign(timestamp, TIMESTAMP))

    negatives(root, timestamp)


def root_variant(name, change, *signers):
    signed = root_signed()
    change(signed)
    write(name, sign(signed, *(signers or (ROOT1, ROOT2, ROOT3))))


def negatives(root, timestamp):
    def set_threshold(v):
        return lambda s: s["roles"]["timestamp"].update(threshold=v)

    root_variant("root-threshold-0.json", set_threshold(0))
    root_variant("root-threshold-neg.json", set_threshold(-1))
    root_variant("root-threshold-string.json", set_threshold("1"))
    # securesystemslib refuses to canonicalise floats: keep the valid root's signatures.
    doc = sign(root_signed(), ROOT1, ROOT2)
    doc["signed"]["roles"]["timestamp"]["threshold"] = 1.0
    write("root-threshold-float.json", doc)
    root_variant("root-missing-consistent.json", lambda s: s.pop("consistent_snapshot"))
    root_variant("root-spec-2.json", lambda s: s.update(spec_version="2.0"))
    root_variant(
        "root-dup-keyids.json",
        lambda s: s["roles"]["root"]["keyids"].append(ROOT1.keyid),
    )

    # An unsupported key type parses (key NULL) and never counts towards a threshold.
    unsupported = {"keytype": "sphincs", "scheme": "sphincs-shake-256f", "keyval": {"public": "00"}}
    unsupported_id = keyid_of(unsupported)

    def add_unsupported(s):
        s["keys"][unsupported_id] = unsupported
        s["roles"]["root"] = {"keyids": [ROOT1.keyid, unsupported_id], "threshold": 2}

    signed = root_signed()
    add_unsupported(signed)
    doc = sign(signed, ROOT1)
    doc["signatures"].append({"keyid": unsupported_id, "sig": "00" * 64})
    write("root-unsupported-key.json", doc)

    # One public key under two key ids, threshold 2: signed under both ids, it counts once.
    alias = hashlib.sha256(b"alias of root key 1").hexdigest()

    def add_alias(s):
        s["keys"][alias] = ROOT1.public
        s["roles"]["root"] = {"keyids": [ROOT1.keyid, alias], "threshold": 2}

    signed = root_signed()
    add_alias(signed)
    doc = sign(signed, ROOT1)
    doc["signatures"].append({"keyid": alias, "sig": ROOT1.sign(canonical(signed))})
    write("root-same-key-two-ids.json", doc)

    # The same signature entry twice next to a threshold of 2.
    doc = sign(root_signed(), ROOT1)
    doc["signatures"].append(copy.deepcopy(doc["signatures"][0]))
    write("root-repeated-sig.json", doc)

    # A valid threshold (2 of 3) plus garbage from an authorised key and from an unknown one.
    doc = sign(root_signed(), ROOT1, ROOT2)
    doc["signatures"].append({"keyid": ROOT3.keyid, "sig": "30" + "01" * 70})
    doc["signatures"].append({"keyid": "ab" * 32, "sig": "ff" * 64})
    doc["signatures"].append({"keyid": ROOT2.keyid, "sig": "00" * 64, "extra": "ignored"})
    write("root-garbage-sig.json", doc)

    doc = sign(timestamp, TIMESTAMP)
    doc["signatures"][0]["sig"] = "zz" + doc["signatures"][0]["sig"][2:]
    write("timestamp-bad-hex-sig.json", doc)

    doc = copy.deepcopy(sign(timestamp, TIMESTAMP))
    doc["signed"]["version"] = 1.0
    write("timestamp-float-version.json", doc)

    # Signed by the snapshot key, but claiming the timestamp key id.
    doc = sign(timestamp, SNAPSHOT)
    doc["signatures"][0]["keyid"] = TIMESTAMP.keyid
    write("timestamp-wrong-key.json", doc)

    doc = copy.deepcopy(sign(timestamp, TIMESTAMP))
    doc["signed"]["version"] = 8
    write("timestamp-tampered.json", doc)

    # Unknown fields stay in the signed bytes: signed over, they verify ...
    extra = copy.deepcopy(timestamp)
    extra["x_sluice_note"] = {"b": [1, "two", None, True], "a": "\u00e9\u6f22"}
    extra["meta"]["snapshot.json"]["x_mirror"] = "m1"
    write("timestamp-unknown-field.json", sign(extra, TIMESTAMP))
    with open(os.path.join(OUT, "timestamp-unknown-field.canonical"), "wb") as f:
        f.write(canonical(extra))
    # ... and added after signing, they do not.
    doc = sign(timestamp, TIMESTAMP)
    doc["signed"]["x_sluice_note"] = "added later"
    write("timestamp-unknown-field-unsigned.json", doc)


if __name__ == "__main__":
    main()
