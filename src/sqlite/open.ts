import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * One connection to the gateway's SQLite file (its folder created), or to a private `:memory:` database. Each store
 * has its own connection to the one file: WAL lets them, the purges and request traffic not block each other, and
 * NORMAL is durable enough for sessions and counters.
 */
export function openSqlite(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}
