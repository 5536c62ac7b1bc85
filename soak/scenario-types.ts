/** The JSON-able values a step's parameters are made of (a scenario prints and replays them). */
export type StepValue = string | number | boolean | readonly string[];

/** A step's parameters, drawn when the scenario is generated. */
export interface StepParams {
  readonly [name: string]: StepValue;
}

/** One step of a scenario: a kind from the registry, its parameters, and a seed for what it draws while it runs. */
export interface ScenarioStep {
  readonly kind: string;
  readonly seed: number;
  readonly params: StepParams;
}

/** A Constant Contact connection of the scenario: its own OAuth client (API key) in the sandbox. */
export interface ConnectionPlan {
  readonly name: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
  /** The environment variables its secrets are read from. */
  readonly secretEnv: string;
  readonly refreshTokenEnv: string;
}

/** An export destination's applied spec (the parts the campaign varies). */
export interface DestinationSpec {
  readonly name: string;
  readonly connection: string;
  readonly listId: string;
  readonly segments: readonly string[];
  /** FirstName and LastName mapped. */
  readonly names: boolean;
  readonly removal: 'keep' | 'remove-from-list';
  readonly maxRemovalPercent: number;
}

/** Everything a scenario is, drawn from its seed alone. */
export interface Scenario {
  readonly campaignSeed: number;
  readonly index: number;
  readonly seed: number;
  readonly profiles: number;
  /** Every API key's per-second limit, in the sandbox and in the connections. */
  readonly requestsPerSecond: number;
  readonly connections: readonly ConnectionPlan[];
  readonly destinations: readonly DestinationSpec[];
  /** Two `apply` processes at once on the fresh state, instead of one. */
  readonly concurrentFirstApply: boolean;
  readonly steps: readonly ScenarioStep[];
}
