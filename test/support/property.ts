import { randomInt } from 'node:crypto';
import { relative } from 'node:path';
import fc from 'fast-check';
import { expect } from 'vitest';

/**
 * The seed for this run: PROPERTY_SEED when set (to replay a failure), else a fresh one. A malformed PROPERTY_SEED
 * throws rather than silently running some other seed than the one being replayed.
 */
function propertySeed(): number {
  const fromEnv = process.env['PROPERTY_SEED'];
  if (fromEnv === undefined || fromEnv === '') return randomInt(-(2 ** 31), 2 ** 31);
  const seed = Number(fromEnv);
  if (!Number.isSafeInteger(seed)) throw new Error(`PROPERTY_SEED must be an integer, not ${JSON.stringify(fromEnv)}`);
  return seed;
}

/** Prints the seed with the command that replays it, so a failure seen once in CI can be run again locally. */
function announce(seed: number): void {
  const { currentTestName, testPath } = expect.getState();
  const file = testPath === undefined ? '<file>' : relative(process.cwd(), testPath);
  console.log(`property "${currentTestName ?? '?'}": seed ${seed}; replay with PROPERTY_SEED=${seed} npx vitest run ${file}`);
}

/** fc.assert with a printed, replayable seed. Every property test goes through here (or `assertAsyncProperty`). */
export function assertProperty<Ts>(property: fc.IProperty<Ts>, parameters: Omit<fc.Parameters<Ts>, 'seed'> = {}): void {
  const seed = propertySeed();
  announce(seed);
  fc.assert(property, { ...parameters, seed });
}

/** As `assertProperty`, for properties that await (e.g. a reference implementation in another process). */
export async function assertAsyncProperty<Ts>(property: fc.IAsyncProperty<Ts>, parameters: Omit<fc.Parameters<Ts>, 'seed'> = {}): Promise<void> {
  const seed = propertySeed();
  announce(seed);
  await fc.assert(property, { ...parameters, seed });
}
