/*
 * The agent as a service, with the REAL runtime: the socket's permissions as the file system shows
 * them, malformed JSON-RPC on a raw socket (the service must stay up), a second `serve` refused,
 * CLI verbs going through the service, notifications to every connection, per-connection exec
 * sessions, `--stdio`, and SIGTERM on a real `containers-lab serve` process (containers outlive it).
 *
 * Containers here use --net none (no netdevs to leave behind) and names starting "svc-test-";
 * each state root is a temporary directory removed at the end, after checking nothing of it is
 * still mounted.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli';
import { lineReader } from './helpers/json-lines';
import { RpcErrorCode } from '../agent/protocol';
import type { AgentNotifications } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { attachAgent, connectAgent } from '../agent/service/client';
import type { AgentClient } from '../agent/service/client';
import { serve } from '../agent/service/server';
import type { AgentServer } from '../agent/service/server';

const repo = resolve(__dirname, '..');

async function openRealRuntime(stateRoot: string): Promise<ContainerRuntime> {
  const { openRuntime } = await import('../agent/runtime/runtime.js');
  return openRuntime({ stateRoot });
}

let work: string;
let stateRoot: string;
let socketPath: string;
let runtime: ContainerRuntime;
let server: AgentServer;
const clients: AgentClient[] = [];
/** What the service logs (its complaints about failed internal steps). */
const serviceLog: string[] = [];
const sockets: Socket[] = [];

async function client(): Promise<AgentClient> {
  const connected = await connectAgent(socketPath);
  if (!connected) throw new Error(`no agent on ${socketPath}`);
  clients.push(connected);
  return connected;
}

async function rawSocket(): Promise<{ socket: Socket; next: () => Promise<Record<string, unknown>> }> {
  const socket = createConnection(socketPath);
  sockets.push(socket);
  await new Promise<void>((resolveConnect, reject) => socket.once('connect', resolveConnect).once('error', reject));
  const read = lineReader(socket);
  const next = (): Promise<Record<string, unknown>> => read() as Promise<Record<string, unknown>>;
  return { socket, next };
}

/** Runs the CLI in this process with captured output. */
function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWith({ socket: socketPath, root: stateRoot }, ...argv);
}

async function cliWith(
  where: { socket: string; root: string; stdin?: string },
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(['--socket', where.socket, '--root', where.root, ...argv], where.stdin);
}

function processAlive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function mountsUnder(directory: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((target) => target.startsWith(directory));
}

async function removeAllContainers(target: ContainerRuntime): Promise<void> {
  for (const container of target.list()) await target.remove(container.id, true);
}

