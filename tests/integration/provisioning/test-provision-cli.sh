#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluice-provision end to end: CAs, server and device certificates checked with the openssl
# CLI, media checked with inspect, duplicates, batch, export, revocation and the CRL.
# Usage: test-provision-cli.sh PATH/TO/sluice-provision   (SLUICE_TEST_DATA = tests/unit/data)
set -euo pipefail

PROV=$(realpath "$1")
DATA=${SLUICE_TEST_DATA:?SLUICE_TEST_DATA is not set}
ROOT=$DATA/metadata/root.json
ROOT2=$DATA/updater/repo/metadata/1.root.json
URL=https://cp.example:8443
PASS=integration-test-passphrase

command -v openssl >/dev/null || { echo "SKIP: openssl CLI missing"; exit 77; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
die() { echo "FAIL: $*" >&2; exit 1; }

# prov ARGS...: run with the passphrase on fd 3
prov() { "$PROV" "$@" --passphrase-fd 3 3<<<"$PASS"; }

# refused CODE ARGS...: must exit 1 naming CODE on stderr
refused() {
	local code=$1 rc=0
	shift
	"$@" >out.txt 2>err.txt || rc=$?
	[ "$rc" = 1 ] || die "expected exit 1, got $rc: $* ($(cat err.txt))"
	grep -q "$code" err.txt out.txt || die "expected $code from: $* ($(cat err.txt out.txt))"
}

# --- usage -------------------------------------------------------------------------------
"$PROV" --help | grep -q 'ca init' || die "--help"
"$PROV" device --help | grep -q -- '--controlplane' || die "device --help"
rc=0; "$PROV" device --bogus 2>err.txt || rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <err.txt)" = 1 ] && grep -q "unknown option '--bogus'" err.txt ||
	die "usage error must be one line, exit 1"
rc=0; "$PROV" no-such-verb 2>/dev/null || rc=$?
[ "$rc" = 1 ] || die "unknown verb"
ok "usage: --help on stdout, usage errors one line exit 1"

# --- CAs ---------------------------------------------------------------------------------
prov ca init --dir pki --kdf interactive --name itest >/dev/null
[ "$(stat -c %a pki)" = 700 ] && [ "$(stat -c %a pki/device-ca.key)" = 600 ] ||
	die "PKI modes"
grep -q '"sluice_sealed_key": 1' pki/device-ca.key || die "sealed key format"
grep -q 'PRIVATE KEY' pki/device-ca.key && die "CA key not sealed"
openssl x509 -in pki/device-ca.crt -noout -text >ca.txt
grep -q 'CA:TRUE, pathlen:1' ca.txt && grep -q 'Certificate Sign, CRL Sign' ca.txt &&
	grep -q 'Subject: CN = itest device CA' ca.txt && grep -q 'ASN1 OID: prime256v1' ca.txt ||
	die "device CA properties: $(cat ca.txt)"
openssl x509 -in pki/server-ca.crt -noout -text | grep -q 'CA:TRUE, pathlen:0' || die "server CA"
refused EEXIST prov ca init --dir pki --kdf interactive
ok "ca init: P-256 CAs, sealed keys, 0700/0600, never replaced"

# --- server certificate ------------------------------------------------------------------
prov server-cert --dir pki --dns cp.example --dns localhost --ip 127.0.0.1 --ip ::1 \
	--out state/tls >/dev/null
for f in server.crt server.key device-ca.pem crl.pem; do [ -f "state/tls/$f" ] || die "$f"; done
[ "$(stat -c %a state/tls/server.key)" = 600 ] || die "server.key mode"
openssl verify -CAfile pki/server-ca.crt -purpose sslserver state/tls/server.crt >/dev/null ||
	die "server cert does not verify against the server CA"
openssl verify -CAfile pki/device-ca.crt state/tls/server.crt >/dev/null 2>&1 &&
	die "server cert verifies against the device CA"
openssl x509 -in state/tls/server.crt -noout -text >srv.txt
grep -q 'DNS:cp.example, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1' srv.txt &&
	grep -q 'TLS Web Server Authentication' srv.txt && grep -q 'CA:FALSE' srv.txt ||
	die "server cert properties: $(cat srv.txt)"
[ "$(openssl pkey -in state/tls/server.key -pubout)" = \
  "$(openssl x509 -in state/tls/server.crt -noout -pubkey)" ] || die "server key/cert"
