import { afterAll, beforeAll } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { RedisConnection } from '../../src/redis/connection.js';
import { RedisDeadServerStore } from '../../src/aaa/redis-dead-servers.js';
import { RedisRegulationStore } from '../../src/regulation/redis-store.js';
import { RedisSessionStore } from '../../src/session/redis-store.js';
import { RedisTestServer } from '../support/redis-server.js';
import { deadServerStoreContract } from '../aaa/dead-server-store-contract.js';
import { regulationStoreContract } from '../regulation/store-contract.js';
import { LIFETIMES, sessionStoreContract } from '../session/store-contract.js';

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
