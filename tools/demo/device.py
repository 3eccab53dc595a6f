#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The demo's simulated devices: a thin command-line wrapper around the boot simulator of the
agent tests (tests/integration/agent/bootsim.py: file-backed A/B slots, the `file` bootloader
state, U-Boot's bootcount logic) so that tools/demo.sh can drive a device from the shell.

  device.py create DIR [--fault-file F]  a new device in DIR (slots, boot.env, agent.conf);
                                         its health check fails while F exists
  device.py image OUT RELEASE [--size N] an image the simulated bootloader can boot
  device.py reboot DIR                   power-cycle: bootloader, then `sluice-agent boot-check`
  device.py show DIR [--json]            booted slot, the release in it, the current model

SLUICE_AGENT names the agent binary (used by reboot)."""

import argparse
import json
import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "integration", "agent"))
import bootsim as bs  # noqa: E402

SLOT_SIZE = 2 << 20


def attach(root):
    """A bootsim.Device for an existing device directory (without re-creating it)."""
    d = bs.Device.__new__(bs.Device)
    d.root = root
    d.state = os.path.join(root, "state")
    d.slots = {"a": os.path.join(root, "slot-a"), "b": os.path.join(root, "slot-b")}
    d.bootloader = "file"  # the demo's devices use the `file` backend
    d.env_path = os.path.join(root, "boot.env")
    d.boot_files = [d.env_path]
    d.models = os.path.join(root, "models")
    d.conf = os.path.join(root, "agent.conf")
    d.reboot_marker = os.path.join(root, "reboot-requested")
    d.boots = 0
    return d


def model_of(d):
    out = {}
    if os.path.isdir(d.models):
        for name in sorted(os.listdir(d.models)):
            cur = os.path.join(d.models, name, "current")
            if os.path.islink(cur):
                files = os.listdir(cur)
                data = open(os.path.join(cur, files[0]), "rb").read(64) if files else b""
                out[name] = {"sha256": os.readlink(cur),
                             "content": data.decode(errors="replace").strip()}
    return out


def show(d):
    env = d.read_env()
    booted = env["booted"]
    return {"booted": booted, "release": bs.image_release(d.slots[booted]),
            "image_good": bs.image_good(d.slots[booted]), "trial_pending": bool(env["upgrade_available"]),
            "models": model_of(d)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create")
    c.add_argument("dir")
    c.add_argument("--fault-file")
    c.add_argument("--factory-release", default="factory")
    i = sub.add_parser("image")
    i.add_argument("out")
    i.add_argument("release")
    i.add_argument("--size", type=int, default=256 << 10)
    r = sub.add_parser("reboot")
    r.add_argument("dir")
    s = sub.add_parser("show")
    s.add_argument("dir")
    s.add_argument("--json", action="store_true")
    a = p.parse_args()

    if a.cmd == "create":
        os.makedirs(a.dir, exist_ok=True)
        health = "head -c 10 \"$SLUICE_SLOT_DEVICE\" | grep -q GOOD"
        if a.fault_file:
            health += f" && ! test -e '{a.fault_file}'"
        bs.Device(os.path.abspath(a.dir), slot_size=SLOT_SIZE, factory_release=a.factory_release,
                  health=health)
        return 0
    if a.cmd == "image":
        bs.make_image(a.out, a.release, a.size, seed=a.release)
        return 0
    d = attach(os.path.abspath(a.dir))
    if a.cmd == "reboot":
        real_agent = d.agent

        def agent(*args, **kw):
            p = real_agent(*args, **kw)
            print(f"boot {d.boots}: bootloader started slot {d.read_env()['booted']}")
            for line in (p.stdout + p.stderr).splitlines():
                print(f"  {args[0]}: {line}")
            return p

        d.agent = agent
        booted = d.reboot()
        st = show(d)
        print(f"booted slot {booted}, image release {st['release']}")
        return 0
    st = show(d)
    if a.json:
        print(json.dumps(st))
    else:
        models = ", ".join(f"{k}={v['content']!r}" for k, v in st["models"].items()) or "none"
        print(f"booted slot {st['booted']}, image release {st['release']}, models: {models}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
