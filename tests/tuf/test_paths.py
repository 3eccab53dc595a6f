#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Scenarios T: hostile role names and target paths (../, /, ?, #, absolute paths,
symlinks). The client may refuse them or store them percent-encoded, but it must never
write outside metadata-dir and target-dir (harness.check_clean() checks the sandbox)."""

import os

from harness import case, main
import reposim

HOSTILE_ROLES = ["../evil", "../../outside/victim", "/abs/role", "a/b", "..", ".",
                 "q?x=1", "frag#x", "sp ace", "%2e%2e%2fenc", "ünï"]
HOSTILE_PATHS = ["../escape.txt", "../../outside/victim", "/etc/abs.txt", "a/../../b.txt",
                 "d/?x#y.txt", "..", "a/./b.txt", "%2e%2e/x.txt", "dir/", "q?a=1",
                 "frag#x", "../outside/victim", "ünï.txt"]


def role_case(name):
    def fn(t):
        r = t.new_repo()
        r.delegate("targets", name, paths=["*"])
        r.add_target("f.txt", b"from " + name.encode(), role=name)
        r.update(["targets", name])
        t.setup_client()
        res = t.download("f.txt")
        if res.rc == 0:
            t.ok(res)
            t.check(t.target("f.txt") == b"from " + name.encode(), "bytes differ", res)
            want = reposim.quote_name(name) + ".json"
            t.check(os.path.exists(os.path.join(t.mdir, want)),
                    "role stored under another name than %s: %s" %
                    (want, os.listdir(t.mdir)), res)
        else:
            t.fails(res, "download via role %r" % name)
            t.check(os.listdir(t.tdir) == [], "target dir not empty", res)
    fn.__name__ = "role_name_%r" % name
    return fn


for _n in HOSTILE_ROLES:
    case(role_case(_n))


def path_case(path):
    def fn(t):
        data = b"content of " + path.encode()
        r = t.new_repo()
        r.add_target(path, data)
        r.update(["targets"])
        t.setup_client()
        res = t.download(path)
        if res.rc == 0:
            t.ok(res)
            t.check(os.listdir(t.tdir) == [reposim.quote_name(path)],
                    "target stored as %s, not percent-encoded" % os.listdir(t.tdir), res)
            t.check(t.target(path) == data, "bytes differ", res)
        else:
            t.fails(res, "download of %r" % path)
            t.check(os.listdir(t.tdir) == [], "target dir not empty", res)
    fn.__name__ = "target_path_%r" % path
    return fn


for _p in HOSTILE_PATHS:
    case(path_case(_p))


@case
def symlink_in_target_dir_not_followed(t):
    data = b"real content"
    t.new_repo({"file1.txt": data})
    t.setup_client()
    link = os.path.join(t.tdir, "file1.txt")
    os.symlink(t.victim, link)
    t.allow_links = True
    res = t.download("file1.txt")
    # check_clean() (in ok/fails) asserts that the victim outside is unchanged
    if res.rc == 0:
        t.ok(res)
        t.check(not os.path.islink(link), "symlink kept in place of the target", res)
        t.check(t.target("file1.txt") == data, "bytes differ", res)
    else:
        t.fails(res, "download over a symlink")


@case
def symlinked_metadata_file_not_written_through(t):
    r = t.new_repo()
    t.setup_client()
    ts = os.path.join(t.mdir, "timestamp.json")
    os.unlink(ts)
    os.symlink(t.victim, ts)
    r.update()
    res = t.refresh()
    with open(t.victim, "rb") as f:
        t.check(f.read() == b"must not change\n", "write followed a symlink", res)
    if res.rc == 0:
        t.ok(res)
        t.check(not os.path.islink(ts), "symlink kept", res)
    else:
        t.fails(res)


@case
def target_name_with_slashes_is_flat(t):
    t.new_repo({"a/b/c.txt": b"abc", "a/b.txt": b"ab"})
    t.setup_client()
    t.ok(t.download(["a/b/c.txt", "a/b.txt"]))
    t.check(sorted(os.listdir(t.tdir)) == ["a%2Fb%2Fc.txt", "a%2Fb.txt"],
            "targets must be stored flat and percent-encoded: %s" % os.listdir(t.tdir))


if __name__ == "__main__":
    main()
