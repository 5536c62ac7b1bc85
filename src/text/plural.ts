/**
 * A count and its noun, as exportctl writes them everywhere it speaks: `1 contact`, `0 contacts`,
 * `1,000,000 contacts` (en-US digit grouping). The singular is for exactly 1; `pluralForm` defaults
 * to the singular plus `s` (pass it for `1 query`/`2 queries`).
 */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count.toLocaleString('en-US')} ${noun(count, singular, pluralForm)}`;
}

/** The noun alone, for a count written apart (`0/1 call`, `3 of 5 changes`): singular for exactly 1. */
export function noun(count: number, singular: string, pluralForm = `${singular}s`): string {
  return count === 1 ? singular : pluralForm;
}
