# SPDX-License-Identifier: Apache-2.0
"""A simulated A/B device for sluice-agent tests: file-backed slots, a bootloader environment
(the `file` backend's state file, or for the `uboot` backend a redundant U-Boot environment in
a file that the agent reaches through libubootenv and a fw_env.config), a boot simulator that
plays U-Boot (bootcount/bootlimit/altbootcmd) and runs the agent's boot-time step, plus helpers
that build provisioning media (openssl) and TUF repositories (agent-mkrepo, the tuf writer).

The backend is chosen per device (Device(bootloader=...)), by default from
SLUICE_TEST_BOOTLOADER ("file" when unset)."""

import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import zlib

AGENT = os.environ.get("SLUICE_AGENT", "sluice-agent")
MKREPO = os.environ.get("AGENT_MKREPO", "agent-mkrepo")
HW = "board-a"
MAGIC = b"SLIMG1"
BOOTLOADERS = ("file", "uboot")
BOOTLOADER = os.environ.get("SLUICE_TEST_BOOTLOADER", "file")


class Bricked(Exception):
    """The bootloader would boot a slot that does not hold a good image, with no fallback."""


# ---- images ---------------------------------------------------------------------------

def make_image(path, release, size, healthy=True, bootable=True, seed=None):
    """An image the simulator can check: header, body, SHA-256 trailer.
    healthy=False boots but fails the health check; bootable=False does not boot at all."""
    body = (hashlib.sha256(f"{release}-{seed}".encode()).digest() * (size // 32 + 1))[:size]
    head = MAGIC + (b"GOOD" if healthy else b"SICK") + release.encode().ljust(16, b"\0")[:16]
    head += struct.pack(">Q", len(body))
    trailer = hashlib.sha256(head + body).digest()
    if not bootable:
        trailer = bytes(32)
    with open(path, "wb") as f:
        f.write(head + body + trailer)
    return path


def image_good(slot_path):
    """Whether a slot starts with a complete, intact image (what a kernel needs to boot)."""
    with open(slot_path, "rb") as f:
        head = f.read(34)
        if len(head) < 34 or not head.startswith(MAGIC):
            return False
        (n,) = struct.unpack(">Q", head[26:34])
        body = f.read(n)
        trailer = f.read(32)
    return len(body) == n and hashlib.sha256(head + body).digest() == trailer


def image_release(slot_path):
    with open(slot_path, "rb") as f:
        head = f.read(26)
    return head[10:26].rstrip(b"\0").decode()


# ---- the U-Boot environment ---------------------------------------------------------------

class UBootEnv:
    """A redundant U-Boot environment in one regular file, as U-Boot's env_save and libubootenv
    keep it on flash: two copies of SIZE bytes (at 0 and SIZE), each
        CRC-32 of the data (little endian) | flags byte | "name=value\\0"... "\\0" | padding
    The copy in use is the valid one, or of two valid ones the one with the newer flags
    (incremented on every save, 255 -> 0 wraps); a save writes the other copy with flags + 1,
    so the copy in use stays intact until the new one is complete."""

    SIZE = 0x4000
    DATA = SIZE - 5

    def __init__(self, path, config):
        self.path = path
        self.config = config  # the fw_env.config libubootenv reads

    def create(self, variables):
        """A factory environment: copy 0 holds variables (flags 1), copy 1 is erased flash."""
        with open(self.path, "wb") as f:
            f.write(self._image(variables, 1) + b"\xff" * self.SIZE)
        with open(self.config, "w") as f:
            f.write("# device  offset  size (a second line: the redundant copy)\n"
                    f"{self.path} 0x0 {self.SIZE:#x}\n{self.path} {self.SIZE:#x} {self.SIZE:#x}\n")

    def _image(self, variables, flags):
        data = b"".join(f"{k}={v}".encode() + b"\0" for k, v in variables.items()) + b"\0"
        assert len(data) <= self.DATA, "environment too large"
        data = data.ljust(self.DATA, b"\0")
        return struct.pack("<I", zlib.crc32(data)) + bytes([flags]) + data

    def _copies(self):
        with open(self.path, "rb") as f:
            raw = f.read()
        assert len(raw) == 2 * self.SIZE, f"{self.path}: {len(raw)} bytes, not two copies"
        out = []
        for i in range(2):
            c = raw[i * self.SIZE:(i + 1) * self.SIZE]
            (crc,) = struct.unpack("<I", c[:4])
            out.append((zlib.crc32(c[5:]) == crc, c[4], c[5:]))
        return out

    def current(self):
        """(index, flags) of the copy in use; AssertionError when neither copy is valid (U-Boot
        would boot with its built-in default environment: the device lost its boot state)."""
        (ok0, f0, _), (ok1, f1, _) = self._copies()
        if ok0 and ok1:
            if (f0, f1) == (255, 0):
                return 1, f1
            if (f0, f1) == (0, 255):
                return 0, f0
            return (1, f1) if f1 > f0 else (0, f0)
        if ok0 or ok1:
            return (0, f0) if ok0 else (1, f1)
        raise AssertionError(f"{self.path}: no valid copy of the U-Boot environment")

    def read(self, copy=None):
        """The variables of the copy in use (or of copy 0/1, which must be valid)."""
        i = self.current()[0] if copy is None else copy
        ok, _, data = self._copies()[i]
        assert ok, f"{self.path}: copy {i} is not valid"
        env = {}
        for entry in data.split(b"\0"):
            if not entry:
                break  # an empty entry ends the list
            k, sep, v = entry.decode().partition("=")
            assert sep, f"{self.path}: entry without '=': {entry!r}"
            env[k] = v
        return env

    def save(self, variables):
        """U-Boot's saveenv: the whole environment into the other copy, flags + 1."""
        i, flags = self.current()
        with open(self.path, "r+b") as f:
            f.seek((1 - i) * self.SIZE)
            f.write(self._image(variables, (flags + 1) & 0xFF))
            f.flush()
            os.fsync(f.fileno())


# What U-Boot itself keeps in the environment; the agent must leave all of it alone.
UBOOT_DEFAULTS = {
    "arch": "arm",
    "baudrate": "115200",
    "bootdelay": "0",
    "ethaddr": "02:00:00:5e:00:53",
    "bootcmd": "setenv bootargs console=ttyS0,115200 root=PARTLABEL=rootfs_${boot_slot} rootwait "
               "sluice.slot=${boot_slot}; load mmc 0:rootfs_${boot_slot} ${kernel_addr_r} /boot/Image; "
               "booti ${kernel_addr_r} - ${fdtcontroladdr}",
    "altbootcmd": "if test ${boot_slot} = a; then setenv boot_slot b; else setenv boot_slot a; fi; "
                  "setenv upgrade_available 0; setenv bootcount 0; saveenv; run bootcmd",
}


# ---- provisioning media ---------------------------------------------------------------

def _ossl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(workdir):
    """A device CA (also used as the 'server CA' on the medium)."""
    os.makedirs(workdir, exist_ok=True)
    _ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key", cwd=workdir)
    _ossl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=Test Device CA", "-days", "30",
          "-out", "ca.crt", cwd=workdir)
    return workdir


def make_cert(ca_dir, out_dir, cn, eku="clientAuth", days=30, key=None, expired=False):
    """device.key and device.crt for cn signed by the CA in ca_dir."""
    os.makedirs(out_dir, exist_ok=True)
    if key is None:
        _ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "device.key", cwd=out_dir)
    else:
        shutil.copy(key, os.path.join(out_dir, "device.key"))
    _ossl("req", "-new", "-key", "device.key", "-subj", f"/CN={cn}", "-out", "device.csr", cwd=out_dir)
    with open(os.path.join(out_dir, "ext.cnf"), "w") as f:
        f.write(f"extendedKeyUsage={eku}\n" if eku else "basicConstraints=CA:FALSE\n")
    args = ["x509", "-req", "-in", "device.csr", "-CA", os.path.join(ca_dir, "ca.crt"),
            "-CAkey", os.path.join(ca_dir, "ca.key"), "-CAcreateserial", "-extfile", "ext.cnf",
            "-out", "device.crt", "-days", str(days)]
    if expired:  # issued 40 days ago, for `days` (< 40) days: expired now
        subprocess.run(["faketime", "-f", "-40d", "openssl", *args], cwd=out_dir, check=True,
                       capture_output=True)
    else:
        _ossl(*args, cwd=out_dir)
    for f in ("device.csr", "ext.cnf"):
        os.unlink(os.path.join(out_dir, f))


