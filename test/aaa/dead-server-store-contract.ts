import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeadServerStore } from '../../src/aaa/dead-servers.js';

const T = 1_700_000_000_000;

/** What every DeadServerStore must do, whichever backend; `makeStore` gives a fresh, empty one per test. */
export function deadServerStoreContract(name: string, makeStore: () => DeadServerStore | Promise<DeadServerStore>): void {
  describe(`DeadServerStore contract: ${name}`, () => {
    let store: DeadServerStore;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('holds a server down until its time, with the reason, and forgets it when it answers', async () => {
      expect((await store.heldDown(T)).size).toBe(0);
      await store.markDead('10.0.0.1:1812', { until: T + 60_000, reason: 'timeout', message: '10.0.0.1:1812: no reply' });
      expect(await store.heldDown(T)).toEqual(new Map([['10.0.0.1:1812', { until: T + 60_000, reason: 'timeout', message: '10.0.0.1:1812: no reply' }]]));
      expect((await store.heldDown(T + 60_000)).size).toBe(0);
      await store.markUp('10.0.0.1:1812');
      expect((await store.heldDown(T)).size).toBe(0);
    });

    it('keeps the later of two hold-downs, and servers apart', async () => {
      await store.markDead('a:1812', { until: T + 60_000, reason: 'timeout', message: 'first' });
      await store.markDead('a:1812', { until: T + 30_000, reason: 'refused', message: 'earlier' });
      await store.markDead('b:1812', { until: T + 10_000, reason: 'refused', message: 'b' });
      const held = await store.heldDown(T);
      expect(held.get('a:1812')).toEqual({ until: T + 60_000, reason: 'timeout', message: 'first' });
      expect(held.get('b:1812')?.until).toBe(T + 10_000);
      await store.markDead('a:1812', { until: T + 90_000, reason: 'refused', message: 'later' });
      expect((await store.heldDown(T)).get('a:1812')?.message).toBe('later');
    });
  });
}
