import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { SqliteRegulationStore } from '../../src/regulation/sqlite-store.js';
import { SqliteSessionStore } from '../../src/session/sqlite-store.js';
import { regulationStoreContract } from './store-contract.js';

const tempFile = () => join(mkdtempSync(join(tmpdir(), 'nbgw-regulation-')), 'sub', 'sessions.sqlite');

regulationStoreContract('SQLite file', () => new SqliteRegulationStore(tempFile(), silentLogger));
regulationStoreContract('SQLite :memory:', () => new SqliteRegulationStore(':memory:', silentLogger));

describe('SqliteRegulationStore', () => {
  const T = 1_700_000_000_000;

  it('keeps failures and bans across a restart (a new store on the same file)', async () => {
    const path = tempFile();
    const first = new SqliteRegulationStore(path, silentLogger);
    await first.addFailure('user:alice', T, 60_000);
    await first.ban('address:192.0.2.7', T + 60_000, T);
    await first.close();
    const second = new SqliteRegulationStore(path, silentLogger);
    expect(await second.addFailure('user:alice', T + 1, 60_000)).toBe(2);
    expect(await second.bannedUntil('address:192.0.2.7', T + 1)).toBe(T + 60_000);
    await second.close();
  });

  it('shares its file with the session store, each on its own connection', async () => {
    const path = tempFile();
    const sessions = new SqliteSessionStore(path, { idleTimeoutMs: 60_000, maxAgeMs: 600_000 }, silentLogger);
    const regulation = new SqliteRegulationStore(path, silentLogger);
    await sessions.set('sid', { user: { username: 'alice', netboxUserId: 7, groups: [], authServer: 'r', clientAddress: '127.0.0.1', accountingId: 'a', signedInAt: Date.now(), lastSeenAt: Date.now(), netboxCookies: {} } });
    expect(await regulation.addFailure('user:alice', T, 60_000)).toBe(1);
    expect(await sessions.count()).toBe(1);
    await sessions.close();
    await regulation.close();
  });

  it('purges failures that left their window and bans that ended, and nothing else', async () => {
    const store = new SqliteRegulationStore(':memory:', silentLogger);
    await store.addFailure('user:alice', T, 10_000);
    await store.addFailure('user:alice', T + 5000, 10_000);
    await store.ban('user:bob', T + 7000, T);
    await store.ban('user:carol', T + 20_000, T);
    // Alice's first failure (expires T + 10 s) and Bob's ban (ends T + 7 s) are due; the rest are not.
    expect(store.purgeExpired(T + 10_000)).toBe(2);
    expect(store.purgeExpired(T + 10_000)).toBe(0);
    expect(await store.bannedUntil('user:carol', T + 10_000)).toBe(T + 20_000);
    // Only the purge removed the first failure here: addFailure would forget it only at T + 10 s or later.
    expect(await store.addFailure('user:alice', T + 9000, 10_000)).toBe(2);
    await store.close();
  });
});
