#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Releases with targets signed by a delegated role (DESIGN.md §3, the `models` role): the
image in top-level targets and the model in `models` install together; a model-only release
in `models` is found; a path the role lists outside its delegated patterns, an entry shadowed
by a terminating delegation and a role signed with a key nobody delegated to never reach the
device."""

import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bootsim as bs  # noqa: E402

W = bs.World()
failures = 0


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures += 1


def entry(path, file, custom):
    return {"path": path, "file": file, "custom": custom}


def publish(targets, delegations):
    """targets: top-level [(path, file, custom)]; delegations: agent-mkrepo's spec entries."""
    W.version += 1
    spec = {"version": W.version, "targets": [entry(*t) for t in targets],
            "delegations": delegations}
    os.makedirs(W.repo, exist_ok=True)
    spec_path = os.path.join(W.repo, f"spec-{W.version}.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    bs.subprocess.run([bs.MKREPO, W.repo, spec_path], check=True)


def models_role(targets, **kw):
    d = {"name": "models", "paths": ["models/*"], "targets": [entry(*t) for t in targets]}
    d.update(kw)
    return d


def late_role(targets=()):
    return {"name": "models-late", "paths": ["models/*"], "targets": list(targets)}


def model(release, name="det"):
    return bs.sluice_custom("model", release, model={
        "name": name, "runtime": "onnxruntime>=1.16", "accelerator": "npu-x"})


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def current(dev, name="det"):
    p = os.path.join(dev.models, name, "current")
    return os.readlink(p) if os.path.lexists(p) else None


def refused(dev, name, fragment, *args):
    """Refused before the first byte: all but the (validly refreshed) TUF metadata unchanged."""
    before = dev.state_hash(include_tuf=False)
    p = dev.agent("install", "--from", W.repo, *args)
    check(name, p.returncode == 1 and fragment in p.stderr and
          dev.state_hash(include_tuf=False) == before, f"rc={p.returncode} {p.stdout}{p.stderr}")
    return p


def main():
    size = W.image_size
    img2 = W.file("rootfs-2.img", release="2", size=size)
    det2 = W.file("det-2.onnx", b"GOODMODEL v2\n")
    rogue = W.file("rogue.onnx", b"GOODMODEL rogue\n")
    # The image in top-level targets, its model in `models`; `models` also lists a model of
    # the same release outside models/*, which the delegation does not cover.
    publish([("images/rootfs-2.img", img2, bs.sluice_custom("image", "2", slot_class="rootfs"))],
            [models_role([("models/det-2.onnx", det2, model("2")),
                          ("extra/rogue.onnx", rogue, model("2", name="rogue"))])])

    # 1. Image (top-level) and model (`models`) install as one release.
    dev = W.device()
    p = dev.agent("install", "--from", W.repo)
    st = dev.install_state()
    paths = sorted(t["path"] for t in st["targets"])
    check("release holds the image and the delegated model", p.returncode == 0 and
          st["phase"] == "switched" and paths == ["images/rootfs-2.img", "models/det-2.onnx"],
          f"{p.stdout}{p.stderr} {st}")
    check("delegated metadata trusted on the device",
          os.path.exists(os.path.join(dev.state, "tuf", "models.json")))
    booted = dev.reboot()
    st = dev.assert_consistent()
    check("trial boot commits image and model", booted == "b" and st["phase"] == "committed" and
          st["installed"]["release"] == "2" and bs.image_release(dev.slots["b"]) == "2" and
          current(dev) == sha(det2), f"{st} {current(dev)}")
    check("a path outside the role's patterns is not installed",
          not os.path.exists(os.path.join(dev.models, "rogue")), os.listdir(dev.models))

    # 2. A model-only release that only the delegated role lists is the newest release.
    det3 = W.file("det-3.onnx", b"GOODMODEL v3\n")
    publish([("images/rootfs-2.img", img2, bs.sluice_custom("image", "2", slot_class="rootfs"))],
            [models_role([("models/det-3.onnx", det3, model("3"))])])
    p = dev.agent("install", "--from", W.repo)
    st = dev.install_state()
    check("model-only release from the delegated role commits", p.returncode == 0 and
          st["phase"] == "committed" and st["installed"]["release"] == "3" and
          current(dev) == sha(det3) and not os.path.exists(dev.reboot_marker),
          f"{p.stdout}{p.stderr} {st}")

    # 3. A release only the delegated role lists outside its patterns does not exist.
    publish([], [models_role([("extra/rogue-4.onnx", rogue, model("4", name="rogue"))])])
    refused(dev, "release listed only outside the role's patterns not found", "no release 4",
            "--release", "4")

    # 4. A terminating delegation shadows a later role for the paths it covers. (Once listed
    # in snapshot, models-late stays listed: clients refuse a snapshot that drops a role.)
    det5 = W.file("det-5.onnx", b"GOODMODEL v5\n")
    publish([], [models_role([("models/det-3.onnx", det3, model("3"))], terminating=True),
                 late_role([entry("models/det-5.onnx", det5, model("5"))])])
    refused(dev, "entry shadowed by a terminating delegation not found", "no release 5",
            "--release", "5")
    trusted_models = os.path.join(dev.state, "tuf", "models.json")
    version = json.load(open(trusted_models))["signed"]["version"]

    # 5. A `models` role signed with a key its delegation does not list.
    det6 = W.file("det-6.onnx", b"GOODMODEL v6\n")
    publish([("images/rootfs-2.img", img2, bs.sluice_custom("image", "2", slot_class="rootfs"))],
            [models_role([("models/det-6.onnx", det6, model("6"))], wrong_key=True), late_role()])
    refused(dev, "role signed with the wrong key refused",
            "models: 0 of 1 required signatures are valid")
    check("the wrongly signed role is not trusted",
          json.load(open(trusted_models))["signed"]["version"] == version == W.version - 1,
          f"{version} {W.version}")
    check("the committed model stays", current(dev) == sha(det3), current(dev))

    # 6. Fixed again: the next good release installs.
    det7 = W.file("det-7.onnx", b"GOODMODEL v7\n")
    publish([], [models_role([("models/det-7.onnx", det7, model("7"))]), late_role()])
    p = dev.agent("install", "--from", W.repo)
    st = dev.install_state()
    check("the next good delegated release installs", p.returncode == 0 and
          st["phase"] == "committed" and st["installed"]["release"] == "7" and
          current(dev) == sha(det7), f"{p.stdout}{p.stderr} {st}")

    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        W.cleanup()
    sys.exit(rc)
