import { hasErrors, type LoadedManifest, type ManifestDocument, validateManifestDocuments } from '../config';
import { SavedPlanError } from './saved-plan-errors';
import type { SavedManifest } from './saved-plan-file';

/** A loaded manifest as a saved plan keeps it. */
export function savedManifest(item: LoadedManifest): SavedManifest {
  const at = item.source.locate([]);
  return {
    kind: item.kind,
    name: item.name,
    file: item.source.file,
    index: item.source.index,
    line: at.line,
    column: at.column,
    manifest: item.manifest,
  };
}

/**
 * The saved manifests as loaded manifests again, validated by the same rules as manifests read from
 * disk (a plan file edited by hand gets no further than a manifest would). Positions in messages are
 * the documents' starts as they were when the plan was made. Throws `plan-file-invalid`.
 */
export function loadSavedManifests(
  saved: readonly SavedManifest[],
  planFile: string,
  cwd: string,
): LoadedManifest[] {
  const documents: ManifestDocument[] = saved.map((item) => ({
    file: item.file,
    index: item.index,
    data: item.manifest,
    locate: () => ({ line: item.line, column: item.column }),
  }));
  const validated = validateManifestDocuments(documents, { cwd, skipRoleChecks: true });
  if (hasErrors(validated.problems)) {
    const first = validated.problems.find((problem) => problem.severity === 'error');
    throw new SavedPlanError(
      'plan-file-invalid',
      `${planFile} is not a saved plan this exportctl can apply: its manifests do not validate (${first?.resource ?? ''}: ${first?.message ?? ''})`,
      {
        context: { file: planFile },
        hint: 'the file was changed after exportctl wrote it: plan again with exportctl plan PATH -out FILE',
      },
    );
  }
  return validated.manifests;
}
