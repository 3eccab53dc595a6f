#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A TUF repository simulator for black-box client tests: it signs metadata, publishes good
or hostile variants, and serves them over HTTP on loopback while logging every request.

Signing uses Debian's python3-nacl (Ed25519) and python3-cryptography (ECDSA P-256,
RSA-PSS); the signed bytes are securesystemslib's canonical JSON. Hostile documents that
canonical JSON cannot express (floats, duplicate keys, invalid UTF-8) are built with
canonical_raw() below, which writes the same bytes for ordinary data.
"""

import datetime
import hashlib
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

import nacl.signing
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from securesystemslib.formats import encode_canonical

SPEC_VERSION = "1.0.31"
TOP_ROLES = ("root", "timestamp", "snapshot", "targets")
DAY = 86400


def canonical(obj):
    """The bytes TUF signs: securesystemslib's canonical JSON of obj, UTF-8."""
    return encode_canonical(obj).encode("utf-8")


class Raw:
    """A value written verbatim by canonical_raw() (a float, an invalid UTF-8 string)."""

    def __init__(self, text):
        self.text = text if isinstance(text, bytes) else str(text).encode()


class DupKeys:
    """An object with repeated keys: a list of (key, value) pairs, written in that order."""

    def __init__(self, pairs):
        self.pairs = pairs


def _raw_string(s):
    body = s if isinstance(s, bytes) else s.encode("utf-8")
    return b'"' + body.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def canonical_raw(obj):
    """Canonical JSON that also accepts Raw values and DupKeys objects (hostile input).
    Iterative, so documents nested thousands deep can be written."""
    out = []
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, Raw):
            out.append(o.text)
        elif isinstance(o, bytes) and o.startswith(b"\x00lit:"):
            out.append(o[5:])
        elif o is True:
            out.append(b"true")
        elif o is False:
            out.append(b"false")
        elif o is None:
            out.append(b"null")
        elif isinstance(o, int):
            out.append(str(o).encode())
        elif isinstance(o, (str, bytes)):
            out.append(_raw_string(o))
        elif isinstance(o, (list, tuple)):
            items = [b"\x00lit:["]
            for i, v in enumerate(o):
                if i:
                    items.append(b"\x00lit:,")
                items.append(v)
            items.append(b"\x00lit:]")
            stack.extend(reversed(items))
        elif isinstance(o, (dict, DupKeys)):
            pairs = o.pairs if isinstance(o, DupKeys) else sorted(
                o.items(), key=lambda kv: kv[0].encode("utf-8"))
            items = [b"\x00lit:{"]
            for i, (k, v) in enumerate(pairs):
                if i:
                    items.append(b"\x00lit:,")
                items.append(b"\x00lit:" + _raw_string(k) + b":")
                items.append(v)
            items.append(b"\x00lit:}")
            stack.extend(reversed(items))
        else:
            raise TypeError("canonical_raw: unsupported %r" % type(o))
    return b"".join(out)


def iso(ts):
    """TUF expiry format of a Unix time."""
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def quote_name(name):
    """Percent-encoding of role names and target file names: every byte outside
    [A-Za-z0-9._~-] as %XX."""
    return quote(name.encode("utf-8") if isinstance(name, str) else name, safe="")


