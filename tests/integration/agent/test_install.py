#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Install scenarios (I) on file-backed A/B slots with the boot simulator, once with each
bootloader backend: `file` (a state file) and `uboot` (libubootenv on a file-backed, redundant
U-Boot environment; SLUICE_TEST_BOOTLOADER=file|uboot runs one of them): offline install,
trial boot commit and rollback, reboot loops, refusals before the first byte, no-op,
downgrade, staged data changed after verification, models, receipts, and a second instance."""

import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bootsim as bs  # noqa: E402

W = None  # the World of the backend under test
BACKEND = None
failures = 0
counts = {}


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + f"[{BACKEND}] " + name + ("" if cond else f": {detail}"))
    counts[BACKEND] = counts.get(BACKEND, 0) + 1
    if not cond:
        failures += 1


def events(dev):
    return json.loads(dev.agent("events", "--json", check=True).stdout)


def refused(dev, name, fragment, *args):
    """Refused before the first byte: all but the (validly refreshed) TUF metadata unchanged."""
    before = dev.state_hash(include_tuf=False)
    p = dev.agent("install", "--from", W.repo, *args)
    check(name, p.returncode == 1 and fragment in p.stderr and dev.state_hash(include_tuf=False) == before,
          f"rc={p.returncode} {p.stdout}{p.stderr}")
    return p


def verify_receipt(path, dev):
    """The receipt verifies with the device certificate over the canonical JSON of 'signed'."""
    r = json.load(open(path))
    body = json.dumps(r["signed"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    d = os.path.join(W.tmp, "rcpt")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "msg"), "wb").write(body)
    open(os.path.join(d, "sig"), "wb").write(bytes.fromhex(r["signatures"][0]["sig"]))
    open(os.path.join(d, "cert.pem"), "w").write(r["certificate"])
    subprocess.run(["openssl", "x509", "-in", "cert.pem", "-pubkey", "-noout", "-out", "pub.pem"],
                   cwd=d, check=True)
    v = subprocess.run(["openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig", "msg"],
                       cwd=d, capture_output=True)
    return v.returncode == 0 and r["signatures"][0]["alg"] == "ecdsa-sha256", r["signed"]


def uboot_written(dev):
    """The trial switch went through libubootenv into the redundant copy: the copy in use
    before is intact, U-Boot's own variables are kept, and fw_printenv reads the same."""
    env = dev.uboot
    (cur, flags), old = env.current(), env.read(copy=0)
    new = env.read()
    check("U-Boot: the switch was saved into the other copy, the old copy intact",
          cur == 1 and flags == 2 and old["boot_slot"] == "a" and old["upgrade_available"] == "0"
          and new["boot_slot"] == "b" and new["upgrade_available"] == "1" and new["bootcount"] == "0"
          and all(new[k] == v for k, v in bs.UBOOT_DEFAULTS.items()), f"{cur} {flags} {old} {new}")
    if not shutil.which("fw_printenv"):
        print(f"skip [{BACKEND}] fw_printenv cross-check: fw_printenv is not installed "
              "(Debian package libubootenv-tool)")
        return
    p = subprocess.run(["fw_printenv", "-c", dev.fw_config], capture_output=True, text=True)
    seen = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    check("U-Boot: fw_printenv reads the environment the simulator reads", p.returncode == 0 and
          seen == new, f"{p.stderr} {seen} {new}")


