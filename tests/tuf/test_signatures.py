#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Scenarios T: signatures, thresholds, key types and the initial root (sluice-tuf init)."""

import os

from harness import Fail, case, h, main, next_timestamp, requested, signed_copy
import reposim
from reposim import Key


FF = {"timestamp.json": [None], "snapshot.json": [None]}


def ff_allow(new_root):
    """A root that changes timestamp keys lets the client delete the trusted timestamp
    and snapshot (§5.3.11, fast-forward recovery)."""
    return dict(FF, **{"root.json": [h(new_root)]})


def rotate_timestamp_role(repo, keys, threshold):
    """Root version+1 (same root keys) giving the timestamp role keys/threshold."""
    repo.root["version"] += 1
    repo.set_role_keys("timestamp", keys, threshold)
    return repo.publish_root()


@case
def basic_refresh_and_download(t):
    r = t.new_repo({"file1.txt": b"hello sluice\n", "dir/sub/f.bin": b"\x00\x01" * 100})
    res = t.setup_client()
    t.check(res.paths() == ["metadata/2.root.json", "metadata/timestamp.json",
                            "metadata/1.snapshot.json", "metadata/1.targets.json"],
            "unexpected request sequence", res)
    t.check(sorted(os.listdir(t.mdir)) ==
            ["root.json", "snapshot.json", "targets.json", "timestamp.json"],
            "metadata dir should hold the four top-level roles: %s" % os.listdir(t.mdir))
    t.check(t.md("timestamp.json") == r.files["metadata/timestamp.json"], "timestamp bytes")
    res = t.ok(t.download(["file1.txt", "dir/sub/f.bin"]), "download")
    t.check(t.target("file1.txt") == b"hello sluice\n", "downloaded bytes differ", res)
    t.check(t.target("dir/sub/f.bin") == b"\x00\x01" * 100, "downloaded bytes differ", res)
    t.check(sorted(os.listdir(t.tdir)) == ["dir%2Fsub%2Ff.bin", "file1.txt"],
            "target dir names: %s" % os.listdir(t.tdir))
    want = ["targets/%s.file1.txt" % h(b"hello sluice\n"),
            "targets/dir/sub/%s.f.bin" % h(b"\x00\x01" * 100)]
    for w in want:
        t.check(requested(res, w), "download URL must carry the hash prefix: " + w, res)
    t.ok(t.refresh(), "second refresh")


@case
def unsigned_timestamp(t):
    r = t.new_repo()
    t.setup_client()
    r.override_md("timestamp.json", r.sign("timestamp", next_timestamp(r), keys=[]))
    res = t.refresh_rejected()
    t.check(not any("snapshot" in p for p in res.paths()),
            "snapshot fetched after a bad timestamp", res)
    t.good_again()


@case
def timestamp_signed_by_snapshot_key(t):
    r = t.new_repo()
    t.setup_client()
    r.override_md("timestamp.json", r.sign("timestamp", next_timestamp(r),
                                           keys=r.keys["snapshot"]))
    res = t.refresh_rejected()
    t.check(not any("snapshot" in p for p in res.paths()), "snapshot fetched", res)
    t.good_again()


@case
def timestamp_signature_over_other_bytes(t):
    r = t.new_repo()
    t.setup_client()
    s = next_timestamp(r)
    good = reposim.canonical(s)
    sig = r.keys["timestamp"][0].sign(good)
    s["version"] += 1
    data = reposim.envelope(s, [], [{"keyid": r.keys["timestamp"][0].keyid, "sig": sig}])
    r.override_md("timestamp.json", data)
    t.refresh_rejected()
    t.good_again()


@case
def unsigned_snapshot(t):
    r = t.new_repo()
    t.setup_client()
    r.update()
    r.override_md("2.snapshot.json", r.sign("snapshot", keys=[]))
    res = t.refresh_rejected(allow={"timestamp.json": [h(r.files["metadata/timestamp.json"])]})
    t.check(not any("targets" in p for p in res.paths()), "targets fetched", res)
    t.good_again()


@case
def snapshot_signed_by_timestamp_key(t):
    r = t.new_repo()
    t.setup_client()
    r.update()
    r.override_md("2.snapshot.json", r.sign("snapshot", keys=r.keys["timestamp"]))
    t.refresh_rejected(allow={"timestamp.json": [h(r.files["metadata/timestamp.json"])]})
    t.good_again()


