#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every verb a binary's --help lists is documented in its man page (docs/NAME.1): a verb
appears in bold at the start of a man-page paragraph tag (.B/.BI/.BR, or \\fB). Usage:
check-manpages.py DOCS_DIR NAME=PATH ...; prints what is missing, exit 1 if anything is."""

import re
import subprocess
import sys


def verbs_of(path):
    out = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=30).stdout
    verbs = []
    for line in out.splitlines():
        if line.startswith("Options:"):
            break
        m = re.match(r"^  ([a-z][a-z0-9-]*)(\s|$)", line)
        if m and not m.group(1).startswith("sluice-") and m.group(1) not in verbs:
            verbs.append(m.group(1))
    return verbs


def main():
    docs, bins = sys.argv[1], sys.argv[2:]
    missing = 0
    for spec in bins:
        name, path = spec.split("=", 1)
        verbs = verbs_of(path)
        if not verbs:
            print(f"FAIL {name}: --help lists no verbs")
            missing += 1
            continue
        roff = open(f"{docs}/{name}.1").read().replace("\\-", "-")
        for v in verbs:
            pat = r'(^\.B[IR]?\s+"?|\\fB)' + re.escape(v) + r'(\b|\\)'
            if not re.search(pat, roff, re.M):
                print(f"FAIL {name}: verb '{v}' of --help is not in docs/{name}.1")
                missing += 1
        print(f"ok   {name}: {len(verbs)} verbs ({' '.join(verbs)})")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
