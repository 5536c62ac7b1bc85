import { readFileSync } from 'node:fs';
import { errnoOf, findManifestFiles } from './find-manifest-files';
import { type ManifestDocument, parseManifestFile } from './manifest-document';
import type { Problem } from './problem';

export interface ReadDocuments {
  readonly files: string[];
  /** Files that could not be read, or hold a document whose YAML does not parse (it was left out). */
  readonly unparsedFiles: string[];
  readonly documents: ManifestDocument[];
  readonly problems: Problem[];
}

/**
 * Finds and parses the manifests under `paths`. Never throws for bad input: unreadable files and
 * YAML errors are problems, and every readable document is returned.
 */
export function readManifestDocuments(paths: readonly string[], cwd: string): ReadDocuments {
  const { files, problems } = findManifestFiles(paths, cwd);
  const documents: ManifestDocument[] = [];
  const unparsedFiles: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      problems.push({
        code: 'file-unreadable',
        severity: 'error',
        message: `cannot read the file (${errnoOf(error)})`,
        hint: 'check that the file exists and that you may read it (a symlink may point nowhere)',
        file,
      });
      unparsedFiles.push(file);
      continue;
    }
    const parsed = parseManifestFile(file, text);
    documents.push(...parsed.documents);
    problems.push(...parsed.problems);
    if (parsed.problems.some((problem) => problem.code === 'yaml-syntax')) unparsedFiles.push(file);
  }
  return { files, unparsedFiles, documents, problems };
}
