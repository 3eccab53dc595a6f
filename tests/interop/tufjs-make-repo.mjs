// SPDX-License-Identifier: Apache-2.0
// Sign a TUF repository with tuf-js's @tufjs/models (independent of sluice): Ed25519 keys
// from node:crypto, consistent snapshots, one root rotation, a delegated role and two
// targets. Usage: node tufjs-make-repo.mjs OUTDIR; writes OUTDIR/metadata, OUTDIR/targets
// and OUTDIR/expected.json ({target path: content as hex}).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const {
	Metadata, Root, Timestamp, Snapshot, Targets, Key, MetaFile, TargetFile, Signature,
} = require('@tufjs/models');
const { DelegatedRole } = require('@tufjs/models/dist/role');
const { Delegations } = require('@tufjs/models/dist/delegations');
const { canonicalize } = require('@tufjs/canonical-json');

const out = process.argv[2];
if (!out) {
	process.stderr.write('usage: tufjs-make-repo.mjs OUTDIR\n');
	process.exit(2);
}
const SPEC = '1.0.31';
const expires = (days) =>
	new Date(Date.now() + days * 86400e3).toISOString().replace(/\.\d{3}Z$/, 'Z');

function newKey() {
	const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
	const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
	const body = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw.toString('hex') } };
	const keyID = crypto.createHash('sha256').update(canonicalize(body)).digest('hex');
	const key = new Key({ keyID, keyType: 'ed25519', scheme: 'ed25519', keyVal: body.keyval });
	const signer = (data) =>
		new Signature({ keyID, sig: crypto.sign(null, data, privateKey).toString('hex') });
	return { key, signer, keyID };
}

function write(rel, data) {
	const p = path.join(out, rel);
	fs.mkdirSync(path.dirname(p), { recursive: true });
	fs.writeFileSync(p, data);
	return data;
}

function signed(md, ...keys) {
	for (const k of keys) md.sign(k.signer);
	return Buffer.from(JSON.stringify(md.toJSON(), null, 1));
}

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
const k = { root: newKey(), timestamp: newKey(), snapshot: newKey(), targets: newKey() };
const delegatedKey = newKey();

function rootMd(version, rootKey) {
	const root = new Root({ version, specVersion: SPEC, expires: expires(365),
		consistentSnapshot: true });
	root.addKey(rootKey.key, 'root');
	for (const r of ['timestamp', 'snapshot', 'targets']) root.addKey(k[r].key, r);
	return new Metadata(root);
}

// root v1, then v2 with a new root key, signed by old and new
write('metadata/1.root.json', signed(rootMd(1, k.root), k.root));
const newRootKey = newKey();
write('metadata/2.root.json', signed(rootMd(2, newRootKey), k.root, newRootKey));

const expected = {};
function target(p, content) {
	const data = Buffer.from(content);
	const { dir, base } = path.posix.parse(p);
	write(path.posix.join('targets', dir, `${sha256(data)}.${base}`), data);
	expected[p] = data.toString('hex');
	return new TargetFile({ length: data.length, path: p, hashes: { sha256: sha256(data) } });
}

const delegated = new Targets({
	version: 1, specVersion: SPEC, expires: expires(90),
	targets: { 'models/detector.onnx': target('models/detector.onnx', 'model bytes '.repeat(40)) },
});
const delegatedBytes = write('metadata/1.models.json',
	signed(new Metadata(delegated), delegatedKey));

const top = new Targets({
	version: 1, specVersion: SPEC, expires: expires(90),
	targets: { 'file1.txt': target('file1.txt', 'hello from tuf-js\n') },
	delegations: new Delegations({
		keys: { [delegatedKey.keyID]: delegatedKey.key },
		roles: {
			models: new DelegatedRole({ name: 'models', keyIDs: [delegatedKey.keyID],
				threshold: 1, terminating: true, paths: ['models/*'] }),
		},
	}),
});
const topBytes = write('metadata/1.targets.json', signed(new Metadata(top), k.targets));

const snapshot = new Snapshot({
	version: 1, specVersion: SPEC, expires: expires(7),
	meta: {
		'targets.json': new MetaFile({ version: 1, length: topBytes.length,
			hashes: { sha256: sha256(topBytes) } }),
		'models.json': new MetaFile({ version: 1 }),
	},
});
const snapBytes = write('metadata/1.snapshot.json', signed(new Metadata(snapshot), k.snapshot));
void delegatedBytes;

const timestamp = new Timestamp({
	version: 1, specVersion: SPEC, expires: expires(1),
	snapshotMeta: new MetaFile({ version: 1, length: snapBytes.length,
		hashes: { sha256: sha256(snapBytes) } }),
});
write('metadata/timestamp.json', signed(new Metadata(timestamp), k.timestamp));
write('expected.json', JSON.stringify(expected, null, 1));
