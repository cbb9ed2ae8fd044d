import { pino } from 'pino';

/**
 * The logging surface every module depends on. pino satisfies it; tests pass a recorder. Callers put
 * structured facts in `fields` and never secrets (passwords, shared secrets, tokens, cookies).
 */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(bindings: object): Logger;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { service: 'netbox-aaa-gateway' },
    // Belt and braces: even a careless call site cannot print these.
    redact: {
      paths: ['password', '*.password', 'secret', '*.secret', 'token', '*.token', 'cookie', '*.cookie', 'headers.cookie', 'headers.authorization'],
      censor: '[redacted]',
    },
  });
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
