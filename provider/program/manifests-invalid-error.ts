import type { Problem } from '../../src/config';
import { formatProblemText } from '../../src/config/format-problems';
import { ValidationError } from '../../src/errors';

/**
 * The manifests do not validate: the program stops before it declares any resource, with the
 * problems `exportctl validate` prints. Pulumi shows a run error's message without a stack trace.
 * Code `manifests-invalid`.
 */
export class ManifestsInvalidError extends ValidationError {
  /** Every problem found, errors and warnings, in file order. */
  readonly problems: readonly Problem[];
  /** Pulumi's brand for a `RunError` (an error in the input, not a bug): printed without a stack. */
  readonly __pulumiRunError = true;

  constructor(problems: readonly Problem[], cwd: string) {
    const errors = problems.filter((problem) => problem.severity === 'error');
    super(
      'manifests-invalid',
      `the manifests do not validate (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${problems
        .map((problem) => formatProblemText(problem, cwd))
        .join('\n')}`,
      {
        context: { errors: errors.length },
        hint: 'run exportctl validate on the same folder (with --as the identity in exportctl:actor) and fix what it reports',
      },
    );
    this.problems = problems;
  }
}
