import type pg from 'pg';
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
import type { PostgresStateContext } from './postgres-state-context';
import { bumpStateSerial } from './postgres-state-serial';

/**
 * {@link ResourceStore} on the `resources` table. Writes run in the serialized transaction (the
 * serial row locked first) and lock the resource's row, so they behave as SQLite's.
 */
export class PostgresResourceStore implements ResourceStore {
  constructor(private readonly context: PostgresStateContext) {}

  async get(kind: ManifestKind, name: string): Promise<AppliedResource | undefined> {
    const row = await this.context.reachable(() => this.row(this.context.pool(), kind, name), true);
    return row === undefined ? undefined : toResource(row);
  }

  async list(filter: ResourceFilter = {}): Promise<AppliedResource[]> {
    const owner = filter.owner === undefined ? { owner: null, stack: null } : ownerColumns(filter.owner);
    const { rows } = await this.context.query<ResourceRow>(
      `SELECT * FROM resources
       WHERE ($1::text IS NULL OR kind = $1)
         AND ($2::text IS NULL OR (owner = $2 AND owner_stack IS NOT DISTINCT FROM $3::text))
       ORDER BY kind COLLATE "C", name COLLATE "C"`,
      [filter.kind ?? null, owner.owner, owner.stack],
    );
    return rows.map(toResource);
  }

  async put(resource: ResourceToPut): Promise<PutResourceResult> {
    const spec = canonicalJson(resource.spec);
    const hash = specHash(resource.spec);
    return this.context.transaction(async (client): Promise<PutResourceResult> => {
      const now = this.context.clock.now();
      const existing = await this.row(client, resource.kind, resource.name, true);
      const writer = ownerColumns(resource.owner);
      if (existing === undefined) {
        await client.query(
          `INSERT INTO resources (kind, name, owner, owner_stack, spec, spec_hash, generation, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)`,
          [resource.kind, resource.name, writer.owner, writer.stack, spec, hash, now],
        );
        await bumpStateSerial(client);
        return { change: 'created', resource: await this.mustGet(client, resource.kind, resource.name) };
      }
      if (assertOwner(existing, resource.owner, 'change') === 'claim') {
        await client.query('UPDATE resources SET owner_stack = $1 WHERE kind = $2 AND name = $3', [
          writer.stack,
          resource.kind,
          resource.name,
        ]);
        await bumpStateSerial(client);
      }
      const current = (await this.row(client, resource.kind, resource.name)) ?? existing;
      if (current.spec_hash === hash) return { change: 'unchanged', resource: toResource(current) };
      await client.query(
        `UPDATE resources SET spec = $1, spec_hash = $2, generation = generation + 1, updated_at = $3
         WHERE kind = $4 AND name = $5`,
        [spec, hash, now, resource.kind, resource.name],
      );
      await bumpStateSerial(client);
      return { change: 'updated', resource: await this.mustGet(client, resource.kind, resource.name) };
    });
  }

  async delete(kind: ManifestKind, name: string, owner: ResourceOwner): Promise<boolean> {
    return this.context.transaction(async (client) => {
      const existing = await this.row(client, kind, name, true);
      if (existing === undefined) return false;
      assertOwner(existing, owner, 'delete');
      await client.query('DELETE FROM resources WHERE kind = $1 AND name = $2', [kind, name]);
      await bumpStateSerial(client);
      return true;
    });
  }

  async setConditions(
    kind: ManifestKind,
    name: string,
    updates: readonly ConditionUpdate[],
  ): Promise<readonly ResourceCondition[]> {
    return this.context.transaction(async (client) => {
      const existing = (await this.row(client, kind, name, true)) ?? notFound(kind, name);
      const conditions = mergeConditions(
        toResource(existing).conditions,
        updates,
        this.context.clock.now(),
        existing.generation,
      );
      const text = canonicalJson(conditions);
      if (text === existing.conditions) return conditions;
      await client.query('UPDATE resources SET conditions = $1 WHERE kind = $2 AND name = $3', [
        text,
        kind,
        name,
      ]);
      await bumpStateSerial(client);
      return conditions;
    });
  }

  async setRemoteFacts(kind: ManifestKind, name: string, facts: JsonObject): Promise<RemoteFacts> {
    const readAt = this.context.clock.now();
    const text = canonicalJson(facts);
    await this.context.transaction(async (client) => {
      const existing = (await this.row(client, kind, name, true)) ?? notFound(kind, name);
      await client.query(
        'UPDATE resources SET remote_facts = $1, remote_facts_read_at = $2 WHERE kind = $3 AND name = $4',
        [text, readAt, kind, name],
      );
      // Reading the same facts again is no change a plan could show: the serial stays.
      if (existing.remote_facts !== text) await bumpStateSerial(client);
    });
    return { facts: JSON.parse(text) as JsonObject, readAt };
  }

  private async row(
    client: pg.Pool | pg.ClientBase,
    kind: string,
    name: string,
    forUpdate = false,
  ): Promise<ResourceRow | undefined> {
    const { rows } = await client.query<ResourceRow>(
      `SELECT * FROM resources WHERE kind = $1 AND name = $2${forUpdate ? ' FOR UPDATE' : ''}`,
      [kind, name],
    );
    return rows[0];
  }

  private async mustGet(client: pg.ClientBase, kind: string, name: string): Promise<AppliedResource> {
    return toResource((await this.row(client, kind, name)) ?? notFound(kind, name));
  }
}
