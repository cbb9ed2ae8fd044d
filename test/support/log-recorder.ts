import type { Logger } from '../../src/log.js';

/** A Logger that keeps every line as `<level> <message> <fields as JSON>`, for assertions on what was logged. */
export function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (fields: object, message: string) => {
    lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
  };
  const logger = { lines, debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error'), child: () => logger };
  return logger;
}
