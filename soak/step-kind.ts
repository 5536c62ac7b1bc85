import type { DestinationSpec, Scenario, ScenarioStep, StepParams } from './scenario-types';
import type { SeededRandom } from './seeded-random';
import type { SoakWorld } from './soak-world';

/** What the generator knows while it draws a scenario's steps (no process runs yet). */
export interface ScenarioDraft {
  readonly scenario: Omit<Scenario, 'steps'>;
  /** The destinations' specs as the steps drawn so far leave them. */
  readonly specs: Map<string, DestinationSpec>;
  /** Destinations a step drawn so far runs. */
  readonly ran: Set<string>;
  readonly steps: ScenarioStep[];
}

/**
 * A kind of step: a plug-in of the campaign. The generator draws kinds by weight among those that
 * apply, and the kind draws its parameters (all randomness that decides *what* happens is drawn
 * here, so a seed gives the same steps); `run` does it to a world, with a PRNG of the step's own for
 * what it draws while running (which members to trim, which row to damage). New fault kinds
 * (PostgreSQL restarts, a second worker) are new kinds: a file in step-kinds/ and a line in its index.
 */
export interface StepKind<P extends StepParams = StepParams> {
  readonly name: string;
  /** How often it is drawn, relative to the others; 0: never drawn (appended by the generator). */
  readonly weight: number;
  /**
   * Off unless asked for (`--kinds +NAME`); such a kind says why in `note`. The default campaign
   * draws only kinds that are on.
   */
  readonly off?: boolean;
  readonly note?: string;
  applies(draft: ScenarioDraft): boolean;
  draw(draft: ScenarioDraft, random: SeededRandom): P;
  describe(params: P): string;
  run(world: SoakWorld, params: P, random: SeededRandom): Promise<void>;
}

/** A destination the draft can pick (its name), optionally filtered. */
export function pickDestination(
  draft: ScenarioDraft,
  random: SeededRandom,
  filter: (spec: DestinationSpec) => boolean = () => true,
): string {
  return random.pick([...draft.specs.values()].filter(filter)).name;
}
