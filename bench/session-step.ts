/**
 * The gateway's session step on its own, in this process: the cookie read and checked, the session read from a
 * SQLite store holding many live sessions. Once with every request on one session (the store's one-second cache
 * serves it), once with every request on another one (each a read from the file), once more after another
 * connection has rewritten every row (as other processes' last-seen writes do). Prints microseconds per request.
 *
 *   npm run bench:session -- [--sessions 10000] [--requests 20000] [--rounds 3]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { NextFunction, Request, Response } from 'express';
import { gatewaySession } from '../src/http/session.js';
import { silentLogger } from '../src/log.js';
import { newSessionId, signedCookieValue } from '../src/session/session-id.js';
import { SESSION_CACHE_MS } from '../src/session/cache.js';
import { SqliteSessionStore } from '../src/session/sqlite-store.js';

const { values } = parseArgs({ options: { sessions: { type: 'string', default: '10000' }, requests: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } } });
const sessions = Number(values.sessions);
const requests = Number(values.requests);
const rounds = Number(values.rounds);
const SECRET = 'bench-session-secret-0123456789abcdef';
const LIFETIMES = { idleTimeoutMs: 3_600_000, maxAgeMs: 8 * 3_600_000 };

const path = join(mkdtempSync(join(tmpdir(), 'nbgw-bench-session-')), 'sessions.sqlite');
const writer = new SqliteSessionStore(path, LIFETIMES, silentLogger, () => {}, 3_600_000);
const ids: string[] = [];
const now = Date.now();
for (let i = 0; i < sessions; i += 1) {
  const id = newSessionId();
  ids.push(id);
  await writer.set(id, {
    user: {
      username: `user${i}`,
      netboxUserId: i + 1,
      groups: ['dcim-editors', 'ipam-editors', 'netbox-users'],
      authServer: '127.0.0.1:1812',
      clientAddress: '127.0.0.1',
      accountingId: `bench-${i}`,
      signedInAt: now,
      lastSeenAt: now,
      netboxCookies: { sessionid: 'x'.repeat(32), csrftoken: 'y'.repeat(64) },
    },
    csrfToken: 'z'.repeat(43),
  });
}
const store = new SqliteSessionStore(path, LIFETIMES, silentLogger, () => {}, 3_600_000);
const step = gatewaySession({ store, cookieName: 'nbgw_session', secret: SECRET, logger: silentLogger });
const cookies = ids.map((id) => `nbgw_session=${signedCookieValue(id, SECRET)}`);

/** Microseconds per request through the step, each request's cookie picked by `cookieOf`. */
async function perRequest(cookieOf: (i: number) => string): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < requests; i += 1) {
    const req = { headers: { cookie: cookieOf(i) } } as unknown as Request;
    await new Promise<void>((resolve, reject) => step(req, {} as Response, ((error?: unknown) => (error ? reject(error) : resolve())) as NextFunction));
    if (req.session.user === undefined) throw new Error('a stored session was not found');
  }
  return Number(process.hrtime.bigint() - started) / 1000 / requests;
}

const cacheLapse = () => new Promise((resolve) => setTimeout(resolve, SESSION_CACHE_MS + 100));
const rows: [string, number[]][] = [
  ['one session', []],
  [`every request another of ${sessions}`, []],
  ['the same, after another connection rewrote every row', []],
];
for (let round = 0; round < rounds; round += 1) {
  rows[0]![1].push(await perRequest(() => cookies[0]!));
  await cacheLapse();
  rows[1]![1].push(await perRequest((i) => cookies[i % sessions]!));
  for (const id of ids) await writer.update(id, (current) => ({ ...current, user: current.user && { ...current.user, lastSeenAt: Date.now() } }));
  await cacheLapse();
  rows[2]![1].push(await perRequest((i) => cookies[i % sessions]!));
}
process.stdout.write(`session step, ${requests} requests per round, median of ${rounds} rounds, node ${process.version}\n`);
for (const [name, figures] of rows) {
  const median = [...figures].sort((a, b) => a - b)[Math.floor(figures.length / 2)] ?? 0;
  process.stdout.write(`  ${name}: ${median.toFixed(1)} µs per request\n`);
}
await store.close();
await writer.close();
