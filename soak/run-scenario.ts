import type { Scenario } from './scenario-types';
import { SeededRandom } from './seeded-random';
import { type Anomaly, type ScenarioCounters, SoakWorld } from './soak-world';
import type { StepKind } from './step-kind';

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly anomalies: readonly Anomaly[];
  readonly counters: ScenarioCounters;
  readonly seconds: number;
  /** The scenario's folder, kept when something was found (or when asked). */
  readonly folder: string | undefined;
}

export interface RunScenarioOptions {
  readonly root: string;
  readonly kinds: readonly StepKind[];
  /** Keep the scenario's folder even when nothing was found. */
  readonly keep: boolean;
  readonly processTimeoutMs: number;
  readonly log?: (line: string) => void;
}

/**
 * Runs one scenario in a world of its own (fresh sandbox process, fresh state): the first apply, the
 * steps in order, then the end-of-scenario checks (the rate limit over the whole request log).
 */
export async function runScenario(scenario: Scenario, options: RunScenarioOptions): Promise<ScenarioResult> {
  const started = performance.now();
  let world: SoakWorld;
  try {
    world = await SoakWorld.create({
      root: options.root,
      scenario,
      processTimeoutMs: options.processTimeoutMs,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      scenario,
      anomalies: [{ scenario: scenario.index, step: 0, stepKind: 'setup', kind: 'campaign-error', message }],
      counters: { steps: 0, stepsByKind: {}, runs: 0, kills: 0, killsByPhase: {}, faults: 0, knownGaps: 0 },
      seconds: (performance.now() - started) / 1000,
      folder: undefined,
    };
  }
  try {
    await world.apply(scenario.concurrentFirstApply ? 2 : 1);
    if (world.anomalies.length > 0 && scenario.concurrentFirstApply) await world.apply();
    await world.checkInvariants();
    for (const [index, step] of scenario.steps.entries()) {
      world.step = index + 1;
      world.stepKind = step.kind;
      const kind = options.kinds.find((candidate) => candidate.name === step.kind);
      if (!kind) throw new Error(`no step kind ${step.kind}`);
      options.log?.(`  step ${index + 1}: ${kind.describe(step.params)}`);
      await kind.run(world, step.params, new SeededRandom(step.seed));
      world.counters.steps += 1;
      world.counters.stepsByKind[step.kind] = (world.counters.stepsByKind[step.kind] ?? 0) + 1;
    }
    world.stepKind = 'end';
    await world.finalChecks();
  } catch (error) {
    world.anomaly('campaign-error', error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  const keep = options.keep || world.anomalies.length > 0;
  await world.close(keep);
  return {
    scenario,
    anomalies: world.anomalies,
    counters: world.counters,
    seconds: (performance.now() - started) / 1000,
    folder: keep ? world.folder : undefined,
  };
}
