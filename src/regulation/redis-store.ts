import { randomBytes } from 'node:crypto';
import type { RedisConnection } from '../redis/connection.js';
import type { RegulationStore } from './types.js';

// One script, so that forgetting old failures, counting this one and keeping the set no longer than the window is a
// single step against every replica counting the same key.
const ADD_FAILURE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return redis.call('ZCARD', KEYS[1])`;

// A ban in force is neither extended nor shortened, and only the call that started it hears 1. The caller's clock
// decides whether one is in force, not Redis's; the key lives as long as the ban has left to run.
const BAN = `
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) > tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`;

/** The regulation store in Redis or Valkey: failures and bans counted across every replica. */
export class RedisRegulationStore implements RegulationStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  async addFailure(key: string, at: number, windowMs: number): Promise<number> {
    // Failures at the same moment count separately: each its own member.
    const member = `${at}:${randomBytes(6).toString('hex')}`;
    const count = await this.redis.send(['EVAL', ADD_FAILURE, '1', this.#failures(key), String(at), String(at - windowMs), member, String(windowMs)]);
    return Number(count);
  }

  async clearFailures(key: string): Promise<void> {
    await this.redis.send(['DEL', this.#failures(key)]);
  }

  async ban(key: string, until: number, now: number): Promise<boolean> {
    if (until <= now) return false;
    return (await this.redis.send(['EVAL', BAN, '1', this.#ban(key), String(until), String(now), String(until - now)])) === 1;
  }

  async bannedUntil(key: string, now: number): Promise<number | undefined> {
    const until = await this.redis.send(['GET', this.#ban(key)]);
    return typeof until === 'string' && Number(until) > now ? Number(until) : undefined;
  }

  async close(): Promise<void> {}

  #failures(key: string): string {
    return `${this.prefix}regulation-failures:${key}`;
  }

  #ban(key: string): string {
    return `${this.prefix}regulation-ban:${key}`;
  }
}
