import type { ManifestKind } from '../../config';
import { mergeConditions } from '../resource-conditions';
import {
  describeOwner,
  ownerAccess,
  pulumiStackOwner,
  type ResourceOwner,
  stackOfOwner,
} from '../resource-owner';
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
import { OwnershipError, StateError } from '../state-errors';
import type { SqliteStateContext } from './sqlite-state-context';
import { bumpStateSerial } from './sqlite-state-serial';

interface ResourceRow {
  kind: string;
  name: string;
  owner: string;
  /** The Pulumi stack of owner `pulumi`; null for `exportctl` and the legacy `pulumi`. */
  owner_stack: string | null;
  spec: string;
  spec_hash: string;
  generation: number;
  conditions: string;
  remote_facts: string | null;
  remote_facts_read_at: number | null;
  created_at: number;
  updated_at: number;
}

/** An owner as the two columns hold it: `pulumi:a/b/c` is owner `pulumi`, owner_stack `a/b/c`. */
function ownerColumns(owner: ResourceOwner): { owner: string; stack: string | null } {
  const stack = stackOfOwner(owner);
  return stack === undefined ? { owner, stack: null } : { owner: 'pulumi', stack };
}

function ownerOf(row: ResourceRow): ResourceOwner {
  return row.owner_stack === null ? (row.owner as ResourceOwner) : pulumiStackOwner(row.owner_stack);
}

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
        if (this.assertOwner(existing, resource.owner, 'change') === 'claim') {
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
        this.assertOwner(existing, owner, 'delete');
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

  /** Resolves `own` or `claim` (see `ownerAccess`); throws `OwnershipError` otherwise. */
  private assertOwner(
    existing: ResourceRow,
    writer: ResourceOwner,
    action: 'change' | 'delete',
  ): 'own' | 'claim' {
    const owner = ownerOf(existing);
    const access = ownerAccess(owner, writer);
    if (access !== 'refuse') return access;
    throw new OwnershipError(
      `${existing.kind}/${existing.name} is managed by ${describeOwner(owner)}; ` +
        `${describeOwner(writer)} does not ${action} it`,
      {
        context: { kind: existing.kind, name: existing.name, owner, writer },
        hint:
          owner === 'exportctl'
            ? 'change it with exportctl apply, or remove it from the Pulumi program'
            : writer === 'exportctl'
              ? 'change or remove it in the Pulumi program, or remove it from these manifests'
              : `change or remove it in the program of ${describeOwner(owner)}; each resource belongs to one stack`,
      },
    );
  }
}

function toResource(row: ResourceRow): AppliedResource {
  return {
    kind: row.kind as ManifestKind,
    name: row.name,
    owner: ownerOf(row),
    spec: JSON.parse(row.spec) as JsonObject,
    specHash: row.spec_hash,
    generation: row.generation,
    conditions: JSON.parse(row.conditions) as ResourceCondition[],
    remoteFacts:
      row.remote_facts === null || row.remote_facts_read_at === null
        ? undefined
        : { facts: JSON.parse(row.remote_facts) as JsonObject, readAt: row.remote_facts_read_at },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function notFound(kind: string, name: string): never {
  throw new StateError('resource-not-found', `${kind}/${name} is not in the state`, {
    context: { kind, name },
    hint: 'apply it first; status is recorded only for applied resources',
  });
}
