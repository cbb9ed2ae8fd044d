import type { Logger } from '../log.js';
import type { RedisConnection, RedisReply } from '../redis/connection.js';
import { ifRedisLockFree } from '../redis/lock.js';
import { SessionCache } from './cache.js';
import { sessionExpiry, type SessionData, type SessionLifetimes, type SessionStore, type SignedInUser } from './types.js';

/** How long an ended session's ID is remembered, which outlasts any request that began before it ended. */
const ENDED_KEPT_MS = 3_600_000;
/**
 * How long an expired session's data outlives its expiry in Redis, for the janitor to find it and account for its
 * end (STOP, NetBox logout). Only a gateway fleet that is down for all of this loses those ends.
 */
const EXPIRED_KEPT_MS = 24 * 3_600_000;
/** The janitor's lock: one replica at a time walks the expiry index. */
const JANITOR_LOCK_MS = 10_000;
/** A walk goes on in batches until nothing is due, or for this long (well inside the lock), then the next one goes on. */
const JANITOR_BUDGET_MS = 5_000;
const JANITOR_BATCH = 200;
/** Tries of an update that another replica's update got in before. */
const UPDATE_TRIES = 8;

// A session is a hash: d = the JSON, e = its expiry (ms), v = a version, moved by every change. The expiry index is a
// sorted set of the signed-in sessions by expiry, whose end must be accounted for; an anonymous one (a login form)
// is not in it and simply expires. Every change is one script, so the hash and the index never disagree.
const INDEX = `
if ARGV[5] == '1' then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1]) else redis.call('ZREM', KEYS[3], ARGV[1]) end`;
const CREATE = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'e', ARGV[3], 'v', '1')
redis.call('PEXPIREAT', KEYS[1], ARGV[4])${INDEX}
return 1`;
// ARGV[6] is the version the change started from, ARGV[7] the caller's now.
const REPLACE_IF_UNCHANGED = `
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if tonumber(redis.call('HGET', KEYS[1], 'e')) <= tonumber(ARGV[7]) then return -1 end
if v ~= ARGV[6] then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'e', ARGV[3], 'v', tostring(tonumber(v) + 1))
redis.call('PEXPIREAT', KEYS[1], ARGV[4])${INDEX}
return 1`;
// Anonymous sessions only: they are not indexed, and expire exactly at their end.
const SLIDE = `
local e = redis.call('HGET', KEYS[1], 'e')
if not e or tonumber(e) <= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'e', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1`;
// 1 when there was a session to end (live, or past its end and not yet claimed by a janitor): then, and only then,
// the caller accounts for its end.
const END = `
local removed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
return removed`;
// Exactly one caller, on whichever replica, gets an expired session's data: the one that takes it off the index.
const CLAIM_EXPIRED = `
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return false end
redis.call('ZREM', KEYS[2], ARGV[1])
local d = redis.call('HGET', KEYS[1], 'd')
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
return d or ''`;

/**
 * Session store in Redis or Valkey, shared by every replica. The rules are the SQLite store's: each session carries
 * its expiry (idle and absolute, computed when it is stored), `get` never returns a dead one, an ended ID cannot be
 * saved back, and each process serves what it read for SESSION_CACHE_MS. Expired sessions are found through the
 * expiry index by a janitor on every replica, one at a time under a short lock, and each is claimed by exactly one of
 * them, which reports its end: not keyspace notifications, which Redis sends at most once, to whoever listens then.
 */
export class RedisSessionStore implements SessionStore {
  readonly #cache = new SessionCache();
  readonly #purgeTimer: NodeJS.Timeout;
  readonly #walks = new Set<Promise<number>>();
  readonly #index: string;
  readonly #lock: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly lifetimes: SessionLifetimes,
    private readonly logger: Logger,
    /** Told about every signed-in session the janitor ends, so its end is accounted for, once across replicas. */
    private readonly onExpired: (user: SignedInUser) => void = () => {},
    purgeIntervalMs = 30_000,
  ) {
    this.#index = `${prefix}session-expiry`;
    this.#lock = `${prefix}session-janitor`;
    this.#purgeTimer = setInterval(() => void this.purgeExpired(), purgeIntervalMs);
    this.#purgeTimer.unref();
  }

  async get(sid: string): Promise<SessionData | undefined> {
    const now = Date.now();
    const cached = this.#cache.get(sid, now);
    if (cached !== undefined) return cached ?? undefined;
    return this.#cache.keep(sid, await this.#read(sid, now), now);
  }

  async set(sid: string, data: SessionData): Promise<boolean> {
    const now = Date.now();
    const expiresAt = sessionExpiry(data.user, this.lifetimes, now);
    const created = await this.#eval(CREATE, [this.#key(sid), this.#ended(sid), this.#index], this.#storedArgs(sid, data, expiresAt));
    const stored = created === 1;
    if (!stored) this.logger.debug({}, 'a request that began before its session ended did not save it back');
    return this.#cache.keep(sid, stored ? { data, expiresAt } : undefined, now) !== undefined;
  }

  async update(sid: string, change: (current: SessionData) => SessionData): Promise<SessionData | undefined> {
    for (let attempt = 0; attempt < UPDATE_TRIES; attempt += 1) {
      const now = Date.now();
      const stored = await this.#read(sid, now);
      if (stored === undefined) {
        this.#cache.forget(sid);
        return undefined;
      }
      const data = change(stored.data);
      const expiresAt = sessionExpiry(data.user, this.lifetimes, now);
      const result = await this.#eval(REPLACE_IF_UNCHANGED, [this.#key(sid), this.#ended(sid), this.#index], [...this.#storedArgs(sid, data, expiresAt), stored.version, String(now)]);
      if (result === 1) {
        this.#cache.remember(sid, data, expiresAt, now);
        return data;
      }
      if (result === -1) {
        this.#cache.forget(sid);
        return undefined;
      }
    }
    throw new Error(`session changed by others ${UPDATE_TRIES} times while this request tried to save it`);
  }

  async touch(sid: string, data: SessionData): Promise<void> {
    if (data.user !== undefined) return;
    const now = Date.now();
    const expiresAt = sessionExpiry(undefined, this.lifetimes, now);
    await this.#eval(SLIDE, [this.#key(sid)], [String(expiresAt), String(now)]);
    this.#cache.extend(sid, expiresAt);
  }

  async end(sid: string): Promise<boolean> {
    this.#cache.forget(sid);
    return (await this.#eval(END, [this.#key(sid), this.#index, this.#ended(sid)], [sid, String(ENDED_KEPT_MS)])) === 1;
  }

  async count(): Promise<number> {
    return Number(await this.redis.send(['ZCOUNT', this.#index, `(${Date.now()}`, '+inf']));
  }

  /**
   * Ends the sessions past their expiry and reports the signed-in ones; returns how many this call ended. Runs on a
   * timer on every replica, callable from tests. Never throws: Redis being away only postpones it.
   */
  purgeExpired(now = Date.now()): Promise<number> {
    const walk = this.#walk(now).finally(() => this.#walks.delete(walk));
    this.#walks.add(walk);
    return walk;
  }

  /** Waits for a walk under way, whose ends are reported before the lifecycle drains. */
  async close(): Promise<void> {
    clearInterval(this.#purgeTimer);
    await Promise.all([...this.#walks]);
    this.#cache.clear();
  }

  async #walk(now: number): Promise<number> {
    const started = Date.now();
    try {
      const walked = await ifRedisLockFree(this.redis, this.#lock, JANITOR_LOCK_MS, async () => {
        let ended = 0;
        for (;;) {
          const due = (await this.redis.send(['ZRANGEBYSCORE', this.#index, '-inf', String(now), 'LIMIT', '0', String(JANITOR_BATCH)])) as string[];
          for (const sid of due) {
            const data = await this.#eval(CLAIM_EXPIRED, [this.#key(sid), this.#index, this.#ended(sid)], [sid, String(now), String(ENDED_KEPT_MS)]);
            if (typeof data !== 'string') continue;
            ended += 1;
            this.#cache.forget(sid);
            const user = data === '' ? undefined : (JSON.parse(data) as SessionData).user;
            if (user) this.onExpired(user);
          }
          if (due.length < JANITOR_BATCH || Date.now() - started > JANITOR_BUDGET_MS) break;
        }
        this.#cache.sweep(now);
        if (ended > 0) this.logger.debug({ removed: ended }, 'purged expired sessions');
        return ended;
      });
      return walked?.result ?? 0;
    } catch (error) {
      this.logger.error({ err: error }, 'session purge failed');
      return 0;
    }
  }

  /** The arguments CREATE and REPLACE_IF_UNCHANGED share: what is stored, its expiry, and whether it is indexed. */
  #storedArgs(sid: string, data: SessionData, expiresAt: number): string[] {
    const indexed = data.user !== undefined;
    return [sid, JSON.stringify(data), String(expiresAt), String(indexed ? expiresAt + EXPIRED_KEPT_MS : expiresAt), indexed ? '1' : '0'];
  }

  async #read(sid: string, now: number): Promise<{ data: SessionData; expiresAt: number; version: string } | undefined> {
    const [data, expiry, version] = (await this.redis.send(['HMGET', this.#key(sid), 'd', 'e', 'v'])) as (string | null)[];
    if (data == null || expiry == null || version == null || Number(expiry) <= now) return undefined;
    return { data: JSON.parse(data) as SessionData, expiresAt: Number(expiry), version };
  }

  #eval(script: string, keys: readonly string[], args: readonly string[]): Promise<RedisReply> {
    return this.redis.send(['EVAL', script, String(keys.length), ...keys, ...args]);
  }

  #key(sid: string): string {
    return `${this.prefix}session:${sid}`;
  }

  #ended(sid: string): string {
    return `${this.prefix}session-ended:${sid}`;
  }
}
