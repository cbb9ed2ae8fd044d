import { randomBytes } from 'node:crypto';
import { RedisUnavailable, type RedisConnection } from './connection.js';

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
const POLL_MS = 50;

/**
 * Runs `work` while holding `key` across every gateway on this Redis: a short lease (`leaseMs`), released with its
 * token, so a holder that died frees it when the lease ends. Undefined, at once, when another holds it.
 */
export async function ifRedisLockFree<T>(redis: RedisConnection, key: string, leaseMs: number, work: () => Promise<T>): Promise<{ readonly result: T } | undefined> {
  const token = randomBytes(16).toString('hex');
  if ((await redis.send(['SET', key, token, 'NX', 'PX', String(leaseMs)])) === null) return undefined;
  try {
    return { result: await work() };
  } finally {
    await redis.send(['EVAL', RELEASE, '1', key, token]).catch(() => undefined);
  }
}

/**
 * As ifRedisLockFree, waiting up to `waitMs` for the lock, then giving up with RedisUnavailable (the request answers
 * 503, and can be tried again).
 */
export async function withRedisLock<T>(redis: RedisConnection, key: string, options: { leaseMs: number; waitMs: number }, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const held = await ifRedisLockFree(redis, key, options.leaseMs, work);
    if (held) return held.result;
    if (Date.now() >= deadline) throw new RedisUnavailable(`${key} stayed held by another gateway for ${options.waitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
