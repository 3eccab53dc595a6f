#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Disk full (I) for model staging, with each bootloader backend: the models directory is a
small tmpfs (mounted in a private mount namespace: `unshare -m`, or `unshare -Urm` when not
root; exit 77 when neither can mount it). A release whose models do not fit the free space is
refused before its first byte (image included), leaving the device byte-identical on its good
slot; space taken away after the plan (before a model's first byte, and in the middle of
writing it, stopped there by strace) fails the staging cleanly with no partial model
directory, and the install completes once the space is back. With `uboot`, also a U-Boot
environment that cannot be written when the agent switches slots."""

import errno
import glob
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bootsim as bs  # noqa: E402

NS_MARK = "SLUICE_DISKFULL_NAMESPACE"
MODELS_FS = 8 << 20  # bytes of the models file system
CHUNK = 65536  # bytes the file:// fetcher hands over per write (tuf/fetcher.c FETCH_CHUNK)

W = None
BACKEND = None
failures = 0
counts = {}


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + f"[{BACKEND}] " + name + ("" if cond else f": {detail}"))
    counts[BACKEND] = counts.get(BACKEND, 0) + 1
    if not cond:
        failures += 1
    return cond


def enter_namespace():
    """Re-run this script in a private mount namespace where it may mount a tmpfs."""
    if os.environ.get(NS_MARK) == "1":
        return
    probe = tempfile.mkdtemp(prefix="sluice-diskfull-probe-")
    why = []
    try:
        for cmd in (["unshare", "-m", "--propagation", "private"],
                    ["unshare", "-Urm", "--propagation", "private"]):
            try:
                p = subprocess.run(cmd + ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe],
                                   capture_output=True, text=True)
            except FileNotFoundError as e:
                why.append(str(e))
                break
            if p.returncode == 0:
                env = dict(os.environ, **{NS_MARK: "1"})
                sys.stdout.flush()
                os.execvpe(cmd[0], cmd + [sys.executable, os.path.abspath(__file__)], env)
            why.append(f"{' '.join(cmd)} mount -t tmpfs: {p.stderr.strip() or p.returncode}")
    finally:
        os.rmdir(probe)
    print("skip: cannot mount a small tmpfs for the models directory in a private mount "
          "namespace (" + "; ".join(why) + ")")
    sys.exit(77)


def model_bytes(tag, size):
    """A model the smoke test accepts, of exactly size bytes."""
    head = f"GOODMODEL {tag}\n".encode()
    return head + hashlib.sha256(tag.encode()).digest() * ((size - len(head)) // 32) + \
        b"\n" * ((size - len(head)) % 32)


def model(name, tag, size, release):
    data = model_bytes(tag, size)
    return (f"models/{name}-{tag}.onnx", W.file(f"{name}-{tag}.onnx", data),
            bs.sluice_custom("model", release, model={"name": name, "runtime": "onnxruntime"})), \
        hashlib.sha256(data).hexdigest()


def fill(dev, leave=0):
    """Take the free space of the models file system but `leave` bytes (0: all of it)."""
    path = os.path.join(dev.models, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        while True:
            st = os.statvfs(dev.models)
            free = st.f_bavail * st.f_frsize
            if free <= leave:
                break
            os.write(fd, bytes(min(free - leave, 1 << 20)))
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return path


def det_entries(dev, name="det"):
    return sorted(os.listdir(os.path.join(dev.models, name)))


def current(dev, name="det"):
    return os.readlink(os.path.join(dev.models, name, "current"))


def refused(dev, what, fragment):
    """Refused before the first byte: all but the (validly refreshed) TUF metadata unchanged;
    after a power cycle the device is still on its good slot with the release before."""
    before = dev.state_hash(include_tuf=False)
    was = (dev.booted(), current(dev), dev.install_state()["installed"]["release"])
    p = dev.agent("install", "--from", W.repo)
    check(what, p.returncode == 1 and fragment in p.stderr and "free" in p.stderr and
          dev.state_hash(include_tuf=False) == before, f"rc={p.returncode} {p.stdout}{p.stderr}")
    booted = dev.reboot()
    st = dev.assert_consistent()
    now = (booted, current(dev), st["installed"]["release"])
    check(f"{what}: still on the good slot with the previous model", now == was and
          st["phase"] == "committed", f"{now} {was} {st}")


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def tracer(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("TracerPid:")).split()[1])


def wait_for(cond, what, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.002)
    raise AssertionError(f"timed out waiting for {what}")


def finish(proc):
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out + err


def resumed(dev, name, want_sha, what):
    """With the space back, the interrupted install completes."""
    os.unlink(os.path.join(dev.models, "filler"))
    p = dev.agent("install", "--from", W.repo)
    st = dev.assert_consistent()
    check(what, p.returncode == 0 and st["phase"] == "committed" and
          current(dev, name) == want_sha, f"{p.stderr} {st}")


def space_lost_before_staging(dev, release):
    """The plan saw room; the space is gone before the model's first byte: the staging check
    refuses it and nothing is left behind."""
    item, sha = model("det", release, 3 << 20, release)
    W.publish([item])
    was, slot = current(dev), dev.booted()
    proc = dev.spawn("install", "--from", W.repo, env={"SLUICE_AGENT_TEST_PAUSE": "downloading"})
    stopped = bs.wait_stopped(proc)
    fill(dev, leave=1 << 20)
    os.kill(proc.pid, signal.SIGCONT)
    rc, out = finish(proc)
    check("space lost after the plan: the model is refused before its first byte", stopped and
          rc == 1 and "the model needs" in out and det_entries(dev) == sorted(["current", was]) and
          current(dev) == was, f"rc={rc} {out} {det_entries(dev)}")
    booted = dev.reboot()
    dev.assert_consistent()
    check("space lost after the plan: still on the good slot", booted == slot and
          current(dev) == was, booted)
    resumed(dev, "det", sha, "space lost after the plan: the install completes once space is back")


def space_lost_mid_write(dev, release):
    """The space goes away while the model is written: strace stops the agent after its second
    write to the staged file, the file system is filled, the agent continues into ENOSPC."""
    if not shutil.which("strace"):
        print(f"skip [{BACKEND}] ENOSPC in the middle of a model: strace is not installed "
              "(Debian package strace)")
        return
    item, sha = model("det", release, 3 << 20, release)
    W.publish([item])
    was, slot = current(dev), dev.booted()
    proc = dev.spawn("install", "--from", W.repo, env={"SLUICE_AGENT_TEST_PAUSE": "downloading"})
    stopped = bs.wait_stopped(proc)
    # From here the agent's next pwrite()s are the model's; stop it on the way out of the second.
    # -f: the agent writes from its writer thread (agent/slot.c).
    st = subprocess.Popen(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=pwrite64",
                           "-e", "inject=pwrite64:signal=SIGSTOP:when=2", "-p", str(proc.pid)],
                          stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: tracer(proc.pid) != 0 or st.poll() is not None, "strace to attach")
        if st.poll() is not None:
            print(f"skip [{BACKEND}] ENOSPC in the middle of a model: strace cannot attach: "
                  f"{st.stderr.read().strip()}")
            bs.kill(proc)
            dev.agent("install", "--from", W.repo, check=True)
            return
        os.kill(proc.pid, signal.SIGCONT)
        staged = os.path.join(dev.models, "det", "*", os.path.basename(item[0]))

        def all_stopped():
            try:
                return all(open(t).read().rsplit(")", 1)[1].split()[0] in "tT"
                           for t in glob.glob(f"/proc/{proc.pid}/task/*/stat"))
            except OSError:
                return False

        def halted():
            # The injected SIGSTOP stops every thread (a group stop) and they stay stopped; a
            # ptrace stop of one thread on its way through a traced syscall or clone passes.
            files = glob.glob(staged)
            if not (files and os.path.getsize(files[0]) >= 2 * CHUNK):
                return False
            for _ in range(5):
                if not all_stopped():
                    return False
                time.sleep(0.02)
            return True
        wait_for(halted, "the agent to stop after two writes of the model")
        written = os.path.getsize(glob.glob(staged)[0])
        fill(dev)
        os.kill(proc.pid, signal.SIGCONT)
        rc, out = finish(proc)
    finally:
        if st.poll() is None:
            st.wait(timeout=30)
        st.stderr.close()
    check("ENOSPC in the middle of a model fails the staging", stopped and 0 < written < (3 << 20)
          and rc == 1 and "No space left on device" in out, f"rc={rc} written={written} {out}")
    check("ENOSPC in the middle of a model leaves no partial model directory",
          det_entries(dev) == sorted(["current", was]) and current(dev) == was, det_entries(dev))
    booted = dev.reboot()
    dev.assert_consistent()
    check("ENOSPC in the middle of a model: still on the good slot", booted == slot and
          current(dev) == was, booted)
    resumed(dev, "det", sha, "ENOSPC in the middle of a model: the install completes once space is back")


def uboot_env_readonly(dev, release):
    """U-Boot only: the environment cannot be written (read-only bind mount) when the agent
    switches: the error names the cause, the environment and the running slot are unchanged,
    and the install completes from its verified image once the environment is writable."""
    img = W.file(f"rootfs-{release}.img", release=release, size=W.image_size)
    W.publish([(f"images/rootfs-{release}.img", img,
                bs.sluice_custom("image", release, slot_class="rootfs"))])
    env, slot = dev.boot_state(), dev.booted()
    subprocess.run(["mount", "--bind", dev.env_path, dev.env_path], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", dev.env_path], check=True)
        p = dev.agent("install", "--from", W.repo)
    finally:
        subprocess.run(["umount", dev.env_path], check=True)
    st = dev.install_state()
    check("U-Boot environment not writable: the switch fails naming the cause", p.returncode == 1
          and "cannot store the U-Boot environment: Read-only file system" in p.stderr and
          st["phase"] == "verified" and dev.boot_state() == env, f"{p.stderr} {st}")
    booted = dev.reboot()
    st = dev.assert_consistent()
    check("U-Boot environment not writable: still on the good slot", booted == slot, booted)
    dev.agent("install", "--from", W.repo, check=True)
    booted = dev.reboot()
    st = dev.assert_consistent()
    check("U-Boot environment writable again: the install completes", booted != slot and
          st["phase"] == "committed" and st["installed"]["release"] == release, st)


def scenarios():
    img2 = W.file("rootfs-2.img", release="2", size=W.image_size)
    det2, sha2 = model("det", "2", 1 << 20, "2")
    W.publish([("images/rootfs-2.img", img2, bs.sluice_custom("image", "2", slot_class="rootfs")),
               det2])
    dev = W.device(bootloader=BACKEND)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={MODELS_FS},mode=0755", "sluice-models",
                    dev.models], check=True)
    try:
        run_on(dev, sha2)
    finally:
        subprocess.run(["umount", dev.models])


def run_on(dev, sha2):
    dev.agent("install", "--from", W.repo, check=True)
    dev.reboot()
    st = dev.assert_consistent()
    if not check("release 2 (image and a 1 MiB model) installs on the small file system",
                 st["phase"] == "committed" and current(dev) == sha2, st):
        return

    # Refused before the first byte: nothing of the release is written, the image included.
    img3 = W.file("rootfs-3.img", release="3", size=W.image_size)
    W.publish([("images/rootfs-3.img", img3, bs.sluice_custom("image", "3", slot_class="rootfs")),
               model("det", "3", 12 << 20, "3")[0]])
    refused(dev, "a model larger than the free space is refused (image and model)", "needs")
    W.publish([model("det", "4", 12 << 20, "4")[0]])
    refused(dev, "a model larger than the free space is refused (model only)", "needs")
    # Each of these fits on its own, both together do not.
    W.publish([model("det", "5", 4 << 20, "5")[0], model("cls", "5", 4 << 20, "5")[0]])
    refused(dev, "models that fit one by one but not together are refused", "needs")

    space_lost_before_staging(dev, "6")
    space_lost_mid_write(dev, "7")
    if BACKEND == "uboot":
        uboot_env_readonly(dev, "7.1")

    # The next good cycle: an image and a model that fits.
    img8 = W.file("rootfs-8.img", release="8", size=W.image_size)
    det8, sha8 = model("det", "8", 2 << 20, "8")
    W.publish([("images/rootfs-8.img", img8, bs.sluice_custom("image", "8", slot_class="rootfs")), det8])
    dev.agent("install", "--from", W.repo, check=True)
    dev.reboot()
    st = dev.assert_consistent()
    check("the next release installs", st["phase"] == "committed" and current(dev) == sha8 and
          det_entries(dev) == sorted(["current", sha8]), f"{st} {det_entries(dev)}")


def main():
    global W, BACKEND
    enter_namespace()
    one = os.environ.get("SLUICE_TEST_BOOTLOADER")
    for BACKEND in [one] if one else bs.BOOTLOADERS:
        W = bs.World(image_size=1 << 20)
        try:
            scenarios()
        finally:
            W.cleanup()
    print(", ".join(f"{b}: {n} checks" for b, n in counts.items()) + f"; {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
