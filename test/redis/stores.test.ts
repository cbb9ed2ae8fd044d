import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { RedisUnavailable, type RedisConnection } from '../../src/redis/connection.js';
import { withRedisLock } from '../../src/redis/lock.js';
import { RedisDeadServerStore } from '../../src/aaa/redis-dead-servers.js';
import { RedisRegulationStore } from '../../src/regulation/redis-store.js';
import { RedisSessionStore } from '../../src/session/redis-store.js';
import { RedisTestServer } from '../support/redis-server.js';
import { deadServerStoreContract } from '../aaa/dead-server-store-contract.js';
import { regulationStoreContract } from '../regulation/store-contract.js';
import { LIFETIMES, sessionStoreContract, signedIn } from '../session/store-contract.js';

let server: RedisTestServer;
let connection: RedisConnection;
const replicas: RedisConnection[] = [];
beforeAll(async () => {
  server = await RedisTestServer.start();
  connection = await server.connect();
});
afterAll(async () => {
  for (const each of [connection, ...replicas]) await each.close();
  await server.stop();
});

regulationStoreContract('Redis', () => new RedisRegulationStore(connection, server.config().keyPrefix));
deadServerStoreContract('Redis', () => new RedisDeadServerStore(connection, server.config().keyPrefix));

sessionStoreContract('Redis, two replicas', async (expired) => {
  const prefix = server.config().keyPrefix;
  return {
    a: new RedisSessionStore(connection, prefix, LIFETIMES, silentLogger, (user) => expired('a', user), 3_600_000),
    b: new RedisSessionStore(await replica(), prefix, LIFETIMES, silentLogger, (user) => expired('b', user), 3_600_000),
  };
});

async function replica(): Promise<RedisConnection> {
  const each = await server.connect();
  replicas.push(each);
  return each;
}

describe('RedisSessionStore janitor', () => {
  it('indexes no login form, and ends every expired signed-in session in one walk, however many', async () => {
    const prefix = server.config().keyPrefix;
    const reported: string[] = [];
    const store = new RedisSessionStore(connection, prefix, LIFETIMES, silentLogger, (user) => reported.push(user.accountingId), 3_600_000);
    const now = Date.now();
    // A flood of login forms, as anyone can make: they expire by themselves and never reach the janitor's index.
    for (let i = 0; i < 300; i += 1) await store.set(`form-${i}`, { csrfToken: 't' });
    for (let i = 0; i < 450; i += 1) await store.set(`idle-${i}`, signedIn(now - 120_000, now - 61_000, `idle-${i}`));
    expect(await connection.send(['ZCARD', `${prefix}session-expiry`])).toBe(450);
    expect(await store.purgeExpired(now)).toBe(450);
    expect(new Set(reported).size).toBe(450);
    expect(await connection.send(['ZCARD', `${prefix}session-expiry`])).toBe(0);
    expect(Number(await connection.send(['PTTL', `${prefix}session:form-0`]))).toBeLessThanOrEqual(LIFETIMES.idleTimeoutMs);
    await store.close();
  });
});

describe('withRedisLock', () => {
  it('runs holders of one key one at a time across connections, and frees a lease its holder never released', async () => {
    const key = `${server.config().keyPrefix}lock`;
    const other = await replica();
    let inside = 0;
    let most = 0;
    const hold = (connection: RedisConnection) =>
      withRedisLock(connection, key, { leaseMs: 5_000, waitMs: 5_000 }, async () => {
        inside += 1;
        most = Math.max(most, inside);
        await new Promise((resolve) => setTimeout(resolve, 30));
        inside -= 1;
      });
    await Promise.all([hold(connection), hold(other), hold(connection), hold(other)]);
    expect(most).toBe(1);

    // A holder that died: its lease runs out, and the next one gets in.
    await connection.send(['SET', key, 'dead-holder', 'PX', '200']);
    const started = Date.now();
    await withRedisLock(other, key, { leaseMs: 5_000, waitMs: 2_000 }, async () => undefined);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await connection.send(['SET', key, 'stuck', 'PX', '10000']);
    await expect(withRedisLock(other, key, { leaseMs: 5_000, waitMs: 200 }, async () => undefined)).rejects.toBeInstanceOf(RedisUnavailable);
  });
});
