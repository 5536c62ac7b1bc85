import { pickDestination, type StepKind } from '../step-kind';

interface ConcurrentParams {
  readonly [name: string]: string;
  readonly destination: string;
}

/** Two `exportctl run` of one destination at once: one waits for the other's lock; both succeed. */
export const concurrentRuns: StepKind<ConcurrentParams> = {
  name: 'concurrent-runs',
  weight: 1,
  applies: () => true,
  draw(draft, random) {
    const destination = pickDestination(draft, random);
    draft.ran.add(destination);
    return { destination };
  },
  describe: (params) => `two runs of ${params.destination} at once`,
  async run(world, params) {
    const first = await world.startRun(params.destination);
    const second = await world.startRun(params.destination);
    const [one, two] = await Promise.all([first.process.result, second.process.result]);
    // The run that ended first is judged by its outcome: the other one may have changed the list since.
    const [earlier, later] = one.endedAt <= two.endedAt ? [first, second] : [second, first];
    await world.finishRun(earlier, { removalGuard: 'may', listChangedSince: true });
    await world.finishRun(later, { removalGuard: 'may' });
  },
};
