/*
 * Facts: values an answer is compared with, read from the kernel when the check runs — the host
 * PID of a container's process, the namespaces it shares with the host, the file that holds its
 * memory limit. Investigation tasks ask the learner to find one and write it to a file; the
 * check computes the same fact independently, so no answer is ever stored in the lab file.
 *
 * An answer is right when it names the same thing, however it is written: a list in any order,
 * case or separator ("PID,USER" = "user pid"), a path by any name of the same file
 * (/sys/fs/cgroup//x/ = /sys/fs/cgroup/x, or a link to it).
 */
import { readFileSync, statSync } from 'node:fs';
import { NAMESPACE_TYPES } from '../../protocol';
import type { Fact } from '../format';
import type { LabContext } from '../context';
import { CheckFailed, existing, running } from './outcome';
import { namespaceInode } from './namespaces';
import { hostUidOf, readIdMap } from './uid-map';
import { provenanceOf } from '../../image/unpack/provenance';
import { cpuUsageNs, freezerFile, memoryUsage } from './cgroup-usage';
import { handMadeProcess } from './host-process';
import { runningOn } from './cross-node';

export interface FactValue {
  value: string;
  /** How answers compare with it: as a word, a set of words, or a path of the host. */
  kind: 'word' | 'list' | 'path' | 'digest';
}

/**
 * The fact, also of a container on another lab node (`ip` with `node`): that node's agent is asked,
 * as the lab host would ask it over ssh — its containers are not this agent's.
 */
export async function answerFact(fact: Fact, context: LabContext): Promise<FactValue> {
  if (fact.fact !== 'ip' || fact.node === undefined) return factValue(fact, context);
  const { ip } = await runningOn(context, fact.node, fact.container);
  if (!ip) throw new CheckFailed(`"${fact.container}" on node ${fact.node} has no IP address`);
  return { value: ip, kind: 'word' };
}

export function factValue(fact: Fact, context: LabContext): FactValue {
  const word = (value: string): FactValue => ({ value, kind: 'word' });
  switch (fact.fact) {
    case 'token':
      return word(context.attempt.token);
    case 'hostPid':
      return word(String(running(context, fact.container).pid));
    case 'sharedWithHost': {
      const pid = running(context, fact.container).pid;
      return { value: NAMESPACE_TYPES.filter((type) => namespaceInode(pid, type) === namespaceInode('self', type)).join(','), kind: 'list' };
    }
    case 'namespaceInode':
      return word(String(namespaceInode(running(context, fact.container).pid, fact.type)));
    case 'rootHostUid': {
      const uid = hostUidOf(readIdMap(running(context, fact.container).pid, 'uid'), 0);
      if (uid === null) throw new CheckFailed(`root of "${fact.container}" is not mapped to any host uid`);
      return word(String(uid));
    }
    case 'cgroupFile': {
      const files = existing(context, fact.container).cgroup?.files ?? {};
      const file = fact.controller === 'memory' ? files.memory : fact.controller === 'pids' ? files.pids : (files.cpu ?? files.cpuQuota);
      if (!file) throw new CheckFailed(`"${fact.container}" has no ${fact.controller} limit file`);
      return { value: file, kind: 'path' };
    }
    case 'rootfsMerged': {
      const rootfs = existing(context, fact.container).rootfs;
      if (!rootfs) throw new CheckFailed(`"${fact.container}" has no overlay root`);
      return { value: rootfs.merged, kind: 'path' };
    }
    case 'ip': {
      const ip = existing(context, fact.container).network.ip;
      if (!ip) throw new CheckFailed(`"${fact.container}" has no IP address`);
      return word(ip);
    }
    case 'imageLayerDigest':
      return { value: imageLayerDigest(context, fact.image, fact.path), kind: 'digest' };
    case 'usageFile': {
      const cgroup = existing(context, fact.container).cgroup;
      const file = fact.controller === 'memory' ? cgroup?.files.memoryCurrent : cgroup?.files.cpuUsage;
      if (!file) throw new CheckFailed(`"${fact.container}" has no ${fact.controller} usage file`);
      return { value: file, kind: 'path' };
    }
    case 'freezerFile': {
      const cgroup = existing(context, fact.container).cgroup;
      if (!cgroup) throw new CheckFailed(`"${fact.container}" has no cgroup`);
      return { value: freezerFile(cgroup), kind: 'path' };
    }
    case 'busiest': {
      const used = fact.containers.map((name) => {
        const cgroup = existing(context, name).cgroup;
        if (!cgroup) throw new CheckFailed(`"${name}" has no cgroup`);
        return { name, amount: fact.controller === 'memory' ? memoryUsage(cgroup) : cpuUsageNs(cgroup) };
      });
      return word(used.reduce((best, next) => (next.amount > best.amount ? next : best)).name);
    }
    case 'sharedWithHostByRoot': {
      const pid = handMadeProcess(fact.root);
      return { value: NAMESPACE_TYPES.filter((type) => namespaceInode(pid, type) === namespaceInode('self', type)).join(','), kind: 'list' };
    }
    case 'hostname':
      // The UTS name of a running process, as its own /proc/sys view would give it, via the record.
      return word(existing(context, fact.container).hostname ?? readFileSync('/proc/sys/kernel/hostname', 'utf8').trim());
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    const [one, two] = [statSync(a, { bigint: true }), statSync(b, { bigint: true })];
    return one.dev === two.dev && one.ino === two.ino;
  } catch {
    return false;
  }
}

/** Whether what the learner wrote names the fact. */
export function sameAnswer(written: string, expected: FactValue): boolean {
  const answer = written.trim();
  switch (expected.kind) {
    case 'word':
      return answer === expected.value;
    case 'list': {
      const words = (text: string): string => text.toLowerCase().split(/[\s,]+/).filter(Boolean).sort().join(',');
      return words(answer) === words(expected.value);
    }
    case 'path':
      return answer.startsWith('/') && !answer.includes('\n') && sameFile(answer, expected.value);
    case 'digest':
      // sha256:<hex> or the bare hex, in any case: the same digest.
      return answer.toLowerCase().replace(/^sha256:/, '') === expected.value.replace(/^sha256:/, '');
  }
}

/** The layer of image `image` whose copy of `path` the image shows (its merged view, before any container). */
function imageLayerDigest(context: LabContext, image: string, path: string): string {
  let layers;
  try {
    layers = context.runtime.images.inspect(image).layers;
  } catch (error) {
    throw new CheckFailed(error instanceof Error ? error.message : String(error));
  }
  const shown = provenanceOf({ lower: layers.map((layer) => layer.directory).reverse() }, path);
  if (shown.state !== 'visible' || shown.layer?.index == null) throw new CheckFailed(`${path} is not a file of ${image}`);
  return layers[layers.length - 1 - shown.layer.index]!.digest;
}
