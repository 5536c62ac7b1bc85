import type { DedupeCandidate, ExportContact, RowIssue } from '../../src/profiles';
import { duplicateEmailIssue } from '../../src/profiles';

// A reference model of the engine's dedupe, in memory, for tests: the engine dedupes as it reads
// (src/engine/contact-index.ts), keeping per email the contact with the smallest key by code point
// (SQLite's BINARY collation). These functions state that rule in plain code, so tests can check the
// reader's output against it and the engine against them.

/**
 * Orders strings by Unicode code point. That is also the byte order of their UTF-8 forms, so it
 * agrees with SQLite's default BINARY collation on TEXT (`ORDER BY key`, `MIN(key)`): a dedupe
 * done in SQL picks the same winners. (`<` on JavaScript strings compares UTF-16 code units, which
 * puts U+E000–U+FFFF after astral characters and would not agree.)
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

// Surrogates (U+D800–DFFF, which encode U+10000 and up) must rank above U+E000–U+FFFF.
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/**
 * Of two contacts with the same email key, the one to export: **the smallest `key` by code point**
 * (`compareCodePoints`; in SQL: `ORDER BY key` under BINARY collation). The choice depends only on
 * the two contacts, never on which came first, so any order of the input picks the same winners.
 * Keys are unique after the read (`duplicate-key`); for equal keys the tie is broken by email, first
 * name, last name (absent first), so the function stays a total order; `a` if all are equal.
 */
export function preferredContact<C extends DedupeCandidate>(a: C, b: C): C {
  const order =
    compareCodePoints(a.key, b.key) ||
    compareCodePoints(a.email, b.email) ||
    compareOptional(a.firstName, b.firstName) ||
    compareOptional(a.lastName, b.lastName);
  return order <= 0 ? a : b;
}

function compareOptional(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return compareCodePoints(a, b);
}

/**
 * Dedupes contacts by email key in memory: one contact per email across all selected segments, the
 * winner chosen by `preferredContact`. For sources that fit in memory (tests, small exports); at
 * 1,000,000 contacts the engine does the same in SQLite.
 */
export class ContactDeduper {
  private readonly winners = new Map<string, ExportContact>();
  private readonly losers = new Map<string, ExportContact[]>();

  /** Offers one contact. */
  add(contact: ExportContact): void {
    const current = this.winners.get(contact.emailKey);
    if (current === undefined) {
      this.winners.set(contact.emailKey, contact);
      return;
    }
    const winner = preferredContact(current, contact);
    const loser = winner === current ? contact : current;
    this.winners.set(contact.emailKey, winner);
    const losers = this.losers.get(contact.emailKey);
    if (losers === undefined) this.losers.set(contact.emailKey, [loser]);
    else losers.push(loser);
  }

  /** Distinct email keys seen. */
  get size(): number {
    return this.winners.size;
  }

  /**
   * One contact per email key. Which contacts does not depend on the order they were added; the
   * list is in the order each email key was first added.
   */
  contacts(): ExportContact[] {
    return [...this.winners.values()];
  }

  /** A `duplicate-email` warning per contact not exported, naming the final winner's key. */
  duplicates(): RowIssue[] {
    const issues: RowIssue[] = [];
    for (const [emailKey, losers] of this.losers) {
      const winner = this.winners.get(emailKey);
      if (winner !== undefined) for (const loser of losers) issues.push(duplicateEmailIssue(loser, winner));
    }
    return issues;
  }
}
