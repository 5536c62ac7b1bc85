import type { ManifestKind } from '../../config';
import { mergeConditions } from '../resource-conditions';
import type { ResourceOwner } from '../resource-owner';
import { assertOwner, notFound, ownerColumns, type ResourceRow, toResource } from '../resource-rows';
import type {
  AppliedResource,
  ConditionUpdate,
  PutResourceResult,
  RemoteFacts,
  ResourceCondition,
  ResourceFilter,
  ResourceStore,
  ResourceToPut,
} from '../resource-store';
import { canonicalJson, type JsonObject, specHash } from '../spec-hash';
import type { SqliteStateContext } from './sqlite-state-context';
import { bumpStateSerial } from './sqlite-state-serial';

/** {@link ResourceStore} on the `resources` table. */
export class SqliteResourceStore implements ResourceStore {
  constructor(private readonly context: SqliteStateContext) {}

  async get(kind: ManifestKind, name: string): Promise<AppliedResource | undefined> {
    const row = this.row(kind, name);
    return row === undefined ? undefined : toResource(row);
  }

  async list(filter: ResourceFilter = {}): Promise<AppliedResource[]> {
    const rows = this.context
      .database()
      .prepare(
        `SELECT * FROM resources
         WHERE (@kind IS NULL OR kind = @kind)
           AND (@owner IS NULL OR (owner = @owner AND owner_stack IS @stack))
         ORDER BY kind, name`,
      )
      .all({
        kind: filter.kind ?? null,
        ...(filter.owner === undefined ? { owner: null, stack: null } : ownerColumns(filter.owner)),
      }) as ResourceRow[];
    return rows.map(toResource);
  }

  async put(resource: ResourceToPut): Promise<PutResourceResult> {
    const db = this.context.database();
    const spec = canonicalJson(resource.spec);
    const hash = specHash(resource.spec);
    return db
      .transaction((): PutResourceResult => {
        const now = this.context.clock.now();
        const existing = this.row(resource.kind, resource.name);
        const writer = ownerColumns(resource.owner);
        if (existing === undefined) {
          db.prepare(
            `INSERT INTO resources (kind, name, owner, owner_stack, spec, spec_hash, generation, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`,
          ).run(resource.kind, resource.name, writer.owner, writer.stack, spec, hash, now, now);
          bumpStateSerial(db);
          return { change: 'created', resource: this.mustGet(resource.kind, resource.name) };
        }
        if (assertOwner(existing, resource.owner, 'change') === 'claim') {
          db.prepare('UPDATE resources SET owner_stack = ? WHERE kind = ? AND name = ?').run(
            writer.stack,
            resource.kind,
            resource.name,
          );
          bumpStateSerial(db);
        }
        const current = this.row(resource.kind, resource.name) ?? existing;
        if (current.spec_hash === hash) return { change: 'unchanged', resource: toResource(current) };
        db.prepare(
          `UPDATE resources SET spec = ?, spec_hash = ?, generation = generation + 1, updated_at = ?
           WHERE kind = ? AND name = ?`,
        ).run(spec, hash, now, resource.kind, resource.name);
        bumpStateSerial(db);
        return { change: 'updated', resource: this.mustGet(resource.kind, resource.name) };
      })
      .immediate();
  }

  async delete(kind: ManifestKind, name: string, owner: ResourceOwner): Promise<boolean> {
    const db = this.context.database();
    return db
      .transaction(() => {
        const existing = this.row(kind, name);
        if (existing === undefined) return false;
        assertOwner(existing, owner, 'delete');
        db.prepare('DELETE FROM resources WHERE kind = ? AND name = ?').run(kind, name);
        bumpStateSerial(db);
        return true;
      })
      .immediate();
  }

  async setConditions(
    kind: ManifestKind,
    name: string,
    updates: readonly ConditionUpdate[],
  ): Promise<readonly ResourceCondition[]> {
    const db = this.context.database();
    return db
      .transaction(() => {
        const existing = this.row(kind, name) ?? notFound(kind, name);
        const conditions = mergeConditions(
          toResource(existing).conditions,
          updates,
          this.context.clock.now(),
          existing.generation,
        );
        const text = canonicalJson(conditions);
        if (text === existing.conditions) return conditions;
        db.prepare('UPDATE resources SET conditions = ? WHERE kind = ? AND name = ?').run(text, kind, name);
        bumpStateSerial(db);
        return conditions;
      })
      .immediate();
  }

  async setRemoteFacts(kind: ManifestKind, name: string, facts: JsonObject): Promise<RemoteFacts> {
    const db = this.context.database();
    const readAt = this.context.clock.now();
    const text = canonicalJson(facts);
    db.transaction(() => {
      const existing = this.row(kind, name) ?? notFound(kind, name);
      db.prepare(
        'UPDATE resources SET remote_facts = ?, remote_facts_read_at = ? WHERE kind = ? AND name = ?',
      ).run(text, readAt, kind, name);
      // Reading the same facts again is no change a plan could show: the serial stays.
      if (existing.remote_facts !== text) bumpStateSerial(db);
    }).immediate();
    return { facts: JSON.parse(text) as JsonObject, readAt };
  }

  private row(kind: string, name: string): ResourceRow | undefined {
    return this.context
      .database()
      .prepare('SELECT * FROM resources WHERE kind = ? AND name = ?')
      .get(kind, name) as ResourceRow | undefined;
  }

  private mustGet(kind: string, name: string): AppliedResource {
    return toResource(this.row(kind, name) ?? notFound(kind, name));
  }
}
