import { segmentNames } from './profile-source';
import { listIdFrom } from './sandbox-seed';
import type { ConnectionPlan, DestinationSpec, Scenario } from './scenario-types';
import { mixSeed, SeededRandom } from './seeded-random';
import type { ScenarioDraft, StepKind } from './step-kind';

export interface GenerateOptions {
  readonly campaignSeed: number;
  /** The scenario's number in the campaign (0-based): `--only K` regenerates it alone. */
  readonly index: number;
  readonly profiles: number;
  /** The kinds steps are drawn from (the generator appends the `settle` steps itself). */
  readonly kinds: readonly StepKind[];
  /** How many steps to draw: between these, both included. */
  readonly steps?: readonly [number, number];
}

/** Scenario K's seed: from the campaign seed and K alone, so one scenario replays without the others. */
export function scenarioSeed(campaignSeed: number, index: number): number {
  return mixSeed(campaignSeed, `scenario-${index}`);
}

function connectionPlan(letter: string): ConnectionPlan {
  return {
    name: `cc-${letter}`,
    clientId: `soak-${letter}`,
    clientSecret: `secret-${letter}`,
    refreshToken: `refresh-${letter}`,
    secretEnv: `CC_SECRET_${letter.toUpperCase()}`,
    refreshTokenEnv: `CC_REFRESH_${letter.toUpperCase()}`,
  };
}

/**
 * Draws a scenario from its seed: its source size, the per-second limit, one or two connections,
 * one to three destinations (segments, names mapped or not, keep or remove-from-list, a removal
 * guard), and its steps, then a `settle` step per destination.
 */
export function generateScenario(options: GenerateOptions): Scenario {
  const seed = scenarioSeed(options.campaignSeed, options.index);
  const random = new SeededRandom(seed);
  const connections = random.chance(0.5) ? [connectionPlan('a'), connectionPlan('b')] : [connectionPlan('a')];
  const destinations: DestinationSpec[] = [];
  const count = random.int(1, 3);
  for (let number = 1; number <= count; number++) {
    // Now and then the same segments as another destination: imports of the same size, which an
    // unanswered import's lookup (same item count) must tell apart.
    const twin = destinations.length > 0 && random.chance(0.35) ? random.pick(destinations) : undefined;
    destinations.push({
      name: `d${number}`,
      connection: random.pick(connections).name,
      listId: listIdFrom(random),
      segments: twin ? twin.segments : random.sample(segmentNames, random.int(1, 2)).sort(),
      names: random.chance(0.75),
      removal: random.chance(0.5) ? 'remove-from-list' : 'keep',
      maxRemovalPercent: random.pick([100, 100, 50, 25]),
    });
  }
  const base = {
    campaignSeed: options.campaignSeed,
    index: options.index,
    seed,
    profiles: options.profiles,
    requestsPerSecond: random.pick([4, 8, 10]),
    connections,
    destinations,
    concurrentFirstApply: random.chance(0.15),
  };
  const draft: ScenarioDraft = {
    scenario: base,
    specs: new Map(destinations.map((destination) => [destination.name, destination])),
    ran: new Set(),
    steps: [],
  };
  const [least, most] = options.steps ?? [4, 8];
  const total = random.int(least, most);
  // Most scenarios run under faults from the start (a faults step may change them later).
  const faults = options.kinds.find((kind) => kind.name === 'faults' && !kind.off);
  if (faults && random.chance(0.6)) {
    const stepSeed = random.seed31();
    draft.steps.push({ kind: faults.name, seed: stepSeed, params: faults.draw(draft, random) });
  }
  while (draft.steps.length < total) {
    const eligible = options.kinds.filter((kind) => kind.weight > 0 && !kind.off && kind.applies(draft));
    const kind = random.weighted(eligible.map((value) => ({ weight: value.weight, value })));
    const stepSeed = random.seed31();
    const params = kind.draw(draft, random);
    draft.steps.push({ kind: kind.name, seed: stepSeed, params });
  }
  for (const destination of destinations)
    draft.steps.push({ kind: 'settle', seed: random.seed31(), params: { destination: destination.name } });
  return { ...base, steps: draft.steps };
}

/** The scenario as lines a person can read (and compare between two replays). */
export function describeScenario(scenario: Scenario, kinds: readonly StepKind[]): string[] {
  const lines = [
    `scenario ${scenario.index} (seed ${scenario.seed}): ${scenario.profiles} profiles, ${scenario.requestsPerSecond} requests/s, connections ${scenario.connections.map((c) => c.name).join(', ')}${scenario.concurrentFirstApply ? ', first apply twice at once' : ''}`,
  ];
  for (const destination of scenario.destinations) {
    lines.push(
      `  ${destination.name}: ${destination.connection}, list ${destination.listId}, segments [${destination.segments.join(', ')}], names ${destination.names ? 'mapped' : 'not mapped'}, ${destination.removal}, maxRemovalPercent ${destination.maxRemovalPercent}`,
    );
  }
  for (const [index, step] of scenario.steps.entries()) {
    const kind = kinds.find((candidate) => candidate.name === step.kind);
    lines.push(`  ${String(index + 1).padStart(2)}. ${kind ? kind.describe(step.params) : step.kind}`);
  }
  return lines;
}
