import type { ErrorObject } from 'ajv';
import { plural } from '../text';
import { type FieldPath, locationIn, type ManifestDocument } from './manifest-document';
import type { Problem, ProblemCode } from './problem';
import { suggestName } from './suggest-name';

/**
 * Turns ajv's errors for one document into problems at the right source position, one per fault:
 * summaries of anyOf and if/then are folded into the errors that say what is wrong, and errors under
 * a path that already has a problem (`claimed`, e.g. a literal secret) are dropped. Without a
 * `document` (a manifest built in code) the problems carry no file or position. A problem's `path`
 * is the field at fault: the missing or unknown field itself, not its parent.
 */
export function schemaProblems(
  errors: readonly ErrorObject[],
  document: ManifestDocument | undefined,
  resource: string | undefined,
  claimed: readonly string[] = [],
): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

  for (const error of foldAlternatives(errors)) {
    if (claimed.some((prefix) => under(error.instancePath, prefix))) continue;
    const problem = describe(error, document, resource);
    if (!problem) continue;
    const key = `${problem.code}:${problem.path}:${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

/**
 * `anyOf`/`oneOf` at path P: when some alternative got deeper than P (the value had the right type
 * for it), those deeper errors say what is wrong and everything else at P is noise; otherwise the
 * one "must be one of these" error at P is kept and the alternatives' own errors at P are dropped.
 * Errors are grouped by instance path, because errors inside a `$ref`'d alternative carry the
 * referenced schema's path, not the anyOf's.
 */
function foldAlternatives(errors: readonly ErrorObject[]): ErrorObject[] {
  const alternatives = errors.filter((error) => error.keyword === 'anyOf' || error.keyword === 'oneOf');
  const deeperThan = (path: string) => errors.some((other) => other.instancePath.startsWith(`${path}/`));
  return errors.filter((error) => {
    if (error.keyword === 'if') return false;
    const owner = alternatives.find((alternative) => alternative.instancePath === error.instancePath);
    if (!owner) return true;
    if (deeperThan(owner.instancePath)) return false;
    return error === owner;
  });
}

function describe(
  error: ErrorObject,
  document: ManifestDocument | undefined,
  resource: string | undefined,
): Problem | undefined {
  const path = toFieldPath(error.instancePath);
  const where = displayPath(path);
  const parent = (error.parentSchema ?? {}) as Record<string, unknown>;
  const schemaHint = typeof parent['x-hint'] === 'string' ? parent['x-hint'] : undefined;
  const at = (target: FieldPath, on: 'key' | 'value' = 'value') => ({
    ...locationIn(document, target, on),
    field: displayPath(target),
  });
  const make = (
    code: ProblemCode,
    message: string,
    location: { file?: string; line?: number; column?: number; field: string },
    hint?: string,
  ): Problem => {
    const { field, ...position } = location;
    return {
      code,
      severity: 'error',
      message,
      ...(hint === undefined ? {} : { hint }),
      ...position,
      ...(resource === undefined ? {} : { resource }),
      path: field,
    };
  };
  const value = error.data;
  // A value under a secret reference may be the secret itself, pasted where its NAME or PATH
  // belongs: its problems say where it is and what to do, never what is written there.
  const sensitive = parent['x-sensitive'] === true;
  const shown = (item: unknown) => (sensitive ? describeKind(item) : describeValue(item));

  switch (error.keyword) {
    case 'required': {
      const missing = String((error.params as { missingProperty: string }).missingProperty);
      const field = displayPath([...path, missing]);
      // Point at the parent's key (`dataMatching:`), or at the document for top-level fields.
      const position = path.length > 0 ? at(path, 'key') : at([]);
      return make('missing-field', `${field} is required`, { ...position, field }, requiredHint(field));
    }
    case 'additionalProperties': {
      const extra = String((error.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((parent.properties as Record<string, unknown> | undefined) ?? {});
      const suggestion = suggestName(extra, allowed);
      const hint = suggestion
        ? `did you mean "${suggestion}"?`
        : allowed.length > 0
          ? `allowed here: ${allowed.join(', ')}`
          : undefined;
      return make(
        'unknown-field',
        `unknown field "${displayPath([...path, extra])}"`,
        at([...path, extra], 'key'),
        hint,
      );
    }
    case 'type': {
      const expected = String((error.params as { type: string | string[] }).type);
      const hint =
        expected === 'boolean' && typeof value === 'string' && /^(yes|no|on|off|y|n)$/i.test(value)
          ? 'write true or false (YAML 1.2 reads yes/no/on/off as text)'
          : undefined;
      return make('wrong-type', `${where} must be ${article(expected)}, not ${shown(value)}`, at(path), hint);
    }
    case 'anyOf':
    case 'oneOf': {
      const branches = (parent[error.keyword] as Record<string, unknown>[] | undefined) ?? [];
      const kinds = branches.map((branch) =>
        branch.$ref ? 'a reference ({env: NAME} or {file: PATH})' : article(String(branch.type)),
      );
      return make('wrong-type', `${where} must be ${kinds.join(' or ')}, not ${shown(value)}`, at(path));
    }
    case 'const': {
      const allowed = (error.params as { allowedValue: unknown }).allowedValue;
      if (where === 'apiVersion') {
        return make(
          'unsupported-api-version',
          `apiVersion ${describeValue(value)} is not supported`,
          at(path),
          'use apiVersion: exportctl/v1',
        );
      }
      return make(
        'invalid-value',
        `${where} must be ${JSON.stringify(allowed)}, not ${shown(value)}`,
        at(path),
        schemaHint,
      );
    }
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.map((item) =>
        String(item),
      );
      const suggestion = typeof value === 'string' ? suggestName(value, allowed) : undefined;
      return make(
        'invalid-value',
        `${where} must be one of ${allowed.join(', ')}, not ${shown(value)}`,
        at(path),
        schemaHint ?? (suggestion ? `did you mean "${suggestion}"?` : undefined),
      );
    }
    case 'pattern':
    case 'format': {
      const format =
        error.keyword === 'format' ? String((error.params as { format: string }).format) : undefined;
      const what =
        format === 'email'
          ? 'an email address'
          : format === 'uri'
            ? 'an absolute URL'
            : 'in the expected format';
      if (sensitive) {
        return make(
          'invalid-format',
          `${where} is not ${what} (what is written there is not shown: it may be a secret)`,
          at(path),
          schemaHint,
        );
      }
      return make('invalid-format', `${where} ${describeValue(value)} is not ${what}`, at(path), schemaHint);
    }
    case 'not': {
      const message =
        typeof parent['x-message'] === 'string' ? parent['x-message'] : `${where} is not allowed here`;
      // For `not: {required: [x]}` the offending field is x itself.
      const notRequired = ((parent.not as { required?: string[] } | undefined)?.required ?? [])[0];
      const target = notRequired ? [...path, notRequired] : path;
      return make('unknown-field', message, at(target, 'key'), schemaHint);
    }
    case 'minItems': {
      const limit = Number((error.params as { limit: number }).limit);
      return make(
        'invalid-value',
        `${where} must list at least ${plural(limit, 'item')}`,
        at(path),
        schemaHint,
      );
    }
    case 'uniqueItems': {
      const { i } = error.params as { i: number; j: number };
      const repeated = Array.isArray(value) ? value[i] : undefined;
      return make(
        'invalid-value',
        `${where} lists ${shown(repeated)} more than once`,
        at(path),
        'list each item once',
      );
    }
    case 'minProperties':
    case 'maxProperties': {
      // A mapping of free names (customFields) is bounded in size, not a choice among properties.
      if (error.keyword === 'maxProperties' && parent.properties === undefined) {
        const limit = (error.params as { limit?: number }).limit;
        return make('invalid-value', `${where} has more than ${limit} entries`, at(path), schemaHint);
      }
      const allowed = Object.keys((parent.properties as Record<string, unknown> | undefined) ?? {});
      return make(
        'invalid-value',
        `${where} must have exactly one of ${allowed.join(', ')}`,
        at(path),
        schemaHint,
      );
    }
    case 'minLength':
      return make('invalid-value', `${where} must not be empty`, at(path), schemaHint);
    default: {
      // maximum, minimum, maxLength, ...: ajv's wording ("must be <= 100") is clear.
      return make('invalid-value', `${where} ${error.message ?? 'is not valid'}`, at(path), schemaHint);
    }
  }
}

function requiredHint(field: string): string | undefined {
  if (field === 'spec.dataMatching.email')
    return 'name the profile field that holds the email address, e.g. email: EmailAddress';
  if (field === 'metadata.name') return 'every resource needs a name: metadata: { name: my-name }';
  return undefined;
}

function toFieldPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/** `spec.segments[0]`, or `(document)` for the root. */
export function displayPath(path: FieldPath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out === '' ? '(document)' : out;
}

function article(type: string): string {
  if (type === 'object') return 'a mapping';
  if (type === 'array') return 'a list';
  if (type === 'integer') return 'an integer';
  return `a ${type}`;
}

/** What kind of value it is, without any of its content: `a string`, `a number`, `a list`. */
function describeKind(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return article(typeof value);
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return `${typeof value} ${String(value)}`;
}
