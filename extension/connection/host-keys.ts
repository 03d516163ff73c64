/*
 * Host-key pinning ("trust on first use"), the way OpenSSH's known_hosts works.
 *
 * Every SSH server proves its identity with a host key during the key exchange. A client that does
 * not check it can be talked into connecting to an impostor — and here the impostor would receive
 * a root-capable channel to the lab. So the first time we meet a host we show the key's
 * fingerprint and ask; the answer is pinned under "host:port". Afterwards the key must match the
 * pin exactly; a different key is refused without asking, because a question at that moment is one
 * a user too easily answers "yes" to. Resetting a pin is a deliberate act (a command, or editing
 * the pin file), after the user has confirmed the host was really rebuilt.
 *
 * The fingerprint is OpenSSH's: "SHA256:" + base64 (without "=" padding) of the SHA-256 of the key
 * blob as sent on the wire — what `ssh-keygen -l -f key.pub` and `ssh` itself print, so a user
 * can compare it with the one the VM shows.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HostKeyPrompt, LabTarget } from './types';

/** OpenSSH's SHA256 fingerprint of a public key blob (the SSH wire format, as ssh2 hands it over). */
export function sha256Fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The pin name of a host: "host:port". */
export function pinKey(host: string, port: number): string {
  return `${host}:${port}`;
}

/** Where pins live: a JSON file here and in tests, VS Code's globalState in the extension. */
export interface HostKeyStore {
  get(hostPort: string): Promise<string | undefined>;
  set(hostPort: string, fingerprint: string): Promise<void>;
  delete(hostPort: string): Promise<void>;
  /** How a user removes one pin, for the "key changed" message. */
  describeReset(hostPort: string): string;
}

/** Pins in a small JSON file { "host:port": "SHA256:…" }, written atomically (temp file + rename). */
export class JsonFileHostKeyStore implements HostKeyStore {
  constructor(readonly path: string) {}

  async get(hostPort: string): Promise<string | undefined> {
    return (await this.readAll())[hostPort];
  }

  async set(hostPort: string, fingerprint: string): Promise<void> {
    const pins = await this.readAll();
    pins[hostPort] = fingerprint;
    await this.writeAll(pins);
  }

  async delete(hostPort: string): Promise<void> {
    const pins = await this.readAll();
    delete pins[hostPort];
    await this.writeAll(pins);
  }

  describeReset(hostPort: string): string {
    return `remove "${hostPort}" from ${this.path}`;
  }

  private async readAll(): Promise<Record<string, string>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${this.path} is not a JSON object of host-key pins`);
    return value as Record<string, string>;
  }

  private async writeAll(pins: Record<string, string>): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(pins, null, 2) + '\n', { mode: 0o600 });
    await rename(temporary, this.path);
  }
}

/** The server offered a key other than the pinned one: never connect. */
export class HostKeyChangedError extends Error {
  constructor(
    readonly hostPort: string,
    readonly pinned: string,
    readonly offered: string,
    resetHint: string,
  ) {
    super(
      `The host key of ${hostPort} has changed: pinned ${pinned}, offered ${offered}. ` +
        `This can mean someone is intercepting the connection, or that the lab host was rebuilt. ` +
        `Refusing to connect. If you know the host was rebuilt, reset the pin (${resetHint}) and connect again.`,
    );
    this.name = 'HostKeyChangedError';
  }
}

/** The user declined to trust a new host key. */
export class HostKeyRejectedError extends Error {
  constructor(readonly hostPort: string, readonly fingerprint: string) {
    super(`Host key of ${hostPort} (${fingerprint}) was not trusted: not connecting`);
    this.name = 'HostKeyRejectedError';
  }
}

/**
 * Decides about one offered key: resolves when it is pinned (or newly trusted and now pinned),
 * rejects with HostKeyChangedError / HostKeyRejectedError otherwise.
 */
export async function verifyHostKey(
  store: HostKeyStore,
  prompt: HostKeyPrompt,
  target: LabTarget,
  hostPort: string,
  fingerprint: string,
): Promise<'pinned' | 'trusted-now'> {
  const pinned = await store.get(hostPort);
  if (pinned === fingerprint) return 'pinned';
  if (pinned !== undefined) throw new HostKeyChangedError(hostPort, pinned, fingerprint, store.describeReset(hostPort));
  if (!(await prompt(target, fingerprint))) throw new HostKeyRejectedError(hostPort, fingerprint);
  await store.set(hostPort, fingerprint);
  return 'trusted-now';
}
