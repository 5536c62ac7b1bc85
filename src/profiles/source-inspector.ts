import type { ProfileSourceSpec } from '../config';
import type { SourceInspector } from '../resources/remote-services';
import { canonicalJson } from '../state/spec-hash';
import { checkSourceReadable } from './check-source-readable';

/**
 * The resource handlers' view of `checkSourceReadable`: the error problems as sentences (warnings,
 * such as a jsonl field judged by its first object only, do not block an apply). Stored specs have
 * absolute paths, so the base folder does not matter.
 *
 * Make one per command (plan, apply, a reconcile of watch mode): it remembers each answer, because
 * a thousand destinations usually share a source or two and each check reads files (measured with
 * `npm run bench plan`: 15 s of a 1,000-destination plan went to checking one source 1,000 times).
 */
export function createSourceInspector(): SourceInspector {
  const answers = new Map<string, Promise<string[]>>();
  return {
    problems(spec: ProfileSourceSpec, requiredFields: readonly string[]): Promise<string[]> {
      const key = canonicalJson({ spec, fields: [...new Set(requiredFields)].sort() });
      let answer = answers.get(key);
      if (!answer) {
        answer = checkSourceReadable(spec, '/', requiredFields).then((problems) =>
          problems
            .filter((problem) => problem.severity === 'error')
            .map((problem) => (problem.hint ? `${problem.message} (${problem.hint})` : problem.message)),
        );
        answers.set(key, answer);
      }
      return answer;
    },
  };
}
