/**
 * Whether a sqlite `profiles`/`segmentMembership` value is a query rather than a table name: it
 * starts with SELECT or WITH (any case, after whitespace). Anything else is a table or view name.
 */
export function isSqliteQuery(relation: string): boolean {
  return /^\s*(select|with)\b/i.test(relation);
}

/** `name` as a quoted SQL identifier (`"a""b"`), safe to splice into a statement. */
export function quoteSqliteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
