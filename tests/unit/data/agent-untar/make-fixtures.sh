#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Regenerate the archives test-agent-untar reads: the same small model tree written by GNU tar
# in its gnu, posix (pax) and ustar formats and by Python's tarfile (pax default, GNU, and a
# global pax header as `git archive` writes). Run from this directory.
set -eu
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
long=model/$(printf 'l%.0s' $(seq 1 120))
mkdir -p "$t/model" "$t/$long"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 4)' > "$t/model/weights.bin"
printf '{"input": [1, 3, 224, 224]}\n' > "$t/model/config.json"
printf 'GOODMODEL\ncat\ndog\n' > "$t/model/labels.txt"
printf 'deep\n' > "$t/$long/x.txt"
printf '#!/bin/sh\necho ok\n' > "$t/model/run.sh"
chmod 0755 "$t/model/run.sh"
opts="--sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C $t"
tar $opts --format=gnu -cf gnu.tar model
tar $opts --format=posix --pax-option=delete=atime,delete=ctime -b1 -cf posix.tar model
tar $opts --format=ustar -b1 -cf ustar.tar model/weights.bin model/config.json model/labels.txt model/run.sh
python3 - "$t" <<'PY'
import os, sys, tarfile
src = sys.argv[1]
def add(tf):
    for dp, dns, fns in sorted(os.walk(os.path.join(src, "model"))):
        dns.sort()
        for n in [dp] + [os.path.join(dp, f) for f in sorted(fns)]:
            ti = tf.gettarinfo(n, os.path.relpath(n, src))
            ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, 0, "", ""
            tf.addfile(ti, open(n, "rb") if ti.isfile() else None)
with tarfile.open("python-pax.tar", "w", format=tarfile.PAX_FORMAT) as tf:
    add(tf)
with tarfile.open("python-gnu.tar", "w", format=tarfile.GNU_FORMAT) as tf:
    add(tf)
with tarfile.open("python-global.tar", "w", format=tarfile.PAX_FORMAT,
                  pax_headers={"comment": "0123456789abcdef"}) as tf:
    add(tf)
PY
