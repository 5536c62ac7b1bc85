import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dynamicProviderErrorCodes, errorCodeRegistries } from '../../support/error-code-registries';

const page = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'troubleshooting.md'), 'utf8');
const documented = new Set([...page.matchAll(/^\| `([a-z][a-z0-9-]*)` \|/gm)].map((match) => match[1]));

describe('docs/troubleshooting.md', () => {
  it.each(Object.entries({ ...errorCodeRegistries, provider: dynamicProviderErrorCodes }))(
    'documents every %s code',
    (_layer, codes) => {
      const missing = Object.keys(codes).filter((code) => !documented.has(code));
      expect(missing).toEqual([]);
    },
  );
});
