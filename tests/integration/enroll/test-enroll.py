#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Token enrollment end to end with the real binaries: sluice-provision makes the CAs (server
certificate, enrollment CA), sluice-controlplane imports the enrollment CA, creates tokens and
serves; sluice-agent enroll gets an identity with which sluice-tuf reaches the repository over
mTLS. Refused: tokens reused, expired, revoked, forged, bound to other hardware, used for an
existing id, and a token naming another server CA (the agent does not talk to the server).
Concurrent uses of one token: exactly one wins. Clients without a certificate reach
/v1/enroll only. Every use and refusal is in `audit export`.

Environment: SLUICE_CONTROLPLANE, SLUICE_TUF, SLUICE_AGENT, SLUICE_PROVISION, CP_MAKE_BUNDLE."""
import concurrent.futures
import hashlib
import importlib.util
import json
import os
import shutil
import ssl
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "serverlib", os.path.join(HERE, "..", "controlplane", "server-lib.py"))
L = importlib.util.module_from_spec(spec)
spec.loader.exec_module(L)

CP = os.environ["SLUICE_CONTROLPLANE"]
TUF = os.environ["SLUICE_TUF"]
AGENT = os.environ["SLUICE_AGENT"]
PROV = os.environ["SLUICE_PROVISION"]
MK = os.environ["CP_MAKE_BUNDLE"]
PASS = "enroll-integration-passphrase\n"


def run(*args, code=0, stdin=None):
    p = subprocess.run(args, capture_output=True, text=True, input=stdin)
    if code is not None and p.returncode != code:
        raise AssertionError(f"{args}: exit {p.returncode} != {code}\n{p.stdout}{p.stderr}")
    return p


def prov(*args):
    r, w = os.pipe()
    os.write(w, PASS.encode())
    os.close(w)
    try:
        p = subprocess.run([PROV, *args, "--passphrase-fd", str(r)], capture_output=True,
                           text=True, pass_fds=(r,))
    finally:
        os.close(r)
    if p.returncode != 0:
        raise AssertionError(f"sluice-provision {args}: {p.returncode}\n{p.stdout}{p.stderr}")
    return p


def der_sha256(pem_path):
    der = ssl.PEM_cert_to_DER_cert(open(pem_path).read())
    return hashlib.sha256(der).hexdigest()


class Env:
    def __init__(self, root):
        self.root = root
        self.pki = os.path.join(root, "pki")
        self.state = os.path.join(root, "state")
        self.tls = os.path.join(self.state, "tls")
        self.n_agents = 0

    def cp(self, *args, code=0):
        verb, rest = args[0], args[1:]
        return run(CP, verb, "--dir", self.state, *rest, code=code)

    def token(self, *args):
        return self.cp("enroll-token", "create", *args).stdout.strip()

    def agent_dir(self):
        self.n_agents += 1
        return os.path.join(self.root, f"agent{self.n_agents}")

    def enroll(self, state_dir, token, *args, code=0):
        return run(AGENT, "--config", os.path.join(self.root, "none.conf"), "--state-dir",
                   state_dir, "enroll", "--url", self.url, "--token-file", "-", *args,
                   code=code, stdin=token + "\n")

    def audit(self):
        return self.cp("audit", "--json", "export").stdout


def setup(env, t):
    prov("ca", "init", "--dir", env.pki, "--kdf", "interactive", "--name", "enrolltest")
    out_tls = os.path.join(env.root, "tls-out")
    prov("server-cert", "--dir", env.pki, "--dns", "localhost", "--ip", "127.0.0.1", "--out",
         out_tls)
    enroll_out = os.path.join(env.root, "enroll-out")
    prov("ca", "enrollment-ca", "--dir", env.pki, "--out", enroll_out)
    env.cp("init")
    keys, root = os.path.join(env.root, "keys.hex"), os.path.join(env.root, "root.json")
    run(MK, "keys", keys)
    run(MK, "root", keys, env.state, root)
    env.cp("root-import", root)
    bundle = os.path.join(env.root, "b1")
    run(MK, "bundle", keys, bundle, "2026.11.1", "1", "images/rootfs.img=image one")
    env.cp("publish", bundle)
    # device-ca.pem from server-cert holds the device CA only: serve adds the enrollment CA.
    for name in ("server.crt", "server.key", "device-ca.pem", "crl.pem"):
        shutil.copyfile(os.path.join(out_tls, name), os.path.join(env.tls, name))
    shutil.copyfile(os.path.join(env.pki, "server-ca.crt"), os.path.join(env.tls, "server-ca.pem"))
    env.server_fp = der_sha256(os.path.join(env.pki, "server-ca.crt"))

    p = env.cp("enroll-token", "create", "--ttl", "15m", code=2)
    t.check("CP_E_STATE" in p.stderr and "enroll-ca" in p.stderr,
            "no token without an enrollment CA")
    p = env.cp("enroll-token", "create", "--ttl", "0s", code=1)
    t.check(len(p.stderr.strip().splitlines()) == 1, "--ttl 0s is a usage error")
    env.cp("enroll-ca", "import", "--cert", os.path.join(enroll_out, "enrollment-ca.crt"),
           "--key", os.path.join(enroll_out, "enrollment-ca.key"))
    mode = stat.S_IMODE(os.stat(os.path.join(env.tls, "enroll-ca.key")).st_mode)
    t.check(mode == 0o600, f"enroll-ca.key is 0600 ({oct(mode)})")
    t.check(os.path.exists(os.path.join(env.tls, "enroll-crl.pem")), "enroll-crl.pem written")
    env.cp("enroll-ca", "import", "--cert", os.path.join(enroll_out, "enrollment-ca.crt"),
           "--key", os.path.join(enroll_out, "enrollment-ca.key"), code=2)

    # A device provisioned from media (device CA) next to the enrolled ones.
    media = os.path.join(env.root, "media")
    prov("device", "--dir", env.pki, "--id", "dev-media", "--hardware", "board-a",
         "--controlplane", "https://localhost:1", "--root", root, "--out", media)
    approve = os.path.join(env.root, "approve.jsonl")
    subprocess.run([PROV, "export", "--dir", env.pki, "--out", approve], check=True,
                   capture_output=True)
    env.cp("devices", "approve", "--from", approve)
    env.media = media


def tuf_refresh(env, ident, code=0):
    md = os.path.join(env.root, f"tuf-{os.path.basename(os.path.dirname(ident))}")
    shutil.rmtree(md, ignore_errors=True)
    os.makedirs(md)
    run(TUF, "--metadata-dir", md, "init", os.path.join(ident, "root.json"))
    p = run(TUF, "--metadata-dir", md, "--metadata-url", env.url + "/tuf/metadata/",
            "--ca-file", os.path.join(ident, "ca.pem"), "--cert", os.path.join(ident, "device.crt"),
            "--key", os.path.join(ident, "device.key"), "refresh", code=code)
    return p, md


def post_enroll(env, body, cert=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(env.pki, "server-ca.crt"))
    if cert:
        ctx.load_cert_chain(*cert)
    srv = type("S", (), {"port": env.port})
    return L.request(srv, ctx, "POST", "/v1/enroll", body=body)


def make_csr(env, name, cn):
    key, csr = os.path.join(env.root, name + ".key"), os.path.join(env.root, name + ".csr")
    run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
    run("openssl", "req", "-new", "-key", key, "-subj", "/CN=" + cn, "-out", csr)
    return open(csr).read()


def scenarios(env, t, srv):
    env.port = srv.port
    env.url = f"https://localhost:{srv.port}"
    t.check("token enrollment on" in srv.output(), "serve reports token enrollment on")
    nocert = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    nocert.load_verify_locations(os.path.join(env.pki, "server-ca.crt"))
    audit_before = env.audit()
    for method, path in (("GET", "/tuf/metadata/timestamp.json"), ("GET", "/tuf/targets/x"),
                         ("POST", "/v1/checkin"), ("POST", "/v1/events"),
                         ("GET", "/v1/enroll"), ("GET", "/tuf/metadata/../../controlplane.db")):
        st, _, _ = L.request(srv, nocert, method, path, body=b"{}" if method == "POST" else None)
        t.check(st in (403, 405) if path == "/v1/enroll" else st == 403,
                f"no client certificate: {method} {path} refused ({st})")
    t.check(env.audit() == audit_before, "anonymous refusals write nothing to the database")
    # The CA chain the server sends lets a client that trusts only the server CA connect.
    def refused(ctx):
        try:
            L.request(srv, ctx, "GET", "/tuf/metadata/timestamp.json")
            return False
        except (ssl.SSLError, ConnectionError, OSError):
            return True
    bad = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    bad.load_verify_locations(os.path.join(env.pki, "server-ca.crt"))
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", os.path.join(env.root, "rogue.key"), "-subj", "/CN=dev-rogue",
        "-addext", "extendedKeyUsage=clientAuth", "-days", "30",
        "-out", os.path.join(env.root, "rogue.crt"))
    bad.load_cert_chain(os.path.join(env.root, "rogue.crt"), os.path.join(env.root, "rogue.key"))
    t.check(refused(bad), "a certificate from another CA still fails the handshake")
    media = (os.path.join(env.media, "device.crt"), os.path.join(env.media, "device.key"))
    mctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    mctx.load_verify_locations(os.path.join(env.pki, "server-ca.crt"))
    mctx.load_cert_chain(*media)
    st, _, _ = L.request(srv, mctx, "GET", "/tuf/metadata/timestamp.json")
    t.check(st == 200, f"a device-CA device still works next to the enrollment CA ({st})")

    # The good path.
    tok = env.token("--ttl", "15m", "--hardware", "board-a")
    t.check(tok.startswith("sl1.") and tok.endswith("." + env.server_fp) and len(tok) == 112,
            "token is sl1.<secret>.<server CA fingerprint>")
    t.check(tok.split(".")[1] not in open(os.path.join(env.state, "controlplane.db"), "rb")
            .read().decode("latin-1"), "the token secret is not stored")
    a1 = env.agent_dir()
    p = env.enroll(a1, tok, "--id", "dev-e1", "--hardware", "board-a")
    t.check("enrolled as dev-e1" in p.stdout, "sluice-agent enroll succeeds")
    ident = os.path.join(a1, "identity")
    t.check(sorted(os.listdir(ident)) == ["agent.conf", "ca.pem", "device.crt", "device.key",
                                          "generation", "root.json"], "identity files written")
    t.check(stat.S_IMODE(os.stat(os.path.join(ident, "device.key")).st_mode) == 0o600,
            "device.key is 0600")
    t.check(stat.S_IMODE(os.stat(ident).st_mode) == 0o700, "identity/ is 0700")
    chain = os.path.join(env.root, "chain.pem")
    with open(chain, "w") as f:
        f.write(open(os.path.join(env.pki, "device-ca.crt")).read())
        f.write(open(os.path.join(env.pki, "enrollment-ca.crt")).read())
    p = run("openssl", "verify", "-purpose", "sslclient", "-CAfile", chain,
            os.path.join(ident, "device.crt"), code=None)
    t.check(p.returncode == 0, "the certificate chains to the enrollment CA, clientAuth")
    p = run(AGENT, "--config", os.path.join(env.root, "none.conf"), "--state-dir", a1, "status",
            "--json")
    t.check('"dev-e1"' in p.stdout, "sluice-agent status shows the enrolled id")
    p, md = tuf_refresh(env, ident)
    t.check(os.path.exists(os.path.join(md, "timestamp.json")),
            "the enrolled identity reaches /tuf/metadata/timestamp.json over mTLS (sluice-tuf)")
    p = env.enroll(a1, env.token("--ttl", "15m"), "--id", "dev-e1b", "--hardware", "board-a",
                   code=1)
    t.check("CP_E_CONFLICT" in p.stderr or "provisioned already" in p.stderr,
            "re-enrolling without --force is refused")

    # Refusals.
    a2 = env.agent_dir()
    p = env.enroll(a2, tok, "--id", "dev-e2", "--hardware", "board-a", code=1)
    t.check("refused the token" in p.stderr and not os.path.exists(os.path.join(a2, "identity")),
            "a used token is refused, nothing written")
    short = env.token("--ttl", "1s")
    time.sleep(2.2)
    p = env.enroll(a2, short, "--id", "dev-e2", "--hardware", "board-a", code=1)
    t.check("refused the token" in p.stderr, "an expired token is refused")
    forged = "sl1." + "A" * 43 + "." + env.server_fp
    p = env.enroll(a2, forged, "--id", "dev-e2", "--hardware", "board-a", code=1)
    t.check("refused the token" in p.stderr, "a forged token (random secret) is refused")
    bound_hw = env.token("--ttl", "15m", "--hardware", "board-b")
    p = env.enroll(a2, bound_hw, "--id", "dev-e2", "--hardware", "board-a", code=1)
    t.check("refused the token" in p.stderr, "a token bound to other hardware is refused")
    revoked = env.token("--ttl", "15m")
    tid = json.loads(env.cp("enroll-token", "--json", "list").stdout)[-1]["id"]
    env.cp("enroll-token", "revoke", str(tid))
    p = env.enroll(a2, revoked, "--id", "dev-e2", "--hardware", "board-a", code=1)
    t.check("refused the token" in p.stderr, "a revoked token is refused")
    dup = env.token("--ttl", "15m")
    p = env.enroll(a2, dup, "--id", "dev-e1", "--hardware", "board-a", code=1)
    t.check("device id already" in p.stderr, "an existing device id is refused (409)")
    p = env.enroll(a2, dup, "--id", "dev-media", "--hardware", "board-a", code=1)
    t.check("device id already" in p.stderr, "a media-provisioned device id is refused (409)")

    # A real secret with a wrong fingerprint: the agent does not talk to the server at all.
    real = env.token("--ttl", "15m")
    audit_before = env.audit()
    wrong = real[:-64] + hashlib.sha256(b"another CA").hexdigest()
    p = env.enroll(a2, wrong, "--id", "dev-e2", "--hardware", "board-a", code=1)
    t.check("did not present the CA" in p.stderr, "wrong fingerprint: the agent refuses the server")
    t.check(env.audit() == audit_before, "wrong fingerprint: the server saw no request")
    p = env.enroll(a2, real, "--id", "dev-e2", "--hardware", "board-a")
    t.check("enrolled as dev-e2" in p.stdout,
            "that token was never sent: it still works with the right fingerprint")
    p = env.enroll(env.agent_dir(), dup, "--id", "dev-e3", "--hardware", "board-a")
    t.check("enrolled as dev-e3" in p.stdout, "refusals for an existing id did not use the token")

    # A token bound to an id grants that id, whatever the device asked for.
    a4 = env.agent_dir()
    p = env.enroll(a4, env.token("--ttl", "15m", "--id", "dev-bound"), "--id", "whatever",
                   "--hardware", "board-c")
    t.check("enrolled as dev-bound" in p.stdout, "a bound id is granted")
    p, _ = tuf_refresh(env, os.path.join(a4, "identity"))
    t.check(p.returncode == 0, "the bound identity reaches the repository")

    # Raw requests: malformed bodies, CSR checks, concurrency.
    st, _, body = post_enroll(env, b"{not json")
    t.check(st == 400, f"malformed body: 400 ({st})")
    conc = env.token("--ttl", "15m")
    st, _, body = post_enroll(env, json.dumps({"token": conc, "csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "hardware": "h"}).encode())
    t.check(st == 400 and b"csr" in body, f"garbage CSR: 400 ({st} {body!r})")
    csrs = [make_csr(env, f"c{i}", f"dev-c{i}") for i in range(8)]
    bodies = [json.dumps({"token": conc, "csr": c, "hardware": "board-a"}).encode() for c in csrs]
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        sts = [r[0] for r in ex.map(lambda b: post_enroll(env, b), bodies)]
    t.check(sorted(sts) == [200] + [403] * 7, f"one token, 8 concurrent uses: one 200 ({sts})")
    st, _, b403 = post_enroll(env, bodies[0])
    st2, _, b403f = post_enroll(env, json.dumps({"token": forged, "csr": csrs[0],
                                                "hardware": "board-a"}).encode())
    t.check(st == st2 == 403 and b403 == b403f, "used and forged tokens get the same answer")
    rsa_key = os.path.join(env.root, "rsa.key")
    run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
        rsa_key)
    rsa_csr = run("openssl", "req", "-new", "-key", rsa_key, "-subj", "/CN=dev-rsa").stdout
    st, _, body = post_enroll(env, json.dumps({"token": env.token("--ttl", "15m"), "csr": rsa_csr,
                                               "hardware": "board-a"}).encode())
    t.check(st == 400 and b"P-256" in body, f"an RSA CSR is refused ({st})")

    # Decommissioning works for enrolled devices too.
    env.cp("devices", "decommission", "dev-e2")
    p, _ = tuf_refresh(env, os.path.join(a2, "identity"), code=None)
    t.check(p.returncode != 0, "a decommissioned enrolled device is refused")

    # The audit trail.
    rows = json.loads(env.audit())
    actions = [r["action"] for r in rows]
    details = "\n".join(r["detail"] for r in rows)
    t.check(actions.count("enroll") == 5, f"every enrollment audited ({actions.count('enroll')})")
    for what in ("token was used already", "token expired", "no such token", "bound to hardware",
                 "token was revoked", "exists already", "csr:"):
        t.check(what in details, f"audited refusal: {what}")
    t.check(actions.count("enroll-token-create") >= 10, "every token creation audited")
    t.check("enroll-token-revoke" in actions and "enroll-ca-import" in actions,
            "revocation and CA import audited")
    t.check(env.cp("audit", "verify").returncode == 0, "audit chain intact")
    lst = json.loads(env.cp("enroll-token", "--json", "list").stdout)
    states = {r["state"] for r in lst}
    t.check({"used", "expired", "revoked", "active"} <= states, f"token list states ({states})")


def main():
    if not shutil.which("openssl"):
        L.skip("the openssl command line tool is not installed")
    root = L.tmpdir()
    t = L.Checks()
    env = Env(root)
    with open(os.path.join(root, "none.conf"), "w") as f:
        f.write("# sluice-agent configuration of the enrollment test: defaults only\n")
    setup(env, t)
    srv = L.Server(CP, env.state)
    try:
        scenarios(env, t, srv)
    finally:
        srv.stop()
    print(f"1..{t.n}")
    if t.failed:
        print(srv.output()[-4000:])
        return 1
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
