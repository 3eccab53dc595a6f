#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Scenarios T: delegations (§5.7) — order, terminating, path patterns, hash prefixes,
succinct hash bins, cycles, a role reached through two delegators, the 32-role cap, and
delegated roles that are badly signed or missing from snapshot."""

import hashlib
import re

from harness import case, main, requested
import reposim
from reposim import Key


def role_requests(res):
    """Delegated role names fetched (consistent names V.<role>.json)."""
    out = []
    for p in res.paths():
        m = re.fullmatch(r"metadata/\d+\.(.+)\.json", p)
        if m and m.group(1) not in ("root", "snapshot", "targets"):
            out.append(m.group(1))
    return out


def publish(r):
    r.update(list(r.roles))


@case
def delegation_order_first_match_wins(t):
    r = t.new_repo()
    r.delegate("targets", "A", paths=["*.txt"])
    r.delegate("targets", "B", paths=["*.txt"])
    r.add_target("f.txt", b"from A", role="A")
    r.add_target("f.txt", b"from B", role="B")
    publish(r)
    t.setup_client()
    res = t.ok(t.download("f.txt"))
    t.check(t.target("f.txt") == b"from A", "the first delegation in order must win", res)
    t.check(role_requests(res) == ["A"], "only A should be fetched", res)


@case
def delegation_order_depth_first(t):
    r = t.new_repo()
    r.delegate("targets", "A", paths=["*"])
    r.delegate("targets", "B", paths=["*"])
    r.delegate("A", "A1", paths=["*"])
    r.add_target("f.txt", b"from A1", role="A1")
    r.add_target("f.txt", b"from B", role="B")
    publish(r)
    t.setup_client()
    res = t.ok(t.download("f.txt"))
    t.check(t.target("f.txt") == b"from A1", "pre-order depth-first search expected", res)
    t.check(role_requests(res) == ["A", "A1"], "A then A1 expected", res)


@case
def terminating_delegation_stops_search(t):
    r = t.new_repo()
    r.delegate("targets", "A", paths=["*"], terminating=True)
    r.delegate("targets", "B", paths=["*"])
    r.add_target("f.txt", b"from B", role="B")
    r.add_target("g.txt", b"g from A", role="A")
    publish(r)
    t.setup_client()
    res = t.fails(t.download("f.txt"), "download past a terminating delegation")
    t.check("B" not in role_requests(res), "B fetched past a terminating delegation", res)
    t.check(t.target("f.txt") is None, "target written", res)
    t.ok(t.download("g.txt"))


@case
def non_terminating_delegation_continues(t):
    r = t.new_repo()
    r.delegate("targets", "A", paths=["*"])
    r.delegate("targets", "B", paths=["*"])
    r.add_target("f.txt", b"from B", role="B")
    publish(r)
    t.setup_client()
    res = t.ok(t.download("f.txt"))
    t.check(role_requests(res) == ["A", "B"], "A then B expected", res)
    t.check(t.target("f.txt") == b"from B", "bytes differ", res)


@case
def terminating_in_nested_role(t):
    r = t.new_repo()
    r.delegate("targets", "A", paths=["*"])
    r.delegate("A", "A1", paths=["*"], terminating=True)
    r.delegate("targets", "B", paths=["*"])
    r.add_target("f.txt", b"from B", role="B")
    publish(r)
    t.setup_client()
    res = t.fails(t.download("f.txt"), "download past a nested terminating delegation")
    t.check("B" not in role_requests(res), "B fetched past a terminating delegation", res)


@case
def path_patterns(t):
    r = t.new_repo()
    r.delegate("targets", "txt", paths=["d/*.txt"])
    r.delegate("targets", "any", paths=["*"])
    r.add_target("d/a.txt", b"a", role="txt")
    r.add_target("d/a.bin", b"bin", role="txt")   # not delegated to txt by its pattern
    r.add_target("d/e/a.txt", b"deep", role="txt")  # '*' does not match '/'
    publish(r)
    t.setup_client()
    t.ok(t.download("d/a.txt"))
    for name in ("d/a.bin", "d/e/a.txt"):
        res = t.fails(t.download(name), "download of %s outside the role's paths" % name)
        t.check(t.target(name) is None, "target written", res)


@case
def hash_prefix_delegation(t):
    r = t.new_repo()
    p1, p2 = "one.txt", "two.txt"
    pre1 = hashlib.sha256(p1.encode()).hexdigest()[:2]
    r.delegate("targets", "H", prefixes=[pre1])
    r.add_target(p1, b"1", role="H")
    r.add_target(p2, b"2", role="H")
    publish(r)
    t.setup_client()
    t.ok(t.download(p1))
    if hashlib.sha256(p2.encode()).hexdigest()[:2] != pre1:
        res = t.fails(t.download(p2), "download outside the hash prefixes")
        t.check(role_requests(res) == [], "role H fetched for a non-matching prefix", res)


@case
def succinct_hash_bins(t):
    r = t.new_repo()
    r.delegate_succinct("targets", 4, "bins")
    names = ["pkg-%d.bin" % i for i in range(12)]
    for n in names:
        r.add_target(n, n.encode(), role=reposim.bin_name(
            "bins", reposim.bin_index(n, 4), 4))
    publish(r)
    t.setup_client()
    for n in names:
        res = t.ok(t.download(n), "download " + n)
        want = reposim.bin_name("bins", reposim.bin_index(n, 4), 4)
        t.check(role_requests(res) in ([want], []), "expected bin %s" % want, res)
        t.check(t.target(n) == n.encode(), "bytes differ", res)
    # a target listed in the wrong bin is not found
    n = "stray.bin"
    wrong = (reposim.bin_index(n, 4) + 1) % 16
    r.add_target(n, b"stray", role=reposim.bin_name("bins", wrong, 4))
    r.update([reposim.bin_name("bins", wrong, 4)])
    t.fails(t.download(n), "download from the wrong bin")


@case
def delegation_cycle(t):
    r = t.new_repo()
    ka = r.delegate("targets", "A", paths=["*"])
    kb = r.delegate("A", "B", paths=["*"])
    r.delegate("B", "A", keys=ka, paths=["*"], new_role=False)
    r.delegate("B", "B", keys=kb, paths=["*"], new_role=False)
    publish(r)
    t.setup_client()
    res = t.fails(t.download("missing.txt"), "download through a cycle", )
    t.check(res.elapsed < 20, "cycle took %.1fs" % res.elapsed, res)
    t.check(len(role_requests(res)) <= 32, "cycle: %d role fetches" % len(role_requests(res)),
            res)


@case
def role_reached_through_two_delegators(t):
    r = t.new_repo()
    r.delegate("targets", "A", paths=["a/*"])
    r.delegate("targets", "B", paths=["b/*"])
    kc = r.delegate("A", "C", paths=["*/*"])
    r.delegate("B", "C", keys=[Key()], paths=["*/*"], new_role=False)  # B trusts another key
    r.add_target("a/x.txt", b"ax", role="C")
    r.add_target("b/x.txt", b"bx", role="C")
    publish(r)
    assert r.signers["C"] == kc
    t.setup_client()
    t.ok(t.download("a/x.txt"), "download via A (C is signed by A's key for C)")
    res = t.fails(t.download("b/x.txt"), "download via B (B names another key for C)")
    t.check(t.target("b/x.txt") is None, "target written", res)
    t.reset_client()
    t.setup_client()
    res = t.fails(t.download(["a/x.txt", "b/x.txt"]), "both in one run")
    t.check(t.target("b/x.txt") is None, "C verified via A was reused for B", res)
    t.reset_client()
    t.setup_client()
    res = t.fails(t.download(["b/x.txt", "a/x.txt"]), "both in one run, B first")
    t.check(t.target("b/x.txt") is None, "target b/x.txt written", res)


def chain(r, n):
    prev = "targets"
    for i in range(n):
        name = "d%02d" % i
        r.delegate(prev, name, paths=["*"])
        prev = name
    return prev


@case
def delegation_chain_within_cap(t):
    r = t.new_repo()
    last = chain(r, 20)
    r.add_target("deep.txt", b"deep", role=last)
    publish(r)
    t.setup_client()
    t.ok(t.download("deep.txt"), "target 20 delegations deep")


@case
def delegation_chain_over_cap(t):
    r = t.new_repo()
    last = chain(r, 40)
    r.add_target("deep.txt", b"deep", role=last)
    publish(r)
    t.setup_client()
    res = t.fails(t.download("deep.txt"), "target 40 delegations deep")
    n = len(role_requests(res))
    t.check(n <= 32, "visited %d delegated roles (cap 32)" % n, res)


@case
def delegation_wide_over_cap(t):
    r = t.new_repo()
    for i in range(40):
        r.delegate("targets", "w%02d" % i, paths=["*"])
    r.add_target("far.txt", b"far", role="w39")
    r.add_target("near.txt", b"near", role="w10")
    publish(r)
    t.setup_client()
    t.ok(t.download("near.txt"), "target in the 11th sibling")
    res = t.fails(t.download("far.txt"), "target in the 40th sibling")
    n = len(role_requests(res))
    t.check(n <= 32, "visited %d delegated roles (cap 32)" % n, res)


@case
def delegated_role_badly_signed(t):
    r = t.new_repo()
    r.delegate("targets", "A", paths=["*"])
    r.add_target("f.txt", b"f", role="A")
    publish(r)
    t.setup_client()
    r.override_md("2.A.json", r.sign("A", keys=[Key()]))
    before = t.state()
    res = t.fails(t.download("f.txt"), "download via a role signed by the wrong key")
    t.same_state(before, None, res)
    r.clear_overrides()
    t.ok(t.download("f.txt"))


@case
def delegated_role_threshold(t):
    r = t.new_repo()
    k1, k2 = Key(), Key()
    r.delegate("targets", "A", keys=[k1, k2], threshold=2, paths=["*"])
    r.signers["A"] = [k1, k1]
    r.add_target("f.txt", b"f", role="A")
    publish(r)
    t.setup_client()
    t.fails(t.download("f.txt"), "download via a role with one of two signatures (repeated)")
    r.signers["A"] = [k1, k2]
    r.update(["A"])
    t.ok(t.download("f.txt"))


@case
def delegated_role_missing_from_snapshot(t):
    r = t.new_repo()
    r.delegate("targets", "A", paths=["*"])
    r.add_target("f.txt", b"f", role="A")
    r.publish_role("targets")
    r.publish_role("A")
    r.roles["targets"]["version"] += 1
    r.publish_role("targets")
    s = r.snapshot_signed()
    del s["meta"]["A.json"]
    r.snapshot["version"] += 1
    r.put_md("%d.snapshot.json" % r.snapshot["version"], r.sign("snapshot", s))
    r.timestamp["version"] += 1
    ts = r.timestamp
    ts["meta"] = {"snapshot.json": {"version": r.snapshot["version"]}}
    r.put_md("timestamp.json", r.sign("timestamp", ts))
    t.setup_client()
    res = t.fails(t.download("f.txt"), "download via a role not listed in snapshot")
    t.check(not requested(res, "metadata/1.A.json"), "role fetched without snapshot meta",
            res)


if __name__ == "__main__":
    main()
