/*
 * Benchmark: `ctr run --rm` — containerd's shim driving containers-lab-runc against the same shim
 * driving runc, the same image, in the same run (issue 16: target ≤ 1× runc).
 *
 * This is the runtime as a user of containerd meets it: one sample is one cold `ctr run --rm IMAGE
 * ID sh -c 'exit 0'` (the image is busybox with sh and sleep) from its start to its exit —
 * containerd makes the bundle from the image's snapshot, starts a shim, the shim runs the runtime's
 * create, start and (after the task exits) delete, and ctr removes the container. Only
 * `--runc-binary` differs between the two. The containerd is the
 * tests' private one (test/helpers/private-containerd.ts: its own config, root, state and socket,
 * an image built here), stopped and cleaned up at the end.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPrivateContainerd } from '../test/helpers/private-containerd';
import { runInScratch } from './leftovers';
import { formatMs, summarize, summaryRow, type Summary } from './stats';

const ROUNDS = 4;
const RUNS_PER_ROUND = 5;
export const CTR_RUN_TARGET_VS_RUNC = 1;


/** One `ctr run --rm`, timed; throws with ctr's own words if it fails. */
function timeCtrRun(socket: string, namespace: string, runtimeArgs: string[], image: string, id: string): number {
  const start = process.hrtime.bigint();
  const result = spawnSync('ctr', ['-a', socket, '-n', namespace, 'run', '--rm', ...runtimeArgs, image, id, 'sh', '-c', 'exit 0'], { encoding: 'utf8', timeout: 60_000 });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`ctr run ${runtimeArgs.join(' ')} exited ${result.status ?? result.signal}: ${(result.stderr || result.stdout).trim().split('\n').pop()}`);
  return elapsed;
}

/**
 * `ourCommand`: the path containerd's shim should run for containers-lab-runc (a file: `--runc-binary`
 * takes no arguments), or undefined to write one here that runs `bundle` as the installed command does.
 */
export async function benchCtrRun(say: (line?: string) => void, ourCommand: string | undefined, bundle: string): Promise<void> {
  say();
  say('… ctr run --rm: containerd\'s shim with containers-lab-runc and with runc, same image');
  if (!['/usr/bin/containerd', '/usr/sbin/containerd'].some(existsSync) || !['/usr/bin/ctr', '/usr/sbin/ctr'].some(existsSync)) {
    say('ctr run: could not run: containerd and ctr are not installed (Debian package containerd)');
    return;
  }
  const scratch = mkdtempSync('/tmp/containers-lab-bench-ctr-');
  const namespace = `clbctr${randomBytes(4).toString('hex')}`;
  const warnings: string[] = [];
  let command = ourCommand;
  if (!command) {
    command = join(scratch, 'containers-lab-runc');
    writeFileSync(command, `#!/bin/sh\nunset NODE_EXTRA_CA_CERTS\nexec ${process.execPath} ${bundle} "$@"\n`);
    chmodSync(command, 0o755);
  }
  const contenders: { name: string; args: string[] }[] = [
    { name: 'containers-lab-runc', args: ['--runc-binary', command] },
    { name: 'runc', args: [] },
  ];
  const samples = new Map<string, number[]>(contenders.map(({ name }) => [name, []]));
  await runInScratch(say, 'ctr run', scratch, [namespace], 'containerd stopped; no tasks, containers, images, cgroups or temp files', warnings, async () => {
    const containerd = await startPrivateContainerd(join(scratch, 'containerd'), namespace);
    try {
      let serial = 0;
      for (let round = 0; round < ROUNDS; round++) {
        for (const { name, args } of contenders) {
          // one untimed run per round and runtime: the first of a round pays for the page cache
          timeCtrRun(containerd.socket, namespace, args, containerd.image, `${namespace}-${serial++}`);
          for (let run = 0; run < RUNS_PER_ROUND; run++) {
            samples.get(name)!.push(timeCtrRun(containerd.socket, namespace, args, containerd.image, `${namespace}-${serial++}`));
          }
        }
      }
    } finally {
      await containerd.stop();
    }
    const [ours, runc] = contenders.map(({ name }) => summarize(samples.get(name)!)) as [Summary, Summary];
    say();
    say(`ctr run --rm IMAGE ID sh -c 'exit 0' (busybox), containerd 1.6's shim; ${ROUNDS * RUNS_PER_ROUND} timed per runtime in ${ROUNDS} interleaved rounds (1 warm-up each)`);
    say(summaryRow('--runc-binary', 28));
    for (const [name, s] of [['containers-lab-runc', ours], ['runc (containerd\'s default)', runc]] as const) {
      say(summaryRow(name, 28, s));
    }
    const ratio = ours.median / runc.median;
    say(`ctr run: containers-lab-runc ${formatMs(ours.median)}, runc ${formatMs(runc.median)} → ${ratio.toFixed(2)}× runc (target ≤ ${CTR_RUN_TARGET_VS_RUNC}×) ${ratio <= CTR_RUN_TARGET_VS_RUNC ? 'PASS' : 'MISS'}`);
  });
}
