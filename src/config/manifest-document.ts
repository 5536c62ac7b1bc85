import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import { plural } from '../text';
import type { Problem, SourcePosition } from './problem';

/** A path into a document: object keys and array indexes. */
export type FieldPath = readonly (string | number)[];

/**
 * One YAML document of a manifest file, as plain data plus a way back to source positions.
 */
export interface ManifestDocument {
  /** Absolute path of the file. */
  readonly file: string;
  /** 0-based index of the document in its file. */
  readonly index: number;
  /** The document as plain JavaScript values. */
  readonly data: unknown;
  /**
   * The position of the value at `path` (or of its key, with `target: 'key'`). When the path does not
   * exist, the position of the nearest existing ancestor, so a missing field points at its parent.
   */
  locate(path: FieldPath, target?: 'key' | 'value'): SourcePosition;
}

interface ParsedFile {
  readonly documents: ManifestDocument[];
  readonly problems: Problem[];
}

/**
 * Parses every YAML document of one file (YAML 1.2 core schema: `yes` is a string, not a boolean;
 * duplicate keys are errors). Documents with syntax errors become `yaml-syntax` problems and are
 * left out; the file's other documents are still returned. Empty documents are skipped. Tabs that
 * indent lines are one problem per file (at the first), however many lines they indent.
 */
export function parseManifestFile(file: string, text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const position = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  // parseAllDocuments returns an EmptyStream (no documents) for an empty file.
  const all = Array.isArray(parsed) ? parsed : [];
  const documents: ManifestDocument[] = [];
  const problems: Problem[] = [];

  // yaml reports a tab on every line it indents: one problem for the file says it, with the count.
  let tabs: { problem: Problem; lines: number } | undefined;
  all.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        const at = error.linePos?.[0];
        const where = at ? { line: at.line, column: at.col } : {};
        if (error.code === 'TAB_AS_INDENT') {
          if (tabs) {
            tabs.lines += 1;
            continue;
          }
          tabs = {
            lines: 1,
            problem: {
              code: 'yaml-syntax',
              severity: 'error',
              message: 'YAML: a tab indents this line; YAML indents with spaces only',
              hint: 'replace the tabs that indent lines with spaces (two per level; most editors convert them); the documents with tabs are skipped until then',
              file,
              ...where,
            },
          };
          problems.push(tabs.problem);
          continue;
        }
        problems.push({
          code: 'yaml-syntax',
          severity: 'error',
          message: `YAML: ${firstLine(error.message)}`,
          hint: 'fix the YAML syntax; the document is skipped until it parses',
          file,
          ...where,
        });
      }
      return;
    }
    if (doc.contents === null) return;
    const contents = doc.contents as Node;
    documents.push({
      file,
      index,
      data: doc.toJS({ maxAliasCount: 100 }),
      locate(path, target = 'value') {
        let node: unknown = contents;
        let at = position(contents.range?.[0] ?? 0);
        for (const [depth, segment] of path.entries()) {
          const last = depth === path.length - 1;
          if (isMap(node)) {
            const pair = node.items.find(
              (item) => isPair(item) && isScalar(item.key) && item.key.value === segment,
            );
            if (!pair) return at;
            const keyNode = pair.key as Node;
            const keyAt = position(keyNode.range?.[0] ?? 0);
            if (last && target === 'key') return keyAt;
            const valueNode = pair.value as Node | null;
            // A key with no value (`spec:`) has no range of its own: point at the key.
            at = valueNode?.range ? position(valueNode.range[0]) : keyAt;
            node = valueNode;
          } else if (isSeq(node) && typeof segment === 'number') {
            const item = node.items[segment] as Node | undefined;
            if (!item?.range) return at;
            at = position(item.range[0]);
            node = item;
          } else {
            return at;
          }
        }
        return at;
      },
    });
  });
  if (tabs && tabs.lines > 1) {
    const others = tabs.lines - 1;
    const index = problems.indexOf(tabs.problem);
    problems[index] = {
      ...tabs.problem,
      message: `YAML: a tab indents this line and ${plural(others, 'more line')} of the file; YAML indents with spaces only`,
    };
  }
  return { documents, problems };
}

/**
 * Where a problem at `path` is: the document's file and the position of the value (or key), or
 * nothing when there is no document (a manifest built in code, e.g. a Pulumi resource's inputs).
 */
export function locationIn(
  document: ManifestDocument | undefined,
  path: FieldPath,
  target: 'key' | 'value' = 'value',
): { file?: string; line?: number; column?: number } {
  if (!document) return {};
  const at = document.locate(path, target);
  return { file: document.file, line: at.line, column: at.column };
}

/** yaml's first line, without its own "at line N, column M:" (we print the position ourselves). */
function firstLine(message: string): string {
  const line = message.split('\n')[0]?.trim() ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '');
}
