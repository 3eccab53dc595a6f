#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Scenario T: slow retrieval. The server trickles one byte every 2 s; the client's
low-speed limit (1024 B/s over 30 s by default) must end the transfer and fail cleanly."""

import os

from harness import case, h, main

LIMIT_S = 100


@case
def slow_timestamp(t):
    r = t.new_repo()
    t.setup_client()
    r.update()
    r.behave("metadata/timestamp.json", slow=2.0)
    res = t.refresh_rejected(timeout=LIMIT_S + 20)
    t.check(res.elapsed < LIMIT_S, "slow retrieval took %.0fs to fail" % res.elapsed, res)
    t.good_again()


@case
def slow_target(t):
    data = os.urandom(10000)
    r = t.new_repo({"file1.txt": data})
    t.setup_client()
    r.behave("targets/%s.file1.txt" % h(data), slow=2.0)
    res = t.fails(t.download("file1.txt", timeout=LIMIT_S + 20), "download")
    t.check(res.elapsed < LIMIT_S, "slow retrieval took %.0fs to fail" % res.elapsed, res)
    t.check(os.listdir(t.tdir) == [], "partial target left: %s" % os.listdir(t.tdir), res)
    r.clear_overrides()
    t.ok(t.download("file1.txt"))


if __name__ == "__main__":
    main()
