#!/usr/bin/env node
// Extracts the part of Constant Contact's Swagger 2.0 contract that exportctl uses (the operations
// below, their parameters, and every definition they reach) from ../shared/constant-contact/
// swagger-v3.yaml into src/constant-contact/swagger-subset.generated.json, and TypeScript types for
// those definitions into src/constant-contact/swagger-types.generated.ts.
//
// The swagger lives beside the repository (present for developers and CI, absent from a published
// package), while the sandbox validates request bodies at runtime: so the subset is committed, and a
// test regenerates it and fails when it differs. The extraction is verbatim except that prose
// (description, example, x-example, summary) is dropped. The documented `maxItems: 0` defects are NOT
// patched here: src/constant-contact/swagger-schemas.ts patches them in one place, with the reason.
//
//   node scripts/generate-swagger-subset.mjs           writes both files
//   node scripts/generate-swagger-subset.mjs --check   exits 1 if either is stale
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';
import YAML from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const swaggerPath = join(root, '..', 'shared', 'constant-contact', 'swagger-v3.yaml');
export const subsetPath = join(root, 'src', 'constant-contact', 'swagger-subset.generated.json');
export const typesPath = join(root, 'src', 'constant-contact', 'swagger-types.generated.ts');

/** The operations exportctl's client calls and its sandbox serves: `METHOD path` as in the swagger. */
const operations = [
  'POST /activities/contacts_json_import',
  'POST /activities/remove_list_memberships',
  'POST /activities/contact_exports',
  'GET /activities/{activity_id}',
  'GET /activities',
  'GET /contact_exports/{file_export_id}',
  'GET /contact_lists/{list_id}',
  'GET /contact_lists',
  'POST /contact_lists',
  'GET /contacts',
  'GET /contact_custom_fields',
];
/** Definitions no operation references but the client and sandbox use: CC's error bodies. */
const extraDefinitions = ['APIErrorSchema', 'AuthorizationErrorSchema'];
const prose = new Set(['description', 'example', 'x-example', 'summary']);

function stripProse(node, key) {
  if (Array.isArray(node)) return node.map((item) => stripProse(item));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [name, value] of Object.entries(node)) {
    // Inside `properties`, keys are property names (a property could be called "description").
    if (key !== 'properties' && prose.has(name)) continue;
    out[name] = stripProse(value, name);
  }
  return out;
}

function definitionName(ref) {
  const prefix = '#/definitions/';
  if (!ref.startsWith(prefix)) throw new Error(`unexpected $ref ${ref}`);
  return ref.slice(prefix.length);
}

/** The subset as a plain object; throws if an operation or definition is missing from the swagger. */
export function extractSubset(swaggerText) {
  const swagger = YAML.parse(swaggerText);
  const ops = {};
  const wanted = [...extraDefinitions];
  for (const operation of operations) {
    const [method, path] = operation.split(' ');
    const source = swagger.paths?.[path]?.[method.toLowerCase()];
    if (!source) throw new Error(`the swagger has no operation ${operation}`);
    const parameters = (source.parameters ?? []).map((parameter) => stripProse(parameter));
    const responses = {};
    for (const [status, response] of Object.entries(source.responses ?? {})) {
      if (response.schema) responses[status] = stripProse(response.schema);
    }
    ops[operation] = {
      operationId: source.operationId,
      consumes: source.consumes ?? swagger.consumes ?? [],
      produces: source.produces ?? swagger.produces ?? [],
      parameters,
      responses,
    };
    const collect = (node) => {
      if (Array.isArray(node)) return node.forEach(collect);
      if (node === null || typeof node !== 'object') return;
      for (const [name, value] of Object.entries(node)) {
        if (name === '$ref' && typeof value === 'string') wanted.push(definitionName(value));
        else collect(value);
      }
    };
    collect(ops[operation]);
  }
  const definitions = {};
  while (wanted.length > 0) {
    const name = wanted.shift();
    if (Object.hasOwn(definitions, name)) continue;
    const definition = swagger.definitions?.[name];
    if (!definition) throw new Error(`the swagger has no definition ${name}`);
    definitions[name] = stripProse(definition);
    JSON.stringify(definitions[name], (key, value) => {
      if (key === '$ref' && typeof value === 'string') wanted.push(definitionName(value));
      return value;
    });
  }
  const sorted = Object.fromEntries(
    Object.keys(definitions)
      .sort()
      .map((name) => [name, definitions[name]]),
  );
  return {
    source: {
      file: 'shared/constant-contact/swagger-v3.yaml',
      title: swagger.info?.title,
      version: swagger.info?.version,
    },
    basePath: swagger.basePath,
    operations: ops,
    definitions: sorted,
  };
}

export function subsetJson(subset) {
  return `${JSON.stringify(subset, null, 2)}\n`;
}

/** TypeScript types for every definition of the subset (named as in the swagger). */
export async function subsetTypes(subset) {
  const schema = {
    title: 'SwaggerSubsetDefinitions',
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(
      Object.keys(subset.definitions).map((name) => [name, { $ref: `#/definitions/${name}` }]),
    ),
    definitions: Object.fromEntries(
      Object.entries(subset.definitions).map(([name, definition]) => [name, { ...definition, title: name }]),
    ),
  };
  const text = await compile(schema, 'SwaggerSubsetDefinitions', {
    bannerComment: '',
    // Swagger 2.0 objects admit unknown properties, but our types describe what we read and write.
    additionalProperties: false,
    unknownAny: true,
    strictIndexSignatures: true,
    // Array bounds are the validator's business; as tuple types, the swagger's maxItems: 0 defects
    // would make the types unusable (see swagger-schemas.ts for the patch).
    ignoreMinAndMaxItems: true,
    format: true,
    style: { singleQuote: true, printWidth: 110, trailingComma: 'all' },
  });
  return [
    "// Generated by scripts/generate-swagger-subset.mjs from Constant Contact's swagger (see",
    '// swagger-subset.generated.json). Do not edit: a test fails when this file is stale.',
    '',
    text.trim(),
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!existsSync(swaggerPath)) {
    process.stderr.write(`${swaggerPath} not found: the swagger lives in ../shared beside the repository\n`);
    process.exit(1);
  }
  const subset = extractSubset(readFileSync(swaggerPath, 'utf8'));
  const files = [
    [subsetPath, subsetJson(subset)],
    [typesPath, await subsetTypes(subset)],
  ];
  if (process.argv.includes('--check')) {
    const stale = files.filter(([path, text]) => !existsSync(path) || readFileSync(path, 'utf8') !== text);
    for (const [path] of stale)
      process.stderr.write(`${path} is stale: run node scripts/generate-swagger-subset.mjs\n`);
    process.exit(stale.length > 0 ? 1 : 0);
  }
  for (const [path, text] of files) {
    writeFileSync(path, text);
    process.stdout.write(`wrote ${path}\n`);
  }
}
