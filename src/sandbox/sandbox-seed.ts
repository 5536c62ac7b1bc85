import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { ValidationError } from '../errors';
import { packageRoot } from '../package-root';

/** An OAuth client (API key) the sandbox knows, with the refresh tokens currently valid for it. */
export interface SeedClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Refresh tokens that may be used (each once, when rotation is on). */
  readonly refreshTokens: readonly string[];
  /** This key's limits; default 4 requests/second and 10,000/day, as Constant Contact's. */
  readonly limits?: { readonly requestsPerSecond?: number; readonly requestsPerDay?: number };
}

export interface SeedList {
  readonly listId: string;
  readonly name: string;
  readonly favorite?: boolean;
}

export interface SeedContact {
  readonly email: string;
  readonly firstName?: string;
  readonly lastName?: string;
  /** Other fields, by JSON import name (`company_name`, `birthday_month`, `cf:Tier`). */
  readonly fields?: Readonly<Record<string, string | number>>;
  /** An unsubscribed contact: imports never add it to a list (cannot_add_to_list_count). */
  readonly unsubscribed?: boolean;
  readonly listIds?: readonly string[];
}

/** A custom field defined in the account (`GET /contact_custom_fields`); imports refuse others. */
export interface SeedCustomField {
  /** The name imports use after `cf:` (letters, digits, _). */
  readonly name: string;
  /** Default `string`. */
  readonly type?: 'string' | 'date';
  /** Default: the name with _ as spaces. */
  readonly label?: string;
  /** Stable ID; random if absent. */
  readonly customFieldId?: string;
}

/** Access tokens, persisted in a state file so a restart does not log clients out. */
export interface SeedAccessToken {
  readonly token: string;
  readonly clientId: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/**
 * The sandbox's data: a seed file (`--seed`, e.g. config-examples/quickstart/sandbox-seed.json) and
 * the state file (`--state-file`), which is the same format plus the tokens issued since.
 */
export interface SandboxSeed {
  /** 14 hex digits that start every contact ID of this account; random if absent. */
  readonly accountPrefix?: string;
  readonly clients: readonly SeedClient[];
  readonly lists?: readonly SeedList[];
  readonly contacts?: readonly SeedContact[];
  readonly customFields?: readonly SeedCustomField[];
  readonly accessTokens?: readonly SeedAccessToken[];
}

const uuid = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const seedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['clients'],
  properties: {
    $comment: { type: 'string' },
    accountPrefix: { type: 'string', pattern: '^[0-9a-f]{14}$' },
    clients: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['clientId', 'clientSecret', 'refreshTokens'],
        properties: {
          clientId: { type: 'string', minLength: 1 },
          clientSecret: { type: 'string', minLength: 1 },
          refreshTokens: { type: 'array', items: { type: 'string', minLength: 1 } },
          limits: {
            type: 'object',
            additionalProperties: false,
            properties: {
              requestsPerSecond: { type: 'integer', minimum: 1 },
              requestsPerDay: { type: 'integer', minimum: 1 },
            },
          },
        },
      },
    },
    lists: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['listId', 'name'],
        properties: {
          listId: { type: 'string', pattern: uuid },
          name: { type: 'string', minLength: 1, maxLength: 255 },
          favorite: { type: 'boolean' },
        },
      },
    },
    contacts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['email'],
        properties: {
          email: { type: 'string', minLength: 3 },
          firstName: { type: 'string' },
          lastName: { type: 'string' },
          fields: { type: 'object', additionalProperties: { type: ['string', 'number'] } },
          unsubscribed: { type: 'boolean' },
          listIds: { type: 'array', items: { type: 'string', pattern: uuid } },
        },
      },
    },
    customFields: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9_]{1,50}$' },
          type: { enum: ['string', 'date'] },
          label: { type: 'string', minLength: 1, maxLength: 50 },
          customFieldId: { type: 'string', pattern: uuid },
        },
      },
    },
    accessTokens: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['token', 'clientId', 'expiresAt'],
        properties: {
          token: { type: 'string' },
          clientId: { type: 'string' },
          expiresAt: { type: 'number' },
        },
      },
    },
  },
} as const;

let validateSeed: ReturnType<Ajv['compile']> | undefined;

/** Checks a parsed seed; throws ValidationError naming `source` and the first problems. */
export function checkSandboxSeed(value: unknown, source: string): SandboxSeed {
  validateSeed ??= new Ajv({ allErrors: true }).compile(seedSchema);
  if (!validateSeed(value)) {
    const problems = (validateSeed.errors ?? [])
      .slice(0, 5)
      .map((error) => `${error.instancePath || '/'} ${error.message ?? error.keyword}`);
    throw new ValidationError(
      'invalid-sandbox-seed',
      `${source} is not a sandbox seed: ${problems.join('; ')}`,
    );
  }
  const seed = value as SandboxSeed;
  const lists = new Set((seed.lists ?? []).map((list) => list.listId));
  for (const contact of seed.contacts ?? []) {
    const unknown = (contact.listIds ?? []).find((listId) => !lists.has(listId));
    if (unknown) {
      throw new ValidationError(
        'invalid-sandbox-seed',
        `${source}: contact ${contact.email} is on list ${unknown}, which the seed does not declare`,
      );
    }
  }
  return seed;
}

/** Reads and checks a seed or state file. */
export function readSandboxSeed(file: string): SandboxSeed {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ValidationError('invalid-sandbox-seed', `${file} cannot be read as JSON`, { cause: error });
  }
  return checkSandboxSeed(parsed, file);
}

/** Writes a state file atomically (a temporary file renamed over it), so a crash never leaves half. */
export function writeSandboxState(file: string, seed: SandboxSeed): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(seed)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

/** The quickstart's seed, the default of `exportctl sandbox` and `startSandbox`. */
export function defaultSeedFile(): string {
  return join(packageRoot(), 'config-examples', 'quickstart', 'sandbox-seed.json');
}
