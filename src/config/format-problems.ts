import { relative } from 'node:path';
import { plural } from '../text';
import type { Problem } from './problem';

/** A problem's place as `file:line:col` (or just the file), relative to `cwd`. */
export function problemPlace(problem: Problem, cwd: string): string {
  const file = problem.file ? relative(cwd, problem.file) || '.' : '<arguments>';
  return problem.line === undefined ? file : `${file}:${problem.line}:${problem.column ?? 1}`;
}

/** `file:line:col: Kind/name: message` and, indented below it, `hint: ...`. */
export function formatProblemText(problem: Problem, cwd: string): string {
  const parts = [problemPlace(problem, cwd)];
  if (problem.severity === 'warning') parts.push('warning');
  if (problem.resource) parts.push(problem.resource);
  parts.push(problem.message);
  const line = parts.join(': ');
  return problem.hint ? `${line}\n  hint: ${problem.hint}` : line;
}

/** The problem as a JSON object with a path relative to `cwd`. */
export function problemJson(problem: Problem, cwd: string): Record<string, unknown> {
  return {
    code: problem.code,
    severity: problem.severity,
    message: problem.message,
    ...(problem.hint ? { hint: problem.hint } : {}),
    file: problem.file ? relative(cwd, problem.file) || '.' : null,
    line: problem.line ?? null,
    column: problem.column ?? null,
    resource: problem.resource ?? null,
    path: problem.path ?? null,
  };
}

export function formatProblemMarkdown(problem: Problem, cwd: string): string {
  const icon = problem.severity === 'error' ? '❌' : '⚠️';
  const hint = problem.hint ? ` — _${problem.hint}_` : '';
  return `- ${icon} \`${problemPlace(problem, cwd)}\` ${problem.resource ? `**${problem.resource}**: ` : ''}${problem.message} (\`${problem.code}\`)${hint}`;
}

export function summarizeProblems(problems: readonly Problem[]): string {
  const errors = problems.filter((problem) => problem.severity === 'error').length;
  const warnings = problems.length - errors;
  return `${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
}
