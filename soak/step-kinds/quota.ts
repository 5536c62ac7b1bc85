import { pickDestination, type StepKind } from '../step-kind';

interface QuotaParams {
  readonly [name: string]: string | number;
  readonly destination: string;
  /** Requests left today when the run starts. */
  readonly allowance: number;
}

const plenty = 1_000_000;

/**
 * The API key's daily quota runs out during a run: the run pauses (exit 1, `paused: ... daily
 * quota`) or, out before it planned, fails with `quota-exceeded`; the quota is then restored and the
 * next run resumes from the checkpoint.
 */
export const quota: StepKind<QuotaParams> = {
  name: 'quota',
  weight: 0.7,
  applies: () => true,
  draw(draft, random) {
    const destination = pickDestination(draft, random);
    draft.ran.add(destination);
    return { destination, allowance: random.int(1, 6) };
  },
  describe: (params) => `run ${params.destination} with ${params.allowance} requests left in the day`,
  async run(world, params) {
    const spec = world.specs.get(params.destination);
    const connection = world.scenario.connections.find((candidate) => candidate.name === spec?.connection);
    if (!connection) throw new Error(`no connection for ${params.destination}`);
    const used =
      (await world.inspection.limits()).find((client) => client.clientId === connection.clientId)
        ?.usedToday ?? 0;
    await world.inspection.setDailyQuota(connection.clientId, used + params.allowance);
    try {
      const running = await world.startRun(params.destination);
      await world.finishRun(running, { quota: true });
    } finally {
      await world.inspection.setDailyQuota(connection.clientId, plenty);
    }
  },
};
