import { mkdtempSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type session from 'express-session';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { SESSION_CACHE_MS, SqliteSessionStore } from '../../src/session/sqlite-store.js';
import '../../src/session/types.js';

const lifetimes = { idleTimeoutMs: 60_000, maxAgeMs: 600_000 };

function get(store: SqliteSessionStore, sid: string): Promise<session.SessionData | null | undefined> {
  return new Promise((resolve, reject) => store.get(sid, (error, data) => (error ? reject(error) : resolve(data))));
}

function set(store: SqliteSessionStore, sid: string, data: session.SessionData): Promise<void> {
  return new Promise((resolve, reject) => store.set(sid, data, (error) => (error ? reject(error) : resolve())));
}

function signedIn(signedInAt: number, lastSeenAt: number): session.SessionData {
  return {
    cookie: { originalMaxAge: null } as session.Cookie,
    user: {
      username: 'alice',
      netboxUserId: 7,
      groups: ['ops'],
      authServer: '127.0.0.1:1812',
      clientAddress: '127.0.0.1',
      accountingId: `acct-${signedInAt}-${lastSeenAt}`,
      signedInAt,
      lastSeenAt,
      netboxCookies: { sessionid: 'abc' },
    },
  };
}

describe('SqliteSessionStore', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps sessions across a restart of the process (a new store on the same file)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'nbgw-store-')), 'sub', 'sessions.sqlite');
    const first = new SqliteSessionStore(path, lifetimes, silentLogger);
    await set(first, 'sid-1', signedIn(Date.now(), Date.now()));
    first.close();
    const second = new SqliteSessionStore(path, lifetimes, silentLogger);
    expect((await get(second, 'sid-1'))?.user?.netboxCookies).toEqual({ sessionid: 'abc' });
    second.close();
  });

  it('never returns a session past its idle or absolute lifetime, and purges it', async () => {
    const store = new SqliteSessionStore(':memory:', lifetimes, silentLogger);
    const now = Date.now();
    await set(store, 'idle', signedIn(now - 120_000, now - 61_000));
    await set(store, 'too-old', signedIn(now - 601_000, now - 1_000));
    await set(store, 'fresh', signedIn(now - 120_000, now - 1_000));
    expect(await get(store, 'idle')).toBeNull();
    expect(await get(store, 'too-old')).toBeNull();
    expect(await get(store, 'fresh')).not.toBeNull();
    expect(store.purgeExpired()).toBe(2);
    expect(store.purgeExpired(now + 600_000)).toBe(1);
    store.close();
  });

  it('reports every signed-in session the purge removes, once', async () => {
    const reported: string[] = [];
    const store = new SqliteSessionStore(':memory:', lifetimes, silentLogger, (user) => reported.push(user.accountingId));
    const now = Date.now();
    await set(store, 'idle', signedIn(now - 120_000, now - 61_000));
    await set(store, 'anonymous', { cookie: { originalMaxAge: null } as session.Cookie, csrfToken: 't' });
    await set(store, 'fresh', signedIn(now, now));
    store.purgeExpired(now + 120_000);
    store.purgeExpired(now + 120_000);
    expect(reported.sort()).toEqual([`acct-${now - 120_000}-${now - 61_000}`, `acct-${now}-${now}`]);
    store.close();
  });

  it('ends an anonymous session (the login form) after 10 minutes, however long the idle timeout is', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const store = new SqliteSessionStore(':memory:', { idleTimeoutMs: 3_600_000, maxAgeMs: 8 * 3_600_000 }, silentLogger);
    const start = Date.now();
    await set(store, 'anonymous', { cookie: { originalMaxAge: null } as session.Cookie, csrfToken: 't' });
    await set(store, 'signed-in', signedIn(start, start));

    vi.setSystemTime(start + 10 * 60_000 - 1000);
    expect(await get(store, 'anonymous')).not.toBeNull();
    vi.setSystemTime(start + 10 * 60_000 + 1000);
    expect(await get(store, 'anonymous')).toBeNull();
    expect(await get(store, 'signed-in')).not.toBeNull();
    store.close();
  });

  it('forgets a destroyed session', async () => {
    const store = new SqliteSessionStore(':memory:', lifetimes, silentLogger);
    await set(store, 'sid', signedIn(Date.now(), Date.now()));
    await new Promise<void>((resolve) => store.destroy('sid', () => resolve()));
    expect(await get(store, 'sid')).toBeNull();
    store.close();
  });
});

