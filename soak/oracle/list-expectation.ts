import type { ListMember } from '../sandbox-inspection';
import type { ExpectedContact } from './expected-members';

/** What a list must hold after a completed run, as the oracle works it out. */
export interface ListExpectation {
  /** Must be on the list, with these names (where known and checked). */
  readonly required: ReadonlyMap<string, ExpectedContact>;
  /**
   * May be on the list or not (e.g. the row a broken file damaged); if one is, with these names
   * (undefined: not checked).
   */
  readonly optional: ReadonlyMap<string, ExpectedContact | undefined>;
  /** May be on the list without being required: members from before (foreign), and with `keep`, past selections. */
  readonly allowed: ReadonlySet<string>;
  /** Required contacts that may be missing for a reason the oracle knows (a list trimmed outside). */
  readonly knownGaps: ReadonlySet<string>;
  /** Whether to check a required contact's names (not when another run may have written others). */
  readonly checkNames: (emailKey: string) => boolean;
}

/** How a list differs from its expectation. */
export interface ListDifference {
  readonly missing: string[];
  readonly extra: string[];
  readonly wrongNames: { email: string; expected: string; actual: string }[];
  /** Missing contacts the expectation excuses (knownGaps). */
  readonly knownGaps: string[];
}

const show = (first: string | undefined | null, last: string | undefined | null) =>
  `${first ?? '(none)'} / ${last ?? '(none)'}`;

/** Compares a list's members with an expectation: 0 missing, 0 extra, names right. */
export function compareList(members: readonly ListMember[], expectation: ListExpectation): ListDifference {
  const byKey = new Map(members.map((member) => [member.email.toLowerCase(), member]));
  const missing: string[] = [];
  const knownGaps: string[] = [];
  const wrongNames: ListDifference['wrongNames'] = [];
  const checked: [string, ExpectedContact | undefined, boolean][] = [
    ...[...expectation.required].map(([emailKey, contact]): [string, ExpectedContact, boolean] => [
      emailKey,
      contact,
      true,
    ]),
    ...[...expectation.optional].map(
      ([emailKey, contact]): [string, ExpectedContact | undefined, boolean] => [emailKey, contact, false],
    ),
  ];
  for (const [emailKey, contact, required] of checked) {
    const member = byKey.get(emailKey);
    if (!member) {
      if (required) (expectation.knownGaps.has(emailKey) ? knownGaps : missing).push(emailKey);
      continue;
    }
    if (contact === undefined || !expectation.checkNames(emailKey)) continue;
    const firstWrong = contact.firstName !== undefined && member.first_name !== contact.firstName;
    const lastWrong = contact.lastName !== undefined && member.last_name !== contact.lastName;
    if (firstWrong || lastWrong) {
      wrongNames.push({
        email: emailKey,
        expected: show(contact.firstName, contact.lastName),
        actual: show(member.first_name, member.last_name),
      });
    }
  }
  const extra = [...byKey.keys()].filter(
    (emailKey) =>
      !expectation.required.has(emailKey) &&
      !expectation.optional.has(emailKey) &&
      !expectation.allowed.has(emailKey),
  );
  return { missing: missing.sort(), extra: extra.sort(), knownGaps: knownGaps.sort(), wrongNames };
}

/** Members that break the account-wide rules whatever the run: unsubscribed ones, U+FFFD in a field. */
export function accountRuleBreaks(members: readonly ListMember[]): {
  unsubscribed: string[];
  replacement: string[];
} {
  return {
    unsubscribed: members.filter((member) => member.unsubscribed).map((member) => member.email.toLowerCase()),
    replacement: members
      .filter((member) =>
        [member.email, member.first_name, member.last_name].some((field) => field?.includes('\uFFFD')),
      )
      .map((member) => member.email.toLowerCase()),
  };
}
