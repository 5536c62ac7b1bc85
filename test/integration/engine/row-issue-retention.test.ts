import { describe, expect, it } from 'vitest';
import type { RowIssueLine } from '../../../src/engine';
import { runStoreFor } from '../../../src/wiring';
import { openTestState } from '../../support/state-store';

const issue = (n: number): RowIssueLine => ({
  key: `C${n}`,
  field: 'EmailAddress',
  reason: `profiles.csv:${n}: not an email`,
  where: `profiles.csv:${n}`,
  severity: 'error',
  code: 'invalid-email',
});

describe('row issues in the SQLite state', () => {
  it('go with the ExportDestination when it is deleted, in the same transaction, and no other’s', async () => {
    const state = await openTestState();
    const store = runStoreFor(state);
    for (const name of ['vip', 'news'])
      await state.resources.put({
        kind: 'ExportDestination',
        name,
        owner: 'exportctl',
        spec: { listId: name },
      });
    await store.rowIssues.append(1, 'vip', [issue(1), issue(2)]);
    await store.rowIssues.append(2, 'news', [issue(3)]);
    await store.rowIssues.append(3, 'vip', [issue(4)]);
    // Another kind of the same name leaves them.
    await state.resources.put({ kind: 'ProfileSource', name: 'vip', owner: 'exportctl', spec: {} });
    await state.resources.delete('ProfileSource', 'vip', 'exportctl');
    expect(await store.rowIssues.count(1)).toBe(2);

    expect(await state.resources.delete('ExportDestination', 'vip', 'exportctl')).toBe(true);
    expect(await store.rowIssues.count(1)).toBe(0);
    expect(await store.rowIssues.count(3)).toBe(0);
    expect(await store.rowIssues.count(2)).toBe(1);
    const left = state.sqlite.prepare('SELECT count(*) AS n FROM export_row_issues').get() as { n: number };
    expect(left.n).toBe(1);
  });
});
