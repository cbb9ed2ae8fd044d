import type Database from 'better-sqlite3';
import { openSqlite } from '../sqlite/open.js';
import type { Logger } from '../log.js';
import { SessionCache } from './cache.js';
import { sessionExpiry, type SessionData, type SessionLifetimes, type SessionStore, type SignedInUser } from './types.js';

/** How long an ended session's ID is remembered, which outlasts any request that began before it ended. */
const ENDED_KEPT_MS = 3_600_000;

/**
 * Session store on an embedded SQLite file (or `:memory:` for tests, so both modes share one code
 * path and one expiry rule). Each row carries its own expiry computed from the gateway's idle and absolute
 * lifetimes, so `get` never returns a dead session and the purge finds dead rows by an index.
 *
 * Every proxied request reads its session, so the store keeps what it read for SESSION_CACHE_MS, and the expiry
 * with it, checked on every read. A session that ended (logout, rotation at login, purge) is recorded as ended, so
 * that a request which began before the end cannot save it back, in this process or another one on the same file.
 */
export class SqliteSessionStore implements SessionStore {
  readonly #db: Database.Database;
  readonly #purgeTimer: NodeJS.Timeout;
  readonly #cache = new SessionCache();
  readonly #statements: {
    get: Database.Statement<[string, number], { data: string; expires_at: number }>;
    upsert: Database.Statement<[{ sid: string; data: string; expiresAt: number }]>;
    replace: Database.Statement<[string, number, string]>;
    touch: Database.Statement<[number, string]>;
    destroy: Database.Statement<[string]>;
    ended: Database.Statement<[string, number]>;
    expired: Database.Statement<[number], { sid: string; data: string }>;
    purge: Database.Statement<[string, number]>;
    forgetEnded: Database.Statement<[number]>;
    count: Database.Statement<[number], { n: number }>;
  };

  constructor(
    path: string,
    private readonly lifetimes: SessionLifetimes,
    private readonly logger: Logger,
    /** Told about every signed-in session the purge removes, so its end is accounted for. */
    private readonly onExpired: (user: SignedInUser) => void = () => {},
    purgeIntervalMs = 30_000,
  ) {
    this.#db = openSqlite(path);
    this.#db.exec(`CREATE TABLE IF NOT EXISTS sessions (
      sid TEXT PRIMARY KEY NOT NULL,
      data TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
    CREATE TABLE IF NOT EXISTS ended_sessions (
      sid TEXT PRIMARY KEY NOT NULL,
      ended_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ended_sessions_ended_at ON ended_sessions (ended_at);`);
    this.#statements = {
      get: this.#db.prepare('SELECT data, expires_at FROM sessions WHERE sid = ? AND expires_at > ?'),
      // Never for a session that has ended: the save of a request that began before the logout is dropped.
      upsert: this.#db.prepare(
        `INSERT INTO sessions (sid, data, expires_at) SELECT @sid, @data, @expiresAt WHERE NOT EXISTS (SELECT 1 FROM ended_sessions WHERE sid = @sid)
         ON CONFLICT(sid) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
      ),
      replace: this.#db.prepare('UPDATE sessions SET data = ?, expires_at = ? WHERE sid = ?'),
      touch: this.#db.prepare('UPDATE sessions SET expires_at = ? WHERE sid = ?'),
      destroy: this.#db.prepare('DELETE FROM sessions WHERE sid = ?'),
      ended: this.#db.prepare('INSERT OR IGNORE INTO ended_sessions (sid, ended_at) VALUES (?, ?)'),
      expired: this.#db.prepare('SELECT sid, data FROM sessions WHERE expires_at <= ?'),
      // Re-checks the expiry so a row that a request refreshed since the SELECT survives.
      purge: this.#db.prepare('DELETE FROM sessions WHERE sid = ? AND expires_at <= ?'),
      forgetEnded: this.#db.prepare('DELETE FROM ended_sessions WHERE ended_at <= ?'),
      count: this.#db.prepare("SELECT COUNT(*) AS n FROM sessions WHERE expires_at > ? AND json_extract(data, '$.user') IS NOT NULL"),
    };
    this.#purgeTimer = setInterval(() => this.purgeExpired(), purgeIntervalMs);
    this.#purgeTimer.unref();
  }

  async get(sid: string): Promise<SessionData | undefined> {
    const now = Date.now();
    const cached = this.#cache.get(sid, now);
    if (cached !== undefined) return cached ?? undefined;
    const row = this.#statements.get.get(sid, now);
    return this.#cache.keep(sid, row && { data: JSON.parse(row.data) as SessionData, expiresAt: row.expires_at }, now);
  }

  async set(sid: string, data: SessionData): Promise<boolean> {
    const now = Date.now();
    const expiresAt = sessionExpiry(data.user, this.lifetimes, now);
    const stored = this.#statements.upsert.run({ sid, data: JSON.stringify(data), expiresAt }).changes > 0;
    if (!stored) this.logger.debug({}, 'a request that began before its session ended did not save it back');
    return this.#cache.keep(sid, stored ? { data, expiresAt } : undefined, now) !== undefined;
  }

  async update(sid: string, change: (current: SessionData) => SessionData): Promise<SessionData | undefined> {
    const now = Date.now();
    // Read from the file and not the cache, as another process may have changed the row; IMMEDIATE takes the write
    // lock from the start, so no other process writes between this read and this write.
    const stored = this.#db.transaction(() => {
      const row = this.#statements.get.get(sid, now);
      if (row === undefined) return undefined;
      const data = change(JSON.parse(row.data) as SessionData);
      const expiresAt = sessionExpiry(data.user, this.lifetimes, now);
      this.#statements.replace.run(JSON.stringify(data), expiresAt, sid);
      return { data, expiresAt };
    }).immediate();
    return this.#cache.keep(sid, stored, now);
  }

  /**
   * A signed-in session's expiry follows from its sign-in and last-seen times, which `set` stored with it (the
   * last-seen time moves every 30 s, and changes the session): there is nothing to write. Only an anonymous session
   * (a login form) slides.
   */
  async touch(sid: string, data: SessionData): Promise<void> {
    if (data.user !== undefined) return;
    const expiresAt = sessionExpiry(undefined, this.lifetimes, Date.now());
    this.#statements.touch.run(expiresAt, sid);
    this.#cache.extend(sid, expiresAt);
  }

  async end(sid: string): Promise<boolean> {
    this.#cache.forget(sid);
    return this.#end(sid, Date.now());
  }

  async count(): Promise<number> {
    return this.#statements.count.get(Date.now())?.n ?? 0;
  }

  /** Deletes dead rows and reports the signed-in ones; returns how many. Runs on a timer, callable from tests. */
  purgeExpired(now = Date.now()): number {
    try {
      const removed = this.#db.transaction(() => {
        this.#statements.forgetEnded.run(now - ENDED_KEPT_MS);
        const gone = this.#statements.expired.all(now).filter((row) => this.#statements.purge.run(row.sid, now).changes > 0);
        for (const row of gone) this.#statements.ended.run(row.sid, now);
        return gone;
      })();
      this.#cache.sweep(now);
      for (const row of removed) {
        const user = (JSON.parse(row.data) as SessionData).user;
        if (user) this.onExpired(user);
      }
      if (removed.length > 0) this.logger.debug({ removed: removed.length }, 'purged expired sessions');
      return removed.length;
    } catch (error) {
      this.logger.error({ err: error }, 'session purge failed');
      return 0;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#purgeTimer);
    this.#cache.clear();
    this.#db.close();
  }

  #end(sid: string, now: number): boolean {
    return this.#db.transaction(() => {
      this.#statements.ended.run(sid, now);
      return this.#statements.destroy.run(sid).changes > 0;
    })();
  }

}
