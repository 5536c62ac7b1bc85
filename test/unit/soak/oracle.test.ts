import { describe, expect, it } from 'vitest';
import {
  compareList,
  type ExpectedContact,
  expectedSelection,
  faultsExplainGivingUp,
  judgeFailure,
  type ListExpectation,
  listChanges,
  rateExcesses,
  sendableEmail,
  sentName,
} from '../../../soak';
import type { ListMember } from '../../../soak/sandbox-inspection';

const profiles = [
  'LifetimeValue,EmailAddress,CustomerId,FirstName,LastName',
  '1,ada@example.com,C3,Ada,Lovelace',
  '2,  ADA@Example.com ,C2,Augusta,King',
  '3,bob@example.com,C1,Bob,"Smith, Jr."',
  '4,not-an-email,C4,No,Mail',
  '5,carol@example.com,C5,"Carol ""the great""","Line\nBreak"',
  '6,dave@example.com,C6,Maximiliana-Theodora-Wilhelmina-Bernadette-Konstanze-Rosalind,   ',
  '7,eve@example.com,C1,Eve,Shadow',
  '8,frank@example.com,C8',
  '9,gina@example.com,C9,Gina,Outside',
  '10,user..dots@example.com,C10,Two,Dots',
  '11,',
].join('\n');
const membership = [
  'CustomerId,Segment',
  'C1,VIP',
  'C2,VIP',
  'C3,VIP',
  'C4,VIP',
  'C5,Newsletter',
  'C6,VIP',
  'C8,VIP',
  'C9,vip',
  'C9,VIP ',
  ',VIP',
  'X1,VIP',
].join('\n');

describe('the oracle: what a destination selects, by its own reading of the csv files', () => {
  it('applies the documented rules: segments exact, first row of a key, email rule, smallest key per email, names as sent', () => {
    const selection = expectedSelection(profiles, membership, {
      segments: ['VIP', 'Newsletter'],
      names: true,
    });
    expect([...selection.keys()].sort()).toEqual([
      'ada@example.com',
      'bob@example.com',
      'carol@example.com',
      'dave@example.com',
    ]);
    // C2 < C3: Augusta wins ada@, whatever the order of the rows.
    expect(selection.get('ada@example.com')).toEqual({
      emailKey: 'ada@example.com',
      key: 'C2',
      firstName: 'Augusta',
      lastName: 'King',
    });
    // C1's second row (eve@) is a duplicate key: the first row counts.
    expect(selection.get('bob@example.com')?.lastName).toBe('Smith, Jr.');
    expect(selection.get('carol@example.com')).toMatchObject({
      firstName: 'Carol "the great"',
      lastName: 'Line Break',
    });
    expect(selection.get('dave@example.com')).toMatchObject({
      firstName: 'Maximiliana-Theodora-Wilhelmina-Bernadette-Konstan',
      lastName: undefined,
    });
    const withoutNames = expectedSelection(profiles, membership, { segments: ['VIP'], names: false });
    expect(withoutNames.get('ada@example.com')).toMatchObject({ firstName: undefined, lastName: undefined });
    expect(withoutNames.has('carol@example.com')).toBe(false);
  });

  it('has its own email and name rules', () => {
    expect(sendableEmail('  Jürgen.M@Example.com ')).toBe('Jürgen.M@Example.com');
    for (const bad of [
      '',
      'a@b',
      'a@@b.com',
      'a b@c.com',
      '.a@b.com',
      'a..b@c.com',
      'a@b.123',
      `${'x'.repeat(40)}@example.com`,
    ])
      expect(sendableEmail(bad), bad).toBeUndefined();
    expect(sentName('  Chloe\u0301 ')).toBe('Chloé');
    expect(sentName('\t \n')).toBeUndefined();
  });
});

const contact = (emailKey: string, firstName?: string, lastName?: string): ExpectedContact => ({
  emailKey,
  key: emailKey,
  firstName,
  lastName,
});
const member = (email: string, first: string | null = null, last: string | null = null): ListMember => ({
  contact_id: email,
  email,
  first_name: first,
  last_name: last,
  unsubscribed: false,
});
const expectation = (overrides: Partial<ListExpectation> = {}): ListExpectation => ({
  required: new Map([
    ['ada@example.com', contact('ada@example.com', 'Ada', 'Lovelace')],
    ['bob@example.com', contact('bob@example.com', 'Bob')],
  ]),
  optional: new Map(),
  allowed: new Set(['outside@foreign.example.org']),
  knownGaps: new Set(),
  checkNames: () => true,
  ...overrides,
});

