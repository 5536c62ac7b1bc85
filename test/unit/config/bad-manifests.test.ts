import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifests } from '../../../src/config';
import { badManifestCases, writeCase } from './bad-manifest-cases';

describe('invalid manifests: code and exact position of every error', () => {
  it('has at least 40 cases', () => {
    expect(badManifestCases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(badManifestCases.map((testCase) => [testCase.name, testCase] as const))('%s', (_name, testCase) => {
    const root = writeCase(testCase);
    const result = loadManifests(testCase.paths ?? ['.'], {
      cwd: root,
      actor: testCase.actor,
      ...(testCase.unchanged ? { unchanged: testCase.unchanged } : {}),
    });
    const errors = result.problems
      .filter((problem) => problem.severity === 'error')
      .map((problem) => [
        problem.code,
        problem.file ? relative(root, problem.file) : null,
        problem.line ?? null,
        problem.column ?? null,
      ]);
    expect(errors).toEqual(testCase.expect);
    for (const problem of result.problems) {
      expect(problem.message.length).toBeGreaterThan(10);
      if (testCase.mustNotPrint) {
        expect(JSON.stringify(problem)).not.toContain(testCase.mustNotPrint);
      }
    }
  });
});
