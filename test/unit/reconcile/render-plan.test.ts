import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/reconcile/plan';
import {
  planJson,
  planSummaryLine,
  renderPlanMarkdown,
  renderPlanText,
  renderRefreshErrorsText,
} from '../../../src/reconcile/render-plan';

const fixtures = join(__dirname, '..', '..', 'fixtures', 'plans');

/** A plan with one of everything: create, update with a secret, replace, delete, drift, not declared. */
const mixed: Plan = {
  changes: [
    {
      action: 'create',
      kind: 'ProfileSource',
      name: 'crm',
      id: 'ProfileSource/crm',
      declaredAt: 'sources.yaml:3',
      fields: [
        { path: 'spec.key', after: 'CustomerId', sensitive: false, forcesReplacement: false },
        { path: 'spec.type', after: 'csv', sensitive: false, forcesReplacement: false },
      ],
    },
    {
      action: 'update',
      kind: 'Connection',
      name: 'marketing-cc',
      id: 'Connection/marketing-cc',
      declaredAt: 'connection.yaml:4',
      fields: [
        {
          path: 'spec.auth.clientSecret',
          before: 'fp-1',
          after: 'fp-2',
          sensitive: true,
          forcesReplacement: false,
        },
        {
          path: 'spec.displayName',
          before: 'Marketing',
          after: 'Marketing (EU)',
          sensitive: false,
          forcesReplacement: false,
        },
      ],
    },
    {
      action: 'replace',
      kind: 'ExportDestination',
      name: 'win-back',
      id: 'ExportDestination/win-back',
      declaredAt: 'destinations.yaml:19',
      fields: [
        {
          path: 'spec.listId',
          before: '6b4f0a52-3c1e-4d8a-9f27-2e5b7c9d1a34',
          after: '7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b',
          sensitive: false,
          forcesReplacement: true,
        },
        {
          path: 'spec.segments',
          before: ['LapsedCustomers'],
          after: ['Lapsed90Days'],
          sensitive: false,
          forcesReplacement: false,
        },
      ],
    },
    {
      action: 'delete',
      kind: 'ExportDestination',
      name: 'legacy',
      id: 'ExportDestination/legacy',
      fields: [],
    },
  ],
  drift: [
    {
      id: 'ExportDestination/vip-newsletter',
      kind: 'ExportDestination',
      name: 'vip-newsletter',
      condition: 'Stalled',
      reason: 'ListNotFound',
      message: 'list 04fe9a97-a579-43c5-bb1a-58ed29bf0a6a does not exist in Constant Contact',
      code: 'list-not-found',
      hint: 'set spec.listId of ExportDestination/vip-newsletter to a list of that account, and apply',
    },
  ],
  refreshErrors: [
    {
      id: 'ExportDestination/vip-newsletter',
      kind: 'ExportDestination',
      name: 'vip-newsletter',
      reason: 'ListNotFound',
      message: 'list 04fe9a97-a579-43c5-bb1a-58ed29bf0a6a does not exist in Constant Contact',
      code: 'list-not-found',
      hint: 'set spec.listId of ExportDestination/vip-newsletter to a list of that account, and apply',
      dependents: [],
    },
  ],
  notDeclared: ['ExportDestination/old-promo'],
  skipped: [{ id: 'Connection/sales-cc', reason: 'owned by Pulumi' }],
};

/** Compares with a golden file; UPDATE_GOLDEN=1 rewrites it (then review the diff). */
function expectGolden(name: string, actual: string): void {
  const path = join(fixtures, 'mixed', name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

describe('plan rendering', () => {
  it('text matches the golden file', () => {
    expectGolden('plan.txt', `${renderPlanText(mixed)}\n`);
  });

  it('markdown for a pull-request comment matches the golden file', () => {
    expectGolden('plan.md', renderPlanMarkdown(mixed));
  });

  it('never prints a sensitive value, in any format', () => {
    for (const output of [
      renderPlanText(mixed),
      renderPlanMarkdown(mixed),
      JSON.stringify(planJson(mixed)),
    ]) {
      expect(output).not.toContain('fp-1');
      expect(output).not.toContain('fp-2');
    }
  });

  it('json has the documented shape', () => {
    const json = planJson(mixed) as {
      formatVersion: number;
      summary: unknown;
      changes: { fields: unknown[] }[];
    };
    expect(json.formatVersion).toBe(1);
    expect(json.summary).toEqual({ add: 2, change: 1, destroy: 2 });
    expect(json.changes[1]?.fields[0]).toEqual({
      path: 'spec.auth.clientSecret',
      before: '(sensitive)',
      after: '(sensitive)',
      sensitive: true,
      forcesReplacement: false,
    });
  });

  it('refresh errors: lines for stderr that say which resource, why and what to do; nothing without any', () => {
    expect(renderRefreshErrorsText(mixed, 'plan')).toEqual([
      'error: ExportDestination/vip-newsletter: list 04fe9a97-a579-43c5-bb1a-58ed29bf0a6a does not exist in Constant Contact (ListNotFound)',
      '  hint: set spec.listId of ExportDestination/vip-newsletter to a list of that account, and apply',
      'error: the refresh found 1 problem this plan does not fix: fix it and plan again, or plan with --no-refresh to skip re-reading what is applied',
    ]);
    const connection = {
      ...mixed,
      refreshErrors: [
        {
          id: 'Connection/marketing-cc',
          kind: 'Connection' as const,
          name: 'marketing-cc',
          reason: 'CredentialsRejected',
          message: 'Constant Contact refused the refresh token',
          hint: 're-authorise',
          dependents: ['ExportDestination/a', 'ExportDestination/b'],
        },
      ],
    };
    expect(renderRefreshErrorsText(connection, 'apply')).toEqual([
      'error: Connection/marketing-cc: Constant Contact refused the refresh token (CredentialsRejected)',
      '  hint: re-authorise',
      '  not checked because of it: ExportDestination/a, ExportDestination/b',
      'error: the refresh found 1 problem this apply does not fix, so nothing was applied: fix it, or apply with --no-refresh to skip re-reading what is applied',
    ]);
    expect(renderRefreshErrorsText({ refreshErrors: [] }, 'plan')).toEqual([]);
    expect(planJson(mixed)).toMatchObject({ formatVersion: 1, refreshErrors: mixed.refreshErrors });
  });

  it('says "No changes." when there are none, and colours only when asked', () => {
    const empty: Plan = { changes: [], drift: [], refreshErrors: [], notDeclared: [], skipped: [] };
    expect(planSummaryLine(empty)).toBe('No changes.');
    expect(renderPlanText(empty)).toBe('No changes.');
    expect(renderPlanText(mixed)).not.toContain('\u001b[');
    expect(renderPlanText(mixed, { color: true })).toContain('\u001b[32m+\u001b[0m ProfileSource/crm');
  });
});
