#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Scenarios T: malformed served metadata — broken JSON, wrong types, duplicate keys,
floats, 2^64, deep nesting, invalid UTF-8. Where possible the hostile document carries a
valid signature over what a lenient parser would make of it, so only strict parsing
rejects it. Positive controls show the same construction is accepted when well-formed."""

import copy

from harness import case, h, main, next_timestamp
import reposim
from reposim import DupKeys, Raw


def raw_doc(key, signed_raw, sign_over=None):
    """Envelope with signed written by canonical_raw and a signature over sign_over's (or
    signed_raw's) canonical_raw bytes."""
    sig_data = reposim.canonical_raw(signed_raw if sign_over is None else sign_over)
    sigs = [{"keyid": key.keyid, "sig": key.sign(sig_data)}]
    return (b'{"signatures":' + reposim.canonical_raw(sigs) + b',"signed":' +
            reposim.canonical_raw(signed_raw) + b"}")


def pairs(d, **repl):
    """d as (key, value) pairs in canonical order, with some values replaced."""
    return [(k, repl.get(k, v)) for k, v in sorted(d.items())]


def ts_variants(r):
    key = r.keys["timestamp"][0]
    s = next_timestamp(r)
    good = raw_doc(key, s)
    v = {}
    v["truncated"] = good[:len(good) // 2]
    v["not json"] = b"<html>503 Service Unavailable</html>"
    v["empty"] = b""
    v["top-level array"] = b"[" + good + b"]"
    v["trailing garbage"] = good + b" xyz"
    v["two documents"] = good + good
    v["version as string"] = raw_doc(key, dict(s, version=str(s["version"])))
    v["version float"] = raw_doc(key, dict(s, version=Raw("%d.0" % s["version"])))
    v["version exponent"] = raw_doc(key, dict(s, version=Raw("%de0" % s["version"])))
    v["version 2^64"] = raw_doc(key, dict(s, version=2 ** 64))
    v["version 2^63"] = raw_doc(key, dict(s, version=2 ** 63))
    v["version 2^64+2 (wraps to 2)"] = raw_doc(key, dict(s, version=2 ** 64 + 2))
    v["version null"] = raw_doc(key, dict(s, version=None))
    v["version leading zero"] = raw_doc(key, dict(s, version=Raw("0%d" % s["version"])))
    v["expires as number"] = raw_doc(key, dict(s, expires=1900000000))
    v["expires without time"] = raw_doc(key, dict(s, expires="2099-01-01"))
    v["expires with offset"] = raw_doc(key, dict(s, expires="2099-01-01T00:00:00+01:00"))
    v["meta as list"] = raw_doc(key, dict(s, meta=[s["meta"]]))
    v["meta snapshot version 2^64"] = raw_doc(key, dict(s, meta={"snapshot.json": {
        "version": 2 ** 64}}))
    v["meta snapshot length -1"] = raw_doc(key, dict(s, meta={"snapshot.json": {
        "version": 1, "length": -1}}))
    v["meta snapshot length float"] = raw_doc(key, dict(s, meta={"snapshot.json": {
        "version": 1, "length": Raw("1.5")}}))
    v["_type root"] = raw_doc(key, dict(s, _type="root"))
    v["_type Timestamp"] = raw_doc(key, dict(s, _type="Timestamp"))
    v["missing _type"] = raw_doc(key, {k: x for k, x in s.items() if k != "_type"})
    v["missing meta"] = raw_doc(key, {k: x for k, x in s.items() if k != "meta"})
    v["spec_version 2.0.0"] = raw_doc(key, dict(s, spec_version="2.0.0"))
    sigs = [{"keyid": key.keyid, "sig": key.sign(reposim.canonical(s))}]
    v["signatures as object"] = (b'{"signatures":' + reposim.canonical_raw(
        {key.keyid: sigs[0]["sig"]}) + b',"signed":' + reposim.canonical(s) + b"}")
    v["missing signed"] = b'{"signatures":' + reposim.canonical_raw(sigs) + b"}"
    v["signature not hex"] = (b'{"signatures":[{"keyid":"' + key.keyid.encode() +
                              b'","sig":"zz' + sigs[0]["sig"][2:].encode() +
                              b'"}],"signed":' + reposim.canonical(s) + b"}")
    # duplicate keys: a parser keeping the last value would see a validly signed v+1
    old = dict(s, version=s["version"] - 1)
    v["duplicate key in signed"] = raw_doc(
        key, DupKeys(pairs(s)[:-1] + [("version", s["version"] - 1),
                                      ("version", s["version"])]), sign_over=s)
    v["duplicate signed member"] = (b'{"signatures":' + reposim.canonical_raw(sigs) +
                                    b',"signed":' + reposim.canonical(old) +
                                    b',"signed":' + reposim.canonical(s) + b"}")
    v["duplicate key in meta"] = raw_doc(key, dict(s, meta=DupKeys([
        ("snapshot.json", {"version": 7}), ("snapshot.json", s["meta"]["snapshot.json"])])),
        sign_over=s)
    # invalid UTF-8 and escapes, signed over the very bytes
    v["invalid utf-8"] = raw_doc(key, dict(s, **{"x-note": b"\xff\xfe"}))
    v["overlong utf-8"] = raw_doc(key, dict(s, **{"x-note": b"\xc0\xaf"}))
    v["utf-8 surrogate"] = raw_doc(key, dict(s, **{"x-note": b"\xed\xa0\x80"}))
    v["escaped lone surrogate"] = raw_doc(key, dict(s, **{"x-note": Raw(b'"\\ud800"')}))
    v["escaped NUL"] = raw_doc(key, dict(s, **{"x-note": Raw(b'"a\\u0000b"')}))
    v["invalid utf-8 in a key"] = raw_doc(key, DupKeys(pairs(s) + [(b"x-\xff", 1)]))
    # nesting
    deep = 0
    for _ in range(5000):
        deep = [deep]
    v["nesting 5000 deep"] = raw_doc(key, dict(s, **{"x-deep": deep}))
    return v


def malformed_case(name):
    def fn(t):
        r = t.new_repo()
        t.setup_client()
        r.override_md("timestamp.json", ts_variants(r)[name])
        res = t.refresh_rejected()
        t.check(not any("snapshot" in p for p in res.paths()),
                "snapshot fetched after a malformed timestamp", res)
        t.good_again()
    fn.__name__ = "timestamp_" + name.replace(" ", "_")
    return fn


_probe = reposim.Repo()
_probe.publish_all()
for _name in ts_variants(_probe):
    case(malformed_case(_name))


@case
def control_raw_envelope_accepted(t):
    r = t.new_repo()
    t.setup_client()
    data = raw_doc(r.keys["timestamp"][0], next_timestamp(r))
    r.override_md("timestamp.json", data)
    t.ok(t.refresh(), "refresh with a canonical_raw envelope")
    t.check(t.md("timestamp.json") == data, "timestamp not stored")


@case
def control_unknown_fields_accepted(t):
    r = t.new_repo()
    t.setup_client()
    s = next_timestamp(r)
    s["x-extra"] = {"a": [1, 2, {"b": None, "c": "ünïcødé"}], "d": True}
    s["meta"]["snapshot.json"]["x-more"] = "fine"
    data = raw_doc(r.keys["timestamp"][0], s)
    r.override_md("timestamp.json", data)
    t.ok(t.refresh(), "refresh with unknown fields")
    t.check(t.md("timestamp.json") == data, "timestamp not stored")


def targets_variant_case(name, mutate):
    def fn(t):
        r = t.new_repo({"file1.txt": b"one"})
        t.setup_client()
        r.update(["targets"])
        s = copy.deepcopy(r.roles["targets"])
        signed_raw, sign_over = mutate(s)
        r.override_md("2.targets.json", raw_doc(r.signers["targets"][0], signed_raw,
                                                sign_over))
        allow = {"timestamp.json": [h(r.files["metadata/timestamp.json"])],
                 "snapshot.json": [h(r.files["metadata/2.snapshot.json"])]}
        before = t.state()
        res = t.refresh()
        if res.rc == 0:
            # accepted at refresh time: the target itself must not be downloadable
            t.ok(res)
            res = t.fails(t.download("file1.txt"), "download")
            t.check(t.target("file1.txt") is None, "target written", res)
        else:
            t.fails(res, "refresh")
            t.same_state(before, allow, res)
        r.clear_overrides()
        r.update(["targets"])
        t.ok(t.refresh())
        t.ok(t.download("file1.txt"))
    fn.__name__ = "targets_" + name.replace(" ", "_")
    return fn


def _len(value):
    def m(s):
        s["targets"]["file1.txt"]["length"] = value
        return s, None
    return m


def _dup_target(s):
    e = s["targets"]["file1.txt"]
    evil = {"length": 4, "hashes": {"sha256": "00" * 32}}
    return dict(s, targets=DupKeys([("file1.txt", evil), ("file1.txt", e)])), s


def _hashes_list(s):
    e = s["targets"]["file1.txt"]
    e["hashes"] = [["sha256", e["hashes"]["sha256"]]]
    return s, None


for _n, _m in (("length 2^64", _len(2 ** 64)), ("length float", _len(Raw("3.0"))),
               ("length string", _len("3")), ("length negative", _len(-3)),
               ("duplicate target path", _dup_target), ("hashes as list", _hashes_list)):
    case(targets_variant_case(_n, _m))


if __name__ == "__main__":
    main()