def write_manifest(media, device_id=None, hardware=HW, root_sha256=None, extra=None):
    files = {}
    for name in ("device.crt", "device.key", "ca.pem", "root.json", "agent.conf"):
        p = os.path.join(media, name)
        if os.path.isfile(p) and not os.path.islink(p):
            data = open(p, "rb").read()
            files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data)}
    if extra:
        files.update(extra)
    if root_sha256 is None:
        root_sha256 = files.get("root.json", {}).get("sha256", "")
    m = {"sluice_media": 1, "device_id": device_id, "hardware": hardware, "files": files,
         "root_sha256": root_sha256, "created": "2026-01-01T00:00:00Z"}
    with open(os.path.join(media, "manifest.json"), "w") as f:
        json.dump(m, f, indent=1)


def make_media(ca_dir, media, device_id, root_json, hardware=HW, url="https://cp.example:8443/"):
    make_cert(ca_dir, media, device_id)
    shutil.copy(os.path.join(ca_dir, "ca.crt"), os.path.join(media, "ca.pem"))
    shutil.copy(root_json, os.path.join(media, "root.json"))
    with open(os.path.join(media, "agent.conf"), "w") as f:
        f.write(f"[device]\nid = {device_id}\nhardware = {hardware}\n[controlplane]\nurl = {url}\n")
    write_manifest(media, device_id, hardware)
    return media


