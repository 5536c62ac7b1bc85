import type { ActivityCounters } from '../../src/constant-contact';

/** The counters of an import activity that completed one contact: what the store tests confirm with. */
export const oneContactCounters: ActivityCounters = {
  items_total_count: 1,
  items_completed_count: 1,
  person_count: 1,
  error_count: 0,
  correctable_count: 0,
  cannot_add_to_list_count: 0,
  list_count: 1,
};
