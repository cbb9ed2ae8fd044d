import { readFileSync } from 'node:fs';

export interface ConfigProblem {
  readonly variable: string;
  readonly problem: string;
}

/** Every problem found in the environment, so an operator fixes them all in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads typed values out of the environment and collects problems instead of stopping at the first one.
 * A getter that finds a problem records it and returns a placeholder; `finish()` throws when any were found.
 */
export class EnvReader {
  readonly #problems: ConfigProblem[] = [];

  constructor(private readonly env: Env) {}

  problem(variable: string, problem: string): void {
    this.#problems.push({ variable, problem });
  }

  finish(): void {
    if (this.#problems.length > 0) throw new ConfigError(this.#problems);
  }

  /** The trimmed value, or undefined when unset or empty. */
  raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  required(name: string, what: string): string {
    const value = this.raw(name);
    if (value === undefined) {
      this.problem(name, `is required (${what})`);
      return '';
    }
    return value;
  }

  /**
   * A secret given directly (`NAME`) or as a file (`NAME_FILE`, as Docker and Kubernetes secrets mount them).
   * Trailing newlines of the file are dropped because editors and `echo` add them.
   */
  secret(name: string, what: string, { required = true }: { required?: boolean } = {}): string | undefined {
    const direct = this.env[name];
    const file = this.raw(`${name}_FILE`);
    if (direct !== undefined && direct !== '' && file !== undefined) {
      this.problem(name, `set both ${name} and ${name}_FILE; choose one`);
      return undefined;
    }
    if (file !== undefined) {
      try {
        const value = readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
        if (value === '') this.problem(`${name}_FILE`, `file ${file} is empty`);
        return value;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        this.problem(`${name}_FILE`, `cannot read ${file} (${code})`);
        return undefined;
      }
    }
    if (direct === undefined || direct === '') {
      if (required) this.problem(name, `is required (${what}); set ${name} or ${name}_FILE`);
      return undefined;
    }
    return direct;
  }

  integer(name: string, fallback: number, { min, max }: { min: number; max: number }): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      this.problem(name, `must be a whole number from ${min} to ${max}, got "${value}"`);
      return fallback;
    }
    return Number(value);
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['true', 'yes', '1', 'on'].includes(value)) return true;
    if (['false', 'no', '0', 'off'].includes(value)) return false;
    this.problem(name, `must be true or false, got "${value}"`);
    return fallback;
  }

  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const found = choices.find((c) => c === value.toLowerCase());
    if (found === undefined) {
      this.problem(name, `must be one of ${choices.join(', ')}, got "${value}"`);
      return fallback;
    }
    return found;
  }

  /** Comma-separated, blanks dropped. */
  list(name: string, fallback: readonly string[] = []): string[] {
    const value = this.raw(name);
    if (value === undefined) return [...fallback];
    return value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }

  /**
   * A duration in milliseconds. A bare number is in `bareUnit` (what the variable's documentation promises);
   * a suffix `ms`, `s`, `m`, `h` or `d` overrides it.
   */
  duration(name: string, fallbackMs: number, { bareUnit, minMs, maxMs }: { bareUnit: 's'; minMs: number; maxMs: number }): number {
    const value = this.raw(name);
    if (value === undefined) return fallbackMs;
    const ms = parseDuration(value, bareUnit);
    if (ms === undefined) {
      this.problem(name, `must be a duration such as 30, 2.5s, 15m, 8h or 1d (bare numbers are seconds), got "${value}"`);
      return fallbackMs;
    }
    if (ms < minMs || ms > maxMs) {
      this.problem(name, `must be between ${formatMs(minMs)} and ${formatMs(maxMs)}, got "${value}"`);
      return fallbackMs;
    }
    return ms;
  }
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

const unitMs = { ms: 1, s: SECOND, m: MINUTE, h: HOUR, d: DAY } as const;

function parseDuration(text: string, bareUnit: keyof typeof unitMs): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(text);
  if (!match?.[1]) return undefined;
  const unit = (match[2]?.toLowerCase() ?? bareUnit) as keyof typeof unitMs;
  return Math.round(Number(match[1]) * unitMs[unit]);
}

function formatMs(ms: number): string {
  if (ms % unitMs.d === 0) return `${ms / unitMs.d}d`;
  if (ms % unitMs.h === 0) return `${ms / unitMs.h}h`;
  if (ms % unitMs.m === 0) return `${ms / unitMs.m}m`;
  if (ms % unitMs.s === 0) return `${ms / unitMs.s}s`;
  return `${ms}ms`;
}
