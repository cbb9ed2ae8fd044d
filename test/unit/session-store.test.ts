import { mkdtempSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { SESSION_CACHE_MS } from '../../src/session/cache.js';
import { SqliteSessionStore } from '../../src/session/sqlite-store.js';
import type { SessionData } from '../../src/session/types.js';
import { signedIn } from '../session/store-contract.js';

const lifetimes = { idleTimeoutMs: 60_000, maxAgeMs: 600_000 };

const get = (store: SqliteSessionStore, sid: string) => store.get(sid);
const set = (store: SqliteSessionStore, sid: string, data: SessionData) => store.set(sid, data);


describe('SqliteSessionStore', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps sessions across a restart of the process (a new store on the same file)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'nbgw-store-')), 'sub', 'sessions.sqlite');
    const first = new SqliteSessionStore(path, lifetimes, silentLogger);
    await set(first, 'sid-1', signedIn(Date.now(), Date.now()));
    await first.close();
    const second = new SqliteSessionStore(path, lifetimes, silentLogger);
    expect((await get(second, 'sid-1'))?.user?.netboxCookies).toEqual({ sessionid: 'abc' });
    await second.close();
  });

  it('never returns a session past its idle or absolute lifetime, and purges it', async () => {
    const store = new SqliteSessionStore(':memory:', lifetimes, silentLogger);
    const now = Date.now();
    await set(store, 'idle', signedIn(now - 120_000, now - 61_000));
    await set(store, 'too-old', signedIn(now - 601_000, now - 1_000));
    await set(store, 'fresh', signedIn(now - 120_000, now - 1_000));
    expect(await get(store, 'idle')).toBeUndefined();
    expect(await get(store, 'too-old')).toBeUndefined();
    expect(await get(store, 'fresh')).not.toBeUndefined();
    expect(store.purgeExpired()).toBe(2);
    expect(store.purgeExpired(now + 600_000)).toBe(1);
    await store.close();
  });

  it('reports every signed-in session the purge removes, once', async () => {
    const reported: string[] = [];
    const store = new SqliteSessionStore(':memory:', lifetimes, silentLogger, (user) => reported.push(user.accountingId));
    const now = Date.now();
    await set(store, 'idle', signedIn(now - 120_000, now - 61_000));
    await set(store, 'anonymous', { csrfToken: 't' });
    await set(store, 'fresh', signedIn(now, now));
    store.purgeExpired(now + 120_000);
    store.purgeExpired(now + 120_000);
    expect(reported.sort()).toEqual([`acct-${now - 120_000}-${now - 61_000}`, `acct-${now}-${now}`]);
    await store.close();
  });

  it('ends an anonymous session (the login form) after 10 minutes, however long the idle timeout is', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const store = new SqliteSessionStore(':memory:', { idleTimeoutMs: 3_600_000, maxAgeMs: 8 * 3_600_000 }, silentLogger);
    const start = Date.now();
    await set(store, 'anonymous', { csrfToken: 't' });
    await set(store, 'signed-in', signedIn(start, start));

    vi.setSystemTime(start + 10 * 60_000 - 1000);
    expect(await get(store, 'anonymous')).not.toBeUndefined();
    vi.setSystemTime(start + 10 * 60_000 + 1000);
    expect(await get(store, 'anonymous')).toBeUndefined();
    expect(await get(store, 'signed-in')).not.toBeUndefined();
    await store.close();
  });

  it('forgets an ended session', async () => {
    const store = new SqliteSessionStore(':memory:', lifetimes, silentLogger);
    await set(store, 'sid', signedIn(Date.now(), Date.now()));
    await store.end('sid');
    expect(await get(store, 'sid')).toBeUndefined();
    await store.close();
  });
});

describe('SqliteSessionStore writes', () => {
  /** SQLite's data_version, read on a second connection, moves whenever another connection commits a change. */
  function commitsSeenFrom(path: string): () => number {
    const watcher = new Database(path, { readonly: true });
    return () => watcher.pragma('data_version', { simple: true }) as number;
  }

  const touch = (store: SqliteSessionStore, sid: string, data: SessionData) => store.touch(sid, data);

  it('writes nothing when a signed-in session is only touched (every unchanged request), but still slides an anonymous one', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'nbgw-store-')), 'sessions.sqlite');
    const store = new SqliteSessionStore(path, lifetimes, silentLogger);
    const version = commitsSeenFrom(path);
    const now = Date.now();
    const data = signedIn(now, now);
    await set(store, 'signed-in', data);
    const anonymous = { csrfToken: 't' };
    await set(store, 'anonymous', anonymous);

    const beforeTouches = version();
    for (let i = 0; i < 50; i += 1) await touch(store, 'signed-in', data);
    expect(version()).toBe(beforeTouches);
    expect((await get(store, 'signed-in'))?.user?.lastSeenAt).toBe(now);

    await touch(store, 'anonymous', anonymous);
    expect(version()).not.toBe(beforeTouches);
    await store.close();
  });

  it('still moves the idle expiry when the last-seen time changes, which saves the session', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const store = new SqliteSessionStore(':memory:', lifetimes, silentLogger);
    const start = Date.now();
    await set(store, 'sid', signedIn(start, start));
    vi.setSystemTime(start + 50_000);
    await set(store, 'sid', signedIn(start, start + 50_000));
    vi.setSystemTime(start + 100_000);
    expect(await get(store, 'sid')).not.toBeUndefined();
    vi.setSystemTime(start + 111_000);
    expect(await get(store, 'sid')).toBeUndefined();
    await store.close();
  });
});

