import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { SessionLifecycle } from './lifecycle.js';
import { SqliteSessionStore } from './sqlite-store.js';
import type { RedisKeyspace } from '../redis/connection.js';
import { RedisSessionStore } from './redis-store.js';
import type { SessionStore, SignedInUser } from './types.js';

/** The configured session store; a signed-in session it finds expired ends through the lifecycle (STOP, NetBox logout). */
export function createSessionStore(config: Config['session'], lifecycle: SessionLifecycle, logger: Logger, shared: RedisKeyspace | undefined): SessionStore {
  const expired = (user: SignedInUser) => lifecycle.expired(user);
  if (shared) return new RedisSessionStore(shared.connection, shared.prefix, config, logger, expired, config.purgeIntervalMs);
  return new SqliteSessionStore(sqliteLocation(config), config, logger, expired, config.purgeIntervalMs);
}

/** The gateway's SQLite database: the file, or memory for SESSION_STORE=memory. Sessions and login regulation share it. */
export function sqliteLocation(config: Pick<Config['session'], 'store' | 'sqlitePath'>): string {
  return config.store === 'memory' ? ':memory:' : config.sqlitePath;
}
