/*
 * The Images view and the Files node without a browser: labels, layer rows (base first, size and
 * build step), "used by", the pull notification's arithmetic from image.progress events, and how
 * a Files entry names its layer, a whiteout or an opaque directory.
 */
import { describe, expect, test } from 'vitest';
import type { ContainerFileEntry, ImageListEntry, ImagePullEvent, PathLayerImageLayer } from '../agent/protocol';
import { directorySummary, fileDescription, fileLabel, fileLayerText, hiddenDescription } from '../extension/views/containers/files-model';
import { buildStep, imageDescription, imageLabel, layerRows, shortDigest, sortImages, usedByRows } from '../extension/views/images/model';
import { PullProgress } from '../extension/views/images/pull-progress';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const image = (over: Partial<ImageListEntry>): ImageListEntry => ({
  name: 'docker.io/library/alpine:3.20', familiarName: 'alpine:3.20', repository: 'alpine', tag: '3.20', digest: D('a'), id: D('b'),
  platform: 'linux/amd64', size: 3_500_000, created: null, ...over,
});
const layer = (number: number, digest: string | null, createdBy: string | null = null): PathLayerImageLayer => ({
  lowerIndex: 3 - number, number, directory: `/var/lib/x/layers/${number}`, diffId: digest, digest, createdBy,
});

describe('Images view', () => {
  test('repository:tag, or repository@digest for a digest-only name; digest and size beside it; sorted by label', () => {
    expect(imageLabel(image({}))).toBe('alpine:3.20');
    expect(imageLabel(image({ repository: '127.0.0.1:5000/lab/app', tag: null, digest: D('c') }))).toBe('127.0.0.1:5000/lab/app@cccccccccccc');
    expect(imageDescription(image({}))).toBe('aaaaaaaaaaaa · 3.3 MiB');
    expect(shortDigest(D('f'))).toBe('ffffffffffff');
    expect(sortImages([image({ repository: 'zeta' }), image({ repository: 'alpha' })]).map((entry) => entry.repository)).toEqual(['alpha', 'zeta']);
  });

  test('layers base first: number, digest, size and the build step as a Dockerfile says it', () => {
    const rows = layerRows([
      { digest: D('1'), diffId: D('4'), size: 2048, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', createdBy: '/bin/sh -c #(nop) ADD file:abc in / ', created: null, directory: '/l/1', unpacked: true },
      { digest: D('2'), diffId: D('5'), size: 10, mediaType: 'application/vnd.oci.image.layer.v1.tar', createdBy: '/bin/sh -c rm /etc/motd', created: null, directory: '/l/2', unpacked: false },
      { digest: D('3'), diffId: D('6'), size: 0, mediaType: 'application/vnd.oci.image.layer.v1.tar', createdBy: null, created: null, directory: '/l/3', unpacked: true },
    ]);
    expect(rows.map((row) => [row.label, row.description])).toEqual([
      ['layer 1 · 111111111111', '2 KiB · ADD file:abc in /'],
      ['layer 2 · 222222222222', '10 B · RUN rm /etc/motd'],
      ['layer 3 · 333333333333', '0 B · build step not recorded'],
    ]);
    expect(rows[1]!.tooltip).toContain('(not unpacked yet)');
    expect(buildStep('COPY tool /usr/local/bin/')).toBe('COPY tool /usr/local/bin/');
  });

  test('used by: the containers, or a row saying none', () => {
    expect(usedByRows({ containers: [] }).map((row) => row.label)).toEqual(['no container uses this image']);
    expect(usedByRows({ containers: ['web', 'db'] }).map((row) => row.label)).toEqual(['web', 'db']);
  });
});

describe('the pull notification', () => {
  test('per-layer bytes in the message; the bar only moves forward and ends at 100', () => {
    const progress = new PullProgress();
    const events: ImagePullEvent[] = [
      { type: 'resolved', name: 'x', digest: D('a'), mediaType: 'm' },
      { type: 'manifest', digest: D('b'), platform: 'linux/amd64', layers: 2, size: 3 * 1024 * 1024 },
      { type: 'layer', index: 0, digest: D('1'), state: 'waiting', bytes: 0, total: 1024 * 1024 },
      { type: 'layer', index: 1, digest: D('2'), state: 'waiting', bytes: 0, total: 2 * 1024 * 1024 },
      { type: 'layer', index: 1, digest: D('2'), state: 'downloading', bytes: 1024 * 1024, total: 2 * 1024 * 1024 },
    ];
    const reports = events.map((event) => progress.update(event));
    expect(reports[1]!.message).toBe('2 layers, 3 MiB (linux/amd64)');
    expect(reports[4]!.message).toBe('0/2 layers ready · layer 2: 1 MiB / 2 MiB');
    expect(reports[4]!.increment).toBe(30);
    expect(progress.update({ type: 'layer', index: 0, digest: D('1'), state: 'present', bytes: 1024 * 1024, total: 1024 * 1024 }).increment).toBe(30);
    // A late, smaller byte count never moves the bar back.
    expect(progress.update({ type: 'layer', index: 1, digest: D('2'), state: 'downloading', bytes: 10, total: 2 * 1024 * 1024 }).increment).toBe(0);
    progress.update({ type: 'layer', index: 0, digest: D('1'), state: 'unpacked', bytes: 1024 * 1024, total: 1024 * 1024 });
    expect(progress.message()).toBe('1/2 layers ready · layer 2: 10 B / 2 MiB');
    const done = progress.update({ type: 'done', name: 'x', digest: D('a'), id: D('b') });
    expect(progress.percent()).toBeLessThan(100);
    expect(done.increment).toBe(100 - 60); // 60 reported so far (30 + 30)
  });
});

describe('the Files node', () => {
  const entry = (over: Partial<ContainerFileEntry>): ContainerFileEntry => ({
    name: 'passwd', path: '/etc/passwd', type: 'file', size: 12, mode: 0o100644, layer: 'upper', copiedUp: false, opaque: false, ...over,
  });
  test('each entry names its layer: upper, or the image layer by number and digest', () => {
    expect(fileLayerText('upper')).toBe('upper');
    expect(fileLayerText(layer(2, D('e')))).toBe('layer 2 · eeeeeeeeeeee');
    expect(fileLayerText(layer(1, null))).toBe('layer 1');
    expect(fileDescription(entry({ copiedUp: true }))).toBe('upper · copied up · 12 B');
    expect(fileDescription(entry({ type: 'directory', layer: layer(2, D('e')), opaque: true }))).toBe('layer 2 · eeeeeeeeeeee · opaque');
    expect(fileDescription(entry({ type: 'fifo', layer: 'upper' }))).toBe('upper · fifo');
    expect(fileLabel(entry({ type: 'symlink', target: '../usr/share/accounts/passwd' }))).toBe('passwd → ../usr/share/accounts/passwd');
  });

  test('whiteouts and opaque directories say what hides the name, and where', () => {
    expect(hiddenDescription({ name: 'motd', path: '/etc/motd', hiddenBy: 'whiteout', byLayer: layer(2, D('e')) })).toBe('deleted: whiteout in layer 2 · eeeeeeeeeeee');
    expect(hiddenDescription({ name: 'old.txt', path: '/opt/app/old.txt', hiddenBy: 'opaque-directory', byLayer: 'upper' })).toBe('hidden: opaque directory in upper');
    expect(directorySummary({ path: '/opt/app', resolvedPath: '/opt/app', mergedFrom: [layer(2, null)], opaque: true, entries: [], hidden: [], truncated: false })).toBe('0 entries from layer 2 (opaque)');
  });
});