# ---- repositories ---------------------------------------------------------------------

def sluice_custom(kind, release, hardware=(HW,), **kw):
    c = {"kind": kind, "release": release, "version": kw.pop("version", release),
         "hardware": list(hardware)}
    c.update(kw)
    return {"sluice": c}


def publish(repo, version, targets):
    """targets: [(path, file, custom)]; writes metadata version `version`."""
    spec = {"version": version,
            "targets": [{"path": p, "file": f, "custom": c} for p, f, c in targets]}
    spec_path = os.path.join(repo, f"spec-{version}.json")
    os.makedirs(repo, exist_ok=True)
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    subprocess.run([MKREPO, repo, spec_path], check=True)
    return repo


# ---- the device -------------------------------------------------------------------------

class Device:
    """A device in a directory: state/, slot-a, slot-b, models/, agent.conf and the boot
    environment: boot.env for the `file` backend; for `uboot`, uboot.env (a redundant U-Boot
    environment), fw_env.config and cmdline (the kernel command line the boot script passes,
    read by the agent through SLUICE_KERNEL_CMDLINE)."""

    def __init__(self, root, slot_size=8 << 20, factory_release="1", bootlimit=1,
                 health="head -c 10 \"$SLUICE_SLOT_DEVICE\" | grep -q GOOD",
                 smoke="grep -q GOODMODEL \"$SLUICE_MODEL_PATH\"", extra_conf="", bootloader=None):
        self.root = root
        self.bootloader = bootloader or BOOTLOADER
        assert self.bootloader in BOOTLOADERS, self.bootloader
        self.state = os.path.join(root, "state")
        self.slots = {"a": os.path.join(root, "slot-a"), "b": os.path.join(root, "slot-b")}
        if self.bootloader == "uboot":
            self.env_path = os.path.join(root, "uboot.env")
            self.fw_config = os.path.join(root, "fw_env.config")
            self.cmdline = os.path.join(root, "cmdline")
            self.uboot = UBootEnv(self.env_path, self.fw_config)
            self.boot_files = [self.env_path, self.cmdline]
            boot_conf = f"bootloader = uboot\nuboot_config = {self.fw_config}"
        else:
            self.env_path = os.path.join(root, "boot.env")
            self.boot_files = [self.env_path]
            boot_conf = f"bootloader = file\nbootloader_state = {self.env_path}"
        self.models = os.path.join(root, "models")
        self.conf = os.path.join(root, "agent.conf")
        self.reboot_marker = os.path.join(root, "reboot-requested")
        self.boots = 0
        os.makedirs(self.models, exist_ok=True)
        for s, p in self.slots.items():
            with open(p, "wb") as f:
                f.truncate(slot_size)
        img = os.path.join(root, "factory.img")
        make_image(img, factory_release, 64 << 10)
        with open(img, "rb") as src, open(self.slots["a"], "r+b") as dst:
            dst.write(src.read())
        os.unlink(img)
        factory = {"boot_slot": "a", "upgrade_available": 0, "bootcount": 0, "bootlimit": bootlimit,
                   "booted": "a"}
        if self.bootloader == "uboot":
            self.uboot.create(dict(UBOOT_DEFAULTS, **{k: str(v) for k, v in factory.items()
                                                      if k != "booted"}))
            self._write_cmdline("a")
        else:
            self.write_env(factory)
        with open(self.conf, "w") as f:
            f.write(f"""[agent]
state_dir = {self.state}
[device]
accelerator = npu-x
runtimes = onnxruntime=1.17
[slot.rootfs]
a = {self.slots['a']}
b = {self.slots['b']}
{boot_conf}
[models]
dir = {self.models}
reload_command = true
smoke_test_command = {smoke}
[health]
command = {health}
deadline_s = 10
[reboot]
policy = now
command = touch {self.reboot_marker}
{extra_conf}""")

    # -- the agent --
    def agent_env(self, env=None):
        """The agent's environment: the kernel command line of this device, env on top."""
        e = dict(os.environ)
        e.pop("SLUICE_AGENT_TEST_PAUSE", None)
        e.pop("SLUICE_KERNEL_CMDLINE", None)
        if self.bootloader == "uboot":
            e["SLUICE_KERNEL_CMDLINE"] = self.cmdline
        if env:
            e.update(env)
        return e

    def agent(self, *args, check=False, env=None, **kw):
        p = subprocess.run([AGENT, "--config", self.conf, *args], capture_output=True, text=True,
                           env=self.agent_env(env), **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"sluice-agent {' '.join(args)} failed: {p.stdout}{p.stderr}")
        return p

    def spawn(self, *args, env=None):
        return subprocess.Popen([AGENT, "--config", self.conf, *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.agent_env(env))

    def status(self):
        return json.loads(self.agent("status", "--json", check=True).stdout)

    def install_state(self):
        p = os.path.join(self.state, "install", "state.json")
        return json.load(open(p)) if os.path.exists(p) else {"phase": "idle", "targets": []}

    # -- the bootloader --
    OUR_VARS = ("boot_slot", "upgrade_available", "bootcount", "bootlimit")

    def read_env(self):
        """boot_slot, upgrade_available, bootcount, bootlimit and booted (the slot started)."""
        if self.bootloader == "uboot":
            v = self._uboot_vars()
            env = {"boot_slot": v["boot_slot"], "booted": self._cmdline_slot()}
            for k in self.OUR_VARS[1:]:
                env[k] = _ulong(v, k)
            return env
        env = {"boot_slot": "a", "upgrade_available": 0, "bootcount": 0, "bootlimit": 1, "booted": "a"}
        if os.path.exists(self.env_path):
            for line in open(self.env_path):
                k, _, v = line.strip().partition("=")
                env[k] = v if k in ("boot_slot", "booted") else int(v)
        return env

    def write_env(self, env):
        """Set the variables as the bootloader would (U-Boot: setenv + saveenv, and the
        kernel command line of a boot from env["booted"])."""
        if self.bootloader == "uboot":
            v = self._uboot_vars()
            new = dict(v, **{k: str(env[k]) for k in self.OUR_VARS})
            if new != v:
                self.uboot.save(new)
            self._write_cmdline(env["booted"])
            return
        tmp = self.env_path + ".sim"
        with open(tmp, "w") as f:
            for k in ("boot_slot", "upgrade_available", "bootcount", "bootlimit", "booted"):
                f.write(f"{k}={env[k]}\n")
        os.replace(tmp, self.env_path)

    def boot_state(self):
        """The bytes of the boot environment (for byte-identical comparisons)."""
        return b"".join(open(p, "rb").read() for p in self.boot_files)

    def _uboot_vars(self):
        v = self.uboot.read()
        for k, val in UBOOT_DEFAULTS.items():
            assert v.get(k) == val, f"U-Boot variable {k} changed: {v.get(k)!r}"
        assert v.get("boot_slot") in ("a", "b"), f"boot_slot={v.get('boot_slot')!r}"
        return v

    def _write_cmdline(self, slot):
        with open(self.cmdline, "w") as f:
            f.write(f"console=ttyS0,115200 root=PARTLABEL=rootfs_{slot} rootwait sluice.slot={slot}\n")

    def _cmdline_slot(self):
        words = open(self.cmdline).read().split()
        return [w for w in words if w.startswith("sluice.slot=")][-1].split("=", 1)[1]

    def _boot_file(self):
        """The `file` bootloader: count, fall back, record the slot it starts."""
        env = self.read_env()
        if env["upgrade_available"]:
            env["bootcount"] += 1
            if env["bootcount"] > env["bootlimit"]:
                env["boot_slot"] = "b" if env["boot_slot"] == "a" else "a"
                env["upgrade_available"] = 0
                env["bootcount"] = 0
        env["booted"] = env["boot_slot"]
        self.write_env(env)
        return env["booted"], env["upgrade_available"]

    def _boot_uboot(self):
        """U-Boot with CONFIG_BOOTCOUNT_LIMIT and the count in the environment
        (CONFIG_BOOTCOUNT_ENV): while upgrade_available=1 every boot increments bootcount and
        saves the environment; once bootcount > bootlimit (bootlimit 0: no limit) it runs
        altbootcmd instead of bootcmd: switch boot_slot, clear upgrade_available and bootcount,
        saveenv, run bootcmd. bootcmd passes sluice.slot=${boot_slot} to the kernel."""
        v = self._uboot_vars()
        trial = _ulong(v, "upgrade_available")
        bootcount = 0
        if trial:
            bootcount = _ulong(v, "bootcount") + 1
            v["bootcount"] = str(bootcount)
            self.uboot.save(v)
        bootlimit = _ulong(v, "bootlimit")
        if bootlimit and bootcount > bootlimit:  # altbootcmd
            v["boot_slot"] = "b" if v["boot_slot"] == "a" else "a"
            v["upgrade_available"] = "0"
            v["bootcount"] = "0"
            self.uboot.save(v)
            trial = 0
        self._write_cmdline(v["boot_slot"])  # bootcmd
        return v["boot_slot"], trial

    def reboot(self, boot_check=True, max_boots=8):
        """Power-cycle: U-Boot's bootcount logic, boot the primary slot, run boot-check.
        A slot without a good image hangs; the watchdog resets (bootcount goes up)."""
        for _ in range(max_boots):
            self.boots += 1
            booted, trial = self._boot_uboot() if self.bootloader == "uboot" else self._boot_file()
            if not image_good(self.slots[booted]):
                if trial:
                    continue  # hangs, watchdog reset
                raise Bricked(f"slot {booted} holds no good image and there is no fallback")
            if os.path.exists(self.reboot_marker):
                os.unlink(self.reboot_marker)
            if boot_check:
                self.last_boot_check = self.agent("boot-check")
            if os.path.exists(self.reboot_marker):
                os.unlink(self.reboot_marker)
                continue  # the agent asked for a reboot (rollback)
            return booted
        raise AssertionError("reboot loop not broken")

    def booted(self):
        return self.read_env()["booted"]

    def state_hash(self, include_events=False, include_tuf=True):
        """SHA-256 over the trusted state: state dir, boot env, slots, models. The outboxes
        (events.db, receipts/) are left out unless include_events; include_tuf=False leaves
        out the trusted TUF metadata (which a valid refresh may advance)."""
        h = hashlib.sha256()
        for base in (self.state, self.models):
            for dp, dns, fns in os.walk(base):
                if not include_events and dp == self.state and "receipts" in dns:
                    dns.remove("receipts")
                if not include_tuf and dp == self.state and "tuf" in dns:
                    dns.remove("tuf")
                dns.sort()
                for fn in sorted(fns):
                    if not include_events and fn.startswith("events.db"):
                        continue
                    if fn == "agent.lock":
                        continue
                    p = os.path.join(dp, fn)
                    h.update(p.encode())
                    if os.path.islink(p):
                        h.update(os.readlink(p).encode())
                    else:
                        h.update(open(p, "rb").read())
                for dn in dns:
                    p = os.path.join(dp, dn)
                    if os.path.islink(p):
                        h.update(p.encode() + os.readlink(p).encode())
        for p in (*self.boot_files, self.slots["a"], self.slots["b"]):
            h.update(open(p, "rb").read())
        return h.hexdigest()

    def assert_consistent(self):
        """The device boots a good slot and the state store agrees with the bootloader."""
        env = self.read_env()
        booted = env["booted"]
        assert image_good(self.slots[booted]), f"booted slot {booted} is not good"
        st = self.install_state()
        if not any(t["kind"] == "image" for t in st["targets"]):
            pass  # models only: the bootloader is not involved
        elif st["phase"] == "committed":
            assert env["boot_slot"] == st["slot"] == booted and not env["upgrade_available"], (env, st)
        if st["phase"] in ("rolled_back", "failed"):
            assert not (env["upgrade_available"] and env["boot_slot"] == st["slot"]), (env, st)
        for m in os.listdir(self.models):
            cur = os.path.join(self.models, m, "current")
            if os.path.lexists(cur):
                assert os.path.isdir(cur), f"{cur} dangles"
        return st


def _ulong(v, name):
    """A counter of the U-Boot environment as U-Boot reads it (unset: 0), strictly decimal:
    the agent must never write anything else."""
    val = v.get(name, "0")
    assert val.isdigit() and val.isascii(), f"U-Boot variable {name}={val!r} is not a number"
    return int(val)


def wait_stopped(proc, timeout=20):
    """Wait until proc stopped itself (SLUICE_AGENT_TEST_PAUSE) or exited; True when stopped."""
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            with open(f"/proc/{proc.pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "T":
                    return True
        except FileNotFoundError:
            return False
        time.sleep(0.002)
    raise AssertionError("agent neither stopped nor exited")


def kill(proc):
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    if proc.stdout:
        proc.stdout.close()
    if proc.stderr:
        proc.stderr.close()


class World:
    """A scratch directory with a CA, a repository with release 2 and provisioning media."""

    def __init__(self, image_size=4 << 20):
        self.tmp = tempfile.mkdtemp(prefix="sluice-agent-test-")
        self.ca = make_ca(os.path.join(self.tmp, "ca"))
        self.repo = os.path.join(self.tmp, "repo")
        self.files = os.path.join(self.tmp, "files")
        os.makedirs(self.files)
        self.image_size = image_size
        self.version = 0
        self.n = 0

    def file(self, name, data=None, **img):
        p = os.path.join(self.files, name)
        if data is not None:
            open(p, "wb").write(data)
        else:
            make_image(p, **img)
        return p

    def publish(self, targets):
        self.version += 1
        return publish(self.repo, self.version, targets)

    def root_json(self):
        return os.path.join(self.repo, "metadata", "1.root.json")

    def device(self, **kw):
        self.n += 1
        root = os.path.join(self.tmp, f"dev{self.n}")
        os.makedirs(root)
        d = Device(root, **kw)
        if not hasattr(self, "media"):
            self.media = make_media(self.ca, os.path.join(self.tmp, "media"), "dev-1", self.root_json())
        d.agent("provision", self.media, check=True)
        return d

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
