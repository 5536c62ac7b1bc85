import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const root = join(__dirname, '..', '..', '..');

// The generator is the repo's own ESM script; importing it runs nothing but definitions.
interface SchemaGenerator {
  generateManifestTypes(): Promise<string>;
  generateManifestValidators(): string;
  /** The ajv set-up the validators are generated with, every schema registered by file name. */
  manifestAjv(): Ajv2020;
}
const loadGenerator = async () =>
  (await import(join(root, 'scripts', 'generate-from-schemas.mjs'))) as SchemaGenerator;
const umbrella = async () => (await loadGenerator()).manifestAjv().getSchema('exportctl.schema.json');

function yamlFilesUnder(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return name.startsWith('.') ? [] : yamlFilesUnder(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

const exampleFiles = yamlFilesUnder(join(root, 'config-examples')).filter(
  (file) => !/Pulumi(\.[\w-]+)?\.yaml$/.test(file),
);

describe('JSON Schemas', () => {
  it('generated manifest types and validators are up to date with the schemas', async () => {
    const generator = await loadGenerator();
    const read = (name: string) => readFileSync(join(root, 'src', 'config', name), 'utf8');
    expect(read('manifest-types.generated.ts')).toBe(await generator.generateManifestTypes());
    expect(read('manifest-validators.generated.ts')).toBe(generator.generateManifestValidators());
  });

  it('every example file points editors at the schema and validates against it', async () => {
    expect(exampleFiles.length).toBeGreaterThanOrEqual(8);
    const validate = await umbrella();
    expect(validate).toBeDefined();
    for (const file of exampleFiles) {
      const text = readFileSync(file, 'utf8');
      const first = text.split('\n')[0] ?? '';
      const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
      expect(match, `${relative(root, file)} starts with the $schema line`).not.toBeNull();
      expect(resolve(dirname(file), match?.[1] ?? '')).toBe(join(root, 'schemas', 'exportctl.schema.json'));
      for (const document of parseAllDocuments(text) as unknown as { toJS(): unknown }[]) {
        const data = document.toJS();
        const ok = validate?.(structuredClone(data));
        expect(ok, `${relative(root, file)}: ${JSON.stringify(validate?.errors)}`).toBe(true);
      }
    }
  });

  it('the umbrella schema rejects an unknown kind and an unknown field', async () => {
    const validate = await umbrella();
    expect(
      validate?.({ apiVersion: 'exportctl/v1', kind: 'Segment', metadata: { name: 'a' }, spec: {} }),
    ).toBe(false);
    expect(
      validate?.({
        apiVersion: 'exportctl/v1',
        kind: 'Refresh',
        metadata: { name: 'a' },
        spec: { cron: '0 * * * *', every: 'hour' },
      }),
    ).toBe(false);
    expect(
      validate?.({
        apiVersion: 'exportctl/v1',
        kind: 'Refresh',
        metadata: { name: 'a' },
        spec: { cron: '0 * * * *' },
      }),
    ).toBe(true);
  });
});

describe('generated manifest reference', () => {
  it('docs/manifest-reference.md is up to date with the schemas', async () => {
    const generator = (await import(join(root, 'scripts', 'generate-manifest-reference.mjs'))) as {
      generateManifestReference(): string;
    };
    expect(readFileSync(join(root, 'docs', 'manifest-reference.md'), 'utf8')).toBe(
      generator.generateManifestReference(),
    );
  });
});
