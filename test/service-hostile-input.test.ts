/*
 * Errors a person can read, from a REAL `containers-lab serve` process under hostile input.
 *
 * Every field of every method gets values of every wrong type (generated from the agent's own
 * parameter rules, nested fields included), then values of the right type that are hostile
 * (NUL, newlines, megabytes, prototype keys, huge numbers), then raw bytes no client library would
 * send: 100 000 nested arrays, unknown methods with newlines, non-object params, invalid UTF-8, a
 * 7 MiB name, a line over the size limit. Through agent/service/client.ts where JSON can say it,
 * on the raw socket where it cannot.
 *
 * Every answer must be an error that is one line, at most 300 characters, free of JavaScript
 * internals (TypeError, "undefined", stack frames), echoing at most a 40-character prefix of
 * anything sent; wrong params must be -32602 naming the field. And the service must be alive,
 * serving, and have made nothing.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RpcErrorCode } from '../agent/protocol';
import { RpcError } from '../agent/service/jsonrpc';
import { checkErrorMessage, stringsIn, wrongTypeCases } from './helpers/hostile-params';
import { startService, stopService, type RunningService } from './helpers/service';

let work: string;
let socketPath: string;
let service: RunningService;
const sockets: Socket[] = [];

beforeAll(async () => {
  work = mkdtempSync('/tmp/cl-hostile-');
  mkdirSync(join(work, 'run'), { mode: 0o700 });
  socketPath = join(work, 'run', 'agent.sock');
  service = await startService(join(work, 'state'), socketPath);
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  if (service) {
    // Nothing should exist; whatever a missed check made anyway is removed before the service stops.
    for (const summary of await service.client.call('container.list', {}).catch(() => [])) {
      await service.client.call('container.remove', { id: summary.id, force: true }).catch(() => undefined);
    }
    await stopService(service);
  }
  rmSync(work, { recursive: true, force: true });
});

/** Calls through the real client; resolves the error it got (or a problem when there was none). */
async function callForError(method: string, params: unknown): Promise<RpcError | string> {
  try {
    await service.client.call(method as 'agent.info', params as Record<string, never>, { timeoutMs: 20_000 });
    return `${method} succeeded`;
  } catch (error) {
    return error instanceof RpcError ? error : `not an RpcError: ${String(error)}`;
  }
}

