/*
 * The CLI's argument handling: the strict parser, every verb's options, `--`, the one-line usage
 * errors (exit code 2) and help. The non-root refusal and the bin shim are checked for real: the
 * CLI is bundled with esbuild (as `npm run build` does) and run as user `nobody`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError, formatVerbHelp, parseVerbArgs } from '../agent/command-line/args';
import type { VerbSpec } from '../agent/command-line/args';
import { NOT_ROOT_MESSAGE, VERBS, VERSION } from '../agent/cli/main';
import { runCli, type CliResult } from './helpers/cli';
import { runOptionsFrom } from '../agent/command-line/run-options';

const repo = resolve(__dirname, '..');

function specOf(name: string): VerbSpec {
  const verb = VERBS.find((candidate) => candidate.spec.name === name);
  if (!verb) throw new Error(`no verb ${name}`);
  return verb.spec;
}

function parse(verb: string, ...argv: string[]) {
  return parseVerbArgs(specOf(verb), argv);
}

function usageError(verb: string, ...argv: string[]): string {
  try {
    parse(verb, ...argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`expected a usage error for: ${verb} ${argv.join(' ')}`);
}

/** Runs main() with captured stdout/stderr. */
function runMain(...argv: string[]): Promise<CliResult> {
  return runCli(argv);
}

