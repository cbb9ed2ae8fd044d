import type Database from 'better-sqlite3';
import { openSqlite } from '../sqlite/open.js';
import type { Logger } from '../log.js';
import type { RegulationStore } from './types.js';

/**
 * The regulation store in SQLite: its own connection, usually to the session store's file (WAL lets both
 * connections work side by side), or `:memory:`. better-sqlite3 is synchronous, so each method runs to its end
 * before any other request's; the transaction keeps `addFailure` whole against another process on the same file.
 */
export class SqliteRegulationStore implements RegulationStore {
  readonly #db: Database.Database;
  readonly #purgeTimer: NodeJS.Timeout;
  readonly #addFailure: (key: string, at: number, windowMs: number) => number;
  readonly #statements: {
    clear: Database.Statement<[string]>;
    ban: Database.Statement<[string, number, number]>;
    bannedUntil: Database.Statement<[string, number], { until: number }>;
    purgeFailures: Database.Statement<[number]>;
    purgeBans: Database.Statement<[number]>;
  };

  constructor(
    path: string,
    private readonly logger: Logger,
    purgeIntervalMs = 60_000,
  ) {
    this.#db = openSqlite(path);
    // A failure row carries its own expiry, so the purge needs no knowledge of the window it was counted in.
    this.#db.exec(`CREATE TABLE IF NOT EXISTS regulation_failures (
      key TEXT NOT NULL,
      at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS regulation_failures_key_at ON regulation_failures (key, at);
    CREATE INDEX IF NOT EXISTS regulation_failures_expires_at ON regulation_failures (expires_at);
    CREATE TABLE IF NOT EXISTS regulation_bans (
      key TEXT PRIMARY KEY NOT NULL,
      until INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS regulation_bans_until ON regulation_bans (until);`);

    const forget = this.#db.prepare<[string, number]>('DELETE FROM regulation_failures WHERE key = ? AND at <= ?');
    const insert = this.#db.prepare<[string, number, number]>('INSERT INTO regulation_failures (key, at, expires_at) VALUES (?, ?, ?)');
    const count = this.#db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM regulation_failures WHERE key = ?');
    this.#addFailure = this.#db.transaction((key: string, at: number, windowMs: number) => {
      forget.run(key, at - windowMs);
      insert.run(key, at, at + windowMs);
      return count.get(key)?.n ?? 0;
    });
    this.#statements = {
      clear: this.#db.prepare('DELETE FROM regulation_failures WHERE key = ?'),
      // The update applies only over a ban that has ended, so a ban in force is never moved.
      ban: this.#db.prepare(
        'INSERT INTO regulation_bans (key, until) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET until = excluded.until WHERE regulation_bans.until <= ?',
      ),
      bannedUntil: this.#db.prepare('SELECT until FROM regulation_bans WHERE key = ? AND until > ?'),
      purgeFailures: this.#db.prepare('DELETE FROM regulation_failures WHERE expires_at <= ?'),
      purgeBans: this.#db.prepare('DELETE FROM regulation_bans WHERE until <= ?'),
    };
    this.#purgeTimer = setInterval(() => this.purgeExpired(), purgeIntervalMs);
    this.#purgeTimer.unref();
  }

  async addFailure(key: string, at: number, windowMs: number): Promise<number> {
    return this.#addFailure(key, at, windowMs);
  }

  async clearFailures(key: string): Promise<void> {
    this.#statements.clear.run(key);
  }

  async ban(key: string, until: number, now: number): Promise<boolean> {
    return this.#statements.ban.run(key, until, now).changes > 0;
  }

  async bannedUntil(key: string, now: number): Promise<number | undefined> {
    return this.#statements.bannedUntil.get(key, now)?.until;
  }

  /** Deletes failures out of every window and ended bans; returns how many rows. Runs on a timer, callable from tests. */
  purgeExpired(now = Date.now()): number {
    try {
      const removed = this.#db.transaction(() => this.#statements.purgeFailures.run(now).changes + this.#statements.purgeBans.run(now).changes)();
      if (removed > 0) this.logger.debug({ removed }, 'purged old login failures and bans');
      return removed;
    } catch (error) {
      this.logger.error({ err: error }, 'login regulation purge failed');
      return 0;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#purgeTimer);
    this.#db.close();
  }
}
