import type { RedisConnection } from '../redis/connection.js';
import type { DeadServerRecord, DeadServerStore } from './dead-servers.js';

// A later hold-down already recorded stays: two replicas finding one server dead at about the same time agree.
const MARK_DEAD = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and tonumber(cjson.decode(current)['until']) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

/** Shared hold-downs in Redis or Valkey: one hash, server name → record. */
export class RedisDeadServerStore implements DeadServerStore {
  readonly #key: string;

  constructor(
    private readonly redis: RedisConnection,
    prefix: string,
  ) {
    this.#key = `${prefix}aaa-dead-servers`;
  }

  async markDead(server: string, record: DeadServerRecord): Promise<void> {
    await this.redis.send(['EVAL', MARK_DEAD, '1', this.#key, server, JSON.stringify(record), String(record.until)]);
  }

  async markUp(server: string): Promise<void> {
    await this.redis.send(['HDEL', this.#key, server]);
  }

  async heldDown(now: number): Promise<ReadonlyMap<string, DeadServerRecord>> {
    const flat = (await this.redis.send(['HGETALL', this.#key])) as string[];
    const held = new Map<string, DeadServerRecord>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const record = JSON.parse(flat[i + 1]!) as DeadServerRecord;
      if (record.until > now) held.set(flat[i]!, record);
    }
    return held;
  }

  async close(): Promise<void> {}
}