class Key:
    """A signing key of one of the TUF key types; .public is its TUF key object."""

    def __init__(self, kind="ed25519"):
        self.kind = kind
        if kind == "ed25519":
            self._sk = nacl.signing.SigningKey.generate()
            self.public = {"keytype": "ed25519", "scheme": "ed25519",
                           "keyval": {"public": self._sk.verify_key.encode().hex()}}
        elif kind == "ecdsa":
            self._sk = ec.generate_private_key(ec.SECP256R1())
            self.public = {"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256",
                           "keyval": {"public": self._pem()}}
        elif kind == "rsa":
            self._sk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.public = {"keytype": "rsa", "scheme": "rsassa-pss-sha256",
                           "keyval": {"public": self._pem()}}
        elif kind == "unknown":
            self._sk = None
            self.public = {"keytype": "sluice-future-kt", "scheme": "sluice-future-scheme",
                           "keyval": {"public": os.urandom(32).hex()}}
        else:
            raise ValueError(kind)
        self.keyid = sha256(canonical(self.public))

    def _pem(self):
        return self._sk.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def sign(self, data):
        """Hex signature of data (garbage for the unknown key type)."""
        if self.kind == "ed25519":
            return self._sk.sign(data).signature.hex()
        if self.kind == "ecdsa":
            return self._sk.sign(data, ec.ECDSA(hashes.SHA256())).hex()
        if self.kind == "rsa":
            return self._sk.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                   salt_length=padding.PSS.DIGEST_LENGTH),
                                 hashes.SHA256()).hex()
        return os.urandom(64).hex()

    def verify(self, data, sig_hex):
        """Self-check used by reposim's own tests."""
        sig = bytes.fromhex(sig_hex)
        if self.kind == "ed25519":
            self._sk.verify_key.verify(data, sig)
        elif self.kind == "ecdsa":
            self._sk.public_key().verify(sig, data, ec.ECDSA(hashes.SHA256()))
        elif self.kind == "rsa":
            self._sk.public_key().verify(sig, data, padding.PSS(
                mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                hashes.SHA256())
        else:
            raise ValueError("unknown key type cannot verify")


def envelope(signed, keys, extra_sigs=(), raw=False):
    """Serialised metadata: signed plus one signature per key (in order), then extra_sigs
    ({"keyid", "sig"} dicts) verbatim. raw=True signs canonical_raw(signed)."""
    data = canonical_raw(signed) if raw else canonical(signed)
    sigs = [{"keyid": k.keyid, "sig": k.sign(data)} for k in keys] + list(extra_sigs)
    if raw:
        return b'{"signatures":' + canonical_raw(sigs) + b',"signed":' + data + b"}"
    return json.dumps({"signatures": sigs, "signed": signed}, indent=1,
                      ensure_ascii=False).encode("utf-8")


def bin_index(path, bit_length):
    """TAP 15 succinct bin of a target path."""
    h = hashlib.sha256(path.encode("utf-8")).digest()
    return int.from_bytes(h[:4], "big") >> (32 - bit_length)


def bin_name(prefix, index, bit_length):
    width = (bit_length + 3) // 4
    return "%s-%0*x" % (prefix, width, index)


class Repo:
    """In-memory TUF repository: the trusted content of every role (plain dicts, editable by
    tests), its signing keys, the targets' bytes and the files currently served.

    Publishing writes metadata/<name> (and versioned names with consistent snapshots) and
    targets/<path> (or targets/<dir>/<sha256>.<base>) into self.files, keyed by the
    un-escaped URL path below the server root. self.overrides wins over self.files (a
    temporary attacker view); self.behaviors changes how a path is served.
    """

    def __init__(self, consistent=True, keytype="ed25519", expires_in=365 * DAY, now=None):
        self.now = int(now if now is not None else time.time())
        self.consistent = consistent
        self.keytype = keytype
        self.snapshot_hashes = False   # hashes and length of targets roles in snapshot meta
        self.timestamp_hashes = False  # hashes and length of snapshot in timestamp meta
        exp = iso(self.now + expires_in)
        self.keys = {r: [Key(keytype)] for r in TOP_ROLES}
        self.root = {"_type": "root", "spec_version": SPEC_VERSION, "version": 1,
                     "expires": exp, "consistent_snapshot": consistent, "keys": {},
                     "roles": {}}
        for r in TOP_ROLES:
            self.set_role_keys(r, self.keys[r], 1)
        self.timestamp = {"_type": "timestamp", "spec_version": SPEC_VERSION, "version": 1,
                          "expires": exp, "meta": {}}
        self.snapshot = {"_type": "snapshot", "spec_version": SPEC_VERSION, "version": 1,
                         "expires": exp, "meta": {}}
        self.roles = {"targets": self._new_targets(exp)}
        self.signers = {"targets": self.keys["targets"]}
        self.blobs = {}
        self.files = {}
        self.overrides = {}
        self.behaviors = {}
        self.log = []
        self.log_lock = threading.Lock()
        self.server = None
        self.stop = threading.Event()
        self.root_bytes = {}

    def _new_targets(self, exp):
        return {"_type": "targets", "spec_version": SPEC_VERSION, "version": 1,
                "expires": exp, "targets": {}}

    # ---- keys and roles -------------------------------------------------------------
    def set_role_keys(self, role, keys, threshold):
        """Make keys the keys of top-level role in root (unused keys are dropped)."""
        self.keys[role] = list(keys)
        self.root["roles"][role] = {"keyids": [k.keyid for k in keys], "threshold": threshold}
        used = {kid for r in self.root["roles"].values() for kid in r["keyids"]}
        allk = {k.keyid: k.public for ks in self.keys.values() for k in ks}
        self.root["keys"] = {kid: allk[kid] for kid in sorted(used) if kid in allk}

    def expires(self, delta):
        return iso(self.now + delta)

    # ---- targets and delegations -----------------------------------------------------
    def add_target(self, path, data, role="targets", custom=None, hashes=None):
        """List path in role with data's length and sha256 (hashes: extra/replacement
        entries) and serve data at the target URL."""
        entry = {"length": len(data), "hashes": {"sha256": sha256(data)}}
        if hashes is not None:
            entry["hashes"] = hashes
        if custom is not None:
            entry["custom"] = custom
        self.roles[role]["targets"][path] = entry
        self.serve_target(path, data)
        return entry

    def target_file(self, path, data):
        """Server path of target data under path."""
        if not self.consistent:
            return "targets/" + path
        d, _, base = path.rpartition("/")
        return "targets/" + (d + "/" if d else "") + sha256(data) + "." + base

    def serve_target(self, path, data):
        self.blobs[path] = data
        self.files[self.target_file(path, data)] = data

    def delegate(self, delegator, name, keys=None, threshold=1, paths=None, prefixes=None,
                 terminating=False, new_role=True):
        """Add a delegation from delegator to name (a new empty role unless it exists)."""
        keys = keys if keys is not None else [Key(self.keytype)]
        d = self.roles[delegator].setdefault("delegations", {"keys": {}, "roles": []})
        for k in keys:
            d["keys"][k.keyid] = k.public
        r = {"name": name, "keyids": [k.keyid for k in keys], "threshold": threshold,
             "terminating": terminating}
        if prefixes is not None:
            r["path_hash_prefixes"] = prefixes
        else:
            r["paths"] = paths if paths is not None else ["*"]
        d["roles"].append(r)
        if new_role and name not in self.roles:
            self.roles[name] = self._new_targets(self.roles["targets"]["expires"])
            self.signers[name] = keys
        return keys

    def delegate_succinct(self, delegator, bit_length, name_prefix, keys=None):
        """TAP 15 hash bins: 2^bit_length roles name_prefix-XX, all signed by keys."""
        keys = keys if keys is not None else [Key(self.keytype)]
        self.roles[delegator]["delegations"] = {
            "keys": {k.keyid: k.public for k in keys},
            "succinct_roles": {"keyids": [k.keyid for k in keys], "threshold": 1,
                               "bit_length": bit_length, "name_prefix": name_prefix}}
        for i in range(1 << bit_length):
            n = bin_name(name_prefix, i, bit_length)
            self.roles[n] = self._new_targets(self.roles["targets"]["expires"])
            self.signers[n] = keys
        return keys

    # ---- building and publishing metadata --------------------------------------------
    def md_name(self, role, version=None):
        """Served file name of a role (versioned when consistent snapshots are on)."""
        if role == "root":
            return "%d.root.json" % version
        if role == "timestamp" or not self.consistent:
            return role + ".json"
        return "%d.%s.json" % (version, role)

    def sign(self, role, signed=None, keys=None, extra_sigs=(), raw=False):
        """Envelope bytes of role's (or the given) signed dict."""
        if signed is None:
            signed = self.signed(role)
        if keys is None:
            keys = self.keys[role] if role in ("root", "timestamp", "snapshot") \
                else self.signers[role]
        return envelope(signed, keys, extra_sigs, raw)

    def signed(self, role):
        if role == "root":
            return self.root
        if role == "timestamp":
            return self.timestamp
        if role == "snapshot":
            return self.snapshot
        return self.roles[role]

    def put_md(self, name, data):
        self.files["metadata/" + name] = data

    def publish_root(self, keys=None, signed=None, extra_sigs=()):
        """Publish root (default: self.root signed by its own keys) as N.root.json."""
        signed = signed if signed is not None else self.root
        data = self.sign("root", signed, keys, extra_sigs)
        self.put_md("%d.root.json" % signed["version"], data)
        self.put_md("root.json", data)
        self.root_bytes[signed["version"]] = data
        return data

    def rotate_root(self, new_keys=None, threshold=None, old_signers=None, new_signers=None,
                    expires=None):
        """Root version+1 with new root keys (default: fresh ones), signed by the old and
        new keys unless old_signers/new_signers say otherwise. Returns its bytes."""
        old = self.keys["root"]
        new = new_keys if new_keys is not None else [Key(self.keytype)]
        self.root["version"] += 1
        if expires is not None:
            self.root["expires"] = expires
        self.set_role_keys("root", new, threshold or len(new))
        signers = (old if old_signers is None else old_signers) + \
            (new if new_signers is None else new_signers)
        uniq = []
        for k in signers:
            if k not in uniq:
                uniq.append(k)
        return self.publish_root(keys=uniq)

    def publish_role(self, role, signed=None, keys=None):
        """Publish a targets role (top-level or delegated)."""
        signed = signed if signed is not None else self.roles[role]
        data = self.sign(role, signed, keys)
        self.put_md(self.md_name(role, signed["version"]), data)
        self.put_md(role + ".json", data)
        return data

    def meta_entry(self, data, version, with_hashes):
        e = {"version": version}
        if with_hashes:
            e["length"] = len(data)
            e["hashes"] = {"sha256": sha256(data)}
        return e

    def snapshot_signed(self):
        """self.snapshot with meta computed from the published targets roles."""
        meta = {}
        for role, signed in self.roles.items():
            data = self.files.get("metadata/" + self.md_name(role, signed["version"]), b"")
            meta[role + ".json"] = self.meta_entry(data, signed["version"],
                                                   self.snapshot_hashes)
        self.snapshot["meta"] = meta
        return self.snapshot

    def publish_snapshot(self):
        data = self.sign("snapshot", self.snapshot_signed())
        self.put_md(self.md_name("snapshot", self.snapshot["version"]), data)
        self.put_md("snapshot.json", data)
        return data

    def timestamp_signed(self):
        v = self.snapshot["version"]
        data = self.files.get("metadata/" + self.md_name("snapshot", v), b"")
        self.timestamp["meta"] = {"snapshot.json": self.meta_entry(data, v,
                                                                   self.timestamp_hashes)}
        return self.timestamp

    def publish_timestamp(self):
        data = self.sign("timestamp", self.timestamp_signed())
        self.put_md("timestamp.json", data)
        return data

    def publish_all(self):
        """Publish root (if never published), every targets role, snapshot and timestamp
        at their current versions."""
        if self.root["version"] not in self.root_bytes:
            self.publish_root()
        for role in list(self.roles):
            self.publish_role(role)
        self.publish_snapshot()
        self.publish_timestamp()

    def update(self, roles=()):
        """A new release: bump and publish each of roles, then snapshot and timestamp."""
        for role in roles:
            self.roles[role]["version"] += 1
            self.publish_role(role)
        self.snapshot["version"] += 1
        self.publish_snapshot()
        self.timestamp["version"] += 1
        return self.publish_timestamp()

    # ---- attacker views --------------------------------------------------------------
    def override(self, path, data):
        """Serve data at path (e.g. "metadata/timestamp.json") until clear_overrides()."""
        self.overrides[path] = data

    def override_md(self, name, data):
        self.override("metadata/" + name, data)

    def clear_overrides(self):
        self.overrides.clear()
        self.behaviors.clear()

    def behave(self, path, **kw):
        """Serve path specially: slow=seconds per byte, endless=True (never-ending body
        after the file), extra=bytes appended, status=HTTP code."""
        self.behaviors[path] = kw

    # ---- serving ---------------------------------------------------------------------
    def lookup(self, path):
        if path in self.overrides:
            return self.overrides[path]
        return self.files.get(path)

    def serve(self):
        """Start the HTTP server on 127.0.0.1 (ephemeral port) in a thread."""
        repo = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                repo._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        t = threading.Thread(target=self.server.serve_forever, daemon=True)
        t.start()
        port = self.server.server_address[1]
        self.base_url = "http://127.0.0.1:%d/" % port
        self.metadata_url = self.base_url + "metadata/"
        self.targets_url = self.base_url + "targets/"
        return self.base_url

    def close(self):
        self.stop.set()
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def requests(self):
        with self.log_lock:
            return list(self.log)

    def _handle(self, h):
        raw = h.path.split("?", 1)[0].split("#", 1)[0]
        path = unquote(raw.lstrip("/"))
        entry = {"path": path, "raw": h.path, "status": 0, "sent": 0, "aborted": False}
        with self.log_lock:
            self.log.append(entry)
        beh = self.behaviors.get(path, {})
        data = self.lookup(path)
        if beh.get("status") or data is None:
            entry["status"] = beh.get("status") or 404
            try:
                h.send_response(entry["status"])
                h.send_header("Content-Length", "0")
                h.end_headers()
            except OSError:
                entry["aborted"] = True
            return
        entry["status"] = 200
        body = data + beh.get("extra", b"")
        try:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            h.send_response(200)
            if not beh.get("endless"):
                h.send_header("Content-Length", str(len(body)))
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.flush()
            if beh.get("slow"):
                for i in range(len(body)):
                    if self.stop.wait(beh["slow"]):
                        return
                    h.wfile.write(body[i:i + 1])
                    h.wfile.flush()
                    entry["sent"] += 1
            else:
                h.wfile.write(body)
                entry["sent"] += len(body)
            if beh.get("endless"):
                filler = b" " * 65536
                limit = beh.get("limit", 512 << 20)
                while entry["sent"] < limit and not self.stop.is_set():
                    h.wfile.write(filler)
                    entry["sent"] += len(filler)
            h.wfile.flush()
        except OSError:
            entry["aborted"] = True


def new_repo(targets=None, **kw):
    """A published repository with the given {path: bytes} top-level targets."""
    r = Repo(**kw)
    for p, d in (targets or {"file1.txt": b"hello sluice\n"}).items():
        r.add_target(p, d)
    r.publish_all()
    return r


def write_tree(repo, outdir):
    """Write every served file below outdir (for file:// or a static server)."""
    for path, data in repo.files.items():
        dest = os.path.join(outdir, *path.split("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as f:
            f.write(data)


def _selftest():
    """Verify what reposim writes with securesystemslib-style checks of its own."""
    for kind in ("ed25519", "ecdsa", "rsa"):
        r = Repo(keytype=kind)
        r.add_target("a/b.txt", b"x" * 10)
        r.delegate("targets", "role1", paths=["d/*"])
        r.add_target("d/c.txt", b"c", role="role1")
        r.publish_all()
        for name, data in r.files.items():
            if not name.startswith("metadata/"):
                continue
            md = json.loads(data)
            signed_bytes = canonical(md["signed"])
            assert canonical_raw(md["signed"]) == signed_bytes, name
            role = md["signed"]["_type"]
            if role == "targets" and name.endswith("role1.json"):
                keys = r.signers["role1"]
            else:
                keys = r.keys[role]
            for k, s in zip(keys, md["signatures"]):
                assert s["keyid"] == k.keyid
                k.verify(signed_bytes, s["sig"])
        # keyids are the SHA-256 of the canonical public key object
        for kid, pub in r.root["keys"].items():
            assert kid == sha256(canonical(pub))
    assert bin_name("bins", 5, 8) == "bins-05"
    deep = canonical_raw([[[1, {"a": Raw("2.5")}]]])
    assert deep == b'[[[1,{"a":2.5}]]]', deep
    print("reposim self-test ok")


if __name__ == "__main__":
    _selftest()