describe('run', () => {
  it('parses every option and the command after --', () => {
    const args = parse(
      'run', '-d', '--name', 'web', '--hostname=box', '--memory', '64m', '--cpus', '0.5', '--pids', '64',
      '--net', 'none', '--ns', 'pid,uts,mnt', '--userns', '--bridge', 'cl9', '--subnet', '10.99.0.0/24',
      'busybox', '--', 'sh', '-c', 'echo --name -d',
    );
    expect(args.positionals).toEqual(['busybox']);
    expect(args.command).toEqual(['sh', '-c', 'echo --name -d']);
    expect(runOptionsFrom(args)).toEqual({
      image: 'busybox',
      name: 'web',
      hostname: 'box',
      memory: '64m',
      cpus: 0.5,
      pids: 64,
      net: 'none',
      namespaces: ['pid', 'uts', 'mnt'],
      userns: true,
      bridge: 'cl9',
      subnet: '10.99.0.0/24',
      args: ['sh', '-c', 'echo --name -d'],
    });
  });

  it('runs the default command when there is no --, and keeps an empty -- as no command', () => {
    expect(runOptionsFrom(parse('run', 'busybox'))).toEqual({ image: 'busybox' });
    expect(runOptionsFrom(parse('run', 'busybox', '--'))).toEqual({ image: 'busybox' });
  });

  it('reads --config as an OCI document and rejects a file that is not one', () => {
    const config = { ociVersion: '1.1.0', process: { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } } };
    const read = (path: string): string => {
      if (path === 'good.json') return JSON.stringify(config);
      if (path === 'bad.json') return '{"ociVersion":';
      if (path === 'array.json') return '[]';
      throw Object.assign(new Error('missing'), { code: 'ENOENT' });
    };
    expect(runOptionsFrom(parse('run', '--config', 'good.json', 'busybox'), read).config).toEqual(config);
    expect(() => runOptionsFrom(parse('run', '--config', 'bad.json', 'busybox'), read)).toThrow(/--config: bad\.json is not valid JSON/);
    expect(() => runOptionsFrom(parse('run', '--config', 'array.json', 'busybox'), read)).toThrow(/must hold a JSON object/);
    expect(() => runOptionsFrom(parse('run', '--config', 'none.json', 'busybox'), read)).toThrow(/cannot read none\.json: ENOENT/);
  });

  it('maps the securityContext, pod, volume and init flags; repeated -v and comma lists collect', () => {
    const read = (path: string): string => {
      if (path === 'profile.json') return JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW' });
      throw Object.assign(new Error('missing'), { code: 'ENOENT' });
    };
    const options = runOptionsFrom(parse('run', '-u', '1000:1000', '--read-only', '--cap-drop', 'ALL', '--cap-add', 'NET_BIND_SERVICE,CHOWN', '--cap-add', 'KILL',
      '--seccomp', 'profile.json', '--no-new-privileges', '--pod', 'web', '-v', 'shared:/data', '-v', '/srv/site:/site:ro', '--init', 'echo ready', 'busybox'), read);
    expect(options).toMatchObject({
      user: '1000:1000', readOnlyRoot: true, capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE', 'CHOWN', 'KILL'],
      seccomp: { defaultAction: 'SCMP_ACT_ALLOW' }, noNewPrivileges: true, pod: 'web', init: ['sh', '-c', 'echo ready'],
      volumes: [{ name: 'shared', mountPath: '/data' }, { name: 'host-2', hostPath: '/srv/site', mountPath: '/site', readOnly: true }],
    });
    expect(() => runOptionsFrom(parse('run', '-v', 'shared', 'busybox'))).toThrow(/-v: expected NAME:\/path/);
    expect(() => runOptionsFrom(parse('run', '-v', 'a:/a:rx', 'busybox'))).toThrow(/-v: expected/);
    expect(runOptionsFrom(parse('run', '-v', 'a:/a:rw', 'busybox')).volumes).toEqual([{ name: 'a', mountPath: '/a' }]);
    expect(() => parse('run', '--pod', 'a', '--pod', 'b', 'busybox')).toThrow(/--pod given twice/);
  });

  it('reads --cpus as CPUs or Kubernetes millicores and passes --memory through for the agent to read', () => {
    expect(runOptionsFrom(parse('run', '--cpus', '500m', '--memory', '128Mi', 'busybox'))).toEqual({ image: 'busybox', cpus: 0.5, memory: '128Mi' });
    expect(runOptionsFrom(parse('run', '--cpus=2', 'busybox')).cpus).toBe(2);
    expect(runOptionsFrom(parse('run', '--cpus', '1500m', 'busybox')).cpus).toBe(1.5);
  });

  it('rejects bad values with one line naming the option', () => {
    const bad = (...argv: string[]): string => {
      try {
        runOptionsFrom(parse('run', ...argv));
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return (error as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(bad('--cpus', 'half', 'busybox')).toBe('--cpus expects a number of CPUs above 0 or millicores, e.g. 0.5 or 500m, got "half"');
    expect(bad('--cpus', '0', 'busybox')).toBe('--cpus expects a number of CPUs above 0 or millicores, e.g. 0.5 or 500m, got "0"');
    expect(bad('--pids', '6.5', 'busybox')).toBe('--pids expects a whole number of processes, got "6.5"');
    expect(bad('--net', 'wifi', 'busybox')).toBe('--net must be one of bridge, none, host, got "wifi"');
    expect(bad('--ns', 'pid,time', 'busybox')).toBe('--ns: unknown namespace "time" (known: cgroup, ipc, mnt, net, pid, user, uts)');
    expect(bad('--ns', ',', 'busybox')).toMatch(/--ns expects a comma-separated list/);
    // Any reference names a pulled image (the agent says whether it has it); a misspelt one is a usage error here.
    expect(runOptionsFrom(parse('run', 'alpine:3.20')).image).toBe('alpine:3.20');
    expect(runOptionsFrom(parse('run', '--entrypoint', '', 'alpine', '--', 'ls')).entrypoint).toEqual([]);
    expect(bad('Alpine!')).toMatch(/^run: invalid image reference "Alpine!": /);
    expect(bad('--entrypoint', 'ls', 'busybox')).toBe('run: --entrypoint applies to a pulled image; busybox runs the command after --');
  });

  it('rejects unknown options, missing values and a command without --', () => {
    expect(usageError('run', '--memroy', '64m', 'busybox')).toBe('run: unknown option --memroy (see: containers-lab run --help)');
    expect(usageError('run', '-x', 'busybox')).toBe('run: unknown option -x (see: containers-lab run --help)');
    expect(usageError('run', 'busybox', '--name')).toBe('run: option --name needs a value (N)');
    expect(usageError('run', '--name', 'a', '--name', 'b', 'busybox')).toBe('run: option --name given twice');
    expect(usageError('run', '--detach=yes', 'busybox')).toBe('run: option --detach takes no value');
    expect(usageError('run', 'busybox', 'sh')).toMatch(/^run: unexpected argument "sh"; put the command after --/);
    expect(usageError('run')).toMatch(/^run: missing the image \(busybox\)/);
  });
});

describe('the other verbs', () => {
  it('ps: -a, --all, --json; no arguments', () => {
    expect([...parse('ps', '-a', '--json').options]).toEqual([['all', true], ['json', true]]);
    expect(parse('ps', '--all').options.get('all')).toBe(true);
    expect(usageError('ps', 'web')).toBe('ps: unexpected argument "web"');
    expect(usageError('ps', '-q')).toMatch(/^ps: unknown option -q/);
  });

  it('exec: clustered -it, name, and a required command after --', () => {
    const args = parse('exec', '-it', 'web', '--', 'sh', '-c', 'ls -l');
    expect(args.options.get('tty')).toBe(true);
    expect(args.options.get('interactive')).toBe(true);
    expect(args.positionals).toEqual(['web']);
    expect(args.command).toEqual(['sh', '-c', 'ls -l']);
    expect(parse('exec', 'web', '-t', '--', 'ps').options.get('tty')).toBe(true);
    expect(usageError('exec', 'web')).toMatch(/^exec: missing the command to run after --/);
    expect(usageError('exec', 'web', '--')).toMatch(/^exec: missing the command to run after --/);
    expect(usageError('exec', 'web', 'ls')).toMatch(/^exec: unexpected argument "ls"; put the command after --/);
    expect(usageError('exec', '--', 'ls')).toMatch(/^exec: missing NAME\|ID/);
  });

  it('inspect: one name and --json', () => {
    const args = parse('inspect', 'web', '--json');
    expect(args.positionals).toEqual(['web']);
    expect(args.options.get('json')).toBe(true);
    expect(usageError('inspect')).toMatch(/^inspect: missing NAME\|ID/);
    expect(usageError('inspect', 'a', 'b')).toBe('inspect: unexpected argument "b"');
    expect(usageError('inspect', 'a', '--', 'x')).toBe('inspect: takes no command after --');
  });

  it('logs: -f and --json', () => {
    const args = parse('logs', '-f', 'web');
    expect(args.options.get('follow')).toBe(true);
    expect(parse('logs', '--follow', '--json', 'web').options.get('json')).toBe(true);
  });

  it('stop: -t SECONDS in every spelling, several names', () => {
    expect(parse('stop', '-t', '5', 'a', 'b').options.get('time')).toBe('5');
    expect(parse('stop', '-t5', 'a').options.get('time')).toBe('5');
    expect(parse('stop', '--time=0', 'a').options.get('time')).toBe('0');
    expect(parse('stop', 'a', 'b', 'c').positionals).toEqual(['a', 'b', 'c']);
    expect(usageError('stop', '-t')).toBe('stop: option -t needs a value (SECONDS)');
    expect(usageError('stop')).toMatch(/^stop: missing NAME/);
  });

  it('rm: -f and several names', () => {
    const args = parse('rm', '-f', 'a', 'b');
    expect(args.options.get('force')).toBe(true);
    expect(args.positionals).toEqual(['a', 'b']);
  });

  it('serve: --socket and --stdio; the global options work on every verb', () => {
    const args = parse('serve', '--socket', '/tmp/x.sock', '--stdio', '--root', '/tmp/state');
    expect(args.options.get('socket')).toBe('/tmp/x.sock');
    expect(args.options.get('stdio')).toBe(true);
    expect(args.options.get('root')).toBe('/tmp/state');
    for (const verb of VERBS) expect(parseVerbArgs(verb.spec, ['--help']).options.get('help')).toBe(true);
  });

  it('every verb has help that lists each of its options', () => {
    for (const verb of VERBS) {
      const help = formatVerbHelp(verb.spec);
      expect(help).toContain(`Usage: containers-lab ${verb.spec.usage}`);
      for (const option of verb.spec.options) expect(help).toContain(`--${option.long}`);
    }
  });
});

describe('main()', () => {
  it('prints help and the version with exit code 0', async () => {
    const help = await runMain('help');
    expect(help.code).toBe(0);
    for (const verb of VERBS) expect(help.stdout).toContain(`  ${verb.spec.name} `);
    expect((await runMain('help', 'run')).stdout).toContain('--memory SIZE');
    expect((await runMain('exec', '--help')).stdout).toContain('Usage: containers-lab exec');
    expect(await runMain('--version')).toEqual({ code: 0, stdout: `containers-lab ${VERSION}\n`, stderr: '' });
  });

  it('reports usage errors as exactly one line with exit code 2', async () => {
    for (const argv of [['frobnicate'], ['run', '--memroy', '1', 'busybox'], ['--bogus', 'ps'], ['ps', 'extra'], ['stop', '-t', 'soon', 'a'], ['--root', '/a', 'ps', '--root', '/b']]) {
      const result = await runMain(...argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^containers-lab: [^\n]+\n$/);
    }
    expect((await runMain('frobnicate')).stderr).toBe('containers-lab: unknown command "frobnicate" (see: containers-lab help)\n');
    expect((await runMain()).code).toBe(2);
  });
});

describe('the bundled command, run for real', () => {
  let work: string;
  let bundle: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cl-cli-args-'));
    chmodSync(work, 0o755); // `nobody` must be able to read the bundle
    bundle = join(work, 'dist', 'agent', 'containers-lab.js');
    const runtimeExists = existsSync(join(repo, 'agent/runtime/runtime.ts'));
    await build({
      entryPoints: [join(repo, 'agent/cli/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: bundle,
      external: ['koffi', ...(runtimeExists ? [] : ['../runtime/runtime'])],
      logLevel: 'silent',
    });
    mkdirSync(join(work, 'bin'));
    copyFileSync(join(repo, 'bin/containers-lab.js'), join(work, 'bin/containers-lab.js'));
    chmodSync(join(work, 'bin/containers-lab.js'), 0o755);
  });

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const shim = (argv: string[], uid?: number) =>
    spawnSync(process.execPath, [join(work, 'bin/containers-lab.js'), ...argv], {
      encoding: 'utf8',
      env: { ...process.env, NODE_PATH: join(repo, 'node_modules'), CONTAINERS_LAB_SOCKET: join(work, 'none.sock') },
      ...(uid === undefined ? {} : { uid, gid: uid }),
    });

  it('refuses a non-root caller with one line, but still shows help and the version', () => {
    for (const argv of [['ps'], ['run', '-d', 'busybox'], ['serve']]) {
      const result = shim(argv, 65534);
      expect(result.stderr).toBe(`containers-lab: ${NOT_ROOT_MESSAGE}\n`);
      expect(result.status).toBe(1);
    }
    expect(shim(['--version'], 65534)).toMatchObject({ status: 0, stdout: `containers-lab ${VERSION}\n` });
    expect(shim(['help'], 65534).status).toBe(0);
    expect(shim(['run', '--help'], 65534).stdout).toContain('Usage: containers-lab run');
  });

  it('the shim explains a missing build in one line', () => {
    const bare = join(work, 'bare');
    mkdirSync(join(bare, 'bin'), { recursive: true });
    writeFileSync(join(bare, 'bin/containers-lab.js'), '');
    copyFileSync(join(repo, 'bin/containers-lab.js'), join(bare, 'bin/containers-lab.js'));
    const result = spawnSync(process.execPath, [join(bare, 'bin/containers-lab.js'), 'ps'], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^containers-lab: not built yet: .*dist\/agent\/containers-lab\.js is missing; run `npm run build` first\n$/);
  });
});
