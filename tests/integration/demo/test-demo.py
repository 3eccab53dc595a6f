#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Runs tools/demo.sh with the binaries of this build (SLUICE_BUILD_DIR) in a scratch
directory and checks the fleet it leaves behind: one online device on release 2.0, the other
(the demo picks the later cohort of the rollout) rolled back to 1.0 after its failed health
check with the rollout halted, dev-003 updated offline with a
signed receipt (imported into the history when the control plane has import-receipts), the
audit chain intact and the server stopped. Then a broken run (the control plane's port
taken) must fail naming step 8 and leave no server behind.

Usage: test-demo.py BUILD_DIR"""
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.path.abspath(sys.argv[1])
CP = os.path.join(BUILD, "controlplane", "sluice-controlplane")
AGENT = os.path.join(BUILD, "agent", "sluice-agent")
failures = 0


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures += 1


def demo(work, **env):
    e = dict(os.environ, SLUICE_BUILD_DIR=BUILD, SLUICE_DEMO_DIR=work, NO_COLOR="1")
    e.pop("SLUICE_AIRGAP", None)
    e.update(env)
    return subprocess.run([os.path.join(TOP, "tools", "demo.sh")], env=e, capture_output=True,
                          text=True, timeout=500)


def js(*argv):
    return json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)


def servers_of(path):
    """Processes whose command line names path (a state directory): servers left behind."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if any(path.encode() in c for c in cmd) and b"serve" in cmd:
            found.append(pid)
    return found


def verify_receipt(path, work):
    """The receipt's signature verifies with its certificate over the canonical JSON."""
    r = json.load(open(path))
    body = json.dumps(r["signed"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    d = tempfile.mkdtemp(dir=work)
    open(os.path.join(d, "msg"), "w").write(body)
    open(os.path.join(d, "sig"), "wb").write(bytes.fromhex(r["signatures"][0]["sig"]))
    open(os.path.join(d, "cert.pem"), "w").write(r["certificate"])
    subprocess.run(["openssl", "x509", "-in", "cert.pem", "-pubkey", "-noout", "-out", "pub.pem"],
                   cwd=d, check=True)
    v = subprocess.run(["openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig",
                        "msg"], cwd=d, capture_output=True)
    return v.returncode == 0, r["signed"]


def main():
    tmp = tempfile.mkdtemp(prefix="sluice-demo-test-")
    try:
        work = os.path.join(tmp, "demo")
        p = demo(work)
        out = p.stdout + p.stderr
        print("\n".join("  | " + ln for ln in out.splitlines()[-(40 if p.returncode == 0 else 150):]))
        check("demo exits 0", p.returncode == 0, f"exit {p.returncode}")
        if p.returncode != 0:
            return 1
        check("every step has its headline", all(f"== Step {n}:" in out for n in range(1, 14)))
        check("the path used for online updates is named",
              "online updates: the agent daemon" in out or "no agent daemon" in out)
        check("the ceremony output says what a real ceremony does differently",
              "air-gapped laptop" in out and "sensitive" in out)
        check("finished line", "demo finished in" in out)

        state = os.path.join(work, "controlplane", "state")
        dev = {d: js("python3", os.path.join(TOP, "tools", "demo", "device.py"), "show",
                     os.path.join(work, "devices", d), "--json")
               for d in ("dev-001", "dev-002", "dev-003")}
        agent = {d: js(AGENT, "--config", os.path.join(work, "devices", d, "agent.conf"),
                       "status", "--json") for d in dev}
        faulty = open(os.path.join(work, "faulty-device")).read().strip()
        check("the faulty device is one of the online devices", faulty in ("dev-001", "dev-002"),
              faulty)
        healthy = "dev-002" if faulty == "dev-001" else "dev-001"
        check(f"{healthy} runs release 2.0 with the new model",
              dev[healthy]["release"] == "2.0" and dev[healthy]["image_good"] and
              "v2" in dev[healthy]["models"]["detector"]["content"] and
              agent[healthy]["install"]["phase"] == "committed", dev[healthy])
        check(f"{faulty} rolled back to 1.0 and its old model",
              dev[faulty]["release"] == "1.0" and not dev[faulty]["trial_pending"] and
              "v1" in dev[faulty]["models"]["detector"]["content"] and
              agent[faulty]["install"]["phase"] == "rolled_back" and
              "health check" in agent[faulty]["install"].get("error", ""), (dev[faulty],
                                                                          agent[faulty]))
        check("dev-003 runs release 2.0 (offline)", dev["dev-003"]["release"] == "2.0" and
              agent["dev-003"]["install"]["phase"] == "committed", dev["dev-003"])

        hist = js(CP, "history", "--dir", state, "--json")
        ev = {(e["device"], e["release"], e["type"]) for e in hist}
        check("history: every device committed 1.0",
              all((d, "1.0", "committed") in ev for d in dev), sorted(ev))
        check(f"history: {healthy} committed 2.0, {faulty} rolled back 2.0 with the health check",
              (healthy, "2.0", "committed") in ev and any(
                  e["device"] == faulty and e["type"] == "rolled_back" and e["release"] == "2.0"
                  and "health check" in (e["error"] or "") for e in hist), sorted(ev))
        rollouts = {r["release"]: r for r in js(CP, "rollout", "--dir", state, "--json", "status")}
        check("the 1.0 rollout completed, the 2.0 rollout halted",
              rollouts["1.0"]["state"] == "completed" and rollouts["2.0"]["state"] == "halted" and
              rollouts["2.0"]["current_wave"]["failed"] == 1, rollouts)

        receipts = glob.glob(os.path.join(work, "usb", "OFFLINE-2.0", "receipts", "*.json"))
        verified = [verify_receipt(r, tmp) for r in receipts]
        check("the offline stick carries a signed 'committed' receipt of dev-003",
              any(ok and s["outcome"] == "committed" and s["device_id"] == "dev-003" and
                  s["release"] == "2.0" for ok, s in verified), verified)
        if "import-receipts" in subprocess.run([CP, "--help"], capture_output=True,
                                               text=True).stdout:
            check("the offline receipt is in the history", ("dev-003", "2.0", "committed") in ev,
                  sorted(ev))
        else:
            print("note: this control plane has no import-receipts; history check skipped")

        a = js(CP, "audit", "--dir", state, "verify", "--json")
        check("audit chain verifies", a["ok"] is True and a["rows"] > 5, a)
        check("audit verify printed in the demo", "chain intact" in out)
        check("no server left running", not servers_of(state), servers_of(state))

        # A broken run: the port is taken, so `serve` fails in step 8.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        work2 = os.path.join(tmp, "broken")
        p = demo(work2, SLUICE_DEMO_PORT=str(port))
        s.close()
        check("a failing step exits non-zero and names the step",
              p.returncode != 0 and "demo FAILED in step 8" in p.stderr,
              f"exit {p.returncode}: {p.stderr[-600:]}")
        check("no server left after a failure",
              not servers_of(os.path.join(work2, "controlplane", "state")))
        p = demo(work2)
        check("a non-empty work directory is refused", p.returncode == 2 and "not empty" in p.stderr,
              p.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
