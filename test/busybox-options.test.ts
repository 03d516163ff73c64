/*
 * The guided "Start busybox container" form checks each answer at its own step, by the agent's
 * rules: what a step accepts must be what the agent accepts, and what a step refuses the agent
 * refuses too — so each check here is made against the agent's own builder of config.json
 * (configFromRunOptions) as well, not only against a copy of its numbers.
 */
import { describe, expect, test } from 'vitest';
import {
  commandWords,
  defaultBusyboxOptions,
  guidedRunOptions,
  stepRefused,
  validateCommand,
  validateCpus,
  validateMemory,
  validatePids,
} from '../extension/commands/busybox-options';
import { configFromRunOptions } from '../agent/oci/from-run-options';
import type { RunOptions } from '../agent/protocol';

/** The agent's verdict on options: null when it would build the document, else its one line. */
function agentRefusal(options: RunOptions): string | null {
  try {
    configFromRunOptions({ image: 'busybox', net: 'none', ...options }, { rootfs: '/nonexistent/merged', name: 'probe' });
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('memory: refused at its step exactly when the agent would refuse it', () => {
  test.each(['1k', '1000', '512Ki', '4000000', '3.9Mi'])('%s is below the minimum', (text) => {
    expect(validateMemory(text)).toMatch(/a container needs at least 4 MiB \(4m\)/);
    expect(agentRefusal({ memory: text })).toMatch(/too small: a container needs at least 4m/);
  });

  test('"1k" says how many bytes that is', () => {
    expect(validateMemory('1k')).toBe('1k is 1000 bytes: a container needs at least 4 MiB (4m), or a busybox shell cannot even start.');
  });

  test.each(['4m', '4Mi', '64m', '128Mi', '4194304', ' 64m '])('%s is fine', (text) => {
    expect(validateMemory(text)).toBeUndefined();
    expect(agentRefusal({ memory: text.trim() })).toBeNull();
  });

  test.each([
    ['512K', 'Invalid memory "512K": "K" is ambiguous, use k (1000) or Ki (1024).'],
    ['lots', 'Invalid memory "lots": use bytes, Ki/Mi/Gi (1024-based), k/M/G (1000-based) or Docker\'s m/g (e.g. 128Mi, 64m).'],
  ])('%s is not a size: the parser\'s own reason', (text, message) => {
    expect(validateMemory(text)).toBe(message);
    expect(agentRefusal({ memory: text })).not.toBeNull();
  });

  test('empty means no limit', () => {
    expect(validateMemory('')).toBeUndefined();
    expect(validateMemory('  ')).toBeUndefined();
  });
});

describe('CPUs: the kernel\'s smallest quota is the floor', () => {
  test.each(['0.001', '5m', '0.009'])('%s is too small', (text) => {
    expect(validateCpus(text)).toMatch(/too small: at least 0\.01 CPUs \(10m\)/);
    expect(agentRefusal({ cpus: text })).toMatch(/too small/);
  });

  test.each(['0.01', '10m', '0.5', '500m', '1'])('%s is fine', (text) => {
    expect(validateCpus(text)).toBeUndefined();
    expect(agentRefusal({ cpus: text })).toBeNull();
  });

  test.each(['0', '-1', 'half'])('%s is not a CPU count', (text) => {
    expect(validateCpus(text)).toMatch(/^Invalid cpus ".*": use a number of CPUs above 0 or millicores/);
    expect(agentRefusal({ cpus: text })).not.toBeNull();
  });
});

describe('processes: a whole number from 1 to the kernel\'s PID limit', () => {
  test.each(['0', '1.5', '-3', 'many', '4194305'])('%s is refused', (text) => {
    expect(validatePids(text)).toMatch(/from 1 to 4194304/);
    expect(agentRefusal({ pids: Number(text) })).not.toBeNull();
  });

  test.each(['1', '64', '4194304'])('%s is fine', (text) => {
    expect(validatePids(text)).toBeUndefined();
    expect(agentRefusal({ pids: Number(text) })).toBeNull();
  });
});

describe('command: PID 1, split as a shell splits it', () => {
  test('a program and its arguments; quotes keep spaces', () => {
    expect(commandWords('sh')).toEqual(['sh']);
    expect(commandWords('  sleep 1d ')).toEqual(['sleep', '1d']);
    expect(commandWords(`sh -c 'echo hi; exec sleep 60'`)).toEqual(['sh', '-c', 'echo hi; exec sleep 60']);
    expect(validateCommand('sleep 1d')).toBeUndefined();
  });

  test('empty, blank or an unclosed quote is refused at the step', () => {
    expect(validateCommand('')).toBe('Give a program to run as PID 1, such as sh or sleep 1d.');
    expect(validateCommand('   ')).toBe('Give a program to run as PID 1, such as sh or sleep 1d.');
    expect(validateCommand(`sh -c 'echo`)).toBe(`Unterminated ' in: sh -c 'echo.`);
    expect(validateCommand(`''`)).toBe('Give a program to run as PID 1, such as sh or sleep 1d.');
  });

  test('what the form sends: the words as args, always on a terminal (run -dit)', () => {
    const options = guidedRunOptions({ name: 'g', command: 'top -d 1', namespaces: ['pid', 'mnt', 'net'], memory: '', cpus: '', pids: '', net: 'none' });
    expect(options).toMatchObject({ args: ['top', '-d', '1'], tty: true });
    expect(agentRefusal(options)).toBeNull();
    expect(configFromRunOptions(defaultBusyboxOptions('busybox-1'), { rootfs: '/x' }).process).toMatchObject({ args: ['sh'], terminal: true });
  });
});

describe('a refusal from the agent is placed at its step for the retried form', () => {
  test.each<[string, ReturnType<typeof stepRefused>]>([
    ['memory limit "64g" exceeds this host\'s memory (7.8g)', 'memory'],
    ['cpus "16" exceeds this host\'s 2 CPUs', 'cpus'],
    ['invalid pids limit "0": use a whole number from 1 to 4194304', 'pids'],
    ['cannot execute "nosuch" in container "g"', 'command'],
    ['a container named "g" already exists', 'name'],
    ['the bridge cl0 is down', null],
  ])('%s → %s', (message, step) => {
    expect(stepRefused(message)).toBe(step);
  });
});
