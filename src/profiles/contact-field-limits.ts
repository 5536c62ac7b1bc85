import { customFieldMaxLength, standardContactFields } from './contact-fields';

/**
 * The longest value Constant Contact accepts for each contact field we send, from its contract:
 * `swagger-v3.yaml`, definition `JsonImportContact` (the items of `contacts_json_import`'s
 * `import_data`), `maxLength` of each string field (`cf:custom_field_name` for every custom field).
 * A test fails if these drift from the committed swagger subset
 * (src/constant-contact/swagger-subset.generated.json), and another, where
 * ../shared/constant-contact/swagger-v3.yaml is present, if the subset drifts from it.
 *
 * We count UTF-16 code units (JavaScript's `length`), which is never less than the code point
 * count that JSON Schema's maxLength means: a value within our limit fits under either reading.
 */
export const contactFieldLimits = {
  email: 50,
  first_name: 50,
  last_name: 50,
  ...Object.fromEntries(
    standardContactFields.flatMap((field) =>
      field.maxLength === undefined ? [] : [[field.name, field.maxLength] as const],
    ),
  ),
  'cf:custom_field_name': customFieldMaxLength,
} as const satisfies Record<string, number>;
