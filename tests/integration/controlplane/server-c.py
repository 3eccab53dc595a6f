#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Control plane scenarios (C) against `sluice-controlplane serve` on loopback: slow headers,
slow bodies, non-reading and silent clients cut off by timeouts; oversized request lines,
headers and bodies refused; the per-client connection cap; a flood of bad handshakes that
does not starve a good device; Range, keep-alive, pipelining, HEAD; path traversal; the
loopback-only metrics listener; draining on SIGTERM."""
import importlib.util
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

spec = importlib.util.spec_from_file_location(
    "serverlib", os.path.join(os.path.dirname(os.path.abspath(__file__)), "server-lib.py"))
L = importlib.util.module_from_spec(spec)
spec.loader.exec_module(L)

TIMEOUTS = ["--handshake-timeout-ms", "1000", "--header-timeout-ms", "1000",
            "--body-timeout-ms", "1000", "--idle-timeout-ms", "2000", "--write-timeout-ms", "1000",
            "--max-conns-per-ip", "8"]


def raw_request(method, path, headers=(), body=b""):
    h = "".join(f"{k}: {v}\r\n" for k, v in headers)
    return f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n{h}\r\n".encode() + body


def timeouts(t, srv, ctx):
    s = L.connect(srv, ctx)
    s.sendall(b"GET /tuf/metadata/timestamp.json HTTP/1.1\r\n")
    stop = threading.Event()

    def drip():
        while not stop.is_set():
            try:
                s.sendall(b"X-Slow: 1\r\n")
            except OSError:
                return
            time.sleep(0.2)
    th = threading.Thread(target=drip)
    th.start()
    d = L.closed_within(s, 4)
    stop.set()
    th.join()
    s.close()
    t.check(d is not None and d < 2.5, f"slow headers (a header every 0.2 s) cut off ({d})")

    s = L.connect(srv, ctx)
    s.sendall(raw_request("POST", "/v1/checkin", [("Content-Length", "100")], b"{\"release\""))
    d = L.closed_within(s, 4)
    s.close()
    t.check(d is not None and d < 2.5, f"slow body cut off ({d})")

    s = L.connect(srv, ctx)
    d = L.closed_within(s, 5)
    s.close()
    t.check(d is not None and 1.5 < d < 3.5, f"idle keep-alive connection closed ({d})")

    raw = socket.create_connection(("127.0.0.1", srv.port))
    d = L.closed_within(raw, 4)
    raw.close()
    t.check(d is not None and d < 2.5, f"silent TCP client (no ClientHello) cut off ({d})")

    before = L.metrics(srv).get('sluice_cp_timeouts_total{kind="write"}', 0)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", srv.port))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.sendall(raw_request("GET", "/tuf/targets/images/abc.big.bin"))
    deadline = time.time() + 6
    after = before
    while time.time() < deadline and after == before:
        time.sleep(0.2)
        after = L.metrics(srv).get('sluice_cp_timeouts_total{kind="write"}', 0)
    s.close()
    t.check(after == before + 1, "non-reading client cut off by the write timeout")


def caps(t, srv, ctx):
    s = L.connect(srv, ctx)
    s.sendall(raw_request("GET", "/tuf/metadata/" + "a" * 9000))
    st, h, _ = L.read_response(s)
    t.check(st == 414 and h.get("connection") == "close", f"request line over 8 KiB: {st}")
    t.check(L.closed_within(s, 3) is not None, "... and the connection is closed")
    s.close()

    s = L.connect(srv, ctx)
    s.sendall(raw_request("GET", "/tuf/metadata/timestamp.json", [("X-Big", "b" * 17000)]))
    st, _, _ = L.read_response(s)
    t.check(st == 431 and L.closed_within(s, 3) is not None, f"headers over 16 KiB: {st}, closed")
    s.close()

    s = L.connect(srv, ctx)
    s.sendall(raw_request("GET", "/tuf/metadata/timestamp.json",
                          [(f"X-H{i}", "v") for i in range(65)]))
    st, _, _ = L.read_response(s)
    t.check(st == 431, f"65 header lines: {st}")
    s.close()

    s = L.connect(srv, ctx)
    s.sendall(raw_request("POST", "/v1/checkin", [("Content-Length", "16385")]))
    st, _, _ = L.read_response(s)
    t.check(st == 413 and L.closed_within(s, 3) is not None, f"checkin body over 16 KiB: {st}")
    s.close()

    s = L.connect(srv, ctx)
    s.sendall(raw_request("POST", "/v1/events", [("Transfer-Encoding", "chunked")]) +
              b"%x\r\n" % (262145) + b"x" * 262145 + b"\r\n0\r\n\r\n")
    st, _, _ = L.read_response(s)
    t.check(st == 413, f"chunked events body over 256 KiB: {st}")
    s.close()


def connection_cap(t, srv, ctx):
    held = [L.connect(srv, ctx) for _ in range(8)]
    for s in held:
        s.sendall(raw_request("GET", "/tuf/metadata/timestamp.json"))
        L.read_response(s)
    try:
        extra = L.connect(srv, ctx)
        extra.sendall(raw_request("GET", "/tuf/metadata/timestamp.json"))
        L.read_response(extra)
        ok = False
    except (ssl.SSLError, ConnectionError, OSError):
        ok = True
    t.check(ok, "9th connection from one client address refused (cap 8)")
    held.pop().close()
    got = None
    for _ in range(20):
        try:
            got = L.request(srv, ctx, "GET", "/tuf/metadata/timestamp.json")[0]
            break
        except (ssl.SSLError, ConnectionError, OSError):
            time.sleep(0.05)
    t.check(got == 200, "after one closes, a new connection is accepted")
    for s in held:
        s.close()
    m = L.metrics(srv)
    t.check(m.get("sluice_cp_connections_rejected_total", 0) >= 1, "rejections are counted")


def flood(t, srv, ctx, pki):
    """Bad handshakes from 127.0.0.2 while the good device (127.0.0.1) polls timestamp.json."""
    stop = threading.Event()
    nocert = L.client_context(pki)
    counts = {"attempts": 0}

    def attacker(kind):
        while not stop.is_set():
            try:
                raw = socket.socket()
                raw.bind(("127.0.0.2", 0))
                raw.settimeout(3)
                raw.connect(("127.0.0.1", srv.port))
                counts["attempts"] += 1
                if kind == "garbage":
                    raw.sendall(b"\x16\x03\x01\x02\x00" + os.urandom(512))
                    raw.recv(100)
                elif kind == "nocert":
                    s = nocert.wrap_socket(raw, server_hostname="localhost")
                    s.sendall(b"GET / HTTP/1.1\r\n\r\n")
                    s.recv(100)
                else:
                    raw.recv(100)  # silent: holds a slot until the handshake timeout
                raw.close()
            except (OSError, ssl.SSLError):
                pass
    threads = [threading.Thread(target=attacker, args=(k,))
               for k in ("garbage", "garbage", "nocert", "nocert", "silent", "silent", "silent")]
    for th in threads:
        th.start()
    time.sleep(0.5)
    worst, fails = 0.0, 0
    for _ in range(20):
        t0 = time.time()
        try:
            st = L.request(srv, ctx, "GET", "/tuf/metadata/timestamp.json")[0]
            if st != 200:
                fails += 1
        except (OSError, ssl.SSLError):
            fails += 1
        worst = max(worst, time.time() - t0)
        time.sleep(0.1)
    stop.set()
    for th in threads:
        th.join()
    t.check(fails == 0 and worst < 1.5,
            f"good device served during a flood of {counts['attempts']} bad handshakes "
            f"(failures {fails}, worst {worst:.3f} s)")
    m = L.metrics(srv)
    t.check(m.get("sluice_cp_tls_handshake_failures_total", 0) > 0 and
            m.get("sluice_cp_connections_rejected_total", 0) > 0,
            "the flood shows as handshake failures and cap rejections in /metrics")


def ranges(t, srv, ctx, big):
    p = "/tuf/targets/images/abc.big.bin"
    n = len(big)
    st, h, body = L.request(srv, ctx, "GET", p)
    t.check(st == 200 and body == big and h.get("accept-ranges") == "bytes",
            f"whole large target ({n} bytes, many chunks) byte-exact")
    st, h, body = L.request(srv, ctx, "GET", p, headers={"Range": "bytes=100-199"})
    t.check(st == 206 and body == big[100:200] and h["content-range"] == f"bytes 100-199/{n}",
            "Range bytes=a-b: 206 with Content-Range")
    st, h, body = L.request(srv, ctx, "GET", p, headers={"Range": "bytes=65530-300000"})
    t.check(st == 206 and body == big[65530:300001], "Range across chunk boundaries byte-exact")
    st, h, body = L.request(srv, ctx, "GET", p, headers={"Range": f"bytes={n - 1000}-"})
    t.check(st == 206 and body == big[n - 1000:], "Range bytes=a-")
    st, h, body = L.request(srv, ctx, "GET", p, headers={"Range": "bytes=-777"})
    t.check(st == 206 and body == big[-777:] and h["content-range"] == f"bytes {n - 777}-{n - 1}/{n}",
            "Range bytes=-n")
    st, h, body = L.request(srv, ctx, "GET", p, headers={"Range": f"bytes={n}-"})
    t.check(st == 416 and h.get("content-range") == f"bytes */{n}", "unsatisfiable Range: 416")
    st, h, body = L.request(srv, ctx, "GET", p, headers={"Range": "bytes=0-1,5-6"})
    t.check(st == 200 and body == big, "several ranges: the whole target (200)")
    st, h, body = L.request(srv, ctx, "GET", "/tuf/metadata/timestamp.json",
                            headers={"Range": "bytes=0-9"})
    t.check(st == 206 and len(body) == 10, "Range on (cached) metadata")
    st, h, body = L.request(srv, ctx, "HEAD", p)
    t.check(st == 200 and int(h["content-length"]) == n and body == b"", "HEAD: length, no body")


def keepalive(t, srv, ctx, files, big):
    s = L.connect(srv, ctx)
    ok = True
    for i in range(5):
        s.sendall(raw_request("GET", "/tuf/metadata/timestamp.json"))
        st, h, body = L.read_response(s)
        ok = ok and st == 200 and body == files["timestamp.json"] and h["connection"] == "keep-alive"
        s.sendall(raw_request("GET", "/tuf/targets/images/abc.big.bin", [("Range", "bytes=0-99999")]))
        st, h, body = L.read_response(s)
        ok = ok and st == 206 and body == big[:100000]
    t.check(ok, "keep-alive: 10 requests on one connection")
    s.sendall(raw_request("GET", "/tuf/metadata/timestamp.json") +
              raw_request("GET", "/tuf/metadata/1.root.json") +
              raw_request("GET", "/tuf/metadata/missing.json"))
    got = []
    leftover = b""
    for _ in range(3):
        if leftover:
            class Pre:
                def __init__(self, sock, pre):
                    self.sock, self.pre = sock, pre

                def recv(self, n):
                    if self.pre:
                        d, self.pre = self.pre, b""
                        return d
                    return self.sock.recv(n)
            r = Pre(s, leftover)
            st, _, body = L.read_response(r)
            leftover = r._leftover
        else:
            st, _, body = L.read_response(s)
            leftover = s._leftover
        got.append((st, body))
    t.check([g[0] for g in got] == [200, 200, 404] and got[1][1] == files["1.root.json"],
            f"pipelined requests answered in order ({[g[0] for g in got]})")
    s.close()


def paths(t, srv, ctx):
    for path, want in (("/tuf/targets/../state/tls/server.key", 400),
                       ("/tuf/targets/%2e%2e/%2e%2e/etc/passwd", 400),
                       ("/tuf/targets/images/..%2F..%2Fx", 400),
                       ("/tuf/targets//etc/passwd", 400),
                       ("/tuf/metadata/..%2Fkeys%2Ftimestamp.key", 400),
                       ("/tuf/targets/a%00b", 400),
                       ("/tuf/targets/link.bin", 404),
                       ("/tuf/targets/images", 404),
                       ("/tuf/metadata/nope.json", 404),
                       ("/metrics", 404),
                       ("/", 404)):
        st = L.request(srv, ctx, "GET", path)[0]
        t.check(st == want, f"GET {path}: {st} (want {want})")
    t.check(L.request(srv, ctx, "DELETE", "/tuf/metadata/timestamp.json")[0] == 405,
            "DELETE on metadata: 405")
    t.check(L.request(srv, ctx, "GET", "/v1/checkin")[0] == 405, "GET on /v1/checkin: 405")


def metrics_listener(t, binary, state, srv):
    m = L.metrics(srv)
    t.check(m.get('sluice_cp_requests_total{endpoint="metadata",status="200"}', 0) > 0,
            "metrics count requests by endpoint and status")
    t.check("sluice_cp_repo_generation" in m and "sluice_cp_open_connections" in m,
            "metrics have the repository generation and open connections")
    r = subprocess.run([binary, "serve", "--dir", state, "--listen", "127.0.0.1:0",
                        "--metrics", "0.0.0.0:0"], capture_output=True, text=True, timeout=30)
    t.check(r.returncode == 1 and "loopback" in r.stderr + r.stdout,
            "--metrics on a non-loopback address is refused")


def drain(t, srv, ctx, big):
    s = L.connect(srv, ctx)
    s.sendall(raw_request("GET", "/tuf/targets/images/abc.big.bin"))
    first = s.recv(1000)
    srv.signal(signal.SIGTERM)
    time.sleep(0.3)
    refused_new = False
    try:
        L.request(srv, ctx, "GET", "/tuf/metadata/timestamp.json")
    except (OSError, ssl.SSLError):
        refused_new = True
    data = first
    s.settimeout(10)
    while True:
        try:
            c = s.recv(1 << 20)
        except (OSError, ssl.SSLError):
            break
        if not c:
            break
        data += c
    body = data.split(b"\r\n\r\n", 1)[1]
    t.check(body == big, "SIGTERM: the download in flight completes")
    t.check(refused_new, "SIGTERM: new connections are refused")
    rc = srv.proc.wait(timeout=20)
    t.check(rc == 0, f"SIGTERM: exit 0 ({rc})")


def main():
    binary = sys.argv[1]
    L.need_tools()
    root = L.tmpdir()
    t = L.Checks()
    pki = L.PKI(os.path.join(root, "pki"))
    good = pki.device("dev-good")
    state, files, big = L.make_state(binary, root, pki, ["dev-good"])
    srv = L.Server(binary, state, *TIMEOUTS)
    ctx = L.client_context(pki, *good)
    try:
        timeouts(t, srv, ctx)
        caps(t, srv, ctx)
        connection_cap(t, srv, ctx)
        flood(t, srv, ctx, pki)
        ranges(t, srv, ctx, big)
        keepalive(t, srv, ctx, files, big)
        paths(t, srv, ctx)
        metrics_listener(t, binary, state, srv)
        drain(t, srv, ctx, big)
    finally:
        srv.stop()
    r = t.done()
    if r:
        print(srv.output())
    shutil.rmtree(root, ignore_errors=True)
    return r


if __name__ == "__main__":
    sys.exit(main())
