import { hash } from 'node:crypto';
import type { ExportContact } from './map-contact';

/**
 * A stable fingerprint of what is sent for a contact: its email key, first name and last name as
 * sent (absent and empty are told apart). 32 hex characters (the first 128 bits of SHA-256 over a
 * JSON encoding, so no two field splits collide). The engine stores it with each contact of a
 * confirmed snapshot; a contact whose fingerprint is unchanged need not be imported again. The
 * email's letter case is not part of it: Constant Contact matches addresses case-insensitively.
 */
export function contactFingerprint(
  contact: Pick<ExportContact, 'emailKey' | 'firstName' | 'lastName'>,
): string {
  const sent = JSON.stringify(['v1', contact.emailKey, contact.firstName ?? null, contact.lastName ?? null]);
  return hash('sha256', sent, 'hex').slice(0, 32);
}
