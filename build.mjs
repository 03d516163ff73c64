// Builds the agent as one bundled file plus koffi's native part, ready to copy to a lab VM:
//   dist/agent/containers-lab.js          the CLI and service (agent/cli/main.ts)
//   dist/agent/containers-lab-runc.js     the OCI runtime with runc's command line: a small loader
//                                          (agent/runc/code-cache.ts) of containers-lab-runc.bundle.js
//                                          (agent/runc/main.ts) that keeps V8's code cache of it
//   dist/agent/node_modules/koffi/…       koffi's loader and its native module(s)
// the benchmark runner dist/bench.js, and the VS Code extension dist/extension.js.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const out = join(root, 'dist', 'agent');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  external: ['koffi'],
  sourcemap: 'linked',
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: [join(root, 'agent/cli/main.ts')],
  outfile: join(out, 'containers-lab.js'),
  // Run directly (`node containers-lab.js run …`, as on the VM) or be required by bin/containers-lab.js.
  footer: {
    js: 'if (require.main === module) module.exports.main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error) => { process.stderr.write(`containers-lab: ${error && error.message ? error.message : error}\\n`); process.exitCode = 1; });',
  },
});

// The OCI runtime with runc's command line (agent/runc/main.ts), for containerd's shim: a lean entry
// of its own, so each one-shot invocation loads only what it needs. containers-lab-runc.js, the file
// everything runs (`node containers-lab-runc.js VERB …`, or require(…).main), is a small loader that
// compiles the bundle with V8's code cache (agent/runc/code-cache.ts says why and how); the cache is
// keyed by a hash of the bundle's bytes, so a rebuilt bundle never meets an old cache.
const runcFooter = {
  js: 'if (require.main === module) module.exports.main(process.argv.slice(2)).then((code) => process.exit(code), (error) => { process.stderr.write(`${error && error.message ? error.message : error}\\n`); process.exit(1); });',
};
const RUNC_BUNDLE_FILE = 'containers-lab-runc.bundle.js';
// koffi through agent/runc/koffi-loader.cjs, copied beside the bundle (below): it loads koffi's
// native module in ~2 ms where koffi's own loader takes ~10 (the file says how, and when not).
const koffiByPath = {
  name: 'koffi-by-path',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^koffi$/ }, () => ({ path: './koffi-loader.cjs', external: true }));
  },
};
// Without whitespace and comments: a third smaller, and pure ASCII (esbuild escapes the rest), which
// the loader reads as latin1 — reading a 0.7 MB file with a few non-ASCII comments as UTF-8 took
// 5–15 ms of each command's start-up. The source map keeps errors' places readable.
await build({ ...common, entryPoints: [join(root, 'agent/runc/main.ts')], outfile: join(out, RUNC_BUNDLE_FILE), footer: runcFooter, plugins: [koffiByPath], minifyWhitespace: true });
const runcBundleBytes = readFileSync(join(out, RUNC_BUNDLE_FILE));
if (runcBundleBytes.some((byte) => byte > 0x7f)) throw new Error(`build: ${RUNC_BUNDLE_FILE} is not pure ASCII: agent/runc/code-cache.ts reads it as latin1`);
const runcBundleHash = createHash('sha256').update(runcBundleBytes).digest('hex').slice(0, 16);
await build({
  ...common,
  entryPoints: [join(root, 'agent/runc/code-cache.ts')],
  outfile: join(out, 'containers-lab-runc.js'),
  sourcemap: false,
  define: { RUNC_BUNDLE_FILE: JSON.stringify(RUNC_BUNDLE_FILE), RUNC_BUNDLE_HASH: JSON.stringify(runcBundleHash) },
  footer: runcFooter,
});

