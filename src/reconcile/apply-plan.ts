import { ExportctlError } from '../errors';
import {
  failureReason,
  type HandlerContext,
  isCredentialRejection,
  recordObservation,
  resourceHandlers,
  stalledConditions,
} from '../resources';
import type { PlanAction } from './plan';
import { dependenciesOf, type Observation, type PlanStep } from './plan-steps';

export interface StepResult {
  readonly id: string;
  readonly action: PlanAction;
  readonly outcome: 'done' | 'failed' | 'skipped';
  /** Why it failed or was skipped. */
  readonly message?: string;
  readonly code?: string;
  readonly durationMs: number;
}

export interface ApplyProgress {
  /** Called before a step starts and after it ends; for the CLI's progress lines. */
  onStep?(result: StepResult | { id: string; action: PlanAction; outcome: 'started' }): void;
  /**
   * Awaited before each step; when it rejects, the apply stops there and rejects with its error
   * (what was applied before stays, as after any failure). The CLI and watch check that they still
   * hold the control-plane lock: on a PostgreSQL state a server restart ends the lock's session,
   * and a process that could not take it again must not go on writing beside the one that did.
   */
  beforeStep?(): Promise<void>;
}

/**
 * Executes a plan's steps in order. A failing step is recorded and the apply goes on with the
 * steps that do not depend on it (a destination whose connection or source failed is skipped), so
 * what succeeded is in the state and a second apply converges. A step refused because Constant
 * Contact rejected its connection's credentials also marks that connection Stalled
 * (`CredentialsRejected`). Conditions observed by the plan's drift check are recorded for the
 * resources that no step touched.
 */
export async function applyPlan(
  steps: readonly PlanStep[],
  observations: readonly Observation[],
  context: HandlerContext,
  progress: ApplyProgress = {},
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  const failed = new Set<string>();
  for (const step of steps) {
    const { id, action, kind } = step.change;
    const blockedBy = dependenciesOf(kind, step.desired?.manifest.spec).find((dependency) =>
      failed.has(`${dependency.kind}/${dependency.name}`),
    );
    if (blockedBy && action !== 'delete') {
      failed.add(id);
      const result: StepResult = {
        id,
        action,
        outcome: 'skipped',
        message: `skipped: ${blockedBy.kind}/${blockedBy.name} failed`,
        durationMs: 0,
      };
      results.push(result);
      progress.onStep?.(result);
      continue;
    }
    await progress.beforeStep?.();
    progress.onStep?.({ id, action, outcome: 'started' });
    const started = performance.now();
    try {
      await runStep(step, context);
      const result: StepResult = { id, action, outcome: 'done', durationMs: performance.now() - started };
      results.push(result);
      progress.onStep?.(result);
    } catch (error) {
      failed.add(id);
      const message = error instanceof Error ? error.message : String(error);
      const code = error instanceof ExportctlError ? error.code : 'unexpected';
      const rejected = isCredentialRejection(error);
      const reason = rejected ? failureReason(error) : reasonOf(code);
      if (step.applied && action !== 'delete') {
        // The resource stays as it was applied; say why it is not what the manifest declares.
        await context.store.resources
          .setConditions(kind, step.change.name, [
            ...stalledConditions(reason, message),
            { type: 'Reconciling', status: false, reason: 'ApplyFailed', message },
          ])
          .catch(() => undefined);
      }
      const connection = dependenciesOf(kind, step.desired?.manifest.spec ?? step.applied?.spec).find(
        (dependency) => dependency.kind === 'Connection',
      );
      if (rejected && connection && action !== 'delete') {
        await recordObservation(context.store, 'Connection', connection.name, {
          ready: false,
          reason,
          message: `${step.change.id} could not be applied: ${message}`,
        });
      }
      const result: StepResult = {
        id,
        action,
        outcome: 'failed',
        message,
        code,
        durationMs: performance.now() - started,
      };
      results.push(result);
      progress.onStep?.(result);
    }
  }
  const touched = new Set(steps.map((step) => step.change.id));
  for (const observation of observations) {
    if (touched.has(`${observation.kind}/${observation.name}`)) continue;
    await recordObservation(context.store, observation.kind, observation.name, observation.status);
  }
  return results;
}

async function runStep(step: PlanStep, context: HandlerContext): Promise<void> {
  const handler = resourceHandlers[step.change.kind];
  switch (step.change.action) {
    case 'create':
      if (!step.desired) throw new Error(`${step.change.id}: create without a declared resource`);
      await handler.create(step.desired, context);
      return;
    case 'update':
      if (!step.desired || !step.applied) throw new Error(`${step.change.id}: update without both sides`);
      await handler.update(step.applied, step.desired, context);
      return;
    case 'replace':
      if (!step.desired || !step.applied) throw new Error(`${step.change.id}: replace without both sides`);
      if (handler.replace) {
        await handler.replace(step.applied, step.desired, context);
      } else {
        await handler.delete(step.applied, context);
        await handler.create(step.desired, context);
      }
      return;
    case 'delete':
      if (!step.applied) throw new Error(`${step.change.id}: delete without an applied resource`);
      await handler.delete(step.applied, context);
      return;
  }
}

function reasonOf(code: string): string {
  return code
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}
