import type { ManifestDocument } from './manifest-document';
import type { ManifestKind } from './manifest-schemas';
import type {
  Access,
  Connection,
  ExportDestination,
  Manifest,
  ProfileSource,
  Refresh,
} from './manifest-types.generated';

/** A manifest that passed its schema, with defaults filled in and a way back to its source. */
export interface LoadedManifest<M extends Manifest = Manifest> {
  readonly manifest: M;
  readonly kind: M['kind'];
  readonly name: string;
  /** `Kind/name`: unique among the loaded manifests. */
  readonly id: string;
  readonly source: ManifestDocument;
}

export type KindMap = {
  Connection: Connection;
  ProfileSource: ProfileSource;
  ExportDestination: ExportDestination;
  Refresh: Refresh;
  Access: Access;
};

export function resourceId(kind: ManifestKind | string, name: string): string {
  return `${kind}/${name}`;
}

export function ofKind<K extends ManifestKind>(
  manifests: readonly LoadedManifest[],
  kind: K,
): LoadedManifest<KindMap[K]>[] {
  return manifests.filter((item): item is LoadedManifest<KindMap[K]> => item.kind === kind);
}
