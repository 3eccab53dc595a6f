#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Power cuts (SIGKILL) at every persisted step of the install state machine and at random
points while a slot is written (AGENT_KILL_RUNS, default 200): after each cut the simulated
device is power-cycled and the agent run again until the install finishes; every run must end
booted on a good slot with a consistent state store."""

import os
import random
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bootsim as bs  # noqa: E402

# 64 MiB: four persisted resume points (length/16) and a write window long enough to cut into.
W = bs.World(image_size=64 << 20)
failures = 0
RUNS = int(os.environ.get("AGENT_KILL_RUNS", "200"))


def check(name, cond, detail=""):
    global failures
    if not cond:
        print(f"FAIL {name}: {detail}")
        failures += 1
    return cond


def recover(dev, max_steps=12):
    """Power-cycle, then do what an operator would (run the install again, reboot when asked)
    until the install is finished. Returns the final install state."""
    dev.reboot()
    for _ in range(max_steps):
        dev.assert_consistent()
        st = dev.install_state()
        if st["phase"] in ("committed", "rolled_back", "failed"):
            return st
        if st["phase"] in ("switched", "booted") and any(t["kind"] == "image" for t in st["targets"]):
            dev.reboot()
        else:
            dev.agent("install", "--from", W.repo)
            if os.path.exists(dev.reboot_marker):
                dev.reboot()
    raise AssertionError(f"install did not finish: {dev.install_state()}")


def device():
    return W.device(slot_size=(64 + 4) << 20)


def cut_at_phase(phase, verb="install"):
    dev = device()
    if verb == "boot-check":
        dev.agent("install", "--from", W.repo, check=True)
        env = dev.read_env()
        env["bootcount"] += 1
        env["booted"] = env["boot_slot"]
        dev.write_env(env)
        proc = dev.spawn("boot-check", env={"SLUICE_AGENT_TEST_PAUSE": phase})
    else:
        proc = dev.spawn("install", "--from", W.repo, env={"SLUICE_AGENT_TEST_PAUSE": phase})
    stopped = bs.wait_stopped(proc)
    bs.kill(proc)
    check(f"paused at {phase}", stopped, "the agent never reached the phase")
    try:
        dev.assert_consistent()
        st = recover(dev)
        dev.assert_consistent()
    except (AssertionError, bs.Bricked) as e:
        check(f"cut at {phase} ({verb})", False, repr(e))
        return
    # A cut during the trial boot may legitimately end rolled back (bootlimit 1: the
    # bootloader falls back on the next boot); everything else must complete.
    ok = st["phase"] == "committed" or (verb == "boot-check" and st["phase"] == "rolled_back")
    check(f"cut at {phase} ({verb}) ends well", ok, st)
    print(f"ok   cut at {phase} ({verb}): {st['phase']}, booted {dev.booted()}")


def main():
    size = W.image_size
    img = W.file("rootfs-2.img", release="2", size=size)
    model = W.file("det-2.onnx", b"GOODMODEL v2\n")
    W.publish([
        ("images/rootfs-2.img", img, bs.sluice_custom("image", "2", slot_class="rootfs")),
        ("models/det-2.onnx", model, bs.sluice_custom("model", "2", model={"name": "det"})),
    ])
    for phase in ("downloading", "written", "verified", "switched"):
        cut_at_phase(phase)
    for phase in ("booted", "committed"):
        cut_at_phase(phase, verb="boot-check")

    # Calibrate: when, after the start, is the slot being written? (first `downloading` seen
    # to first `written` seen, sampling the state file)
    dev = device()
    t0 = time.monotonic()
    proc = dev.spawn("install", "--from", W.repo)
    t_dl = t_wr = None
    while proc.poll() is None:
        phase = (dev.install_state() or {}).get("phase")
        now = time.monotonic() - t0
        if phase == "downloading" and t_dl is None:
            t_dl = now
        if phase not in (None, "idle", "downloading") and t_wr is None:
            t_wr = now
        time.sleep(0.001)
    full = time.monotonic() - t0
    check("calibration install exits 0", proc.returncode == 0, proc.returncode)
    if t_dl is None or t_wr is None or t_wr <= t_dl:
        t_dl, t_wr = 0.0, full  # the phases were too quick to sample: cut anywhere
    shutil.rmtree(dev.root, ignore_errors=True)

    random.seed(int(os.environ.get("AGENT_KILL_SEED", "1")))
    outcomes = {}
    for i in range(RUNS):
        dev = device()
        proc = dev.spawn("install", "--from", W.repo)
        time.sleep(random.uniform(t_dl, t_wr))
        written = dev.install_state().get("written", 0)
        bs.kill(proc)
        try:
            dev.assert_consistent()
            st = recover(dev)
            dev.assert_consistent()
        except (AssertionError, bs.Bricked) as e:
            check(f"random cut {i}", False, repr(e))
            continue
        if check(f"random cut {i} ends committed", st["phase"] == "committed" and dev.booted() == "b", st):
            key = min(written * 4 // size, 4)
            outcomes[key] = outcomes.get(key, 0) + 1
        shutil.rmtree(dev.root, ignore_errors=True)
    print(f"ok   {RUNS} random cuts between {t_dl:.3f}s and {t_wr:.3f}s (slot being written; "
          f"install took {full:.2f}s); cut points by quarter of the slot written at the last "
          f"persisted resume point: {dict(sorted(outcomes.items()))}")
    # Most cuts must land while the slot is written, or the test proves nothing about it.
    mid = sum(n for k, n in outcomes.items() if k < 4)
    check("most random cuts land before the slot is complete", mid * 2 >= RUNS,
          f"{mid} of {RUNS}: {outcomes}")

    # Model-only release: a cut while the models are swapped in never leaves `current` dangling.
    W.publish([("models/det-3.onnx", W.file("det-3.onnx", b"GOODMODEL v3\n"),
                bs.sluice_custom("model", "3", model={"name": "det"}))])
    for phase in ("verified", "switched"):
        dev = device()
        proc = dev.spawn("install", "--from", W.repo, env={"SLUICE_AGENT_TEST_PAUSE": phase})
        bs.wait_stopped(proc)
        bs.kill(proc)
        dev.assert_consistent()
        st = recover(dev)
        cur = os.path.join(dev.models, "det", "current")
        check(f"model-only cut at {phase}", st["phase"] == "committed" and os.path.isdir(cur), st)
        print(f"ok   model-only cut at {phase}: {st['phase']}")

    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        W.cleanup()
    sys.exit(rc)