@case
def unsigned_and_wrongly_signed_targets(t):
    r = t.new_repo()
    t.setup_client()
    r.update(["targets"])
    allow = {"timestamp.json": [h(r.files["metadata/timestamp.json"])],
             "snapshot.json": [h(r.files["metadata/2.snapshot.json"])]}
    for keys in ([], r.keys["snapshot"], [Key()]):
        r.override_md("2.targets.json", r.sign("targets", keys=keys))
        t.refresh_rejected(allow=allow)
    t.good_again()


@case
def threshold_repeated_signature(t):
    r = t.new_repo()
    t.setup_client()
    k1, k2 = Key(), Key()
    new_root = rotate_timestamp_role(r, [k1, k2], 2)
    r.update()
    s = signed_copy(r, "timestamp")
    r.override_md("timestamp.json", r.sign("timestamp", s, keys=[k1, k1]))
    res = t.refresh_rejected(allow=ff_allow(new_root))
    t.check(not any("snapshot" in p for p in res.paths()), "snapshot fetched", res)
    t.good_again()


@case
def threshold_one_key_under_two_keyids(t):
    r = t.new_repo()
    t.setup_client()
    k1 = r.keys["timestamp"][0]
    alias = dict(k1.public, keyid_hash_algorithms=["sha256", "sha512"])
    alias_id = reposim.sha256(reposim.canonical(alias))
    r.root["version"] += 1
    r.root["keys"][alias_id] = alias
    r.root["roles"]["timestamp"] = {"keyids": [k1.keyid, alias_id], "threshold": 2}
    new_root = r.publish_root()
    s = next_timestamp(r)
    sig = k1.sign(reposim.canonical(s))
    data = reposim.envelope(s, [], [{"keyid": k1.keyid, "sig": sig},
                                    {"keyid": alias_id, "sig": sig}])
    r.override_md("timestamp.json", data)
    res = t.refresh_rejected(allow=ff_allow(new_root))
    t.check(not any("snapshot" in p for p in res.paths()), "snapshot fetched", res)


def bad_threshold_case(value, sign):
    def fn(t):
        r = t.new_repo()
        t.setup_client()
        r.root["version"] += 1
        r.root["roles"]["timestamp"]["threshold"] = value
        new_root = r.publish_root()
        s = next_timestamp(r)
        r.override_md("timestamp.json",
                      r.sign("timestamp", s, keys=r.keys["timestamp"] if sign else []))
        res = t.refresh_rejected(allow={"root.json": [h(new_root)]})
        t.check(not any("snapshot" in p for p in res.paths()), "snapshot fetched", res)
    fn.__name__ = "timestamp_threshold_%r" % (value,)
    return fn


for _v, _sign in ((0, False), (-1, False), ("1", True), (True, True), (None, True)):
    case(bad_threshold_case(_v, _sign))


@case
def root_threshold_zero_in_new_root(t):
    r = t.new_repo()
    t.setup_client()
    r.root["version"] += 1
    r.root["roles"]["root"]["threshold"] = 0
    r.publish_root()
    res = t.refresh_rejected()
    t.check(not requested(res, "metadata/timestamp.json"), "timestamp fetched", res)


@case
def extra_garbage_signatures_accepted(t):
    r = t.new_repo()
    t.setup_client()
    k2 = Key()
    rotate_timestamp_role(r, r.keys["timestamp"] + [k2], 1)
    r.keys["timestamp"] = r.keys["timestamp"][:1]
    s = next_timestamp(r)
    extra = [{"keyid": os.urandom(32).hex(), "sig": os.urandom(64).hex()},
             {"keyid": r.keys["snapshot"][0].keyid, "sig": os.urandom(64).hex()},
             {"keyid": k2.keyid, "sig": os.urandom(64).hex()}]
    data = reposim.envelope(s, r.keys["timestamp"], extra)
    r.override_md("timestamp.json", data)
    res = t.ok(t.refresh(), "refresh with extra garbage signatures")
    t.check(t.md("timestamp.json") == data, "new timestamp not stored", res)


