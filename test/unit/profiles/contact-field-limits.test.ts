import { describe, expect, it } from 'vitest';
import { contactFieldLimits } from '../../../src/profiles/contact-field-limits';

// The committed subset of Constant Contact's swagger (swagger-contract.test.ts keeps it equal to
// ../shared/constant-contact/swagger-v3.yaml wherever that file is present), so this runs on any clone.
const subset = require('../../../src/constant-contact/swagger-subset.generated.json') as {
  definitions: Record<string, { properties: Record<string, { maxLength?: number }> }>;
};

describe('contactFieldLimits', () => {
  it('are the maxLength of the contacts_json_import contact fields (JsonImportContact) in the swagger', () => {
    const contact = subset.definitions.JsonImportContact;
    expect(contact).toBeDefined();
    for (const [field, limit] of Object.entries(contactFieldLimits))
      expect({ field, limit }).toEqual({ field, limit: contact?.properties[field]?.maxLength });
  });
});