// koffi finds its native module relative to its own files: ship the package as it is installed.
const modules = join(out, 'node_modules');
cpSync(join(root, 'node_modules/koffi'), join(modules, 'koffi'), {
  recursive: true,
  // leave out koffi's C++ sources and docs; keep its JavaScript and the prebuilt native modules
  filter: (path) => !/\/koffi\/(vendor|doc)(\/|$)/.test(path) && !/\.(cc|hh|h|c|cpp|inc|S|asm|txt|md)$/.test(path),
});
// containers-lab-runc.bundle.js requires koffi through this file, which falls back on koffi's index.cjs.
cpSync(join(root, 'agent/runc/koffi-loader.cjs'), join(out, 'koffi-loader.cjs'));
if (!existsSync(join(modules, 'koffi', 'index.cjs'))) throw new Error('build: koffi has no index.cjs any more: change agent/runc/koffi-loader.cjs');
const natives = join(root, 'node_modules/@koromix');
for (const entry of existsSync(natives) ? readdirSync(natives) : []) {
  if (entry.startsWith('koffi-linux-')) cpSync(join(natives, entry), join(modules, '@koromix', entry), { recursive: true });
}
// npm installs only this machine's native module; a lab VM on Apple Silicon needs the arm64 one.
for (const arch of ['x64', 'arm64']) {
  const target = join(modules, '@koromix', `koffi-linux-${arch}`);
  if (existsSync(target)) continue;
  const fetched = fetchNativeKoffi(arch);
  if (fetched) cpSync(fetched, target, { recursive: true });
  else console.warn(`build: koffi's linux-${arch} native module is not in the bundle (offline?): the agent will not run on ${arch} hosts`);
}
writeFileSync(join(out, 'package.json'), JSON.stringify({ name: 'containers-lab-agent', private: true, main: 'containers-lab.js' }, null, 2));
// The labs (levels and exercises) travel with the agent: the lab host checks them against its own kernel.
cpSync(join(root, 'labs'), join(out, 'labs'), { recursive: true });

/** The koffi native package for `arch`, at the installed koffi's version, cached in node_modules/.cache. */
function fetchNativeKoffi(arch) {
  const version = JSON.parse(readFileSync(join(root, 'node_modules/koffi/package.json'), 'utf8')).version;
  const cache = join(root, 'node_modules', '.cache', 'containers-lab', `koffi-linux-${arch}-${version}`);
  if (existsSync(join(cache, 'package.json'))) return cache;
  const scratch = mkdtempSync(join(tmpdir(), 'koffi-native-'));
  try {
    const packed = spawnSync('npm', ['pack', `@koromix/koffi-linux-${arch}@${version}`, '--silent'], { cwd: scratch, encoding: 'utf8' });
    const tarball = packed.status === 0 ? packed.stdout.trim().split('\n').pop() : null;
    if (!tarball) return null;
    mkdirSync(cache, { recursive: true });
    const untar = spawnSync('tar', ['-xzf', join(scratch, tarball), '-C', cache, '--strip-components=1']);
    return untar.status === 0 ? cache : null;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (existsSync(join(root, 'bench/index.ts'))) {
  await build({ ...common, entryPoints: [join(root, 'bench/index.ts')], outfile: join(root, 'dist', 'bench.js'), external: ['koffi'] });
}

// The VS Code extension: one CommonJS file with ssh2 bundled in, so the .vsix needs no node_modules.
// 'vscode' is provided by the extension host. ssh2 tries two optional native modules and falls back
// to pure JavaScript when they are missing: 'cpu-features' (to prefer AES-GCM on CPUs with AES-NI)
// and its own compiled crypto binding. Both stay outside the bundle; their require() fails at run
// time inside ssh2's try/catch, exactly as on a machine where they were never built.
await build({
  ...common,
  entryPoints: [join(root, 'extension/extension.ts')],
  outfile: join(root, 'dist', 'extension.js'),
  external: ['vscode', 'cpu-features', './crypto/build/Release/sshcrypto.node'],
  sourcemap: false,
  metafile: true,
}).then(({ metafile }) => {
  // The extension host must never load the runtime: koffi is a native module for the lab host only.
  const runtimeInputs = Object.keys(metafile.inputs).filter((input) => /agent\/(runtime|kernel|labs)\/|node_modules\/koffi\//.test(input));
  if (runtimeInputs.length) throw new Error(`dist/extension.js would bundle agent runtime code: ${runtimeInputs.slice(0, 5).join(', ')}`);
});

// Webviews: each folder under extension/webviews/ (but shared/) with a view/main.ts is one page,
// bundled for the browser to dist/webviews/<name>.js, its view/style.css to dist/webviews/<name>.css.
const webviewsDir = join(root, 'extension', 'webviews');
for (const name of existsSync(webviewsDir) ? readdirSync(webviewsDir) : []) {
  const page = join(webviewsDir, name, 'view');
  if (name === 'shared' || !existsSync(join(page, 'main.ts'))) continue;
  const browser = { bundle: true, platform: 'browser', target: 'chrome120', format: 'iife', minify: true, sourcemap: false, logLevel: 'warning' };
  await build({ ...browser, entryPoints: [join(page, 'main.ts')], outfile: join(root, 'dist', 'webviews', `${name}.js`) });
  if (existsSync(join(page, 'style.css'))) {
    await build({ ...browser, entryPoints: [join(page, 'style.css')], outfile: join(root, 'dist', 'webviews', `${name}.css`) });
  }
}
