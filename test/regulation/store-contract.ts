import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RegulationStore } from '../../src/regulation/types.js';

const T = 1_700_000_000_000;
const WINDOW = 10_000;

/**
 * What every RegulationStore must do, run against each implementation. `makeStore` gives a fresh, empty store
 * for each test (a Redis implementation: a fresh key prefix); the suite closes it.
 */
export function regulationStoreContract(name: string, makeStore: () => RegulationStore | Promise<RegulationStore>): void {
  describe(`RegulationStore contract: ${name}`, () => {
    let store: RegulationStore;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('counts the failures of a key, each one, also several at the same moment', async () => {
      expect(await store.addFailure('user:alice', T, WINDOW)).toBe(1);
      expect(await store.addFailure('user:alice', T, WINDOW)).toBe(2);
      expect(await store.addFailure('user:alice', T + 1, WINDOW)).toBe(3);
    });

    it('keeps keys apart', async () => {
      await store.addFailure('user:alice', T, WINDOW);
      await store.addFailure('user:alice', T, WINDOW);
      expect(await store.addFailure('user:bob', T, WINDOW)).toBe(1);
      expect(await store.addFailure('address:192.0.2.7', T, WINDOW)).toBe(1);
    });

    it('forgets failures at or before the start of the window', async () => {
      await store.addFailure('k', T, WINDOW);
      await store.addFailure('k', T + 1, WINDOW);
      expect(await store.addFailure('k', T + WINDOW - 1, WINDOW)).toBe(3);
      // T is now exactly one window old: gone; T + 1 is still inside.
      expect(await store.addFailure('k', T + WINDOW, WINDOW)).toBe(3);
      expect(await store.addFailure('k', T + 3 * WINDOW, WINDOW)).toBe(1);
    });

    it('clears the failures of one key only', async () => {
      await store.addFailure('user:alice', T, WINDOW);
      await store.addFailure('user:bob', T, WINDOW);
      await store.clearFailures('user:alice');
      expect(await store.addFailure('user:alice', T + 1, WINDOW)).toBe(1);
      expect(await store.addFailure('user:bob', T + 1, WINDOW)).toBe(2);
      await store.clearFailures('user:nobody');
    });

    it('bans a key until the given moment, and not a moment longer', async () => {
      expect(await store.bannedUntil('user:alice', T)).toBeUndefined();
      expect(await store.ban('user:alice', T + 5000, T)).toBe(true);
      expect(await store.bannedUntil('user:alice', T)).toBe(T + 5000);
      expect(await store.bannedUntil('user:alice', T + 4999)).toBe(T + 5000);
      expect(await store.bannedUntil('user:alice', T + 5000)).toBeUndefined();
      expect(await store.bannedUntil('user:bob', T)).toBeUndefined();
    });

    it('neither extends nor shortens a ban in force, and bans again once it has ended', async () => {
      expect(await store.ban('k', T + 5000, T)).toBe(true);
      expect(await store.ban('k', T + 9000, T + 1000)).toBe(false);
      expect(await store.ban('k', T + 2000, T + 1000)).toBe(false);
      expect(await store.bannedUntil('k', T + 1000)).toBe(T + 5000);
      expect(await store.ban('k', T + 8000, T + 5000)).toBe(true);
      expect(await store.bannedUntil('k', T + 7999)).toBe(T + 8000);
    });

    it('keeps a ban when the failures are cleared', async () => {
      await store.addFailure('user:alice', T, WINDOW);
      await store.ban('user:alice', T + 5000, T);
      await store.clearFailures('user:alice');
      expect(await store.bannedUntil('user:alice', T + 1)).toBe(T + 5000);
    });

    it('gives concurrent failures distinct counts and concurrent bans one starter', async () => {
      const counts = await Promise.all(Array.from({ length: 10 }, () => store.addFailure('k', T, WINDOW)));
      expect([...counts].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const started = await Promise.all(Array.from({ length: 5 }, (_, i) => store.ban('k', T + 1000 + i, T)));
      expect(started.filter(Boolean)).toHaveLength(1);
      expect(await store.bannedUntil('k', T)).toBe(T + 1000 + started.indexOf(true));
    });
  });
}
