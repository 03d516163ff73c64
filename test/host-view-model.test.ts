/*
 * The "On This Host" view's rules (extension/views/host/model.ts) without a browser: grouping by
 * maker, labels, the parent chain, the detail rows — on made-up entries, and on a real one: an
 * `unshare --fork --pid --mount-proc sleep` found by the agent's discovery, whose rows must name
 * the kernel's inodes and unshare as its parent.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { HostContainer } from '../agent/protocol';
import { discoverHostContainers } from '../agent/inspect/host/host-containers';
import { namespaceRows } from '../extension/views/containers/model';
import { detailRows, entryDescription, groupByMaker, ownNamespaceTypes, parentChain } from '../extension/views/host/model';
import { nsInode, processExists } from './helpers/kernel-witness';
import { waitFor } from './helpers/wait';

const entry = (overrides: Partial<HostContainer>): HostContainer => ({
  key: 'mnt:4026532300 pid:4026532301',
  maker: 'unknown',
  runtime: null,
  id: '100',
  name: 'sleep',
  namespace: null,
  status: 'running',
  pid: 100,
  command: 'sleep',
  namespaces: { mnt: 4026532300, pid: 4026532301, net: 4026531840 },
  sharedWithHost: ['net'],
  cgroup: '/user.slice',
  cgroups: { unified: '/user.slice' },
  parents: [{ pid: 99, command: 'unshare' }, { pid: 1, command: 'init' }],
  rootfs: null,
  bundle: null,
  stateDir: null,
  processes: [],
  ...overrides,
});

describe('On This Host: the model', () => {
  test('groups by maker in a fixed order (this agent first, unclaimed last), entries by PID; empty makers are left out', () => {
    const groups = groupByMaker([
      entry({ maker: 'unknown', pid: 5 }),
      entry({ maker: 'containerd', pid: 30, runtime: 'runc' }),
      entry({ maker: 'containerd', pid: 20, runtime: 'runc' }),
      entry({ maker: 'containers-lab', pid: 40 }),
    ]);
    expect(groups.map((group) => [group.maker, group.containers.map((c) => c.pid)])).toEqual([
      ['containers-lab', [40]],
      ['containerd', [20, 30]],
      ['unknown', [5]],
    ]);
    expect(groupByMaker([])).toEqual([]);
  });

  test('an entry says the runtime under it, its PID, status and own namespaces; the chain reads outermost first', () => {
    const shimmed = entry({ maker: 'containerd', runtime: 'runc', parents: [{ pid: 7, command: 'containerd-shim-runc-v2' }, { pid: 1, command: 'init' }] });
    expect(entryDescription(shimmed)).toBe('via runc · PID 100 · running · own: mnt pid');
    expect(entryDescription(entry({ status: 'created' }))).toBe('PID 100 · created · own: mnt pid');
    expect(parentChain(shimmed)).toBe('init → containerd-shim-runc-v2 → sleep');
    expect(ownNamespaceTypes(entry({ key: 'ipc:1 mnt:2 net:3 pid:4 uts:5' }))).toEqual(['ipc', 'mnt', 'net', 'pid', 'uts']);
  });

  test('details: parents, cgroup, what is at / (the upper dir for an overlay, the directory for a bind), bundle and state only when known', () => {
    const keys = (rows: ReturnType<typeof detailRows>): string[] => rows.map((row) => row.key);
    expect(keys(detailRows(entry({})))).toEqual(['parents', 'cgroup', 'id']);
    const runc = detailRows(entry({ maker: 'runc', rootfs: { fstype: 'ext4', source: '/dev/vda', root: '/tmp/b/rootfs', upper: null }, bundle: '/tmp/b', stateDir: '/run/runc/x' }));
    expect(keys(runc)).toEqual(['parents', 'cgroup', 'rootfs', 'bundle', 'state', 'id']);
    expect(runc.find((row) => row.key === 'rootfs')).toMatchObject({ label: '/: ext4 /tmp/b/rootfs', description: '/dev/vda' });
    const overlay = detailRows(entry({ rootfs: { fstype: 'overlay', source: 'overlay', root: '/', upper: '/var/lib/x/upper' } }));
    expect(overlay.find((row) => row.key === 'rootfs')).toMatchObject({ label: '/: overlay /var/lib/x/upper', description: 'upper dir' });
  });

  test('on a real unshare: the rows show the kernel\'s inodes and unshare as the parent', async () => {
    const unshare = spawn('unshare', ['--fork', '--pid', '--mount-proc', 'sleep', '60'], { stdio: 'ignore' });
    const children = `/proc/${unshare.pid}/task/${unshare.pid}/children`;
    const sleep = Number(await waitFor(() => (existsSync(children) ? readFileSync(children, 'utf8').trim() : ''), (text) => text !== '' && readFileSync(`/proc/${text}/comm`, 'utf8').trim() === 'sleep'));
    try {
      const found = discoverHostContainers({ own: [] }).containers.find((container) => container.pid === sleep)!;
      const unclaimed = groupByMaker([found])[0]!;
      expect(unclaimed.label).toBe('Not claimed by any runtime');
      const rows = namespaceRows(found);
      expect(rows.find((row) => row.type === 'pid')).toMatchObject({ inode: nsInode(sleep, 'pid'), shared: false });
      expect(rows.find((row) => row.type === 'net')).toMatchObject({ inode: nsInode(sleep, 'net'), shared: true });
      expect(detailRows(found)[0]!.label).toMatch(new RegExp(` → unshare → sleep$`));
    } finally {
      const exited = new Promise((resolve) => unshare.once('exit', resolve));
      process.kill(sleep, 'SIGKILL');
      unshare.kill('SIGKILL');
      await exited;
    }
    // SIGKILL is delivered when the process next runs (and its orphaned zombie is reaped): give it a moment
    expect(await waitFor(() => processExists(sleep), (alive) => !alive, 5_000)).toBe(false);
  });
});
