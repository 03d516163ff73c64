/*
 * Static pods: a directory of Pod YAML the node runs without being asked, as the kubelet runs
 * its staticPodPath (where kubeadm puts the control plane's own pods). Adding a file creates its
 * pod, changing it deletes and creates the pod again, removing it deletes the pod. Files whose
 * name starts with "." are ignored, as the kubelet ignores them. A file that does not read as a
 * Pod is reported in the log (once per content) and changes nothing.
 */
import { existsSync, readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join, resolve } from 'node:path';
import { OnePassAtATime } from './engine/one-pass-at-a-time';
import type { PodEngine } from './engine/pod-engine';

/** The kubelet rereads its staticPodPath every 20 s besides watching it; here 5 s is enough. */
const RESCAN_MS = 5000;
const DEBOUNCE_MS = 150;

export class StaticPods {
  private readonly directory: string;
  private watcher: FSWatcher | null = null;
  private readonly timer: NodeJS.Timeout;
  private debounce: NodeJS.Timeout | null = null;
  private readonly passes = new OnePassAtATime(() => this.reconcile().catch((error: Error) => this.log(`static pods: ${error.message}`)));
  private readonly reported = new Set<string>();

  constructor(private readonly engine: PodEngine, directory: string, private readonly log: (line: string) => void) {
    this.directory = resolve(directory);
    try {
      this.watcher = watch(this.directory, () => this.soon());
    } catch (error) {
      log(`static pods: cannot watch ${this.directory} (${(error as Error).message.split('\n')[0]}): reading it every ${RESCAN_MS / 1000} s`);
    }
    this.timer = setInterval(() => void this.scan(), RESCAN_MS);
    this.timer.unref();
    void this.scan();
  }

  private soon(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.scan(), DEBOUNCE_MS);
  }

  /** One pass over the directory; passes never overlap. Resolves when the pods match the files. */
  scan(): Promise<void> {
    return this.passes.request();
  }

  private files(): Map<string, string> {
    const files = new Map<string, string>();
    if (!existsSync(this.directory)) return files;
    for (const name of readdirSync(this.directory).sort()) {
      if (name.startsWith('.')) continue;
      const path = join(this.directory, name);
      try {
        if (statSync(path).isFile()) files.set(path, readFileSync(path, 'utf8'));
      } catch {
        // removed while we looked
      }
    }
    return files;
  }

  private async reconcile(): Promise<void> {
    const files = this.files();
    const mine = this.engine.sources().filter((pod) => pod.source.startsWith(`${this.directory}/`));
    for (const pod of mine) {
      const text = files.get(pod.source);
      if (text === pod.text) continue;
      await this.engine.delete({ name: pod.name });
      if (text !== undefined) this.log(`static pods: ${pod.source} changed: pod ${pod.name} made again`);
    }
    const running = new Set(this.engine.sources().map((pod) => pod.source));
    for (const [path, text] of files) {
      if (running.has(path)) continue;
      try {
        await this.engine.apply(text, path, path);
      } catch (error) {
        const key = `${path}\0${text}`;
        if (!this.reported.has(key)) this.log(`static pods: ${(error as Error).message}`);
        this.reported.add(key);
      }
    }
  }

  close(): void {
    this.watcher?.close();
    clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
  }
}
