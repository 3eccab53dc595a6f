#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Scenarios T: oversized metadata and artifacts (the client stops reading at the limit),
endless bodies, and substituted or truncated artifact bytes."""

import hashlib
import os

from harness import case, fails_with, h, main, next_timestamp

# A client that stops at the limit leaves at most its own receive buffer and the server's
# send buffer unread; one that reads on sees hundreds of MiB (reposim's endless limit).
BOUND = 16 << 20


def check_cut_off(t, res, path):
    entries = [e for e in res.reqs if e["path"] == path]
    t.check(entries, "%s was not requested" % path, res)
    sent = max(e["sent"] for e in entries)
    t.check(sent < BOUND, "%s: the server sent %d bytes before the client stopped reading" %
            (path, sent), res)
    t.check(res.elapsed < 30, "the client took %.1fs to give up" % res.elapsed, res)


@case
def timestamp_over_16k(t):
    r = t.new_repo()
    t.setup_client()
    s = next_timestamp(r)
    s["x-padding"] = "p" * (17 * 1024)
    r.override_md("timestamp.json", r.sign("timestamp", s))
    res = t.refresh_rejected()
    fails_with(t, res, "large|limit|size|length")
    t.check(not any("snapshot" in p for p in res.paths()), "snapshot fetched", res)
    t.good_again()


@case
def timestamp_just_under_16k_accepted(t):
    r = t.new_repo()
    t.setup_client()
    s = next_timestamp(r)
    s["x-padding"] = ""
    base = len(r.sign("timestamp", s))
    s["x-padding"] = "p" * (16 * 1024 - base - 64)
    data = r.sign("timestamp", s)
    t.check(len(data) < 16 * 1024, "fixture is %d bytes" % len(data))
    r.override_md("timestamp.json", data)
    t.ok(t.refresh(), "refresh with a 16 KiB - 64 B timestamp")


def endless_case(name, setup_roles):
    def fn(t):
        r = t.new_repo()
        t.setup_client()
        r.update(setup_roles)
        path = "metadata/" + (name if name != "snapshot" else "2.snapshot.json")
        if name == "targets":
            path = "metadata/2.targets.json"
        if name == "root":
            r.rotate_root()
            path = "metadata/2.root.json"
        r.behave(path, endless=True)
        allow = {}
        if name in ("snapshot", "targets"):
            allow["timestamp.json"] = [h(r.files["metadata/timestamp.json"])]
        if name == "targets":
            allow["snapshot.json"] = [h(r.files["metadata/2.snapshot.json"])]
        res = t.refresh_rejected(allow=allow)
        check_cut_off(t, res, path)
        t.good_again()
    fn.__name__ = "endless_%s" % name
    return fn


case(endless_case("timestamp.json", []))
case(endless_case("snapshot", []))
case(endless_case("targets", ["targets"]))
case(endless_case("root", []))


@case
def snapshot_over_limit_from_timestamp_length(t):
    r = t.new_repo()
    t.setup_client()
    r.snapshot["x-padding"] = "p" * 5000
    r.update()
    ts = next_timestamp(r)
    ts["meta"]["snapshot.json"]["length"] = 1000
    tsb = r.sign("timestamp", ts)
    r.override_md("timestamp.json", tsb)
    r.behave("metadata/2.snapshot.json", endless=True)
    res = t.refresh_rejected(allow={"timestamp.json": [h(tsb)]})
    check_cut_off(t, res, "metadata/2.snapshot.json")
    for _ in range(2):
        r.update()
    t.good_again()


@case
def target_longer_than_length(t):
    r = t.new_repo({"file1.txt": b"A" * 1000})
    t.setup_client()
    r.behave("targets/%s.file1.txt" % h(b"A" * 1000), extra=b"B" * 5000)
    res = t.download("file1.txt")
    if res.rc == 0:
        t.ok(res)
        t.check(t.target("file1.txt") == b"A" * 1000, "stored bytes differ", res)
    else:
        t.fails(res, "download")
        t.check(os.listdir(t.tdir) == [], "target dir not empty", res)
    r.clear_overrides()
    t.ok(t.download("file1.txt"))
    t.check(t.target("file1.txt") == b"A" * 1000, "stored bytes differ")


@case
def target_endless_body(t):
    data = os.urandom(4096)
    r = t.new_repo({"file1.txt": data})
    t.setup_client()
    path = "targets/%s.file1.txt" % h(data)
    r.behave(path, endless=True)
    res = t.download("file1.txt")
    check_cut_off(t, res, path)
    if res.rc == 0:
        t.ok(res)
        t.check(t.target("file1.txt") == data, "stored bytes differ", res)
    else:
        t.fails(res, "download")
        t.check(os.listdir(t.tdir) == [], "target dir not empty", res)


@case
def target_substituted_bytes(t):
    data = b"the real artifact\n" * 10
    r = t.new_repo({"file1.txt": data, "file2.txt": b"two"})
    t.setup_client()
    path = "targets/%s.file1.txt" % h(data)
    for evil in (data[:-1] + b"X", data[:-5], b"", b"x" * len(data) * 3):
        r.override(path, evil)
        res = t.fails(t.download("file1.txt"), "download of substituted bytes")
        t.check(os.listdir(t.tdir) == [], "target dir not empty: %s" % os.listdir(t.tdir), res)
    r.clear_overrides()
    t.ok(t.download(["file1.txt", "file2.txt"]))
    t.check(t.target("file1.txt") == data, "stored bytes differ")


@case
def stale_local_target_is_replaced(t):
    data = b"fresh bytes"
    t.new_repo({"file1.txt": data})
    t.setup_client()
    with open(os.path.join(t.tdir, "file1.txt"), "wb") as f:
        f.write(b"stale bytes")
    res = t.ok(t.download("file1.txt"), "download over a stale copy")
    t.check(t.target("file1.txt") == data, "stale copy kept", res)


def hash_variants(data):
    good = {"sha256": h(data)}
    sha512 = hashlib.sha512(data).hexdigest()
    return [
        ("unknown alongside sha256", dict(good, **{"sluice-future-hash": "ab" * 32}), True),
        ("sha512 alongside sha256", dict(good, sha512=sha512), True),
        ("unknown alone", {"sluice-future-hash": "ab" * 32}, False),
        ("wrong sha512 alongside sha256", dict(good, sha512="00" * 64), False),
        ("no hashes", {}, False),
    ]


def hash_case(index):
    def fn(t):
        data = b"hash me"
        name, hashes, good = hash_variants(data)[index]
        r = t.new_repo({"file1.txt": b"other"})
        t.setup_client()
        path = "t.txt"
        r.roles["targets"]["targets"][path] = {"length": len(data), "hashes": hashes}
        r.blobs[path] = data
        for url in ["targets/%s.%s" % (v, path) for v in hashes.values()] + ["targets/" + path]:
            r.files[url] = data
        r.update(["targets"])
        if good:
            t.ok(t.refresh(), "refresh with hashes: " + name)
            res = t.ok(t.download(path), "download with hashes: " + name)
            t.check(t.target(path) == data, name + ": bytes differ", res)
            return
        # refused either with the whole targets role at refresh or at download
        before = t.state()
        res = t.refresh()
        if res.rc == 0:
            t.ok(res)
            res = t.fails(t.download(path), "download with hashes: " + name)
            t.check(t.target(path) is None, name + ": target written", res)
        else:
            t.fails(res, "refresh with hashes: " + name)
            t.same_state(before, {"timestamp.json": [h(r.files["metadata/timestamp.json"])],
                                  "snapshot.json": [h(r.files["metadata/2.snapshot.json"])]},
                         res)
    fn.__name__ = "target_hashes_" + hash_variants(b"")[index][0].replace(" ", "_")
    return fn


for _i in range(len(hash_variants(b""))):
    case(hash_case(_i))


@case
def snapshot_meta_unknown_hash_algorithm(t):
    r = t.new_repo()
    t.setup_client()
    r.timestamp_hashes = True
    r.update()
    ts = next_timestamp(r)
    ts["meta"]["snapshot.json"]["hashes"]["sluice-future-hash"] = "cd" * 32
    r.override_md("timestamp.json", r.sign("timestamp", ts))
    t.ok(t.refresh(), "unknown hash algorithm next to sha256 in timestamp meta")
    r.clear_overrides()
    r.update()
    ts = next_timestamp(r)
    ts["meta"]["snapshot.json"]["hashes"] = {"sluice-future-hash": "cd" * 32}
    tsb = r.sign("timestamp", ts)
    r.override_md("timestamp.json", tsb)
    t.refresh_rejected(allow={"timestamp.json": [h(tsb)]})


if __name__ == "__main__":
    main()