@case
def unknown_key_type_ignored(t):
    r = t.new_repo()
    t.setup_client()
    odd = Key("unknown")
    rotate_timestamp_role(r, r.keys["timestamp"] + [odd], 1)
    r.keys["timestamp"] = [r.keys["timestamp"][0], odd]
    data = r.update()
    res = t.ok(t.refresh(), "unknown key type next to a good key, threshold 1")
    t.check(t.md("timestamp.json") == data, "new timestamp not stored", res)


@case
def unknown_key_type_cannot_meet_threshold(t):
    r = t.new_repo()
    t.setup_client()
    odd = Key("unknown")
    new_root = rotate_timestamp_role(r, r.keys["timestamp"] + [odd], 2)
    r.update()
    res = t.refresh_rejected(allow=ff_allow(new_root))
    t.check(not any("snapshot" in p for p in res.paths()), "snapshot fetched", res)


def keytype_case(kinds):
    def fn(t):
        r = reposim.Repo(keytype=kinds[0])
        for role, kind in zip(reposim.TOP_ROLES, kinds):
            r.set_role_keys(role, [Key(kind)], 1)
        r.signers["targets"] = r.keys["targets"]
        r.add_target("file1.txt", b"payload " * 50)
        r.delegate("targets", "role1", keys=[Key(kinds[-1])], paths=["d/*"])
        r.add_target("d/x.txt", b"delegated", role="role1")
        r.publish_all()
        r.serve()
        t.repos.append(r)
        t.repo = r
        t.setup_client()
        res = t.ok(t.download(["file1.txt", "d/x.txt"]), "download")
        t.check(t.target("file1.txt") == b"payload " * 50, "bytes differ", res)
        t.check(t.target("d/x.txt") == b"delegated", "bytes differ", res)
        r.rotate_root(new_keys=[Key(kinds[0])])
        r.update(["targets", "role1"])
        t.ok(t.refresh(), "refresh after rotation")
        t.check(t.md("root.json") == r.root_bytes[2], "rotated root not stored")
    fn.__name__ = "keytypes_" + "_".join(kinds)
    return fn


for _k in (("ecdsa",) * 4, ("rsa",) * 4, ("ed25519", "ecdsa", "rsa", "ed25519"),
           ("rsa", "ed25519", "ecdsa", "ecdsa")):
    case(keytype_case(_k))


@case
def ecdsa_signature_by_wrong_key(t):
    r = t.new_repo(keytype="ecdsa")
    t.setup_client()
    r.override_md("timestamp.json", r.sign("timestamp", next_timestamp(r), keys=[Key("ecdsa")]))
    t.refresh_rejected()
    t.good_again()


# ---- the initial root --------------------------------------------------------------------
def init_rejected(t, data):
    res = t.fails(t.init(data), "init")
    t.check(os.listdir(t.mdir) == [], "init left files: %s" % os.listdir(t.mdir), res)
    return res


@case
def init_rejects_bad_roots(t):
    r = t.new_repo()
    root = signed_copy(r, "root")
    variants = {
        "unsigned": reposim.envelope(root, []),
        "garbage signature": reposim.envelope(
            root, [], [{"keyid": r.keys["root"][0].keyid, "sig": os.urandom(64).hex()}]),
        "signed by an unlisted key": reposim.envelope(root, [Key()]),
        "malformed json": r.root_bytes[1][:-20],
        "empty file": b"",
        "a timestamp": r.files["metadata/timestamp.json"],
    }
    k2 = Key()
    two = signed_copy(r, "root")
    two["keys"][k2.keyid] = k2.public
    two["roles"]["root"] = {"keyids": [r.keys["root"][0].keyid, k2.keyid], "threshold": 2}
    variants["under threshold (1 of 2)"] = reposim.envelope(two, r.keys["root"])
    zero = signed_copy(r, "root")
    zero["roles"]["root"]["threshold"] = 0
    variants["root threshold 0, unsigned"] = reposim.envelope(zero, [])
    for name, data in variants.items():
        try:
            init_rejected(t, data)
        except Fail as e:
            raise Fail("%s: %s" % (name, e))
    res = t.ok(t.init(), "init with the good root")
    t.check(t.md("root.json") == r.root_bytes[1], "root.json is not the given root", res)


if __name__ == "__main__":
    main()
