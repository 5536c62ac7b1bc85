import { type PermissionCheck, permissionProblems } from './access-rules';
import { checkManifestSchema } from './check-manifest';
import { type LoadedManifest, resourceId } from './loaded-manifest';
import type { ManifestDocument } from './manifest-document';
import { type DeclaredIdentity, manifestRuleProblems } from './manifest-rules';
import { compareProblems, type Problem } from './problem';
import { readManifestDocuments } from './read-manifest-documents';

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
  /** Every manifest file found, those that did not parse included. */
  readonly files: string[];
  /** Of `files`, those that could not be read or hold YAML that does not parse. */
  readonly unparsedFiles: string[];
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
  return {
    files: read.files,
    unparsedFiles: read.unparsedFiles,
    manifests: validated.manifests,
    problems: problems.sort(compareProblems),
  };
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
    const checked = checkManifestSchema(document.data, document);
    problems.push(...checked.problems);
    if (checked.kind === undefined || checked.name === undefined) continue;
    identities.push({ kind: checked.kind, name: checked.name, source: document });
    if (checked.manifest) {
      manifests.push({
        manifest: checked.manifest,
        kind: checked.kind,
        name: checked.name,
        id: resourceId(checked.kind, checked.name),
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