refused EEXIST prov server-cert --dir pki --dns cp.example --out state/tls
refused 'bad or incomplete\|at least one' "$PROV" server-cert --dir pki --out x
ok "server-cert: serverAuth, SANs, chains to the server CA, STATE/tls layout"

# --- one device --------------------------------------------------------------------------
prov device --dir pki --id dev-1 --hardware board-a --controlplane $URL --root "$ROOT" \
	--out media/dev-1 >/dev/null
ls media/dev-1 | sort | tr '\n' ' ' | grep -qx 'agent.conf ca.pem device.crt device.key manifest.json root.json ' ||
	die "medium layout: $(ls media/dev-1)"
[ "$(stat -c %a media/dev-1/device.key)" = 600 ] || die "device.key mode"
cmp -s "$ROOT" media/dev-1/root.json || die "root.json not byte for byte"
cmp -s pki/server-ca.crt media/dev-1/ca.pem || die "ca.pem is not the server CA"
openssl verify -CAfile pki/device-ca.crt -purpose sslclient media/dev-1/device.crt >/dev/null ||
	die "device cert does not verify against the device CA"
openssl verify -CAfile pki/server-ca.crt media/dev-1/device.crt >/dev/null 2>&1 &&
	die "device cert verifies against the server CA"
openssl x509 -in media/dev-1/device.crt -noout -text >dev.txt
grep -q 'Subject: CN = dev-1' dev.txt && grep -q 'TLS Web Client Authentication' dev.txt &&
	grep -q 'Digital Signature' dev.txt && grep -q 'CA:FALSE' dev.txt &&
	grep -q 'ASN1 OID: prime256v1' dev.txt || die "device cert properties: $(cat dev.txt)"
