#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""End to end, transport scenario X "agent facing a server certificate with a wrong host
name", with the real binaries only. A fleet is set up as in test-e2e-mtls.py (its server
certificate names localhost and 127.0.0.1) and a release is published. Control: sluice-tuf
refreshes over mTLS from https://127.0.0.1:PORT/ and https://localhost:PORT/, and
`sluice-agent run --once` checks in, for devices whose media name either URL. Then the server
certificate is replaced by one from `sluice-provision server-cert --dns wrong.example` (no IP,
no localhost) and the server restarted: both refreshes fail (exit 1, naming the certificate or
host name) and trust nothing new, and the agents' check-ins fail.

Usage: test-e2e-hostname.py PROVISION CONTROLPLANE CEREMONY AGENT TUF"""
import hashlib
import json
import os
import shutil
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402

def names_cert(text):
    """A refusal names the certificate or the host name it does not match."""
    low = text.lower()
    return "certificate" in low or "host name" in low


def medium(w, dev_id, url):
    """A provisioning medium for dev_id naming url, approved with its certificate's hash."""
    out = os.path.join(w.tmp, "media-" + dev_id)
    w.prov("device", "--id", dev_id, "--hardware", "board-a", "--controlplane", url, "--root",
           w.root, "--out", out)
    with open(os.path.join(out, "device.crt")) as f:
        sha = hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()
    w.cp("devices", "approve", dev_id, "--hardware", "board-a", "--cert-sha256", sha)
    return out


def agent_of(w, dev_id, media):
    """sluice-agent provision MEDIA into its own state directory, configured as a device with
    two small file-backed slots (`file` bootloader) and a models directory, which a cycle
    needs: (config, provision result)."""
    root = os.path.join(w.tmp, "agent-" + dev_id)
    os.makedirs(os.path.join(root, "models"))
    for s in ("a", "b"):
        with open(os.path.join(root, "slot-" + s), "wb") as f:
            f.truncate(1 << 20)
    with open(os.path.join(root, "boot.env"), "w") as f:
        f.write("boot_slot=a\nupgrade_available=0\nbootcount=0\nbootlimit=1\nbooted=a\n")
    conf = os.path.join(root, "agent.conf")
    with open(conf, "w") as f:
        f.write(f"[agent]\nstate_dir = {root}/state\n"
                f"[slot.rootfs]\na = {root}/slot-a\nb = {root}/slot-b\nbootloader = file\n"
                f"bootloader_state = {root}/boot.env\n"
                f"[models]\ndir = {root}/models\n")
    p = E.run([w.b["agent"], "--config", conf, "provision", media], ok=False)
    return conf, p


def last_seen(w):
    """{device id: last_seen} from devices list --json."""
    return {d["id"]: d.get("last_seen") for d in json.loads(w.cp("devices", "--json",
                                                                 "list").stdout)}


def refresh(w, media, client, url):
    return E.run([w.b["tuf"], "--metadata-dir", client, "--metadata-url", url, "--ca-file",
                  os.path.join(media, "ca.pem"), "--cert", os.path.join(media, "device.crt"),
                  "--key", os.path.join(media, "device.key"), "refresh"], ok=False)


