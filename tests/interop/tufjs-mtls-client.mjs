// SPDX-License-Identifier: Apache-2.0
// tuf-js's Updater over mutual TLS: the same init / refresh / download command line as
// tufjs-client.mjs, plus --ca-file, --cert and --key. tuf-js 6 fetches with the global
// fetch(), which cannot present a client certificate, so this passes the Updater a fetcher
// (a BaseFetcher subclass) that GETs with node:https and an Agent holding the device
// certificate and key and trusting only the given CA.
// Exits 0 on success, 1 with one "Failed to <verb>: <why>" line, 77 when tuf-js is missing.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let tuf, models, tufErrors;
try {
	tuf = require('tuf-js');
	models = require('@tufjs/models');
	// DownloadHTTPError is not exported by the package index, but the Updater tells "no newer
	// root" (403/404) from a failure by its class: load the very module it uses.
	tufErrors = require(path.join(path.dirname(require.resolve('tuf-js')), 'error.js'));
} catch (e) {
	const why = e.message.split('\n')[0];
	process.stdout.write(`skip: tuf-js is not installed (\`npm ci\` in tests/interop): ${why}\n`);
	process.exit(77);
}
const { Updater, BaseFetcher } = tuf;
const { Metadata, MetadataKind } = models;

const FETCH_TIMEOUT_MS = 30000;

function quote(name) {
	let out = '';
	for (const b of Buffer.from(name, 'utf8')) {
		const c = String.fromCharCode(b);
		out += /[A-Za-z0-9._~-]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
	}
	return out;
}

function parse(argv) {
	const o = { names: [] };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const val = () => {
			if (i + 1 >= argv.length) throw new Error(`option ${a} needs a value`);
			return argv[++i];
		};
		if (a === '--metadata-dir') o.metadataDir = val();
		else if (a === '--metadata-url') o.metadataUrl = val();
		else if (a === '--target-name') o.names.push(val());
		else if (a === '--target-base-url') o.targetBaseUrl = val();
		else if (a === '--target-dir') o.targetDir = val();
		else if (a === '--ca-file') o.caFile = val();
		else if (a === '--cert') o.cert = val();
		else if (a === '--key') o.key = val();
		else if (!o.verb) o.verb = a;
		else (o.args = o.args || []).push(a);
	}
	return o;
}

class MtlsFetcher extends BaseFetcher {
	constructor(o) {
		super();
		if (!o.caFile) throw new Error('--ca-file is required for https');
		this.agent = new https.Agent({
			ca: fs.readFileSync(o.caFile),
			cert: o.cert ? fs.readFileSync(o.cert) : undefined,
			key: o.key ? fs.readFileSync(o.key) : undefined,
			minVersion: 'TLSv1.2',
			keepAlive: true,
		});
	}

	fetch(url) {
		return new Promise((resolve, reject) => {
			const req = https.get(url, { agent: this.agent, timeout: FETCH_TIMEOUT_MS }, (res) => {
				if (res.statusCode !== 200) {
					res.resume();
					reject(new tufErrors.DownloadHTTPError('Failed to download', res.statusCode));
					return;
				}
				resolve(Readable.toWeb(res));
			});
			req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
			req.on('error', (e) => reject(new Error(`${url}: ${e.code || ''} ${e.message}`)));
		});
	}

	close() {
		this.agent.destroy();
	}
}

function updater(o, fetcher) {
	return new Updater({
		metadataDir: o.metadataDir,
		metadataBaseUrl: o.metadataUrl,
		targetDir: o.targetDir,
		targetBaseUrl: o.targetBaseUrl,
		fetcher,
		config: { fetchRetry: 0, fetchTimeout: FETCH_TIMEOUT_MS },
	});
}

async function run(o) {
	if (o.verb === 'init') {
		const data = fs.readFileSync(o.args[0]);
		const md = Metadata.fromJSON(MetadataKind.Root, JSON.parse(data.toString('utf8')));
		md.verifyDelegate(MetadataKind.Root, md);
		fs.writeFileSync(path.join(o.metadataDir, 'root.json'), data);
		return;
	}
	const fetcher = new MtlsFetcher(o);
	try {
		const u = updater(o, fetcher);
		if (o.verb === 'refresh') {
			await u.refresh();
		} else if (o.verb === 'download') {
			await u.refresh();
			for (const name of o.names) {
				const info = await u.getTargetInfo(name);
				if (!info) throw new Error(`target ${name}: not found`);
				const file = path.join(o.targetDir, quote(name));
				if (!(await u.findCachedTarget(info, file))) await u.downloadTarget(info, file);
			}
		} else {
			throw new Error(`unknown verb ${o.verb}`);
		}
	} finally {
		fetcher.close();
	}
}

let o = {};
try {
	o = parse(process.argv.slice(2));
} catch (e) {
	process.stderr.write(`sluice-tuf: Failed to parse the command line: ${e.message}\n`);
	process.exit(1);
}
run(o).then(
	() => process.exit(0),
	(e) => {
		let msg = String(e && e.message ? e.message : e);
		if (e && e.statusCode) msg += ` (HTTP ${e.statusCode})`;
		process.stderr.write(`sluice-tuf: Failed to ${o.verb || 'run'}: ${msg.replace(/\s+/g, ' ')}\n`);
		process.exit(1);
	},
);
