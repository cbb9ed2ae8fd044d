import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import session from 'express-session';
import type { Logger } from '../log.js';
import { sessionExpiry, type SessionLifetimes, type SignedInUser } from './types.js';

type Callback = (error?: unknown) => void;

/**
 * express-session store on an embedded SQLite file (or `:memory:` for tests, so both modes share one code
 * path and one expiry rule). Each row carries its own expiry computed from the gateway's idle and absolute
 * lifetimes, so `get` never returns a dead session and the purge finds dead rows by an index.
 */
export class SqliteSessionStore extends session.Store {
  readonly #db: Database.Database;
  readonly #purgeTimer: NodeJS.Timeout;
  readonly #statements: {
    get: Database.Statement<[string, number], { data: string }>;
    upsert: Database.Statement<[string, string, number]>;
    touch: Database.Statement<[number, string]>;
    destroy: Database.Statement<[string]>;
    expired: Database.Statement<[number], { sid: string; data: string }>;
    purge: Database.Statement<[string, number]>;
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
    super();
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    // WAL lets the purge and request traffic not block each other; NORMAL is durable enough for sessions.
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS sessions (
      sid TEXT PRIMARY KEY NOT NULL,
      data TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);`);
    this.#statements = {
      get: this.#db.prepare('SELECT data FROM sessions WHERE sid = ? AND expires_at > ?'),
      upsert: this.#db.prepare(
        'INSERT INTO sessions (sid, data, expires_at) VALUES (?, ?, ?) ON CONFLICT(sid) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at',
      ),
      touch: this.#db.prepare('UPDATE sessions SET expires_at = ? WHERE sid = ?'),
      destroy: this.#db.prepare('DELETE FROM sessions WHERE sid = ?'),
      expired: this.#db.prepare('SELECT sid, data FROM sessions WHERE expires_at <= ?'),
      // Re-checks the expiry so a row that a request refreshed since the SELECT survives.
      purge: this.#db.prepare('DELETE FROM sessions WHERE sid = ? AND expires_at <= ?'),
      count: this.#db.prepare('SELECT COUNT(*) AS n FROM sessions WHERE expires_at > ?'),
    };
    this.#purgeTimer = setInterval(() => this.purgeExpired(), purgeIntervalMs);
    this.#purgeTimer.unref();
  }

  override get(sid: string, callback: (error: unknown, data?: session.SessionData | null) => void): void {
    try {
      const row = this.#statements.get.get(sid, Date.now());
      callback(null, row ? (JSON.parse(row.data) as session.SessionData) : null);
    } catch (error) {
      callback(error);
    }
  }

  override set(sid: string, data: session.SessionData, callback?: Callback): void {
    this.#run(() => this.#statements.upsert.run(sid, JSON.stringify(data), sessionExpiry(data.user, this.lifetimes, Date.now())), callback);
  }

  /**
   * express-session calls this at the end of every request whose session did not change. A signed-in session's
   * expiry follows from its sign-in and last-seen times, which `set` stored with it (the last-seen time moves every
   * 30 s, and changes the session): there is nothing to write. Only an anonymous session (a login form) slides.
   */
  override touch(sid: string, data: session.SessionData, callback?: Callback): void {
    if (data.user !== undefined) {
      callback?.();
      return;
    }
    this.#run(() => this.#statements.touch.run(sessionExpiry(undefined, this.lifetimes, Date.now()), sid), callback);
  }

  override destroy(sid: string, callback?: Callback): void {
    this.#run(() => this.#statements.destroy.run(sid), callback);
  }

  override length(callback: (error: unknown, length?: number) => void): void {
    try {
      callback(null, this.#statements.count.get(Date.now())?.n ?? 0);
    } catch (error) {
      callback(error);
    }
  }

  /** Deletes dead rows and reports the signed-in ones; returns how many. Runs on a timer, callable from tests. */
  purgeExpired(now = Date.now()): number {
    try {
      const removed = this.#db.transaction(() =>
        this.#statements.expired.all(now).filter((row) => this.#statements.purge.run(row.sid, now).changes > 0),
      )();
      for (const row of removed) {
        const user = (JSON.parse(row.data) as session.SessionData).user;
        if (user) this.onExpired(user);
      }
      if (removed.length > 0) this.logger.debug({ removed: removed.length }, 'purged expired sessions');
      return removed.length;
    } catch (error) {
      this.logger.error({ err: error }, 'session purge failed');
      return 0;
    }
  }

  close(): void {
    clearInterval(this.#purgeTimer);
    this.#db.close();
  }

  #run(work: () => unknown, callback?: Callback): void {
    try {
      work();
      callback?.();
    } catch (error) {
      callback?.(error);
    }
  }
}
