import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManifestKind } from '../config';
import type { ExportctlError } from '../errors';
import { type JsonObject, openStateStore, type StateStore } from '../state';

import { SqliteStateStore } from '../state/sqlite/sqlite-state-store';
import { RunEngineError } from './run-engine-errors';
import { runExport, toExportctlError } from './run-export';
import type { ExportRunRecord } from './run-record';

/** One planned change of the control plane, as apply would store it. */
export interface PreviewChange {
  readonly kind: ManifestKind;
  readonly name: string;
  /** The spec as apply stores it (`handler.storedSpec`); undefined for a delete. */
  readonly spec: JsonObject | undefined;
  /** The facts apply records with it (`handler.storedFacts`: a ProfileSource's folder), if any. */
  readonly facts?: JsonObject | undefined;
  /** A replacement: the resource (and a destination's snapshot) starts over. */
  readonly replace: boolean;
}

/** The data plan of one destination under the planned change, or why there is none. */
export type DataPlanPreview =
  | { readonly destination: string; readonly record: ExportRunRecord }
  | { readonly destination: string; readonly error: ExportctlError };

/**
 * What each of `destinations` would send if `changes` were applied and it then ran: a dry run of
 * each against a throwaway copy of the state with the changes applied to it (the same snapshots, a
 * replaced destination's snapshot dropped, as apply drops it). The real state is only read: no run
 * is recorded, no snapshot or checkpoint changes, and nothing is sent (a dry run sends nothing, not
 * even a GET). The copy and its row-issue CSVs are deleted before this resolves.
 */
export async function previewDataPlans(
  store: StateStore,
  changes: readonly PreviewChange[],
  destinations: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<DataPlanPreview[]> {
  if (destinations.length === 0) return [];
  if (!(store instanceof SqliteStateStore)) {
    throw new RunEngineError(
      'state-backend-unsupported',
      `data plans need a SQLite state (the snapshots live there); ${store.location} is not one`,
      { hint: 'use --state sqlite:PATH (the default)' },
    );
  }
  const folder = mkdtempSync(join(tmpdir(), 'exportctl-data-plan-'));
  try {
    await store.sqlite.backup(join(folder, 'state.db'));
    // A key of its own: the copy's secrets are never read (a dry run makes no request).
    const copy = await openStateStore(`sqlite:${join(folder, 'state.db')}`, {
      cwd: options.cwd,
      env: { ...options.env, EXPORTCTL_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') },
    });
    try {
      for (const change of changes) {
        const existing = await copy.resources.get(change.kind, change.name);
        if (existing && (change.replace || change.spec === undefined))
          await copy.resources.delete(change.kind, change.name, existing.owner);
        if (change.spec !== undefined) {
          await copy.resources.put({
            kind: change.kind,
            name: change.name,
            owner: existing?.owner ?? 'exportctl',
            spec: change.spec,
          });
          if (change.facts !== undefined)
            await copy.resources.setRemoteFacts(change.kind, change.name, change.facts);
        }
      }
      const previews: DataPlanPreview[] = [];
      for (const destination of destinations) {
        try {
          const result = await runExport({
            store: copy,
            destination,
            dryRun: true,
            env: options.env,
            tuning: { rowIssuesFolder: join(folder, 'rows') },
          });
          previews.push(
            result.error ? { destination, error: result.error } : { destination, record: result.record },
          );
        } catch (error) {
          previews.push({ destination, error: toExportctlError(error) });
        }
      }
      return previews;
    } finally {
      await copy.close();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