describe('SqliteSessionStore writes', () => {
  /** SQLite's data_version, read on a second connection, moves whenever another connection commits a change. */
  function commitsSeenFrom(path: string): () => number {
    const watcher = new Database(path, { readonly: true });
    return () => watcher.pragma('data_version', { simple: true }) as number;
  }

  function touch(store: SqliteSessionStore, sid: string, data: session.SessionData): Promise<void> {
    return new Promise((resolve, reject) => store.touch(sid, data, (error) => (error ? reject(error) : resolve())));
  }

  it('writes nothing when a signed-in session is only touched (every unchanged request), but still slides an anonymous one', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'nbgw-store-')), 'sessions.sqlite');
    const store = new SqliteSessionStore(path, lifetimes, silentLogger);
    const version = commitsSeenFrom(path);
    const now = Date.now();
    const data = signedIn(now, now);
    await set(store, 'signed-in', data);
    const anonymous = { cookie: { originalMaxAge: null } as session.Cookie, csrfToken: 't' };
    await set(store, 'anonymous', anonymous);

    const beforeTouches = version();
    for (let i = 0; i < 50; i += 1) await touch(store, 'signed-in', data);
    expect(version()).toBe(beforeTouches);
    expect((await get(store, 'signed-in'))?.user?.lastSeenAt).toBe(now);

    await touch(store, 'anonymous', anonymous);
    expect(version()).not.toBe(beforeTouches);
    store.close();
  });

  it('still moves the idle expiry when the last-seen time changes, which saves the session', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const store = new SqliteSessionStore(':memory:', lifetimes, silentLogger);
    const start = Date.now();
    await set(store, 'sid', signedIn(start, start));
    vi.setSystemTime(start + 50_000);
    await set(store, 'sid', signedIn(start, start + 50_000));
    vi.setSystemTime(start + 100_000);
    expect(await get(store, 'sid')).not.toBeNull();
    vi.setSystemTime(start + 111_000);
    expect(await get(store, 'sid')).toBeNull();
    store.close();
  });
});

describe('SqliteSessionStore cache', () => {
  function destroy(store: SqliteSessionStore, sid: string): Promise<void> {
    return new Promise((resolve, reject) => store.destroy(sid, (error) => (error ? reject(error) : resolve())));
  }

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
    expect(await get(store, 'sid')).not.toBeNull();
    new Database(path).prepare('DELETE FROM sessions').run();
    vi.setSystemTime(start + SESSION_CACHE_MS - 10);
    expect(await get(store, 'sid')).not.toBeNull();
    vi.setSystemTime(start + SESSION_CACHE_MS);
    expect(await get(store, 'sid')).toBeNull();
    store.close();
  });

  it('ends a session at once on this process: logout and expiry are never served from the cache', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const store = new SqliteSessionStore(':memory:', lifetimes, silentLogger);
    const start = Date.now();
    await set(store, 'logged-out', signedIn(start, start));
    expect(await get(store, 'logged-out')).not.toBeNull();
    await destroy(store, 'logged-out');
    expect(await get(store, 'logged-out')).toBeNull();

    // Idle for all but 100 ms of the idle timeout: read, then read again 200 ms later, within the cache time.
    await set(store, 'idle', signedIn(start - lifetimes.idleTimeoutMs + 100, start - lifetimes.idleTimeoutMs + 100));
    expect(await get(store, 'idle')).not.toBeNull();
    vi.setSystemTime(start + 200);
    expect(await get(store, 'idle')).toBeNull();
    store.close();
  });

  it('hands each request its own top level, so what express-session rebuilds there never reaches the next request', async () => {
    const store = new SqliteSessionStore(':memory:', lifetimes, silentLogger);
    await set(store, 'sid', { ...signedIn(Date.now(), Date.now()), csrfToken: 'original' });
    const first = await get(store, 'sid');
    first!.csrfToken = 'changed by a request that never saved';
    first!.cookie = { replaced: true } as unknown as session.Cookie;
    const second = await get(store, 'sid');
    expect(second?.csrfToken).toBe('original');
    expect(second?.cookie).toEqual({ originalMaxAge: null });
    store.close();
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
    expect(await get(there, 'sid')).toBeNull();
    const fresh = new SqliteSessionStore(path, lifetimes, silentLogger);
    expect(await get(fresh, 'sid')).toBeNull();
    for (const store of [here, there, fresh]) store.close();
  });

  it('does not let a save bring back a session the purge ended', async () => {
    const reported: string[] = [];
    const store = new SqliteSessionStore(':memory:', lifetimes, silentLogger, (user) => reported.push(user.username));
    const now = Date.now();
    const data = signedIn(now - 120_000, now - 61_000);
    await set(store, 'idle', data);
    expect(store.purgeExpired()).toBe(1);
    await set(store, 'idle', { ...data, user: { ...data.user!, lastSeenAt: now } });
    expect(await get(store, 'idle')).toBeNull();
    expect(store.purgeExpired()).toBe(0);
    expect(reported).toEqual(['alice']);
    store.close();
  });
});
