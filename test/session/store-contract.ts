import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SESSION_CACHE_MS } from '../../src/session/cache.js';
import type { SessionData, SessionStore, SignedInUser } from '../../src/session/types.js';

export const LIFETIMES = { idleTimeoutMs: 60_000, maxAgeMs: 600_000 };

/** A store as the gateway uses it, with its janitor callable. */
export type PurgingStore = SessionStore & { purgeExpired(now?: number): number | Promise<number> };

/**
 * Two stores on one backend, as two replicas (or two processes on one SQLite file) have them, each built with
 * LIFETIMES and reporting the signed-in sessions its purge ends to `expired`.
 */
export type StorePair = (expired: (store: 'a' | 'b', user: SignedInUser) => void) => Promise<{ a: PurgingStore; b: PurgingStore }>;

export function signedIn(signedInAt: number, lastSeenAt: number, accountingId = `acct-${signedInAt}-${lastSeenAt}`): SessionData {
  return {
    user: {
      username: 'alice',
      netboxUserId: 7,
      groups: ['ops'],
      authServer: '127.0.0.1:1812',
      clientAddress: '127.0.0.1',
      accountingId,
      signedInAt,
      lastSeenAt,
      netboxCookies: { sessionid: 'abc' },
    },
  };
}

/** What every SessionStore must do, whichever backend: run against SQLite and Redis. */
export function sessionStoreContract(name: string, makePair: StorePair): void {
  describe(`SessionStore contract: ${name}`, () => {
    let a: PurgingStore;
    let b: PurgingStore;
    const reported: { store: 'a' | 'b'; accountingId: string }[] = [];
    beforeEach(async () => {
      reported.length = 0;
      ({ a, b } = await makePair((store, user) => reported.push({ store, accountingId: user.accountingId })));
    });
    afterEach(async () => {
      vi.useRealTimers();
      await a.close();
      await b.close();
    });

    it('stores a session and gives it back, to the other replica too', async () => {
      const now = Date.now();
      expect(await a.get('sid')).toBeUndefined();
      expect(await a.set('sid', { ...signedIn(now, now), csrfToken: 't' })).toBe(true);
      expect(await a.get('sid')).toEqual({ ...signedIn(now, now), csrfToken: 't' });
      expect(await b.get('sid')).toEqual({ ...signedIn(now, now), csrfToken: 't' });
      expect(await a.count()).toBe(1);
    });

    it('never returns a session past its idle or absolute lifetime', async () => {
      const now = Date.now();
      await a.set('idle', signedIn(now - 120_000, now - 61_000));
      await a.set('too-old', signedIn(now - 601_000, now - 1_000));
      await a.set('fresh', signedIn(now - 120_000, now - 1_000));
      expect(await b.get('idle')).toBeUndefined();
      expect(await b.get('too-old')).toBeUndefined();
      expect(await b.get('fresh')).toBeDefined();
      expect(await b.count()).toBe(1);
    });

    it('ends an anonymous session after 10 minutes at most, and slides it on each touch', async () => {
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      const start = Date.now();
      await a.set('anonymous', { csrfToken: 't' });
      vi.setSystemTime(start + LIFETIMES.idleTimeoutMs - 1_000);
      await a.touch('anonymous', { csrfToken: 't' });
      vi.setSystemTime(start + LIFETIMES.idleTimeoutMs + SESSION_CACHE_MS + 1_000);
      expect(await b.get('anonymous')).toEqual({ csrfToken: 't' });
      vi.setSystemTime(start + 2 * LIFETIMES.idleTimeoutMs + SESSION_CACHE_MS);
      expect(await b.get('anonymous')).toBeUndefined();
    });

    it('applies a change to the session as stored now, from either replica, and moves its expiry with it', async () => {
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      const start = Date.now();
      await a.set('sid', signedIn(start, start));
      expect(await a.get('sid')).toBeDefined();
      await b.update('sid', (current) => ({ ...current, user: { ...current.user!, netboxCookies: { sessionid: 'renewed' } } }));
      vi.setSystemTime(start + 50_000);
      const updated = await a.update('sid', (current) => ({ ...current, user: { ...current.user!, lastSeenAt: start + 50_000 } }));
      expect(updated?.user).toMatchObject({ lastSeenAt: start + 50_000, netboxCookies: { sessionid: 'renewed' } });
      vi.setSystemTime(start + 100_000);
      expect(await b.get('sid')).toBeDefined();
      vi.setSystemTime(start + 111_000);
      expect(await b.get('sid')).toBeUndefined();
      expect(await a.update('sid', (current) => current)).toBeUndefined();
    });

    it('ends a session at once on the replica that ended it, within the cache time on the other, and never lets it be saved back', async () => {
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      const start = Date.now();
      await a.set('sid', signedIn(start, start));
      expect(await b.get('sid')).toBeDefined();
      await a.end('sid');
      expect(await a.get('sid')).toBeUndefined();
      vi.setSystemTime(start + SESSION_CACHE_MS);
      expect(await b.get('sid')).toBeUndefined();
      expect(await b.set('sid', signedIn(start, start + 1))).toBe(false);
      expect(await b.update('sid', (current) => ({ ...current, csrfToken: 'late' }))).toBeUndefined();
      expect(await a.get('sid')).toBeUndefined();
      expect(await a.count()).toBe(0);
    });

    it('reports each expired signed-in session exactly once across replicas, and never an anonymous or live one', async () => {
      const now = Date.now();
      await a.set('idle-1', signedIn(now - 120_000, now - 61_000, 'idle-1'));
      await a.set('idle-2', signedIn(now - 120_000, now - 62_000, 'idle-2'));
      await a.set('anonymous', { csrfToken: 't' });
      await a.set('live', signedIn(now, now, 'live'));
      const ended = await Promise.all([a.purgeExpired(now + 1), b.purgeExpired(now + 1), a.purgeExpired(now + 1), b.purgeExpired(now + 1)]);
      expect(ended.reduce((sum, n) => sum + n, 0)).toBe(2);
      expect(reported.map((r) => r.accountingId).sort()).toEqual(['idle-1', 'idle-2']);
      expect(await b.set('idle-1', signedIn(now, now))).toBe(false);
      expect(await a.get('live')).toBeDefined();
      expect(await a.get('anonymous')).toBeDefined();
      // Later, the live one is reported too; the anonymous one never is.
      await b.purgeExpired(now + 11 * 60_000);
      expect(reported.map((r) => r.accountingId).sort()).toEqual(['idle-1', 'idle-2', 'live']);
    });
    it('says whether it ended a session, so that a logout racing the purge accounts for the end once', async () => {
      const now = Date.now();
      await a.set('live', signedIn(now, now, 'live'));
      await a.set('ran-out', signedIn(now - 120_000, now - 61_000, 'ran-out'));
      expect(await b.end('live')).toBe(true);
      expect(await a.end('live')).toBe(false);
      // Past its end, not yet purged: the logout ends it, and the purge then has nothing to report.
      expect(await b.end('ran-out')).toBe(true);
      await a.purgeExpired(now + 1);
      expect(reported).toEqual([]);
      // The other way round: purged first, then the logout has nothing to end.
      await a.set('ran-out-2', signedIn(now - 120_000, now - 61_000, 'ran-out-2'));
      await a.purgeExpired(now + 1);
      expect(reported.map((r) => r.accountingId)).toEqual(['ran-out-2']);
      expect(await b.end('ran-out-2')).toBe(false);
      expect(await a.end('never-was')).toBe(false);
    });

    it('counts signed-in sessions only', async () => {
      const now = Date.now();
      await a.set('anonymous', { csrfToken: 't' });
      await a.set('signed-in', signedIn(now, now));
      expect(await b.count()).toBe(1);
    });
  });
}
