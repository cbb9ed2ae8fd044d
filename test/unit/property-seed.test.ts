import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assertProperty } from '../support/property.js';

/** Runs a property that records what it was given, and returns that with the seed the helper printed. */
function recordRun(): { seed: number; seen: number[] } {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const seen: number[] = [];
  assertProperty(
    fc.property(fc.integer(), (value) => {
      seen.push(value);
    }),
    { numRuns: 20 },
  );
  const printed = log.mock.calls.map((call) => String(call[0])).join('\n');
  log.mockRestore();
  const seed = /seed (-?\d+); replay with PROPERTY_SEED=(-?\d+) /.exec(printed);
  expect(seed?.[1]).toBe(seed?.[2]);
  return { seed: Number(seed![1]), seen };
}

describe('property test seeds', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('prints the seed a run used, and PROPERTY_SEED replays that run exactly', () => {
    vi.stubEnv('PROPERTY_SEED', '');
    const first = recordRun();
    vi.stubEnv('PROPERTY_SEED', String(first.seed));
    const replay = recordRun();
    expect(replay.seed).toBe(first.seed);
    expect(replay.seen).toEqual(first.seen);
  });

  it('refuses a PROPERTY_SEED that is not an integer rather than run another seed', () => {
    vi.stubEnv('PROPERTY_SEED', '12abc');
    expect(() => assertProperty(fc.property(fc.integer(), () => undefined))).toThrow(/PROPERTY_SEED must be an integer/);
  });
});
