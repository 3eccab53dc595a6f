#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The air-gap proof (docs/airgap.md): tools/demo.sh runs with SLUICE_AIRGAP=1 inside three
network namespaces this test creates —

  offline  only loopback: sluice-ceremony (keygen without --allow-network) and sluice-provision
  cp       10.200.0.1/24 + fd53:1ce::1/64 on a veth: every sluice-controlplane verb and `serve`
  dev      10.200.0.2/24 + fd53:1ce::2/64 on the veth's peer: the agents and the boot simulator

— with tcpdump capturing on every interface of every namespace for the whole run. Each namespace
has a default route (IPv4 and IPv6) to its peer, so that a connection attempt to any address
would put a packet on the captured link instead of failing with "network unreachable"; the peer
does not forward, so nothing leaves the namespaces. The test asserts that every captured packet
is TCP between the device and the configured control plane address and port, or ARP / IPv6
neighbour discovery / MLD on the test link. A control test (a connection to the control plane
address on another port) must be flagged, proxy variables in the environment must be ignored,
and the SLUICE_AIRGAP=1 start-up line of each component must appear. Skips (77) without root / CAP_NET_ADMIN, `ip` or `tcpdump`.

Usage: test-airgap.py BUILD_DIR"""
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.path.abspath(sys.argv[1])
CP_ADDR, DEV_ADDR = "10.200.0.1", "10.200.0.2"
CP_ADDR6, DEV_ADDR6 = "fd53:1ce::1", "fd53:1ce::2"
TEST_NET = ipaddress.ip_network("10.200.0.0/24")
TEST_NET6 = ipaddress.ip_network("fd53:1ce::/64")
PORT = 18443
CONTROL_PORT = PORT + 1
failures = 0


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures += 1


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def sh(*argv, ns=None, check=True, **kw):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + [str(a) for a in argv]
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


class Namespaces:
    def __init__(self):
        tag = f"slag{os.getpid()}"
        self.off, self.cp, self.dev = f"{tag}-off", f"{tag}-cp", f"{tag}-dev"
        self.created = []

    def add(self, name):
        sh("ip", "netns", "add", name)
        self.created.append(name)
        sh("ip", "link", "set", "lo", "up", ns=name)

    def setup(self):
        for n in (self.off, self.cp, self.dev):
            self.add(n)
        veth_cp, veth_dev = f"v{os.getpid()}c"[:15], f"v{os.getpid()}d"[:15]
        sh("ip", "link", "add", veth_cp, "netns", self.cp, "type", "veth", "peer", "name",
           veth_dev, "netns", self.dev)
        for ns, dev, a4, a6, peer4, peer6 in ((self.cp, veth_cp, CP_ADDR, CP_ADDR6, DEV_ADDR, DEV_ADDR6),
                                              (self.dev, veth_dev, DEV_ADDR, DEV_ADDR6, CP_ADDR, CP_ADDR6)):
            sh("sysctl", "-qw", "net.ipv4.ip_forward=0", ns=ns)
            sh("ip", "addr", "add", f"{a4}/24", "dev", dev, ns=ns)
            sh("ip", "-6", "addr", "add", f"{a6}/64", "dev", dev, "nodad", ns=ns)
            sh("ip", "link", "set", dev, "up", ns=ns)
            sh("ip", "route", "add", "default", "via", peer4, ns=ns)
            sh("ip", "-6", "route", "add", "default", "via", peer6, ns=ns)

    def cleanup(self):
        for n in self.created:
            sh("ip", "netns", "del", n, check=False)


def start_capture(ns, path):
    p = subprocess.Popen(["ip", "netns", "exec", ns, "tcpdump", "-i", "any", "-n", "-U", "--immediate-mode", "-Z", "root",
                          "-w", path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 10
    line = ""
    while time.time() < deadline:
        line = p.stderr.readline()
        if "listening on" in line or p.poll() is not None:
            break
    if "listening on" not in line:
        p.kill()
        raise RuntimeError(f"tcpdump in {ns} did not start: {line}")
    return p


def stop_capture(p):
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    p.stderr.close()


IP_RE = re.compile(r"\b(IP6?) (\S+) > (\S+?):? (.*)$")


def split_hostport(s, v6):
    host, _, port = s.rpartition(".")
    if not port.isdigit():
        return s, None
    return host, int(port)


def addr(s):
    try:
        return ipaddress.ip_address(s)
    except ValueError:
        return None


def classify(line, metrics_port=None):
    """(kind, allowed, reason) for one line of `tcpdump -n -r` output on an 'any' capture.
    metrics_port: the control plane's loopback metrics listener, which the demo scrapes (in
    the control plane's namespace) to see when a publish is served."""
    if " ARP, " in line or line.split(" ", 3)[-1].startswith("ARP"):
        ips = [addr(x.rstrip(",")) for x in re.findall(r"\d+\.\d+\.\d+\.\d+,?", line)]
        ok = ips and all(a is not None and a in TEST_NET for a in ips)
        return "arp", bool(ok), "ARP on the test link" if ok else "ARP outside the test link"
    m = IP_RE.search(line)
    if not m:
        return "other", False, "not IP or ARP"
    fam, src, dst, rest = m.groups()
    v6 = fam == "IP6"
    (sh_, sp), (dh, dp) = split_hostport(src, v6), split_hostport(dst, v6)
    sa, da = addr(sh_), addr(dh)
    if sa is None or da is None:
        return fam, False, f"unparsed addresses {src} > {dst}"
    if v6 and "ICMP6" in rest and any(k in rest for k in ("neighbor solicitation", "neighbor advertisement",
                                                          "router solicitation", "multicast listener")):
        link = lambda a: a.is_link_local or a.is_multicast and a in ipaddress.ip_network("ff02::/16") \
            or a in TEST_NET6 or a == ipaddress.ip_address("::")
        ok = link(sa) and link(da)
        return "nd", ok, "IPv6 ND/MLD on the test link" if ok else "ND/MLD off the link"
    cp = {ipaddress.ip_address(CP_ADDR)}
    dev = {ipaddress.ip_address(DEV_ADDR)}
    if sp is None or dp is None:
        return fam, False, f"{fam} without ports {src} > {dst}"
    if (sa in dev and da in cp and dp == PORT) or (sa in cp and sp == PORT and da in dev):
        if "tcp" in rest.lower() or "Flags" in rest:
            return "cp", True, "device <-> control plane"
    lo = ipaddress.ip_address("127.0.0.1")
    if metrics_port and sa == lo and da == lo and metrics_port in (sp, dp) and "Flags" in rest:
        return "metrics", True, "scrape of the loopback metrics listener"
    return fam, False, f"{src} > {dst} is not device <-> control plane {CP_ADDR}:{PORT}"


