/*
 * Errors a user can act on. A LabError's message is one line that names the problem
 * ("invalid name \"../x\": use letters, digits, '-', '_' and '.'"); the CLI prints it as is and
 * the service returns it as a JSON-RPC error with a matching code. Kernel failures stay
 * KernelErrors (agent/kernel/errors.ts), which name the call.
 */
export type LabErrorKind = 'bad-input' | 'not-found' | 'conflict' | 'unsupported' | 'permission';

export class LabError extends Error {
  readonly kind: LabErrorKind;
  constructor(kind: LabErrorKind, message: string) {
    super(message);
    this.name = 'LabError';
    this.kind = kind;
  }
}

export const badInput = (message: string): LabError => new LabError('bad-input', message);
export const notFound = (message: string): LabError => new LabError('not-found', message);
export const conflict = (message: string): LabError => new LabError('conflict', message);
