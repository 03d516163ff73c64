/*
 * list [--format table|json] [--quiet]: every container under --root with its observed status
 * — runc's columns (ID PID STATUS BUNDLE CREATED OWNER), or the state documents as a JSON array.
 */
import { RuncError } from './errors';
import { flag, parseFlags } from './flags';
import { stateDocument } from './state';
import type { Invocation } from './verb';

export async function list(invocation: Invocation): Promise<number> {
  const parsed = parseFlags(invocation.args, [{ name: 'format', alias: 'f', kind: 'string' }, { name: 'quiet', alias: 'q', kind: 'bool' }]);
  const format = flag.string(parsed, 'format') ?? 'table';
  if (format !== 'table' && format !== 'json') throw new RuncError(`invalid format option: ${format}`);
  const { root } = invocation;
  const docs = root.ids().flatMap((id) => {
    try {
      return [stateDocument(root.load(id))];
    } catch {
      return []; // removed meanwhile
    }
  });
  if (flag.bool(parsed, 'quiet')) {
    process.stdout.write(docs.map((doc) => `${doc.id}\n`).join(''));
  } else if (format === 'json') {
    process.stdout.write(`${JSON.stringify(docs)}\n`);
  } else {
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...docs.map((doc) => [doc.id, String(doc.pid), doc.status, doc.bundle, doc.created, doc.owner || 'root'])];
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    process.stdout.write(rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]! + 3)).join('').trimEnd()).join('\n') + '\n');
  }
  return 0;
}
