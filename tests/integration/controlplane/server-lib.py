# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of the control plane server tests: a PKI made with the openssl CLI, a state
directory with approved devices and a small repository, the server process, mTLS clients."""
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

SKIP = 77


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r.stdout


CA_CONF = """
[ ca ]
default_ca = devca
[ devca ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/device-ca.pem
private_key = $dir/device-ca.key
default_md = sha256
default_days = 365
default_crl_days = 30
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
[ client ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
[ serveronly ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = serverAuth
[ noeku ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
[ v3ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
"""


class PKI:
    """A server CA and server certificate, a device CA run with `openssl ca` (so that it can
    revoke and publish CRLs), device certificates and an unrelated second CA."""

    def __init__(self, d):
        self.d = d
        os.makedirs(os.path.join(d, "newcerts"), exist_ok=True)
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(d, "crlnumber"), "w") as f:
            f.write("1000\n")
        self.conf = os.path.join(d, "ca.cnf")
        with open(self.conf, "w") as f:
            f.write(CA_CONF.format(dir=d))
        self._self_signed("server-ca", "sluice test server CA")
        self._self_signed("device-ca", "sluice test device CA")
        self._self_signed("other-ca", "unrelated CA")
        self._server_cert()
        self.gencrl()

    def p(self, name):
        return os.path.join(self.d, name)

    def _key(self, name):
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", self.p(name + ".key")])

    def _self_signed(self, name, cn):
        self._key(name)
        run(["openssl", "req", "-x509", "-new", "-key", self.p(name + ".key"), "-subj", "/CN=" + cn,
             "-days", "3650", "-config", self.conf, "-extensions", "v3ca", "-out", self.p(name + ".pem")])

    def _server_cert(self):
        self._key("server")
        ext = self.p("server.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                    "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n")
        run(["openssl", "req", "-new", "-key", self.p("server.key"), "-subj", "/CN=localhost",
             "-out", self.p("server.csr")])
        run(["openssl", "x509", "-req", "-in", self.p("server.csr"), "-CA", self.p("server-ca.pem"),
             "-CAkey", self.p("server-ca.key"), "-CAcreateserial", "-days", "365", "-extfile", ext,
             "-out", self.p("server.crt")])

    def device(self, name, cn=None, ext="client", start=None, end=None, ca="device-ca"):
        """Issue a device certificate name.crt/name.key; returns (crt, key)."""
        self._key(name)
        run(["openssl", "req", "-new", "-key", self.p(name + ".key"), "-subj", "/CN=" + (cn or name),
             "-out", self.p(name + ".csr")])
        if ca == "device-ca":
            cmd = ["openssl", "ca", "-batch", "-config", self.conf, "-extensions", ext, "-notext",
                   "-in", self.p(name + ".csr"), "-out", self.p(name + ".crt")]
            if start:
                cmd += ["-startdate", start]
            if end:
                cmd += ["-enddate", end]
            run(cmd)
        else:
            e = self.p(name + ".ext")
            with open(e, "w") as f:
                f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
            run(["openssl", "x509", "-req", "-in", self.p(name + ".csr"), "-CA", self.p(ca + ".pem"),
                 "-CAkey", self.p(ca + ".key"), "-CAcreateserial", "-days", "365", "-extfile", e,
                 "-out", self.p(name + ".crt")])
        return self.p(name + ".crt"), self.p(name + ".key")

    def revoke(self, name):
        run(["openssl", "ca", "-config", self.conf, "-revoke", self.p(name + ".crt")])
        self.gencrl()

    def gencrl(self):
        run(["openssl", "ca", "-config", self.conf, "-gencrl", "-out", self.p("crl.pem")])

    def install(self, state):
        tls = os.path.join(state, "tls")
        os.makedirs(tls, exist_ok=True)
        for src, dst in (("server.crt", "server.crt"), ("server.key", "server.key"),
                         ("device-ca.pem", "device-ca.pem"), ("crl.pem", "crl.pem")):
            shutil.copyfile(self.p(src), os.path.join(tls, dst))


def need_tools():
    if not shutil.which("openssl"):
        skip("the openssl command line tool is not installed")


def approve(binary, state, device_ids):
    """Register and approve devices in the state directory through the CLI."""
    for dev in device_ids:
        run([binary, "devices", "approve", "--dir", state, dev])


def make_state(binary, root, pki, devices, big_size=3 * 1024 * 1024 + 12345):
    """init a state directory, install the PKI, approve devices and put a repository in place
    (the server serves whatever files the repository directories hold)."""
    state = os.path.join(root, "state")
    run([binary, "init", "--dir", state])
    pki.install(state)
    approve(binary, state, devices)
    md = os.path.join(state, "repo", "metadata")
    tg = os.path.join(state, "repo", "targets")
    os.makedirs(md, exist_ok=True)
    os.makedirs(os.path.join(tg, "images"), exist_ok=True)
    files = {}
    ts = json.dumps({"signed": {"_type": "timestamp", "version": 7,
                                "expires": "2030-01-01T00:00:00Z",
                                "meta": {"snapshot.json": {"version": 3}}},
                     "signatures": []}).encode()
    files["timestamp.json"] = ts
    files["1.root.json"] = json.dumps({"signed": {"_type": "root", "version": 1,
                                                  "expires": "2030-01-01T00:00:00Z"},
                                       "signatures": []}).encode()
    for name, data in files.items():
        with open(os.path.join(md, name), "wb") as f:
            f.write(data)
    big = os.urandom(big_size)
    with open(os.path.join(tg, "images", "abc.big.bin"), "wb") as f:
        f.write(big)
    os.symlink("/etc/passwd", os.path.join(tg, "link.bin"))
    return state, files, big


class Server:
    """sluice-controlplane serve on 127.0.0.1 with kernel-chosen ports."""

    def __init__(self, binary, state, *extra, threads=2):
        self.log = open(os.path.join(state, "..", "serve.log"), "w+")
        self.proc = subprocess.Popen(
            [binary, "serve", "--dir", state, "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0",
             "--threads", str(threads), *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            text = self.output()
            m = re.search(r"mTLS on 127\.0\.0\.1:(\d+); .*metrics on 127\.0\.0\.1:(\d+)", text)
            if m:
                self.port, self.metrics_port = int(m.group(1)), int(m.group(2))
                return
            if self.proc.poll() is not None:
                raise RuntimeError("serve exited at start-up:\n" + text)
            time.sleep(0.05)
        raise RuntimeError("serve did not start:\n" + self.output())

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode


def client_context(pki, cert=None, key=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki.p("server-ca.pem"))
    ctx.check_hostname = True
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def connect(srv, ctx, timeout=10):
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def read_response(s, head_only=False):
    """Read one HTTP/1.1 response with a Content-Length; returns (status, headers, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response head: %r" % buf)
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for ln in lines[1:]:
        k, v = ln.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = 0 if head_only or status == 100 else int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = s.recv(1 << 20)
        if not chunk:
            raise ConnectionError("closed in a response body")
        rest += chunk
    body, extra = rest[:n], rest[n:]
    s._leftover = extra  # pipelined responses are read by the caller
    return status, headers, body


def request(srv, ctx, method, path, body=None, headers=None):
    s = connect(srv, ctx)
    try:
        h = {"Host": "localhost", "Connection": "close"}
        h.update(headers or {})
        if body is not None:
            h["Content-Length"] = str(len(body))
        raw = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
        s.sendall(raw.encode() + (body or b""))
        return read_response(s, head_only=(method == "HEAD"))
    finally:
        s.close()


def closed_within(s, seconds):
    """True when the peer closes (or resets) the connection within seconds."""
    s.settimeout(seconds)
    t0 = time.time()
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return time.time() - t0
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError) as e:
        if isinstance(e, socket.timeout):
            return None
        return time.time() - t0


def metrics(srv):
    s = socket.create_connection(("127.0.0.1", srv.metrics_port), timeout=5)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    text = data.decode()
    out = {}
    for ln in text.split("\r\n\r\n", 1)[1].splitlines():
        if ln and not ln.startswith("#"):
            k, v = ln.rsplit(" ", 1)
            out[k] = int(v)
    return out


class Checks:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, cond, what):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {what}")
        else:
            self.failed += 1
            print(f"not ok {self.n} - {what}")

    def done(self):
        print(f"{self.n - self.failed}/{self.n} checks passed")
        return 1 if self.failed else 0


def tmpdir():
    return tempfile.mkdtemp(prefix="sluice-cps-")
