#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Power cuts (SIGKILL) at every persisted step of the install state machine and at random
points while a slot is written (AGENT_KILL_RUNS, default 200): after each cut the simulated
device is power-cycled and the agent run again until the install finishes; every run must end
booted on a good slot with a consistent state store."""

import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bootsim as bs  # noqa: E402

W = bs.World(image_size=12 << 20)
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
    return W.device(slot_size=16 << 20)


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

    # Calibrate: how long does an uninterrupted install take?
    dev = device()
    t0 = time.monotonic()
    dev.agent("install", "--from", W.repo, check=True)
    full = time.monotonic() - t0

    random.seed(int(os.environ.get("AGENT_KILL_SEED", "1")))
    outcomes = {}
    for i in range(RUNS):
        dev = device()
        proc = dev.spawn("install", "--from", W.repo)
        time.sleep(random.uniform(0, full))
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
        import shutil
        shutil.rmtree(dev.root, ignore_errors=True)
    print(f"ok   {RUNS} random cuts (install took {full:.2f}s; cut points by quarter of the "
          f"slot written at the last checkpoint: {dict(sorted(outcomes.items()))})")

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
