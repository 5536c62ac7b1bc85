import { pickDestination, type StepKind } from '../step-kind';

interface TrimParams {
  readonly [name: string]: string | number;
  readonly destination: string;
  readonly count: number;
}

/**
 * Someone removes members exportctl added from the list, in Constant Contact itself (here: the
 * sandbox's API with a key of its own). Each run holds the list's membership_count against the
 * count the last successful run left and looks at the list when they differ, so a run planned after
 * the trim must bring them back; one planned before it (a resumed run) may leave them missing, and
 * the oracle counts those as known gaps.
 */
export const trimList: StepKind<TrimParams> = {
  name: 'trim',
  weight: 1,
  applies: (draft) => draft.ran.size > 0,
  draw(draft, random) {
    return {
      destination: pickDestination(draft, random, (spec) => draft.ran.has(spec.name)),
      count: random.int(1, 10),
    };
  },
  describe: (params) => `trim ${params.count} members of ${params.destination}'s list outside exportctl`,
  async run(world, params, random) {
    await world.trimList(params.destination, params.count, random);
  },
};
