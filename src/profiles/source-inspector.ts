import type { ProfileSourceSpec } from '../config';
import type { SourceInspector } from '../resources/remote-services';
import { checkSourceReadable } from './check-source-readable';

/**
 * The resource handlers' view of `checkSourceReadable`: the error problems as sentences (warnings,
 * such as a jsonl field judged by its first object only, do not block an apply). Stored specs have
 * absolute paths, so the base folder does not matter.
 */
export const profileSourceInspector: SourceInspector = {
  async problems(spec: ProfileSourceSpec, requiredFields: readonly string[]): Promise<string[]> {
    const problems = await checkSourceReadable(spec, '/', requiredFields);
    return problems
      .filter((problem) => problem.severity === 'error')
      .map((problem) => (problem.hint ? `${problem.message} (${problem.hint})` : problem.message));
  },
};