def analyse(pcap, metrics_port=None):
    r = subprocess.run(["tcpdump", "-n", "-r", pcap], capture_output=True, text=True)
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    return [(ln,) + classify(ln, metrics_port) for ln in lines]


def self_test():
    """The classifier flags what it must (synthetic tcpdump lines; no traffic is sent)."""
    flagged = [
        "12:00:00.000000 veth0 Out IP 10.200.0.2.40000 > 8.8.8.8.53: 1+ A? example.org. (29)",
        "12:00:00.000000 veth0 Out IP 10.200.0.1.40000 > 93.184.216.34.443: Flags [S], seq 1",
        "12:00:00.000000 veth0 Out IP 10.200.0.2.40000 > 10.200.0.1.80: Flags [S], seq 1",
        "12:00:00.000000 veth0 Out IP6 fd53:1ce::2.40000 > 2001:db8::1.443: Flags [S], seq 1",
        "12:00:00.000000 lo In IP 127.0.0.1.40000 > 127.0.0.53.53: 1+ A? x. (20)",
        "12:00:00.000000 lo In IP 127.0.0.1.40000 > 127.0.0.1.9690: Flags [S], seq 1",
        "12:00:00.000000 veth0 Out ARP, Request who-has 192.168.1.1 tell 10.200.0.2, length 28",
        "12:00:00.000000 veth0 Out IP6 fd53:1ce::2 > 2001:db8::1: ICMP6, echo request, id 1, seq 1",
    ]
    allowed = [
        f"12:00:00.000000 veth0 Out IP {DEV_ADDR}.40000 > {CP_ADDR}.{PORT}: Flags [S], seq 1",
        f"12:00:00.000000 veth0 In  IP {CP_ADDR}.{PORT} > {DEV_ADDR}.40000: Flags [S.], seq 1",
        f"12:00:00.000000 veth0 Out ARP, Request who-has {CP_ADDR} tell {DEV_ADDR}, length 28",
        "12:00:00.000000 veth0 Out IP6 fe80::1 > ff02::2: ICMP6, router solicitation, length 16",
        "12:00:00.000000 veth0 Out IP6 :: > ff02::16: HBH ICMP6, multicast listener report v2, 1 group record(s), length 28",
    ]
    check("classifier flags traffic to other peers", all(not classify(ln)[1] for ln in flagged),
          [ln for ln in flagged if classify(ln)[1]])
    check("classifier allows device <-> control plane, ARP and ND on the link",
          all(classify(ln)[1] for ln in allowed), [ln for ln in allowed if not classify(ln)[1]])


