import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contactFieldLimits } from '../../../src/profiles/contact-field-limits';
import { standardContactFields } from '../../../src/profiles/contact-fields';

// The committed subset of Constant Contact's swagger (swagger-contract.test.ts keeps it equal to
// ../shared/constant-contact/swagger-v3.yaml wherever that file is present), so this runs on any clone.
const subset = require('../../../src/constant-contact/swagger-subset.generated.json') as {
  definitions: Record<string, { properties: Record<string, { maxLength?: number; type?: string }> }>;
};

/** The swagger spells this property with a space (a defect); Constant Contact's guide uses the underscore. */
const swaggerSpelling: Record<string, string> = { home_country: 'home country' };

describe('contactFieldLimits', () => {
  it('are the maxLength of the contacts_json_import contact fields (JsonImportContact) in the swagger', () => {
    const contact = subset.definitions.JsonImportContact;
    expect(contact).toBeDefined();
    for (const [field, limit] of Object.entries(contactFieldLimits)) {
      const property = contact?.properties[swaggerSpelling[field] ?? field];
      expect({ field, limit }).toEqual({ field, limit: property?.maxLength });
    }
  });

  it('cover every standard field, each a JsonImportContact property of the kind we send', () => {
    const contact = subset.definitions.JsonImportContact;
    for (const field of standardContactFields) {
      const property = contact?.properties[swaggerSpelling[field.name] ?? field.name];
      const type = field.kind === 'month' || field.kind === 'day' ? 'integer' : 'string';
      expect({ name: field.name, type: property?.type }).toEqual({ name: field.name, type });
    }
  });

  it('are what the ExportDestination schema offers in dataMatching, no more and no less', () => {
    const schema = JSON.parse(
      readFileSync(join(__dirname, '../../../schemas/export-destination.schema.json'), 'utf8'),
    ) as { properties: { spec: { properties: { dataMatching: { properties: Record<string, unknown> } } } } };
    const keys = Object.keys(schema.properties.spec.properties.dataMatching.properties);
    expect(keys).toEqual([
      'email',
      'firstName',
      'lastName',
      ...standardContactFields.map((field) => field.key),
      'customFields',
    ]);
  });
});
