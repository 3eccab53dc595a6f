#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Control plane benchmark: sluice-controlplane serve against nginx (Debian package) with the
same certificates (client certificates required) serving the same repository directory.
Measures keep-alive requests/s and p50/p99 latency for timestamp.json, new full TLS handshakes
per second, and resident memory with 10 000 open connections. Usage: run.py BUILD_DIR"""
import importlib.util
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "serverlib", os.path.join(HERE, "..", "..", "integration", "controlplane", "server-lib.py"))
L = importlib.util.module_from_spec(spec)
spec.loader.exec_module(L)

HOLD = int(os.environ.get("CPS_BENCH_HOLD", "10000"))
SECS = os.environ.get("CPS_BENCH_SECONDS", "8")

NGINX_CONF = """
worker_processes {workers};
worker_rlimit_nofile 65536;
daemon off;
master_process on;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
{user}
events {{ worker_connections 30000; multi_accept on; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  client_header_timeout 120s;
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{port} ssl reuseport;
    ssl_certificate {tls}/server.crt;
    ssl_certificate_key {tls}/server.key;
    ssl_client_certificate {tls}/device-ca.pem;
    ssl_crl {tls}/crl.pem;
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    location /tuf/metadata/ {{ alias {state}/repo/metadata/; }}
    location /tuf/targets/ {{ alias {state}/repo/targets/; }}
  }}
}}
"""


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def ensure_nginx():
    if shutil.which("nginx") or os.path.exists("/usr/sbin/nginx"):
        return "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else shutil.which("nginx")
    print("installing nginx (Debian package)...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "nginx"], check=True,
                   stdout=subprocess.DEVNULL, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return "/usr/sbin/nginx"


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            for ln in open(f"/proc/{pid}/status"):
                if ln.startswith("VmRSS:"):
                    total += int(ln.split()[1])
        except OSError:
            pass
    return total


def tree(pid):
    pids = [pid]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                    pids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return pids


def loadgen(lg, port, pki, dev, mode, conns, secs=SECS):
    out = subprocess.run([lg, "--port", str(port), "--ca", pki.p("server-ca.pem"), "--cert", dev[0],
                          "--key", dev[1], "--mode", mode, "--connections", str(conns),
                          "--seconds", secs, "--warmup", "1"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"cps-loadgen {mode} failed: {out.stdout}{out.stderr}")
    return dict(kv.split("=", 1) for kv in out.stdout.split())


def hold(lg, port, pki, dev, pid):
    base = rss_kib(tree(pid))
    p = subprocess.Popen([lg, "--port", str(port), "--ca", pki.p("server-ca.pem"), "--cert", dev[0],
                          "--key", dev[1], "--mode", "hold", "--connections", str(HOLD),
                          "--seconds", "3"], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    peak = 0
    for _ in range(5):
        peak = max(peak, rss_kib(tree(pid)))
        time.sleep(0.3)
    p.wait(timeout=60)
    return base, peak, line.strip()


def bench(name, lg, port, pki, dev, pid):
    print(f"-- {name}", flush=True)
    ka = loadgen(lg, port, pki, dev, "keepalive", 64)
    print(f"   keep-alive: {ka}", flush=True)
    hs = loadgen(lg, port, pki, dev, "handshake", 32)
    print(f"   handshakes: {hs}", flush=True)
    base, peak, line = hold(lg, port, pki, dev, pid)
    print(f"   {HOLD} connections: {line}; RSS {base} KiB idle -> {peak} KiB", flush=True)
    return {"rps": float(ka["rps"]), "p50": int(ka["p50_us"]), "p99": int(ka["p99_us"]),
            "hs": float(hs["hs_per_s"]), "rss": peak, "rss_idle": base,
            "errors": int(ka["errors"]) + int(hs["errors"])}


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    build = sys.argv[1]
    binary = os.path.join(build, "controlplane", "sluice-controlplane")
    lg = os.path.join(build, "controlplane", "server", "cps-loadgen")
    t_start = time.time()
    raise_nofile()
    nginx = ensure_nginx()
    root = L.tmpdir()
    os.chmod(root, 0o755)
    pki = L.PKI(os.path.join(root, "pki"))
    dev = pki.device("bench-device")
    state, _, _ = L.make_state(binary, root, pki, ["bench-device"])
    threads = os.cpu_count() or 1

    srv = L.Server(binary, state, "--max-connections", "40000", "--max-conns-per-ip", "40000",
                   "--idle-timeout-ms", "120000", "--handshake-timeout-ms", "30000", threads=threads)
    try:
        ours = bench(f"sluice-controlplane serve ({threads} loops)", lg, srv.port, pki, dev,
                     srv.proc.pid)
    finally:
        srv.stop()

    ndir = os.path.join(root, "nginx")
    os.makedirs(ndir)
    port = free_port()
    conf = os.path.join(ndir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(workers=threads, d=ndir, port=port, tls=os.path.join(state, "tls"),
                                  state=state, user="user root root;" if os.geteuid() == 0 else ""))
    ng = subprocess.Popen([nginx, "-c", conf, "-p", ndir, "-e", os.path.join(ndir, "err.log")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    time.sleep(1)
    try:
        if ng.poll() is not None:
            raise RuntimeError("nginx did not start: " + open(os.path.join(ndir, "err.log")).read())
        theirs = bench(f"nginx ({threads} workers)", lg, port, pki, dev, ng.pid)
    finally:
        ng.send_signal(signal.SIGQUIT)
        try:
            ng.wait(timeout=20)
        except subprocess.TimeoutExpired:
            ng.kill()

    print("\n                         sluice      nginx   ratio (sluice/nginx)")
    print(f"keep-alive req/s     {ours['rps']:10.0f} {theirs['rps']:10.0f}   {ours['rps'] / theirs['rps']:.2f}")
    print(f"keep-alive p50 (us)  {ours['p50']:10d} {theirs['p50']:10d}   {ours['p50'] / max(theirs['p50'], 1):.2f}")
    print(f"keep-alive p99 (us)  {ours['p99']:10d} {theirs['p99']:10d}   {ours['p99'] / max(theirs['p99'], 1):.2f}")
    print(f"handshakes/s         {ours['hs']:10.0f} {theirs['hs']:10.0f}   {ours['hs'] / theirs['hs']:.2f}")
    print(f"RSS {HOLD} conns (KiB) {ours['rss']:9d} {theirs['rss']:10d}   {ours['rss'] / max(theirs['rss'], 1):.2f}")
    print(f"errors               {ours['errors']:10d} {theirs['errors']:10d}")
    print(f"(run took {time.time() - t_start:.0f} s)")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