def main():
    self_test()
    if os.geteuid() != 0:
        skip("needs root (CAP_NET_ADMIN) to create network namespaces")
    for tool in ("ip", "tcpdump"):
        if not shutil.which(tool):
            skip(f"'{tool}' is not installed (tools/install-deps.sh installs it)")
    ns = Namespaces()
    try:
        ns.add(ns.off)
    except subprocess.CalledProcessError as e:
        ns.cleanup()
        skip(f"cannot create a network namespace: {e.stderr.strip()}")
    tmp = tempfile.mkdtemp(prefix="sluice-airgap-")
    caps = {}
    try:
        ns.created.remove(ns.off)
        sh("ip", "netns", "del", ns.off)
        ns.setup()
        for n in (ns.off, ns.cp, ns.dev):
            caps[n] = (start_capture(n, os.path.join(tmp, f"{n}.pcap")), os.path.join(tmp, f"{n}.pcap"))
        env = dict(os.environ, SLUICE_BUILD_DIR=BUILD, SLUICE_DEMO_DIR=os.path.join(tmp, "demo"),
                   SLUICE_AIRGAP="1", SLUICE_DEMO_ADDR=CP_ADDR, SLUICE_DEMO_PORT=str(PORT),
                   SLUICE_DEMO_OFFLINE_NETNS=ns.off, SLUICE_DEMO_CP_NETNS=ns.cp,
                   SLUICE_DEMO_DEVICE_NETNS=ns.dev, NO_COLOR="1")
        # A proxy in the environment: air-gap mode must ignore it (a connection to it would be
        # captured as traffic to port 3128 and flagged).
        for var in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            env[var] = f"http://{CP_ADDR}:3128"
        t0 = time.time()
        p = subprocess.run([os.path.join(TOP, "tools", "demo.sh")], env=env, capture_output=True,
                           text=True, timeout=500)
        out = p.stdout + p.stderr
        print(f"demo in namespaces: exit {p.returncode} in {time.time() - t0:.1f}s")
        if p.returncode != 0:
            print("\n".join("  | " + ln for ln in out.splitlines()[-60:]))
        check("the demo succeeds inside the namespaces with SLUICE_AIRGAP=1", p.returncode == 0)

        # Control test: a connection to the control plane's address on another port.
        sh(sys.executable, "-c", f"""import socket
s = socket.socket()
s.settimeout(2)
try:
    s.connect(("{CP_ADDR}", {CONTROL_PORT}))
except OSError:
    pass""", ns=ns.dev)
        time.sleep(1)
        for proc, _ in caps.values():
            stop_capture(proc)

        # start-up lines (DESIGN.md §7)
        lines = {
            "sluice-ceremony": "sluice-ceremony: air-gap mode: this tool opens no network sockets",
            "sluice-controlplane (CLI verbs)": "air-gap mode: on (SLUICE_AIRGAP=1): no outbound connection",
            "sluice-controlplane serve": "air-gap mode: on; this process opens no outbound connection",
            "sluice-agent": "air-gap mode:",
        }
        for who, text in lines.items():
            check(f"air-gap start-up line of {who}", text in out, text)
        agent_lines = [ln for ln in out.splitlines() if "sluice-agent" in ln and "air-gap" in ln]
        check("the agent's air-gap line names no peer but the control plane or the medium",
              agent_lines and all(CP_ADDR in ln or "no network" in ln for ln in agent_lines),
              agent_lines)
        keygens = [ln for ln in out.splitlines() if "$ sluice-ceremony keygen" in ln]
        check("the ceremony generated keys without --allow-network",
              len(keygens) == 4 and not [ln for ln in keygens if "--allow-network" in ln], keygens)

        # the captures
        m = re.search(r"metrics on 127\.0\.0\.1:(\d+)", out)
        metrics_port = int(m.group(1)) if m else None
        check("the metrics listener is on loopback", metrics_port is not None)
        seen_cp = {}
        bad = []
        control = []
        for n, (_, path) in caps.items():
            for ln, kind, ok, why in analyse(path, metrics_port if n == ns.cp else None):
                if kind == "cp":
                    seen_cp[n] = seen_cp.get(n, 0) + 1
                if not ok:
                    (control if f".{CONTROL_PORT}" in ln.split(">")[1].split(":")[0] or
                     f"{CP_ADDR}.{CONTROL_PORT} >" in ln else bad).append(f"{n}: {ln}  [{why}]")
        print(f"packets device <-> control plane: {seen_cp}")
        check("the captures saw the mTLS traffic on both ends",
              seen_cp.get(ns.cp, 0) > 10 and seen_cp.get(ns.dev, 0) > 10, seen_cp)
        check("the offline namespace (ceremony, provisioning) saw no packet at all",
              not [1 for _ in analyse(caps[ns.off][1])], analyse(caps[ns.off][1])[:5])
        check("no packet but device <-> control plane, ARP and ND on the test link",
              not bad, "\n  " + "\n  ".join(bad[:20]))
        check("control test: a connection to another port is flagged", len(control) > 0, control)
    finally:
        for proc, _ in caps.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        ns.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
