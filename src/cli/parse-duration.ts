import { UsageError } from '../errors';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `30s`, `2m`, `1h` or a bare number of seconds, in milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) {
    throw new UsageError('invalid-duration', `${flag} ${JSON.stringify(text)} is not a duration`, {
      hint: 'write it like 30s, 2m or 500ms',
    });
  }
  return Math.round(Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1000));
}

/** A flag's whole number of at least `minimum` (default 1). */
export function parseWholeNumber(text: string, flag: string, minimum = 1): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < minimum) {
    throw new UsageError('invalid-option', `${flag} ${text} is not a whole number of ${minimum} or more`);
  }
  return value;
}
