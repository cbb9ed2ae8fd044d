import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { SessionLifecycle } from './lifecycle.js';
import { SqliteSessionStore } from './sqlite-store.js';
import type { SessionStore } from './types.js';

/** The configured session store; a signed-in session it finds expired ends through the lifecycle (STOP, NetBox logout). */
export function createSessionStore(config: Config['session'], lifecycle: SessionLifecycle, logger: Logger): SessionStore {
  return new SqliteSessionStore(sqliteLocation(config), config, logger, (user) => lifecycle.expired(user), config.purgeIntervalMs);
}

/** The gateway's SQLite database: the file, or memory for SESSION_STORE=memory. Sessions and login regulation share it. */
export function sqliteLocation(config: Pick<Config['session'], 'store' | 'sqlitePath'>): string {
  return config.store === 'memory' ? ':memory:' : config.sqlitePath;
}
