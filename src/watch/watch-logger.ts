import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

/**
 * Structured logs: JSON lines (for journald, Loki, ...) unless the output is a terminal, where they
 * are printed for people. Messages never carry secrets: errors are exportctl's, which redact them.
 */
export function createWatchLogger(options: {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  level?: string;
}): Logger {
  const level = options.level ?? 'info';
  if (options.stream.isTTY) {
    return pino(
      { level },
      pretty({
        destination: options.stream,
        colorize: true,
        translateTime: 'SYS:HH:MM:ss',
        ignore: 'pid,hostname',
      }),
    );
  }
  return pino(
    { level, base: { service: 'exportctl-watch' }, timestamp: pino.stdTimeFunctions.isoTime },
    options.stream,
  );
}
