/*
 * Field paths: how the Manifests view names one field of a document, the same way on both sides.
 *
 *   linux.namespaces[type=pid]                 an array item picked by its "type" (namespaces)
 *   mounts[destination=/proc]                  … or by its "destination" (mounts)
 *   spec.containers[0].resources.limits.memory an array item by position
 *   annotations["lab.containers.name"]         a key that is not a plain identifier
 *
 * Picking namespaces and mounts by what they are, not by position, keeps a path meaning the same
 * thing when a container has one namespace fewer (hostPID) or one mount more. No DOM and no
 * 'vscode' here: the page and the extension both use these functions.
 */

/** Keys that identify an item of an array better than its index does (a mount has a type too: destination first). */
export const ITEM_KEYS = ['destination', 'type'] as const;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `parent` + object key: `.key`, or `["key"]` for keys such as "lab.containers.name". */
export function childPath(parent: string, key: string): string {
  if (IDENTIFIER.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

/** `parent` + array item: `[type=pid]` when the item names itself, else `[index]`. */
export function itemPath(parent: string, index: number, item: unknown): string {
  if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
    for (const key of ITEM_KEYS) {
      const value = (item as Record<string, unknown>)[key];
      if (typeof value === 'string') return `${parent}[${key}=${value}]`;
    }
  }
  return `${parent}[${index}]`;
}

/** The path one level up ("" above a top-level key); null for "". */
export function parentPath(path: string): string | null {
  if (path === '') return null;
  // A trailing [...] (index, key=value or "quoted key"), else a trailing .key, else a top-level key.
  const bracket = /\[(?:"(?:[^"\\]|\\.)*"|[^\]]*)\]$/.exec(path);
  if (bracket) return path.slice(0, bracket.index);
  const dot = path.lastIndexOf('.');
  return dot >= 0 ? path.slice(0, dot) : '';
}

/** The path and every ancestor, nearest first: a click on a leaf finds the field it belongs to. */
export function pathAndAncestors(path: string): string[] {
  const chain: string[] = [];
  for (let current: string | null = path; current !== null && current !== ''; current = parentPath(current)) chain.push(current);
  return chain;
}
