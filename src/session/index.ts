import session from 'express-session';
import type { RequestHandler } from 'express';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { SessionLifecycle } from './lifecycle.js';
import { SqliteSessionStore } from './sqlite-store.js';

export interface SessionLayer {
  readonly middleware: RequestHandler;
  readonly store: SqliteSessionStore;
}

/**
 * express-session over the configured store. The cookie has no Max-Age: the server enforces idle and
 * absolute lifetimes, and a browser closing drops the cookie. `secure: 'auto'` sets Secure whenever the
 * request came over HTTPS, directly or per a trusted X-Forwarded-Proto.
 */
export function createSessionLayer(config: Config['session'], lifecycle: SessionLifecycle, logger: Logger): SessionLayer {
  const store = new SqliteSessionStore(sqliteLocation(config), config, logger, (user) => lifecycle.expired(user), config.purgeIntervalMs);
  const middleware = session({
    name: config.cookieName,
    secret: config.secret,
    store,
    resave: false,
    saveUninitialized: false,
    unset: 'destroy',
    cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', path: '/' },
  });
  return { middleware, store };
}

/** The gateway's SQLite database: the file, or memory for SESSION_STORE=memory. Sessions and login regulation share it. */
export function sqliteLocation(config: Pick<Config['session'], 'store' | 'sqlitePath'>): string {
  return config.store === 'memory' ? ':memory:' : config.sqlitePath;
}
