#!/usr/bin/env node
// Generates src/generated/protocol.ts from the repository's proto-schemas/ (which are
// themselves generated from the Rust types), so the SDK's message types can never be
// written by hand or drift: `npm run gen` rewrites the file, `npm run gen:check` exits 1
// when the committed file differs from what the schemas give (scripts/test runs it).
//
// Only the subset of JSON Schema draft-07 that tether-schemas emits is understood; any
// other keyword that changes a shape makes the generator fail loudly rather than guess.

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const schemasDir = join(here, '..', '..', '..', 'proto-schemas');
const outFile = join(here, '..', 'src', 'generated', 'protocol.ts');

// Keywords that only constrain values (validation), not the TypeScript shape.
const IGNORED = new Set([
  '$schema', '$comment', 'title', 'description', 'format', 'pattern', 'minimum', 'maximum',
  'minLength', 'maxLength', 'maxItems', 'minItems', 'maxProperties', 'definitions',
  'x-tether-endpoints',
]);
const UNDERSTOOD = new Set([
  ...IGNORED, '$ref', 'type', 'const', 'enum', 'oneOf', 'anyOf', 'allOf', 'properties',
  'required', 'items', 'additionalProperties', 'propertyNames',
]);

const pascal = (name) => name.replace(/(^|_)([a-z0-9])/g, (_, __, c) => c.toUpperCase());
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const jsonFiles = (dir) =>
  readdirSync(join(schemasDir, dir)).filter((f) => f.endsWith('.json')).sort();

/** Shared definitions (Timestamp, Role, ...) by name; each must mean the same everywhere. */
const definitions = new Map();

function collectDefinitions(schema, file) {
  for (const [name, def] of Object.entries(schema.definitions ?? {})) {
    const seen = definitions.get(name);
    if (seen && JSON.stringify(seen.def) !== JSON.stringify(def)) {
      throw new Error(`definition ${name} differs between ${seen.file} and ${file}`);
    }
    definitions.set(name, { def, file });
  }
}

function doc(schema, indent) {
  const text = schema.description?.trim();
  if (!text) return '';
  const lines = text.replace(/\*\//g, '*\\/').split('\n');
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l}`.trimEnd()).join('\n')}\n${indent} */\n`;
}

const literal = (value) => JSON.stringify(value);
const union = (parts) => [...new Set(parts)].join(' | ');

/** The TypeScript type of a schema, inline. */
function typeOf(schema, indent = '') {
  for (const key of Object.keys(schema)) {
    if (!UNDERSTOOD.has(key)) throw new Error(`unsupported schema keyword: ${key}`);
  }
  if (schema.$ref) {
    const match = /^#\/definitions\/(\w+)$/.exec(schema.$ref);
    if (!match) throw new Error(`unsupported $ref ${schema.$ref}`);
    return match[1];
  }
  if ('const' in schema) return literal(schema.const);
  if (schema.enum) return union(schema.enum.map(literal));
  if (schema.allOf) {
    const parts = schema.allOf.map((s) => typeOf(s, indent));
    // `allOf` beside own `properties` (server/chat_message.json): both apply.
    if (schema.properties) {
      const { allOf: _, ...own } = schema;
      parts.push(typeOf(own, indent));
    }
    return parts.length === 1 ? parts[0] : parts.map((p) => (p.includes('|') ? `(${p})` : p)).join(' & ');
  }
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives) return union(alternatives.map((s) => typeOf(s, indent)));
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length === 0) return 'unknown';
  return union(types.map((type) => typeOfType(type, schema, indent)));
}

function typeOfType(type, schema, indent) {
  switch (type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      return schema.items ? `Array<${typeOf(schema.items, indent)}>` : 'unknown[]';
    case 'object':
      return objectType(schema, indent);
    default:
      throw new Error(`unsupported type ${type}`);
  }
}

function objectType(schema, indent) {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const extra = schema.additionalProperties;
  if (Object.keys(props).length === 0) {
    if (extra && typeof extra === 'object') {
      const value = typeOf(extra, indent);
      // `propertyNames: {enum}` (Mediums): a partial record over the allowed keys.
      if (schema.propertyNames?.enum) {
        return `Partial<Record<${union(schema.propertyNames.enum.map(literal))}, ${value}>>`;
      }
      return `Record<string, ${value}>`;
    }
    return 'Record<string, unknown>';
  }
  const inner = `${indent}  `;
  const fields = Object.entries(props)
    .sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))
    .map(([name, prop]) => {
      const optional = required.has(name) ? '' : '?';
      return `${doc(prop, inner)}${inner}${name}${optional}: ${typeOf(prop, inner)};\n`;
    })
    .join('');
  return `{\n${fields}${indent}}`;
}

// `type` first and `request_id` last reads like the protocol document.
const order = (name) => (name === 'type' ? -1 : name === 'request_id' ? 1 : 0);

function declaration(name, schema) {
  const type = typeOf(schema);
  const head = doc(schema, '');
  if (type.startsWith('{')) return `${head}export interface ${name} ${type}\n`;
  return `${head}export type ${name} = ${type};\n`;
}

// ---- what to generate ----

