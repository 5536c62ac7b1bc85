import { hash } from 'node:crypto';
import type { ExportContact } from './map-contact';

/**
 * A stable fingerprint of what is sent for a contact: its email key, first name and last name as
 * sent (absent and empty are told apart), and every other mapped field by name with its value (a
 * field mapped without a value counts too, so mapping a new field changes every contact's
 * fingerprint, and each contact is sent once more with it). 32 hex characters (the first 128 bits of
 * SHA-256 over a JSON encoding, so no two field splits collide). The engine stores it with each
 * contact of a confirmed snapshot; a contact whose fingerprint is unchanged need not be imported
 * again. The email's letter case is not part of it: Constant Contact matches addresses
 * case-insensitively.
 *
 * A contact without other fields (`fields` absent) has the fingerprint it always had ('v1'), so a
 * destination that maps only email and names sends nothing more after an upgrade.
 */
export function contactFingerprint(
  contact: Pick<ExportContact, 'emailKey' | 'firstName' | 'lastName' | 'fields'>,
): string {
  const names = [contact.emailKey, contact.firstName ?? null, contact.lastName ?? null];
  const sent =
    contact.fields === undefined
      ? JSON.stringify(['v1', ...names])
      : JSON.stringify(['v2', ...names, contact.fields.map(([name, value]) => [name, value ?? null])]);
  return hash('sha256', sent, 'hex').slice(0, 32);
}
