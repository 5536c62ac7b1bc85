import type { SqliteMigration } from './sqlite-migrations';

/**
 * Records which Pulumi stack owns a resource (`owner_stack`, `<org>/<project>/<stack>`, with owner
 * `pulumi`), so two stacks on one state no longer co-own what either declares. Existing `pulumi`
 * rows keep a null stack: the first stack that creates or updates one claims it.
 *
 * A new column rather than a wider CHECK on `owner`: SQLite cannot alter a CHECK in place, and
 * rebuilding `resources` would drop the run engine's triggers on it. The column's own CHECK keeps
 * the rule that only Pulumi rows name a stack. Skips the ALTER when the column is already there, so
 * it is safe on a database where it was added by hand or by an interrupted run.
 */
export const ownerStackMigration: SqliteMigration = {
  id: 'control-plane-3-owner-stack',
  up(db) {
    const columns = db.prepare('PRAGMA table_info(resources)').all() as { name: string }[];
    if (columns.some((column) => column.name === 'owner_stack')) return;
    db.exec(
      `ALTER TABLE resources ADD COLUMN owner_stack TEXT
         CHECK (owner_stack IS NULL OR (owner = 'pulumi' AND owner_stack <> ''))`,
    );
  },
};
