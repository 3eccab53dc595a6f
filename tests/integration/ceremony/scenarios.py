#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Ceremony scenarios (K) of TESTING.md against the real sluice-ceremony binary.

Each refusal asserts the exact error code on the one-line failure and that no output appeared
or the existing files are byte-identical (invariant R), with no temporary file left behind.
"""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ceremonylib import (Ceremony, check, expect_error, finish, parse_args,  # noqa: E402
                         tree_state, work_dir)


def setup(c):
    for name, role in (("root-1", "root"), ("root-2", "root"), ("targets-1", "targets"),
                       ("snapshot", "snapshot"), ("timestamp", "timestamp")):
        c.keygen(name, role)
    snap = json.loads(c.run("pubkey", "snapshot.key").stdout)
    ts = json.loads(c.run("pubkey", "timestamp.key").stdout)
    with open(c.path("online.json"), "w") as f:
        json.dump({"sluice_online_keys": 1, "snapshot": snap, "timestamp": ts}, f)
    c.run("root", "init", "--root-key", "root-1.key", "--root-key", "root-2.key",
          "--targets-key", "targets-1.key", "--online-keys", "online.json", "--out",
          "1.root.json")
    os.makedirs(c.path("art"))
    with open(c.path("art/file.bin"), "wb") as f:
        f.write(b"payload" * 1000)
    with open(c.path("m.json"), "w") as f:
        json.dump({"sluice_manifest": 1, "release": "r1", "artifacts": [
            {"file": "art/file.bin", "target": "files/file.bin", "kind": "file"}]}, f)


def refused(c, argv, code, stdin=None):
    """Run a refused command; the work directory must be byte-identical afterwards."""
    before = tree_state(c.work)
    p = c.run(*argv, stdin=stdin, expect=None)
    expect_error(p, code)
    after = tree_state(c.work)
    check(before == after, f"work directory changed: {set(before.items()) ^ set(after.items())}")
    return p


def k_wrong_passphrase(c):
    print("== K: wrong passphrase -> CER_E_PASSPHRASE, nothing written")
    refused(c, ["sign", "1.root.json", "--key", "root-1.key", "--passphrase-fd", "0"],
            "CER_E_PASSPHRASE", stdin="not the passphrase\n")
    refused(c, ["release", "--manifest", "m.json", "--root", "1.root.json", "--key",
                "targets-1.key", "--passphrase-fd", "0", "--out", "bundle"],
            "CER_E_PASSPHRASE", stdin="wrong\n")
    refused(c, ["transcript", "seal", "--key", "root-1.key", "--passphrase-fd", "0"],
            "CER_E_PASSPHRASE", stdin="wrong\n")


def edit_key(c, src, dst, kdf_field, value):
    with open(c.path(src)) as f:
        doc = json.load(f)
    doc["kdf"][kdf_field] = value
    with open(c.path(dst), "w") as f:
        json.dump(doc, f)


def k_kdf_limits(c):
    print("== K: absurd / weak KDF parameters refused before any KDF work")
    edit_key(c, "root-1.key", "absurd.key", "memlimit", 1 << 60)
    edit_key(c, "root-1.key", "absurd-ops.key", "opslimit", 1 << 40)
    edit_key(c, "root-1.key", "weak.key", "memlimit", 8192)
    for name, code in (("absurd.key", "CER_E_KDF_LIMIT"), ("absurd-ops.key", "CER_E_KDF_LIMIT"),
                       ("weak.key", "CER_E_KDF_WEAK")):
        # No passphrase is supplied at all: the refusal comes before it is asked for.
        t = time.monotonic()
        refused(c, ["sign", "1.root.json", "--key", name, "--passphrase-fd", "0"], code,
                stdin="")
        check(time.monotonic() - t < 5, "refused quickly (no KDF ran)")
        refused(c, ["pubkey", name], code)
    p = c.run("keygen", "--role", "root", "--out", "x.key", "--kdf", "absurd", expect=1)
    check("--kdf" in p.stderr and len(p.stderr.splitlines()) == 1, "one usage line")


def k_key_not_in_role(c):
    print("== K: a key not in the role is refused before the passphrase, file unchanged")
    p = refused(c, ["sign", "1.root.json", "--key", "targets-1.key", "--passphrase-fd", "0"],
                "TUF_E_SIGNATURE", stdin="")
    check("is not a key of role root" in p.stderr, "message names the role")
    refused(c, ["release", "--manifest", "m.json", "--root", "1.root.json", "--key",
                "root-1.key", "--passphrase-fd", "0", "--out", "bundle"], "TUF_E_SIGNATURE",
            stdin="")
    # root init refuses a key file generated for another role.
    refused(c, ["root", "init", "--root-key", "targets-1.key", "--targets-key", "targets-1.key",
                "--online-keys", "online.json", "--root-threshold", "1", "--out", "x.json"],
            "SL_E_INVALID")


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def wait_blocked_in_read(pid, timeout=20):
    """Until the process sleeps in read(2): x86-64 syscall 0 in /proc/PID/syscall, which the
    non-dumpable process lets only root read; otherwise sleeping for 20 polls in a row."""
    end = time.monotonic() + timeout
    sleeping = 0
    while time.monotonic() < end:
        try:
            state = proc_state(pid)
        except OSError:
            return False
        try:
            with open(f"/proc/{pid}/syscall") as f:
                if state == "S" and f.read().split()[:1] == ["0"]:
                    return True
        except PermissionError:
            sleeping = sleeping + 1 if state == "S" else 0
            if sleeping >= 20:
                return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def k_crash_while_signing(c):
    print("== K: SIGKILL while signing (waiting for the passphrase): old files intact")
    for argv in (["sign", "1.root.json", "--key", "root-1.key", "--passphrase-fd", "0"],
                 ["release", "--manifest", "m.json", "--root", "1.root.json", "--key",
                  "targets-1.key", "--passphrase-fd", "0", "--out", "bundle"]):
        before = tree_state(c.work)
        p = subprocess.Popen([c.bin] + argv, cwd=c.work, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=c.env)
        try:
            # Half a passphrase, then wait until it blocks reading the rest.
            p.stdin.write(b"pass-root-1")
            p.stdin.flush()
            check(wait_blocked_in_read(p.pid), "process blocks reading the passphrase")
            with open(f"/proc/{p.pid}/limits") as f:
                core = [ln for ln in f if ln.startswith("Max core file size")][0].split()
            check(core[4] == "0" and core[5] == "0", f"core dumps off: {core}")
            p.send_signal(signal.SIGKILL)
        finally:
            p.wait()
        check(p.returncode == -signal.SIGKILL, "killed")
        check(tree_state(c.work) == before, "files byte-identical, no temporary file left")
        print(f"    {argv[0]}: killed while blocked; work directory byte-identical")


def k_usage(c):
    print("== usage: --help on stdout exit 0; one line on stderr naming the bad argument")
    p = c.run("sign", "--help")
    check(p.stdout.startswith("Usage:") and not p.stderr, "help on stdout")
    p = c.run("sign", "1.root.json", "--bogus", expect=1)
    check(len(p.stderr.splitlines()) == 1 and "--bogus" in p.stderr, "names --bogus")
    p = c.run("root", "init", "--root-threshold", "x", "--out", "y", expect=1)
    check("--root-threshold" in p.stderr, "names the option")
    p = c.run("frobnicate", expect=1)
    check("frobnicate" in p.stderr, "names the verb")
    refused(c, ["keygen", "--role", "root", "--out", "root-1.key", "--allow-network",
                "--passphrase-fd", "0"], "EEXIST", stdin="x\n")


def k_airgap(c):
    print("== air gap: the start-up line, --allow-network refused in air-gap mode")
    env = dict(c.env, SLUICE_AIRGAP="1")
    p = c.run("keygen", "--role", "root", "--out", "ag.key", "--allow-network", expect=1,
              env=env)
    check("air-gap mode" in p.stderr and "--allow-network is refused" in p.stderr, "refused")
    check(not os.path.exists(c.path("ag.key")), "no key")
    net = json.loads(c.run("status", "--json").stdout)["airgap"]["network_up"]
    if net:
        refused(c, ["keygen", "--role", "root", "--out", "net.key", "--passphrase-fd", "0"],
                "SL_E_CONFIG", stdin="p\n")
        print("    a network interface is up here: keygen refused it")
    else:
        c.run("keygen", "--role", "root", "--out", "net.key", "--kdf", "interactive",
              "--passphrase-fd", "0", stdin="p\n")
        print("    no network interface is up here: keygen ran without --allow-network")


def k_outputs_verified(c):
    print("== K: outputs verified by the device's verifier; tampering is caught")
    c.run("sign", "1.root.json", "--key", "root-1.key", "--passphrase-fd", "0",
          stdin=c.pw("root-1"))
    c.run("root", "check", "1.root.json", expect=1)
    c.run("sign", "1.root.json", "--key", "root-2.key", "--passphrase-fd", "0",
          stdin=c.pw("root-2"))
    c.run("release", "--manifest", "m.json", "--root", "1.root.json", "--key",
          "targets-1.key", "--passphrase-fd", "0", "--out", "bundle", stdin=c.pw("targets-1"))
    c.run("verify", "bundle", "--root", "1.root.json")
    # An artifact changed: the index catches it.
    art = c.path("bundle/targets/files/file.bin")
    orig = open(art, "rb").read()
    open(art, "wb").write(b"X" + orig[1:])
    expect_error(c.run("verify", "bundle", "--root", "1.root.json", expect=None), "TUF_E_HASH")
    # ... and with bundle.json "fixed" to match, the signed targets still catch it.
    idx_orig = open(c.path("bundle/bundle.json")).read()
    idx = json.loads(idx_orig)
    for f in idx["files"]:
        if f["path"] == "targets/files/file.bin":
            f["sha256"] = hashlib.sha256(b"X" + orig[1:]).hexdigest()
    json.dump(idx, open(c.path("bundle/bundle.json"), "w"))
    p = expect_error(c.run("verify", "bundle", "--root", "1.root.json", expect=None),
                     "TUF_E_HASH")
    open(art, "wb").write(orig)
    open(c.path("bundle/bundle.json"), "w").write(idx_orig)
    c.run("verify", "bundle", "--root", "1.root.json")
    # A file smuggled into the bundle.
    open(c.path("bundle/targets/extra"), "w").write("x")
    expect_error(c.run("verify", "bundle", "--root", "1.root.json", expect=None), "SL_E_INVALID")
    os.unlink(c.path("bundle/targets/extra"))
    # A root not signed by its threshold is no trust anchor.
    c.run("root", "init", "--root-key", "root-1.key", "--root-key", "root-2.key",
          "--targets-key", "targets-1.key", "--online-keys", "online.json", "--out",
          "unsigned.root.json")
    expect_error(c.run("verify", "bundle", "--root", "unsigned.root.json", expect=None),
                 "TUF_E_THRESHOLD")
    # The transcript: an edited record breaks the chain.
    c.run("transcript", "verify")
    lines = open(c.path("transcript.jsonl")).read().splitlines(True)
    lines[1] = lines[1].replace('"keygen"', '"keygen-x"')
    open(c.path("transcript.jsonl"), "w").write("".join(lines))
    p = expect_error(c.run("transcript", "verify", expect=None), "CER_E_CHAIN")
    check("record 3" in p.stderr or "record 3" in p.stdout, "names the first broken record")


def scenarios():
    args = parse_args()
    c = Ceremony(args, work_dir(args, "scenarios"))
    print(f"work directory: {c.work}")
    setup(c)
    k_wrong_passphrase(c)
    k_kdf_limits(c)
    k_key_not_in_role(c)
    k_crash_while_signing(c)
    k_usage(c)
    k_airgap(c)
    k_outputs_verified(c)
    if not args.keep:
        import shutil
        shutil.rmtree(c.work)


if __name__ == "__main__":
    finish(scenarios)
