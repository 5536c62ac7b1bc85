import { canonicalJson } from '../state/spec-hash';

/** One named field that differs between what is applied and what is declared. */
export interface FieldChange {
  /** Dotted path inside the resource, e.g. `spec.dataMatching.email` or `spec.auth.clientSecret`. */
  readonly path: string;
  /** Undefined when the field is being added. */
  readonly before?: unknown;
  /** Undefined when the field is being removed. */
  readonly after?: unknown;
  /** The values must not be shown: plans print `(sensitive)`. */
  readonly sensitive: boolean;
  /** Changing this field changes the remote identity: the resource is replaced, not updated. */
  readonly forcesReplacement: boolean;
}

export interface FieldChangeOptions {
  /** Paths (exact or prefixes) whose change forces replacement. */
  readonly replaceOn?: readonly string[];
  /** Paths (exact or prefixes) whose values are sensitive. */
  readonly sensitive?: readonly string[];
}

/**
 * The leaf fields that differ between two plain JSON values, in path order. Objects are walked;
 * arrays and scalars are compared whole (a segment list shows as one change, old -> new).
 */
export function fieldChanges(
  before: unknown,
  after: unknown,
  options: FieldChangeOptions = {},
  prefix = '',
): FieldChange[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) =>
      fieldChanges(before[key], after[key], options, prefix ? `${prefix}.${key}` : key),
    );
  }
  if (isPlainObject(before) && after === undefined) return fieldChanges(before, {}, options, prefix);
  if (before === undefined && isPlainObject(after)) return fieldChanges({}, after, options, prefix);
  if (before === undefined && after === undefined) return [];
  if (before !== undefined && after !== undefined && canonicalJson(before) === canonicalJson(after))
    return [];
  const matches = (paths: readonly string[] | undefined) =>
    (paths ?? []).some((path) => prefix === path || prefix.startsWith(`${path}.`));
  return [
    {
      path: prefix,
      ...(before === undefined ? {} : { before }),
      ...(after === undefined ? {} : { after }),
      sensitive: matches(options.sensitive),
      forcesReplacement: matches(options.replaceOn),
    },
  ];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