def uboot_refusals(dev):
    """An environment without a valid copy, and a kernel command line without sluice.slot=, are
    refused before the first byte: the agent never guesses the boot state."""
    good = open(dev.env_path, "rb").read()
    bad = bytearray(good)
    bad[bs.UBootEnv.SIZE // 2] ^= 1
    bad[bs.UBootEnv.SIZE + bs.UBootEnv.SIZE // 2] ^= 1
    open(dev.env_path, "wb").write(bad)
    refused(dev, "U-Boot environment with no valid copy refused", "no valid copy")
    open(dev.env_path, "wb").write(good)
    cmdline = open(dev.cmdline).read()
    open(dev.cmdline, "w").write("console=ttyS0,115200 rootwait\n")
    refused(dev, "kernel command line without sluice.slot= refused", "no sluice.slot=")
    open(dev.cmdline, "w").write(cmdline)


def scenarios():
    size = W.image_size
    img2 = W.file("rootfs-2.img", release="2", size=size)
    model2 = W.file("det-2.onnx", b"GOODMODEL v2\n")
    W.publish([
        ("images/rootfs-2.img", img2, bs.sluice_custom("image", "2", slot_class="rootfs")),
        ("models/det-2.onnx", model2, bs.sluice_custom("model", "2", model={
            "name": "det", "runtime": "onnxruntime>=1.16", "accelerator": "npu-x"})),
    ])

    # 1. Offline install, trial boot, commit.
    dev = W.device(bootloader=BACKEND)
    p = dev.agent("install", "--from", W.repo)
    st = dev.install_state()
    env = dev.read_env()
    check("install switches to slot b", p.returncode == 0 and st["phase"] == "switched" and
          env["boot_slot"] == "b" and env["upgrade_available"] == 1 and
          os.path.exists(dev.reboot_marker), f"{p.stdout}{p.stderr} {st} {env}")
    if BACKEND == "uboot":
        uboot_written(dev)
    check("previous model untouched before the trial boot", not os.path.lexists(
        os.path.join(dev.models, "det", "current")))
    p2 = dev.agent("install", "--from", W.repo)
    check("install while a trial boot is pending refused", p2.returncode == 1 and "reboot first" in p2.stderr,
          p2.stderr)
    booted = dev.reboot()
    st = dev.assert_consistent()
    check("trial boot commits", booted == "b" and st["phase"] == "committed" and
          st["installed"]["release"] == "2" and bs.image_release(dev.slots["b"]) == "2", f"{st}")
    cur = os.readlink(os.path.join(dev.models, "det", "current"))
    check("model swapped in on the trial boot", cur == hashlib.sha256(open(model2, "rb").read()).hexdigest(), cur)
    types = [e["type"] for e in events(dev)]
    check("events recorded", types == ["downloading", "written", "verified", "switched", "booted", "committed"],
          types)
    receipts = [verify_receipt(p, dev) for p in glob.glob(os.path.join(W.repo, "receipts", "dev-1-*.json"))]
    ok, body = next(((k, b) for k, b in receipts if b["outcome"] == "reboot"), (False, receipts))
    check("signed receipt on the medium", ok and body["outcome"] == "reboot" and body["release"] == "2"
          and body["device_id"] == "dev-1", body)
    status = dev.status()
    check("status shows slots and release", status["slots"]["booted"] == "b" and
          status["installed"]["release"] == "2" and status["models"][0]["name"] == "det", status)

    # 2. The same release again is a no-op that changes nothing.
    before = dev.state_hash()
    p = dev.agent("install", "--from", W.repo)
    check("same release is a no-op", p.returncode == 0 and "nothing to do" in p.stdout and
          dev.state_hash() == before, p.stdout + p.stderr)
    n = len(glob.glob(os.path.join(W.repo, "receipts", "*.json")))
    outcomes = sorted(verify_receipt(p, dev)[1]["outcome"]
                      for p in glob.glob(os.path.join(W.repo, "receipts", "*.json")))
    check("the committed outcome's receipt was flushed to the medium",
          outcomes == ["committed", "noop", "reboot", "refused"], outcomes)

    # 3. A release whose trial boot fails its health check rolls back.
    img3 = W.file("rootfs-3.img", release="3", size=size, healthy=False)
    W.publish([("images/rootfs-3.img", img3, bs.sluice_custom("image", "3", slot_class="rootfs"))])
    p = dev.agent("install", "--from", W.repo)
    booted = dev.reboot()
    st = dev.assert_consistent()
    check("failed health check rolls back", booted == "b" and st["phase"] == "rolled_back" and
          "health check" in (st.get("error") or "") and st["installed"]["release"] == "2", f"{p.stderr} {st}")
    ev = events(dev)[-1]
    check("rollback event carries the typed error", ev["type"] == "rolled_back" and
          ev["error"].startswith("SL_E_IO: health check"), ev)

    # 4. An image that does not boot at all: the bootloader's bootcount breaks the loop.
    img4 = W.file("rootfs-4.img", release="4", size=size, bootable=False)
    W.publish([("images/rootfs-4.img", img4, bs.sluice_custom("image", "4", slot_class="rootfs"))])
    dev.agent("install", "--from", W.repo, check=True)
    booted = dev.reboot()
    st = dev.assert_consistent()
    env = dev.read_env()
    check("reboot loop broken by bootcount", booted == "b" and st["phase"] == "rolled_back" and
          "fell back" in st["error"] and env["boot_slot"] == "b" and not env["upgrade_available"]
          and env["bootcount"] == 0, f"{st} {env}")

    # 5. Refusals before the first byte leave everything byte-identical.
    big = W.file("rootfs-5.img", release="5", size=9 << 20)
    W.publish([("images/rootfs-5.img", big, bs.sluice_custom("image", "5", slot_class="rootfs"))])
    refused(dev, "image larger than the slot refused", "do not fit slot")
    W.publish([("images/rootfs-1.img", W.file("rootfs-1.img", release="1", size=1024),
                bs.sluice_custom("image", "1", slot_class="rootfs"))])
    refused(dev, "downgrade refused", "do not allow a downgrade")
    W.publish([("models/det-x.onnx", W.file("det-x.onnx", b"GOODMODEL x\n"),
                bs.sluice_custom("model", "6", model={"name": "det", "runtime": "onnxruntime>=2"}))])
    refused(dev, "model needs unmet refused", "needs onnxruntime>=2")
    W.publish([("images/rootfs-7.img", img2, bs.sluice_custom("image", "7", hardware=["board-z"],
                                                              slot_class="rootfs"))])
    refused(dev, "release for other hardware not found", "no release")
    refused(dev, "unknown release refused", "no release 42", "--release", "42")

    # 6. Staged data changed after verification: the re-read from the slot catches it.
    img8 = W.file("rootfs-8.img", release="8", size=size)
    W.publish([("images/rootfs-8.img", img8, bs.sluice_custom("image", "8", slot_class="rootfs"))])
    if BACKEND == "uboot":
        uboot_refusals(dev)
    env_before = dev.boot_state()
    proc = dev.spawn("install", "--from", W.repo, env={"SLUICE_AGENT_TEST_PAUSE": "written"})
    stopped = bs.wait_stopped(proc)
    with open(dev.slots["a"], "r+b") as f:
        f.seek(size // 2)
        f.write(b"\xff\x00evil")
    os.kill(proc.pid, signal.SIGCONT)
    proc.wait()
    err = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    st = dev.assert_consistent()
    check("data changed after writing is caught", stopped and proc.returncode == 1 and
          st["phase"] == "failed" and st["error"].startswith("TUF_E_HASH") and
          dev.boot_state() == env_before, f"{err} {st}")
    p = dev.agent("install", "--from", W.repo)
    dev.reboot()
    st = dev.assert_consistent()
    check("the next install succeeds", st["phase"] == "committed" and st["installed"]["release"] == "8", st)

    # 7. Substituted artifact bytes in the repository.
    img9 = W.file("rootfs-9.img", release="9", size=size)
    W.publish([("images/rootfs-9.img", img9, bs.sluice_custom("image", "9", slot_class="rootfs"))])
    for f in glob.glob(os.path.join(W.repo, "targets", "images", "*.rootfs-9.img")):
        data = bytearray(open(f, "rb").read())
        data[100] ^= 1
        open(f, "wb").write(data)
    env_before = dev.boot_state()
    p = dev.agent("install", "--from", W.repo)
    st = dev.install_state()
    check("substituted artifact refused", p.returncode == 1 and st["phase"] == "failed" and
          st["error"].startswith("TUF_E_HASH") and dev.boot_state() == env_before, p.stderr)

    # 8. Models: a failed smoke test swaps back; a good one commits without a reboot.
    old = os.readlink(os.path.join(dev.models, "det", "current"))
    W.publish([("models/det-10.onnx", W.file("det-10.onnx", b"BROKEN\n"),
                bs.sluice_custom("model", "10", model={"name": "det", "runtime": "onnxruntime"}))])
    p = dev.agent("install", "--from", W.repo)
    st = dev.install_state()
    check("model smoke test failure swaps back", p.returncode == 1 and st["phase"] == "rolled_back" and
          os.readlink(os.path.join(dev.models, "det", "current")) == old and
          "smoke test" in st["error"], f"{p.stderr} {st}")
    m11 = W.file("det-11.onnx", b"GOODMODEL v11\n")
    W.publish([("models/det-11.onnx", m11,
                bs.sluice_custom("model", "11", model={"name": "det", "runtime": "onnxruntime"}))])
    p = dev.agent("install", "--from", W.repo)
    st = dev.install_state()
    new = hashlib.sha256(b"GOODMODEL v11\n").hexdigest()
    check("model-only release commits", p.returncode == 0 and st["phase"] == "committed" and
          os.readlink(os.path.join(dev.models, "det", "current")) == new and
          not os.path.exists(os.path.join(dev.models, "det", old)) and not os.path.exists(dev.reboot_marker),
          f"{p.stderr} {st}")

    # 9. A second instance cannot start.
    W.publish([("models/det-12.onnx", W.file("det-12.onnx", b"GOODMODEL v12\n"),
                bs.sluice_custom("model", "12", model={"name": "det"}))])
    proc = dev.spawn("install", "--from", W.repo, env={"SLUICE_AGENT_TEST_PAUSE": "downloading"})
    bs.wait_stopped(proc)
    p = dev.agent("install", "--from", W.repo)
    p2 = dev.agent("boot-check")
    bs.kill(proc)
    check("second instance refused", p.returncode == 1 and "another sluice-agent is running" in p.stderr
          and p2.returncode == 1, p.stderr + p2.stderr)
    p = dev.agent("install", "--from", W.repo)
    check("the killed install resumes", p.returncode == 0 and dev.install_state()["phase"] == "committed",
          p.stderr)

    # 10. Configuration errors name section and key.
    bad = os.path.join(W.tmp, "bad.conf")
    open(bad, "w").write(open(dev.conf).read().replace("deadline_s = 10", "deadline_s = soon"))
    p = subprocess.run([bs.AGENT, "--config", bad, "install", "--from", W.repo], capture_output=True, text=True)
    check("config error names section and key", p.returncode == 1 and "[health] deadline_s" in p.stderr, p.stderr)

    # 11. U-Boot only: power lost while the agent saved the switch, the new copy is torn. U-Boot
    # boots the intact older copy (no trial); boot-check records the fall-back, and the release
    # installs on the next attempt.
    if BACKEND == "uboot":
        img13 = W.file("rootfs-13.img", release="13", size=size)
        W.publish([("images/rootfs-13.img", img13, bs.sluice_custom("image", "13", slot_class="rootfs"))])
        was = dev.booted()
        dev.agent("install", "--from", W.repo, check=True)
        cur, _ = dev.uboot.current()
        with open(dev.env_path, "r+b") as f:
            f.seek(cur * bs.UBootEnv.SIZE + 100)
            f.write(b"\xff\x00torn")
        booted = dev.reboot()
        st = dev.assert_consistent()
        env = dev.read_env()
        check("torn environment save: the older copy boots the good slot", booted == was and
              st["phase"] == "rolled_back" and "fell back" in st["error"] and
              env["boot_slot"] == was and not env["upgrade_available"], f"{booted} {st} {env}")
        dev.agent("install", "--from", W.repo, check=True)
        booted = dev.reboot()
        st = dev.assert_consistent()
        check("the release installs on the next attempt", booted != was and
              st["phase"] == "committed" and st["installed"]["release"] == "13", st)



def main():
    global W, BACKEND
    one = os.environ.get("SLUICE_TEST_BOOTLOADER")
    for BACKEND in [one] if one else bs.BOOTLOADERS:
        W = bs.World()
        try:
            scenarios()
        finally:
            W.cleanup()
    print(", ".join(f"{b}: {n} checks" for b, n in counts.items()) + f"; {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
