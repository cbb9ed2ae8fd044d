import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { gatewaySession } from '../../src/http/session.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { verifiedSessionId } from '../../src/session/session-id.js';
import { SqliteSessionStore } from '../../src/session/sqlite-store.js';
import type { SessionData, SessionStore } from '../../src/session/types.js';
import { rawGet, sendRaw } from '../support/raw-http.js';

const SECRET = 'unit-session-secret-0123456789abcdef';

/** A real store whose writes wait for the test, or fail. */
class SlowStore implements SessionStore {
  readonly inner = new SqliteSessionStore(':memory:', { idleTimeoutMs: 60_000, maxAgeMs: 600_000 }, silentLogger);
  release: (() => void) | undefined;
  failWrites = false;
  get = (sid: string) => this.inner.get(sid);
  touch = (sid: string, data: SessionData) => this.inner.touch(sid, data);
  end = (sid: string) => this.inner.end(sid);
  count = () => this.inner.count();
  close = () => this.inner.close();
  async set(sid: string, data: SessionData): Promise<boolean> {
    await new Promise<void>((resolve) => {
      this.release = resolve;
    });
    if (this.failWrites) throw new Error('store unreachable');
    return this.inner.set(sid, data);
  }
}

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function serve(store: SessionStore, logger: Logger = silentLogger): Promise<string> {
  const app = express();
  app.use(gatewaySession({ store, cookieName: 'nbgw_session', secret: SECRET, logger }));
  app.get('/form', (req, res) => {
    req.session.csrfToken = 'token';
    res.type('text/plain').send('form');
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the session step', () => {
  it('holds the end of an answer until a changed session is saved, so the next request cannot overtake the save', async () => {
    const store = new SlowStore();
    const url = await serve(store);
    let answered = false;
    const answer = sendRaw(url, rawGet('/form')).then((raw) => {
      answered = true;
      return raw;
    });
    while (store.release === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toBe(false);
    store.release();
    const raw = await answer;
    expect(raw.status).toBe(200);
    const cookie = raw.headers.get('set-cookie')![0]!;
    const sid = verifiedSessionId(cookie.slice('nbgw_session='.length, cookie.indexOf(';')), SECRET);
    expect(await store.inner.get(sid!)).toEqual({ csrfToken: 'token' });
  });

  it('still answers, and logs, when the save fails; the browser gets no cookie for a session that was not stored', async () => {
    const store = new SlowStore();
    store.failWrites = true;
    const errors: string[] = [];
    const logger: Logger = { ...silentLogger, error: (_fields, message) => void errors.push(message) };
    const url = await serve(store, logger);
    const answer = sendRaw(url, rawGet('/form'));
    while (store.release === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    store.release();
    const raw = await answer;
    expect(raw.status).toBe(200);
    expect(raw.text.endsWith('form')).toBe(true);
    expect(raw.headers.get('set-cookie')).toBeUndefined();
    expect(errors).toEqual(['could not save a session']);
  });
});