describe('containers-lab serve with the real runtime', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cl-service-test-'));
    stateRoot = join(work, 'state');
    socketPath = join(work, 'run', 'agent.sock'); // "run" does not exist yet: serve creates it
    runtime = await openRealRuntime(stateRoot);
    server = await serve(runtime, { socketPath, handleSignals: false, log: (line) => serviceLog.push(line) });
  });

  afterAll(async () => {
    for (const connected of clients) connected.close();
    for (const socket of sockets) socket.destroy();
    if (runtime) await removeAllContainers(runtime);
    await server?.close();
    expect(existsSync(socketPath)).toBe(false);
    expect(mountsUnder(work)).toEqual([]);
    rmSync(work, { recursive: true, force: true });
  });

  it('creates the socket root-only: mode 0600 in a new 0700 directory', () => {
    const socket = statSync(socketPath);
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);
    expect(socket.uid).toBe(0);
    expect(statSync(join(work, 'run')).mode & 0o777).toBe(0o700);
  });

  it('answers malformed JSON-RPC with the right errors and stays up', async () => {
    const { socket, next } = await rawSocket();
    const send = (text: string): void => void socket.write(`${text}\n`);
    send('{not json');
    expect(await next()).toMatchObject({ id: null, error: { code: RpcErrorCode.ParseError } });
    send('"just a string"');
    expect(await next()).toMatchObject({ id: null, error: { code: RpcErrorCode.InvalidRequest } });
    send('{"jsonrpc":"2.0","id":1,"method":"container.explode"}');
    expect(await next()).toMatchObject({ id: 1, error: { code: RpcErrorCode.MethodNotFound } });
    send('{"jsonrpc":"2.0","id":2,"method":"container.inspect"}');
    expect(await next()).toMatchObject({ id: 2, error: { code: RpcErrorCode.InvalidParams, message: 'container.inspect: missing parameter "id"' } });
    send('{"jsonrpc":"2.0","id":3,"method":"container.stop","params":{"id":"x","timeoutSeconds":"soon"}}');
    expect(await next()).toMatchObject({ id: 3, error: { code: RpcErrorCode.InvalidParams, message: 'container.stop: parameter "timeoutSeconds" must be a number' } });
    send('{"jsonrpc":"2.0","id":4,"method":"container.run","params":{"namespaces":["pid","time"]}}');
    expect(await next()).toMatchObject({ id: 4, error: { code: RpcErrorCode.InvalidParams } });
    send('{"jsonrpc":"2.0","id":5,"method":"container.run","params":{"memroy":"64m"}}');
    expect(await next()).toMatchObject({ id: 5, error: { code: RpcErrorCode.InvalidParams, message: 'container.run: unknown parameter "memroy"' } });
    // The same connection, and a new one, still work.
    send('{"jsonrpc":"2.0","id":6,"method":"agent.info"}');
    expect(await next()).toMatchObject({ id: 6, result: { stateRoot } });
    expect((await (await client()).call('container.list', {})).length).toBeGreaterThanOrEqual(0);
  });

  it('maps runtime errors to the protocol codes with one-line messages', async () => {
    const agent = await client();
    await expect(agent.call('container.inspect', { id: 'svc-test-missing' })).rejects.toMatchObject({ code: RpcErrorCode.NotFound });
    const badName = agent.call('container.run', { name: '../escape', net: 'none', args: ['true'] });
    await expect(badName).rejects.toMatchObject({ code: RpcErrorCode.BadInput, message: expect.stringContaining('../escape') });
    await expect(badName.catch((error: Error) => error.message)).resolves.not.toContain('\n');
    expect(readdirSync(join(stateRoot, 'containers')).length).toBe(0); // nothing half-created
  });

  it('refuses a second serve on the same socket with a clear error', async () => {
    const other = join(work, 'other-root');
    await expect(serve(runtime, { socketPath, handleSignals: false, log: () => {} })).rejects.toThrow(`another agent is already listening on ${socketPath}`);
    const result = await runCli(['serve', '--socket', socketPath, '--root', other]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`containers-lab: another agent is already listening on ${socketPath}\n`);
    expect(existsSync(other)).toBe(false); // refused before the runtime touched its state root
    // And the first agent still answers.
    expect((await (await client()).call('agent.info', {})).stateRoot).toBe(stateRoot);
  });

  it('replaces a stale socket file, but never a file that is not a socket', async () => {
    const stale = join(work, 'stale.sock');
    // A process that dies while listening leaves its socket file behind.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(statSync(stale).isSocket()).toBe(true);
    const secondRoot = join(work, 'state-stale');
    const second = await openRealRuntime(secondRoot);
    const replaced = await serve(second, { socketPath: stale, handleSignals: false, log: () => {} });
    expect((await connectAgent(stale).then((agent) => agent?.call('agent.info', {}).finally(() => agent.close())))?.stateRoot).toBe(secondRoot);
    await replaced.close();
    expect(existsSync(stale)).toBe(false);

    const regular = join(work, 'regular-file');
    writeFileSync(regular, 'keep me');
    await expect(serve(runtime, { socketPath: regular, handleSignals: false, log: () => {} })).rejects.toThrow(`${regular} exists and is not a socket`);
    expect(readFileSync(regular, 'utf8')).toBe('keep me');
  });

  it('lets exactly one of two agents starting at once have a socket; no private listening name is left', async () => {
    const directory = join(work, 'race');
    const raced = join(directory, 'agent.sock');
    const runtimes = [await openRealRuntime(join(work, 'state-race-a')), await openRealRuntime(join(work, 'state-race-b'))];
    const quiet = { socketPath: raced, handleSignals: false, log: () => {} };
    const outcomes = await Promise.allSettled(runtimes.map((each) => serve(each, quiet)));
    const winner = outcomes.findIndex((outcome) => outcome.status === 'fulfilled');
    const loser = outcomes.findIndex((outcome) => outcome.status === 'rejected');
    expect([winner, loser].sort()).toEqual([0, 1]);
    expect(outcomes[loser]).toMatchObject({ reason: { message: `another agent is already listening on ${raced}` } });
    expect(readdirSync(directory)).toEqual(['agent.sock']);
    const agent = await connectAgent(raced);
    expect(agent).not.toBeNull();
    expect((await agent!.call('agent.info', {})).stateRoot).toBe(join(work, winner === 0 ? 'state-race-a' : 'state-race-b'));
    agent!.close();
    await (outcomes[winner] as PromiseFulfilledResult<AgentServer>).value.close();
    runtimes[loser]!.close();
    expect(readdirSync(directory)).toEqual([]);
  });

  it('refuses a socket path longer than a Unix socket name holds, in one line, making nothing', async () => {
    const directory = join(work, 'd'.repeat(100));
    const tooLong = join(directory, 'agent.sock');
    await expect(serve(runtime, { socketPath: tooLong, handleSignals: false, log: () => {} })).rejects.toThrow(/^socket path too long: .* bytes, a Unix socket's name holds at most 107$/);
    expect(existsSync(directory)).toBe(false);
    const other = join(work, 'state-too-long');
    const result = await runCli(['serve', '--socket', tooLong, '--root', other]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^containers-lab: socket path too long: .* bytes, a Unix socket's name holds at most 107\n$/);
    expect(existsSync(other)).toBe(false);
    expect(existsSync(directory)).toBe(false);
  });

  it('runs CLI verbs through the service and tells every connection what changed', async () => {
    const watcher = await client();
    const changes: AgentNotifications['container.changed'][] = [];
    watcher.on('container.changed', (event) => changes.push(event));

    const run = await cli('run', '-d', '--name', 'svc-test-a', '--net', 'none', 'busybox', '--', 'sleep', '60');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const id = run.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{12,}$/);
    // The watcher connection saw it: proof the CLI went through this service, not standalone.
    await expect.poll(() => changes.some((event) => event.id === id && event.status === 'running')).toBe(true);

    const ps = await cli('ps', '--json');
    expect(JSON.parse(ps.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ id, name: 'svc-test-a', status: 'running' })]));
    const table = (await cli('ps')).stdout.split('\n');
    expect(table[0]).toMatch(/^ID\s+NAME\s+STATUS\s+PID\s+IP\s+COMMAND\s+CREATED\s+PORTS$/);
    expect(table.find((line) => line.includes('svc-test-a'))).toMatch(/running/);

    const inspect = JSON.parse((await cli('inspect', 'svc-test-a', '--json')).stdout);
    expect(inspect).toMatchObject({ id, name: 'svc-test-a', status: 'running' });
    // The kernel's view: the record's PID really is in its own PID namespace.
    expect(readFileSync(`/proc/${inspect.pid}/status`, 'utf8')).toMatch(/NSpid:\s+\d+\s+1\n/);

    const exec = await cli('exec', 'svc-test-a', '--', 'sh', '-c', 'echo inside $(hostname); echo oops >&2; exit 3');
    expect(exec).toEqual({ code: 3, stdout: 'inside svc-test-a\n', stderr: 'oops\n' });

    const removed: string[] = [];
    watcher.on('container.removed', (event) => removed.push(event.id));
    expect(await cli('rm', 'svc-test-a')).toMatchObject({ code: 1, stderr: expect.stringMatching(/^containers-lab: [^\n]*running[^\n]*\n$/) });
    expect(await cli('rm', '-f', 'svc-test-a')).toEqual({ code: 0, stdout: 'svc-test-a\n', stderr: '' });
    await expect.poll(() => removed).toEqual([id]);
    expect(await cli('inspect', 'svc-test-a')).toMatchObject({ code: 1, stderr: expect.stringMatching(/^containers-lab: [^\n]+\n$/) });
  });

  it('attached run streams the output and returns the exit code', async () => {
    const result = await cli('run', '--name', 'svc-test-b', '--net', 'none', 'busybox', '--', 'sh', '-c', 'echo first; sleep 0.3; echo second; exit 7');
    expect(result).toEqual({ code: 7, stdout: 'first\nsecond\n', stderr: '' });
    expect((await cli('logs', 'svc-test-b')).stdout).toBe('first\nsecond\n');
    expect((await cli('rm', 'svc-test-b')).code).toBe(0);
  });

  it('exec -i forwards stdin; logs -f returns when the container stops', async () => {
    await cli('run', '-d', '--name', 'svc-test-e', '--net', 'none', 'busybox', '--', 'sh', '-c', 'echo a; sleep 0.5; echo b');
    const cat = await cliWith({ socket: socketPath, root: stateRoot, stdin: 'through stdin\n' }, 'exec', '-i', 'svc-test-e', '--', 'cat');
    expect(cat).toEqual({ code: 0, stdout: 'through stdin\n', stderr: '' });
    expect(await cli('logs', '-f', 'svc-test-e')).toEqual({ code: 0, stdout: 'a\nb\n', stderr: '' });
    expect((await cli('inspect', '--json', 'svc-test-e')).stdout).toMatch(/"status": "stopped"/);
    expect((await cli('rm', 'svc-test-e')).code).toBe(0);
  });

  it('gives exec -t a terminal of the requested size', async () => {
    const agent = await client();
    const record = await agent.call('container.run', { name: 'svc-test-t', net: 'none', args: ['sleep', '60'] });
    let output = '';
    let exitCode: number | null = null;
    agent.on('exec.output', (event) => (output += Buffer.from(event.data, 'base64').toString()));
    agent.on('exec.exit', (event) => (exitCode = event.code));
    await agent.call('exec.start', { id: record.id, args: ['sh', '-c', 'tty; stty size'], tty: true, cols: 101, rows: 33 });
    await expect.poll(() => exitCode, { timeout: 5000 }).toBe(0);
    expect(output).toMatch(/\/dev\/pts\/\d+\r?\n33 101/);
    await agent.call('container.remove', { id: record.id, force: true });
  });

  it('works standalone when no agent answers on the socket', async () => {
    const where = { socket: join(work, 'nobody-listens.sock'), root: join(work, 'state-standalone') };
    const run = await cliWith(where, 'run', '-d', '--name', 'svc-test-alone', '--net', 'none', 'busybox', '--', 'sleep', '60');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    // The service on the other socket knows nothing of it.
    expect((await cli('ps', '-a', '--json')).stdout).not.toContain('svc-test-alone');
    expect(await cliWith(where, 'exec', 'svc-test-alone', '--', 'hostname')).toEqual({ code: 0, stdout: 'svc-test-alone\n', stderr: '' });
    expect(JSON.parse((await cliWith(where, 'ps', '--json')).stdout)).toEqual([expect.objectContaining({ name: 'svc-test-alone', status: 'running' })]);
    expect(await cliWith(where, 'rm', '-f', 'svc-test-alone')).toEqual({ code: 0, stdout: 'svc-test-alone\n', stderr: '' });
    expect(readdirSync(join(where.root, 'containers'))).toEqual([]);
  });

  it('follows logs with container.log notifications', async () => {
    const agent = await client();
    const record = await agent.call('container.run', { name: 'svc-test-c', net: 'none', args: ['sh', '-c', 'echo one; sleep 0.5; echo two; sleep 60'] });
    await expect.poll(async () => Buffer.from((await agent.call('container.logs', { id: record.id })).data, 'base64').toString()).toBe('one\n');
    const chunks: string[] = [];
    agent.on('container.log', (event) => {
      if (event.id === record.id) chunks.push(Buffer.from(event.data, 'base64').toString());
    });
    const first = await agent.call('container.logs', { id: 'svc-test-c', follow: true });
    expect(Buffer.from(first.data, 'base64').toString()).toBe('one\n');
    await expect.poll(() => chunks.join(''), { timeout: 5000 }).toBe('two\n');
    await agent.call('container.remove', { id: record.id, force: true });
  });

  it('ends the exec sessions of a closing connection, but not its containers', async () => {
    const agent = await client();
    const record = await agent.call('container.run', { name: 'svc-test-d', net: 'none', args: ['sleep', '60'] });
    const session = await agent.call('exec.start', { id: record.id, args: ['sleep', '60'] });
    expect(processAlive(session.pid)).toBe(true);
    // Input and resize reach the session; an unknown session is NotFound.
    await expect(agent.call('exec.input', { session: 'nope', data: '' })).rejects.toMatchObject({ code: RpcErrorCode.NotFound });
    agent.close();
    await expect.poll(() => processAlive(session.pid), { timeout: 5000 }).toBe(false);
    expect(processAlive(record.pid!)).toBe(true);
    const other = await client();
    expect((await other.call('container.inspect', { id: record.id })).status).toBe('running');
    await other.call('container.remove', { id: record.id, force: true });
  });

  it('a terminal that hung up before its program ended: closing the connection still ends the session quietly', async () => {
    // The program lets go of its terminal and keeps running: the agent's side sees the terminal
    // hang up (and closes its descriptor) before any exit — the moment a window reload can hit.
    // Each SIGHUP the program gets is a line in /tmp/hups: the kernel's, when the agent closes the
    // terminal, then the agent's own when the connection ends.
    const agent = await client();
    const record = await agent.call('container.run', { name: 'svc-test-h', net: 'none', args: ['sleep', '60'] });
    const script = "trap 'echo hup >> /tmp/hups' HUP; exec </dev/null >/dev/null 2>&1; while :; do sleep 60 & wait $!; done";
    const session = await agent.call('exec.start', { id: record.id, args: ['sh', '-c', script], tty: true });
    const hangUps = (): number => {
      try {
        return readFileSync(`/proc/${session.pid}/root/tmp/hups`, 'utf8').split('\n').filter(Boolean).length;
      } catch {
        return 0;
      }
    };
    await expect.poll(hangUps, { timeout: 5000 }).toBe(1);
    const logged = serviceLog.length;
    agent.close();
    await expect.poll(hangUps, { timeout: 5000 }).toBe(2);
    expect(processAlive(session.pid)).toBe(true);
    // nothing was written to the terminal's old descriptor number (EBADF, or another file now)
    expect(serviceLog.slice(logged)).toEqual([]);
    const other = await client();
    expect((await other.call('container.inspect', { id: record.id })).status).toBe('running');
    await other.call('container.remove', { id: record.id, force: true });
  });

  it('serves one connection over stdio and ends when the peer goes away', async () => {
    const toService = new PassThrough();
    const fromService = new PassThrough();
    const secondRoot = join(work, 'state-stdio');
    const second = await openRealRuntime(secondRoot);
    const stdioServer = await serve(second, { socketPath: null, stdio: { input: toService, output: fromService }, handleSignals: false, log: () => {} });
    const agent = attachAgent({ input: fromService, output: toService });
    expect((await agent.call('agent.info', {})).stateRoot).toBe(secondRoot);
    toService.end();
    await stdioServer.done;
    await expect(agent.call('agent.info', {})).rejects.toThrow();
  });
});

