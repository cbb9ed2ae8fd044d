import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisUnavailable } from '../../src/redis/connection.js';
import { RedisTestServer } from '../support/redis-server.js';
import { until } from '../support/until.js';

let redis: RedisTestServer;
beforeAll(async () => {
  redis = await RedisTestServer.start();
});
afterAll(async () => {
  redis.thaw();
  await redis.stop();
});

describe('the Redis connection', () => {
  it('gives up on a server that hangs within its command timeout, says so, and is up again by itself once it answers', { timeout: 20_000 }, async () => {
    const connection = await redis.connect();
    try {
      expect(await connection.send(['PING'])).toBe('PONG');
      redis.freeze();
      const started = Date.now();
      await expect(connection.send(['GET', 'anything'])).rejects.toBeInstanceOf(RedisUnavailable);
      expect(Date.now() - started).toBeLessThan(6_000);
      expect(connection.status()).toEqual({ up: false, error: 'no answer within 2000 ms' });
      redis.thaw();
      await until(() => (connection.status().up ? true : undefined), 'the connection to be up again', 8_000);
      expect(await connection.send(['PING'])).toBe('PONG');
    } finally {
      redis.thaw();
      await connection.close();
    }
  });
});
