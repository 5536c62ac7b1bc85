import { pickDestination, type StepKind } from '../step-kind';

interface SabotageParams {
  readonly [name: string]: string;
  readonly destination: string;
}

/**
 * The oracle's own check, off by default: changes a list behind its back (a stranger added, a member
 * exportctl added renamed) so the next checks must report anomalies. `npm run soak -- --kinds
 * +sabotage` must fail; if it passes, the oracle is blind.
 */
export const sabotage: StepKind<SabotageParams> = {
  name: 'sabotage',
  weight: 1,
  off: true,
  note: 'changes lists behind the oracle, to show it catches that; a campaign with it must report anomalies',
  applies: (draft) => draft.ran.size > 0,
  draw: (draft, random) => ({
    destination: pickDestination(draft, random, (spec) => draft.ran.has(spec.name)),
  }),
  describe: (params) => `sabotage ${params.destination}'s list behind the oracle's back`,
  async run(world, params, random) {
    await world.sabotage(params.destination, random);
  },
};