// --- a real `containers-lab serve` process ---------------------------------------------------------

describe('a containers-lab serve process', () => {
  let processWork: string;
  let bundle: string;
  let child: ChildProcess | null = null;

  beforeAll(async () => {
    processWork = mkdtempSync(join(tmpdir(), 'cl-service-test-proc-'));
    chmodSync(processWork, 0o700);
    bundle = join(processWork, 'containers-lab.js');
    await build({
      entryPoints: [join(repo, 'agent/cli/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: bundle,
      external: ['koffi'],
      logLevel: 'silent',
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    const root = join(processWork, 'state');
    if (existsSync(root)) {
      const cleanup = await openRealRuntime(root);
      await removeAllContainers(cleanup);
      cleanup.close();
    }
    expect(mountsUnder(processWork)).toEqual([]);
    rmSync(processWork, { recursive: true, force: true });
  });

  it('on SIGTERM removes its socket and exits 0; its containers keep running', async () => {
    const root = join(processWork, 'state');
    const socket = join(processWork, 'agent.sock');
    const script = `require(${JSON.stringify(bundle)}).main(process.argv.slice(1)).then((code) => process.exit(code))`;
    child = spawn(process.execPath, ['-e', script, '--', 'serve', '--socket', socket, '--root', root], {
      env: { ...process.env, NODE_PATH: join(repo, 'node_modules') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await expect.poll(() => existsSync(socket), { timeout: 15000 }).toBe(true);

    const agent = await connectAgent(socket);
    expect(agent).not.toBeNull();
    const record = await agent!.call('container.run', { name: 'svc-test-proc', net: 'none', args: ['sleep', '60'] });
    agent!.close();

    const exited = new Promise<number | null>((resolveExit) => child!.once('exit', (code) => resolveExit(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toBe(''); // logs go to stderr only
    expect(stderr).toContain('SIGTERM');
    expect(existsSync(socket)).toBe(false);
    expect(processAlive(record.pid!)).toBe(true);
    expect(await connectAgent(socket)).toBeNull();
  });
});
