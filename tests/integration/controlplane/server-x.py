#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Transport scenarios (X) against `sluice-controlplane serve` on loopback: no client
certificate, another CA, expired, revoked (at start and after a SIGHUP reload of a new CRL),
wrong or missing clientAuth EKU, unapproved device, and one device asking for another's data."""
import importlib.util
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time

spec = importlib.util.spec_from_file_location(
    "serverlib", os.path.join(os.path.dirname(os.path.abspath(__file__)), "server-lib.py"))
L = importlib.util.module_from_spec(spec)
spec.loader.exec_module(L)


def refused(srv, ctx):
    """True when the server refuses the TLS handshake (no HTTP answer at all)."""
    try:
        st, _, _ = L.request(srv, ctx, "GET", "/tuf/metadata/timestamp.json")
        return False if st == 200 else f"HTTP {st}"
    except (ssl.SSLError, ConnectionError, OSError):
        return True


def main():
    if len(sys.argv) < 2:
        print("usage: server-x.py SLUICE-CONTROLPLANE")
        return 2
    binary = sys.argv[1]
    L.need_tools()
    root = L.tmpdir()
    t = L.Checks()
    pki = L.PKI(os.path.join(root, "pki"))
    dev = {
        "a": pki.device("dev-a"),
        "b": pki.device("dev-b"),
        "unapproved": pki.device("dev-unapproved"),
        "expired": pki.device("dev-expired", start="20200101000000Z", end="20210101000000Z"),
        "revoked": pki.device("dev-revoked"),
        "late": pki.device("dev-late"),
        "servereku": pki.device("dev-servereku", ext="serveronly"),
        "noeku": pki.device("dev-noeku", ext="noeku"),
        "otherca": pki.device("dev-otherca", ca="other-ca"),
    }
    pki.revoke("dev-revoked")
    approved = ["dev-a", "dev-b", "dev-expired", "dev-revoked", "dev-late", "dev-servereku",
                "dev-noeku", "dev-otherca"]
    state, files, _ = L.make_state(binary, root, pki, approved)
    srv = L.Server(binary, state)
    try:
        ctx = {k: L.client_context(pki, *v) for k, v in dev.items()}
        st, _, body = L.request(srv, ctx["a"], "GET", "/tuf/metadata/timestamp.json")
        t.check(st == 200 and body == files["timestamp.json"], "good device gets timestamp.json")
        t.check(refused(srv, L.client_context(pki)) is True, "no client certificate: refused")
        t.check(refused(srv, ctx["otherca"]) is True, "certificate from another CA: refused")
        t.check(refused(srv, ctx["expired"]) is True, "expired certificate: refused")
        t.check(refused(srv, ctx["revoked"]) is True, "revoked certificate (CRL): refused")
        t.check(refused(srv, ctx["servereku"]) is True, "serverAuth-only EKU: refused")
        t.check(refused(srv, ctx["noeku"]) is True, "certificate without EKU: refused")

        st, _, _ = L.request(srv, ctx["unapproved"], "GET", "/tuf/metadata/timestamp.json")
        t.check(st == 403, f"valid certificate of an unapproved device: 403 for metadata ({st})")
        st, _, _ = L.request(srv, ctx["unapproved"], "POST", "/v1/checkin", body=b"{}")
        t.check(st == 403, f"unapproved device: 403 for checkin ({st})")

        # revocation after start: a new CRL and SIGHUP
        t.check(refused(srv, ctx["late"]) is False, "dev-late works before its revocation")
        pki.revoke("dev-late")
        shutil.copyfile(pki.p("crl.pem"), os.path.join(state, "tls", "crl.pem"))
        srv.signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and "reloaded certificates" not in srv.output():
            time.sleep(0.05)
        time.sleep(0.2)  # every loop takes the new context from its async handle
        t.check(refused(srv, ctx["late"]) is True, "revoked after SIGHUP reload of the CRL: refused")
        t.check(refused(srv, ctx["a"]) is False, "good device still served after the reload")

        # a broken reload keeps the old material
        crl = os.path.join(state, "tls", "crl.pem")
        good_crl = open(crl, "rb").read()
        with open(crl, "w") as f:
            f.write("garbage\n")
        srv.signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and "keeping the old ones" not in srv.output():
            time.sleep(0.05)
        t.check("keeping the old ones" in srv.output(), "a broken CRL on reload is reported")
        t.check(refused(srv, ctx["a"]) is False and refused(srv, ctx["late"]) is True,
                "after a failed reload the old CRL still applies")
        with open(crl, "wb") as f:
            f.write(good_crl)

        # one device asking for another's data: answers only ever concern the caller
        checkin = lambda rel: json.dumps({"release": rel, "slot": "a", "models": {},
                                          "hardware": "board-a", "agent_version": "0.1.0",
                                          "state": "idle"}).encode()
        st_b, _, body_b = L.request(srv, ctx["b"], "POST", "/v1/checkin",
                                    body=checkin("2026.1.1-secret-of-b"))
        st_a, _, body_a = L.request(srv, ctx["a"], "POST", "/v1/checkin?device=dev-b",
                                    body=checkin("2026.1.1"))
        t.check(st_a == 200 and st_b == 200, f"both devices check in ({st_a}, {st_b})")
        t.check(b"dev-b" not in body_a and b"secret-of-b" not in body_a,
                "device A's checkin answer says nothing about device B")
        for path in ("/v1/devices/dev-b", "/v1/checkin/dev-b", "/v1/history?device=dev-b"):
            st, _, body = L.request(srv, ctx["a"], "GET", path)
            t.check(st in (404, 405) and b"dev-b" not in body, f"GET {path}: {st}, nothing of B")
        show = subprocess.run([binary, "devices", "show", "--dir", state, "dev-b"],
                              capture_output=True, text=True)
        if show.returncode == 0:
            t.check("secret-of-b" in show.stdout, "device B's own report is recorded for B")
        show = subprocess.run([binary, "devices", "show", "--dir", state, "dev-a"],
                              capture_output=True, text=True)
        if show.returncode == 0:
            t.check("secret-of-b" not in show.stdout, "device A's record holds nothing of B")

        m = L.metrics(srv)
        t.check(m.get("sluice_cp_tls_handshake_failures_total", 0) >= 7,
                "refused handshakes are counted in /metrics")
    finally:
        rc = srv.stop()
    t.check(rc == 0, f"SIGTERM: exit 0 ({rc})")
    out = srv.output()
    audit = subprocess.run([binary, "audit", "export", "--dir", state], capture_output=True,
                           text=True)
    if audit.returncode == 0:
        t.check("auth_failure" in audit.stdout and "dev-unapproved" in audit.stdout,
                "the refused device is in the audit trail as auth_failure")
    r = t.done()
    if r:
        print(out)
    shutil.rmtree(root, ignore_errors=True)
    return r


if __name__ == "__main__":
    sys.exit(main())
