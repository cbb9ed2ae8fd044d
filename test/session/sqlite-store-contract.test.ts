import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { SqliteSessionStore } from '../../src/session/sqlite-store.js';
import { LIFETIMES, sessionStoreContract } from './store-contract.js';

// Two processes on one file are what SQLite's "replicas" are.
sessionStoreContract('SQLite file, two connections', async (expired) => {
  const path = join(mkdtempSync(join(tmpdir(), 'nbgw-store-')), 'sessions.sqlite');
  return {
    a: new SqliteSessionStore(path, LIFETIMES, silentLogger, (user) => expired('a', user), 3_600_000),
    b: new SqliteSessionStore(path, LIFETIMES, silentLogger, (user) => expired('b', user), 3_600_000),
  };
});
