import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { contactFieldLimits } from '../../../src/profiles/contact-field-limits';
import { repoRoot } from '../../support/exportctl-cli';

// Constant Contact's contract sits beside the project (../shared), for developers and CI alike.
const swagger = join(repoRoot, '..', 'shared', 'constant-contact', 'swagger-v3.yaml');

describe('contactFieldLimits', () => {
  it('are the maxLength of contacts_json_import contact fields in the swagger', () => {
    expect(existsSync(swagger), `${swagger} must exist (shared/ beside the project)`).toBe(true);
    const contract = parse(readFileSync(swagger, 'utf8')) as {
      paths: Record<string, { post: { parameters: { in: string; schema: { $ref: string } }[] } }>;
      definitions: Record<
        string,
        { properties: Record<string, { items?: { $ref: string }; maxLength?: number }> }
      >;
    };
    const definition = (ref: string) => contract.definitions[ref.replace('#/definitions/', '')];
    const body = contract.paths['/activities/contacts_json_import']?.post.parameters.find(
      (p) => p.in === 'body',
    );
    const importData = definition(body?.schema.$ref ?? '')?.properties.import_data;
    const contact = definition(importData?.items?.$ref ?? '');
    expect(contact).toBeDefined();
    for (const [field, limit] of Object.entries(contactFieldLimits))
      expect({ field, limit }).toEqual({ field, limit: contact?.properties[field]?.maxLength });
  });
});
