/**
 * The longest value Constant Contact accepts for each contact field we send, from its contract:
 * `swagger-v3.yaml`, definition `JsonImportContact` (the items of `contacts_json_import`'s
 * `import_data`), `maxLength` of `email`, `first_name`, `last_name`. A test fails if these drift
 * from the committed swagger subset (src/constant-contact/swagger-subset.generated.json), and
 * another, where ../shared/constant-contact/swagger-v3.yaml is present, if the subset drifts from it.
 *
 * We count UTF-16 code units (JavaScript's `length`), which is never less than the code point
 * count that JSON Schema's maxLength means: a value within our limit fits under either reading.
 */
export const contactFieldLimits = {
  email: 50,
  first_name: 50,
  last_name: 50,
} as const satisfies Record<string, number>;
