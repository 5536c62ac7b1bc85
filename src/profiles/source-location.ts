import { isAbsolute, join } from 'node:path';
import type { ProfileSourceSpec } from '../config';
import { mapSourcePaths } from './adapters/source-adapters';
import { SourceError } from './source-error';

/**
 * The spec with every file path made absolute against `folder`, the folder of the manifest that
 * declares the source (paths are written relative to it). The state keeps a source's paths as
 * written, so that the same manifests in another checkout or folder plan no change, and keeps the
 * folder apart (`sourceFolderFact`): this is what a run, which has no manifest, reads from. A path
 * written absolute stays as it is (states written before the folder was kept hold absolute paths).
 *
 * Throws `source-location-unknown` when a relative path has no folder to start from.
 */
export function locatedSourceSpec(
  spec: ProfileSourceSpec,
  folder: string | undefined,
  name = 'the source',
): ProfileSourceSpec {
  const located = (path: string) => {
    if (isAbsolute(path)) return path;
    if (folder === undefined)
      throw new SourceError(
        'source-location-unknown',
        `ProfileSource/${name}: the state does not say which folder "${path}" is relative to`,
        {
          context: { source: name, path },
          hint: `apply the manifest that declares ProfileSource/${name} again: it records where its files are`,
        },
      );
    return join(folder, path);
  };
  return mapSourcePaths(spec, located);
}

/** The key of a ProfileSource's remote facts that holds the folder its relative paths start from. */
export const sourceFolderFact = 'folder';

/** The folder recorded with an applied ProfileSource, if any. */
export function recordedSourceFolder(
  facts: { readonly [key: string]: unknown } | undefined,
): string | undefined {
  const folder = facts?.[sourceFolderFact];
  return typeof folder === 'string' ? folder : undefined;
}
