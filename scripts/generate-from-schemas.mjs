#!/usr/bin/env node
// Generates from schemas/*.schema.json, so the JSON Schemas stay the one source of truth (STYLE.md 7):
//
// 1. src/config/manifest-validators.generated.ts: ajv's standalone validators, precompiled, so a CLI
//    start does not spend ~150 ms compiling schemas (measured with `npm run bench:validate`).
//
// 2. src/config/manifest-types.generated.ts: the manifest types. Two sets are emitted:
//   - `Connection`, `ConnectionSpec`, ...: a manifest after loading, where every property that has a
//     schema `default` is present (the loader applies defaults), which is what the code handles;
//   - `ConnectionInput`, `ConnectionSpecInput`, ...: a manifest as written (defaults optional), for
//     programmatic callers such as the Pulumi resource classes.
// `node scripts/generate-from-schemas.mjs` writes both files; `--check` exits 1 if either is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schemaDir = join(root, 'schemas');
const typesTarget = join(root, 'src', 'config', 'manifest-types.generated.ts');
const validatorsTarget = join(root, 'src', 'config', 'manifest-validators.generated.ts');
const require = createRequire(import.meta.url);
const kinds = {
  'connection.schema.json': 'Connection',
  'profile-source.schema.json': 'ProfileSource',
  'export-destination.schema.json': 'ExportDestination',
  'refresh.schema.json': 'Refresh',
  'access.schema.json': 'Access',
};

/** One schema with every cross-file $ref rewritten to a local $defs entry. */
function bundle() {
  const common = JSON.parse(readFileSync(join(schemaDir, 'common.schema.json'), 'utf8'));
  const defs = {};
  for (const [name, def] of Object.entries(common.$defs)) defs[`common_${name}`] = def;
  for (const [file, kind] of Object.entries(kinds)) {
    const schema = JSON.parse(readFileSync(join(schemaDir, file), 'utf8'));
    delete schema.$schema;
    defs[kind] = schema;
  }
  const rewrite = (node) => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node === null || typeof node !== 'object') return node;
    const out = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') {
        const [file, pointer] = value.split('#');
        if (file === 'common.schema.json') out.$ref = `#/$defs/common_${pointer.replace('/$defs/', '')}`;
        else if (file === '' && pointer.startsWith('/$defs/'))
          out.$ref = `#/$defs/common_${pointer.slice(7)}`;
        else if (kinds[file]) out.$ref = `#/$defs/${kinds[file]}`;
        else throw new Error(`unexpected $ref ${value}`);
      } else if (key.startsWith('x-')) {
        // annotations for our own error messages; not part of the type
      } else {
        out[key] = rewrite(value);
      }
    }
    return out;
  };
  return {
    title: 'Manifest',
    $defs: rewrite(defs),
    anyOf: Object.values(kinds).map((kind) => ({ $ref: `#/$defs/${kind}` })),
  };
}

/** Walks every schema object: `normalized` makes defaulted properties required; `suffix` renames titles. */
function transform(node, { normalized, suffix }) {
  if (Array.isArray(node)) return node.map((item) => transform(item, { normalized, suffix }));
  if (node === null || typeof node !== 'object') return node;
  // A $ref with only a description beside it would become a duplicate named type (ResourceName1, ...).
  if (
    typeof node.$ref === 'string' &&
    Object.keys(node).every((key) => key === '$ref' || key === 'description')
  ) {
    return { $ref: node.$ref };
  }
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    // if/then/else constraints (e.g. "sqlite needs database") are checked by ajv, not expressed as types;
    // json-schema-to-typescript would widen the whole object to an index signature.
    if (key === 'allOf' && Array.isArray(value) && value.every((item) => item && 'if' in item)) continue;
    out[key] =
      key === 'default' || key === 'const' || key === 'enum'
        ? value
        : transform(value, { normalized, suffix });
  }
  if (typeof out.title === 'string') out.title = `${out.title}${suffix}`;
  if (normalized && out.properties) {
    const defaulted = Object.entries(out.properties)
      .filter(([, property]) => property && typeof property === 'object' && 'default' in property)
      .map(([name]) => name);
    if (defaulted.length > 0) out.required = [...new Set([...(out.required ?? []), ...defaulted])];
  }
  return out;
}

