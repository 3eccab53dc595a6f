#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Canonical JSON oracle: our bytes must equal securesystemslib.formats.encode_canonical.

Usage: test-canonical-oracle.py PATH-TO-canonical-dump

Generates random documents (nested containers, extreme integers, booleans, null, strings
with quotes, backslashes, control characters, BMP and astral code points, and TUF metadata
shapes), writes each as ordinary JSON with json.dumps, runs canonical-dump on it and compares
its stdout byte for byte with Debian's python3-securesystemslib. Also checks that documents
the strict parser must refuse make canonical-dump fail.

SLUICE_ORACLE_SEED=N replays a run; SLUICE_ORACLE_COUNT=N changes the number of documents.
Exit 77 (skipped) when securesystemslib cannot be imported.
"""

import json
import os
import random
import subprocess
import sys
import tempfile

REEXEC_ENV = "SLUICE_ORACLE_REEXEC"
DEBIAN_PYTHON = "/usr/bin/python3"

try:
    from securesystemslib.formats import encode_canonical
except Exception as exc:  # ImportError, or a broken install raising something else
    # python3 on PATH may be a pyenv interpreter without Debian's dist-packages.
    if (os.path.exists(DEBIAN_PYTHON) and not os.environ.get(REEXEC_ENV)
            and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON)):
        os.environ[REEXEC_ENV] = "1"
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON, os.path.abspath(__file__)] + sys.argv[1:])
    print(f"SKIP: cannot import securesystemslib with {sys.executable}: {exc!r} "
          "(install Debian's python3-securesystemslib)")
    sys.exit(77)

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_DEPTH = 6


def rand_code_point(rng):
    pool = rng.random()
    if pool < 0.45:
        return rng.randint(0x20, 0x7E)
    if pool < 0.55:
        return rng.choice([0x22, 0x5C])  # quote, backslash
    if pool < 0.65:
        return rng.choice(list(range(0x01, 0x20)) + [0x7F])  # controls (no NUL: refused)
    if pool < 0.85:
        cp = rng.randint(0x80, 0xFFFF)
        return cp if not 0xD800 <= cp <= 0xDFFF else 0xFFFD  # no lone surrogates
    return rng.randint(0x10000, 0x10FFFF)


def rand_string(rng, max_len=12):
    return "".join(chr(rand_code_point(rng)) for _ in range(rng.randint(0, max_len)))


def rand_int(rng):
    return rng.choice([
        0, 1, -1, INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1,
        2**31, -(2**31) - 1, 2**32,
        rng.randint(-1000, 1000), rng.randint(INT64_MIN, INT64_MAX),
    ])


def rand_value(rng, depth=0):
    kind = rng.random()
    if depth < MAX_DEPTH and kind < 0.3:
        if rng.random() < 0.5:
            return [rand_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
        return {rand_string(rng, 8): rand_value(rng, depth + 1) for _ in range(rng.randint(0, 6))}
    kind = rng.random()
    if kind < 0.3:
        return rand_string(rng)
    if kind < 0.6:
        return rand_int(rng)
    return rng.choice([True, False, None])


def hexid(rng, n=32):
    return "".join(rng.choice("0123456789abcdef") for _ in range(2 * n))


def rand_time(rng):
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (
        rng.randint(1970, 2099), rng.randint(1, 12), rng.randint(1, 28),
        rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))


def tuf_document(rng):
    """A TUF metadata shape: root, timestamp, snapshot or targets with delegations."""
    keyids = [hexid(rng) for _ in range(rng.randint(1, 4))]
    keys = {k: {"keytype": rng.choice(["ed25519", "ecdsa", "rsa"]),
                "scheme": rng.choice(["ed25519", "ecdsa-sha2-nistp256", "rsassa-pss-sha256"]),
                "keyval": {"public": hexid(rng)}} for k in keyids}
    role = rng.choice(["root", "timestamp", "snapshot", "targets"])
    signed = {"_type": role, "spec_version": "1.0.31", "version": rng.randint(1, 2**40),
              "expires": rand_time(rng)}
    meta_entry = lambda: {"version": rng.randint(1, 1000), "length": rng.randint(0, 2**31),
                          "hashes": {"sha256": hexid(rng), "sha512": hexid(rng, 64)}}
    if role == "root":
        signed["consistent_snapshot"] = rng.choice([True, False])
        signed["keys"] = keys
        signed["roles"] = {r: {"keyids": rng.sample(keyids, rng.randint(1, len(keyids))),
                               "threshold": rng.randint(1, 3)}
                           for r in ["root", "timestamp", "snapshot", "targets"]}
    elif role == "timestamp":
        signed["meta"] = {"snapshot.json": meta_entry()}
    elif role == "snapshot":
        signed["meta"] = {f"{rand_string(rng, 6)}.json": meta_entry() for _ in range(3)}
    else:
        signed["targets"] = {
            f"images/{rand_string(rng, 10)}": {
                "length": rng.randint(0, INT64_MAX), "hashes": {"sha256": hexid(rng)},
                "custom": {"sluice": {"kind": rng.choice(["image", "model", "file"]),
                                      "release": "2026.11.1", "hardware": ["board-a", "board-b"],
                                      "allow_downgrade": False, "note": rand_string(rng)}}}
            for _ in range(rng.randint(0, 4))}
        signed["delegations"] = {"keys": keys, "roles": [
            {"name": rand_string(rng, 8), "keyids": keyids[:1], "threshold": 1,
             "terminating": rng.choice([True, False]), "paths": ["models/*", rand_string(rng)]}
            for _ in range(rng.randint(0, 3))]}
    signed["x-extra"] = rand_value(rng, 3)
    return {"signed": signed,
            "signatures": [{"keyid": k, "sig": hexid(rng, 64)} for k in keyids]}


def dump_text(rng, doc):
    """Ordinary JSON in one of several spellings: ASCII-only or raw UTF-8, compact or indented."""
    return json.dumps(doc, ensure_ascii=rng.choice([True, False]),
                      indent=rng.choice([None, None, 1, "\t"]),
                      separators=rng.choice([None, (",", ":"), (" , ", " : ")]))


def run_dump(tool, tmpdir, data):
    path = os.path.join(tmpdir, "doc.json")
    with open(path, "wb") as f:
        f.write(data)
    return subprocess.run([tool, path], capture_output=True, timeout=60)


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


# Inputs the strict parser must refuse even though Python's json module reads most of them.
REJECTS = [
    b'{"version": 1, "version": 2}',
    b'{"signed": {"keys": {"k": 1, "k": 1}}}',
    b'{"length": 1.0}', b'[1e3]', b'-0.5', b'9223372036854775808', b'18446744073709551616',
    b'-9223372036854775809', b'01', b'"\\ud800"', b'"\\udc00x"', b'"\\u0000"',
    b'"a\nb"', b'{} x', b'', b'   ', b'"\xc0\xaf"', b'"\xed\xa0\x80"', b'"\xf4\x90\x80\x80"',
    b'"\xe2\x82"', b'[' * 33 + b']' * 33, b'NaN', b'[1,]', b"{'a': 1}",
]


def main():
    if len(sys.argv) != 2:
        print("usage: test-canonical-oracle.py PATH-TO-canonical-dump", file=sys.stderr)
        return 1
    tool = sys.argv[1]
    seed = int(os.environ.get("SLUICE_ORACLE_SEED", random.SystemRandom().randrange(2**32)))
    count = int(os.environ.get("SLUICE_ORACLE_COUNT", "400"))
    print(f"python {sys.executable}, seed {seed} (SLUICE_ORACLE_SEED={seed} to replay), "
          f"{count} documents")
    rng = random.Random(seed)
    failures = 0

    with tempfile.TemporaryDirectory(prefix="sluice-oracle-") as tmpdir:
        for i in range(count):
            doc = tuf_document(rng) if i % 3 == 0 else rand_value(rng)
            text = dump_text(rng, doc).encode("utf-8")
            expected = encode_canonical(doc).encode("utf-8")
            res = run_dump(tool, tmpdir, text)
            if res.returncode != 0:
                print(f"document {i}: canonical-dump failed: {res.stderr.decode(errors='replace')}"
                      f"input: {text[:400]!r}")
                return 1
            if res.stdout != expected:
                at = first_difference(res.stdout, expected)
                print(f"document {i}: MISMATCH at byte {at}\n"
                      f"  input:    {text[:400]!r}\n"
                      f"  ours:     {res.stdout[max(0, at - 40):at + 40]!r}\n"
                      f"  expected: {expected[max(0, at - 40):at + 40]!r}")
                return 1

        for data in REJECTS:
            res = run_dump(tool, tmpdir, data)
            if res.returncode != 1:
                print(f"input {data[:60]!r} was not refused (exit {res.returncode}, "
                      f"output {res.stdout[:60]!r})")
                failures += 1
            elif b"Failed to parse" not in res.stderr:
                print(f"input {data[:60]!r}: unexpected message {res.stderr!r}")
                failures += 1

    if failures:
        return 1
    print(f"{count} documents byte-identical to securesystemslib, {len(REJECTS)} bad inputs refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
