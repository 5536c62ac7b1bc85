import type { ActivityCounters, ImportContact, ListMember } from '../constant-contact';

/** What the list shows of a batch whose activity was adopted rather than answered. */
export interface AdoptedImportEvidence {
  /** The batch's contacts the list holds with the names the batch sent. */
  readonly held: number;
  /** The batch's contacts not on the list. */
  readonly missing: number;
  /** The batch's contacts on the list with other names than the batch sent. */
  readonly misnamed: number;
  /** The list holds the batch: it may be confirmed. */
  readonly holds: boolean;
}

/**
 * Judges whether the list holds an import batch whose answer was lost and whose activity was found
 * only by its size and time (Constant Contact's activities do not say which list they imported
 * into, so a lookalike of another run's, or of another tool's, cannot be told apart by itself).
 *
 * The list holds the batch when every contact of it that is on the list carries the names the batch
 * sent, and no more are missing than the adopted activity says it could not add (unsubscribed
 * contacts, `cannot_add_to_list_count`, and refused ones, `error_count`). Anything else means the
 * activity was not this batch's (or not all of it took): the batch must be sent again, which is
 * harmless (an import is an upsert by email), where confirming it would leave contacts off the list
 * while the snapshot says they are on it.
 */
export function judgeAdoptedImport(
  batch: readonly ImportContact[],
  members: readonly ListMember[],
  counters: ActivityCounters,
): AdoptedImportEvidence {
  const onList = new Map<string, ListMember>();
  for (const member of members) onList.set(member.email.toLowerCase(), member);
  let held = 0;
  let missing = 0;
  let misnamed = 0;
  for (const contact of batch) {
    const member = onList.get(contact.email.toLowerCase());
    if (member === undefined) missing++;
    else if (!sameName(contact.first_name, member.firstName) || !sameName(contact.last_name, member.lastName))
      misnamed++;
    else held++;
  }
  const couldNotAdd = counters.cannot_add_to_list_count + counters.error_count;
  return { held, missing, misnamed, holds: misnamed === 0 && missing <= couldNotAdd };
}

/** A name the batch did not send is whatever the list has; one it sent must be there as sent. */
function sameName(sent: string | undefined, held: string | undefined): boolean {
  return sent === undefined || sent === held;
}
