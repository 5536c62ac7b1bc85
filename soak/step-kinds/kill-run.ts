import type { FaultRates } from '../sandbox-inspection';
import type { SoakWorld } from '../soak-world';
import { pickDestination, type StepKind } from '../step-kind';

/**
 * Where a run is killed: after a delay drawn from the seed, or when the run reaches a phase, seen
 * in the state's checkpoint tables or in the sandbox's held answers.
 */
export const killPhases = [
  'delay',
  'planning',
  'sending',
  'answer-in-air',
  'polling',
  'removing',
  'removal-in-air',
  'token-in-air',
] as const;
export type KillPhase = (typeof killPhases)[number];

interface KillParams {
  readonly [name: string]: string | number | boolean;
  readonly destination: string;
  readonly phase: KillPhase;
  /** For `delay`: ms after the start. */
  readonly delayMs: number;
  readonly full: boolean;
}

const importRoute = 'POST /v3/activities/contacts_json_import';
const removalRoute = 'POST /v3/activities/remove_list_memberships';
/** Long enough to see the held answer and kill; short enough that nothing waits on it for long. */
const holdMs = 4_000;

/** Faults a phase needs so that the run stops there long enough to be caught in it. */
function faultsFor(phase: KillPhase, seed: number): FaultRates | undefined {
  switch (phase) {
    case 'answer-in-air':
      return { slow: 1, slowMs: holdMs, paths: ['/activities/contacts_json_import'], perRoute: true, seed };
    case 'removal-in-air':
      return {
        slow: 1,
        slowMs: holdMs,
        paths: ['/activities/remove_list_memberships'],
        perRoute: true,
        seed,
      };
    case 'token-in-air':
      return { tokenSlow: 1, slowMs: holdMs, perRoute: true, seed };
    default:
      return undefined;
  }
}

/** Whether the run of `destination` is in `phase` now. */
async function inPhase(world: SoakWorld, destination: string, phase: KillPhase): Promise<boolean> {
  switch (phase) {
    case 'delay':
      return false;
    case 'planning':
      return world.probe.checkpoint(destination)?.phase === 'planning';
    case 'sending':
      return world.probe.importBatchStates(destination).includes('sending');
    case 'polling':
      return world.probe.importBatchStates(destination).includes('submitted');
    case 'removing':
      return world.probe.checkpoint(destination)?.phase === 'removing';
    case 'answer-in-air':
      return (await world.inspection.held()).some((held) => held.route === importRoute);
    case 'removal-in-air':
      return (await world.inspection.held()).some((held) => held.route === removalRoute);
    case 'token-in-air':
      return (await world.inspection.held()).some((held) => held.route === 'token');
  }
}

/**
 * `kill -9` of a run at a drawn moment. If the run ends before it gets there, it is judged like any
 * run. The kill itself is judged by what follows: the next completed run must leave the list right.
 */
export const killRun: StepKind<KillParams> = {
  name: 'kill',
  weight: 4,
  applies: () => true,
  draw(draft, random) {
    const removing = [...draft.specs.values()].some((spec) => spec.removal === 'remove-from-list');
    const phase = random.weighted<KillPhase>([
      { weight: 2, value: 'delay' },
      { weight: 1.5, value: 'planning' },
      { weight: 1.5, value: 'sending' },
      { weight: 2, value: 'answer-in-air' },
      { weight: 1.5, value: 'polling' },
      { weight: removing ? 1 : 0, value: 'removing' },
      { weight: removing ? 1 : 0, value: 'removal-in-air' },
      { weight: 1, value: 'token-in-air' },
    ]);
    const removal = phase === 'removing' || phase === 'removal-in-air';
    const destination = removal
      ? pickDestination(draft, random, (spec) => spec.removal === 'remove-from-list')
      : pickDestination(draft, random);
    if (removal) {
      // Something to remove: the destination has run, then profiles leave the source.
      if (!draft.ran.has(destination))
        draft.steps.push({
          kind: 'run',
          seed: random.seed31(),
          params: { target: destination, full: false },
        });
      const removals = Math.max(1, Math.floor(draft.scenario.profiles * 0.04));
      draft.steps.push({
        kind: 'edit-source',
        seed: random.seed31(),
        params: { adds: 0, removals, renames: 0, moves: 0 },
      });
    }
    draft.ran.add(destination);
    return { destination, phase, delayMs: random.int(150, 4_000), full: random.chance(0.15) };
  },
  describe: (params) =>
    `kill -9 a run of ${params.destination}${params.full ? ' --full' : ''} ${params.phase === 'delay' ? `after ${params.delayMs} ms` : `while ${params.phase}`}`,
  async run(world, params, random) {
    const faults = faultsFor(params.phase, random.seed31());
    if (params.phase === 'token-in-air') await world.inspection.expireTokens();
    if (faults) await world.inspection.setFaults(faults);
    try {
      const running = await world.startRun(params.destination, { full: params.full });
      const started = Date.now();
      let killed = false;
      while (!running.process.exited) {
        const due = params.phase === 'delay' && Date.now() - started >= params.delayMs;
        if (due || (await inPhase(world, params.destination, params.phase))) {
          running.process.kill();
          killed = true;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const result = await running.process.result;
      killed &&= result.signal === 'SIGKILL';
      if (killed)
        world.counters.killsByPhase[params.phase] = (world.counters.killsByPhase[params.phase] ?? 0) + 1;
      // Killed while Constant Contact's answer to a refresh was held: the token was rotated and the
      // new one never arrived. No client can keep it (README, "Rotated refresh tokens"): the next
      // use of the connection must fail reauthorization-required, and re-authorising is the way on.
      if (killed && params.phase === 'token-in-air') world.expectTokenLoss(params.destination);
      await world.finishRun(running, {}, killed);
    } finally {
      if (faults) await world.inspection.setFaults(world.faults);
    }
  },
};
