import { describe, expect, it } from 'vitest';
import type { ApiRequestEvent } from '../../../src/constant-contact';
import { ApiCallTally } from '../../../src/engine';

const event = (
  method: string,
  pathTemplate: string,
  status: number | undefined,
  extra: Partial<ApiRequestEvent> = {},
): ApiRequestEvent => ({
  endpoint: 'api',
  method,
  pathTemplate,
  status,
  durationMs: 1,
  attempt: 1,
  throttled: false,
  quotaExceeded: false,
  ...extra,
});

describe('ApiCallTally', () => {
  it('counts requests by phase and route, writes, failures, throttling and token requests', () => {
    const tally = new ApiCallTally();
    tally.record(event('GET', '/contact_lists/{list_id}', 200));
    tally.phase = 'import';
    tally.record(event('POST', '/activities/contacts_json_import', undefined, { failure: 'ECONNRESET' }));
    tally.record(event('POST', '/activities/contacts_json_import', 429, { throttled: true, attempt: 2 }));
    tally.record(event('POST', '/activities/contacts_json_import', 201, { attempt: 3 }));
    tally.record(event('POST', '/oauth2/default/v1/token', 200, { endpoint: 'token' }));
    tally.phase = 'remove';
    tally.record(event('POST', '/activities/remove_list_memberships', 201));
    expect(tally.snapshot()).toEqual({
      total: 5,
      writes: 4,
      failed: 2,
      throttled: 1,
      tokenRequests: 1,
      byPhase: {
        preflight: { 'GET /contact_lists/{list_id}': 1 },
        import: { 'POST /activities/contacts_json_import': 3, 'POST token': 1 },
        remove: { 'POST /activities/remove_list_memberships': 1 },
      },
    });
  });

  it('goes on from the counts of a resumed run without changing them', () => {
    const start = new ApiCallTally();
    start.record(event('GET', '/activities', 200));
    const before = start.snapshot();
    const resumed = new ApiCallTally(before);
    resumed.record(event('GET', '/activities', 200));
    expect(resumed.snapshot().byPhase).toEqual({ preflight: { 'GET /activities': 2 } });
    expect(before.byPhase).toEqual({ preflight: { 'GET /activities': 1 } });
  });
});
