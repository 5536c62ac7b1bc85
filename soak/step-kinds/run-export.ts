import { pickDestination, type StepKind } from '../step-kind';

interface RunParams {
  readonly [name: string]: string | boolean;
  /** A destination, or `--all` (every destination in one process, sharing each key's limiter). */
  readonly target: string;
  readonly full: boolean;
}

/** `exportctl run` of a destination (or `--all`), judged when it ends. */
export const runExport: StepKind<RunParams> = {
  name: 'run',
  weight: 3,
  applies: () => true,
  draw(draft, random) {
    const target = draft.specs.size > 1 && random.chance(0.2) ? '--all' : pickDestination(draft, random);
    if (target === '--all') for (const name of draft.specs.keys()) draft.ran.add(name);
    else draft.ran.add(target);
    return { target, full: random.chance(0.15) };
  },
  describe: (params) => `run ${params.target}${params.full ? ' --full' : ''}`,
  async run(world, params) {
    const running = await world.startRun(params.target, { full: params.full });
    await world.finishRun(running);
  },
};
