#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Transport scenarios (X) against `sluice-controlplane serve` on loopback: no client
certificate, another CA, expired, revoked (at start and after a SIGHUP reload of a new CRL),
wrong or missing clientAuth EKU, unapproved device, a re-issued certificate of a device approved
with another certificate's hash, one device asking for another's data, and the aggregated audit
row of refused handshakes."""
import hashlib
import importlib.util
import json
import os
import re
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


def cert_sha256(path):
    with open(path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def audit_text(binary, state):
    p = subprocess.run([binary, "audit", "export", "--dir", state], capture_output=True, text=True)
    return p.stdout if p.returncode == 0 else ""


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
        "pin": pki.device("dev-pin"),
    }
    pki.revoke("dev-revoked")
    approved = ["dev-a", "dev-b", "dev-expired", "dev-revoked", "dev-late", "dev-servereku",
                "dev-noeku", "dev-otherca"]
    state, files, _ = L.make_state(binary, root, pki, approved)
    pin_sha = cert_sha256(dev["pin"][0])
    L.run([binary, "devices", "approve", "--dir", state, "dev-pin", "--cert-sha256", pin_sha])
    srv = L.Server(binary, state, "--audit-flush-ms", "500")
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

        # the aggregated audit rows of the refused handshakes above (flushed every 500 ms;
        # the six may straddle a flush, so the rows are summed)
        deadline = time.time() + 10
        rows, sums = [], {}
        while time.time() < deadline and sum(sums.get("total", [0])) < 6:
            time.sleep(0.3)
            rows = [ln for ln in audit_text(binary, state).splitlines()
                    if "TLS handshake failures in the last" in ln]
            sums = {"total": [], "addr": []}
            for ln in rows:
                m = re.search(r"failures in the last [0-9.]+ s: (\d+) \(([^)]*)\), from "
                              r"\d+ address(?:es)?: (.*)", ln)
                if not m:
                    continue
                sums["total"].append(int(m.group(1)))
                for part in m.group(2).split(", "):
                    k, n = part.rsplit(" ", 1)
                    sums.setdefault(k, []).append(int(n))
                a = re.match(r"127\.0\.0\.1 \((\d+)\)", m.group(3).split("\t")[0])
                sums["addr"].append(int(a.group(1)) if a else -1000)
        got = {k: sum(v) for k, v in sums.items()}
        t.check(rows and all("\tserver\tauth_failure\t" in ln for ln in rows) and
                got.get("total") == 6 and got.get("addr") == 6,
                f"refused handshakes: aggregated auth_failure audit rows from 127.0.0.1 ({rows})")
        for reason, n in (("no_certificate", 1), ("unknown_ca", 1), ("expired", 1),
                          ("revoked", 1), ("bad_eku", 2)):
            t.check(got.get(reason) == n, f"aggregated rows count {reason} {n} ({got})")
        t.check(1 <= len(rows) <= 2, f"one row per flush interval, not one per failure ({rows})")

        # a certificate pinned at approval: a re-issued certificate of the same CN is refused
        st, _, _ = L.request(srv, ctx["pin"], "GET", "/tuf/metadata/timestamp.json")
        t.check(st == 200, f"device approved with its certificate hash: 200 ({st})")
        new_pin = pki.device("dev-pin-new", cn="dev-pin")
        new_sha = cert_sha256(new_pin[0])
        ctx_new = L.client_context(pki, *new_pin)
        st, _, _ = L.request(srv, ctx_new, "GET", "/tuf/metadata/timestamp.json")
        t.check(st == 403, f"re-issued certificate (same CN, not the approved one): 403 ({st})")
        st, _, _ = L.request(srv, ctx_new, "POST", "/v1/checkin", body=b"{}")
        t.check(st == 403, f"re-issued certificate: 403 for checkin ({st})")
        p = subprocess.run([binary, "devices", "approve", "--dir", state, "dev-pin",
                            "--cert-sha256", new_sha], capture_output=True, text=True)
        t.check(p.returncode != 0, "approve with another hash without --replace-cert: refused")
        L.run([binary, "devices", "approve", "--dir", state, "dev-pin", "--cert-sha256", new_sha,
               "--replace-cert"])
        st, _, _ = L.request(srv, ctx_new, "GET", "/tuf/metadata/timestamp.json")
        t.check(st == 200, f"re-approved with the new hash (--replace-cert): 200 ({st})")
        st, _, _ = L.request(srv, ctx["pin"], "GET", "/tuf/metadata/timestamp.json")
        t.check(st == 403, f"the old certificate after the replacement: 403 ({st})")
        text = audit_text(binary, state)
        t.check(any("auth_failure" in ln and "dev-pin" in ln and
                    "certificate not the approved one" in ln for ln in text.splitlines()),
                "the refused re-issued certificate is audited as auth_failure naming dev-pin")

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
