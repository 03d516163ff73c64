/*
 * --log FILE and --log-format text|json: where the runtime writes what it did and why it failed.
 * containerd's shim passes `--log <bundle>/log.json --log-format json` and, when a command fails,
 * reads the last "error" entry from that file to tell the user; runc writes one JSON object per
 * line: {"level":"error","msg":"…","time":"…"}. --debug adds "debug" entries.
 */
import { appendFileSync } from 'node:fs';

export type LogFormat = 'text' | 'json';

export class RuncLog {
  constructor(private readonly file: string | null, private readonly format: LogFormat, private readonly debugOn: boolean) {}

  error(message: string): void {
    this.write('error', message);
  }

  warn(message: string): void {
    this.write('warning', message);
  }

  debug(message: string): void {
    if (this.debugOn) this.write('debug', message);
  }

  private write(level: 'error' | 'warning' | 'debug', msg: string): void {
    if (level === 'warning') process.stderr.write(`warning: ${msg}\n`);
    if (!this.file) {
      if (level === 'debug') process.stderr.write(`${level}: ${msg}\n`);
      return;
    }
    const time = new Date().toISOString();
    const line = this.format === 'json' ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
    try {
      appendFileSync(this.file, `${line}\n`);
    } catch {
      // a log that cannot be written must not hide the error itself, which goes to stderr too
    }
  }
}
