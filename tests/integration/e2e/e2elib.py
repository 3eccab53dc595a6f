# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of the end-to-end tests: only the real binaries (sluice-provision,
sluice-controlplane, sluice-ceremony, sluice-agent, sluice-tuf), wired together the way
docs/ceremony.md, docs/controlplane.md and docs/provisioning.md tell an operator to.

A World is one fleet: a provisioning PKI, a control plane state directory with the PKI's TLS
files, a key ceremony (3 root keys threshold 2, one targets key, the control plane's online
keys), the imported first root, release bundles, device media and a running server."""
import hashlib
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
PASS = "e2e-passphrase"


class Failure(Exception):
    pass


def run(args, stdin=None, cwd=None, ok=True, timeout=120):
    """Run a command; with ok=True it must exit 0. Returns the CompletedProcess."""
    p = subprocess.run([str(a) for a in args], input=stdin, capture_output=True, text=True,
                       cwd=cwd, timeout=timeout)
    if ok and p.returncode != 0:
        raise Failure(f"{' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


def tree_hash(top):
    """SHA-256 over every path, mode and content below top (symlinks by target)."""
    h = hashlib.sha256()
    for dp, dns, fns in os.walk(top):
        dns.sort()
        for name in sorted(fns):
            p = os.path.join(dp, name)
            st = os.lstat(p)
            h.update(os.path.relpath(p, top).encode() + b"\0" + oct(st.st_mode).encode())
            if os.path.islink(p):
                h.update(os.readlink(p).encode())
            else:
                with open(p, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()


class Checks:
    """TAP-like check list; done() gives the exit status."""

    def __init__(self):
        self.n = 0
        self.failed = []

    def check(self, cond, what, detail=""):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {what}", flush=True)
        else:
            self.failed.append(what)
            print(f"not ok {self.n} - {what}" + (f"\n    {detail}" if detail else ""), flush=True)
        return bool(cond)

    def done(self):
        print(f"{self.n - len(self.failed)}/{self.n} checks passed")
        for f in self.failed:
            print(f"FAILED: {f}")
        return 1 if self.failed else 0


class Server:
    """sluice-controlplane serve on 127.0.0.1 with kernel-chosen ports; the port is read from
    the start-up line 'mTLS on 127.0.0.1:PORT'."""

    def __init__(self, binary, state, logpath, *extra, env=None):
        self.logpath = logpath
        self.log = open(logpath, "w+")
        self.proc = subprocess.Popen(
            [binary, "serve", "--dir", state, "--listen", "127.0.0.1:0", "--metrics",
             "127.0.0.1:0", "--threads", "2", "--renew-interval-s", "3600", *extra],
            stdout=self.log, stderr=subprocess.STDOUT,
            env=dict(os.environ, **(env or {})))
        deadline = time.time() + 30
        while time.time() < deadline:
            m = re.search(r"mTLS on 127\.0\.0\.1:(\d+)", self.output())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                raise Failure("serve exited at start-up:\n" + self.output())
            time.sleep(0.05)
        self.proc.kill()
        raise Failure("serve did not print its listener line:\n" + self.output())

    def output(self):
        self.log.flush()
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def wait_for(self, text, after=0, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.output()[after:]:
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return "killed after SIGTERM timeout"
        return self.proc.returncode


class World:
    def __init__(self, bins, tmp):
        self.b = bins
        self.tmp = tmp
        self.pki = os.path.join(tmp, "pki")
        self.state = os.path.join(tmp, "state")
        self.cer = os.path.join(tmp, "ceremony")
        self.server = None
        self.bundles = []
        os.makedirs(self.cer)

    # -- provisioning station --
    def prov(self, *args, ok=True):
        return run([self.b["provision"], *args, "--dir", self.pki, "--passphrase-fd", "0"],
                   stdin=PASS + "\n", ok=ok)

    def prov_nopw(self, *args, ok=True):
        return run([self.b["provision"], *args, "--dir", self.pki], ok=ok)

    # -- control plane --
    def cp(self, *args, ok=True):
        return run([self.b["controlplane"], *args, "--dir", self.state], ok=ok)

    def ceremony(self, *args, stdin=None, ok=True):
        return run([self.b["ceremony"], *args], stdin=stdin, cwd=self.cer, ok=ok)

    def setup(self):
        """PKI, control plane state with its TLS files, the key ceremony, root-import."""
        self.prov("ca", "init", "--kdf", "interactive", "--name", "e2e")
        self.cp("init")
        self.prov("server-cert", "--dns", "localhost", "--ip", "127.0.0.1", "--out",
                  os.path.join(self.state, "tls"))
        for name, role in (("root-a", "root"), ("root-b", "root"), ("root-c", "root"),
                           ("targets-d", "targets")):
            self.ceremony("keygen", "--role", role, "--out", f"{name}.key", "--kdf",
                          "interactive", "--allow-network", "--passphrase-fd", "0",
                          stdin=f"pw-{name}\n")
            self.ceremony("pubkey", f"{name}.key", "--out", f"{name}.pub")
        self.ceremony("root", "init", "--root-key", "root-a.pub", "--root-key", "root-b.pub",
                      "--root-key", "root-c.pub", "--targets-key", "targets-d.pub",
                      "--online-keys", os.path.join(self.state, "online-keys.json"),
                      "--root-threshold", "2", "--targets-threshold", "1", "--expires-days",
                      "365", "--out", "1.root.json")
        self.root = os.path.join(self.cer, "1.root.json")
        # one signature is not enough: root check must say so
        self.ceremony("sign", "1.root.json", "--key", "root-a.key", "--passphrase-fd", "0",
                      stdin="pw-root-a\n")
        self.root_check_one = self.ceremony("root", "check", "1.root.json", ok=False)
        self.ceremony("sign", "1.root.json", "--key", "root-c.key", "--passphrase-fd", "0",
                      stdin="pw-root-c\n")
        self.ceremony("root", "check", "1.root.json")
        self.cp("root-import", self.root)

    def release(self, name, artifacts, prev=None):
        """A bundle from sluice-ceremony release. artifacts: {target path: bytes}."""
        rel = os.path.join(self.cer, "rel-" + name)
        os.makedirs(rel)
        arts = []
        for i, (target, data) in enumerate(sorted(artifacts.items())):
            fn = f"art{i}.bin"
            with open(os.path.join(rel, fn), "wb") as f:
                f.write(data)
            if target.startswith("images/"):
                arts.append({"file": fn, "target": target, "kind": "image",
                             "hardware": ["board-a"], "slot_class": "rootfs"})
            else:
                arts.append({"file": fn, "target": target, "kind": "file"})
        manifest = {"sluice_manifest": 1, "release": name, "artifacts": arts}
        with open(os.path.join(rel, "release.json"), "w") as f:
            json.dump(manifest, f)
        out = os.path.join(self.cer, "bundle-" + name)
        extra = ["--previous-targets", prev] if prev else []
        self.ceremony("release", "--manifest", os.path.join(rel, "release.json"), "--root",
                      "1.root.json", "--key", "targets-d.key", "--out", out, "--passphrase-fd",
                      "0", *extra, stdin="pw-targets-d\n")
        self.bundles.append(out)
        return out

    def targets_file(self, bundle):
        md = os.path.join(bundle, "metadata")
        return os.path.join(md, [f for f in os.listdir(md) if f.endswith(".targets.json")][0])

    def publish(self, bundle, ok=True):
        return self.cp("publish", bundle, ok=ok)

    def device(self, dev_id, force=False):
        out = os.path.join(self.tmp, "media-" + dev_id)
        self.prov("device", "--id", dev_id, "--hardware", "board-a", "--controlplane",
                  "https://localhost:8443", "--root", self.root, "--out", out,
                  *(["--force"] if force else []))
        return out

    def export(self):
        """sluice-provision export: the approval file of every issued, unrevoked device."""
        exp = os.path.join(self.tmp, f"approve-{time.monotonic_ns()}.jsonl")
        self.prov_nopw("export", "--out", exp)
        return exp

    def approve_export(self):
        exp = self.export()
        return exp, self.cp("devices", "approve", "--from", exp, ok=False)

    def serve(self, *extra, env=None):
        self.server = Server(self.b["controlplane"], self.state,
                             os.path.join(self.tmp, "serve.log"), *extra, env=env)
        return self.server

    # -- devices --
    def agent_provision(self, dev_id, media):
        """sluice-agent provision MEDIA into its own state directory; returns the identity
        directory the agent wrote."""
        root = os.path.join(self.tmp, "agent-" + dev_id)
        os.makedirs(root)
        conf = os.path.join(root, "agent.conf")
        with open(conf, "w") as f:
            f.write(f"[agent]\nstate_dir = {root}/state\n")
        p = run([self.b["agent"], "--config", conf, "provision", media], ok=False)
        st = run([self.b["agent"], "--config", conf, "status", "--json"], ok=False)
        return root, p, st

    def https(self, path=""):
        return f"https://localhost:{self.server.port}/tuf/{path}"

    def tuf(self, ident, client, *args, ok=False):
        """sluice-tuf over mTLS with an identity (dict with ca, cert, key)."""
        tls = []
        if ident.get("ca"):
            tls += ["--ca-file", ident["ca"]]
        if ident.get("cert"):
            tls += ["--cert", ident["cert"], "--key", ident["key"]]
        return run([self.b["tuf"], "--metadata-dir", client, "--metadata-url",
                    self.https("metadata/"), *tls, *args], ok=ok)

    def tuf_client(self, ident, name, root=None):
        client = os.path.join(self.tmp, "client-" + name)
        os.makedirs(client)
        run([self.b["tuf"], "--metadata-dir", client, "init", root or self.root])
        return client

    def download(self, ident, client, names, outdir):
        shutil.rmtree(outdir, ignore_errors=True)
        os.makedirs(outdir)
        args = []
        for n in names:
            args += ["--target-name", n]
        return self.tuf(ident, client, *args, "--target-base-url", self.https("targets/"),
                        "--target-dir", outdir, "download")

    def wait_served(self, ident, timeout=5):
        """After a publish: the server notices a new repository generation by polling (every
        500 ms per loop). Wait until eight connections in a row (spread over the loops by
        SO_REUSEPORT) get the timestamp.json that is on disk; returns whether they did."""
        want = open(os.path.join(self.state, "repo", "metadata", "timestamp.json"), "rb").read()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(self.get(ident, "/tuf/metadata/timestamp.json") == (200, want)
                   for _ in range(8)):
                return True
            time.sleep(0.1)
        return False

    # -- raw TLS --
    def ssl_ctx(self, ident):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(ident["ca"])
        if ident.get("cert"):
            ctx.load_cert_chain(ident["cert"], ident["key"])
        return ctx

    def get(self, ident, path):
        """GET over mTLS with Connection: close. Returns (status, body) or ('refused', reason)
        when the TLS handshake or the connection fails."""
        try:
            raw = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
            s = self.ssl_ctx(ident).wrap_socket(raw, server_hostname="localhost")
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                      .encode())
            data = b""
            while True:
                c = s.recv(65536)
                if not c:
                    break
                data += c
            s.close()
        except (ssl.SSLError, OSError) as e:
            return "refused", str(e)
        if not data:
            return "refused", "closed without an answer"
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split(b" ")[1]), body


def binaries(argv, need=("provision", "controlplane", "ceremony", "agent", "tuf")):
    """argv: sluice-provision sluice-controlplane sluice-ceremony sluice-agent sluice-tuf.
    meson builds them before the test runs: one of those in need missing is a failure."""
    if len(argv) < 6:
        print("usage: SCRIPT PROVISION CONTROLPLANE CEREMONY AGENT TUF", file=sys.stderr)
        sys.exit(2)
    names = ("provision", "controlplane", "ceremony", "agent", "tuf")
    b = dict(zip(names, (os.path.abspath(a) for a in argv[1:6])))
    for n in need:
        if not os.access(b[n], os.X_OK):
            print(f"FAIL: the {n} binary {b[n]} is not there")
            sys.exit(1)
    return b


def tmpdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)
