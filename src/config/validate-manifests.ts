import { type PermissionCheck, permissionProblems } from './access-rules';
import { type LoadedManifest, resourceId } from './loaded-manifest';
import type { FieldPath, ManifestDocument } from './manifest-document';
import { type DeclaredIdentity, manifestRuleProblems } from './manifest-rules';
import { isManifestKind, manifestKinds, validateManifestSchema } from './manifest-schemas';
import type { Manifest } from './manifest-types.generated';
import { compareProblems, type Problem } from './problem';
import { readManifestDocuments } from './read-manifest-documents';
import { schemaProblems } from './schema-problems';
import { suggestName } from './suggest-name';

/** Secrets that must be references; a literal here is refused before the schema looks at it. */
const SECRET_FIELDS: readonly FieldPath[] = [
  ['spec', 'auth', 'clientSecret'],
  ['spec', 'auth', 'refreshToken'],
];

export interface ValidationOptions extends Partial<Omit<PermissionCheck, 'actor'>> {
  readonly actor?: string | undefined;
  /** Folder that file names in messages are relative to (default: the process's). */
  readonly cwd?: string;
  /**
   * Leave role checks out: plan and apply make them themselves, once they know from the state which
   * resources the change really touches.
   */
  readonly skipRoleChecks?: boolean;
}

export interface ValidatedManifests {
  /** Every document that passed its schema, defaults filled in; cross-document rules may still fail. */
  readonly manifests: LoadedManifest[];
  /** Sorted by file and position. */
  readonly problems: Problem[];
}

export interface LoadedManifests extends ValidatedManifests {
  readonly files: string[];
}

/**
 * Reads, parses and validates every manifest under `paths` (files or folders), in this order: YAML,
 * kind, schema (every error), rules across documents, role rules. Never throws for bad input.
 */
export function loadManifests(
  paths: readonly string[],
  options: ValidationOptions & { cwd: string },
): LoadedManifests {
  const read = readManifestDocuments(paths, options.cwd);
  const validated = validateManifestDocuments(read.documents, options);
  const problems = [...read.problems, ...validated.problems];
  if (read.documents.length === 0 && read.files.length > 0 && !problems.some((p) => p.severity === 'error')) {
    problems.push({
      code: 'no-manifests',
      severity: 'error',
      message: 'the files hold no YAML documents',
      hint: 'add exportctl/v1 manifests, or point at the folder that holds them',
      ...(read.files[0] ? { file: read.files[0] } : {}),
    });
  }
  return { files: read.files, manifests: validated.manifests, problems: problems.sort(compareProblems) };
}

/** Validates parsed documents (see {@link loadManifests}). */
export function validateManifestDocuments(
  documents: readonly ManifestDocument[],
  options: ValidationOptions = {},
): ValidatedManifests {
  const problems: Problem[] = [];
  const manifests: LoadedManifest[] = [];
  const identities: DeclaredIdentity[] = [];

  for (const document of documents) {
    const data = document.data;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      const at = document.locate([]);
      problems.push({
        code: 'not-a-manifest',
        severity: 'error',
        message: 'this YAML document is not a mapping with apiVersion, kind, metadata and spec',
        hint: 'start each document with apiVersion: exportctl/v1 and a kind',
        file: document.file,
        line: at.line,
        column: at.column,
      });
      continue;
    }
    const record = data as Record<string, unknown>;
    const kind = record.kind;
    if (!isManifestKind(kind)) {
      const at = document.locate(kind === undefined ? [] : ['kind']);
      const suggestion = typeof kind === 'string' ? suggestName(kind, manifestKinds) : undefined;
      problems.push({
        code: kind === undefined ? 'missing-field' : 'unknown-kind',
        severity: 'error',
        message:
          kind === undefined ? 'kind is required' : `kind ${JSON.stringify(kind)} is not an exportctl kind`,
        hint: suggestion ? `did you mean "${suggestion}"?` : `use one of ${manifestKinds.join(', ')}`,
        file: document.file,
        line: at.line,
        column: at.column,
        path: 'kind',
      });
      continue;
    }
    const metadata = record.metadata as Record<string, unknown> | undefined;
    const name = typeof metadata?.name === 'string' ? metadata.name : undefined;
    const id = name === undefined ? undefined : resourceId(kind, name);
    if (name !== undefined) identities.push({ kind, name, source: document });

    const claimed = kind === 'Connection' ? literalSecretProblems(document, record, id, problems) : [];
    const copy = structuredClone(record);
    const errors = validateManifestSchema(kind, copy);
    problems.push(...schemaProblems(errors, document, id, claimed));
    if (errors.length === 0 && claimed.length === 0 && name !== undefined) {
      manifests.push({
        manifest: copy as unknown as Manifest,
        kind,
        name,
        id: resourceId(kind, name),
        source: document,
      });
    }
  }

  problems.push(...manifestRuleProblems(identities, manifests, options.cwd));
  if (options.skipRoleChecks) return { manifests, problems: problems.sort(compareProblems) };
  problems.push(
    ...permissionProblems(manifests, {
      actor: options.actor,
      mode: options.mode ?? 'validate',
      access: options.access,
      ...(options.deniedSeverity ? { deniedSeverity: options.deniedSeverity } : {}),
      ...(options.unchanged ? { unchanged: options.unchanged } : {}),
    }),
  );
  return { manifests, problems: problems.sort(compareProblems) };
}

/** Reports literal secrets and returns their JSON pointers, so the schema's errors there are dropped. */
function literalSecretProblems(
  document: ManifestDocument,
  record: Record<string, unknown>,
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
    const at = document.locate(path);
    // The value itself is never echoed: it is a secret.
    problems.push({
      code: 'literal-secret',
      severity: 'error',
      message: `auth.${field} is written into the manifest; secrets must be references`,
      hint: `use ${field}: { env: CC_${field === 'clientSecret' ? 'CLIENT_SECRET' : 'REFRESH_TOKEN'} } or { file: path/to/secret }, and rotate the exposed value`,
      file: document.file,
      line: at.line,
      column: at.column,
      ...(id === undefined ? {} : { resource: id }),
      path: path.join('.'),
    });
    claimed.push(`/${path.join('/')}`);
  }
  return claimed;
}
