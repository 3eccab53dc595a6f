#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Regenerate the crypto unit-test fixtures (public keys, signatures, key ids) in this directory.
# Needs the openssl CLI and Debian's python3-securesystemslib. Private keys are thrown away.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$here"

printf '{"signed":{"_type":"timestamp","version":1},"note":"sluice crypto fixture"}' > msg.bin

pss() {
	openssl dgst -sha256 -sign "$tmp/$1.key" -sigopt rsa_padding_mode:pss \
		-sigopt rsa_mgf1_md:sha256 -sigopt "rsa_pss_saltlen:$2" -out "$3" msg.bin
}

# ECDSA P-256: SPKI PEM (named curve), the same key with explicit curve parameters and with a
# compressed point, and a DER ECDSA-Sig-Value over SHA-256 of msg.bin.
openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/p256.key"
openssl pkey -in "$tmp/p256.key" -pubout -out ecdsa-p256.pem
openssl ec -in "$tmp/p256.key" -pubout -param_enc explicit -out ecdsa-p256-explicit.pem 2>/dev/null
openssl ec -in "$tmp/p256.key" -pubout -conv_form compressed -out ecdsa-p256-compressed.pem \
	2>/dev/null
openssl dgst -sha256 -sign "$tmp/p256.key" -out ecdsa-p256.sig msg.bin
# The same key signing with SHA-384: must not verify under ecdsa-sha2-nistp256.
openssl dgst -sha384 -sign "$tmp/p256.key" -out ecdsa-p256-sha384.sig msg.bin

# A second P-256 key, a P-384 key (refused) and a secp256k1 key (refused).
openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/p256b.key"
openssl pkey -in "$tmp/p256b.key" -pubout -out ecdsa-p256-other.pem
openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$tmp/p384.key"
openssl pkey -in "$tmp/p384.key" -pubout -out ecdsa-p384.pem
openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out "$tmp/k256.key"
openssl pkey -in "$tmp/k256.key" -pubout -out ecdsa-secp256k1.pem

# RSA-PSS-SHA256 with 2048 and 3072 bit keys; salt length = digest length and = maximum.
for bits in 2048 3072; do
	openssl genpkey -quiet -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" -out "$tmp/rsa$bits.key"
	openssl pkey -in "$tmp/rsa$bits.key" -pubout -out "rsa$bits.pem"
	pss "rsa$bits" digest "rsa$bits-salt32.sig"
	pss "rsa$bits" max "rsa$bits-saltmax.sig"
done
# The 2048-bit key signing with PKCS#1 v1.5 (must fail under PSS), and a 1024-bit key (refused).
openssl dgst -sha256 -sign "$tmp/rsa2048.key" -out rsa2048-pkcs1.sig msg.bin
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$tmp/rsa1024.key"
openssl pkey -in "$tmp/rsa1024.key" -pubout -out rsa1024.pem

# Key ids as securesystemslib computes them: sha256 of the canonical JSON of the key object.
/usr/bin/python3 - <<'PY'
import hashlib, json
from securesystemslib.formats import encode_canonical

def key(keytype, scheme, public, **extra):
    k = {"keytype": keytype, "scheme": scheme, "keyval": {"public": public}}
    k.update(extra)
    return k

keys = [
    # RFC 8032 test 1 public key.
    key("ed25519", "ed25519", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
    key("ed25519", "ed25519", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        keyid_hash_algorithms=["sha256", "sha512"]),
    key("ecdsa", "ecdsa-sha2-nistp256", open("ecdsa-p256.pem").read()),
    key("rsa", "rsassa-pss-sha256", open("rsa2048.pem").read()),
]
out = []
for k in keys:
    canon = encode_canonical(k).encode("utf-8")
    out.append({"key": k, "keyid": hashlib.sha256(canon).hexdigest()})
with open("keyids.json", "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write("\n")
PY
echo "fixtures written to $here"
