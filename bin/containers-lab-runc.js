#!/usr/bin/env node
/*
 * The `containers-lab-runc` command: an OCI runtime with runc's command line (agent/runc/),
 * bundled by `npm run build` into dist/agent/containers-lab-runc.js. containerd runs it as
 * `ctr run --runc-binary containers-lab-runc …`.
 */
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const bundle = join(__dirname, '..', 'dist', 'agent', 'containers-lab-runc.js');
if (!existsSync(bundle)) {
  process.stderr.write(`containers-lab-runc: not built yet: ${bundle} is missing; run \`npm run build\` first\n`);
  process.exit(1);
}
require(bundle).main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`${error && error.message ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
