import { relative } from 'node:path';
import { type LoadedManifest, ofKind, resourceId } from './loaded-manifest';
import type { FieldPath, ManifestDocument } from './manifest-document';
import type { ManifestKind } from './manifest-schemas';
import type { Problem, ProblemCode } from './problem';
import { singleManifestRuleProblems } from './single-manifest-rules';
import { suggestName } from './suggest-name';

/** A document whose kind and name could be read, whether or not the rest is valid. */
export interface DeclaredIdentity {
  readonly kind: ManifestKind;
  readonly name: string;
  readonly source: ManifestDocument;
}

/**
 * The rules that no single schema can express: unique names, one Refresh and one Access, references
 * that resolve, exportUser an administrator, plus every manifest's own rules (consent, endpoints,
 * cron expressions: {@link singleManifestRuleProblems}). References and duplicates are checked
 * against every declared identity, so one broken document does not make every destination that
 * names it report a dangling reference too.
 */
export function manifestRuleProblems(
  identities: readonly DeclaredIdentity[],
  manifests: readonly LoadedManifest[],
  cwd: string = process.cwd(),
): Problem[] {
  const where = (source: ManifestDocument): string => {
    const at = source.locate([]);
    return `${relative(cwd, source.file) || source.file}:${at.line}:${at.column}`;
  };
  const problems: Problem[] = [];
  const problem = (
    code: ProblemCode,
    source: ManifestDocument,
    id: string,
    path: FieldPath,
    message: string,
    options: { hint?: string | undefined; on?: 'key' | 'value'; severity?: 'error' | 'warning' } = {},
  ) => {
    const at = source.locate(path, options.on ?? 'value');
    problems.push({
      code,
      severity: options.severity ?? 'error',
      message,
      ...(options.hint === undefined ? {} : { hint: options.hint }),
      file: source.file,
      line: at.line,
      column: at.column,
      resource: id,
      path: path.join('.'),
    });
  };

  // Unique kind + name; at most one Refresh and one Access.
  const firstById = new Map<string, DeclaredIdentity>();
  const firstByKind = new Map<ManifestKind, DeclaredIdentity>();
  for (const identity of identities) {
    const id = resourceId(identity.kind, identity.name);
    const first = firstById.get(id);
    if (first) {
      problem(
        'duplicate-name',
        identity.source,
        id,
        ['metadata', 'name'],
        `${id} is declared twice (first at ${where(first.source)})`,
        {
          hint: 'rename one of them, or delete the copy',
        },
      );
      continue;
    }
    firstById.set(id, identity);
    if (identity.kind === 'Refresh' || identity.kind === 'Access') {
      const firstOfKind = firstByKind.get(identity.kind);
      if (firstOfKind) {
        problem(
          'duplicate-singleton',
          identity.source,
          id,
          ['kind'],
          `only one ${identity.kind} may be declared (another is at ${where(firstOfKind.source)})`,
          { hint: `merge the two ${identity.kind} documents into one` },
        );
      } else {
        firstByKind.set(identity.kind, identity);
      }
    }
  }

  // Indexed once: checking each reference against a list would be quadratic in the destinations.
  const namesByKind = new Map<ManifestKind, string[]>();
  for (const item of identities) {
    const names = namesByKind.get(item.kind) ?? [];
    names.push(item.name);
    namesByKind.set(item.kind, names);
  }
  const declared = new Map([...namesByKind].map(([kind, names]) => [kind, new Set(names)]));
  const refresh = ofKind(manifests, 'Refresh')[0];
  const access = ofKind(manifests, 'Access')[0];

  for (const item of manifests) {
    problems.push(...singleManifestRuleProblems(item, { timezone: refresh?.manifest.spec.timezone }));
  }

  if (access) {
    const admins = access.manifest.spec.administrators.map((email) => email.toLowerCase());
    for (const item of ofKind(manifests, 'Connection')) {
      const { spec } = item.manifest;
      if (!admins.includes(spec.exportUser.toLowerCase())) {
        problem(
          'export-user-not-administrator',
          item.source,
          item.id,
          ['spec', 'exportUser'],
          `exportUser ${spec.exportUser} is not an administrator in ${access.id}`,
          {
            hint: `add ${spec.exportUser} to spec.administrators of ${access.id} (${where(access.source)}), or name an administrator`,
          },
        );
      }
    }
  }

  for (const item of ofKind(manifests, 'ExportDestination')) {
    const { spec } = item.manifest;
    for (const [field, kind] of [
      ['connection', 'Connection'],
      ['source', 'ProfileSource'],
    ] as const) {
      if (!declared.get(kind)?.has(spec[field])) {
        const names = namesByKind.get(kind) ?? [];
        const suggestion = suggestName(spec[field], names);
        problem(
          'dangling-reference',
          item.source,
          item.id,
          ['spec', field],
          `${field} "${spec[field]}" names no declared ${kind}`,
          {
            hint: suggestion
              ? `did you mean "${suggestion}"?`
              : names.length > 0
                ? `declared: ${names.join(', ')}`
                : `declare a ${kind} named ${spec[field]}, or include its file in PATH`,
          },
        );
      }
    }
    if (spec.schedule === 'refresh' && !refresh) {
      problem(
        'no-refresh-schedule',
        item.source,
        item.id,
        ['spec', 'schedule'],
        'schedule is refresh, but no Refresh is declared: this destination runs only on demand',
        {
          hint: 'declare a Refresh (kind: Refresh) or set schedule: manual to say so',
          severity: 'warning',
        },
      );
    }
  }
  return problems;
}
