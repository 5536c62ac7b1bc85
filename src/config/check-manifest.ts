import { resourceId } from './loaded-manifest';
import { type FieldPath, locationIn, type ManifestDocument } from './manifest-document';
import { isManifestKind, type ManifestKind, manifestKinds, validateManifestSchema } from './manifest-schemas';
import type { Manifest } from './manifest-types.generated';
import type { Problem } from './problem';
import { schemaProblems } from './schema-problems';
import { type SingleManifestRuleOptions, singleManifestRuleProblems } from './single-manifest-rules';
import { suggestName } from './suggest-name';

/** Secrets that must be references; a literal here is refused before the schema looks at it. */
const SECRET_FIELDS: readonly FieldPath[] = [
  ['spec', 'auth', 'clientSecret'],
  ['spec', 'auth', 'refreshToken'],
  // Access: a webhook URL grants posting to the channel; the SMTP login's password.
  ['spec', 'notifications', 'webhook', 'url'],
  ['spec', 'notifications', 'email', 'password'],
];

/** The variable a secret field's hint suggests. */
const SECRET_VARIABLES: Readonly<Record<string, string>> = {
  clientSecret: 'CC_CLIENT_SECRET',
  refreshToken: 'CC_REFRESH_TOKEN',
  url: 'EXPORTCTL_WEBHOOK_URL',
  password: 'EXPORTCTL_SMTP_PASSWORD',
};

/** One document, checked on its own. */
export interface CheckedManifest {
  /** A copy of the document with every schema default filled in; absent when it failed its schema. */
  readonly manifest: Manifest | undefined;
  /** The kind, when the document names a known one. */
  readonly kind: ManifestKind | undefined;
  /** metadata.name, when it is a string (whether or not it is a valid name). */
  readonly name: string | undefined;
  readonly problems: Problem[];
}

/**
 * The structure of one document: a mapping, a known kind, no literal secret, its kind's schema.
 * `data` is left as it is; the defaults are filled into `manifest`, a copy. Problems carry file and
 * positions when `document` is given, and none for a manifest built in code. Never throws.
 */
export function checkManifestSchema(data: unknown, document?: ManifestDocument): CheckedManifest {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return {
      manifest: undefined,
      kind: undefined,
      name: undefined,
      problems: [
        {
          code: 'not-a-manifest',
          severity: 'error',
          message: 'this YAML document is not a mapping with apiVersion, kind, metadata and spec',
          hint: 'start each document with apiVersion: exportctl/v1 and a kind',
          ...locationIn(document, []),
        },
      ],
    };
  }
  const record = data as Record<string, unknown>;
  const kind = record.kind;
  if (!isManifestKind(kind)) {
    const suggestion = typeof kind === 'string' ? suggestName(kind, manifestKinds) : undefined;
    return {
      manifest: undefined,
      kind: undefined,
      name: undefined,
      problems: [
        {
          code: kind === undefined ? 'missing-field' : 'unknown-kind',
          severity: 'error',
          message:
            kind === undefined ? 'kind is required' : `kind ${JSON.stringify(kind)} is not an exportctl kind`,
          hint: suggestion ? `did you mean "${suggestion}"?` : `use one of ${manifestKinds.join(', ')}`,
          ...locationIn(document, kind === undefined ? [] : ['kind']),
          path: 'kind',
        },
      ],
    };
  }
  const metadata = record.metadata as Record<string, unknown> | undefined;
  const name = typeof metadata?.name === 'string' ? metadata.name : undefined;
  const id = name === undefined ? undefined : resourceId(kind, name);
  const problems: Problem[] = [];
  const claimed =
    kind === 'Connection' || kind === 'Access' ? literalSecretProblems(record, document, id, problems) : [];
  const copy = structuredClone(record);
  const errors = validateManifestSchema(kind, copy);
  problems.push(...schemaProblems(errors, document, id, claimed));
  const valid = errors.length === 0 && claimed.length === 0 && name !== undefined;
  return { manifest: valid ? (copy as unknown as Manifest) : undefined, kind, name, problems };
}

/**
 * Everything one manifest can be checked against without the others: {@link checkManifestSchema},
 * then, when that passes, {@link singleManifestRuleProblems} (consent, endpoints, cron). What it
 * leaves out needs the other documents: duplicates, references, exportUser an administrator, roles.
 * The Pulumi provider's `check` runs this on a resource's inputs.
 */
export function checkManifest(
  data: unknown,
  options: SingleManifestRuleOptions & { document?: ManifestDocument } = {},
): CheckedManifest {
  const checked = checkManifestSchema(data, options.document);
  if (!checked.manifest || checked.kind === undefined || checked.name === undefined) return checked;
  return {
    ...checked,
    problems: [
      ...checked.problems,
      ...singleManifestRuleProblems(
        {
          manifest: checked.manifest,
          id: resourceId(checked.kind, checked.name),
          source: options.document,
        },
        options,
      ),
    ],
  };
}

/** Reports literal secrets and returns their JSON pointers, so the schema's errors there are dropped. */
function literalSecretProblems(
  record: Record<string, unknown>,
  document: ManifestDocument | undefined,
  id: string | undefined,
  problems: Problem[],
): string[] {
  const claimed: string[] = [];
  for (const path of SECRET_FIELDS) {
    let value: unknown = record;
    for (const segment of path)
      value =
        value && typeof value === 'object' ? (value as Record<string | number, unknown>)[segment] : undefined;
    if (value === undefined || value === null || typeof value === 'object') continue;
    const field = String(path[path.length - 1]);
    // The value itself is never echoed: it is a secret.
    problems.push({
      code: 'literal-secret',
      severity: 'error',
      message: `${path.slice(1).join('.')} is written into the manifest; secrets must be references`,
      hint: `use ${field}: { env: ${SECRET_VARIABLES[field] ?? 'NAME'} } or { file: path/to/secret }, and rotate the exposed value`,
      ...locationIn(document, path),
      ...(id === undefined ? {} : { resource: id }),
      path: path.join('.'),
    });
    claimed.push(`/${path.join('/')}`);
  }
  return claimed;
}
