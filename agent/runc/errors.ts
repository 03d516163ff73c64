/*
 * What the runtime says when a command fails. runc prints one line on stderr (and, with --log, a
 * log entry at level "error") and exits 1; containerd's shim shows that line to the user. The
 * texts follow runc's where a caller might match them ("container does not exist",
 * "container not running", "cannot start an already running container").
 */
export class RuncError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'RuncError';
  }
}
