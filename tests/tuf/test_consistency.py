#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Scenarios T: mix-and-match (hashes, lengths and versions of snapshot against timestamp
meta and of targets against snapshot meta), same version with different content, one role
served as another, and file naming with and without consistent snapshots."""

from harness import case, fails_with, h, main, next_timestamp, requested, signed_copy


def after_update(r):
    return {"timestamp.json": [h(r.files["metadata/timestamp.json"])]}


@case
def snapshot_hash_mismatch(t):
    r = t.new_repo(targets={"file1.txt": b"one"})
    r.timestamp_hashes = True
    r.update()
    t.setup_client()
    r.update()
    s = signed_copy(r, "snapshot")
    s["expires"] = r.expires(3 * 86400)  # same version, other content, valid signature
    r.override_md("3.snapshot.json", r.sign("snapshot", s))
    res = t.refresh_rejected(allow=after_update(r))
    fails_with(t, res, "hash|length")
    t.check(not any("targets" in p for p in res.paths()), "targets fetched", res)
    t.good_again()


@case
def snapshot_length_mismatch(t):
    r = t.new_repo()
    t.setup_client()
    r.update()
    # timestamp claims a shorter length and the hash of the real (longer) file
    ts = next_timestamp(r)
    snap = r.files["metadata/2.snapshot.json"]
    ts["meta"]["snapshot.json"] = {"version": 2, "length": len(snap) - 10,
                                   "hashes": {"sha256": h(snap)}}
    tsb = r.sign("timestamp", ts)
    r.override_md("timestamp.json", tsb)
    t.refresh_rejected(allow={"timestamp.json": [h(tsb)]})
    # the served file is longer than the length given
    ts["meta"]["snapshot.json"] = {"version": 2, "length": len(snap)}
    ts["version"] += 1
    tsb2 = r.sign("timestamp", ts)
    r.override_md("timestamp.json", tsb2)
    r.behave("metadata/2.snapshot.json", extra=b" " * 100)
    t.refresh_rejected(allow={"timestamp.json": [h(tsb), h(tsb2)]})
    for _ in range(3):
        r.update()
    t.good_again()


@case
def snapshot_version_mismatch(t):
    r = t.new_repo()
    t.setup_client()
    r.update()
    for v in (3, 1):
        s = signed_copy(r, "snapshot")
        s["version"] = v
        r.override_md("2.snapshot.json", r.sign("snapshot", s))
        res = t.refresh_rejected(allow=after_update(r))
        fails_with(t, res, "version")
    t.good_again()


@case
def targets_hash_mismatch(t):
    r = t.new_repo(targets={"file1.txt": b"one"})
    r.snapshot_hashes = True
    r.update(["targets"])
    t.setup_client()
    r.update(["targets"])
    s = signed_copy(r, "targets")
    s["expires"] = r.expires(5 * 86400)
    r.override_md("3.targets.json", r.sign("targets", s))
    res = t.refresh_rejected(allow={
        "timestamp.json": [h(r.files["metadata/timestamp.json"])],
        "snapshot.json": [h(r.files["metadata/3.snapshot.json"])]})
    fails_with(t, res, "hash|length")
    t.good_again()


@case
def targets_version_mismatch(t):
    r = t.new_repo()
    t.setup_client()
    r.update(["targets"])
    allow = {"timestamp.json": [h(r.files["metadata/timestamp.json"])],
             "snapshot.json": [h(r.files["metadata/2.snapshot.json"])]}
    for v in (3, 1):
        s = signed_copy(r, "targets")
        s["version"] = v
        r.override_md("2.targets.json", r.sign("targets", s))
        res = t.refresh_rejected(allow=allow)
        fails_with(t, res, "version")
    t.good_again()


@case
def delegated_role_version_mismatch(t):
    r = t.new_repo()
    r.delegate("targets", "role1", paths=["d/*"])
    r.add_target("d/x.txt", b"x", role="role1")
    r.update(["targets", "role1"])
    t.setup_client()
    s = signed_copy(r, "role1")
    s["version"] = 3
    r.override_md("2.role1.json", r.sign("role1", s))
    before = t.state()
    res = t.fails(t.download("d/x.txt"), "download")
    fails_with(t, res, "version", "download")
    t.same_state(before, None, res)
    r.clear_overrides()
    t.ok(t.download("d/x.txt"), "download without the attacker")


@case
def delegated_role_hash_mismatch(t):
    r = t.new_repo()
    r.snapshot_hashes = True
    r.delegate("targets", "role1", paths=["d/*"])
    r.add_target("d/x.txt", b"x", role="role1")
    r.update(["targets", "role1"])
    t.setup_client()
    s = signed_copy(r, "role1")
    s["expires"] = r.expires(9 * 86400)  # same version, other bytes, valid signature
    r.override_md("2.role1.json", r.sign("role1", s))
    before = t.state()
    res = t.fails(t.download("d/x.txt"), "download")
    fails_with(t, res, "hash|length", "download")
    t.same_state(before, None, res)
    r.clear_overrides()
    t.ok(t.download("d/x.txt"), "download without the attacker")


@case
def unknown_target_not_found(t):
    t.new_repo()
    t.setup_client()
    res = t.fails(t.download("no-such-target.txt"), "download of an unlisted target")
    t.check(not any(p.startswith("targets/") for p in res.paths()),
            "an unlisted target was requested", res)


@case
def same_version_timestamp_different_content(t):
    r = t.new_repo()
    t.setup_client()
    trusted = t.md("timestamp.json")
    r.snapshot["version"] += 1
    r.publish_snapshot()
    s = signed_copy(r, "timestamp")  # still version 1, now pointing at snapshot 2
    r.override_md("timestamp.json", r.sign("timestamp", s))
    before = t.state()
    res = t.refresh()
    t.check(res.rc in (0, 1), "unexpected exit", res)
    (t.ok if res.rc == 0 else t.fails)(res)
    t.check(not requested(res, "metadata/2.snapshot.json"),
            "the client followed a different timestamp of the same version", res)
    t.check(t.md("timestamp.json") == trusted, "timestamp.json replaced by same version", res)
    t.same_state(before, None, res)


@case
def same_version_targets_different_content(t):
    r = t.new_repo(targets={"file1.txt": b"original"})
    t.setup_client()
    evil = b"substitute"
    s = signed_copy(r, "targets")
    s["targets"]["file1.txt"] = {"length": len(evil), "hashes": {"sha256": h(evil)}}
    r.files[r.target_file("file1.txt", evil)] = evil
    r.override_md("1.targets.json", r.sign("targets", s))
    r.override_md("targets.json", r.sign("targets", s))
    r.update()  # new snapshot still lists targets version 1
    res = t.download("file1.txt")
    if res.rc == 0:
        t.ok(res)
        t.check(t.target("file1.txt") == b"original",
                "trusted targets version 1 was replaced by other content of version 1", res)
    else:
        t.fails(res, "download")
        t.check(t.target("file1.txt") is None, "target written", res)


def served_as_case(victim, impostor):
    def fn(t):
        r = t.new_repo()
        t.setup_client()
        r.update(["targets"])
        names = {"timestamp": "timestamp.json", "snapshot": "2.snapshot.json",
                 "targets": "2.targets.json", "root": "2.root.json"}
        src = {"timestamp": r.files["metadata/timestamp.json"],
               "snapshot": r.files["metadata/2.snapshot.json"],
               "targets": r.files["metadata/2.targets.json"],
               "root": r.root_bytes[1]}[impostor]
        r.override_md(names[victim], src)
        allow = {}
        if victim in ("snapshot", "targets"):
            allow["timestamp.json"] = [h(r.files["metadata/timestamp.json"])]
        if victim == "targets":
            allow["snapshot.json"] = [h(r.files["metadata/2.snapshot.json"])]
        t.refresh_rejected(allow=allow)
        t.good_again()
    fn.__name__ = "%s_served_as_%s" % (impostor, victim)
    return fn


for _v, _i in (("snapshot", "timestamp"), ("targets", "snapshot"), ("timestamp", "snapshot"),
               ("timestamp", "root"), ("root", "targets"), ("targets", "timestamp")):
    case(served_as_case(_v, _i))


@case
def not_consistent_snapshot_names(t):
    r = t.new_repo(consistent=False)
    r.delegate("targets", "role1", paths=["d/*"])
    r.add_target("d/x.txt", b"x", role="role1")
    r.update(["targets", "role1"])
    res = t.setup_client()
    t.check(res.paths() == ["metadata/2.root.json", "metadata/timestamp.json",
                            "metadata/snapshot.json", "metadata/targets.json"],
            "plain metadata names expected without consistent snapshots", res)
    res = t.ok(t.download(["file1.txt", "d/x.txt"]))
    t.check(requested(res, "targets/file1.txt") and requested(res, "targets/d/x.txt") and
            requested(res, "metadata/role1.json"), "plain target names expected", res)
    t.check(t.target("d/x.txt") == b"x", "bytes differ")


@case
def cached_target_not_downloaded_again(t):
    t.new_repo()
    t.setup_client()
    t.ok(t.download("file1.txt"))
    res = t.ok(t.download("file1.txt"), "second download")
    t.check(not any(p.startswith("targets/") for p in res.paths()),
            "target fetched again although the local copy is right", res)


if __name__ == "__main__":
    main()