/** A raw socket: lines go out as bytes, answers come back by id (null-id answers in order). */
async function rawSession(): Promise<{ send(bytes: Buffer | string): void; answer(id: string | number | null, timeoutMs?: number): Promise<Record<string, unknown>> }> {
  const socket = createConnection(socketPath);
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const byId = new Map<string, Record<string, unknown>>();
  const anonymous: Record<string, unknown>[] = [];
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (let newline = buffered.indexOf(10); newline !== -1; newline = buffered.indexOf(10)) {
      const parsed = JSON.parse(buffered.subarray(0, newline).toString('utf8')) as Record<string, unknown> | Record<string, unknown>[];
      buffered = buffered.subarray(newline + 1);
      // A batch's answers are filed one by one; notifications (container.changed, …) are not answers.
      for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
        if ('method' in message) continue;
        if (message.id === null || message.id === undefined) anonymous.push(message);
        else byId.set(JSON.stringify(message.id), message);
      }
    }
  });
  return {
    send: (bytes) => void socket.write(Buffer.concat([Buffer.from(bytes), Buffer.from('\n')])),
    answer: async (id, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = id === null ? anonymous.shift() : byId.get(JSON.stringify(id));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no answer with id ${JSON.stringify(id)} within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}

/** A bad request is the peer's mistake, never the agent's: -32603 would mean a check is missing. */
const problemsOf = (label: string, error: { code: unknown; message: unknown }, inputs: string[]): string[] => [
  ...checkErrorMessage(error.message, inputs).map((problem) => `${label}: ${problem}`),
  ...(error.code === RpcErrorCode.InternalError ? [`${label}: an internal error: ${String(error.message)}`] : []),
];

describe('hostile requests against a real containers-lab serve', () => {
  test('wrong types for every field of every method (from the param rules): -32602 naming the field, one readable line', async () => {
    const cases = wrongTypeCases();
    expect(cases.length).toBeGreaterThan(300);
    const problems: string[] = [];
    for (const hostile of cases) {
      const error = await callForError(hostile.method, hostile.params);
      if (typeof error === 'string') {
        problems.push(`${hostile.label}: ${error}`);
        continue;
      }
      problems.push(...problemsOf(hostile.label, error, stringsIn(hostile.params)));
      if (error.code !== RpcErrorCode.InvalidParams) problems.push(`${hostile.label}: code ${error.code}, not -32602: ${error.message}`);
      else if (!namesField(error.message, hostile.path)) problems.push(`${hostile.label}: the message does not name "${hostile.path}": ${error.message}`);
    }
    expect(problems).toEqual([]);
    expect(service.unexpectedExit()).toBeNull();
  });

  test('hostile values of the right type: NUL, newlines, huge strings and numbers, prototype keys', async () => {
    const huge = 'x'.repeat(7 * 1024 * 1024);
    const long = `${'y'.repeat(60)}\n${'z'.repeat(60)}`;
    const cases: [string, unknown][] = [
      ['container.run', { name: huge, net: 'none' }],
      ['container.run', { name: 'a\nb\r\nc', net: 'none' }],
      ['container.run', { name: 'nul\u0000name', net: 'none' }],
      ['container.run', { name: long, net: 'none' }],
      ['container.run', { hostname: long, net: 'none' }],
      ['container.run', { net: 'none', memory: `${'9'.repeat(400)}Mi` }],
      ['container.run', { net: 'none', memory: huge }],
      ['container.run', { net: 'none', cpus: Number.MAX_VALUE }],
      ['container.run', { net: 'none', pids: Number.MAX_SAFE_INTEGER }],
      ['container.run', { net: 'none', user: long }],
      ['container.run', { net: 'none', bridge: long, subnet: long }],
      ['container.run', { net: 'none', env: [long, `${'K'.repeat(50)}`] }],
      ['container.run', { net: 'none', capAdd: [long] }],
      ['container.run', { net: 'none', pod: long }],
      ['container.run', { net: 'none', args: [] }],
      ['container.run', { net: 'none', args: [''] }],
      ['container.run', { net: 'none', volumes: [{ name: long, mountPath: '/v' }] }],
      ['container.run', { net: 'none', volumes: [{ name: 'v', mountPath: long }] }],
      ['container.run', { net: 'none', volumes: [{ name: 'v', mountPath: '/v', hostPath: `/${'h'.repeat(60)}` }] }],
      ['container.run', { net: 'none', seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [long], action: 'SCMP_ACT_ERRNO' }] } }],
      ['container.run', { net: 'none', seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 9, value: 1e300, op: 'SCMP_CMP_EQ' }] }] } }],
      ['container.run', { net: 'none', config: { ociVersion: long, process: { args: [long], cwd: long, user: { uid: 0, gid: 0 } }, annotations: { [long]: long } } }],
      ['container.run', { net: 'none', config: JSON.parse('{"ociVersion":"1.0.2","__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}') }],
      ['container.inspect', { id: huge }],
      ['container.inspect', { id: long }],
      ['container.inspect', { id: 'nul\u0000id' }],
      ['container.inspect', { id: '../../../../etc/passwd' }],
      ['container.stop', { id: 'hostile-none', timeoutSeconds: -1 }],
      ['container.stop', { id: 'hostile-none', timeoutSeconds: Number.MAX_VALUE }],
      ['container.pathLayer', { id: long, path: long }],
      ['container.logs', { id: huge, follow: true }],
      ['exec.start', { id: long, args: [long], cols: 65_536, rows: 0 }],
      ['exec.input', { session: long, data: huge }],
      ['exec.resize', { session: 'hostile-none', cols: -1, rows: 2 ** 31 }],
      ['exec.close', { session: huge }],
      ['lab.show', { id: huge }],
      ['lab.show', { id: long }],
      ['lab.start', { id: 'nul\u0000lab' }],
      ['lab.solve', { id: long, partial: true }],
      ['agent.info', [1, 2, 3]],
      ['container.list', JSON.parse('{"__proto__":{"isAdmin":true}}')],
      ['no.such.method', {}],
      [`no.such\nmethod\r\nwith lines ${'m'.repeat(100)}`, {}],
      ['__proto__', {}],
      ['constructor', {}],
      ['hasOwnProperty', {}],
      ['toString', {}],
      [huge, {}],
    ];
    const problems: string[] = [];
    for (const [method, params] of cases) {
      const label = `${method.slice(0, 30)} ${JSON.stringify(params).slice(0, 80)}`;
      const error = await callForError(method, params);
      if (typeof error === 'string') problems.push(`${label}: ${error}`);
      else problems.push(...problemsOf(label, error, [method, ...stringsIn(params)]));
    }
    expect(problems).toEqual([]);
    expect(service.unexpectedExit()).toBeNull();
  });

  test('raw bytes: deep nesting, newlines in methods, non-object params, invalid UTF-8, 7 MiB names, an oversized line', async () => {
    const raw = await rawSession();
    const deepArrays = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const deepObjects = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const request = (id: number, method: string, params: string): string => `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${params}}`;
    const problems: string[] = [];
    const seven = 'n'.repeat(7 * 1024 * 1024);
    const expectError = async (id: number | null, label: string, sent: string | Buffer, code?: number): Promise<void> => {
      raw.send(sent);
      const answer = await raw.answer(id).catch((error: Error) => ({ error: { code: null, message: error.message } }));
      const error = answer.error as { code: unknown; message: unknown } | undefined;
      if (!error) return void problems.push(`${label}: no error, answered ${JSON.stringify(answer).slice(0, 200)}`);
      // What was sent, as strings: parsed where that is cheap, else the long runs it is made of.
      const text = sent.toString();
      const inputs = text.length < 100_000 ? stringsIn(safeParse(text)) : [text.slice(0, 200), seven, 'o'.repeat(1000)];
      problems.push(...problemsOf(label, error, inputs));
      if (code !== undefined && error.code !== code) problems.push(`${label}: code ${String(error.code)}, expected ${code}: ${String(error.message)}`);
    };

    await expectError(1, 'deep arrays in a param', request(1, 'container.run', `{"name":${deepArrays}}`), RpcErrorCode.InvalidParams);
    await expectError(2, 'deep objects in config', request(2, 'container.run', `{"config":${deepObjects}}`), RpcErrorCode.InvalidParams);
    await expectError(3, 'deep params with the id last', `{"jsonrpc":"2.0","method":"lab.show","params":{"id":${deepArrays}},"id":3}`, RpcErrorCode.InvalidParams);
    await expectError(null, 'a deep bare array', deepArrays);
    await expectError(null, 'a deep batch', `[${request(4, 'agent.info', deepObjects)}]`);
    await expectError(null, 'a deep id', `{"jsonrpc":"2.0","id":${deepArrays},"method":"agent.info"}`);
    await expectError(5, 'a method with newlines', request(5, 'no.such\nmethod\r\n\u2028end', '{}'), RpcErrorCode.MethodNotFound);
    await expectError(6, 'a 7 MiB method', request(6, seven, '{}'), RpcErrorCode.MethodNotFound);
    await expectError(7, 'a 7 MiB name', request(7, 'container.run', `{"net":"none","name":"${seven}"}`));
    await expectError(8, 'a 7 MiB key', request(8, 'container.run', `{"${seven}":1}`), RpcErrorCode.InvalidParams);
    for (const [index, params] of ['"text"', '5', 'true', 'null'].entries()) {
      await expectError(10 + index, `params ${params}`, request(10 + index, 'container.list', params), RpcErrorCode.InvalidRequest);
    }
    await expectError(14, 'params an array', request(14, 'container.inspect', '["web"]'), RpcErrorCode.InvalidParams);
    await expectError(15, 'Infinity for an integer', request(15, 'exec.resize', '{"session":"s","cols":1e400,"rows":1}'), RpcErrorCode.InvalidParams);
    await expectError(16, '-Infinity for a number', request(16, 'container.stop', '{"id":"x","timeoutSeconds":-1e400}'), RpcErrorCode.InvalidParams);
    await expectError(17, 'a 30-digit integer', request(17, 'container.run', '{"pids":123456789012345678901234567890}'), RpcErrorCode.InvalidParams);
    await expectError(18, 'prototype keys in volumes', request(18, 'container.run', '{"net":"none","args":["true"],"volumes":[{"name":"v","mountPath":"/v","__proto__":{"hostPath":"/etc"}}]}'), RpcErrorCode.InvalidParams);
    const badBytes = Buffer.from([0xff, 0xfe, 0xc3]);
    const withBadBytes = (before: string, after: string): Buffer => Buffer.concat([Buffer.from(before), badBytes, Buffer.from(after)]);
    await expectError(19, 'invalid UTF-8 in a name', withBadBytes('{"jsonrpc":"2.0","id":19,"method":"container.inspect","params":{"id":"a', '"}}'));
    await expectError(20, 'invalid UTF-8 in a key', withBadBytes('{"jsonrpc":"2.0","id":20,"method":"container.inspect","params":{"id":"x","k', '":1}}'), RpcErrorCode.InvalidParams);
    await expectError(23, 'invalid UTF-8 in a method', withBadBytes('{"jsonrpc":"2.0","id":23,"method":"container.', '","params":{}}'), RpcErrorCode.MethodNotFound);
    await expectError(null, 'invalid UTF-8 outside strings', Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":21,'), Buffer.from([0xff, 0x80]), Buffer.from('}')]), RpcErrorCode.ParseError);
    await expectError(null, 'not JSON with a long tail', `{${'q'.repeat(5000)}`, RpcErrorCode.ParseError);
    // Over the line limit: refused with id null (the id is in what was dropped), as the spec says.
    await expectError(null, 'an oversized line (9 MiB)', request(22, 'container.run', `{"name":"${'o'.repeat(9 * 1024 * 1024)}"}`), RpcErrorCode.InvalidRequest);
    expect(problems).toEqual([]);

    // The same connection still serves.
    raw.send(request(99, 'agent.info', '{}'));
    expect(await raw.answer(99)).toMatchObject({ id: 99, result: { version: expect.any(String) } });
    expect(service.unexpectedExit()).toBeNull();
  });

  test('the client is told at once that a request is over the line limit, instead of waiting for ever', async () => {
    const started = Date.now();
    const error = await callForError('container.run', { name: 'o'.repeat(9 * 1024 * 1024) });
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toMatchObject({ code: RpcErrorCode.InvalidRequest, message: expect.stringMatching(/not sent: the request is \d+ bytes/) });
    expect(checkErrorMessage((error as RpcError).message, ['o'.repeat(9 * 1024 * 1024)])).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('afterwards the service is alive, serves on a new connection, and made nothing', async () => {
    expect(service.unexpectedExit()).toBeNull();
    expect((await service.client.call('agent.info', {})).version).toEqual(expect.any(String));
    expect(await service.client.call('container.list', {})).toEqual([]);
    expect(service.stderr()).not.toMatch(/uncaught|unhandled/i);
  });
});

/** The message names the field in quotes: "volumes[0].name", or a part of it ("config.process.args" for config). */
function namesField(message: string, path: string): boolean {
  return [`"${path}"`, `"${path}.`, `"${path}[`].some((quoted) => message.includes(quoted));
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
