import { createHash } from 'node:crypto';

/** The namespace of exportctl's run jobs (a random UUID, fixed once: changing it renames every job). */
const NAMESPACE = Buffer.from('6f1d3c2a8b7e4f5d9a0c1b2e3d4f5a6b', 'hex');

/**
 * A name-based UUID (RFC 9562 version 5: SHA-1 of a namespace and the name) of a job's key, so
 * that every worker that asks for the same firing asks for the same job id and the queue keeps one.
 */
export function jobIdOf(key: string): string {
  const digest = createHash('sha1').update(NAMESPACE).update(key, 'utf8').digest();
  digest[6] = ((digest[6] ?? 0) & 0x0f) | 0x50;
  digest[8] = ((digest[8] ?? 0) & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
