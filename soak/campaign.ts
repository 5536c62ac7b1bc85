import type { CampaignOptions } from './campaign-options';
import { describeScenario, generateScenario } from './generate-scenario';
import { runScenario, type ScenarioResult } from './run-scenario';
import type { Anomaly } from './soak-world';
import type { StepKind } from './step-kind';
import { stepKinds } from './step-kinds';

/** What a campaign did. */
export interface CampaignSummary {
  readonly seed: number;
  readonly profiles: number;
  readonly scenarios: number;
  /** Scenarios asked for but not started: the time bound was reached. */
  readonly skipped: number;
  readonly steps: number;
  readonly runs: number;
  readonly kills: number;
  readonly killsByPhase: Readonly<Record<string, number>>;
  readonly stepsByKind: Readonly<Record<string, number>>;
  readonly faults: number;
  readonly knownGaps: number;
  readonly anomalies: readonly Anomaly[];
  readonly seconds: number;
  /** Scenarios with anomalies, and the command that replays each. */
  readonly failed: readonly { readonly result: ScenarioResult; readonly replay: string }[];
}

export interface CampaignRun extends CampaignOptions {
  /** The package root (bin/, dist/). */
  readonly root: string;
  readonly log: (line: string) => void;
  /** Most time one exportctl process may take before it counts as hung; default 120 s. */
  readonly processTimeoutMs?: number;
}

/** The step kinds with `+name` turned on and `-name` turned off. */
export function chooseKinds(changes: readonly string[], kinds: readonly StepKind[] = stepKinds): StepKind[] {
  const chosen = kinds.map((kind) => ({ ...kind }));
  for (const change of changes) {
    const name = change.replace(/^[+-]/, '');
    const kind = chosen.find((candidate) => candidate.name === name);
    if (!kind) throw new Error(`--kinds: no step kind ${name}; have ${kinds.map((k) => k.name).join(', ')}`);
    Object.assign(kind, { off: change.startsWith('-') });
  }
  return chosen;
}

/** The command that runs scenario `index` of the campaign alone, as it ran. */
export function replayCommand(options: CampaignOptions, index: number): string {
  const extra = [
    options.profiles === 2_000 ? '' : ` --profiles ${options.profiles}`,
    options.steps[0] === 4 && options.steps[1] === 8
      ? ''
      : ` --steps ${options.steps[0]}-${options.steps[1]}`,
    options.kinds.length === 0 ? '' : ` --kinds ${options.kinds.join(',')}`,
  ].join('');
  return `npm run soak -- --seed ${options.seed} --only ${index}${extra}`;
}

/**
 * Runs a campaign: scenario after scenario (or the one `only` names), each generated from the seed
 * and its number, until all ran or the time bound is reached. Every scenario with an anomaly is
 * printed whole, with its replay command.
 */
export async function runCampaign(options: CampaignRun): Promise<CampaignSummary> {
  const started = performance.now();
  const deadline = Date.now() + options.minutes * 60_000;
  const kinds = chooseKinds(options.kinds);
  const indices =
    options.only === undefined
      ? Array.from({ length: options.scenarios }, (_, index) => index)
      : [options.only];
  const results: ScenarioResult[] = [];
  const failed: { result: ScenarioResult; replay: string }[] = [];
  for (const index of indices) {
    if (Date.now() > deadline) break;
    const scenario = generateScenario({
      campaignSeed: options.seed,
      index,
      profiles: options.profiles,
      kinds,
      steps: options.steps,
    });
    const description = describeScenario(scenario, kinds);
    if (options.verbose) for (const line of description) options.log(line);
    const result = await runScenario(scenario, {
      root: options.root,
      kinds,
      keep: options.keep,
      processTimeoutMs: options.processTimeoutMs ?? 120_000,
      ...(options.verbose ? { log: options.log } : {}),
    });
    results.push(result);
    const c = result.counters;
    options.log(
      `scenario ${index}: ${c.steps} steps, ${c.runs} runs, ${c.kills} kills, ${c.faults} faults, ${result.anomalies.length} anomalies, ${result.seconds.toFixed(1)} s`,
    );
    if (result.anomalies.length > 0) {
      const replay = replayCommand(options, index);
      failed.push({ result, replay });
      if (!options.verbose) for (const line of description) options.log(line);
      for (const anomaly of result.anomalies)
        options.log(
          `  ANOMALY in step ${anomaly.step} (${anomaly.stepKind}): ${anomaly.kind}: ${anomaly.message}`,
        );
      options.log(`  replay: ${replay}`);
      if (result.folder) options.log(`  its files: ${result.folder}`);
    }
  }
  const sum = (pick: (result: ScenarioResult) => number) =>
    results.reduce((total, result) => total + pick(result), 0);
  const tally = (pick: (result: ScenarioResult) => Readonly<Record<string, number>>) => {
    const total: Record<string, number> = {};
    for (const result of results)
      for (const [name, count] of Object.entries(pick(result))) total[name] = (total[name] ?? 0) + count;
    return total;
  };
  const killsByPhase = tally((result) => result.counters.killsByPhase);
  const stepsByKind = tally((result) => result.counters.stepsByKind);
  return {
    seed: options.seed,
    profiles: options.profiles,
    scenarios: results.length,
    skipped: indices.length - results.length,
    steps: sum((result) => result.counters.steps),
    runs: sum((result) => result.counters.runs),
    kills: sum((result) => result.counters.kills),
    killsByPhase,
    stepsByKind,
    faults: sum((result) => result.counters.faults),
    knownGaps: sum((result) => result.counters.knownGaps),
    anomalies: results.flatMap((result) => result.anomalies),
    seconds: (performance.now() - started) / 1000,
    failed,
  };
}

/** The campaign's summary line. */
export function summaryLine(summary: CampaignSummary): string {
  return `soak: ${summary.scenarios} scenarios${summary.skipped > 0 ? ` (${summary.skipped} not started: time bound)` : ''}, ${summary.steps} steps, ${summary.runs} runs, ${summary.kills} kills, ${summary.faults} faults, ${summary.anomalies.length} anomalies, ${summary.knownGaps} known gaps, ${summary.seconds.toFixed(1)} s (seed ${summary.seed}, ${summary.profiles} profiles)`;
}

/** Steps by kind and kills by moment, for the lines above the summary. */
export function killsLine(summary: CampaignSummary): string {
  const list = (counts: Readonly<Record<string, number>>) => {
    const entries = Object.entries(counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, count]) => `${name} ${count}`);
    return entries.length === 0 ? 'none' : entries.join(', ');
  };
  return `steps by kind: ${list(summary.stepsByKind)}\nkills by moment: ${list(summary.killsByPhase)}`;
}
