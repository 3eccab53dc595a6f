#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Scenarios T: expiry (and the clock far behind or ahead, with faketime), rollback of
every role, a role removed from snapshot, and fast-forward recovery after key rotation."""

import calendar
import shutil
import time

from harness import Fail, case, fails_with, h, main, next_timestamp, requested, signed_copy
from reposim import DAY, Key


def snap_name(r):
    return "metadata/%d.snapshot.json" % r.snapshot["version"]


@case
def expired_timestamp(t):
    r = t.new_repo()
    t.setup_client()
    r.override_md("timestamp.json",
                  r.sign("timestamp", next_timestamp(r, expires=r.expires(-60))))
    res = t.refresh_rejected()
    fails_with(t, res, "expire")
    t.check(not any("snapshot" in p for p in res.paths()), "snapshot fetched", res)
    t.good_again()


@case
def expired_snapshot(t):
    r = t.new_repo()
    t.setup_client()
    r.snapshot["expires"] = r.expires(-60)
    r.update()
    res = t.refresh_rejected(allow={"timestamp.json": [h(r.files["metadata/timestamp.json"])]})
    fails_with(t, res, "expire")
    t.check(not any("targets" in p for p in res.paths()), "targets fetched", res)
    r.snapshot["expires"] = r.expires(DAY)
    r.update()
    t.good_again()


@case
def expired_targets(t):
    r = t.new_repo()
    t.setup_client()
    r.roles["targets"]["expires"] = r.expires(-60)
    r.update(["targets"])
    res = t.refresh_rejected(allow={
        "timestamp.json": [h(r.files["metadata/timestamp.json"])],
        "snapshot.json": [h(r.files[snap_name(r)])]})
    fails_with(t, res, "expire")
    r.roles["targets"]["expires"] = r.expires(DAY)
    r.update(["targets"])
    t.good_again()
    t.ok(t.download("file1.txt"))


@case
def expired_delegated_role(t):
    r = t.new_repo()
    r.delegate("targets", "role1", paths=["d/*"])
    r.add_target("d/x.txt", b"x", role="role1")
    r.roles["role1"]["expires"] = r.expires(-60)
    r.update(["targets", "role1"])
    t.setup_client()
    res = t.fails(t.download("d/x.txt"))
    fails_with(t, res, "expire", "download")
    t.check(t.target("d/x.txt") is None, "target written")
    r.roles["role1"]["expires"] = r.expires(DAY)
    r.update(["role1"])
    t.ok(t.download("d/x.txt"), "download after renewal")


def epoch(y, mo=1, d=1):
    return calendar.timegm((y, mo, d, 0, 0, 0))


def fake(ts):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def faketime_ok(t):
    if not shutil.which("faketime"):
        raise Fail("faketime is not installed (Debian package faketime)")


@case
def clock_far_behind_1970(t):
    faketime_ok(t)
    t.new_repo()
    t.ok(t.init())
    t.ok(t.refresh(faketime=fake(epoch(1970, 1, 2))), "refresh with the clock in 1970")
    # metadata that expired on 1970-01-01 is still refused in 1970-01-02
    t.new_repo(now=epoch(1970, 1, 1), expires_in=3600)
    t.reset_client()
    t.ok(t.init())
    t.refresh_rejected(faketime=fake(epoch(1970, 1, 2)))


@case
def clock_far_ahead(t):
    faketime_ok(t)
    r = t.new_repo()
    t.setup_client()
    r.update()
    res = t.refresh_rejected(faketime=fake(epoch(2200)))
    fails_with(t, res, "expire")
    t.good_again()


@case
def clock_beyond_2038_with_long_expiry(t):
    faketime_ok(t)
    now = int(time.time())
    t.new_repo(expires_in=epoch(2300) - now)
    t.ok(t.init())
    t.ok(t.refresh(faketime=fake(epoch(2200))), "refresh in 2200, metadata valid to 2300")
    t.ok(t.download("file1.txt", faketime=fake(epoch(2200))), "download in 2200")
    t.refresh_rejected(faketime=fake(epoch(2301)))


@case
def rollback_timestamp(t):
    r = t.new_repo()
    old = r.files["metadata/timestamp.json"]
    r.update()
    t.setup_client()
    r.override_md("timestamp.json", old)
    res = t.refresh_rejected()
    fails_with(t, res, "rollback|older|version")
    t.check(not any("snapshot" in p for p in res.paths()), "snapshot fetched", res)
    t.good_again()


@case
def rollback_snapshot_via_timestamp(t):
    r = t.new_repo()
    r.update()
    t.setup_client()
    s = next_timestamp(r)
    s["meta"]["snapshot.json"]["version"] = 1
    r.override_md("timestamp.json", r.sign("timestamp", s))
    res = t.refresh_rejected()
    t.check(not requested(res, "metadata/1.snapshot.json"), "old snapshot fetched", res)
    t.good_again()


def rollback_in_snapshot_case(role):
    def fn(t):
        r = t.new_repo()
        if role != "targets":
            r.delegate("targets", role, paths=["d/*"])
            r.add_target("d/x.txt", b"x", role=role)
            r.publish_all()
        r.update([role])
        t.setup_client()
        if role != "targets":
            t.ok(t.download("d/x.txt"), "download (loads %s)" % role)
        # new snapshot lists the role at version 1 while the trusted one says 2
        r.roles[role]["version"] = 1
        r.update()
        res = t.refresh_rejected(allow={"timestamp.json": [h(r.files["metadata/timestamp.json"])]})
        fails_with(t, res, "rollback|older|version")
        r.roles[role]["version"] = 3
        r.update([role])
        t.good_again()
    fn.__name__ = "rollback_%s_in_snapshot" % role
    return fn


case(rollback_in_snapshot_case("targets"))
case(rollback_in_snapshot_case("role1"))


@case
def role_removed_from_snapshot(t):
    r = t.new_repo()
    r.delegate("targets", "role1", paths=["d/*"])
    r.add_target("d/x.txt", b"x", role="role1")
    r.update(["targets", "role1"])
    t.setup_client()
    t.ok(t.download("d/x.txt"))
    s = signed_copy(r, "snapshot")
    del s["meta"]["role1.json"]
    s["version"] += 1
    snap = r.sign("snapshot", s)
    r.override_md("%d.snapshot.json" % s["version"], snap)
    ts = next_timestamp(r)
    ts["meta"]["snapshot.json"]["version"] = s["version"]
    tsb = r.sign("timestamp", ts)
    r.override_md("timestamp.json", tsb)
    t.refresh_rejected(allow={"timestamp.json": [h(tsb)]})
    r.update()
    r.update()
    t.good_again()


@case
def fast_forward_recovery_timestamp(t):
    r = t.new_repo()
    for _ in range(4):
        r.update()
    t.setup_client()  # trusted timestamp version 5
    r.root["version"] += 1
    r.set_role_keys("timestamp", [Key()], 1)
    r.publish_root()
    r.timestamp["version"] = 1
    data = r.publish_timestamp()
    res = t.ok(t.refresh(), "refresh after timestamp key rotation and version reset")
    t.check(t.md("timestamp.json") == data, "timestamp v1 not trusted", res)


@case
def fast_forward_recovery_snapshot(t):
    r = t.new_repo()
    for _ in range(4):
        r.update()
    t.setup_client()  # trusted snapshot version 5
    r.root["version"] += 1
    r.set_role_keys("snapshot", [Key()], 1)
    r.publish_root()
    r.snapshot["version"] = 1
    snap = r.publish_snapshot()
    r.timestamp["version"] += 1
    r.publish_timestamp()
    res = t.ok(t.refresh(), "refresh after snapshot key rotation and version reset")
    t.check(t.md("snapshot.json") == snap, "snapshot v1 not trusted", res)


@case
def no_fast_forward_without_rotation(t):
    r = t.new_repo()
    for _ in range(4):
        r.update()
    t.setup_client()
    r.snapshot["version"] = 1
    r.publish_snapshot()
    r.timestamp["version"] += 1
    r.publish_timestamp()
    t.refresh_rejected()


if __name__ == "__main__":
    main()
