import type { RedisConnection } from '../redis/connection.js';
import type { GroupGrantStore } from './group-grants.js';

/** The group-grant record in Redis or Valkey, shared by every replica; kept until overwritten (one small key per user). */
export class RedisGroupGrantStore implements GroupGrantStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  async get(netboxUserId: number): Promise<readonly string[] | undefined> {
    const value = await this.redis.send(['GET', this.#key(netboxUserId)]);
    return typeof value === 'string' ? (JSON.parse(value) as string[]) : undefined;
  }

  async set(netboxUserId: number, groups: readonly string[]): Promise<void> {
    await this.redis.send(['SET', this.#key(netboxUserId), JSON.stringify([...groups].sort())]);
  }

  async close(): Promise<void> {}

  #key(netboxUserId: number): string {
    return `${this.prefix}group-grants:${netboxUserId}`;
  }
}
