import { SqliteDeadServerStore } from '../../src/aaa/sqlite-dead-servers.js';
import { deadServerStoreContract } from './dead-server-store-contract.js';

deadServerStoreContract('SQLite', () => new SqliteDeadServerStore(':memory:'));