export async function generateManifestTypes() {
  const bundled = bundle();
  const options = {
    bannerComment: '',
    additionalProperties: false,
    unknownAny: true,
    strictIndexSignatures: true,
    format: true,
    style: { singleQuote: true, printWidth: 110, trailingComma: 'all' },
  };
  const normalized = await compile(transform(bundled, { normalized: true, suffix: '' }), 'Manifest', options);
  const input = await compile(
    transform(bundled, { normalized: false, suffix: 'Input' }),
    'ManifestInput',
    options,
  );
  return [
    '// Generated by scripts/generate-from-schemas.mjs from schemas/*.schema.json. Do not edit:',
    '// change the schema and run `npm run generate`. A test fails when this file is stale.',
    '',
    '// Manifests after loading: every property with a schema default is present.',
    normalized.trim(),
    '',
    '// Manifests as written (defaults optional): for programmatic callers such as Pulumi programs.',
    input.trim(),
    '',
  ].join('\n');
}

/**
 * The one ajv set-up of the manifests: every error (allErrors), the failing schema in each error for
 * the hints (verbose), defaults filled in (useDefaults), our `x-hint`/`x-message`/`x-sensitive` annotations, and
 * every schema registered under its file name so relative `$ref`s resolve as editors resolve them.
 * `code` is ajv's code option (for standalone output). Tests use it to check the umbrella schema
 * (`exportctl.schema.json`) that editors see; the loader uses the precompiled validators.
 */
export function manifestAjv(code) {
  const Ajv2020 = require('ajv/dist/2020').default;
  const addFormats = require('ajv-formats').default;
  const ajv = new Ajv2020({
    allErrors: true,
    verbose: true,
    useDefaults: true,
    strict: true,
    strictRequired: false,
    ...(code ? { code } : {}),
  });
  addFormats(ajv, ['email', 'uri']);
  // Our own annotations: hints and messages for errors at that schema (ignored by editors).
  ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-message', schemaType: 'string' });
  // A value that problems never echo: what is written in a secret reference may be the secret.
  ajv.addKeyword({ keyword: 'x-sensitive', schemaType: 'boolean' });
  for (const file of ['common.schema.json', ...Object.keys(kinds), 'exportctl.schema.json'])
    ajv.addSchema(JSON.parse(readFileSync(join(schemaDir, file), 'utf8')), file);
  return ajv;
}

/** The standalone validators, one per kind, with the options of {@link manifestAjv}. */
export function generateManifestValidators() {
  const standaloneCode = require('ajv/dist/standalone').default;
  const { _ } = require('ajv');
  const ajv = manifestAjv({
    source: true,
    esm: true,
    formats: _`require("ajv-formats/dist/formats").fullFormats`,
  });
  const exports = Object.fromEntries(Object.entries(kinds).map(([file, kind]) => [kind, file]));
  return [
    '// @ts-nocheck -- generated JavaScript; src/config/manifest-schemas.ts gives it its types.',
    '// Generated by scripts/generate-from-schemas.mjs from schemas/*.schema.json (ajv standalone). Do not',
    '// edit: change the schema and run `npm run generate`. A test fails when this file is stale.',
    standaloneCode(ajv, exports),
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outputs = [
    [typesTarget, await generateManifestTypes()],
    [validatorsTarget, generateManifestValidators()],
  ];
  for (const [target, text] of outputs) {
    if (process.argv.includes('--check')) {
      if (readFileSync(target, 'utf8') !== text) {
        process.stderr.write(`${target} is stale: run npm run generate\n`);
        process.exitCode = 1;
      }
    } else {
      writeFileSync(target, text);
      process.stdout.write(`wrote ${target}\n`);
    }
  }
}
