/** A destination as a run record states it (`newRunRecord`'s first argument), for tests of records. */
export const recordedDestination = {
  generation: 1,
  connection: 'cc',
  source: 'profiles',
  listId: '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a',
  segments: ['VIP'],
  removal: 'keep' as const,
  maxRemovalPercent: 10,
};
