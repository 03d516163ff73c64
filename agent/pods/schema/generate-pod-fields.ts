/*
 * Generates ./pod-fields.generated.json: every field of a core/v1 Pod, as the Kubernetes API
 * defines it, in a compact form the agent's validator (../manifest/validate.ts) walks.
 *
 * The source is the npm package kubernetes-models (a development dependency), whose typings are
 * generated from the OpenAPI document of a recent Kubernetes release. The TypeScript compiler reads
 * those typings here, at development time, so the agent's bundle carries ~40 KB of field names
 * instead of the whole package. A node is:
 *   "string" | "number" | "boolean" | "quantity" | "int-or-string"
 *   { "enum": [...] } | { "array": node } | { "map": node } | { "ref": "TypeName" }
 * and each definition is { "fields": { name: node }, "required": [names] }.
 *
 * Regenerate after updating kubernetes-models:
 *   WRITE_POD_FIELDS=1 npx vite-node agent/pods/schema/generate-pod-fields.ts
 * test/pods-manifest.test.ts fails if the committed file is out of date.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export const GENERATED_FILE = path.join(__dirname, 'pod-fields.generated.json');

export type FieldNode =
  | 'string' | 'number' | 'boolean' | 'quantity' | 'int-or-string'
  | { enum: string[] } | { array: FieldNode } | { map: FieldNode } | { ref: string };

export interface FieldDefinition {
  fields: Record<string, FieldNode>;
  required: string[];
}

export interface PodFields {
  source: string;
  root: string;
  definitions: Record<string, FieldDefinition>;
}

const ALIASES: Record<string, FieldNode> = {
  IIoK8sApimachineryPkgApiResourceQuantity: 'quantity',
  IIoK8sApimachineryPkgUtilIntstrIntOrString: 'int-or-string',
  IQuantity: 'quantity',
  IIntOrString: 'int-or-string',
};

/** Reads the package's typings and returns the Pod's field tree. */
export function generatePodFields(): PodFields {
  const root = path.resolve(__dirname, '../../..');
  const entry = path.join(root, 'node_modules/.pod-fields-entry.ts');
  fs.writeFileSync(entry, "import type { IPod } from 'kubernetes-models/v1/Pod';\nexport type Root = IPod;\n");
  try {
    const program = ts.createProgram([entry], {
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true, skipLibCheck: true,
    });
    const checker = program.getTypeChecker();
    const source = program.getSourceFile(entry)!;
    const alias = source.statements.find(ts.isTypeAliasDeclaration)!;
    const rootType = checker.getTypeAtLocation(alias.name);
    const definitions: Record<string, FieldDefinition> = {};

    const nameOf = (type: ts.Type): string => {
      const symbol = type.aliasSymbol ?? type.getSymbol();
      return (symbol?.getName() ?? 'Anonymous').replace(/^IIoK8sApi(?:CoreV1|machineryPkgApisMetaV1)?/, '').replace(/^I(?=[A-Z])/, '');
    };

    const node = (type: ts.Type): FieldNode => {
      const aliasName = type.aliasSymbol?.getName();
      if (aliasName && ALIASES[aliasName]) return ALIASES[aliasName]!;
      if (type.isUnion()) {
        const members = type.types.filter((member) => !(member.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
        if (members.every((member) => member.isStringLiteral())) return { enum: members.map((member) => (member as ts.StringLiteralType).value).sort() };
        if (members.every((member) => member.flags & ts.TypeFlags.BooleanLiteral)) return 'boolean';
        const flags = members.reduce((all, member) => all | member.flags, 0);
        if (flags & ts.TypeFlags.String && flags & ts.TypeFlags.Number) return 'int-or-string';
        if (members.length === 1) return node(members[0]!);
        throw new Error(`unexpected union ${checker.typeToString(type)}`);
      }
      if (type.flags & ts.TypeFlags.String) return 'string';
      if (type.flags & ts.TypeFlags.Number) return 'number';
      if (type.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return 'boolean';
      if (type.isStringLiteral()) return { enum: [type.value] };
      if (checker.isArrayType(type)) return { array: node(checker.getTypeArguments(type as ts.TypeReference)[0]!) };
      const index = checker.getIndexInfosOfType(type)[0];
      if (index && type.getProperties().length === 0) return { map: node(index.type) };
      if (type.flags & ts.TypeFlags.Object) {
        const name = nameOf(type);
        if (!definitions[name]) {
          const definition: FieldDefinition = { fields: {}, required: [] };
          definitions[name] = definition;
          for (const property of type.getProperties()) {
            const declaration = property.valueDeclaration ?? property.declarations?.[0];
            const propertyType = checker.getTypeOfSymbolAtLocation(property, declaration ?? source);
            definition.fields[property.getName()] = node(propertyType);
            if (!(property.flags & ts.SymbolFlags.Optional)) definition.required.push(property.getName());
          }
        }
        return { ref: name };
      }
      if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return 'string';
      throw new Error(`unexpected type ${checker.typeToString(type)}`);
    };

    const top = node(rootType);
    const version = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/kubernetes-models/package.json'), 'utf8')).version as string;
    return { source: `kubernetes-models@${version}`, root: (top as { ref: string }).ref, definitions };
  } finally {
    fs.rmSync(entry, { force: true });
  }
}

if (process.env.WRITE_POD_FIELDS === '1') {
  fs.writeFileSync(GENERATED_FILE, JSON.stringify(generatePodFields()) + '\n');
  process.stdout.write(`wrote ${GENERATED_FILE}\n`);
}
