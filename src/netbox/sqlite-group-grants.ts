import type Database from 'better-sqlite3';
import { openSqlite } from '../sqlite/open.js';
import type { GroupGrantStore } from './group-grants.js';

/** The group-grant record in SQLite, on its own connection to the gateway's file (or `:memory:`). */
export class SqliteGroupGrantStore implements GroupGrantStore {
  readonly #db: Database.Database;
  readonly #get: Database.Statement<[number], { groups: string }>;
  readonly #set: Database.Statement<[number, string, number]>;

  constructor(path: string) {
    this.#db = openSqlite(path);
    this.#db.exec(`CREATE TABLE IF NOT EXISTS group_grants (
      netbox_user_id INTEGER PRIMARY KEY NOT NULL,
      groups TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    );`);
    this.#get = this.#db.prepare('SELECT groups FROM group_grants WHERE netbox_user_id = ?');
    this.#set = this.#db.prepare(
      'INSERT INTO group_grants (netbox_user_id, groups, updated_at) VALUES (?, ?, ?) ON CONFLICT(netbox_user_id) DO UPDATE SET groups = excluded.groups, updated_at = excluded.updated_at',
    );
  }

  async get(netboxUserId: number): Promise<readonly string[] | undefined> {
    const row = this.#get.get(netboxUserId);
    return row === undefined ? undefined : (JSON.parse(row.groups) as string[]);
  }

  async set(netboxUserId: number, groups: readonly string[]): Promise<void> {
    this.#set.run(netboxUserId, JSON.stringify([...groups].sort()), Date.now());
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
