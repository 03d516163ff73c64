#!/usr/bin/env node
/*
 * The `containers-lab` command: a thin shim that runs the bundled CLI (dist/agent/containers-lab.js,
 * built by `npm run build` from agent/cli/main.ts with esbuild), so the command starts in one
 * file load instead of compiling TypeScript.
 */
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const bundle = join(__dirname, '..', 'dist', 'agent', 'containers-lab.js');
if (!existsSync(bundle)) {
  process.stderr.write(`containers-lab: not built yet: ${bundle} is missing; run \`npm run build\` first\n`);
  process.exit(1);
}
const { main } = require(bundle);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`containers-lab: ${error && error.message ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