const sections = [];
const messageNames = { client: [], server: [] };
for (const side of ['client', 'server']) {
  const decls = [];
  for (const file of jsonFiles(side)) {
    const schema = readJson(join(schemasDir, side, file));
    collectDefinitions(schema, `${side}/${file}`);
    const wireType = schema.properties?.type?.const;
    if (wireType !== file.replace(/\.json$/, '')) {
      throw new Error(`${side}/${file}: its type const is ${wireType}`);
    }
    const name = `${pascal(side)}${pascal(wireType)}`;
    messageNames[side].push({ name, wireType });
    decls.push(declaration(name, schema));
  }
  sections.push(`// ---- ${side} messages (proto-schemas/${side}/) ----\n\n${decls.join('\n')}`);
}

// Names that would shadow a global where a module imports them: `Error` (http/error.json)
// would hide the built-in `Error` wherever an editor auto-imports it from the SDK.
const HTTP_NAMES = { error: 'ErrorBody' };
const httpDecls = [];
for (const file of jsonFiles('http')) {
  const schema = readJson(join(schemasDir, 'http', file));
  collectDefinitions(schema, `http/${file}`);
  const base = file.replace(/\.json$/, '');
  httpDecls.push(declaration(HTTP_NAMES[base] ?? pascal(base), schema));
}
sections.push(`// ---- HTTP bodies (proto-schemas/http/) ----\n\n${httpDecls.join('\n')}`);

// Which messages each WebSocket endpoint accepts and sends, from the AsyncAPI document.
const asyncapi = readJson(join(schemasDir, 'asyncapi.json'));
const endpointTypes = {};
for (const role of ['seeker', 'provider']) {
  const channel = asyncapi.channels[`${role}Socket`];
  if (!channel) throw new Error(`asyncapi.json has no ${role}Socket channel`);
  const keys = Object.keys(channel.messages);
  for (const side of ['client', 'server']) {
    endpointTypes[`${role}_${side}`] = keys
      .filter((k) => k.startsWith(`${side}_`))
      .map((k) => k.slice(side.length + 1))
      .sort();
  }
}

const nameOf = (side, wireType) => {
  const found = messageNames[side].find((m) => m.wireType === wireType);
  if (!found) throw new Error(`asyncapi lists ${side} message ${wireType} without a schema`);
  return found.name;
};
// Each message is named in one union only: every message is the two endpoints' unions
// (plus any message neither endpoint lists), each endpoint's is what both carry plus its
// own, and what both carry is listed once. The sets are exactly those of the schemas and
// asyncapi.json; only the spelling is shorter.

// A union on one line when it fits in 100 columns, else one member a line.
const unionType = (head, members) => {
  const line = `${head} = ${members.join(' | ')};`;
  return line.length <= 100 ? `${line}\n` : `${head} =\n  | ${members.join('\n  | ')};\n`;
};
const unions = [];
for (const side of ['client', 'server']) {
  const Side = pascal(side);
  const byRole = {};
  for (const role of ['seeker', 'provider']) {
    byRole[role] = endpointTypes[`${role}_${side}`].map((t) => nameOf(side, t));
  }
  const both = byRole.seeker.filter((name) => byRole.provider.includes(name));
  const neither = messageNames[side]
    .map((m) => m.name)
    .filter((name) => !byRole.seeker.includes(name) && !byRole.provider.includes(name));
  const bothName = `Both${Side}Message`;
  unions.push(
    `/** Every ${side} message. */\n${unionType(`export type ${Side}Message`, [`Seeker${Side}Message`, `Provider${Side}Message`, ...neither])}`,
  );
  for (const role of ['seeker', 'provider']) {
    const own = byRole[role].filter((name) => !both.includes(name));
    const verb = side === 'client' ? 'sends on' : 'receives on';
    unions.push(
      `/** What a ${role} ${verb} /ws/work/${role}/. */\n${unionType(`export type ${pascal(role)}${Side}Message`, [bothName, ...own])}`,
    );
  }
  // Not exported: the SDK's API stays the full and the per-endpoint unions.
  const verb = side === 'client' ? 'send on' : 'receive on';
  unions.push(
    `/** What a seeker and a provider both ${verb} their endpoints. */\n${unionType(`type ${bothName}`, both)}`,
  );
  unions.push(
    `/** The wire \`type\` of each ${side} message. */\nexport const ${side.toUpperCase()}_MESSAGE_TYPES = [\n${messageNames[side].map((m) => `  ${literal(m.wireType)},`).join('\n')}\n] as const;\n`,
  );
}
sections.push(`// ---- unions per endpoint (proto-schemas/asyncapi.json) ----\n\n${unions.join('\n')}`);

const defs = [...definitions.entries()]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([name, { def }]) => declaration(name, def));
sections.unshift(`// ---- shared definitions ----\n\n${defs.join('\n')}`);

const output = `// GENERATED by scripts/gen-types.mjs from proto-schemas/: do not edit.
// Regenerate with \`npm run gen\` (in clients/typescript) after regenerating the schemas.
/* eslint-disable */

${sections.join('\n')}`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(outFile, 'utf8');
  } catch {
    // missing counts as drift
  }
  if (current !== output) {
    console.error(
      'clients/typescript/src/generated/protocol.ts is out of date with proto-schemas/: run `npm run gen` in clients/typescript',
    );
    process.exit(1);
  }
  console.log('protocol.ts matches proto-schemas/');
} else {
  writeFileSync(outFile, output);
  console.log(`wrote ${outFile}`);
}
