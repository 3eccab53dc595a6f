#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Scenarios T: root rotation (§5.3) — thresholds of old and new root, exact N+1 versions,
the 256-rotation cap, expired intermediate and final roots."""

import re

from harness import case, fails_with, h, main, requested, signed_copy
import reposim
from reposim import DAY, Key


def root_requests(res):
    return [int(m.group(1)) for p in res.paths()
            for m in [re.fullmatch(r"metadata/(\d+)\.root\.json", p)] if m]


@case
def rotation_signed_by_old_and_new(t):
    r = t.new_repo()
    t.setup_client()
    r.rotate_root()
    r.rotate_root()
    res = t.ok(t.refresh(), "refresh over two rotations")
    t.check(root_requests(res) == [2, 3, 4], "root fetches should be 2,3,4 and stop at the "
            "first 404: %s" % root_requests(res), res)
    t.check(t.md("root.json") == r.root_bytes[3], "root.json is not version 3", res)
    res = t.ok(t.refresh(), "refresh again")
    t.check(root_requests(res) == [4], "only 4.root.json expected", res)


@case
def rotation_thresholds_two_of_three(t):
    r = reposim.Repo()
    old = [Key(), Key(), Key()]
    r.set_role_keys("root", old, 2)
    r.add_target("file1.txt", b"x")
    r.publish_all()
    r.serve()
    t.repos.append(r)
    t.repo = r
    t.setup_client()
    new = [Key(), Key(), Key()]
    # one old signature is below the old threshold
    r.rotate_root(new_keys=new, threshold=2, old_signers=old[:1], new_signers=new[:2])
    res = t.refresh_rejected()
    fails_with(t, res, "threshold|signature|signed")
    # one new signature is below the new threshold
    r.root["version"] = 1
    r.set_role_keys("root", old, 2)
    r.rotate_root(new_keys=new, threshold=2, old_signers=old[1:], new_signers=new[2:])
    res = t.refresh_rejected()
    fails_with(t, res, "threshold|signature|signed")
    # two of each
    r.root["version"] = 1
    r.set_role_keys("root", old, 2)
    good = r.rotate_root(new_keys=new, threshold=2, old_signers=old[:2], new_signers=new[1:])
    t.ok(t.refresh(), "refresh with 2 old + 2 new signatures")
    t.check(t.md("root.json") == good, "root.json is not the rotated root")


@case
def rotation_signed_only_by_new(t):
    r = t.new_repo()
    t.setup_client()
    r.rotate_root(old_signers=[])
    res = t.refresh_rejected()
    t.check(not requested(res, "metadata/timestamp.json"), "timestamp fetched after a "
            "rejected root", res)
    t.check(not requested(res, "metadata/3.root.json"), "3.root.json fetched after a "
            "rejected 2.root.json", res)


@case
def rotation_signed_only_by_old(t):
    r = t.new_repo()
    t.setup_client()
    r.rotate_root(new_signers=[])
    res = t.refresh_rejected()
    t.check(not requested(res, "metadata/timestamp.json"), "timestamp fetched", res)


@case
def rotation_version_not_n_plus_1(t):
    r = t.new_repo()
    t.setup_client()
    s = signed_copy(r, "root")
    s["version"] = 3
    r.override_md("2.root.json", r.sign("root", s))
    t.refresh_rejected()
    s["version"] = 1
    s["expires"] = r.expires(400 * DAY)
    r.override_md("2.root.json", r.sign("root", s))
    t.refresh_rejected()
    r.override_md("2.root.json", r.root_bytes[1])
    t.refresh_rejected()
    t.good_again()


@case
def rotation_cap_256(t):
    r = t.new_repo()
    t.setup_client()
    for _ in range(299):
        r.root["version"] += 1
        r.publish_root()
    before = t.state()
    res = t.refresh()
    got = root_requests(res)
    t.check(got and max(got) <= 258 and len(got) <= 257,
            "the client fetched %d roots up to version %s (cap 256)" %
            (len(got), max(got) if got else None), res)
    if res.rc == 0:
        t.ok(res)
        v = int(re.search(rb'"version": (\d+)', t.md("root.json")).group(1))
        t.check(v <= 257, "trusted root version %d is beyond 256 rotations" % v)
    else:
        t.fails(res)
        t.same_state(before, {"root.json": [h(b) for b in r.root_bytes.values()]}, res)


@case
def expired_intermediate_root_accepted(t):
    r = t.new_repo()
    t.setup_client()
    r.rotate_root(expires=r.expires(-DAY))
    r.rotate_root(expires=r.expires(365 * DAY))
    res = t.ok(t.refresh(), "refresh over an expired intermediate root")
    t.check(t.md("root.json") == r.root_bytes[3], "root.json is not version 3", res)


@case
def expired_final_root_rejected(t):
    r = t.new_repo()
    t.setup_client()
    r.rotate_root(expires=r.expires(-DAY))
    res = t.refresh_rejected(allow={"root.json": [h(r.root_bytes[2])]})
    fails_with(t, res, "expire")
    t.check(not any("snapshot" in p for p in res.paths()), "snapshot fetched", res)
    r.rotate_root(expires=r.expires(365 * DAY))
    t.good_again()
    t.check(t.md("root.json") == r.root_bytes[3], "root.json is not version 3")


@case
def expired_initial_root_recovers_by_rotation(t):
    r = t.new_repo(expires_in=-DAY)
    t.ok(t.init(), "init (expiry is not checked at init)")
    res = t.refresh_rejected()
    fails_with(t, res, "expire")
    r.rotate_root(expires=r.expires(365 * DAY))
    r.timestamp["expires"] = r.snapshot["expires"] = r.roles["targets"]["expires"] = \
        r.expires(30 * DAY)
    r.update(["targets"])
    t.good_again()


@case
def rotation_changes_timestamp_key(t):
    r = t.new_repo()
    t.setup_client()
    r.root["version"] += 1
    r.set_role_keys("timestamp", [Key()], 1)
    r.publish_root()
    r.update()
    t.ok(t.refresh(), "refresh after timestamp key rotation")
    # the old timestamp key no longer counts
    old = Key()
    r.override_md("timestamp.json", r.sign("timestamp", dict(signed_copy(r, "timestamp"),
                                                             version=99), keys=[old]))
    t.refresh_rejected()
    t.good_again()


@case
def root_404_ends_the_walk(t):
    r = t.new_repo()
    t.setup_client()
    r.rotate_root()
    r.root["version"] += 2
    r.publish_root()  # 4.root.json exists but 3 does not
    res = t.ok(t.refresh(), "refresh")
    t.check(root_requests(res) == [2, 3], "fetches should stop at 3.root.json", res)
    t.check(t.md("root.json") == r.root_bytes[2], "root.json is not version 2", res)


if __name__ == "__main__":
    main()
