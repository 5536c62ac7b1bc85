import type { StepKind } from '../step-kind';

interface SettleParams {
  readonly [name: string]: string;
  readonly destination: string;
}

/**
 * The end of every scenario, for each destination: with faults and limits back to normal, runs
 * until a run planned now succeeds (an unfinished run is resumed first); then once more, which must
 * send nothing; then, if a trim or a stale plan left something unchecked, a `--full` run, which must
 * make the list exactly right.
 */
export const settle: StepKind<SettleParams> = {
  name: 'settle',
  weight: 0,
  applies: () => false,
  draw: () => {
    throw new Error('settle steps are appended by the generator, not drawn');
  },
  describe: (params) =>
    `settle ${params.destination}: runs until one planned now succeeds, a no-change run, --full if needed`,
  async run(world, params) {
    if (Object.keys(world.faults).length > 0) await world.setFaults({});
    let settled = false;
    for (let attempt = 1; attempt <= 4 && !settled; attempt++) {
      const report = await world.finishRun(await world.startRun(params.destination));
      const outcome = report.outcomes?.[0];
      settled = outcome?.status === 'succeeded' && !outcome.resumed;
    }
    if (!settled) return;
    const again = await world.finishRun(await world.startRun(params.destination));
    const outcome = again.outcomes?.[0];
    if (outcome?.status === 'succeeded' && (outcome.writes ?? 0) > 0) {
      world.anomaly(
        'not-idempotent',
        `a run of ${params.destination} right after one that succeeded made ${outcome.writes} write request(s); nothing had changed`,
      );
    }
    if (world.trimmedOf(params.destination) > 0 || world.namesAmbiguous)
      await world.finishRun(await world.startRun(params.destination, { full: true }));
  },
};
