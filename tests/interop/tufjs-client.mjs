// SPDX-License-Identifier: Apache-2.0
// tuf-js's Updater behind the same client-under-test command line as sluice-tuf
// (init / refresh / download, exit 0/1, one "Failed to <verb>: <why>" line on stderr),
// so the scenarios of tests/tuf can run against an independent TUF client too.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Updater } = require('tuf-js');
const { Metadata, MetadataKind } = require('@tufjs/models');

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
		else if (!o.verb) o.verb = a;
		else (o.args = o.args || []).push(a);
	}
	return o;
}

function updater(o) {
	return new Updater({
		metadataDir: o.metadataDir,
		metadataBaseUrl: o.metadataUrl,
		targetDir: o.targetDir,
		targetBaseUrl: o.targetBaseUrl,
		config: { fetchRetry: 0, fetchTimeout: 30000 },
	});
}

async function run(o) {
	if (o.verb === 'init') {
		const data = fs.readFileSync(o.args[0]);
		const md = Metadata.fromJSON(MetadataKind.Root, JSON.parse(data.toString('utf8')));
		md.verifyDelegate(MetadataKind.Root, md);
		fs.writeFileSync(path.join(o.metadataDir, 'root.json'), data);
	} else if (o.verb === 'refresh') {
		await updater(o).refresh();
	} else if (o.verb === 'download') {
		const u = updater(o);
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
}

const o = parse(process.argv.slice(2));
run(o).then(
	() => process.exit(0),
	(e) => {
		const msg = String(e && e.message ? e.message : e).replace(/\s+/g, ' ');
		process.stderr.write(`sluice-tuf: Failed to ${o.verb || 'run'}: ${msg}\n`);
		process.exit(1);
	},
);
