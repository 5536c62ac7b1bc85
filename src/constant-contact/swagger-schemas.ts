import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import subset from './swagger-subset.generated.json';

/** Every definition of the swagger subset, by its swagger name. */
export type SwaggerDefinitionName = keyof typeof subset.definitions;

/** Every operation of the swagger subset, as `METHOD /path` (the swagger's path, without /v3). */
export type SwaggerOperation = keyof typeof subset.operations;

/** One way a value does not match the swagger: where (JSON pointer) and what. */
export interface SwaggerProblem {
  readonly pointer: string;
  readonly message: string;
}

interface SwaggerParameter {
  readonly name: string;
  readonly in: string;
  readonly required?: boolean;
  readonly type?: string;
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly format?: string;
}

/**
 * API-NOTES.md "Known defects in the swagger": `ListActivityRemoveContacts` and
 * `ListActivityAddContacts` declare `maxItems: 0` on `source.contact_ids`, `source.list_ids`,
 * `source.tag_ids` and `list_ids`, which would allow only empty arrays, while the prose beside them
 * and the developer guide say 500 contact IDs and 50 lists (tags: 50, like every other tag_ids).
 * This is the one place that patches them to the documented limits.
 */
const documentedArrayLimits: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  ListActivityRemoveContacts: {
    'source.contact_ids': 500,
    'source.list_ids': 50,
    'source.tag_ids': 50,
    list_ids: 50,
  },
  ListActivityAddContacts: {
    'source.contact_ids': 500,
    'source.list_ids': 50,
    'source.tag_ids': 50,
    list_ids: 50,
  },
};

type SchemaNode = { [key: string]: unknown };

/**
 * The subset's definitions with the documented `maxItems: 0` defects patched, and the places
 * patched (`Definition.path`), so a test notices when Constant Contact fixes its contract.
 */
export function patchedSwaggerDefinitions(): { definitions: Record<string, SchemaNode>; patched: string[] } {
  const definitions = structuredClone(subset.definitions) as unknown as Record<string, SchemaNode>;
  const patched: string[] = [];
  for (const [name, limits] of Object.entries(documentedArrayLimits)) {
    const definition = definitions[name];
    if (!definition) continue;
    for (const [path, limit] of Object.entries(limits)) {
      let node: SchemaNode | undefined = definition;
      for (const key of path.split('.')) {
        const properties: unknown = node?.properties;
        node = (properties as Record<string, SchemaNode> | undefined)?.[key];
      }
      if (node?.maxItems === 0) {
        node.maxItems = limit;
        patched.push(`${name}.${path}`);
      }
    }
  }
  return { definitions, patched };
}

let compiled: { ajv: Ajv; validators: Map<string, ValidateFunction> } | undefined;

function swaggerAjv(): { ajv: Ajv; validators: Map<string, ValidateFunction> } {
  if (compiled) return compiled;
  // Swagger 2.0 schemas are a draft-04 subset; ajv's default (draft-07) reads them the same way
  // for the keywords the subset uses (type, properties, items, required, maxLength, maxItems,
  // minItems, enum, format, default, readOnly). Swagger objects admit unknown properties.
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, validateFormats: true });
  addFormats(ajv, ['uuid', 'date-time', 'date', 'email']);
  ajv.addSchema({ $id: 'swagger', definitions: patchedSwaggerDefinitions().definitions });
  compiled = { ajv, validators: new Map() };
  return compiled;
}

function toProblems(errors: readonly ErrorObject[] | null | undefined): SwaggerProblem[] {
  return (errors ?? []).map((error) => ({
    pointer: error.instancePath || '/',
    message: error.message ?? error.keyword,
  }));
}

/**
 * Validates `value` against one swagger definition (defects patched). Returns every problem found;
 * an empty array means the value matches the contract.
 */
export function validateSwaggerDefinition(name: SwaggerDefinitionName, value: unknown): SwaggerProblem[] {
  const { ajv, validators } = swaggerAjv();
  let validate = validators.get(name);
  if (!validate) {
    validate = ajv.compile({ $ref: `swagger#/definitions/${name}` });
    validators.set(name, validate);
  }
  return validate(value) ? [] : toProblems(validate.errors);
}

function operationParameters(operation: SwaggerOperation): readonly SwaggerParameter[] {
  return subset.operations[operation].parameters as readonly SwaggerParameter[];
}

/** The definition an operation's JSON body must match, if it takes one. */
export function operationBodyDefinition(operation: SwaggerOperation): SwaggerDefinitionName | undefined {
  for (const parameter of operationParameters(operation) as readonly (SwaggerParameter & {
    schema?: { $ref?: string };
  })[]) {
    const ref = parameter.in === 'body' ? parameter.schema?.$ref : undefined;
    if (ref) return ref.replace('#/definitions/', '') as SwaggerDefinitionName;
  }
  return undefined;
}

/**
 * Checks the query string of a request against the operation's declared query parameters: type
 * (integer, boolean), enum, minimum and maximum. Unknown parameters pass (the API ignores them).
 */
export function validateOperationQuery(
  operation: SwaggerOperation,
  query: URLSearchParams,
): SwaggerProblem[] {
  const problems: SwaggerProblem[] = [];
  for (const parameter of operationParameters(operation)) {
    if (parameter.in !== 'query') continue;
    const value = query.get(parameter.name);
    if (value === null) {
      if (parameter.required) problems.push({ pointer: parameter.name, message: 'is required' });
      continue;
    }
    if (parameter.type === 'integer') {
      const number = Number(value);
      if (!/^-?\d+$/.test(value)) problems.push({ pointer: parameter.name, message: 'must be an integer' });
      else if (parameter.minimum !== undefined && number < parameter.minimum)
        problems.push({ pointer: parameter.name, message: `must be >= ${parameter.minimum}` });
      else if (parameter.maximum !== undefined && number > parameter.maximum)
        problems.push({ pointer: parameter.name, message: `must be <= ${parameter.maximum}` });
    } else if (parameter.type === 'boolean' && value !== 'true' && value !== 'false') {
      problems.push({ pointer: parameter.name, message: 'must be true or false' });
    } else if (parameter.enum && parameter.format !== 'csv' && !parameter.enum.includes(value)) {
      problems.push({ pointer: parameter.name, message: `must be one of ${parameter.enum.join(', ')}` });
    } else if (parameter.enum && parameter.format === 'csv') {
      for (const item of value.split(','))
        if (!parameter.enum.includes(item))
          problems.push({ pointer: parameter.name, message: `must be among ${parameter.enum.join(', ')}` });
    }
  }
  return problems;
}
