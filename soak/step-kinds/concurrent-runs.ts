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
    await Promise.all([first.process.result, second.process.result]);
    await world.finishRun(first);
    await world.finishRun(second, { removalGuard: 'may' });
  },
};
