import { pickDestination, type StepKind } from '../step-kind';

interface TrimParams {
  readonly [name: string]: string | number;
  readonly destination: string;
  readonly count: number;
}

/**
 * Someone removes members exportctl added from the list, in Constant Contact itself (here: the
 * sandbox's API with a key of its own). exportctl does not notice a trimmed list yet (its snapshot
 * still holds those contacts, and an unchanged contact is not sent again; re-checking membership
 * counts is a separate issue), so the oracle counts the trimmed contacts that stay missing as known
 * gaps until a `--full` run planned after the trim, which must bring them back.
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
