import type { StepKind } from '../step-kind';
import { applyChange } from './apply-change';
import { breakFile } from './break-file';
import { concurrentRuns } from './concurrent-runs';
import { editSource } from './edit-source';
import { killRun } from './kill-run';
import { quota } from './quota';
import { runExport } from './run-export';
import { sabotage } from './sabotage';
import { expireTokens, setFaults } from './set-faults';
import { settle } from './settle';
import { trimList } from './trim-list';

export { brokenFileVariants } from './break-file';
export { killPhases } from './kill-run';

/**
 * Every step kind, drawn by weight. A new fault kind (a PostgreSQL restart, a second worker) is a
 * new file here and a line in this list.
 */
export const stepKinds: readonly StepKind[] = [
  runExport,
  killRun,
  setFaults,
  expireTokens,
  editSource,
  breakFile,
  trimList,
  concurrentRuns,
  applyChange,
  quota,
  sabotage,
  settle,
];

/** The kind named `name`. */
export function stepKind(name: string): StepKind {
  const kind = stepKinds.find((candidate) => candidate.name === name);
  if (!kind) throw new Error(`no step kind ${name}; have ${stepKinds.map((k) => k.name).join(', ')}`);
  return kind;
}
