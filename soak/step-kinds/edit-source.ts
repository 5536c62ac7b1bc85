import { editProfileSource } from '../profile-source';
import type { StepKind } from '../step-kind';

interface EditParams {
  readonly [name: string]: number;
  readonly adds: number;
  readonly removals: number;
  readonly renames: number;
  readonly moves: number;
}

/** Edits the source between runs: adds, removals, renames, segment moves; now and then a mass removal. */
export const editSource: StepKind<EditParams> = {
  name: 'edit-source',
  weight: 2.5,
  applies: () => true,
  draw(draft, random) {
    const profiles = draft.scenario.profiles;
    const share = (most: number) => (random.chance(0.7) ? random.int(0, Math.ceil(profiles * most)) : 0);
    const edit = { adds: share(0.05), removals: share(0.05), renames: share(0.05), moves: share(0.03) };
    // Rarely, most profiles go: a removal guard below 100% must stop that.
    if (random.chance(0.08)) return { ...edit, removals: Math.ceil((profiles * random.int(30, 70)) / 100) };
    if (edit.adds + edit.removals + edit.renames + edit.moves === 0)
      return { ...edit, renames: 1 + random.int(0, 20) };
    return edit;
  },
  describe: (params) =>
    `edit the source: +${params.adds} profiles, -${params.removals}, ${params.renames} renamed, ${params.moves} moved`,
  async run(world, params, random) {
    editProfileSource(world.source, random, params);
    world.commitSource();
  },
};
