import type { ExportContact } from './map-contact';
import type { RowIssue } from './row-issue';
import { formatRowLocation } from './row-location';

/** The fields that decide between two contacts with the same email key. */
export type DedupeCandidate = Pick<ExportContact, 'key' | 'email' | 'firstName' | 'lastName'>;

/**
 * The `duplicate-email` warning for a contact that is not exported because `kept` has the same
 * email key (the engine dedupes in SQL: the smallest key by code point wins).
 */
export function duplicateEmailIssue(dropped: ExportContact, kept: DedupeCandidate): RowIssue {
  return {
    severity: 'warning',
    code: 'duplicate-email',
    message: `${formatRowLocation(dropped.where)}: ${dropped.key} has the same email as ${kept.key} (${dropped.email}); only ${kept.key} is exported`,
    where: dropped.where,
    key: dropped.key,
    value: dropped.email,
    keptKey: kept.key,
  };
}
