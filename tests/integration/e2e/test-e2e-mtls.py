#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""End to end over mutual TLS with the real binaries only: sluice-provision makes the CAs and
the control plane's TLS files; a key ceremony (3 root keys, threshold 2; a targets key; the
control plane's online keys) makes 1.root.json; root-import; a release bundle is published;
devices get media from sluice-provision and are approved from its export; sluice-agent
imports a medium; sluice-tuf, with the identity the agent imported, refreshes and downloads
from `sluice-controlplane serve`; a second publish is seen; an unapproved device is refused
(403); a device revoked with sluice-provision is refused after the CRL reload (SIGHUP) while
another still works; a re-issued certificate (`device --force`) is refused until approved
with its hash, after which the old one is refused; the audit trail verifies and holds the
publishes and the refusals; status --json shows every role with its expiry.

Usage: test-e2e-mtls.py PROVISION CONTROLPLANE CEREMONY AGENT TUF"""
import hashlib
import json
import os
import shutil
import signal
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402


def ident_of(agent_root):
    d = os.path.join(agent_root, "state", "identity")
    return {"ca": os.path.join(d, "ca.pem"), "cert": os.path.join(d, "device.crt"),
            "key": os.path.join(d, "device.key")}


def version_of(path):
    with open(path) as f:
        return json.load(f)["signed"]["version"]


def main():
    b = E.binaries(sys.argv)
    tmp = E.tmpdir("sluice-e2e-mtls-")
    t = E.Checks()
    w = E.World(b, tmp)
    srv = None
    try:
        w.setup()
        t.check(w.root_check_one.returncode != 0 and "1 more needed" in w.root_check_one.stdout,
                "ceremony: one of two root signatures is not complete",
                w.root_check_one.stdout + w.root_check_one.stderr)

        img1 = os.urandom(300 * 1024)
        b1 = w.release("2026.11.1", {"images/board-a/rootfs.img": img1,
                                     "files/notes.txt": b"release one\n"})
        p = w.publish(b1)
        t.check("targets version 1" in p.stdout, "first bundle published", p.stdout)

        # Media for three devices; only the first two are in the approval export.
        media = {d: w.device(d) for d in ("dev-1", "dev-2")}
        exp, p = w.approve_export()
        lines = [json.loads(ln) for ln in open(exp)]
        t.check([x["id"] for x in lines] == ["dev-1", "dev-2"], "export lists dev-1 and dev-2",
                json.dumps(lines))
        if not t.check(p.returncode == 0, "export -> devices approve --from",
                       p.stdout + p.stderr):
            # Keep going with the members approve --from documented before it took not_after.
            stripped = exp + ".3"
            with open(stripped, "w") as f:
                for x in lines:
                    f.write(json.dumps({k: x[k] for k in ("id", "hardware", "cert_sha256")}) + "\n")
            w.cp("devices", "approve", "--from", stripped)
        media["dev-3"] = w.device("dev-3")
        shown = w.cp("devices", "--json", "list").stdout
        t.check('"dev-1"' in shown and '"dev-2"' in shown and '"dev-3"' not in shown,
                "devices list: dev-1 and dev-2 registered, dev-3 not", shown)

        # sluice-agent imports each medium into its own state directory.
        agents = {}
        for d, m in media.items():
            root, p, st = w.agent_provision(d, m)
            agents[d] = root
            ok = p.returncode == 0 and st.returncode == 0
            if ok:
                s = json.loads(st.stdout)
                ok = (s.get("device_id") == d and s.get("root_version") == 1 and
                      s.get("identity", {}).get("common_name") == d)
            t.check(ok, f"sluice-agent provision {d}; status --json names it, root v1",
                    p.stderr + st.stdout + st.stderr)
        dev1, dev2, dev3 = (ident_of(agents[d]) for d in ("dev-1", "dev-2", "dev-3"))
        t.check(open(dev1["ca"], "rb").read() ==
                open(os.path.join(w.pki, "server-ca.crt"), "rb").read(),
                "the device trusts exactly the server CA")

        srv = w.serve(env={"SLUICE_AIRGAP": "1"})
        out = srv.output()
        t.check("repository: root v1" in out and "targets v1" in out and "timestamp v1" in out,
                "serve: start-up summary names the repository versions", out)
        t.check("air-gap mode: on" in out, "serve with SLUICE_AIRGAP=1 says so at start-up", out)

        # dev-1 refreshes and downloads with the identity and pinned root the agent imported.
        pinned = os.path.join(agents["dev-1"], "state", "tuf", "root.json")
        c1 = w.tuf_client(dev1, "dev-1", pinned)
        o1 = os.path.join(tmp, "out-1")
        p = w.download(dev1, c1, ["images/board-a/rootfs.img", "files/notes.txt"], o1)
        got_img = os.path.join(o1, "images%2Fboard-a%2Frootfs.img")
        got_txt = os.path.join(o1, "files%2Fnotes.txt")
        t.check(p.returncode == 0 and os.path.exists(got_img) and
                open(got_img, "rb").read() == img1 and
                open(got_txt, "rb").read() == b"release one\n",
                "sluice-tuf over mTLS (agent's identity): download equals the artifacts",
                p.stderr + str(os.listdir(o1)))
        t.check(version_of(os.path.join(c1, "targets.json")) == 1, "client trusts targets v1")

        # The client without a certificate, or trusting another CA, gets nothing.
        p = w.tuf({"ca": dev1["ca"]}, c1, "refresh")
        t.check(p.returncode != 0, "sluice-tuf without a client certificate fails", p.stderr)
        wrongca = dict(dev1, ca=os.path.join(w.pki, "device-ca.crt"))
        p = w.tuf(wrongca, c1, "refresh")
        t.check(p.returncode != 0, "sluice-tuf trusting another CA than the server's fails",
                p.stderr)

        # A second release, published while the server runs, is seen on the next refresh.
        img2 = os.urandom(200 * 1024)
        b2 = w.release("2026.11.2", {"images/board-a/rootfs.img": img2,
                                     "files/notes.txt": b"release two\n"},
                       prev=w.targets_file(b1))
        p = w.publish(b2)
        t.check("targets version 2" in p.stdout, "second bundle published", p.stdout)
        t.check(w.wait_served(dev2), "every server loop serves the new timestamp.json")
        p = w.tuf(dev1, c1, "refresh")
        t.check(p.returncode == 0 and version_of(os.path.join(c1, "targets.json")) == 2 and
                version_of(os.path.join(c1, "timestamp.json")) == 2,
                "refresh sees targets v2 and timestamp v2", p.stderr)
        p = w.download(dev1, c1, ["images/board-a/rootfs.img"], o1)
        t.check(p.returncode == 0 and open(got_img, "rb").read() == img2,
                "download after the second publish gives the new image", p.stderr)

        # dev-2 (approved) is served; dev-3 (issued, not approved) is refused with 403.
        served_ts = open(os.path.join(w.state, "repo", "metadata", "timestamp.json"), "rb").read()
        st, body = w.get(dev2, "/tuf/metadata/timestamp.json")
        t.check(st == 200 and body == served_ts, f"dev-2 GET timestamp.json: 200 ({st})")
        st, _ = w.get(dev3, "/tuf/metadata/timestamp.json")
        t.check(st == 403, f"unapproved dev-3: 403 for metadata ({st})")
        st, _ = w.get(dev3, "/tuf/targets/files/notes.txt")
        t.check(st == 403, f"unapproved dev-3: 403 for targets ({st})")
        c3 = w.tuf_client(dev3, "dev-3", os.path.join(agents["dev-3"], "state", "tuf",
                                                       "root.json"))
        p = w.tuf(dev3, c3, "refresh")
        t.check(p.returncode != 0 and "403" in p.stderr, "sluice-tuf as dev-3: refused (403)",
                p.stderr)
        t.check(sorted(os.listdir(c3)) == ["root.json"], "dev-3's client trusts nothing new")

        # Revocation: sluice-provision revoke -> crl.pem into STATE/tls -> SIGHUP.
        c2 = w.tuf_client(dev2, "dev-2", os.path.join(agents["dev-2"], "state", "tuf",
                                                       "root.json"))
        t.check(w.tuf(dev2, c2, "refresh").returncode == 0, "dev-2 refreshes before the revocation")
        crl_out = os.path.join(tmp, "crl-out")
        w.prov("revoke", "--id", "dev-1", "--reason", "keyCompromise", "--out", crl_out)
        shutil.copyfile(os.path.join(crl_out, "crl.pem"), os.path.join(w.state, "tls", "crl.pem"))
        mark = len(srv.output())
        srv.proc.send_signal(signal.SIGHUP)
        t.check(srv.wait_for("reloaded certificates", after=mark), "SIGHUP: certificates reloaded",
                srv.output()[mark:])
        # every loop swaps its context through an async handle: give them a moment, then the
        # answer must be stable
        time.sleep(0.3)
        results = [w.get(dev1, "/tuf/metadata/timestamp.json")[0] for _ in range(4)]
        t.check(all(r == "refused" for r in results),
                f"revoked dev-1: every new connection refused ({results})")
        p = w.tuf(dev1, c1, "refresh")
        t.check(p.returncode != 0, "sluice-tuf as revoked dev-1 fails", p.stderr)
        results = [w.get(dev2, "/tuf/metadata/timestamp.json")[0] for _ in range(4)]
        t.check(all(r == 200 for r in results), f"dev-2 still served ({results})")
        p = w.tuf(dev2, c2, "refresh")
        t.check(p.returncode == 0, "sluice-tuf as dev-2 still refreshes", p.stderr)
        exp2 = w.export()
        ids = [json.loads(ln)["id"] for ln in open(exp2)]
        t.check("dev-1" not in ids and "dev-2" in ids, f"export leaves out revoked dev-1 ({ids})")

        # A re-issued certificate (sluice-provision device --force: same id, new key) is not
        # the approved one: refused until approved with its hash; then the old one is refused.
        m2 = w.device("dev-2", force=True)
        new2 = {"ca": os.path.join(m2, "ca.pem"), "cert": os.path.join(m2, "device.crt"),
                "key": os.path.join(m2, "device.key")}
        with open(new2["cert"]) as f:
            new_sha = hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()
        st, _ = w.get(new2, "/tuf/metadata/timestamp.json")
        t.check(st == 403, f"re-issued dev-2 certificate, not approved yet: 403 ({st})")
        st, _ = w.get(dev2, "/tuf/metadata/timestamp.json")
        t.check(st == 200, f"dev-2's approved certificate still served: 200 ({st})")
        exp3 = [json.loads(ln) for ln in open(w.export())]
        t.check(any(x["id"] == "dev-2" and x["cert_sha256"] == new_sha for x in exp3),
                "the export names dev-2's new certificate hash")
        p = w.cp("devices", "approve", "dev-2", "--cert-sha256", new_sha, "--replace-cert",
                 ok=False)
        t.check(p.returncode == 0, "devices approve --replace-cert with the new hash",
                p.stdout + p.stderr)
        st, _ = w.get(new2, "/tuf/metadata/timestamp.json")
        t.check(st == 200, f"re-issued dev-2 certificate after re-approval: 200 ({st})")
        st, _ = w.get(dev2, "/tuf/metadata/timestamp.json")
        t.check(st == 403, f"dev-2's old certificate after the replacement: 403 ({st})")

        rc = srv.stop()
        t.check(rc == 0, f"SIGTERM: serve exits 0 ({rc})")
        srv = None

        # The audit trail: intact, with the publishes and the refused device.
        p = w.cp("audit", "verify", ok=False)
        t.check(p.returncode == 0 and p.stdout.startswith("OK"), "audit verify passes",
                p.stdout + p.stderr)
        p = w.cp("audit", "--json", "export", ok=False)
        text = p.stdout
        t.check(p.returncode == 0 and text.count('"publish"') >= 2 and "2026.11.2" in text,
                "audit export shows both publishes", text[-2000:])
        t.check("auth_failure" in text and "dev-3" in text,
                "audit export shows the refused dev-3 as auth_failure", text[-2000:])
        t.check("device_approve" in text or "approve" in text, "audit export shows approvals")
        t.check("certificate not the approved one" in text,
                "audit export shows the refused re-issued dev-2 certificate", text[-2000:])

        p = w.cp("status", "--json", ok=False)
        ok = p.returncode == 0
        if ok:
            s = json.loads(p.stdout)
            roles = {r["role"]: r for r in s.get("roles", [])}
            ok = (set(roles) >= {"root", "targets", "snapshot", "timestamp"} and
                  roles["targets"]["version"] == 2 and roles["timestamp"]["version"] >= 2 and
                  all(r.get("expires") and isinstance(r.get("days_left"), int)
                      for r in roles.values()) and
                  roles["root"]["days_left"] in (364, 365) and
                  s.get("server_certificate", {}).get("days_left", 0) > 800 and
                  s.get("last_publish", {}).get("release") == "2026.11.2" and
                  s.get("devices", {}).get("approved") == 2)
        t.check(ok, "status --json: roles with versions and expiries, server certificate, "
                "2 approved devices, last publish", p.stdout + p.stderr)
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
