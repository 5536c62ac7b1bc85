import { describe, expect, it } from 'vitest';
import type { ActivityCounters } from '../../../src/constant-contact';
import { judgeAdoptedImport } from '../../../src/engine/adopted-import-evidence';

const counters = (couldNotAdd: { unsubscribed?: number; refused?: number } = {}): ActivityCounters => ({
  items_total_count: 3,
  items_completed_count: 3,
  person_count: 3,
  error_count: couldNotAdd.refused ?? 0,
  correctable_count: 0,
  cannot_add_to_list_count: couldNotAdd.unsubscribed ?? 0,
  list_count: 1,
});

const batch = [
  { email: 'Ann@Example.com', first_name: 'Ann', last_name: 'Lee' },
  { email: 'bob@example.com', first_name: 'Bob' },
  { email: 'cy@example.com' },
];
const member = (email: string, firstName = '', lastName = '') => ({
  contactId: email,
  email,
  firstName,
  lastName,
});

describe('judgeAdoptedImport', () => {
  it('holds when every contact is on the list (any letter case) with the names sent', () => {
    const members = [
      member('ann@example.com', 'Ann', 'Lee'),
      member('bob@example.com', 'Bob', 'Old'),
      member('cy@example.com', 'X'),
    ];
    expect(judgeAdoptedImport(batch, members, counters())).toEqual({
      held: 3,
      missing: 0,
      misnamed: 0,
      holds: true,
    });
  });

  it('does not hold when a contact is missing that the activity did not say it could not add', () => {
    const members = [member('ann@example.com', 'Ann', 'Lee'), member('bob@example.com', 'Bob')];
    expect(judgeAdoptedImport(batch, members, counters()).holds).toBe(false);
    expect(judgeAdoptedImport(batch, members, counters({ unsubscribed: 1 })).holds).toBe(true);
    expect(judgeAdoptedImport(batch, members, counters({ refused: 1 })).holds).toBe(true);
    expect(judgeAdoptedImport(batch, [], counters({ unsubscribed: 2 })).holds).toBe(false);
  });

  it('does not hold when a contact on the list has other names than the batch sent (an earlier import of it)', () => {
    const members = [
      member('ann@example.com', 'Anne', 'Lee'),
      member('bob@example.com', 'Bob'),
      member('cy@example.com'),
    ];
    expect(judgeAdoptedImport(batch, members, counters({ unsubscribed: 3 }))).toMatchObject({
      misnamed: 1,
      holds: false,
    });
  });
});
