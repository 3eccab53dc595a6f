#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Summarise meson's testlog.json of several build directories into one closing line."""
import json
import os
import sys

passed = failed = skipped = 0
for d in sys.argv[1:]:
    log = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        print(f"{d}: no test log (build failed)")
        failed += 1
        continue
    p = f = s = 0
    with open(log, encoding="utf-8") as fh:
        for line in fh:
            t = json.loads(line)
            r = t.get("result")
            if r in ("OK", "EXPECTEDFAIL"):
                p += 1
            elif r == "SKIP":
                s += 1
            else:
                f += 1
                print(f"FAILED {d}: {t.get('name')} ({r})")
    print(f"{d}: {p} passed, {f} failed, {s} skipped")
    passed += p
    failed += f
    skipped += s
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
