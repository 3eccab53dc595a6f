// SPDX-License-Identifier: Apache-2.0
// Independent verification of the ceremony's repository with the tuf-js client: refresh from a
// trusted root and download targets, reading the repository directory through a file fetcher.
//   node tufjs-check.mjs INTEROP_DIR METADATA_DIR REPO_DIR TARGET_DIR [TARGET...]
// METADATA_DIR must hold the trusted root.json. Prints one JSON line; exit 0 or 1.
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';

const [interop, metadataDir, repo, targetDir, ...names] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(interop), 'package.json'));
const { Updater, BaseFetcher } = require('tuf-js');
const { DownloadHTTPError } = require('tuf-js/dist/error');

// file:// URLs: missing files are HTTP 404 to tuf-js, as a web server would answer.
class FileFetcher extends BaseFetcher {
	async fetch(url) {
		const file = new URL(url).pathname;
		if (!fs.existsSync(file)) throw new DownloadHTTPError('Failed to download', 404);
		return Readable.toWeb(fs.createReadStream(file));
	}
}

async function run() {
	const base = 'file://' + path.resolve(repo);
	const u = new Updater({
		metadataDir,
		metadataBaseUrl: base + '/metadata',
		targetDir,
		targetBaseUrl: base + '/targets',
		fetcher: new FileFetcher(),
	});
	await u.refresh();
	const got = [];
	for (const name of names) {
		const info = await u.getTargetInfo(name);
		if (!info) throw new Error(`target ${name}: not found`);
		const file = path.join(targetDir, encodeURIComponent(name));
		await u.downloadTarget(info, file);
		got.push({ name, length: info.length });
	}
	const root = JSON.parse(fs.readFileSync(path.join(metadataDir, 'root.json')));
	process.stdout.write(JSON.stringify({ root_version: root.signed.version, downloaded: got }) + '\n');
}

run().then(
	() => process.exit(0),
	(e) => {
		process.stderr.write(`tuf-js: ${e && e.message ? e.message : e}\n`);
		process.exit(1);
	},
);