describe('SqliteSessionStore cache', () => {
  const destroy = (store: SqliteSessionStore, sid: string) => store.end(sid);

  function twoProcesses(): { here: SqliteSessionStore; there: SqliteSessionStore; path: string } {
    const path = join(mkdtempSync(join(tmpdir(), 'nbgw-store-')), 'sessions.sqlite');
    return { path, here: new SqliteSessionStore(path, lifetimes, silentLogger), there: new SqliteSessionStore(path, lifetimes, silentLogger) };
  }

  it('reads the file once per SESSION_CACHE_MS: a row removed behind its back is still served until then, and not after', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const path = join(mkdtempSync(join(tmpdir(), 'nbgw-store-')), 'sessions.sqlite');
    const store = new SqliteSessionStore(path, lifetimes, silentLogger);
    const start = Date.now();
    await set(store, 'sid', signedIn(start, start));
    expect(await get(store, 'sid')).not.toBeUndefined();
    new Database(path).prepare('DELETE FROM sessions').run();
    vi.setSystemTime(start + SESSION_CACHE_MS - 10);
    expect(await get(store, 'sid')).not.toBeUndefined();
    vi.setSystemTime(start + SESSION_CACHE_MS);
    expect(await get(store, 'sid')).toBeUndefined();
    await store.close();
  });

  it('ends a session at once on this process: logout and expiry are never served from the cache', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const store = new SqliteSessionStore(':memory:', lifetimes, silentLogger);
    const start = Date.now();
    await set(store, 'logged-out', signedIn(start, start));
    expect(await get(store, 'logged-out')).not.toBeUndefined();
    await destroy(store, 'logged-out');
    expect(await get(store, 'logged-out')).toBeUndefined();

    // Idle for all but 100 ms of the idle timeout: read, then read again 200 ms later, within the cache time.
    await set(store, 'idle', signedIn(start - lifetimes.idleTimeoutMs + 100, start - lifetimes.idleTimeoutMs + 100));
    expect(await get(store, 'idle')).not.toBeUndefined();
    vi.setSystemTime(start + 200);
    expect(await get(store, 'idle')).toBeUndefined();
    await store.close();
  });

  it('does not let a request that began before the logout save the session back, on this process or another', async () => {
    const { here, there, path } = twoProcesses();
    const now = Date.now();
    const data = signedIn(now, now);
    await set(here, 'sid', data);
    const inFlightHere = await get(here, 'sid');
    const inFlightThere = await get(there, 'sid');
    await destroy(there, 'sid');

    await set(here, 'sid', { ...inFlightHere!, user: { ...inFlightHere!.user!, lastSeenAt: now + 31_000 } });
    await set(there, 'sid', { ...inFlightThere!, csrfToken: 'late' });
    expect(await get(there, 'sid')).toBeUndefined();
    const fresh = new SqliteSessionStore(path, lifetimes, silentLogger);
    expect(await get(fresh, 'sid')).toBeUndefined();
    for (const store of [here, there, fresh]) await store.close();
  });

  it('does not let a save bring back a session the purge ended', async () => {
    const reported: string[] = [];
    const store = new SqliteSessionStore(':memory:', lifetimes, silentLogger, (user) => reported.push(user.username));
    const now = Date.now();
    const data = signedIn(now - 120_000, now - 61_000);
    await set(store, 'idle', data);
    expect(store.purgeExpired()).toBe(1);
    await set(store, 'idle', { ...data, user: { ...data.user!, lastSeenAt: now } });
    expect(await get(store, 'idle')).toBeUndefined();
    expect(store.purgeExpired()).toBe(0);
    expect(reported).toEqual(['alice']);
    await store.close();
  });

  it('applies a change to the session as stored now, from either process, and never to one that ended', async () => {
    const { here, there } = twoProcesses();
    const now = Date.now();
    await set(here, 'sid', signedIn(now, now));
    expect(await get(here, 'sid')).toBeDefined();
    // Changed on the other process after this one cached it: the change here still starts from the stored row.
    await there.update('sid', (current) => ({ ...current, user: { ...current.user!, netboxCookies: { sessionid: 'renewed' } } }));
    const updated = await here.update('sid', (current) => ({ ...current, user: { ...current.user!, lastSeenAt: now + 31_000 } }));
    expect(updated?.user).toMatchObject({ lastSeenAt: now + 31_000, netboxCookies: { sessionid: 'renewed' } });
    expect((await get(here, 'sid'))?.user?.lastSeenAt).toBe(now + 31_000);

    await there.end('sid');
    expect(await here.update('sid', (current) => ({ ...current, csrfToken: 'late' }))).toBeUndefined();
    expect(await get(here, 'sid')).toBeUndefined();
    for (const store of [here, there]) await store.close();
  });
});
