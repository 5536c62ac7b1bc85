import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { RowIssueLine } from './run-store';

/** One issue as a chunk stores it: its columns in CSV order. */
type StoredLine = [key: string, field: string, reason: string, where: string, severity: string, code: string];

/** The most issues one stored chunk holds: an append of more is several chunks. */
export const rowIssuesPerChunk = 5000;

/** A stored chunk of a run's row issues: its first issue's place in the run (1-based) and its bytes. */
export interface RowIssueChunk {
  readonly firstSeq: number;
  readonly issues: number;
  readonly lines: Buffer;
}

/**
 * How every run store keeps row issues: chunks of up to {@link rowIssuesPerChunk}, each the JSON of
 * its lines deflated at level 1 (their text is alike from row to row: a twelfth of the plain size),
 * so an append is a few rows whatever its size. `firstSeq` is the place of `issues[0]` in the run.
 */
export function encodeRowIssueChunks(issues: readonly RowIssueLine[], firstSeq: number): RowIssueChunk[] {
  const chunks: RowIssueChunk[] = [];
  for (let start = 0; start < issues.length; start += rowIssuesPerChunk) {
    const chunk = issues.slice(start, start + rowIssuesPerChunk);
    const lines = chunk.map(
      (issue): StoredLine => [issue.key, issue.field, issue.reason, issue.where, issue.severity, issue.code],
    );
    chunks.push({
      firstSeq: firstSeq + start,
      issues: chunk.length,
      lines: deflateRawSync(JSON.stringify(lines), { level: 1 }),
    });
  }
  return chunks;
}

/** The lines of one chunk written by {@link encodeRowIssueChunks}, in order. */
export function decodeRowIssueChunk(lines: Buffer): RowIssueLine[] {
  const stored = JSON.parse(inflateRawSync(lines).toString('utf8')) as StoredLine[];
  return stored.map(([key, field, reason, where, severity, code]) => ({
    key,
    field,
    reason,
    where,
    severity: severity as RowIssueLine['severity'],
    code,
  }));
}
