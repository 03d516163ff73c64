/*
 * The Pod's shape against the Kubernetes API's own field list (../schema/pod-fields.generated.json,
 * generated from kubernetes-models): unknown fields, wrong types and enum values, missing required
 * fields — what the API server's strict decoding and OpenAPI validation refuse, with the same paths.
 */
import podFields from '../schema/pod-fields.generated.json';
import type { FieldDefinition, FieldNode, PodFields } from '../schema/generate-pod-fields';
import { formatPath, type FieldPath, type ManifestProblem, type PodDocument } from './document';

const FIELDS = podFields as unknown as PodFields;

export const SCHEMA_SOURCE = FIELDS.source;

/** Every shape problem in the document, in document order (an empty list: the shape is right). */
export function schemaProblems(document: PodDocument): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const report = (path: FieldPath, message: string): void => {
    problems.push({ path: formatPath(path), line: document.lineOf(path), message });
  };
  walk(document.value, { ref: FIELDS.root }, [], report);
  return problems;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function walk(value: unknown, node: FieldNode, path: FieldPath, report: (path: FieldPath, message: string) => void): void {
  // The API server treats an explicit null as "not set".
  if (value === null || value === undefined) return;
  if (typeof node === 'string') {
    const ok =
      node === 'string' ? typeof value === 'string'
        : node === 'number' ? typeof value === 'number' && Number.isFinite(value)
          : node === 'boolean' ? typeof value === 'boolean'
            : typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
    const expected = node === 'quantity' ? 'a quantity (string or number)' : node === 'int-or-string' ? 'an integer or a string' : `${node === 'number' ? 'a' : 'a'} ${node}`;
    if (!ok) report(path, `Invalid value: ${JSON.stringify(typeName(value))}: expected ${expected}`);
    return;
  }
  if ('enum' in node) {
    if (typeof value !== 'string' || !node.enum.includes(value)) {
      report(path, `Unsupported value: ${JSON.stringify(typeof value === 'string' ? value.slice(0, 40) : typeName(value))}: supported values: ${node.enum.map((v) => JSON.stringify(v)).join(', ')}`);
    }
    return;
  }
  if ('array' in node) {
    if (!Array.isArray(value)) return report(path, `Invalid value: ${JSON.stringify(typeName(value))}: expected an array`);
    value.forEach((item, index) => walk(item, node.array, [...path, index], report));
    return;
  }
  if ('map' in node) {
    if (typeof value !== 'object' || Array.isArray(value)) return report(path, `Invalid value: ${JSON.stringify(typeName(value))}: expected an object`);
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) walk(inner, node.map, [...path, key], report);
    return;
  }
  const definition: FieldDefinition | undefined = FIELDS.definitions[node.ref];
  if (!definition) return;
  if (typeof value !== 'object' || Array.isArray(value)) return report(path, `Invalid value: ${JSON.stringify(typeName(value))}: expected an object`);
  const record = value as Record<string, unknown>;
  for (const [key, inner] of Object.entries(record)) {
    const field = Object.prototype.hasOwnProperty.call(definition.fields, key) ? definition.fields[key] : undefined;
    if (!field) {
      report([...path, key], `unknown field ${JSON.stringify(formatPath([...path, key]))}`);
      continue;
    }
    walk(inner, field, [...path, key], report);
  }
  for (const required of definition.required) {
    if (record[required] === undefined || record[required] === null) report([...path, required], 'Required value');
  }
}