describe('the oracle: a list against what it must hold', () => {
  it('finds nothing wrong with the right list (foreign members allowed, an unsent last name not checked)', () => {
    const right = [
      member('ADA@example.com', 'Ada', 'Lovelace'),
      member('bob@example.com', 'Bob', 'Old'),
      member('outside@foreign.example.org'),
    ];
    expect(compareList(right, expectation())).toEqual({
      missing: [],
      extra: [],
      wrongNames: [],
      knownGaps: [],
    });
  });

  it('reports a missing contact, an extra one and a wrong name', () => {
    const wrong = [member('ada@example.com', 'Ada', 'Byron'), member('mallory@example.com')];
    expect(compareList(wrong, expectation())).toEqual({
      missing: ['bob@example.com'],
      extra: ['mallory@example.com'],
      wrongNames: [{ email: 'ada@example.com', expected: 'Ada / Lovelace', actual: 'Ada / Byron' }],
      knownGaps: [],
    });
  });

  it('excuses known gaps and optional contacts, and checks an optional contact that is there', () => {
    const list = [member('carol@example.com', 'Wrong')];
    expect(
      compareList(
        list,
        expectation({
          knownGaps: new Set(['ada@example.com', 'bob@example.com']),
          optional: new Map([
            ['carol@example.com', contact('carol@example.com', 'Carol')],
            ['dave@example.com', undefined],
          ]),
        }),
      ),
    ).toEqual({
      missing: [],
      extra: [],
      wrongNames: [{ email: 'carol@example.com', expected: 'Carol / (none)', actual: 'Wrong / (none)' }],
      knownGaps: ['ada@example.com', 'bob@example.com'],
    });
  });

  it('counts a second with more requests than its processes may send', () => {
    const requests = [0, 100, 200, 300, 400].map((at) => ({
      at,
      method: 'GET',
      path: '/v3/x',
      route: 'GET /v3/x',
      status: 200,
      clientId: 'k',
    }));
    const one = [{ clients: ['k'], startedAt: -100, endedAt: 1_000 }];
    expect(rateExcesses(requests, one, 4)).toEqual([{ clientId: 'k', at: 400, requests: 5, allowed: 4 }]);
    expect(rateExcesses(requests, [...one, { clients: ['k'], startedAt: 350, endedAt: 2_000 }], 4)).toEqual(
      [],
    );
    expect(rateExcesses(requests, one, 5)).toEqual([]);
  });
});

describe('the oracle: a run that did not succeed', () => {
  const outcome = (status: string, errorCode?: string, message = 'it failed', pauseReason?: string) => ({
    destination: 'd1',
    runId: 3,
    status,
    resumed: false,
    errorCode,
    message,
    pauseReason,
    writes: 0,
  });
  const judge = (run: ReturnType<typeof outcome>, facts: Partial<Parameters<typeof judgeFailure>[0]> = {}) =>
    judgeFailure({
      what: 'exportctl run d1',
      outcome: run,
      allowance: {},
      guard: 'no',
      faultsHitLast: false,
      ...facts,
    });

  it('accepts only the failures the scenario caused, with the matching status, code and message', () => {
    const broken = outcome('failed', 'source-field-missing', 'data/profiles.csv has no field "CustomerId"');
    expect(judge(broken, { allowance: { sourceFailure: 'must' } })).toBeUndefined();
    expect(judge(broken)).toMatchObject({ kind: 'unexpected-outcome' });
    expect(
      judge(outcome('failed', 'source-no-header', 'a file is empty'), {
        allowance: { sourceFailure: 'may' },
      }),
    ).toMatchObject({
      kind: 'wrong-message',
    });
    expect(judge(outcome('aborted', 'removal-guard'), { guard: 'must' })).toBeUndefined();
    expect(judge(outcome('aborted', 'removal-guard'))).toMatchObject({ kind: 'unexpected-outcome' });
    expect(judge(outcome('failed', 'removal-guard'), { guard: 'must' })).toMatchObject({
      kind: 'unexpected-outcome',
    });
    expect(
      judge(outcome('paused', undefined, 'paused', 'quota'), { allowance: { quota: true } }),
    ).toBeUndefined();
    expect(judge(outcome('paused', undefined, 'paused', 'quota'))).toMatchObject({
      kind: 'unexpected-outcome',
    });
    expect(judge(outcome('failed', 'server-error'), { faultsHitLast: true })).toBeUndefined();
    expect(judge(outcome('failed', 'server-error'))).toMatchObject({ kind: 'unexpected-outcome' });
    expect(judge(outcome('failed', 'unexpected-error'), { faultsHitLast: true })).toMatchObject({
      kind: 'unexpected-outcome',
    });
  });

  it('sees a list changed by a run that failed before sending, names included', () => {
    expect(listChanges([member('a@x.com', 'A')], [member('A@x.com', 'A')])).toEqual({
      added: [],
      removed: [],
    });
    expect(listChanges([member('a@x.com', 'A'), member('b@x.com')], [member('a@x.com', 'Z')])).toEqual({
      added: ['a@x.com|Z|null'],
      removed: ['a@x.com|A|null', 'b@x.com|null|null'],
    });
  });
});

describe('the oracle: which requests explain a run that gave up', () => {
  const request = (status: number, fault?: string) => ({
    at: 1,
    method: 'GET',
    path: '/v3/contact_lists/x',
    route: 'GET /v3/contact_lists/{list_id}',
    status,
    clientId: 'cc-b',
    ...(fault === undefined ? {} : { fault }),
  });

  it('alone on its key: only when its last request was faulted (it stopped sending when it gave up)', () => {
    expect(faultsExplainGivingUp([request(200), request(401, 'token-expiry')], false)).toBe(true);
    expect(faultsExplainGivingUp([request(401, 'token-expiry'), request(200)], false)).toBe(false);
    expect(faultsExplainGivingUp([], false)).toBe(false);
  });

  it('sharing its key with another destination of the process: a faulted answer among them is enough', () => {
    // run --all: the other destination on the key went on after this one gave up.
    expect(faultsExplainGivingUp([request(401, 'token-expiry'), request(200)], true)).toBe(true);
    expect(faultsExplainGivingUp([request(200), request(200)], true)).toBe(false);
  });
});
