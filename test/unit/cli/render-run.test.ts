import { describe, expect, it } from 'vitest';
import { renderDataPlan, renderRunSummary } from '../../../src/cli/render-run';
import { type ExportRunResult, emptyDataPlan, newRunRecord, runRecordJson } from '../../../src/engine';
import type { RunRecord } from '../../../src/state';
import { recordedDestination as destination } from '../../support/run-records';

/** A succeeded run of one contact: every count 1. */
function oneOfEach(): ExportRunResult {
  const start = newRunRecord(destination, { dryRun: false, full: false });
  const record = {
    ...start,
    phase: 'finish' as const,
    counts: {
      ...start.counts,
      read: 1,
      inSegments: 1,
      invalid: 1,
      duplicate: 1,
      contacts: 1,
      added: 1,
      imported: 1,
      unsubscribed: 1,
      rejected: 1,
    },
    batches: { imports: 1, importsConfirmed: 1, removals: 0, removalsConfirmed: 0 },
    timingsMs: { total: 1200 },
    apiCalls: { ...start.apiCalls, total: 1, writes: 1, failed: 1, throttled: 1 },
    rowIssues: { errors: 1, warnings: 1, byCode: {}, csv: '/state/runs/vip/7-row-errors.csv' },
  };
  const run: RunRecord = {
    id: 7,
    destination: 'vip',
    trigger: 'manual',
    actor: undefined,
    status: 'succeeded',
    startedAt: 0,
    finishedAt: 1200,
    gitCommit: undefined,
    record: runRecordJson(record),
  };
  return { run, record, resumed: false, error: undefined, tookOverLock: undefined };
}

describe('renderRunSummary', () => {
  it('says 1 contact, 1 call, 1 request, 1 error, 1 warning: never "1 contacts"', () => {
    expect(renderRunSummary(oneOfEach())).toEqual([
      'vip: run 7 succeeded in 1.2 s: 1 contact selected; +1 new, ~0 changed, =0 unchanged, -0 removed',
      '  imported 1 in 1 call; 1 unsubscribed in Constant Contact (not added, never re-added); 1 refused by Constant Contact',
      '  read 1 profile row; 1 in VIP; 1 invalid, 1 duplicate email; 1 distinct contact',
      '  API: 1 request (1 write, 1 failed and retried or reported, 1 throttled)',
      '  row issues: 1 error, 1 warning in /state/runs/vip/7-row-errors.csv',
    ]);
  });

  it('says how to get the row issues of a run that kept them in the state, not a file', () => {
    const base = oneOfEach();
    const record = { ...base.record, rowIssues: { ...base.record.rowIssues, csv: null } };
    expect(renderRunSummary({ ...base, record }).at(-1)).toBe(
      '  row issues: 1 error, 1 warning, 1 refused by Constant Contact; as CSV: exportctl runs vip 7 --row-issues > issues.csv',
    );
    const clean = {
      ...record,
      counts: { ...record.counts, rejected: 0 },
      rowIssues: { errors: 0, warnings: 0, byCode: {}, csv: null },
    };
    expect(renderRunSummary({ ...base, record: clean }).join('\n')).not.toContain('row issues');
  });

  it('says a skipped run was unchanged and read and sent nothing', () => {
    const base = oneOfEach();
    const record = {
      ...base.record,
      skipped: 'unchanged' as const,
      counts: {
        ...newRunRecord(destination, { dryRun: false, full: false }).counts,
        contacts: 3,
        unchanged: 3,
      },
      batches: { imports: 0, importsConfirmed: 0, removals: 0, removalsConfirmed: 0 },
      apiCalls: { ...base.record.apiCalls, total: 1, writes: 0, failed: 0, throttled: 0 },
      rowIssues: { errors: 0, warnings: 0, byCode: {}, csv: null },
    };
    expect(renderRunSummary({ ...base, record })).toEqual([
      'vip: run 7 succeeded in 1.2 s: unchanged, 3 contacts as the last run left them; nothing read, nothing sent',
      '  (the source, the specs, the snapshot and the list count are as the last run that succeeded left them; --full sends everything anyway)',
      '  API: 1 request (0 writes, 0 failed and retried or reported, 0 throttled)',
    ]);
  });
});

describe('renderDataPlan: a changed mapping', () => {
  const planned = (fieldChanges: { added: string[]; removed: string[] } | null) => {
    const start = newRunRecord(destination, { dryRun: true, full: false });
    return {
      ...start,
      plan: {
        ...emptyDataPlan({ full: false, requestsPerSecond: 4, requests: 1 }),
        contacts: 970_000,
        updates: 970_000,
        toImport: 970_000,
        fieldChanges,
      },
    };
  };

  it('says why every contact is an update: the new mapped field, and the fields no longer sent', () => {
    expect(renderDataPlan('vip', planned({ added: ['company_name'], removed: [] }))[2]).toBe(
      '  ~ 970,000 to update: new mapped field company_name',
    );
    expect(renderDataPlan('vip', planned({ added: ['job_title', 'cf:Tier'], removed: ['city'] }))[2]).toBe(
      '  ~ 970,000 to update: new mapped fields job_title, cf:Tier; no longer sent: city (the values already in Constant Contact stay)',
    );
    expect(renderDataPlan('vip', planned(null))[2]).toBe('  ~ 970,000 to update');
  });
});
