import type { DataMatching } from '../config';

/**
 * How a mapped value is checked before it is sent (see `checkFieldValue`):
 * - `text`: trimmed, control characters become one space, NFC; too long is truncated (a warning);
 * - `phone`: trimmed; too long, or without a digit, is left out (a warning: a cut phone number
 *   reaches someone else);
 * - `month` / `day`: an integer 1-12 / 1-31, sent as a JSON number; anything else is left out;
 * - `date`: a date Constant Contact accepts (its formats, or an ISO date or date-time from the
 *   source, converted to YYYY-MM-DD); anything else is left out.
 */
export type ContactFieldKind = 'text' | 'phone' | 'month' | 'day' | 'date';

/** One standard contact field of Constant Contact's JSON import that a destination may map. */
export interface StandardContactField {
  /** The `dataMatching` property that names the profile column (camelCase, as `firstName`). */
  readonly key: string;
  /** The property of `JsonImportContact` it is sent as. */
  readonly name: string;
  readonly kind: ContactFieldKind;
  /** Longest value accepted (UTF-16 code units), from the swagger's `maxLength`; none for numbers. */
  readonly maxLength?: number;
}

const text = (key: string, name: string, maxLength: number): StandardContactField => ({
  key,
  name,
  kind: 'text',
  maxLength,
});
const phone = (key: string, name: string): StandardContactField => ({
  key,
  name,
  kind: 'phone',
  maxLength: 50,
});

/** The address fields of one kind of address (`street`… for the primary one, `home_street`…). */
function address(prefix: '' | 'home' | 'work' | 'other'): StandardContactField[] {
  const key = (part: string) => (prefix === '' ? part : `${prefix}${part[0]?.toUpperCase()}${part.slice(1)}`);
  const name = (part: string) => (prefix === '' ? part : `${prefix}_${part}`);
  return [
    text(key('street'), name('street'), 255),
    text(key('street2'), name('street2'), 255),
    text(key('city'), name('city'), 50),
    text(key('state'), name('state'), 50),
    text(key('zip'), name('zip'), 50),
    text(key('country'), name('country'), 50),
  ];
}

/**
 * Every standard field beyond email and names, in the order they are sent. Limits are the
 * `maxLength` of `JsonImportContact` in Constant Contact's swagger (a test holds them equal; the
 * swagger spells the home country `home country`, a defect: Constant Contact's guide and clients
 * use `home_country`, which is what is sent). SMS fields are left out on purpose: they need
 * consent evidence per contact (README, "Field mapping").
 */
export const standardContactFields: readonly StandardContactField[] = [
  text('jobTitle', 'job_title', 50),
  text('companyName', 'company_name', 50),
  { key: 'birthdayMonth', name: 'birthday_month', kind: 'month' },
  { key: 'birthdayDay', name: 'birthday_day', kind: 'day' },
  { key: 'anniversary', name: 'anniversary', kind: 'date' },
  phone('phone', 'phone'),
  phone('homePhone', 'home_phone'),
  phone('workPhone', 'work_phone'),
  phone('mobilePhone', 'mobile_phone'),
  phone('otherPhone', 'other_phone'),
  ...address(''),
  ...address('home'),
  ...address('work'),
  ...address('other'),
];

/** Constant Contact's limit on custom fields per imported contact. */
export const maxCustomFields = 25;

/** The longest custom field value the import takes (`cf:custom_field_name` maxLength). */
export const customFieldMaxLength = 255;

/** The type a custom field has in the account, as far as the values sent are concerned. */
export type CustomFieldType = 'string' | 'date';

/**
 * One field a destination sends besides email and names: a standard one or a custom one, with the
 * profile column that fills it.
 */
export interface MappedContactField {
  /** The JSON import property: `company_name`, or `cf:<name>` for a custom field. */
  readonly name: string;
  /** The profile column. */
  readonly column: string;
  readonly kind: ContactFieldKind;
  readonly maxLength?: number;
  /** Where the mapping is written, for messages: `companyName`, `customFields.tier`. */
  readonly mappedAs: string;
}

/**
 * The fields beyond email and names that `dataMatching` maps, standard ones in catalogue order, then
 * custom ones in name order (so the same mapping always sends the same JSON). `customFieldTypes`
 * (from the account, recorded by apply) makes a custom field a `date`; unknown ones are strings.
 */
export function mappedContactFields(
  dataMatching: DataMatching,
  customFieldTypes: Readonly<Record<string, CustomFieldType>> = {},
): MappedContactField[] {
  const fields: MappedContactField[] = [];
  for (const field of standardContactFields) {
    const column = (dataMatching as unknown as Readonly<Record<string, unknown>>)[field.key];
    if (typeof column !== 'string') continue;
    fields.push({
      name: field.name,
      column,
      kind: field.kind,
      ...(field.maxLength === undefined ? {} : { maxLength: field.maxLength }),
      mappedAs: field.key,
    });
  }
  const custom = dataMatching.customFields ?? {};
  for (const name of Object.keys(custom).sort()) {
    const column = custom[name];
    if (column === undefined) continue;
    const date = customFieldTypes[name] === 'date';
    fields.push({
      name: `cf:${name}`,
      column,
      kind: date ? 'date' : 'text',
      ...(date ? {} : { maxLength: customFieldMaxLength }),
      mappedAs: `customFields.${name}`,
    });
  }
  return fields;
}

/**
 * The custom field types apply recorded for a destination (its facts' `customFieldTypes`: name ->
 * `string` or `date`), or none when the facts hold none or something else.
 */
export function recordedCustomFieldTypes(facts: unknown): Record<string, CustomFieldType> {
  const recorded = (facts as { customFieldTypes?: unknown } | undefined)?.customFieldTypes;
  if (recorded === null || typeof recorded !== 'object') return {};
  const types: Record<string, CustomFieldType> = {};
  for (const [name, type] of Object.entries(recorded))
    if (type === 'string' || type === 'date') types[name] = type;
  return types;
}

/**
 * The JSON import fields a mapping sends besides `email`, in order: `first_name` and `last_name`
 * when mapped, then `mappedContactFields`. Run records keep it, so a plan can say which fields a
 * changed mapping adds or stops sending.
 */
export function sentFieldNames(dataMatching: DataMatching): string[] {
  return [
    ...(dataMatching.firstName === undefined ? [] : ['first_name']),
    ...(dataMatching.lastName === undefined ? [] : ['last_name']),
    ...mappedContactFields(dataMatching).map((field) => field.name),
  ];
}
