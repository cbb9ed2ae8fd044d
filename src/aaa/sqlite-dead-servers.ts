import type Database from 'better-sqlite3';
import { openSqlite } from '../sqlite/open.js';
import type { DeadServerRecord, DeadServerStore } from './dead-servers.js';
import type { ServerTroubleReason } from './types.js';

/** Shared hold-downs in SQLite: for gateway processes on one host sharing the file (or `:memory:`, this process). */
export class SqliteDeadServerStore implements DeadServerStore {
  readonly #db: Database.Database;
  readonly #markDead: Database.Statement<[string, number, string, string]>;
  readonly #markUp: Database.Statement<[string]>;
  readonly #heldDown: Database.Statement<[number], { server: string; until: number; reason: string; message: string }>;

  constructor(path: string) {
    this.#db = openSqlite(path);
    this.#db.exec(`CREATE TABLE IF NOT EXISTS aaa_dead_servers (
      server TEXT PRIMARY KEY NOT NULL,
      until INTEGER NOT NULL,
      reason TEXT NOT NULL,
      message TEXT NOT NULL
    );`);
    this.#markDead = this.#db.prepare(
      `INSERT INTO aaa_dead_servers (server, until, reason, message) VALUES (?, ?, ?, ?)
       ON CONFLICT(server) DO UPDATE SET until = excluded.until, reason = excluded.reason, message = excluded.message WHERE excluded.until > aaa_dead_servers.until`,
    );
    this.#markUp = this.#db.prepare('DELETE FROM aaa_dead_servers WHERE server = ?');
    this.#heldDown = this.#db.prepare('SELECT server, until, reason, message FROM aaa_dead_servers WHERE until > ?');
  }

  async markDead(server: string, record: DeadServerRecord): Promise<void> {
    this.#markDead.run(server, record.until, record.reason, record.message);
  }

  async markUp(server: string): Promise<void> {
    this.#markUp.run(server);
  }

  async heldDown(now: number): Promise<ReadonlyMap<string, DeadServerRecord>> {
    return new Map(this.#heldDown.all(now).map((row) => [row.server, { until: row.until, reason: row.reason as ServerTroubleReason, message: row.message }]));
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
