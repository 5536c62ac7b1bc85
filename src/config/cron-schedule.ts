import { Cron } from 'croner';

/**
 * Checks a cron expression in a time zone; returns why it does not parse, or undefined when it does.
 * The same parser (croner) drives the scheduler, so what validates here is what runs.
 */
export function cronProblem(expression: string, timezone = 'UTC'): string | undefined {
  // Many destinations share a few expressions, and building Intl formatters is slow: remember answers.
  const key = `${timezone}\u0000${expression}`;
  if (checked.has(key)) return checked.get(key);
  const problem = uncachedCronProblem(expression, timezone);
  if (checked.size > 10_000) checked.clear();
  checked.set(key, problem);
  return problem;
}

const checked = new Map<string, string | undefined>();

function uncachedCronProblem(expression: string, timezone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    return `time zone "${timezone}" is not an IANA time zone`;
  }
  try {
    const cron = new Cron(expression, { paused: true, timezone });
    cron.stop();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message.replace(/^CronPattern: /, '') : String(error);
  }
}

/** Next time `expression` fires after `after`, in `timezone`; undefined if it never fires again. */
export function nextCronTime(expression: string, timezone: string, after: Date): Date | undefined {
  const cron = new Cron(expression, { paused: true, timezone });
  try {
    return cron.nextRun(after) ?? undefined;
  } finally {
    cron.stop();
  }
}