def main():
    b = E.binaries(sys.argv)
    tmp = E.tmpdir("sluice-e2e-hostname-")
    t = E.Checks()
    w = E.World(b, tmp)
    srv = None
    try:
        w.setup()
        bundle = w.release("2026.11.1", {"files/notes.txt": b"release one\n"})
        w.publish(bundle)

        # Control: the certificate of setup() names localhost and 127.0.0.1.
        srv = w.serve()
        port = srv.port
        urls = {"ip": f"https://127.0.0.1:{port}/", "name": f"https://localhost:{port}/"}
        for kind, url in urls.items():
            media = medium(w, "good-" + kind, url)
            client = w.tuf_client({}, "good-" + kind)
            p = refresh(w, media, client, url + "tuf/metadata/")
            t.check(p.returncode == 0 and os.path.exists(os.path.join(client, "timestamp.json")),
                    f"control: sluice-tuf refresh from {url} with the right host name",
                    p.stdout + p.stderr)
            conf, p = agent_of(w, "good-" + kind, media)
            t.check(p.returncode == 0, f"control: sluice-agent provision good-{kind}",
                    p.stdout + p.stderr)
            p = E.run([b["agent"], "--config", conf, "run", "--once"], ok=False)
            t.check(p.returncode == 0, f"control: sluice-agent run --once checks in at {url}",
                    p.stdout + p.stderr)
        seen = last_seen(w)
        t.check(seen.get("good-ip") and seen.get("good-name"),
                "control: both check-ins were recorded (last_seen)", str(seen))

        # The same control plane and server CA behind a certificate naming only wrong.example;
        # the restarted server has a new port, so new devices get media naming it.
        rc = srv.stop()
        srv = None
        t.check(rc == 0, f"SIGTERM: serve exits 0 ({rc})")
        w.prov("server-cert", "--dns", "wrong.example", "--out", os.path.join(w.state, "tls"),
               "--force")
        srv = w.serve()
        port = srv.port
        st, why = w.get({"ca": os.path.join(w.pki, "server-ca.crt")}, "/tuf/metadata/root.json")
        t.check(st == "refused" and "mismatch" in why.lower(),
                "python ssl to localhost refuses the wrong.example certificate", f"{st} {why}")
        urls = {"ip": f"https://127.0.0.1:{port}/", "name": f"https://localhost:{port}/"}
        for kind, url in urls.items():
            media = medium(w, "wrong-" + kind, url)
            client = w.tuf_client({}, "wrong-" + kind)
            before = E.tree_hash(client)
            p = refresh(w, media, client, url + "tuf/metadata/")
            print("# sluice-tuf: " + p.stderr.strip().replace("\n", "\n# "))
            t.check(p.returncode == 1 and names_cert(p.stderr),
                    f"sluice-tuf refresh from {url}, certificate for wrong.example: exit 1 "
                    "naming the certificate / host", f"{p.returncode}: {p.stdout}{p.stderr}")
            t.check(E.tree_hash(client) == before, f"the client of {url} trusts nothing new")
            conf, p = agent_of(w, "wrong-" + kind, media)
            t.check(p.returncode == 0, f"sluice-agent provision wrong-{kind}",
                    p.stdout + p.stderr)
            p = E.run([b["agent"], "--config", conf, "run", "--once"], ok=False)
            print("# sluice-agent: " + p.stderr.strip().replace("\n", "\n# "))
            t.check(p.returncode == 1 and "TUF_E_NETWORK" in p.stderr and "checkin" in p.stderr
                    and names_cert(p.stderr),
                    f"sluice-agent run --once at {url}: the check-in fails (TUF_E_NETWORK, "
                    "naming the certificate)",
                    f"{p.returncode}: {p.stdout}{p.stderr}")
        seen = last_seen(w)
        t.check("wrong-ip" in seen and "wrong-name" in seen and not seen["wrong-ip"] and
                not seen["wrong-name"],
                "no check-in of wrong-ip or wrong-name reached the control plane", str(seen))
        out = srv.output()
        t.check("wrong-ip" not in out and "wrong-name" not in out,
                "the server never saw the refused devices' identities", out[-2000:])
        rc = srv.stop()
        srv = None
        t.check(rc == 0, f"SIGTERM: serve exits 0 ({rc})")
    except Exception as e:  # a broken step ends the run with what was seen so far
        t.check(False, f"scenario ran to the end: {e}")
    finally:
        if srv:
            srv.stop()
            print("--- serve log ---\n" + srv.output())
    r = t.done()
    if r == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"work directory kept: {tmp}")
    return r


if __name__ == "__main__":
    sys.exit(main())