serial=$(openssl x509 -in media/dev-1/device.crt -noout -serial | cut -d= -f2)
[ ${#serial} = 32 ] || die "serial is not 128 bits: $serial"
y=$(date -u +%Y)
openssl x509 -in media/dev-1/device.crt -noout -enddate | grep -q "$((y + 5)) GMT" ||
	die "default validity is not 5 years"
[ "$(openssl pkey -in media/dev-1/device.key -pubout)" = \
  "$(openssl x509 -in media/dev-1/device.crt -noout -pubkey)" ] || die "device key/cert"
head -1 media/dev-1/device.key | grep -q 'BEGIN PRIVATE KEY' || die "device.key is not PKCS#8"
grep -q 'url = https://cp.example:8443' media/dev-1/agent.conf || die "agent.conf"
(cd media/dev-1 && python3 - <<'EOF'
import hashlib, json
m = json.load(open("manifest.json"))
assert m["sluice_media"] == 1 and m["device_id"] == "dev-1" and m["hardware"] == "board-a"
for name, e in m["files"].items():
    data = open(name, "rb").read()
    assert e["sha256"] == hashlib.sha256(data).hexdigest() and e["length"] == len(data), name
assert m["root_sha256"] == hashlib.sha256(open("root.json", "rb").read()).hexdigest()
assert sorted(m["files"]) == ["agent.conf", "ca.pem", "device.crt", "device.key", "root.json"]
EOF
) || die "manifest.json"
"$PROV" inspect media/dev-1 --ca pki/device-ca.crt | grep -q 'complete and consistent' ||
	die "inspect"
"$PROV" inspect --json media/dev-1 | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["ok"] and r["key_matches"] and r["device_id"] == "dev-1" and not r["problems"], r' ||
	die "inspect --json"
ok "device: layout, modes, clientAuth cert chaining to the device CA, manifest hashes"

# --- refusals: duplicates, existing media, bad input, wrong passphrase --------------------
refused CP_E_CONFLICT prov device --dir pki --id dev-1 --hardware board-a --controlplane $URL \
	--root "$ROOT" --out media/dev-1-again
[ ! -e media/dev-1-again ] || die "refused duplicate left a directory"
refused EEXIST prov device --dir pki --id dev-2 --hardware board-a --controlplane $URL \
	--root "$ROOT" --out media/dev-1
sed 's/2031-01-01/2039-01-01/' "$ROOT" >bad-root.json
refused TUF_E_THRESHOLD prov device --dir pki --id dev-9 --hardware b --controlplane $URL \
	--root bad-root.json --out media/dev-9
refused "not an https" "$PROV" device --dir pki --id dev-9 --hardware b \
	--controlplane http://cp --root "$ROOT" --out media/dev-9
refused "\-\-id" "$PROV" device --dir pki --id ../x --hardware b --controlplane $URL \
	--root "$ROOT" --out media/x
rc=0
"$PROV" device --dir pki --id dev-9 --hardware b --controlplane $URL --root "$ROOT" \
	--out media/dev-9 --passphrase-fd 3 3<<<"wrong" 2>err.txt || rc=$?
[ "$rc" = 1 ] && grep -q CER_E_PASSPHRASE err.txt || die "wrong passphrase"
[ ! -e media/dev-9 ] || die "medium written with a wrong passphrase"
[ "$(wc -l <pki/issued.jsonl)" = 1 ] || die "refusals were recorded"
[ -z "$(ls -A media | grep -v '^dev-1$')" ] || die "temporary files left: $(ls -A media)"
old=$(sha256sum media/dev-1/device.crt)
prov device --dir pki --id dev-1 --hardware board-a --controlplane $URL --root "$ROOT" \
	--out media/dev-1 --force >/dev/null
[ "$old" != "$(sha256sum media/dev-1/device.crt)" ] || die "--force did not re-issue"
[ "$(wc -l <pki/issued.jsonl)" = 2 ] || die "re-issue not recorded"
ok "duplicates and existing media refused without --force; bad root, URL, id, passphrase"

# --- batch -------------------------------------------------------------------------------
printf 'id,hardware\ndev-10,board-a\n# comment\n\ndev-11 , board-b\ndev-1,board-a\ndev-12,board-a\n' >devices.csv
rc=0
prov batch --dir pki --csv devices.csv --controlplane $URL --root "$ROOT" --out fleet \
	>out.txt 2>err.txt || rc=$?
[ "$rc" = 1 ] || die "batch with a duplicate must fail"
grep -q '3 of 4 media written' out.txt || die "batch report: $(cat out.txt)"
grep -q "'dev-1'.*CP_E_CONFLICT" err.txt || die "batch failure report: $(cat err.txt)"
for d in dev-10 dev-11 dev-12; do
	"$PROV" inspect fleet/$d --ca pki/device-ca.crt >/dev/null || die "fleet/$d"
done
[ ! -e fleet/dev-1 ] && [ "$(ls fleet | wc -l)" = 3 ] || die "batch left extra entries"
grep -q 'hardware = board-b' fleet/dev-11/agent.conf || die "batch hardware"
printf 'dev-20\n' >bad.csv
refused "expected 'id,hardware'" prov batch --dir pki --csv bad.csv --controlplane $URL \
	--root "$ROOT" --out fleet2
[ ! -e fleet2 ] || die "bad CSV created output"
ok "batch: all or nothing per device, report at the end"

# --- export (approval file) --------------------------------------------------------------
"$PROV" export --dir pki --out approve.jsonl >/dev/null
python3 - approve.jsonl media/dev-1/device.crt <<'EOF' || die "export format"
import json, subprocess, sys, hashlib
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l["id"] for l in lines] == ["dev-1", "dev-10", "dev-11", "dev-12"], lines
for l in lines:
    assert sorted(l) == ["cert_sha256", "hardware", "id", "not_after"], l
    assert l["not_after"].endswith("Z") and len(l["not_after"]) == 20
der = subprocess.run(["openssl", "x509", "-in", sys.argv[2], "-outform", "DER"],
                     capture_output=True, check=True).stdout
assert lines[0]["cert_sha256"] == hashlib.sha256(der).hexdigest()
EOF
ok "export: one JSON line per device, newest certificate, sha256 of the DER"

# --- revoke and the CRL ------------------------------------------------------------------
openssl verify -crl_check -CAfile pki/device-ca.crt -CRLfile pki/crl.pem \
	fleet/dev-10/device.crt >/dev/null || die "verify with the empty CRL"
prov revoke --dir pki --id dev-10 --reason keyCompromise --out state/tls >/dev/null
cmp -s pki/crl.pem state/tls/crl.pem || die "CRL not copied to --out"
serial=$(openssl x509 -in fleet/dev-10/device.crt -noout -serial | cut -d= -f2)
openssl crl -in pki/crl.pem -noout -text >crl.txt
grep -q "Serial Number: $serial" crl.txt && grep -q 'Key Compromise' crl.txt ||
	die "CRL does not list $serial: $(cat crl.txt)"
openssl crl -in pki/crl.pem -noout -CAfile pki/device-ca.crt 2>&1 | grep -q 'verify OK' ||
	die "CRL signature"
rc=0
openssl verify -crl_check -CAfile pki/device-ca.crt -CRLfile pki/crl.pem \
	fleet/dev-10/device.crt >out.txt 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q 'revoked' out.txt || die "revoked cert still verifies: $(cat out.txt)"
openssl verify -crl_check -CAfile pki/device-ca.crt -CRLfile pki/crl.pem \
	fleet/dev-11/device.crt >/dev/null || die "a good cert fails the CRL check"
refused TUF_E_NOT_FOUND prov revoke --dir pki --id dev-10
"$PROV" export --dir pki --out approve2.jsonl >/dev/null
grep -q '"dev-10"' approve2.jsonl && die "revoked device exported"
"$PROV" list --dir pki | grep 'dev-10' | grep -q REVOKED || die "list"
n1=$(openssl crl -in pki/crl.pem -noout -crlnumber)
prov crl --dir pki --crl-days 30 >/dev/null
[ "$n1" != "$(openssl crl -in pki/crl.pem -noout -crlnumber)" ] || die "crl number"
openssl crl -in pki/crl.pem -noout -text | grep -q "Serial Number: $serial" || die "crl lost"
ok "revoke: serial in the signed CRL, openssl verify -crl_check refuses it"

# --- enrollment CA -----------------------------------------------------------------------
prov ca enrollment-ca --dir pki --out enroll >/dev/null
[ "$(stat -c %a enroll/enrollment-ca.key)" = 600 ] || die "enrollment key mode"
openssl verify -CAfile pki/device-ca.crt enroll/enrollment-ca.crt >/dev/null ||
	die "enrollment CA does not chain to the device CA"
openssl x509 -in enroll/enrollment-ca.crt -noout -text | grep -q 'CA:TRUE, pathlen:0' ||
	die "enrollment CA pathlen"
[ "$(grep -c 'BEGIN CERTIFICATE' enroll/device-ca.pem)" = 2 ] || die "device-ca.pem chain"
refused EEXIST prov ca enrollment-ca --dir pki --out enroll2
# media issued after the enrollment CA still verify against the chain; a bare relative --out
prov device --dir pki --id dev-30 --hardware board-a --controlplane $URL --root "$ROOT" \
	--out dev-30 >/dev/null
"$PROV" inspect --ca enroll/device-ca.pem dev-30 >/dev/null || die "dev-30"
ok "ca enrollment-ca: pathlen 0 under the device CA, chain for the control plane"

# --- inspect: hostile and inconsistent media ---------------------------------------------
cp -a fleet/dev-11 t1 && printf 'x' >>t1/ca.pem
refused TUF_E_LENGTH "$PROV" inspect t1
cp -a fleet/dev-11 t2 && rm t2/agent.conf
refused TUF_E_NOT_FOUND "$PROV" inspect t2
cp -a fleet/dev-11 t3 && rm t3/device.crt && ln -s ../fleet/dev-11/device.crt t3/device.crt
refused TUF_E_PATH "$PROV" inspect t3
cp -a fleet/dev-11 t4 && rm t4/agent.conf && mkfifo t4/agent.conf
timeout 10 "$PROV" inspect t4 >out.txt 2>&1 && die "FIFO accepted"
grep -q 'FIFO' out.txt || die "FIFO not named: $(cat out.txt)"
cp -a fleet/dev-11 t5 && touch t5/..evil
refused TUF_E_PATH "$PROV" inspect t5
cp -a fleet/dev-11 t6 && truncate -s 2G t6/root.json
refused SL_E_TOO_LARGE "$PROV" inspect t6
cp -a fleet/dev-11 t7 && cp fleet/dev-12/device.key t7/device.key
refused TUF_E_HASH "$PROV" inspect t7
cp -a fleet/dev-11 t8 && cp "$ROOT2" t8/root.json
refused TUF_E_LENGTH "$PROV" inspect t8
refused TUF_E_SIGNATURE "$PROV" inspect --ca pki/server-ca.crt fleet/dev-11
{ "$PROV" inspect --json t7 || true; } | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert not r["ok"] and r["problems"][0]["code"] == "TUF_E_HASH", r
assert r["problems"][1]["code"] == "SL_E_INVALID", r' || die "inspect --json problems"
ok "inspect refuses tampered, incomplete, symlinked, FIFO, extra, huge, mismatched media"

echo "all $n provisioning CLI checks passed"
